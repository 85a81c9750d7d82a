"""Convergence of the economy (SPEC §12): random federations of 3-4 co-ops make random
offers, accepts, declines (some by the wrong co-op, some after expiry), leaves and
rejoins; three simulated nodes each see a random subset of the entries in a random
order, then all of them. Every node must then derive the same economy, balances must
sum to zero per (federation, unit) at every node at every stage, and the same
exceptions must be flagged."""

from __future__ import annotations

import random
from typing import Any

from econkit import DAY, KEYS, SECOND, T0, Coop, applied, federation, reset_clock
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.protocol import Entry, Quantity, encode, fold
from coopledger.protocol.commons import (
    DEFAULT_RULES,
    ECONOMY_KINDS,
    Economy,
    Rules,
    Unit,
    compute_economy,
)

RULES = Rules((Unit("hour", "h", 2, "time", Quantity(8, 0)), *DEFAULT_RULES.units[1:]),
              Quantity(1, 1), 14)
AMOUNTS = ("0.5", "1", "2.25", "5", "8")


def history(data: st.DataObject) -> list[Entry]:
    reset_clock()
    n = data.draw(st.integers(3, 4), label="co-ops")
    coops = [Coop(KEYS[i], f"Co-op {i}") for i in range(n)]
    fed = federation(coops[0], *coops[1:], rules=RULES)
    offers: list[tuple[Entry, Coop, Coop]] = []
    inside = set(range(n))          # who the generator believes is a member (mostly right)
    for _ in range(data.draw(st.integers(3, 18), label="steps")):
        i = data.draw(st.integers(0, n - 1))
        actor = coops[i]
        ts = actor.now + data.draw(st.integers(0, 4)) * SECOND
        op = data.draw(st.sampled_from(("offer", "offer", "offer", "accept", "accept",
                                        "accept", "decline", "leave", "rejoin",
                                        "labor")))
        if op == "offer":
            j = data.draw(st.integers(0, n - 1))
            if j == i and data.draw(st.integers(0, 4)):
                j = (j + 1) % n          # mostly to another co-op
            life = data.draw(st.integers(1, 30)) * SECOND
            offer = actor.offer(fed, coops[j], data.draw(st.sampled_from(AMOUNTS)), ts=ts,
                                expires=ts + life)
            offers.append((offer, actor, coops[j]))
        elif op in ("accept", "decline") and offers:
            offer, _payer, to = data.draw(st.sampled_from(offers))
            # mostly the receiver; sometimes whoever acts (not-the-receiver)
            who = to if data.draw(st.integers(0, 4)) else actor
            ts = max(who.now, offer.ts + data.draw(st.integers(0, 20)) * SECOND)
            getattr(who, op)(offer, ts=ts)
        elif op == "labor":           # not economic: must change nothing (§12.3)
            actor.labor("1", ts=ts)
        elif op == "leave" and (i in inside or not data.draw(st.integers(0, 4))):
            actor.leave(fed, ts=ts)
            inside.discard(i)
        elif op == "rejoin" and (i not in inside or not data.draw(st.integers(0, 4))):
            inv = coops[0].invite(fed, actor, ts=max(coops[0].now, ts))
            actor.join(fed, inv, ts=max(actor.now, inv.ts) + data.draw(st.integers(0, 2)))
            inside.add(i)
    return [e for c in coops for e in c.entries]


def check_sums(econ: Economy) -> None:
    for fid in econ.federations:
        totals: dict[str, Quantity] = {}
        for (unit, _coop), q in econ.balances(fid).items():
            totals[unit] = totals.get(unit, Quantity(0, 0)) + q
        assert all(t.units == 0 for t in totals.values()), totals


def node_economy(entries: list[Entry]) -> tuple[Economy, Any]:
    state = fold(entries)
    econ = compute_economy(applied(entries))
    return econ, state


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_nodes_that_see_subsets_converge_after_merging(data: st.DataObject) -> None:
    entries = history(data)
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    nodes: list[list[Entry]] = []
    for _ in range(3):
        seen = [e for e in entries if rng.random() < 0.6]
        rng.shuffle(seen)
        nodes.append(seen)
        econ, _ = node_economy(seen)
        check_sums(econ)             # partial views are consistent too
    values, hashes, flags = set(), set(), []
    for seen in nodes:
        merged = seen + entries       # the rest arrives later, duplicates included
        rng.shuffle(merged)
        econ, state = node_economy(merged)
        check_sums(econ)
        values.add(encode(econ.to_value()))
        # the same from the economic entries alone (§12.3: other kinds are ignored)
        only = [e for e in applied(merged) if e.kind in ECONOMY_KINDS]
        values.add(encode(compute_economy(only).to_value()))
        flags.append(sorted((f.code, f.entry_id, str(f.value)) for f in econ.exceptions))
        if hasattr(state, "economy"):     # once the fold carries the economy (§12.6)
            hashes.add(state.state_hash())
    assert len(values) == 1
    assert flags[0] == flags[1] == flags[2]
    assert len(hashes) <= 1


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_expiry_boundary_is_the_same_everywhere(data: st.DataObject) -> None:
    """An accept at expires + d (d in -2 … 2 ms) is valid exactly when d <= 0."""
    reset_clock()
    a, b = Coop(KEYS[0], "A"), Coop(KEYS[1], "B")
    fed = federation(a, b)
    offer = a.offer(fed, b, "1", expires=T0 + DAY)
    d = data.draw(st.integers(-2, 2))
    acc = b.accept(offer, ts=T0 + DAY + d)
    econ = compute_economy(applied([*a.entries, *b.entries]))
    assert (acc.id in econ.invalid) == (d > 0)
    assert econ.transfers[offer.id].status == ("open" if d > 0 else "accepted")
