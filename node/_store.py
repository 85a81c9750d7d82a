"""The SQLite store: one file per home, WAL mode.

Tables (schema version 3; their definitions, the upgrade of an older store and the
writing of the derived tables are in node/_schema.py):

* ``entries``   every accepted entry: its bytes plus indexed columns. Only entries that
                passed shape and signature checks are ever inserted ("the store never
                holds an invalid entry"); whether they *apply* is the fold's business.
* ``refs``      (ref, author of the referring entry), to wake waiting authors.
* ``forks``     (author, seq) positions holding two or more entries.
* ``derived``   one row per author: the canonical encoding of its AuthorState without
                its totals, with its Merkle tree's right edge (``stored_value()``).
* ``derived_totals``  one row per (author, kind, key): a total, as a decimal string.
                Both ``derived`` tables are a cache of the fold, updated in the same
                transaction as the entries that change them (only the rows that
                changed), and rebuilt from ``entries`` by ``rebuild()``.
* ``meta``      schema version and a write generation counter.

The in-memory state also holds the applied entries of the economic kinds whole
(``LedgerState.economic``, SPEC §12): at load they are read back from ``entries``
(those within each author's applied length), not re-folded.

Every write is one transaction, so a crash (kill -9) at any instant leaves the store as
it was after the last committed batch: entries and derived rows always agree.

Several processes may open one store (the daemon and an offline command): SQLite
serialises writers, and each Store reloads its in-memory copy of the derived state when
the generation counter shows another process wrote.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    CHECKPOINT_KIND,
    COSIGN_KIND,
    AuthorState,
    DecimalFormatError,
    Entry,
    Folder,
    Head,
    LedgerState,
    NeedsRebuild,
    Quantity,
    ValidationError,
    Value,
    carried_entries,
    checkpoint_body,
    create_entry,
    decode,
    decode_entry,
    fold_source,
)

from ._errors import AppendError, StoreError
from ._schema import (
    IN_CHUNK,
    SCHEMA_VERSION,
    StoreSource,
    create_schema,
    load_economic,
    migrate,
    refold,
    schema_version,
    write_derived,
)

logger = logging.getLogger(__name__)
# Wait this long for another process's write transaction before giving up.
BUSY_TIMEOUT_S = 30.0

@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``add_entries`` did: ids newly stored, ids already held, and how many
    entries the fold applied as a consequence (of these or earlier-held entries)."""

    new: list[bytes]
    held: list[bytes]
    applied: int
    rebuilt: bool
    # New entries not stored because their author is refused (``refused_authors``).
    refused: int = 0


