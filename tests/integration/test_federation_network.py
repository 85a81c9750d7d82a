"""Three co-ops form a federation over the real network, trade, run a surplus sprint,
declare needs, and every node shows the same balances, board and metrics.

Real `coop node start` processes on loopback; every step is the real `coop` command,
which goes through each home's running node (the same path a member's terminal uses).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coopledger.node.testing import Daemon, converged, initialised, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNC_S = 60


@pytest.fixture
def coops(tmp_path: Path) -> Iterator[dict[str, Daemon]]:
    with initialised(tmp_path, ("garden", "repair", "bakery")) as ds:
        yield ds


def cj(d: Daemon, *args: str) -> Any:
    return d.coop_json(*args)


def same_everywhere(ds: list[Daemon], *args: str,
                    pick: Callable[[Any], Any] = lambda v: v) -> Any:
    """``pick`` of one view's JSON, once it is equal at every node (``pick`` leaves out
    what depends on whose node it is, such as the direction of a transfer)."""
    def check() -> Any:
        views = [pick(cj(d, *args)) for d in ds]
        return views[0] if all(v == views[0] for v in views) else None
    return wait_for(f"`coop {' '.join(args)}` to agree at every node", check, SYNC_S)


def test_three_coops_federate_trade_and_agree(coops: dict[str, Daemon]) -> None:
    garden, repair, bakery = coops["garden"], coops["repair"], coops["bakery"]
    everyone = [garden, repair, bakery]
    garden.start()
    repair.start([garden.addr])
    bakery.start([repair.addr])  # a chain: what garden writes must hop through repair
    wait_for("the three genesis entries everywhere", converged(everyone, entries=3),
             SYNC_S)

    # Garden founds the federation and invites the other two.
    fed = cj(garden, "federation", "create", "--name", "Riverside",
             "--charter", "We share tools, hours and surplus.")["id"]
    for name in ("repair", "bakery"):
        garden.coop("federation", "invite", "--federation", "Riverside", "--coop", name)

    def invited(d: Daemon) -> bool:
        shown = cj(d, "federation", "show")
        return any(f["federation"] == fed and f["role"] == "invited"
                   for f in shown["federations"])
    for d in (repair, bakery):
        wait_for(f"{d.name} to see its invite", lambda d=d: invited(d), SYNC_S)
        d.coop("federation", "join", "--federation", "Riverside")
    members = same_everywhere(everyone, "federation", "show", "Riverside")
    assert sorted(m["coop_name"] for m in members["members"]) == [
        "bakery", "garden", "repair"]

    # Hours for an oven repair: garden pays bakery 5 hours of mutual credit.
    offer = cj(garden, "transfer", "offer", "--federation", "Riverside", "--to", "bakery",
               "--amount", "5", "--unit", "hour", "--for", "oven repair")["id"]
    wait_for("bakery to see the offer",
             lambda: any(t["id"] == offer for t in
                         cj(bakery, "transfer", "list", "--open")["transfers"]), SYNC_S)
    bakery.coop("transfer", "accept", offer[:12])

    # A surplus sprint: repair offers idle drills, bakery asks for two, garden
    # (facilitating) allocates, bakery confirms with a transfer accept.
    s_offer = cj(repair, "surplus", "offer", "--federation", "Riverside", "--what", "tool",
                 "--item", "drill", "--quantity", "3", "--unit", "item",
                 "--until", "2099-12-31")["id"]
    s_req = cj(bakery, "surplus", "request", "--federation", "Riverside", "--item", "Drill",
               "--quantity", "2", "--unit", "item", "--until", "2099-12-31")["id"]
    month = datetime.datetime.now(datetime.UTC).strftime("%Y-%m")  # periods are UTC months

    def garden_sees_both() -> bool:
        board = cj(garden, "surplus", "board", "--federation", "Riverside")
        return [s_offer, s_req] in [[m["offer"], m["request"]]
                                    for m in board.get("matches", [])]
    wait_for("garden's board to match the drill offer and request", garden_sees_both,
             SYNC_S)
    alloc = cj(garden, "sprint", "allocate", "--offer", s_offer[:12], "--request",
               s_req[:12], "--quantity", "2", "--sprint", month)["id"]
    wait_for("bakery to see the allocation",
             lambda: any(t["id"] == alloc for t in
                         cj(bakery, "transfer", "list", "--open")["transfers"]), SYNC_S)
    bakery.coop("transfer", "accept", alloc[:12])

    # Needs and work, for the metrics.
    need = cj(bakery, "need", "declare", "--federation", "Riverside", "--category", "food",
              "--quantity", "100", "--unit", "kg", "--period", month)["id"]
    bakery.coop("need", "met", "--need", need[:12], "--where", "inside", "--quantity", "60")
    garden.log_labor("ana", "3", "weeding")
    repair.coop("log", "outside", "--member", "bo", "--hours", "20", "--period", month)

    wait_for("all three to converge", converged(everyone), SYNC_S)
    hashes = {d.status()["state_hash"] for d in everyone}
    assert len(hashes) == 1
    # Views judge expiry at a time: one explicit time, so every node answers alike.
    at = ("--as-of", str(max(d.status()["started_ms"] for d in everyone) + 3_600_000))

    balances = same_everywhere(everyone, "balance", "--federation", "Riverside", *at,
                               pick=lambda v: v["balances"])
    got = {(b["coop_name"], b["unit"]): b["balance"] for b in balances
           if b["balance"] != "0"}
    assert got == {("garden", "hour"): "-5", ("bakery", "hour"): "5"}, balances

    board = same_everywhere(everyone, "surplus", "board", "--federation", "Riverside",
                            *at)
    (allocation,) = board["sprints"][month]
    assert allocation["id"] == alloc and allocation["status"] == "accepted", allocation
    # 3 drills offered, 2 allocated and confirmed: 1 left; the request is met.
    (left,) = [o for o in board["offers"] if o["id"] == s_offer]
    assert left["left"] == "1", left
    assert all(r["id"] != s_req for r in board["requests"]), board["requests"]

    metrics = same_everywhere(everyone, "metrics", "--federation", "Riverside",
                              "--period", month)
    assert metrics, metrics
    statuses = same_everywhere(
        everyone, "transfer", "list", "--federation", "Riverside", *at,
        pick=lambda v: {t["id"]: t["status"] for t in v["transfers"]})
    assert statuses == {offer: "accepted", alloc: "accepted"}, statuses
    assert cj(garden, "exceptions")["invalid"] == []

    for d in everyone:
        assert d.stop() == 0, d.log_tail()
        d.coop("verify")
