"""A solidarity alert across a cut, on separate hosts (one network namespace per co-op,
tests/netns/test_netns.py's network and four-co-op topology, whose fixtures this
module reuses).

The four co-ops form a federation. Kitchen's host is cut off (its switch port goes
down; in the second run its TCP sockets are destroyed too, as a reboot or a NAT losing
its state would). Garden raises an alert on the connected side: repair and fablab
acknowledge it, kitchen cannot. The link comes back and kitchen's ack reaches garden;
the time from the link's return to full acknowledgement is printed (`pytest -s`).

Needs root and iproute2, like test_netns.py: without them it fails, never skips.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from test_netns import COOPS, Net, federation, net  # noqa: F401  (fixtures)

from coopledger.node.testing import Daemon, converged, never, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONVERGE_S = 90.0  # the reconnect manager backs off up to ~30 s between dials
CUT_S = 10.0  # how long kitchen stays cut after the others acknowledged


def cj(d: Daemon, *args: str) -> Any:
    return json.loads(d.coop(*args, "--json").stdout)


def coverage(d: Daemon, alert: str) -> str | None:
    r = d.coop("alert", "show", alert[:12], "--json", check=False)
    return json.loads(r.stdout)["coverage"] if r.returncode == 0 else None


def held(d: Daemon, entry_id: str) -> bool:
    return bool(d.api("GET", f"/v1/entries/{entry_id}")["held"])


def form_federation(ds: dict[str, Daemon]) -> None:
    garden = ds["garden"]
    fed = cj(garden, "federation", "create", "--name", "Riverside",
             "--charter", "We share tools, hours and help.")["id"]
    for name in COOPS[1:]:
        garden.coop("federation", "invite", "--federation", "Riverside", "--coop", name)
    for name in COOPS[1:]:
        d = ds[name]
        wait_for(f"{name} to see its invite", lambda d=d: held(d, fed), 60)
        wait_for(f"{name} to join", lambda d=d: d.coop(
            "federation", "join", "--federation", "Riverside", check=False).returncode == 0,
            60)
    wait_for("every node to know the four members", lambda: all(
        len(cj(d, "federation", "show", "Riverside")["members"]) == 4 for d in ds.values()),
        60)


@pytest.mark.parametrize("connections_lost", [False, True],
                         ids=["link-down", "link-down-and-connections-lost"])
def test_an_alert_raised_across_a_cut_is_acknowledged_when_the_link_returns(
        net: Net, federation: dict[str, Daemon], connections_lost: bool) -> None:  # noqa: F811
    ds = federation
    everyone = list(ds.values())
    for coop, d in ds.items():
        d.launch([ds[o].listen_addr for o in COOPS if o != coop])
    for d in everyone:
        d.wait_ready()
    wait_for("all four to hold the four genesis entries",
             converged(everyone, entries=len(COOPS)), 60)
    wait_for("every node to be connected to the other three",
             lambda: all(len(d.status()["connected_peers"]) == 3 for d in everyone), 30)
    form_federation(ds)
    wait_for("all four to converge on the federation", converged(everyone), 60)

    garden, cut = ds["garden"], ds["kitchen"]
    net.cut("kitchen")
    t_cut = time.monotonic()
    assert not net.can_connect("garden", "kitchen"), "garden still reaches kitchen"
    if connections_lost:
        net.drop_connections("kitchen")
        wait_for("kitchen to see its peers gone",
                 lambda: cut.status()["connected_peers"] == [], 10)

    t_raise = time.monotonic()
    alert = cj(garden, "alert", "raise", "--what", "The river is over the lower field.",
               "--need", "people", "--need", "material")["id"]
    wait_for("repair and fablab to acknowledge on the connected side",
             lambda: coverage(garden, alert) == "2/3 acknowledged", 30)
    t_two = time.monotonic()
    # Positive evidence of the cut: garden lists kitchen as not reached, and kitchen
    # does not get the alert for a while although garden keeps pushing it (here a
    # fixed wait is the point: nothing may arrive during it).
    doc = cj(garden, "alert", "show", alert[:12])
    assert [u["coop_name"] for u in doc["unreached"]] == ["kitchen"]
    assert doc["unreached"][0]["last_seen"] is not None  # heard from before the cut
    never("the alert getting through the cut", lambda: held(cut, alert), CUT_S, poll=0.5)

    t_restore = time.monotonic()
    net.restore("kitchen")
    wait_for("kitchen's ack to reach garden",
             lambda: coverage(garden, alert) == "3/3 acknowledged", CONVERGE_S)
    t_full = time.monotonic()
    assert cj(cut, "alert", "show", alert[:12])["coverage"] == "3/3 acknowledged" or \
        held(cut, alert)
    late = cj(garden, "alert", "show", alert[:12])["acks"]
    assert not any(a["late"] for a in late)
    print(f"\nnetns alert ({'connections lost' if connections_lost else 'link down'}): "
          f"2 of 3 acks on the connected side {t_two - t_raise:.1f} s after the raise "
          f"(CLI included); kitchen cut for {t_restore - t_cut:.1f} s; full "
          f"acknowledgement {t_full - t_restore:.1f} s after the link came back "
          f"({t_full - t_raise:.1f} s after the raise); garden's alert desk: "
          f"{garden.status()['alerts']}")
    for d in everyone:
        assert d.stop() == 0, d.log_tail()
