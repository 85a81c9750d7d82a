"""Replication follows federation membership, with real daemons and real federation
entries (SPEC §10 Scope, §12): members replicate each other's logs and not those of a
co-op outside their federation; with allow_members a member's node refuses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coopledger.node.testing import Daemon, converged, initialised, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNC_S = 60


@pytest.fixture
def coops(tmp_path: Path) -> Iterator[dict[str, Daemon]]:
    with initialised(tmp_path, ("garden", "repair", "kitchen")) as ds:
        yield ds


def cj(d: Daemon, *args: str) -> Any:
    return d.coop_json(*args)


def holds(d: Daemon, entry_id: str) -> bool:
    return bool(d.api("GET", f"/v1/entries/{entry_id}")["held"])


def logged(d: Daemon, task: str) -> str:
    """Log an hour of work at ``d``; the new entry's id."""
    before = {e["id"] for e in cj(d, "entries", "--author", d.name)}
    d.log_labor("sam", "1", task)
    (new,) = [e["id"] for e in cj(d, "entries", "--author", d.name)
              if e["id"] not in before]
    return str(new)


def federate(garden: Daemon, repair: Daemon) -> str:
    fed = cj(garden, "federation", "create", "--name", "Riverside",
             "--charter", "Tools and hours.")["id"]
    garden.coop("federation", "invite", "--federation", "Riverside", "--coop", "repair")

    def invited() -> bool:
        return any(f["federation"] == fed and f["role"] == "invited"
                   for f in cj(repair, "federation", "show")["federations"])
    wait_for("repair to see its invite", invited, SYNC_S)
    repair.coop("federation", "join", "--federation", "Riverside")
    wait_for("both to know both are members", lambda: all(
        len(cj(d, "federation", "show", "Riverside")["members"]) == 2
        for d in (garden, repair)), SYNC_S)
    return str(fed)


def test_members_do_not_replicate_a_coop_outside_their_federation(
        coops: dict[str, Daemon]) -> None:
    garden, repair, kitchen = coops["garden"], coops["repair"], coops["kitchen"]
    garden.start()
    repair.start([garden.addr])
    kitchen.start([garden.addr, repair.addr])
    wait_for("the three genesis entries everywhere",
             converged([garden, repair, kitchen], entries=3), SYNC_S)
    fed = federate(garden, repair)
    for d in (garden, repair):
        wait_for(f"{d.name} to replicate its federation only", lambda d=d: d.status()[
            "replication"]["federations"] == [fed], SYNC_S)

    outside = logged(kitchen, "kitchen work nobody in Riverside replicates")
    inside = logged(garden, "garden work")
    # Kitchen (in no federation) still takes every log it is offered: it gets garden's
    # new entry by sync with garden or repair, and that very session would have carried
    # kitchen's entry the other way if they wanted it.
    wait_for("kitchen to hold garden's new entry", lambda: holds(kitchen, inside), SYNC_S)
    wait_for("repair to hold garden's new entry", lambda: holds(repair, inside), SYNC_S)
    kitchen_sessions = {d.name: [s for s in d.status()["sync"]
                                 if s["peer_id"] == kitchen.peer_id and s["last_sync_ms"]]
                        for d in (garden, repair)}
    assert any(kitchen_sessions.values()), kitchen_sessions
    assert not holds(garden, outside)
    assert not holds(repair, outside)
    # Each member judges the same federation and the same balances.
    assert cj(garden, "federation", "show", "Riverside")["members"] == cj(
        repair, "federation", "show", "Riverside")["members"]


def test_allow_members_refuses_a_coop_outside(coops: dict[str, Daemon]) -> None:
    garden, repair, kitchen = coops["garden"], coops["repair"], coops["kitchen"]
    garden.start()
    repair.start([garden.addr])
    wait_for("garden and repair to sync", converged([garden, repair], entries=2), SYNC_S)
    federate(garden, repair)
    garden.stop()
    garden.start([repair.addr], "--allow-members")
    kitchen.start([garden.addr])

    def refused() -> bool:
        text = garden.log_path.read_text(errors="replace")
        return kitchen.peer_id is not None and kitchen.peer_id[-8:] in text and any(
            kitchen.peer_id[-8:] in line and ("refus" in line or "not allowed" in line)
            for line in text.splitlines())
    wait_for("garden to refuse kitchen's connection", refused, SYNC_S)
    assert kitchen.peer_id not in garden.status()["connected_peers"]
    assert garden.peer_id not in kitchen.status()["connected_peers"]
