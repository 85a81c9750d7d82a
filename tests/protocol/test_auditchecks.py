"""The audit circle's checks (protocol/_auditchecks.py) run on books held in memory: no
store, no file, no clock. The worlds of every check are in tests/node/test_auditrun.py,
which runs them through the store; here, what the pure part promises on its own."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from coopledger import crypto
from coopledger.crypto import SecretKey
from coopledger.protocol import Entry, LedgerError, checkpoint_body, create_entry, fold
from coopledger.protocol import _auditchecks as auditchecks
from coopledger.protocol._auditchecks import (
    CHECK_NAMES,
    AuditError,
    AuditRun,
    ChainScan,
    audit_checks,
    audit_context,
    quarter_bounds,
)

DAY = 86_400_000
T0 = int(datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC).timestamp() * 1000)
AS_OF = T0 + 10 * DAY
KEY = SecretKey(bytes([7]) * 32)
ME = KEY.public.raw


def log() -> list[Entry]:
    """A co-op's log: genesis, two days of labour, a checkpoint of the three, one more."""
    out: list[Entry] = []
    frontier = crypto.Frontier()

    def add(kind: str, body: dict[str, Any]) -> None:
        prev = out[-1].id if out else None
        e = create_entry(KEY, seq=len(out) + 1, prev=prev, ts=T0 + len(out) * 1000,
                         kind=kind, body=body)
        out.append(e)
        frontier.append(crypto.leaf_hash(e.id))

    add("genesis", {"name": "Hillside Garden"})
    for day, hours in (("2026-01-05", "3"), ("2026-01-06", "2.5")):
        add("labor", {"member": "Ana", "hours": hours, "task": "beds",
                      "category": "production", "date": day, "paid": True})
    add("checkpoint", checkpoint_body(frontier))
    add("labor", {"member": "Ana", "hours": "1", "task": "seed", "category": "production",
                  "date": "2026-01-07"})
    return out


def run(entries: list[Entry], *, feed: list[Entry] | None = None, **kw: Any) -> AuditRun:
    state = fold(entries, as_of=AS_OF)
    ctx = audit_context(state, ME, {ME: len(entries)}, as_of=AS_OF, quarter="2026-Q1")
    scan = ChainScan(ctx)
    scan.start(ME)
    for e in entries if feed is None else feed:
        scan.read(e.id, e.raw)
    scan.end()
    return audit_checks(ctx, scan, cosigns=kw.pop("cosigns", []),
                        metric_entries=[e for e in entries if e.kind == "labor"], **kw)


def detail(result: AuditRun, name: str) -> str:
    return next(c.detail for c in result.checks if c.name == name)


def test_books_in_memory_pass_every_check() -> None:
    result = run(log())
    assert [c.name for c in result.checks] == list(CHECK_NAMES)
    assert result.ok, [c.detail for c in result.failed()]
    assert result.name == "Hillside Garden" and result.entries_checked == 5
    assert result.checkpoint is not None and result.checkpoint.size == 3
    assert detail(result, "chains-and-signatures") == (
        "5 held entries of the co-op's 1 key re-verified: ids, signatures and chain "
        "links hold.")
    assert detail(result, "balances-reconcile") == (
        "The co-op is in no federation: it has no balances.")
    assert detail(result, "metrics").startswith(
        "Recomputed for 2026-Q1: 2026-01: needs met inside -, co-op work share 1 "
        "(5.5 h paid, 1 h unpaid, 0 h outside)")


def test_what_the_caller_reports_and_what_it_feeds_are_judged() -> None:
    entries = log()
    # An id that is not its bytes' hash, a signature the caller found bad, a gap.
    ctx = audit_context(fold(entries, as_of=AS_OF), ME, {ME: 5}, as_of=AS_OF,
                        quarter="2026-Q1")
    scan = ChainScan(ctx)
    scan.start(ME)
    assert scan.read(bytes(32), entries[0].raw) is None
    read = [scan.read(e.id, e.raw) for e in entries[2:]]
    assert read == entries[2:]
    scan.bad_signature(entries[3])
    scan.end()
    result = audit_checks(ctx, scan, cosigns=[], metric_entries=[])
    text = detail(result, "chains-and-signatures")
    assert text.startswith("3 problems in 4 entries of 1 key: entry 00000000… of key ")
    assert "its id does not match its bytes" in text
    assert f"(seq 4 of key {ME[:4].hex()}…): signature does not verify" in text
    assert f"key {ME[:4].hex()}…: seq 2 not held here" in text
    # The checkpoint's size is checked against the entries fed before it (one: seq 3).
    assert [c.name for c in result.failed()] == ["chains-and-signatures", "checkpoint"]
    assert "claims size 3, the log before it holds 1" in detail(result, "checkpoint")


def test_a_checkpoint_root_is_recomputed_from_the_entries_fed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A false root breaks the log in the fold (no-forks fails) and leaves the applied
    # prefix; the scan recomputes the roots of the applied checkpoints on its own, so
    # forge its Merkle root to see it do so.
    monkeypatch.setattr(auditchecks, "_tree_root", lambda f: bytes(32))
    result = run(log())
    assert [c.name for c in result.failed()] == ["checkpoint"]
    assert "(seq 4): root " in detail(result, "checkpoint")
    assert "does not recompute" in detail(result, "checkpoint")


def test_cosigns_are_read_only_when_there_is_a_checkpoint() -> None:
    def never() -> Iterator[Entry]:
        raise AssertionError("the cosigns were read")
        yield  # pragma: no cover

    entries = [e for e in log() if e.kind != "checkpoint"][:3]
    result = run(entries, cosigns=never())
    assert detail(result, "checkpoint") == "The co-op has published no checkpoint."


def test_nothing_to_audit_is_an_audit_error_a_ledger_error() -> None:
    with pytest.raises(AuditError) as info:
        audit_context(fold(log()), ME, {}, as_of=AS_OF, quarter="2026-Q1")
    assert info.value.field == "coop" and isinstance(info.value, LedgerError)
    with pytest.raises(AuditError) as info:
        audit_context(fold(log()), ME, {ME: 5}, as_of=AS_OF, quarter="2026-Q1",
                      federation=bytes(32))
    assert info.value.field == "federation"
    with pytest.raises(AuditError) as info:
        quarter_bounds("2026-Q5")
    assert info.value.field == "quarter"
