"""Import and export of bundle files (sneakernet), through the same validation path
as every other way an entry can arrive: decode and shape-check, verify the signature,
then ``Store.add_entries`` in batches of one transaction each.

A kill -9 during an import loses at most the batch in flight: what is committed is a
valid prefix of the bundle (in the bundle's order), and the store stays consistent.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import BinaryIO

from coopledger.protocol import (
    RECORD_ENTRY,
    BundleDamage,
    BundleEnd,
    BundleParser,
    BundleRecord,
    Entry,
    ValidationError,
    bundle_header,
    bundle_record,
    bundle_trailer,
    decode_entry,
)

from ._store import Store
from ._verify import Verifier

logger = logging.getLogger(__name__)

# Entries per transaction: large enough to amortise commits (~90k rows/s batched),
# small enough that a crash loses little and memory stays flat.
BATCH_SIZE = 5000
# Read the file in chunks of this size.
READ_CHUNK = 1 << 20
# Keep full details of at most this many rejections; the counts stay exact.
MAX_REPORTED = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    offset: int
    entry_id: bytes | None
    reason: str
    message: str


@dataclass
class ImportReport:
    new: int = 0
    held: int = 0
    rejected: int = 0
    damaged: int = 0
    applied: int = 0
    skipped_records: int = 0
    complete: bool = False
    expected: int | None = None
    problems: list[Rejection] = field(default_factory=list)

    def _note(self, r: Rejection) -> None:
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(r)

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.damaged == 0 and self.complete


Progress = Callable[[int], None]


def import_bundle(
    store: Store,
    f: BinaryIO,
    *,
    progress: Progress | None = None,
    verifier: Verifier | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import the bundle read from ``f`` into ``store``; judge each entry on its own.

    ``progress`` is called with the number of bytes read so far. Raises BundleError
    only if the file is not a bundle at all (bad header); all other damage is reported
    in the ImportReport with byte offsets.
    """
    report = ImportReport()
    parser = BundleParser()
    own_verifier = verifier is None
    verifier = verifier or Verifier()
    # Batches whose signatures are being verified while the next one is decoded.
    pending: deque[tuple[list[tuple[int, Entry]], Future[list[bool]] | list[bool]]] = deque()
    batch: list[tuple[int, Entry]] = []
    done_bytes = 0

    def flush(final: bool) -> None:
        nonlocal batch
        if batch:
            # An id is the hash of the entry's bytes: an entry already held is these
            # very bytes, verified when they were stored. Re-importing a bundle (the
            # usual case on a shared USB stick) costs no signature checks.
            held = store.held_ids([e.id for _, e in batch])
            if held:
                report.held += sum(1 for _, e in batch if e.id in held)
                batch = [(o, e) for o, e in batch if e.id not in held]
            pending.append((batch, verifier.submit([e for _, e in batch])))
            batch = []
        while pending and (final or len(pending) > 1):
            items, fut = pending.popleft()
            oks = fut if isinstance(fut, list) else fut.result()
            good: list[Entry] = []
            for (offset, entry), ok in zip(items, oks, strict=True):
                if ok:
                    good.append(entry)
                else:
                    report.rejected += 1
                    report._note(Rejection(offset, entry.id, "invalid:signature",
                                           "signature does not verify for its author"))
            if good:
                res = store.add_entries(good)
                report.new += len(res.new)
                report.held += len(res.held) + (len(good) - len(res.new) - len(res.held))
                report.applied += res.applied

    def handle(ev: BundleRecord | BundleDamage) -> None:
        if isinstance(ev, BundleDamage):
            report.damaged += 1
            report._note(Rejection(ev.offset, None, "invalid:damaged",
                                   f"{ev.reason} ({ev.length} bytes skipped)"))
            return
        if ev.type != RECORD_ENTRY:
            report.skipped_records += 1
            return
        try:
            entry = decode_entry(ev.payload)
        except ValidationError as exc:
            report.rejected += 1
            report._note(Rejection(ev.offset, exc.entry_id, exc.reason, str(exc)))
            return
        batch.append((ev.offset, entry))
        if len(batch) >= batch_size:
            flush(final=False)

    try:
        while True:
            chunk = f.read(READ_CHUNK)
            if chunk:
                parser.feed(chunk)
                done_bytes += len(chunk)
            else:
                parser.feed_eof()
            while (ev := parser.next_event()) is not None:
                if isinstance(ev, BundleEnd):
                    report.complete = ev.complete
                    report.expected = ev.expected
                    break
                handle(ev)
            else:
                if progress:
                    progress(done_bytes)
                if chunk:
                    continue
            break
        flush(final=True)
    finally:
        if own_verifier:
            verifier.close()
    if progress:
        progress(done_bytes)
    return report


def export_bundle(
    store: Store,
    f: BinaryIO,
    *,
    authors: Sequence[bytes] | None = None,
    since: int | None = None,
) -> int:
    """Write held entries (filtered by author and/or ``ts >= since``) as a bundle.

    Entries that make up fork proofs of the selected authors are always included,
    whatever ``since`` says, so the proof travels with the bundle. Returns the number
    of entries written.
    """
    f.write(bundle_header())
    count = 0
    written: set[bytes] = set()
    for entry_id, raw in store.iter_raw(authors=authors, since=since):
        f.write(bundle_record(raw))
        written.add(entry_id)
        count += 1
    for raw in store.fork_entries(authors):
        e = decode_entry(raw)
        if e.id not in written:
            f.write(bundle_record(raw))
            count += 1
    f.write(bundle_trailer(count))
    return count
