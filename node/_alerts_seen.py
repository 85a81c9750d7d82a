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

Thread-safety: ``note`` may be called from the trio thread and from worker threads
(a large sync batch is read off the loop); one lock guards the table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from coopledger.protocol._sync import entry_author

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


class LastSeen:
    """The table, in memory, saved to ``home / LAST_SEEN_FILE`` (None: never saved)."""

    def __init__(self, home: Path | None) -> None:
        self.path = None if home is None else home / LAST_SEEN_FILE
        self._lock = threading.Lock()
        self._seen: dict[bytes, Sighting] = {}
        self._changed = False

    def load(self) -> None:
        if self.path is not None:
            loaded = read_last_seen(self.path.parent)
            with self._lock:
                self._seen = {**loaded, **self._seen}

    def get(self, key: bytes) -> Sighting | None:
        with self._lock:
            return self._seen.get(key)

    def note(self, key: bytes, way: str, via: str | None, ms: int | None = None) -> None:
        assert way in WAYS, way
        s = Sighting(now_ms() if ms is None else ms, way, via)
        with self._lock:
            self._seen.pop(key, None)  # re-insert: the dict is kept oldest first
            self._seen[key] = s
            while len(self._seen) > MAX_KEYS:
                del self._seen[next(iter(self._seen))]
            self._changed = True

    def note_entries(self, entries: Iterable[bytes], way: str, via: str | None) -> None:
        """Note the author of each of ``entries`` (bytes that do not decode are
        skipped: validation deals with them)."""
        authors = {a for a in map(entry_author, entries) if a is not None}
        ms = now_ms()
        for a in authors:
            self.note(a, way, via, ms)

    def to_json(self) -> str:
        with self._lock:
            rows = {k.hex(): s.to_json() for k, s in self._seen.items()}
            self._changed = False
        return json.dumps({"version": FILE_VERSION, "seen": rows}, indent=0,
                          sort_keys=True)

    def save(self) -> None:
        if self.path is None:
            return
        text = self.to_json()
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
        """Save every PERSIST_EVERY_S if something changed (a flag, not an event:
        ``note`` runs in worker threads too); a failed write is logged and retried."""
        while True:
            await trio.sleep(PERSIST_EVERY_S)
            if not self._changed:
                continue
            try:
                await trio.to_thread.run_sync(self.save)
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
            await trio.to_thread.run_sync(self._seen.note_entries, entries, "sync", peer)
        return await self._store.store_batch(entries, peer)
