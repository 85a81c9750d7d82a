"""The one way an entry from outside enters the store: bundles now, peers next.

``Ingest`` takes entry bytes one at a time (each with a tag saying where it came from:
a byte offset in a bundle, a batch of a sync session) and, in batches:

1. decodes and shape-checks each (``decode_entry``); a failure is a rejection;
2. skips entries already held (an id is the hash of the bytes, so a held id is bytes
   already verified);
3. verifies signatures, on every core for large batches, while the next batch is
   being decoded;
4. stores what verified with ``Store.add_entries``, one transaction per batch.

Every rejection is counted and (up to MAX_REPORTED) described with its tag, entry id,
reason code and a message that never echoes the untrusted bytes.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from coopledger.protocol import Entry, ValidationError, decode_entry

from ._store import Store
from ._verify import Verifier

# Entries per transaction: large enough to amortise commits (~90k rows/s batched),
# small enough that a crash loses little and memory stays flat.
BATCH_SIZE = 5000
# Keep full details of at most this many rejections; the counts stay exact.
MAX_REPORTED = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    offset: int
    entry_id: bytes | None
    reason: str
    message: str


@dataclass
class IngestCounts:
    """What an ingest did so far. ``problems`` holds the first MAX_REPORTED."""

    new: int = 0
    held: int = 0
    rejected: int = 0
    applied: int = 0
    problems: list[Rejection] = field(default_factory=list)
    # The ids of new entries, kept only when the caller asks (a list, not None).
    new_ids: list[bytes] | None = None

    def note(self, r: Rejection) -> None:
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(r)


_Batch = list[tuple[int, Entry]]


class Ingest:
    """Decode, verify and store entries in batches; see the module docstring.

    ``add`` may store earlier batches as it goes; ``flush`` stores everything given so
    far (after it returns, all accepted entries are durably committed). Use as a
    context manager, or call ``close`` to stop a verifier it started itself.
    """

    def __init__(self, store: Store, counts: IngestCounts | None = None, *,
                 verifier: Verifier | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.store = store
        self.counts = counts if counts is not None else IngestCounts()
        self._own_verifier = verifier is None
        self.verifier = verifier or Verifier()
        self.batch_size = batch_size
        self._batch: _Batch = []
        # Batches whose signatures are being verified while the next one is decoded.
        self._pending: deque[tuple[_Batch, Future[list[bool]] | list[bool]]] = deque()

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_verifier:
            self.verifier.close()

    def add(self, offset: int, entry_bytes: bytes) -> None:
        """Take one entry; ``offset`` is where it came from (reported with rejections)."""
        try:
            entry = decode_entry(entry_bytes)
        except ValidationError as exc:
            self.counts.rejected += 1
            self.counts.note(Rejection(offset, exc.entry_id, exc.reason, str(exc)))
            return
        self._batch.append((offset, entry))
        if len(self._batch) >= self.batch_size:
            self._cycle(final=False)

    def flush(self) -> None:
        """Store everything taken so far; returns once it is committed."""
        self._cycle(final=True)

    def _cycle(self, final: bool) -> None:
        counts = self.counts
        if self._batch:
            batch, self._batch = self._batch, []
            held = self.store.held_ids([e.id for _, e in batch])
            if held:
                counts.held += sum(1 for _, e in batch if e.id in held)
                batch = [(o, e) for o, e in batch if e.id not in held]
            self._pending.append((batch, self.verifier.submit([e for _, e in batch])))
        while self._pending and (final or len(self._pending) > 1):
            items, fut = self._pending.popleft()
            oks = fut if isinstance(fut, list) else fut.result()
            good: list[Entry] = []
            for (offset, entry), ok in zip(items, oks, strict=True):
                if ok:
                    good.append(entry)
                else:
                    counts.rejected += 1
                    counts.note(Rejection(offset, entry.id, "invalid:signature",
                                          "signature does not verify for its author"))
            if good:
                res = self.store.add_entries(good)
                counts.new += len(res.new)
                if counts.new_ids is not None:
                    counts.new_ids.extend(res.new)
                # Held ones include duplicates within the batch itself.
                counts.held += len(good) - len(res.new)
                counts.applied += res.applied
