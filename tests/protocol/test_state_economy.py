"""The economy in the fold's state (SPEC §5, §12.6): which entries the Folder records
as economic, the cached ``LedgerState.economy()``, and the ``economy`` key of the state
value, in full folds and incremental advances alike."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.crypto import SecretKey, sha256
from coopledger.protocol import (
    ECONOMY_KINDS,
    Entry,
    Folder,
    LedgerState,
    MemorySource,
    NeedsRebuild,
    Value,
    compute_economy,
    create_entry,
    default_rules_value,
    encode,
    fold,
)
from coopledger.protocol import _state as state_module

A, B, C = (SecretKey(bytes([i]) * 32) for i in (0x31, 0x32, 0x33))
HOUR = 3_600_000
T0 = 1_767_225_600_000


class Log:
    """One co-op's log, built entry by entry."""

    def __init__(self, key: SecretKey, name: str, ts: int = T0) -> None:
        self.key = key
        self.entries = [create_entry(key, seq=1, prev=None, ts=ts, kind="genesis",
                                     body={"name": name})]

    @property
    def hex(self) -> str:
        return self.key.public.hex()

    def add(self, kind: str, body: dict[str, Value], refs: list[bytes] = (),  # type: ignore[assignment]
            ts: int | None = None) -> Entry:
        last = self.entries[-1]
        e = create_entry(self.key, seq=last.seq + 1, prev=last.id,
                         ts=last.ts + HOUR if ts is None else ts, kind=kind, body=body,
                         refs=refs)
        self.entries.append(e)
        return e


def federation() -> dict[str, Any]:
    """A: founds a federation and invites B; B joins; A offers B 5 hours, B accepts;
    C logs outside labour and some labour, and is in no federation."""
    a, b, c = Log(A, "Garden"), Log(B, "Repair"), Log(C, "Bakery")
    fed = a.add("federation.create", {"name": "Hillside", "charter": "Share.",
                                      "rules": default_rules_value()})
    f = fed.id.hex()
    inv = a.add("federation.invite", {"federation": f, "invitee": b.hex}, [fed.id])
    join = b.add("federation.join", {"federation": f, "invite": inv.id.hex()},
                 [fed.id, inv.id], ts=inv.ts + 1)
    offer = a.add("transfer.offer", {"federation": f, "to": b.hex, "amount": "5",
                                     "unit": "hour", "purpose": "pump repair",
                                     "expires": T0 + 100 * HOUR}, [fed.id])
    accept = b.add("transfer.accept", {"offer": offer.id.hex()}, [offer.id],
                   ts=offer.ts + 1)
    outside = c.add("labor.outside", {"member": "ana", "hours": "80", "period": "2026-01"})
    labor = c.add("labor", {"member": "ana", "hours": "2", "task": "baking",
                            "category": "production", "date": "2026-01-02"})
    return {"a": a, "b": b, "c": c, "fed": fed, "inv": inv, "join": join, "offer": offer,
            "accept": accept, "outside": outside, "labor": labor,
            "all": a.entries + b.entries + c.entries}


def test_a_state_without_economic_entries_has_no_economy_key() -> None:
    s = federation()
    state = fold(s["c"].entries)  # genesis, labor.outside, labor
    assert state.economic == {}
    assert "economy" not in state.to_value()
    # labor.outside is a known kind (not counted as unknown) that the economy does not read.
    assert state.authors[C.public.raw].unknown == {}
    assert state.authors[C.public.raw].length == 3


def test_the_fold_records_exactly_the_applied_economic_entries() -> None:
    s = federation()
    state = fold(s["all"])
    economic = {e.id for e in s["all"] if e.kind in ECONOMY_KINDS}
    assert set(state.economic) == economic == {
        s[k].id for k in ("fed", "inv", "join", "offer", "accept")}
    assert all(state.economic[i].id == i for i in economic)
    value = state.to_value()
    assert value["economy"] == compute_economy(s["all"]).to_value()
    assert set(value) == {"version", "as_of", "coops", "economy"}


