"""Import and export of bundle files (sneakernet), through ``Ingest``: the validation
path every entry from outside takes (decode and shape-check, skip what is held,
verify the signature, ``Store.add_entries`` in batches of one transaction each).

A kill -9 during an import loses at most the batch in flight: what is committed is a
valid prefix of the bundle (in the bundle's order), and the store stays consistent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from coopledger.protocol import (
    RECORD_ENTRY,
    BundleDamage,
    BundleEnd,
    BundleParser,
    bundle_header,
    bundle_record,
    bundle_trailer,
    decode_entry,
)

from ._ingest import BATCH_SIZE, Ingest, IngestCounts, Rejection
from ._store import Store
from ._verify import Verifier

logger = logging.getLogger(__name__)

# Read the file in chunks of this size.
READ_CHUNK = 1 << 20


@dataclass
class ImportReport(IngestCounts):
    """What a bundle import did: the ingest counts, plus the bundle's own damage."""

    damaged: int = 0
    skipped_records: int = 0
    complete: bool = False
    expected: int | None = None

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
    done_bytes = 0
    with Ingest(store, report, verifier=verifier, batch_size=batch_size) as ingest:
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
                if isinstance(ev, BundleDamage):
                    report.damaged += 1
                    report.note(Rejection(ev.offset, None, "invalid:damaged",
                                          f"{ev.reason} ({ev.length} bytes skipped)"))
                elif ev.type != RECORD_ENTRY:
                    report.skipped_records += 1
                else:
                    ingest.add(ev.offset, ev.payload)
            else:
                if progress:
                    progress(done_bytes)
                if chunk:
                    continue
            break
        ingest.flush()
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
