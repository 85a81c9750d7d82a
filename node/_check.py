"""``coop verify``: re-check everything a store holds.

Store integrity (our problem if it fails): every row's bytes decode canonically, its id
is the SHA-256 of its bytes, its indexed columns match its envelope, its signature
verifies, the forks table lists exactly the forked positions, and the derived cache
equals a fresh fold of the entries.

Ledger findings (an author's misconduct or missing data, not a fault of the store):
forks and broken chains, as the fold reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coopledger.protocol import Entry, LedgerError, ValidationError, decode_entry, entry_id

from ._store import Store
from ._verify import Verifier

BATCH = 4096


@dataclass
class CheckReport:
    entries: int = 0
    store_problems: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    state_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.store_problems and not self.findings


def check_store(store: Store, *, progress: Callable[[int], None] | None = None,
                verifier: Verifier | None = None) -> CheckReport:
    report = CheckReport()
    own = verifier is None
    verifier = verifier or Verifier()
    db = store._db
    positions: dict[tuple[bytes, int], int] = {}
    try:
        batch: list[Entry] = []

        def flush() -> None:
            for e, ok in zip(batch, verifier.verify(batch), strict=True):
                if not ok:
                    report.store_problems.append(
                        f"entry {e.id[:4].hex()}…: signature does not verify")
            batch.clear()

        for rid, author, seq, ts, kind, raw in db.execute(
            "SELECT id, author, seq, ts, kind, raw FROM entries ORDER BY rowid"
        ):
            report.entries += 1
            short = rid[:4].hex()
            if entry_id(raw) != rid:
                report.store_problems.append(f"entry {short}…: id does not match its bytes")
                continue
            try:
                e = decode_entry(raw)
            except ValidationError as exc:
                report.store_problems.append(f"entry {short}…: {exc.reason}: {exc}")
                continue
            if (e.author, e.seq, e.ts, e.kind) != (author, seq, ts, kind):
                report.store_problems.append(f"entry {short}…: index columns disagree")
            positions[(author, seq)] = positions.get((author, seq), 0) + 1
            batch.append(e)
            if len(batch) >= BATCH:
                flush()
                if progress:
                    progress(report.entries)
        flush()
        if progress:
            progress(report.entries)
    finally:
        if own:
            verifier.close()
    forked = {p for p, n in positions.items() if n > 1}
    listed = {(a, s) for a, s in db.execute("SELECT author, seq FROM forks")}
    if forked != listed:
        report.store_problems.append("the forks table does not match the entries")
    try:
        fresh = store.state_as_of(None)
    except (LedgerError, LookupError) as exc:
        # Only damaged rows or tables (listed above) make the fold itself fail; report
        # that rather than crash the check that is meant to find them.
        report.store_problems.append(
            f"the entries cannot be folded ({type(exc).__name__}); derived state not checked")
        return report
    # Compare what is on disk, not what this Store object loaded earlier.
    store._load_state()
    if store.derived_damaged:
        report.store_problems.append(
            "the derived state table is damaged (run `coop rebuild`)")
    cached = store.state()
    report.state_hash = fresh.state_hash()
    if cached.state_hash() != report.state_hash:
        report.store_problems.append(
            "derived state differs from a fresh fold of the entries (run `coop rebuild`)")
    for author, st in sorted(fresh.authors.items()):
        who = f"{st.name or '(unnamed)'} {author[:4].hex()}…"
        if st.fork is not None:
            report.findings.append(
                f"{who}: fork at seq {st.fork.seq} (entries {st.fork.a[:4].hex()}… and "
                f"{st.fork.b[:4].hex()}…); log frozen at seq {st.fork.seq - 1}")
        if st.broken is not None:
            report.findings.append(
                f"{who}: chain broken at seq {st.broken[0]} ({st.broken[1]} does not follow "
                f"seq {st.broken[0] - 1})")
    return report
