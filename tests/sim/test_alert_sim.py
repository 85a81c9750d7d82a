"""The seeded alert simulation (alertsim.py) over many seeds, and that its verdict is
sharp: a broken or slow auto-ack, a node nobody reaches, a node that never acks, a
courier after the deadline each show where they must.

    .venv/bin/pytest tests/sim/test_alert_sim.py                    # ALERT_SEEDS (60)
    SIM_SEED=7 .venv/bin/pytest tests/sim/test_alert_sim.py -k seeded
    .venv/bin/python tests/sim/alertsim.py 7 --trace               # every event
"""

from __future__ import annotations

import os
import random
from dataclasses import replace

import alertsim
import pytest
from alertsim import AlertSim, Params, SimFailure, simulate

from coopledger.protocol import ALERT_WINDOW_MS, Alert, Economy, acks_due

SEEDS = ([int(os.environ["SIM_SEED"])] if os.environ.get("SIM_SEED")
         else list(range(int(os.environ.get("ALERT_SEEDS", "60")))))


def final_view(sim: AlertSim) -> Alert:
    assert sim.alert is not None
    got = sim.nodes[sim.p.raiser].economy().gov.alerts.get(sim.alert.id)
    assert got is not None
    return got


def with_cast(seed: int, **changes: object) -> Params:
    """Seed ``seed``'s params with ``changes``; ``mute="main"`` picks a mainland node
    that is not the raiser."""
    p = Params.draw(random.Random(seed))
    if changes.get("mute") == "main":
        main = [k for k in range(p.nodes) if k not in (p.raiser, p.lost, *p.island)]
        changes["mute"] = main[0]
    return replace(p, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
def test_seeded_alert_reaches_everyone_reachable(seed: int) -> None:
    simulate(seed)


def test_the_seeds_cover_the_cases() -> None:
    """The drawn casts include what the verdict is about (else the seeds prove less)."""
    params = [Params.draw(random.Random(s)) for s in range(60)]
    assert sum(p.lost is not None for p in params) >= 10
    assert sum(p.mute is not None for p in params) >= 5
    assert sum(len(p.island) == 2 for p in params) >= 10
    assert sum(p.courier_out > ALERT_WINDOW_MS for p in params) >= 5
    assert sum(p.drill for p in params) >= 5 and sum(p.named for p in params) >= 10
    assert {p.nodes for p in params} == {5, 6, 7, 8}


def test_the_island_hears_only_by_bundle_and_acks_in_time() -> None:
    sim = simulate(4, with_cast(4, courier_out=6 * 3_600_000, island=(4,)))
    have = sim.could_reach()
    bundles = {(t, i, j) for t, kind, i, j, _ in sim.contacts if kind == "bundle"}
    island = sim.p.island[0]
    assert any(j == island and t == have[island] for t, _, j in bundles)
    assert all(kind == "bundle" or island not in (i, j) or {i, j} <= set(sim.p.island)
               for _, kind, i, j, _ in sim.contacts)
    view = final_view(sim)
    ack = view.acks[sim.nodes[island].identity]
    assert not ack.late and ack.ts <= view.deadline


def test_a_courier_after_the_deadline_brings_a_late_ack() -> None:
    sim = simulate(3, with_cast(3, courier_out=50 * 3_600_000, lost=None, mute=None))
    view = final_view(sim)
    island = [sim.nodes[k].identity for k in sim.p.island]
    assert view.late() == sorted(island)
    assert view.unreached() == [] and view.acked_all()


def test_a_lost_node_stays_unreached_and_is_listed() -> None:
    p = Params.draw(random.Random(11))
    lost = p.lost if p.lost is not None else p.island[0]
    sim = simulate(11, replace(p, lost=lost, island=tuple(k for k in p.island
                                                          if k != lost) or p.island))
    view = final_view(sim)
    assert sim.nodes[lost].identity in view.unreached()
    assert sim.alert is not None and sim.alert.id not in sim.nodes[lost].store.ids()


def test_a_node_that_never_acks_is_listed_unreached_everywhere() -> None:
    sim = simulate(5, with_cast(5, mute="main", lost=None))
    assert sim.p.mute is not None
    mute = sim.nodes[sim.p.mute]
    assert sim.alert is not None and sim.alert.id in mute.store.ids()  # it was reached
    for nd in sim.nodes:
        view = nd.economy().gov.alerts.get(sim.alert.id)
        assert view is not None and view.unreached() == [mute.identity]


def test_broken_auto_ack_fails_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(econ: Economy, me: bytes) -> list[bytes]:
        return []

    monkeypatch.setattr(alertsim, "acks_due", never)
    with pytest.raises(SimFailure, match="never acked"):
        simulate(2)


def test_a_slow_auto_ack_fails_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Acks written one ingest after the node first held the raise (not at once)."""
    real = acks_due
    seen: set[tuple[bytes, bytes]] = set()

    def slow(econ: Economy, me: bytes) -> list[bytes]:
        due = real(econ, me)
        ready = [a for a in due if (me, a) in seen]
        seen.update((me, a) for a in due)
        return ready

    monkeypatch.setattr(alertsim, "acks_due", slow)
    with pytest.raises(SimFailure, match=r"could hold the raise at|never acked"):
        simulate(2)


def test_a_failure_names_the_seed_and_how_to_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alertsim, "acks_due", lambda econ, me: [])
    with pytest.raises(SimFailure) as info:
        simulate(9)
    assert str(info.value).startswith("seed 9 Params(")
    assert "SIM_SEED=9" in str(info.value)
