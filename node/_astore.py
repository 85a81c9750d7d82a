"""The daemon's access to its store: every call in a worker thread, one at a time.

SQLite calls block, so none of them runs on the trio loop (a blocked loop holds up every
peer's gossip and sync, and the API; the daemon warns of any stall over 100 ms). A capacity
limiter of one serialises them: the store's connection is shared, and a transaction
must never interleave with another thread's statements. Worker threads are not
abandoned on cancellation, so a shutdown waits for the batch being written and the
store is left consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import trio

from coopledger.crypto import SecretKey
from coopledger.protocol import Entry, Head, LedgerState, Value

from ._bundles import ImportReport, import_bundle
from ._ingest import Ingest, IngestCounts
from ._store import Store
from ._syncdriver import BatchResult
from ._verify import Verifier

T = TypeVar("T")


class AsyncStore:
    def __init__(self, store: Store, verifier: Verifier, *,
                 on_new: Callable[[list[bytes]], None] | None = None) -> None:
        self.store = store
        self.verifier = verifier
        # Called (on the trio thread) with the ids of entries new to the store.
        self.on_new = on_new
        self._limiter = trio.CapacityLimiter(1)

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def sync_heads(self) -> dict[bytes, Head]:
        return await self.call(self.store.sync_heads)

    async def read_range(self, author: bytes, after_seq: int, up_to_seq: int) -> list[bytes]:
        return await self.call(self.store.read_range, author, after_seq, up_to_seq)

    def _ingest(self, entries: Sequence[bytes]) -> IngestCounts:
        counts = IngestCounts(new_ids=[])
        with Ingest(self.store, counts, verifier=self.verifier) as ingest:
            for i, raw in enumerate(entries):
                ingest.add(i, raw)
            ingest.flush()
        return counts

    def _tell(self, ids: list[bytes]) -> None:
        if self.on_new is not None:
            self.on_new(ids)

    async def ingest(self, entries: Sequence[bytes]) -> IngestCounts:
        """Validate and store entries from outside (the bundle path)."""
        counts = await self.call(self._ingest, entries)
        if counts.new:
            self._tell(counts.new_ids or [])
        return counts

    async def store_batch(self, entries: Sequence[bytes], peer: str) -> BatchResult:
        counts = await self.ingest(entries)
        refused = [(p.entry_id.hex() if p.entry_id else None, p.reason, p.message)
                   for p in counts.problems]
        if counts.rejected and not refused:
            refused = [(None, "invalid:entry", f"{counts.rejected} entries refused")]
        return BatchResult(counts.new, refused)

    async def append(self, key: SecretKey, kind: str, body: dict[str, Value], ts: int,
                     refs: Sequence[bytes]) -> Entry:
        def run() -> Entry:
            return self.store.append(key, kind=kind, body=body, ts=ts, refs=refs)
        entry = await self.call(run)
        self._tell([entry.id])
        return entry

    async def import_bundle(self, path: Path) -> ImportReport:
        def run() -> ImportReport:
            with path.open("rb") as f:
                return import_bundle(self.store, f, verifier=self.verifier)
        report = await self.call(run)
        if report.new:
            self._tell([])  # ids are not collected for bundles: just "changed"
        return report

    async def state(self) -> LedgerState:
        return await self.call(self.store.state)

    async def rebuild(self) -> LedgerState:
        return await self.call(self.store.rebuild)

    async def count(self) -> int:
        return await self.call(self.store.count)