def test_entries_that_do_not_apply_are_not_economic() -> None:
    s = federation()
    # The invite is not held: B's join waits for it (rule 4), and so does all of B's log
    # after it; A's log stops at the gap where the invite would be.
    held = [e for e in s["all"] if e.id != s["inv"].id]
    state = fold(held)
    assert set(state.economic) == {s["fed"].id}
    assert state.authors[B.public.raw].length == 1
    # As of just before the offer: the offer and its accept do not apply yet.
    state = fold(s["all"], as_of=s["offer"].ts - 1)
    assert set(state.economic) == {s["fed"].id, s["inv"].id, s["join"].id}
    assert state.to_value()["economy"] == compute_economy(
        [s["fed"], s["inv"], s["join"]]).to_value()


def test_a_fork_freezes_the_log_before_its_economic_entries() -> None:
    s = federation()
    b = s["b"]
    fork = create_entry(B, seq=2, prev=b.entries[0].id, ts=b.entries[1].ts, kind="labor",
                        body={"member": "ben", "hours": "1", "task": "t",
                              "category": "other", "date": "2026-01-01"})
    state = fold([*s["all"], fork])
    assert s["join"].id not in state.economic and s["accept"].id not in state.economic
    assert set(state.economic) == {s[k].id for k in ("fed", "inv", "offer")}


def test_the_state_hash_does_not_depend_on_order() -> None:
    s = federation()
    h = fold(s["all"]).state_hash()
    r = random.Random(4)
    for _ in range(5):
        shuffled = list(s["all"])
        r.shuffle(shuffled)
        assert fold(shuffled + shuffled[:3]).state_hash() == h


def test_the_economy_is_part_of_the_state_hash() -> None:
    state = fold(federation()["all"])
    value = state.to_value()
    assert state.state_hash() == sha256(encode(value)).hex()
    del value["economy"]
    assert sha256(encode(value)).hex() != state.state_hash()


def test_economy_is_cached_until_an_economic_entry_is_recorded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting(entries: Any) -> Any:
        entries = list(entries)
        calls.append(len(entries))
        return compute_economy(entries)

    monkeypatch.setattr(state_module, "compute_economy", counting)
    s = federation()
    source = MemorySource(s["a"].entries[:2])  # genesis, federation.create
    state = LedgerState()
    folder = Folder(state, source)
    folder.advance(source.authors())
    first = state.economy()
    assert state.economy() is first
    state.to_value()
    state.state_hash()
    assert calls == [1]
    # A non-economic entry applies: the cache stays.
    touched = source.add(s["c"].entries)
    folder.advance(touched)
    assert state.economy() is first and calls == [1]
    # An economic entry applies: recomputed once, with it.
    touched = source.add(s["a"].entries[2:3])  # the invite
    assert folder.advance(touched) == [s["inv"]]
    second = state.economy()
    assert second is not first and state.economy() is second
    assert calls == [1, 2]
    assert len(second.federations[s["fed"].id].invited) == 1


def test_incremental_advances_record_what_a_full_fold_records() -> None:
    s = federation()
    everything = s["all"]
    source = MemorySource()
    state = LedgerState()
    folder = Folder(state, source)
    # Arrival order: B's log first (it waits on A's refs), then C, then A.
    for batch in (s["b"].entries, s["c"].entries, s["a"].entries):
        folder.advance(source.add(batch))
    full = fold(everything)
    assert set(state.economic) == set(full.economic)
    assert state.state_hash() == full.state_hash()


# --- property: any batching, any order, forks included --------------------------------------


def _scenario(seed: int) -> list[Entry]:
    """Federation entries plus random labour, and sometimes a fork of B's log."""
    s = federation()
    r = random.Random(seed)
    entries = list(s["all"])
    if r.random() < 0.4:
        b = s["b"]
        at = r.randrange(1, len(b.entries))
        prev = b.entries[at - 1]
        entries.append(create_entry(
            B, seq=at + 1, prev=prev.id, ts=prev.ts + 7, kind="federation.leave",
            body={"federation": s["fed"].id.hex()}, refs=[s["fed"].id]))
    return entries


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_any_batching_gives_the_full_folds_state(seed: int, r: random.Random) -> None:
    entries = _scenario(seed)
    expected = fold(entries)
    order = list(entries)
    r.shuffle(order)
    source = MemorySource()
    state = LedgerState()
    folder = Folder(state, source)
    i = 0
    while i < len(order):
        n = r.randint(1, 4)
        touched = source.add(order[i:i + n])
        i += n
        try:
            folder.advance(touched)
        except NeedsRebuild:
            state = fold(source.all_entries())
            folder = Folder(state, source)
    assert set(state.economic) == set(expected.economic)
    assert state.state_hash() == expected.state_hash()