class Store:
    """A node's entries and derived state in one SQLite file.

    Methods are synchronous and may block on disk; the daemon calls them from a worker
    thread. Raises StoreError when the file is not a usable store.
    """

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self.path = path
        self._state = LedgerState()
        self._generation = -1
        # True while the derived table could not be read and state() is a fresh fold.
        self.derived_damaged = False
        # Authors whose new entries this store refuses (node/_blocks.py: the operator
        # blocked them); ``on_refused`` hears of each refused entry (any thread).
        self.refused_authors: frozenset[bytes] = frozenset()
        self.on_refused: Callable[[list[Entry]], None] | None = None
        self._load_state()

    # -- opening ------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> Store:
        """Open the store at ``path`` (``":memory:"`` for a throwaway one).

        With ``create=False`` a missing file is a StoreError, not a new empty store.
        """
        path = str(path)
        if path != ":memory:" and not create and not Path(path).exists():
            raise StoreError(f"no store at {path}")
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a process crash never loses a committed transaction;
            # a power cut may lose the last ones but never corrupts the file.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            version = schema_version(db)
            if version is None:
                db.execute("BEGIN IMMEDIATE")
                # Look again under the write lock: another process may have created
                # (and written to) the store since we looked.
                version = schema_version(db)
                if version is None and db.execute(
                        "SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{path} is an SQLite database of another program, "
                                     "not a coopledger store")
                if version is None:
                    create_schema(db)
                    version = SCHEMA_VERSION
                db.execute("COMMIT")
            if version in (1, 2):
                migrate(db, version)
                version = SCHEMA_VERSION
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"store schema version {version} is not supported "
                    f"(this version of coopledger reads {SCHEMA_VERSION})"
                )
            return cls(db, path)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- derived state ------------------------------------------------------------

    def _current_generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0])

    def _load_state(self) -> None:
        # Generation first: a write committed between the two reads then makes the
        # next state() reload, instead of pairing old rows with the new generation.
        generation = self._current_generation()
        state = LedgerState()
        damaged = False
        try:
            for author, blob in self._db.execute("SELECT author, state FROM derived"):
                value = decode(blob, what="derived state")
                if not isinstance(value, dict):
                    raise TypeError("derived state is not a map")
                state.authors[author] = AuthorState.from_value(value)
            for author, kind, key_blob, amount in self._db.execute(
                "SELECT author, kind, key, amount FROM derived_totals"
            ):
                key = decode(key_blob, what="derived total key")
                if not isinstance(key, list):
                    raise TypeError("derived total key is not a list")
                state.authors[author].load_total(
                    kind, tuple(cast("list[str | bool]", key)), Quantity._parse_total(amount))
            load_economic(self._db, state)
        except (ValidationError, DecimalFormatError, KeyError, TypeError, ValueError,
                AttributeError) as exc:
            # The cache is damaged (or was written by an incompatible version). The
            # entries are the truth: fold them in memory so the store still opens,
            # and let `coop verify` report it and `coop rebuild` rewrite the table.
            logger.warning("the derived state table is damaged (%s); using a fresh fold "
                           "of the entries until `coop rebuild`", type(exc).__name__)
            state = fold_source(StoreSource(self._db, {}), self._authors_locked())
            damaged = True
        self._state = state
        self.derived_damaged = damaged
        self._generation = generation

    def _refresh(self) -> None:
        if self._current_generation() != self._generation:
            self._load_state()

    def state(self) -> LedgerState:
        """The derived state of every held entry (no as-of limit), from the cache."""
        self._refresh()
        return self._state

    def state_as_of(self, as_of: int | None) -> LedgerState:
        """A full fold of the held entries as of ``as_of`` (ms), computed in memory."""
        src = StoreSource(self._db, {})
        return fold_source(src, self.authors(), as_of=as_of)

    def _write_derived(self, authors: Iterable[bytes]) -> None:
        write_derived(self._db, self._state, authors)

    def _bump_generation(self) -> None:
        self._db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")
        self._generation += 1

    # -- writing ------------------------------------------------------------------

    def add_entries(self, entries: Sequence[Entry]) -> AddResult:
        """Store entries that have passed shape and signature checks, in one
        transaction, and advance the derived state. Idempotent: entries already held
        are reported as such and change nothing.

        The caller guarantees the entries were verified (``open_entry`` or
        ``decode_entry`` + ``signature_ok``); the store does not re-check signatures.
        """
        with self._write_transaction():
            return self._add_locked(entries)

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """One write transaction: commits if the block completes, else rolls back and
        reloads the in-memory state (which may hold half a batch) from what is committed."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"store is busy or read-only: {exc}") from exc
        try:
            self._refresh()
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._load_state()
            raise

    def _add_locked(self, entries: Sequence[Entry]) -> AddResult:
        db = self._db
        cache: dict[bytes, Entry] = {}
        for e in entries:
            cache.setdefault(e.id, e)
            # A witness's cosign carries the checkpoint it saw (SPEC §14.3): held too,
            # so that a checkpoint of another history of that log shows as a fork here.
            for c in carried_entries(e):
                cache.setdefault(c.id, c)
        ids = list(cache)
        held = self.held_ids(ids)
        new = [cache[i] for i in ids if i not in held]
        refused = 0
        if self.refused_authors:
            new, refused = self._without_refused(new)
        if not new:
            return AddResult([], list(held), 0, False, refused)
        # Which positions will hold two or more entries? Look up the positions held
        # before this batch with one range query per author, not one per entry.
        by_pos: dict[tuple[bytes, int], list[Entry]] = {}
        for e in new:
            by_pos.setdefault((e.author, e.seq), []).append(e)
        seqs_by_author: dict[bytes, list[int]] = {}
        for author, seq in by_pos:
            seqs_by_author.setdefault(author, []).append(seq)
        before: set[tuple[bytes, int]] = set()
        for author, seqs in seqs_by_author.items():
            before.update(
                (author, r[0]) for r in db.execute(
                    "SELECT seq FROM entries WHERE author = ? AND seq BETWEEN ? AND ?",
                    (author, min(seqs), max(seqs)),
                ) if (author, r[0]) in by_pos
            )
        forked = sorted(pos for pos, here in by_pos.items() if len(here) > 1 or pos in before)
        solo = {pos: here[0] for pos, here in by_pos.items()
                if len(here) == 1 and pos not in before}
        db.executemany(
            "INSERT INTO entries (id, author, seq, ts, kind, raw) VALUES (?, ?, ?, ?, ?, ?)",
            [(e.id, e.author, e.seq, e.ts, e.kind, e.raw) for e in new],
        )
        refs = [(r, e.author) for e in new for r in e.refs]
        if refs:
            db.executemany("INSERT OR IGNORE INTO refs (ref, author) VALUES (?, ?)", refs)
        if forked:
            db.executemany("INSERT OR IGNORE INTO forks (author, seq) VALUES (?, ?)", forked)
            for author, seq in forked:
                logger.warning("fork: author %s has two entries at seq %d",
                               author[:4].hex(), seq)
        touched = sorted({e.author for e in new})
        source = StoreSource(db, cache, solo)
        rebuilt = False
        try:
            applied = Folder(self._state, source).advance(touched)
            changed = set(touched) | {e.author for e in applied}
        except NeedsRebuild:
            logger.info("a fork withdraws applied entries: rebuilding derived state")
            self._state = refold(db, source)
            applied, changed, rebuilt = [], set(), True
        self._write_derived(sorted(changed))
        self._bump_generation()
        return AddResult([e.id for e in new], list(held), len(applied), rebuilt, refused)

    def _without_refused(self, new: list[Entry]) -> tuple[list[Entry], int]:
        refused = [e for e in new if e.author in self.refused_authors]
        if refused and self.on_refused is not None:
            self.on_refused(refused)
        return [e for e in new if e.author not in self.refused_authors], len(refused)

    def append(self, key: SecretKey, *, kind: str, body: dict[str, Value], ts: int,
               refs: Iterable[bytes] = ()) -> Entry:
        """Sign and store the next entry of ``key``'s own log, atomically.

        The head is read and the new entry written in one write transaction, so two
        processes appending at once can never fork our own log. ``ts`` is raised to
        the previous entry's timestamp if the clock went backwards. Raises AppendError
        if our own log is forked or broken, ValidationError for a bad body.
        """
        author = key.public.raw
        with self._write_transaction():
            rows = self._db.execute(
                "SELECT seq, id, ts FROM entries WHERE author = ? ORDER BY seq DESC LIMIT 2",
                (author,),
            ).fetchall()
            if rows and len(rows) == 2 and rows[0][0] == rows[1][0]:
                raise AppendError(f"our own log is forked at seq {rows[0][0]}; "
                                  "it cannot grow (see `coop verify`)")
            if rows:
                seq, prev, prev_ts = rows[0][0] + 1, rows[0][1], rows[0][2]
                st = self._state.authors.get(author)
                if st is None or st.length != rows[0][0]:
                    applied = 0 if st is None else st.length
                    raise AppendError(
                        f"our own log holds seq {rows[0][0]} but only {applied} entries "
                        "apply; fix the gap or broken link first (see `coop verify`)"
                    )
            else:
                if kind != "genesis":
                    raise AppendError("this log has no genesis entry yet")
                seq, prev, prev_ts = 1, None, 0
            if kind == CHECKPOINT_KIND:
                if seq == 1:
                    raise AppendError("a checkpoint needs a log: this one has no entry yet")
                # The tree of the log before it, read under the same lock (SPEC §14.1).
                body = checkpoint_body(self._state.authors[author].tree)
            elif kind == COSIGN_KIND:
                body, refs = self._cosign_body(body, refs)
            refs = list(refs)
            for ref in refs:
                # A ref to an entry that does not apply here would hold back our own
                # entry, and with it every later entry of our own log.
                where = self._db.execute(
                    "SELECT author, seq FROM entries WHERE id = ?", (ref,)).fetchone()
                st_ref = None if where is None else self._state.authors.get(where[0])
                if where is None or st_ref is None or where[1] > st_ref.length:
                    state = "is not held here" if where is None else "does not apply here yet"
                    raise AppendError(f"cannot ref entry {ref[:4].hex()}…: it {state}")
            entry = create_entry(key, seq=seq, prev=prev, ts=max(ts, prev_ts), kind=kind,
                                 body=body, refs=refs)
            self._add_locked([entry])
        return entry

    def _cosign_body(self, body: dict[str, Value], refs: Iterable[bytes]
                     ) -> tuple[dict[str, Value], list[bytes]]:
        """A witness names the checkpoint; the store embeds it whole (SPEC §14.3). The
        checkpoint must apply here, so what is cosigned is what this node holds."""
        text = body.get("checkpoint")
        if not isinstance(text, str) or len(text) != 64:
            raise AppendError("a cosign names its checkpoint: 64 hex characters")
        try:
            cp_id = bytes.fromhex(text)
        except ValueError as exc:
            raise AppendError("a cosign names its checkpoint: 64 hex characters") from exc
        cp = self.get(cp_id)
        if cp is None or cp.kind != CHECKPOINT_KIND:
            raise AppendError(f"entry {text[:8]}… is not a checkpoint held here")
        return {"checkpoint": text, "entry": cp.raw}, sorted({*refs, cp_id})

    def rebuild(self) -> LedgerState:
        """Drop the derived cache and fold every held entry again (``coop rebuild``)."""
        with self._write_transaction():
            self._state = refold(self._db)
            self._bump_generation()
        self.derived_damaged = False
        return self._state

    # -- reading ------------------------------------------------------------------

    def _authors_locked(self) -> list[bytes]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT author FROM entries")]

    def authors(self) -> list[bytes]:
        """Every author with at least one held entry, sorted."""
        return sorted(self._authors_locked())

    def sync_heads(self) -> dict[bytes, Head]:
        """Per author, the head the sync protocol announces (SPEC §10, protocol/_sync.py
        Rule 1): ``seq`` the longest chain held whose entries link by prev from seq 1,
        ``head`` the smallest id topping such a chain, ``held`` how many entries are
        held at 1..seq (more than seq: the chain holds a fork).

        The applied prefix 1..L of the fold is such a chain, one entry per seq, so only
        entries past it are decoded to follow their links (usually none: they are
        entries waiting for a ref, or behind a gap, fork or broken link). One row is read
        per (author, seq)."""
        self._refresh()
        state = self._state
        out: dict[bytes, Head] = {}
        rows: dict[bytes, list[tuple[int, int, bytes]]] = {}
        for a, s, n, smallest in self._db.execute(
            "SELECT author, seq, count(*), min(id) FROM entries "
            "GROUP BY author, seq ORDER BY author, seq"
        ):
            rows.setdefault(a, []).append((s, n, smallest))
        for author, per_seq in rows.items():
            st = state.authors.get(author)
            applied = st.length if st is not None else 0
            seq = held = 0
            head = b""
            for s, n, smallest in per_seq:
                if s != seq + 1 or s > applied:
                    break
                seq, held, head = s, held + n, smallest
            if len(per_seq) > seq and per_seq[seq][0] == seq + 1:
                seq, head, held = self._extend_linked(author, seq, head, held)
            if seq:
                out[author] = Head(seq, head, held)
        return out

    def _extend_linked(self, author: bytes, seq: int, head: bytes,
                       held: int) -> tuple[int, bytes, int]:
        """Follow prev links past seq (whose only linked entry is ``head``)."""
        tops = {head} if seq else set()
        by_seq: dict[int, list[tuple[bytes, bytes | None]]] = {}
        for s, eid, raw in self._db.execute(
                "SELECT seq, id, raw FROM entries WHERE author = ? AND seq > ? "
                "ORDER BY seq", (author, seq)):
            by_seq.setdefault(s, []).append((eid, decode_entry(raw).prev))
        while seq + 1 in by_seq:
            here = by_seq[seq + 1]
            linked = {eid for eid, prev in here if seq == 0 or prev in tops}
            if not linked:
                break
            seq, tops, held = seq + 1, linked, held + len(here)
        return seq, (min(tops) if seq else b""), held

    def read_range(self, author: bytes, after_seq: int, up_to_seq: int) -> list[bytes]:
        """Entry bytes of ``author`` with after_seq < seq <= up_to_seq, by seq then id
        (every entry at a forked position included)."""
        return [r[0] for r in self._db.execute(
            "SELECT raw FROM entries WHERE author = ? AND seq > ? AND seq <= ? "
            "ORDER BY seq, id", (author, after_seq, up_to_seq))]

    def log_ids(self, author: bytes, up_to_seq: int) -> list[bytes]:
        """Ids of ``author``'s entries at seqs 1..up_to_seq, in seq order: the leaves of
        its Merkle tree (SPEC §14.1). Only for an applied prefix (one entry per seq)."""
        ids = [r[0] for r in self._db.execute(
            "SELECT id FROM entries WHERE author = ? AND seq <= ? ORDER BY seq",
            (author, up_to_seq))]
        if len(ids) != up_to_seq:
            raise StoreError(f"log {author[:4].hex()}… holds {len(ids)} entries at seqs "
                             f"1..{up_to_seq}: not one per seq")
        return ids

    def held_counts(self) -> dict[bytes, int]:
        """How many entries the store holds per author (applied or not)."""
        return {a: n for a, n in self._db.execute(
            "SELECT author, count(*) FROM entries GROUP BY author")}

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def get(self, entry_id: bytes) -> Entry | None:
        row = self._db.execute("SELECT raw FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else decode_entry(row[0])

    def ids_with_prefix(self, prefix: bytes, limit: int = 2) -> list[bytes]:
        """Up to ``limit`` held ids starting with ``prefix`` (a range scan of the index)."""
        low = prefix + bytes(32 - len(prefix))
        rows = self._db.execute("SELECT id FROM entries WHERE id >= ? ORDER BY id LIMIT ?",
                                (low, limit)).fetchall()
        return [r[0] for r in rows if r[0].startswith(prefix)]

    def held_ids(self, entry_ids: Sequence[bytes]) -> set[bytes]:
        """Those of ``entry_ids`` that the store holds."""
        held: set[bytes] = set()
        for start in range(0, len(entry_ids), IN_CHUNK):
            chunk = entry_ids[start : start + IN_CHUNK]
            held.update(r[0] for r in self._db.execute(
                f"SELECT id FROM entries WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return held

    def has(self, entry_id: bytes) -> bool:
        return self._db.execute(
            "SELECT 1 FROM entries WHERE id = ?", (entry_id,)).fetchone() is not None

    def iter_raw(self, *, authors: Sequence[bytes] | None = None, kind: str | None = None,
                 since: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """(id, entry bytes) of held entries, by author then seq then id."""
        where: list[str] = []
        args: list[object] = []
        if authors is not None:
            where.append(f"author IN ({','.join('?' * len(authors))})")
            args.extend(authors)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        sql = "SELECT id, raw FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY author, seq, id"
        # A separate cursor, so callers may write elsewhere while iterating.
        yield from self._db.execute(sql, args)

    def entries(self, **kw: object) -> Iterator[Entry]:
        for _, raw in self.iter_raw(**kw):  # type: ignore[arg-type]
            yield decode_entry(raw)

    def fork_entries(self, authors: Sequence[bytes] | None = None) -> list[bytes]:
        """Entry bytes of every entry at a forked position (the fork proofs)."""
        sql = ("SELECT e.raw FROM forks f JOIN entries e ON e.author = f.author "
               "AND e.seq = f.seq")
        rows = self._db.execute(sql).fetchall()
        if authors is None:
            return [r[0] for r in rows]
        wanted = set(authors)
        return [r[0] for r in rows if decode_entry(r[0]).author in wanted]

    def own_head(self, author: bytes) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT seq, id FROM entries WHERE author = ? ORDER BY seq DESC LIMIT 1", (author,)
        ).fetchone()
        return None if row is None else (row[0], row[1])


def _map_sqlite_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Store method so that SQLite's errors leave node/ as StoreError (no sqlite3
    type reaches cli/, which reports NodeError): a damaged page, a lock held past the busy
    timeout, a file replaced under us."""
    def mapped(exc: sqlite3.DatabaseError) -> StoreError:
        return StoreError(f"the store could not be read or written: {exc}")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except sqlite3.DatabaseError as exc:
                raise mapped(exc) from exc
        return gen

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise mapped(exc) from exc
    return call


for _name, _fn in list(vars(Store).items()):
    if not _name.startswith("_") and inspect.isfunction(_fn):
        setattr(Store, _name, _map_sqlite_errors(_fn))
