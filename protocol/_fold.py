"""The fold: which held entries apply, in which order, and what state they give.

Rules (SPEC.md §5). For each author, entries apply in seq order as a contiguous
prefix from seq 1, and the entry at seq s applies only if:

1. it is the only entry held at (author, s) and no seq below s is forked: the lowest
   seq holding two different entries is the fork, and the log is frozen just below it;
2. it follows the entry at s-1 (``validate_chain``: prev hash, ts not earlier) and, if
   it is a ``checkpoint``, its size is s-1 and its root the Merkle root of the log's
   entries 1..s-1 (SPEC §14.1); if not, the log is *broken* at s and stops there;
3. ``ts <= as_of`` when an as-of time is given;
4. every entry it refs has applied (causal delivery), whoever its author is.

Nothing depends on arrival order, on the node, or on a clock: the result is a function
of the set of entries (and ``as_of``), computed to a fixed point. The same ``Folder``
serves a full fold over an in-memory set and the store's incremental updates, through
the ``EntrySource`` interface. Every applied entry of an economic kind (SPEC §12) is
also recorded on the state (``LedgerState.economic``), the input of the economy.

Incremental use: after new entries are added to the source, call
``advance(authors_touched)``. If a new fork lands at or below an author's applied length,
history already applied must be withdrawn (with everything that refs it, transitively);
``advance`` then raises ``NeedsRebuild`` and the caller folds from scratch. Forks are
misconduct and rare; a full fold for each is the simple, obviously-correct choice.

A worked example (two co-ops, B refs A's entry before it is held)::

    >>> from coopledger.crypto import SecretKey
    >>> from coopledger.protocol import create_entry, fold
    >>> a, b = SecretKey(bytes(32)), SecretKey(bytes([1]) * 32)
    >>> a1 = create_entry(a, seq=1, prev=None, ts=0, kind="genesis", body={"name": "Garden"})
    >>> b1 = create_entry(b, seq=1, prev=None, ts=0, kind="genesis", body={"name": "Repair"})
    >>> b2 = create_entry(b, seq=2, prev=b1.id, ts=5, kind="x.note", body={}, refs=[a1.id])
    >>> fold([b1, b2]).authors[b.public.raw].length   # b2 waits for a1
    1
    >>> fold([b2, a1, b1]).authors[b.public.raw].length
    2
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from coopledger import crypto

from ._entry import Entry, validate_chain
from ._errors import BrokenChain, LedgerError
from ._kinds import CHECKPOINT_KIND
from ._state import ForkProof, LedgerState


class NeedsRebuild(LedgerError):
    """A new fork withdraws applied history: fold from scratch (not an error of input)."""


def checkpoint_holds(entry: Entry, tree: crypto.Frontier) -> bool:
    """Whether the checkpoint ``entry`` tells the truth about its log, whose tree over
    the entries before it is ``tree``: size seq-1 and the root of that tree (§14.1)."""
    return (entry.body.get("size") == entry.seq - 1 == tree.size
            and entry.body.get("root") == tree.root().hex())


class EntrySource(Protocol):
    """Read access to a set of held entries (in memory, or a store)."""

    def entries_at(self, author: bytes, seq: int) -> Sequence[Entry]:
        """Every held entry of ``author`` at ``seq`` (more than one means a fork)."""
        ...

    def locate(self, entry_id: bytes) -> tuple[bytes, int] | None:
        """(author, seq) of a held entry, or None if it is not held."""
        ...

    def first_fork(self, author: bytes) -> tuple[int, bytes, bytes] | None:
        """The lowest forked seq of ``author`` and the two smallest ids held there."""
        ...

    def referrers(self, entry_ids: Iterable[bytes]) -> set[bytes]:
        """Authors holding an entry that refs one of ``entry_ids``."""
        ...


class Folder:
    """Advances a LedgerState over an EntrySource according to the rules above."""

    def __init__(self, state: LedgerState, source: EntrySource) -> None:
        self.state = state
        self.source = source

    def advance(self, authors: Iterable[bytes], *, collect: bool = True) -> list[Entry]:
        """Apply every entry that can apply, starting from ``authors`` and following
        refs to the authors they unblock. Returns the applied entries in order (an
        empty list with ``collect=False``: a full fold need not hold every entry in
        memory at once).

        Raises NeedsRebuild if a fork now lies within an author's applied prefix.
        """
        applied: list[Entry] = []
        work = set(authors)
        while work:
            author = min(work)  # deterministic order (not needed for the result)
            work.discard(author)
            new = self._advance_one(author)
            if new:
                if collect:
                    applied.extend(new)
                work |= self.source.referrers(e.id for e in new)
        return applied

    def _is_applied(self, entry_id: bytes) -> bool:
        where = self.source.locate(entry_id)
        if where is None:
            return False
        author, seq = where
        st = self.state.authors.get(author)
        return st is not None and seq <= st.length

    def _advance_one(self, author: bytes) -> list[Entry]:
        st = self.state.author(author)
        # ``broken`` describes the entry just past the applied prefix; recompute it
        # each time so that it is a function of the held set, as in a full fold.
        st.broken = None
        fork = self.source.first_fork(author)
        st.fork = None if fork is None else ForkProof(*fork)
        if fork is not None and fork[0] <= st.length:
            raise NeedsRebuild(f"fork at seq {fork[0]} below applied length {st.length}")
        limit = fork[0] - 1 if fork is not None else None
        as_of = self.state.as_of
        applied: list[Entry] = []
        prev_entry: Entry | None = None
        while limit is None or st.length < limit:
            seq = st.length + 1
            here = self.source.entries_at(author, seq)
            if len(here) != 1:
                break  # nothing held yet (or a fork, which ``limit`` already covers)
            entry = here[0]
            if as_of is not None and entry.ts > as_of:
                break
            if seq > 1:
                if prev_entry is None:
                    prev_entry = self._applied_entry(author, seq - 1)
                try:
                    validate_chain(entry, prev_entry)
                except BrokenChain as exc:
                    st.broken = (seq, exc.field or "chain")
                    break
            if entry.kind == CHECKPOINT_KIND and not checkpoint_holds(entry, st.tree):
                st.broken = (seq, "checkpoint")
                break
            if not all(self._is_applied(r) for r in entry.refs):
                break
            st.apply(entry)
            self.state.record_applied(entry)
            applied.append(entry)
            prev_entry = entry
        return applied

    def _applied_entry(self, author: bytes, seq: int) -> Entry:
        here = self.source.entries_at(author, seq)
        assert len(here) == 1, "an applied position holds exactly one entry"
        return here[0]


class MemorySource:
    """An EntrySource over entries held in memory (tests, as-of queries, bundles)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._by_pos: dict[tuple[bytes, int], dict[bytes, Entry]] = {}
        self._where: dict[bytes, tuple[bytes, int]] = {}
        self._referrers: dict[bytes, set[bytes]] = {}
        self._forked: dict[bytes, set[int]] = {}
        self.add(entries)

    def add(self, entries: Iterable[Entry]) -> set[bytes]:
        """Add entries (duplicates are ignored). Returns the authors that got new ones."""
        touched: set[bytes] = set()
        for e in entries:
            if e.id in self._where:
                continue
            self._where[e.id] = (e.author, e.seq)
            held = self._by_pos.setdefault((e.author, e.seq), {})
            held[e.id] = e
            if len(held) > 1:
                self._forked.setdefault(e.author, set()).add(e.seq)
            for r in e.refs:
                self._referrers.setdefault(r, set()).add(e.author)
            touched.add(e.author)
        return touched

    def __len__(self) -> int:
        return len(self._where)

    def authors(self) -> set[bytes]:
        return {a for a, _ in self._by_pos}

    def all_entries(self) -> list[Entry]:
        return [e for pos in self._by_pos.values() for e in pos.values()]

    def entries_at(self, author: bytes, seq: int) -> Sequence[Entry]:
        return list(self._by_pos.get((author, seq), {}).values())

    def locate(self, entry_id: bytes) -> tuple[bytes, int] | None:
        return self._where.get(entry_id)

    def first_fork(self, author: bytes) -> tuple[int, bytes, bytes] | None:
        forked = self._forked.get(author)
        if not forked:
            return None
        seq = min(forked)
        a, b = sorted(self._by_pos[(author, seq)])[:2]
        return seq, a, b

    def referrers(self, entry_ids: Iterable[bytes]) -> set[bytes]:
        out: set[bytes] = set()
        for i in entry_ids:
            out |= self._referrers.get(i, set())
        return out


def fold(entries: Iterable[Entry], *, as_of: int | None = None) -> LedgerState:
    """The state derived from ``entries`` (any order, duplicates allowed) as of ``as_of``
    (milliseconds; None means every held entry regardless of its timestamp)."""
    source = MemorySource(entries)
    state = LedgerState(as_of=as_of)
    folder = Folder(state, source)
    authors = sorted(source.authors())
    for a in authors:
        state.author(a)
    folder.advance(authors, collect=False)
    return state


def fold_source(source: EntrySource, authors: Iterable[bytes], *,
                as_of: int | None = None) -> LedgerState:
    """A full fold over any EntrySource holding entries of ``authors``."""
    state = LedgerState(as_of=as_of)
    authors = sorted(authors)
    for a in authors:
        state.author(a)
    Folder(state, source).advance(authors, collect=False)
    return state
