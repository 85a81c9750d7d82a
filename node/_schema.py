"""The store's SQLite schema (node/_store.py opens it): the tables, the version in
``meta``, the upgrade of an older store, and how the derived tables are written from a
fold and rebuilt by folding every held entry again.

Schema version 3; version 1 kept each author's totals inside its ``derived`` row,
version 2 kept them row by row, version 3 adds each log's Merkle tree edge to its
``derived`` row. An older store is upgraded when it is opened (``migrate``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence

from coopledger.protocol import (
    COMMONS_KINDS,
    Entry,
    LedgerState,
    decode_entry,
    encode,
    fold_source,
)

# The upgrade's log line keeps the logger name it always had: the daemon's log lines
# name their logger (cli/_node.py, DAEMON_LOG_FORMAT).
logger = logging.getLogger("coopledger.node._store")

SCHEMA_VERSION = 3

# Ids per "IN (…)" query: well under SQLite's default limit of 32,766 parameters.
IN_CHUNK = 500

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    rowid    INTEGER PRIMARY KEY,
    id       BLOB NOT NULL UNIQUE,
    author   BLOB NOT NULL,
    seq      INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    raw      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_author_seq ON entries (author, seq);
CREATE TABLE IF NOT EXISTS refs (
    ref      BLOB NOT NULL,
    author   BLOB NOT NULL,
    PRIMARY KEY (ref, author)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forks (
    author   BLOB NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (author, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS derived (
    author   BLOB PRIMARY KEY,
    state    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS derived_totals (
    author   BLOB NOT NULL,
    kind     TEXT NOT NULL,
    key      BLOB NOT NULL,
    amount   TEXT NOT NULL,
    PRIMARY KEY (author, kind, key)
) WITHOUT ROWID;
"""


def schema_version(db: sqlite3.Connection) -> int | None:
    """The version ``meta`` records; None if there is no ``meta`` table or no version
    in it (an empty database, or one of another program)."""
    row = db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if row is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return None if row is None else int(row[0])


def _create_tables(db: sqlite3.Connection) -> None:
    for stmt in TABLES.strip().split(";"):
        if stmt.strip():
            db.execute(stmt)


def create_schema(db: sqlite3.Connection) -> None:
    """Create the tables of an empty store at SCHEMA_VERSION, inside the caller's write
    transaction."""
    _create_tables(db)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
               (SCHEMA_VERSION,))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', 0)")


def migrate(db: sqlite3.Connection, old: int) -> None:
    """Upgrade a store of version ``old`` (1 or 2) to SCHEMA_VERSION: fold the entries
    once and write the derived tables anew, in one transaction (a crash leaves the old
    store as it was)."""
    logger.info("upgrading the store from schema version %d to %d (one full fold)",
                old, SCHEMA_VERSION)
    db.execute("BEGIN IMMEDIATE")
    try:
        if schema_version(db) == old:
            _create_tables(db)
            refold(db)
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                       (SCHEMA_VERSION,))
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


# -- the derived tables -------------------------------------------------------------


def write_derived(db: sqlite3.Connection, state: LedgerState,
                   authors: Iterable[bytes]) -> None:
    """Save the header of each of ``authors`` and the totals that changed."""
    headers: list[tuple[bytes, bytes]] = []
    totals: list[tuple[bytes, str, bytes, str]] = []
    for a in authors:
        st = state.authors[a]
        headers.append((a, encode(st.stored_value())))
        totals.extend((a, kind, encode(list(key)), str(amount))
                      for kind, key, amount in st.take_dirty())
    db.executemany("INSERT OR REPLACE INTO derived (author, state) VALUES (?, ?)", headers)
    db.executemany("INSERT OR REPLACE INTO derived_totals (author, kind, key, amount) "
                   "VALUES (?, ?, ?, ?)", totals)


def refold(db: sqlite3.Connection, source: StoreSource | None = None) -> LedgerState:
    """Fold every held entry from scratch and replace the derived tables with the
    result, inside the caller's write transaction."""
    authors = [r[0] for r in db.execute("SELECT DISTINCT author FROM entries")]
    state = fold_source(source or StoreSource(db, {}), authors)
    db.execute("DELETE FROM derived")
    db.execute("DELETE FROM derived_totals")
    write_derived(db, state, sorted(state.authors))
    return state


def load_economic(db: sqlite3.Connection, state: LedgerState) -> None:
    """Restore ``state.economic`` (SPEC §12) from the entries: the applied entries of
    the economic kinds, i.e. those at a seq within their author's applied length
    (which holds one entry per seq). They are read, not re-folded."""
    kinds = sorted(COMMONS_KINDS)
    for author, seq, raw in db.execute(
        f"SELECT author, seq, raw FROM entries WHERE kind IN ({','.join('?' * len(kinds))})",
        kinds,
    ):
        st = state.authors.get(author)
        if st is not None and seq <= st.length:
            state.record_economic(decode_entry(raw))


class StoreSource:
    """The fold's EntrySource over the store, with decoded entries cached."""

    def __init__(self, db: sqlite3.Connection, cache: dict[bytes, Entry],
                 solo: dict[tuple[bytes, int], Entry] | None = None) -> None:
        self._db = db
        self._cache = cache
        # Positions known to hold exactly one entry (new in this batch, and no other
        # entry held there): answered from memory, without a query.
        self._solo = solo or {}

    def _entry(self, entry_id: bytes, raw: bytes) -> Entry:
        e = self._cache.get(entry_id)
        if e is None:
            e = decode_entry(raw)
        return e

    def entries_at(self, author: bytes, seq: int) -> Sequence[Entry]:
        only = self._solo.get((author, seq))
        if only is not None:
            return [only]
        rows = self._db.execute(
            "SELECT id, raw FROM entries WHERE author = ? AND seq = ?", (author, seq)
        ).fetchall()
        return [self._entry(i, r) for i, r in rows]

    def locate(self, entry_id: bytes) -> tuple[bytes, int] | None:
        e = self._cache.get(entry_id)
        if e is not None:
            return e.author, e.seq
        row = self._db.execute(
            "SELECT author, seq FROM entries WHERE id = ?", (entry_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def first_fork(self, author: bytes) -> tuple[int, bytes, bytes] | None:
        row = self._db.execute(
            "SELECT min(seq) FROM forks WHERE author = ?", (author,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        seq = row[0]
        ids = [
            r[0]
            for r in self._db.execute(
                "SELECT id FROM entries WHERE author = ? AND seq = ? ORDER BY id LIMIT 2",
                (author, seq),
            )
        ]
        return seq, ids[0], ids[1]

    def referrers(self, entry_ids: Iterable[bytes]) -> set[bytes]:
        out: set[bytes] = set()
        ids = list(entry_ids)
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            out.update(r[0] for r in self._db.execute(
                f"SELECT DISTINCT author FROM refs WHERE ref IN ({','.join('?' * len(chunk))})",
                chunk))
        return out
