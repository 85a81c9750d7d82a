"""The last way this node heard from each co-op (docs/alerts.md: "not reached").

When an alert's view lists the co-ops that have not acknowledged it, the useful next
question is "when did we last hear from them, and how?": by gossip from which peer, by
a sync with which peer, in a bundle carried by hand, through an alert push, or just a
connection from their node. ``LastSeen`` keeps one ``Sighting`` per key (a co-op's
device keys each have their own; the view takes the latest of a co-op's keys).

It is node-local knowledge, not ledger state: two nodes legitimately differ. It is kept
in the home as ``last-seen.json`` (a small JSON object, rewritten atomically at most
once every PERSIST_EVERY_S while something changed), so the offline CLI shows it too.
A missing or damaged file is an empty memory, never an error: it is a convenience.

Threads: the table is the trio thread's alone (no lock: a lock shared with a worker
thread made the loop wait on the GIL). A large sync batch's authors are read in a
worker thread and noted back on the loop; the file is written from a snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from coopledger.protocol import entry_author

from ._clock import now_ms

if TYPE_CHECKING:
    from ._astore import AsyncStore
    from ._syncdriver import BatchResult

log = logging.getLogger(__name__)

LAST_SEEN_FILE = "last-seen.json"
FILE_VERSION = 1
# Keys remembered: far above any federation's co-ops and devices; a flood of new
# authors from a hostile peer cannot grow the file without bound (oldest go first).
MAX_KEYS = 20_000
PERSIST_EVERY_S = 1.0
# Sync batches larger than this are read in a worker thread (5 µs an entry).
INLINE_BATCH = 256
# Ways (the vocabulary of the view and docs/alerts.md).
WAYS = ("gossip", "sync", "bundle", "alert-push", "connection")


@dataclass(frozen=True, slots=True)
class Sighting:
    """When (ms since 1970) and how we last heard from a key; ``via`` is the peer id
    (gossip, sync, alert-push, connection) or the bundle's file name, if known."""

    ms: int
    way: str
    via: str | None

    def to_json(self) -> dict[str, Any]:
        return {"ms": self.ms, "way": self.way, "via": self.via}


def _parse(data: Any) -> dict[bytes, Sighting]:
    out: dict[bytes, Sighting] = {}
    if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
        raise ValueError("not a last-seen file of version 1")
    for key, s in data.get("seen", {}).items():
        if not (isinstance(s, dict) and isinstance(s.get("ms"), int)
                and s.get("way") in WAYS and isinstance(s.get("via"), str | None)):
            raise ValueError("a row is malformed")
        out[bytes.fromhex(key)] = Sighting(s["ms"], s["way"], s["via"])
    return out


def read_last_seen(home: Path) -> dict[bytes, Sighting]:
    """The table kept in ``home`` (empty if there is none, or it is damaged)."""
    try:
        return _parse(json.loads((home / LAST_SEEN_FILE).read_text()))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.debug("last-seen file in %s unreadable: %s", home, exc)
        return {}


def authors_of(entries: Iterable[bytes]) -> set[bytes]:
    """The authors of ``entries`` (bytes that do not decode are skipped)."""
    return {a for a in map(entry_author, entries) if a is not None}


class LastSeen:
    """The table, in memory, saved to ``home / LAST_SEEN_FILE`` (None: never saved)."""

    def __init__(self, home: Path | None) -> None:
        self.path = None if home is None else home / LAST_SEEN_FILE
        self._seen: dict[bytes, Sighting] = {}
        self._changed = False

    def read(self) -> dict[bytes, Sighting]:
        """The table kept in the home (call in a worker thread; ``merge`` the result)."""
        return {} if self.path is None else read_last_seen(self.path.parent)

    def merge(self, loaded: dict[bytes, Sighting]) -> None:
        """Add what ``read`` found; what was noted since wins."""
        self._seen = {**loaded, **self._seen}

    def get(self, key: bytes) -> Sighting | None:
        return self._seen.get(key)

    def note(self, key: bytes, way: str, via: str | None, ms: int | None = None) -> None:
        assert way in WAYS, way
        s = Sighting(now_ms() if ms is None else ms, way, via)
        self._seen.pop(key, None)  # re-insert: the dict is kept oldest first
        self._seen[key] = s
        while len(self._seen) > MAX_KEYS:
            del self._seen[next(iter(self._seen))]
        self._changed = True

    def note_entries(self, entries: Iterable[bytes], way: str, via: str | None) -> None:
        """Note the author of each of ``entries`` (bytes that do not decode are
        skipped: validation deals with them)."""
        self.note_authors(authors_of(entries), way, via)

    def note_authors(self, authors: Iterable[bytes], way: str, via: str | None) -> None:
        ms = now_ms()
        for a in authors:
            self.note(a, way, via, ms)

    def snapshot(self) -> dict[str, Any]:
        """The file's content as of now (on the trio thread; cheap)."""
        self._changed = False
        return {"version": FILE_VERSION,
                "seen": {k.hex(): s.to_json() for k, s in self._seen.items()}}

    def to_json(self) -> str:
        return json.dumps(self.snapshot(), indent=0, sort_keys=True)

    def save(self, snapshot: dict[str, Any] | None = None) -> None:
        """Write ``snapshot`` (default: now) atomically; may run in a worker thread
        when given a snapshot."""
        if self.path is None:
            return
        text = json.dumps(self.snapshot() if snapshot is None else snapshot, indent=0,
                          sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name,
                                   suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def persist_loop(self) -> None:
        """Save every PERSIST_EVERY_S if something changed; a failed write is logged
        and retried."""
        self.merge(await trio.to_thread.run_sync(self.read))
        while True:
            await trio.sleep(PERSIST_EVERY_S)
            if not self._changed:
                continue
            try:
                await trio.to_thread.run_sync(self.save, self.snapshot())
            except OSError as exc:
                self._changed = True
                log.warning("last-seen file %s not written: %s", self.path, exc)

    def sync_backend(self, store: AsyncStore) -> RecordingBackend:
        return RecordingBackend(store, self)


class RecordingBackend:
    """The sync driver's backend (``_syncdriver.SyncBackend``): the daemon's store,
    noting the authors of every received batch as seen by "sync" with its peer."""

    def __init__(self, store: AsyncStore, seen: LastSeen) -> None:
        self._store, self._seen = store, seen

    async def read_range(self, author: bytes, after_seq: int, up_to_seq: int) -> list[bytes]:
        return await self._store.read_range(author, after_seq, up_to_seq)

    async def store_batch(self, entries: Sequence[bytes], peer: str) -> BatchResult:
        if len(entries) <= INLINE_BATCH:
            self._seen.note_entries(entries, "sync", peer)
        else:
            authors = await trio.to_thread.run_sync(authors_of, entries)
            self._seen.note_authors(authors, "sync", peer)
        return await self._store.store_batch(entries, peer)
