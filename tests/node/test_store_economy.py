"""The store keeps the economy's input (the applied economic entries, SPEC §12) across
restarts without folding at start-up, and through rebuilds and forks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node import _store as store_module
from coopledger.protocol import (
    ECONOMY_KINDS,
    Entry,
    Folder,
    Value,
    create_entry,
    default_rules_value,
    fold,
)

A, B, C = (SecretKey(bytes([i]) * 32) for i in (0x41, 0x42, 0x43))
HOUR = 3_600_000
T0 = 1_767_225_600_000


def _next(key: SecretKey, log: list[Entry], kind: str, body: dict[str, Value],
          refs: tuple[bytes, ...] = (), ts: int | None = None) -> Entry:
    last = log[-1]
    e = create_entry(key, seq=last.seq + 1, prev=last.id,
                     ts=last.ts + HOUR if ts is None else ts, kind=kind, body=body,
                     refs=refs)
    log.append(e)
    return e


def federation() -> tuple[dict[str, Entry], list[Entry], list[Entry], list[Entry]]:
    """A founds a federation, invites B and C; both join; A offers B 5 hours, B accepts;
    C declares a need. Returns (named entries, A's log, B's log, C's log)."""
    logs = {k: [create_entry(k, seq=1, prev=None, ts=T0, kind="genesis",
                             body={"name": n})]
            for k, n in ((A, "Garden"), (B, "Repair"), (C, "Bakery"))}
    a, b, c = logs[A], logs[B], logs[C]
    fed = _next(A, a, "federation.create", {"name": "Hillside", "charter": "Share.",
                                            "rules": default_rules_value()})
    f = fed.id.hex()
    inv_b = _next(A, a, "federation.invite", {"federation": f, "invitee": B.public.hex()},
                  (fed.id,))
    inv_c = _next(A, a, "federation.invite", {"federation": f, "invitee": C.public.hex()},
                  (fed.id,))
    join_b = _next(B, b, "federation.join", {"federation": f, "invite": inv_b.id.hex()},
                   (fed.id, inv_b.id), ts=inv_c.ts + 1)
    join_c = _next(C, c, "federation.join", {"federation": f, "invite": inv_c.id.hex()},
                   (fed.id, inv_c.id), ts=inv_c.ts + 2)
    offer = _next(A, a, "transfer.offer", {"federation": f, "to": B.public.hex(),
                                           "amount": "5", "unit": "hour",
                                           "purpose": "pump repair",
                                           "expires": T0 + 100 * HOUR}, (fed.id,))
    accept = _next(B, b, "transfer.accept", {"offer": offer.id.hex()}, (offer.id,),
                   ts=offer.ts + 1)
    need = _next(C, c, "need.declare", {"federation": f, "category": "repair",
                                        "quantity": "3", "unit": "hour",
                                        "period": "2026-01"}, (fed.id,))
    _next(C, c, "labor", {"member": "ana", "hours": "2", "task": "baking",
                          "category": "production", "date": "2026-01-02"})
    named = {"fed": fed, "inv_b": inv_b, "inv_c": inv_c, "join_b": join_b,
             "join_c": join_c, "offer": offer, "accept": accept, "need": need}
    return named, a, b, c


def economic_ids(entries: list[Entry]) -> set[bytes]:
    return {e.id for e in fold(entries).economic.values()}


def test_reopen_and_rebuild_give_a_fresh_folds_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, a, b, c = federation()
    everything = a + b + c
    expected = fold(everything)
    assert len(expected.economic) == 8 and "economy" in expected.to_value()
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        # Out of order, in batches: B's and C's joins wait for A's invites.
        for batch in (b, c[:2], a[:3], a[3:], c[2:]):
            s.add_entries(batch)
        assert s.state().state_hash() == expected.state_hash()
        assert set(s.state().economic) == set(expected.economic)

    def no_folding(*args: object, **kw: object) -> None:
        raise AssertionError("opening a store must not fold its entries")

    monkeypatch.setattr(store_module, "fold_source", no_folding)
    monkeypatch.setattr(Folder, "advance", no_folding)
    with Store.open(path) as s:
        assert set(s.state().economic) == set(expected.economic)
        assert s.state().to_value() == expected.to_value()
        assert s.state().state_hash() == expected.state_hash()
    monkeypatch.undo()
    with Store.open(path) as s:
        assert s.rebuild().state_hash() == expected.state_hash()
        assert set(s.state().economic) == set(expected.economic)
    with Store.open(path) as s:
        assert s.state().state_hash() == expected.state_hash()


def test_only_applied_economic_entries_are_loaded(tmp_path: Path) -> None:
    named, a, b, c = federation()
    # A's second invite is missing: A's log stops before it, C's join waits for it,
    # and C's later entries wait behind the join.
    held = [e for e in a + b + c if e.id != named["inv_c"].id]
    expected = fold(held)
    assert named["join_c"].id not in expected.economic
    assert named["need"].id not in expected.economic
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        s.add_entries(held)
    with Store.open(path) as s:
        assert set(s.state().economic) == set(expected.economic) == {
            named["fed"].id, named["inv_b"].id, named["join_b"].id}
        assert s.state().state_hash() == expected.state_hash()
        s.add_entries([named["inv_c"]])
        assert set(s.state().economic) == economic_ids(a + b + c)
        assert s.state().state_hash() == fold(a + b + c).state_hash()


def test_a_fork_withdraws_an_applied_economic_entry(tmp_path: Path) -> None:
    named, a, b, c = federation()
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        s.add_entries(a + b + c)
        assert named["join_b"].id in s.state().economic
        assert named["accept"].id in s.state().economic
        # B signs a second entry at seq 2: its log freezes at seq 1, so its join and
        # accept no longer apply (and A's offer to B, no longer a member, is invalid).
        fork = create_entry(B, seq=2, prev=b[0].id, ts=b[1].ts, kind="federation.leave",
                            body={"federation": named["fed"].id.hex()},
                            refs=[named["fed"].id])
        result = s.add_entries([fork])
        assert result.rebuilt
        expected = fold([*a, *b, *c, fork])
        assert named["join_b"].id not in s.state().economic
        assert named["accept"].id not in s.state().economic
        assert fork.id not in s.state().economic
        assert set(s.state().economic) == set(expected.economic)
        assert s.state().state_hash() == expected.state_hash()
        economy = s.state().economy()
        assert economy.invalid[named["offer"].id].code == "not-a-member"
        assert named["accept"].id not in economy.invalid
    with Store.open(path) as s:
        assert set(s.state().economic) == set(expected.economic)
        assert s.state().state_hash() == expected.state_hash()


def test_a_second_store_object_sees_new_economic_entries(tmp_path: Path) -> None:
    named, a, b, c = federation()
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as writer, Store.open(path) as reader:
        writer.add_entries(a[:2])
        assert set(reader.state().economic) == {named["fed"].id}
        before = reader.state().economy()
        writer.add_entries(a[2:] + b + c)
        assert set(reader.state().economic) == economic_ids(a + b + c)
        assert reader.state().economy() is not before
        assert reader.state().state_hash() == fold(a + b + c).state_hash()


def test_a_damaged_derived_table_folds_the_economy_too(tmp_path: Path) -> None:
    _, a, b, c = federation()
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        s.add_entries(a + b + c)
    db = sqlite3.connect(path)
    db.execute("UPDATE derived SET state = ? WHERE rowid = 1", (b"\xc1",))
    db.commit()
    db.close()
    with Store.open(path) as s:
        assert s.derived_damaged
        assert set(s.state().economic) == economic_ids(a + b + c)
        assert s.state().state_hash() == fold(a + b + c).state_hash()


def test_state_as_of_has_the_economy_of_that_time(tmp_path: Path) -> None:
    named, a, b, c = federation()
    with Store.open(tmp_path / "ledger.db", create=True) as s:
        s.add_entries(a + b + c)
        t = named["offer"].ts - 1
        past = s.state_as_of(t)
        assert named["offer"].id not in past.economic
        assert past.state_hash() == fold(a + b + c, as_of=t).state_hash()
        assert all(e.kind in ECONOMY_KINDS and e.ts <= t for e in past.economic.values())
