"""Sync (pull): a sans-I/O anti-entropy session between two peers.

A ``SyncSession`` takes message bytes in (``receive``) and hands actions out
(``next_actions``); the driver (node/) carries them out and reports back
(``entries_loaded``, ``entries_stored``). No clock, no I/O, no randomness. Both sides
run the same machine; the protocol is symmetric, ``initiator`` only labels the side.

The exchange (messages in _sync_messages.py, normative text in SPEC.md §10):

    both:  Hello        network, full, digest of the peer memory
    both:  Heads+       one head per author (full, or only the changes); last=True ends
    both:  Entries n    batches of entry bytes the peer lacks, at most WINDOW un-acked
    both:  Ack n        batch n is durably stored (sent only after ``entries_stored``)
    both:  End          all I will send is sent and acked
    then:  Done         both Ends seen: the session yields the new PeerMemory

Rule 1 (heads). A head is (seq, head, held): seq is the length of the longest chain
held whose entries link by prev from seq 1, head the smallest id topping such a chain,
held the entries held at 1..seq (held > seq: a fork). Linked, not just contiguous: x1
y2 x3 (y2 a second device's, x2 missing) must not look like x1 x2 x3 (found by the
simulation, tests/sim). Entries past a gap or broken link are not announced, so they
travel only once the gap is filled (someone holding the missing entry re-sends the
range); that is accepted. Computing heads is the driver's job (node's Store.sync_heads).

Rule 2 (what I send), per author, mine = (m, h, c) against theirs = (t, th, ct)
(absent = (0, -, 0)). Nothing if the two are equal, unless c > m (a fork) and the
author is not unchanged on both sides since the baseline (rule 3) of an incremental
session (2a': equal counts can hide different fork entries). Otherwise:
  a. if I hold a fork (c > m), or m == t (same length, different head or held: the
     logs diverged): every entry I hold at 1..m, so fork proofs travel;
  b. else if m > t: every entry at t..m except their head ``th``; if ``th`` is not among
     my entries at t, the logs diverged below t, so I also send 1..t-1.
  c. else (m < t): nothing; the peer sends (its own rule 2).
Every entry held at a position is sent, so both entries of a fork reach the peer.
(a) and (b) make divergent logs spread in both directions within two sessions. With
forks, equal heads prove little: two devices of one co-op signing at seqs 2, 3 and 4
left peers holding different fork entries under the same (seq, head, held), and
without 2a' they never exchanged them (their fork proofs, so state hashes, differed for
ever: tests/sim seed 30). 2a' re-sends a forked log in full sessions, and in
incremental ones only after it changed, so a frozen log costs nothing in the steady
state. Not covered by rule 1 as written: a prefix with one entry per seq whose chain
is broken (x1 y2 x3 against x1 x2 x3, x2 lost and y2 a second device's) has the same
head as the intact one; see SPEC.md §10 "Known gap".

Rule 3 (skip unchanged authors). When a session reaches DONE, both sides compute the
same *baseline* from the two full head maps they now share: per author, the larger of
the two heads (by seq, then held, then id), which is what each side should hold now.
Each persists it as its ``PeerMemory`` for the peer (``Done.new_memory``). Hello carries
the baseline's sha256 (or ``full`` without one). Heads are incremental only if neither
side asks for ``full`` and the two digests are equal; then each side sends only the
heads that differ from the baseline (seq 0 = no longer held) and the receiver overlays
them on it. The baseline need not be true (an entry may have been refused, a store
restored from backup): the overlay gives the sender's exact current heads whatever the
baseline is, provided both use the same one, which the digest proves. In every other
case (no memory, a session that ended on one side only, another network) both send
full heads. Both sides decide from the same two Hellos, so they agree on the mode.

Rule 4 (streaming). A sender reads entries in chunks of at most MAX_BATCH seqs
(``ReadEntries``, one outstanding at a time), cuts batches of at most MAX_BATCH entries
and MAX_BATCH_BYTES, and keeps at most WINDOW batches un-acked. A receiver emits
``StoreEntries`` per batch and sends ``Ack`` only after ``entries_stored``: an ack
means "durably stored". A peer exceeding the window is a protocol error, so a stalled
reader bounds both sides' buffers. Resuming needs no message: after a reconnect the
heads say what was stored. The session does not validate entries (node/ does).

Rule 5 (scope). Hello may carry ``want``, the sorted authors whose logs the sender
replicates (absent: every author). The session's *scope* is the intersection of the two
wants (absent on one side: the other's; on both: everything). Each side announces heads
and streams entries only of authors in the scope, and refuses a head or an entry of an
author outside it (``invalid:sync-unwanted``: the peer was told). Intersection, not
"the peer's want": then both sides announce the same authors, so neither re-sends a log
each session for lack of the peer's head of it, and a node does not serve logs it no
longer replicates (their copies are stale). The baseline (rule 3) is of the scope's
authors, and ``PeerMemory`` records the scope: its digest covers it, and a memory made
under another scope never allows incremental heads, so a scope change costs one full
session and never leaves a wrong overlay.

States (``SyncState``) and ``TRANSITIONS``: IDLE -hello-> EXCHANGING_HEADS -heads->
(EXCHANGING_HEADS, or STREAMING after the last part) -entries/ack/end-> STREAMING ->
DONE once this side has sent End and received the peer's. Any (state, message type)
not in the table (including anything after DONE), and any illegal message, moves to
FAILED and raises RemoteProtocolError; every later call raises LocalProtocolError, as
does misuse of entries_loaded/entries_stored (a driver bug).

A worked example: A holds two entries of one author, B holds nothing. (The session
moves bytes only, so fake entry bytes will do.)

    >>> au, e1, e2 = b"\\xaa" * 32, b"entry-1", b"entry-2"
    >>> a = SyncSession(LocalHeads("default", {au: Head(2, b"\\x02" * 32, 2)}), None,
    ...                 initiator=True)
    >>> b = SyncSession(LocalHeads("default", {}), None, initiator=False)
    >>> def shuttle(src, dst):
    ...     for act in src.next_actions():
    ...         if isinstance(act, SendMessage):
    ...             dst.receive(act.data)
    ...         elif isinstance(act, ReadEntries):        # A's driver reads its store
    ...             src.entries_loaded(act.request_id, [e1, e2])
    ...         elif isinstance(act, StoreEntries):       # B's driver stores, then:
    ...             print("store", act.entries)
    ...             src.entries_stored(act.batch_no)
    ...         else:
    ...             print(type(act).__name__)
    >>> for _ in range(5):
    ...     shuttle(a, b); shuttle(b, a)
    store (b'entry-1', b'entry-2')
    Done
    Done
    >>> a.state, b.state, b.statistics().entries_received
    (<SyncState.DONE: 'DONE'>, <SyncState.DONE: 'DONE'>, 2)
    >>> b.next_actions()     # the memory came with Done; nothing more to do
    []
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from coopledger import crypto

from ._codec import decode, encode
from ._entry import entry_id
from ._errors import BadEncoding, LocalProtocolError, RemoteProtocolError
from ._sync_messages import (
    MAX_AUTHORS,
    MAX_BATCH,
    MAX_BATCH_BYTES,
    MAX_HEADS_PER_MESSAGE,
    MAX_NETWORK_NAME,
    MAX_WANT,
    NO_HEAD,
    WINDOW,
    Ack,
    End,
    Entries,
    Head,
    Heads,
    Hello,
    Message,
    check_head,
    decode_message,
    encode_message,
    heads_from_value,
    heads_to_value,
)

HeadMap: TypeAlias = Mapping[bytes, Head]
PEER_MEMORY_VERSION = 1


def _local_heads(heads: Iterable[tuple[bytes, Head | tuple[int, bytes, int]]]) -> dict[bytes, Head]:
    out: dict[bytes, Head] = {}
    for author, h in heads:
        try:
            head = check_head(author, h)
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"bad local head: {exc}") from exc
        if head.seq > 0:
            out[author] = head
    return out


def heads_digest(heads: HeadMap, scope: frozenset[bytes] | None = None) -> bytes:
    """SHA-256 of the canonical encoding of ``heads`` (sorted by author); with a scope,
    of ``[heads, sorted scope]``, so a memory made under another scope never matches."""
    value = heads_to_value(sorted(heads.items()))
    if scope is None:
        return crypto.sha256(encode(value))
    return crypto.sha256(encode([value, sorted(scope)]))


def session_scope(mine: frozenset[bytes] | None, theirs: frozenset[bytes] | None,
                  ) -> frozenset[bytes] | None:
    """Rule 5: the authors a session exchanges, the intersection of the two ``want``
    sets (None, i.e. every author, when neither side sent one)."""
    if mine is None:
        return theirs
    if theirs is None:
        return mine
    return mine & theirs


def entry_author(entry_bytes: bytes) -> bytes | None:
    """The author field of ``entry_bytes``, or None if it cannot be read (the entry is
    then invalid, and the driver's validation refuses it). No signature check."""
    try:
        outer = decode(entry_bytes, what="entry")
        if type(outer) is not list or len(outer) != 2 or type(outer[0]) is not bytes:
            return None
        env = decode(outer[0], what="envelope")
    except BadEncoding:
        return None
    author = env.get("author") if isinstance(env, dict) else None
    return author if type(author) is bytes and len(author) == 32 else None


def baseline(mine: HeadMap, theirs: HeadMap) -> dict[bytes, Head]:
    """Rule 3: per author the larger head, by (seq, held, head). Symmetric, so both
    sides compute the same map."""
    out = dict(mine)
    for author, h in theirs.items():
        m = out.get(author)
        if m is None or (h.seq, h.held, h.head) > (m.seq, m.held, m.head):
            out[author] = h
    return out


@dataclass(frozen=True)
class LocalHeads:
    """The local side's heads snapshot for one session, and its network name."""

    network: str
    heads: HeadMap

    def __post_init__(self) -> None:
        if not 0 < len(self.network) <= MAX_NETWORK_NAME:
            raise LocalProtocolError("network name must be 1 to 64 characters")
        object.__setattr__(self, "heads", _local_heads(self.heads.items()))


@dataclass(frozen=True)
class PeerMemory:
    """What persists per peer between sessions (docs/sync-states.md): the baseline heads both
    sides agreed on when the last session with that peer reached DONE (rule 3), and
    the session scope it was made under (rule 5; None = every author)."""

    network: str
    heads: HeadMap
    scope: frozenset[bytes] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _local_heads(self.heads.items()))
        if self.scope is not None:
            object.__setattr__(self, "scope", frozenset(self.scope))

    @property
    def digest(self) -> bytes:
        return heads_digest(self.heads, self.scope)

    def encode(self) -> bytes:
        value: dict[str, object] = {
            "v": PEER_MEMORY_VERSION, "network": self.network,
            "heads": heads_to_value(sorted(self.heads.items()))}
        if self.scope is not None:
            value["scope"] = sorted(self.scope)
        return encode(value)

    @classmethod
    def decode(cls, data: bytes) -> PeerMemory | None:
        """The memory in ``data``, or None if it is unreadable or of another version
        (then the next session simply exchanges full heads)."""
        try:
            value = decode(data, what="peer memory")
            if (not isinstance(value, dict)
                    or set(value) - {"scope"} != {"v", "network", "heads"}
                    or value["v"] != PEER_MEMORY_VERSION
                    or not isinstance(value["network"], str)):
                return None
            # Our own file, but it may be old or damaged: no size limit on heads here.
            heads = heads_from_value(value["heads"], limit=None)
            scope_value = value.get("scope")
            scope: frozenset[bytes] | None = None
            if scope_value is not None:
                if not isinstance(scope_value, list) or not all(
                        isinstance(a, bytes) and len(a) == 32 for a in scope_value):
                    return None
                scope = frozenset(scope_value)  # type: ignore[arg-type]
        except (BadEncoding, RemoteProtocolError):
            return None
        try:
            return cls(value["network"], dict(heads), scope)
        except LocalProtocolError:
            return None


# ---- actions -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SendMessage:
    """Write ``data`` (one message) to the stream, framed."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ReadEntries:
    """Read every held entry of ``author`` with after_seq < seq <= up_to_seq, in seq
    order, and answer with ``entries_loaded(request_id, entries)``."""

    request_id: int
    author: bytes
    after_seq: int
    up_to_seq: int


@dataclass(frozen=True, slots=True)
class StoreEntries:
    """Validate and store these entry bytes durably, then call ``entries_stored``.
    Invalid entries are the driver's business (disconnect and log); not stored."""

    batch_no: int
    entries: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Done:
    """The session completed; persist ``new_memory`` for this peer and close."""

    new_memory: PeerMemory


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The session failed; close the stream. ``reason`` is a reason code."""

    reason: str


Action: TypeAlias = SendMessage | ReadEntries | StoreEntries | Done | Disconnect


class SyncState(enum.Enum):
    IDLE = "IDLE"
    EXCHANGING_HEADS = "EXCHANGING_HEADS"
    STREAMING = "STREAMING"
    DONE = "DONE"
    FAILED = "FAILED"


# (state, type of the peer's message) -> next state. A "heads" with last=True and the
# final End move on further by the state-triggered rules in ``_advance``.
TRANSITIONS: dict[tuple[SyncState, type[Message]], SyncState] = {
    (SyncState.IDLE, Hello): SyncState.EXCHANGING_HEADS,
    (SyncState.EXCHANGING_HEADS, Heads): SyncState.EXCHANGING_HEADS,
    (SyncState.STREAMING, Entries): SyncState.STREAMING,
    (SyncState.STREAMING, Ack): SyncState.STREAMING,
    (SyncState.STREAMING, End): SyncState.STREAMING,
}


@dataclass(frozen=True, slots=True)
class SyncStatistics:
    state: SyncState
    incremental: bool | None       # None until both Hellos are known
    heads_sent: int
    heads_received: int
    batches_sent: int
    batches_acked: int
    batches_received: int
    entries_sent: int
    entries_received: int
    behind_by: int                 # entries the peer announced beyond ours, not yet received


@dataclass(slots=True)
class _Read:
    author: bytes
    after: int
    up_to: int
    their_head: bytes | None = None   # rule 2b: drop it, and detect divergence


@dataclass(slots=True)
class _Counters:
    heads_sent: int = 0
    heads_received: int = 0
    entries_sent: int = 0
    entries_received: int = 0
    behind_total: int = 0


class SyncSession:
    """One side of one sync session. See the module docstring for the rules."""

    def __init__(self, local: LocalHeads, memory: PeerMemory | None, *,
                 initiator: bool, want: frozenset[bytes] | None = None) -> None:
        """``want``: the authors this side replicates (None: all). At most MAX_WANT;
        more raise LocalProtocolError (the driver then sends None)."""
        if want is not None and len(want) > MAX_WANT:
            raise LocalProtocolError(f"want lists {len(want)} authors, over {MAX_WANT}")
        self.initiator = initiator
        self._local = local
        self._want = frozenset(want) if want is not None else None
        self._scope: frozenset[bytes] | None = None   # rule 5, known after both Hellos
        self._mine: dict[bytes, Head] = dict(local.heads)   # local heads in the scope
        self._memory = memory if memory is not None and memory.network == local.network \
            else None
        self._state = SyncState.IDLE
        self._out: list[Action] = []
        self._incremental: bool | None = None
        self._their_heads: dict[bytes, Head] = {}
        self._seen_authors: set[bytes] = set()
        self._plan: list[_Read] = []
        self._reading: tuple[int, _Read] | None = None
        self._next_request = 1
        self._pending: list[bytes] = []
        self._sent_batches = 0          # last batch number sent
        self._acked = 0                 # last batch number acked by the peer
        self._received = 0              # last batch number received
        self._stored = 0                # last batch number stored (and acked)
        self._end_sent = False
        self._end_received = False
        self._n = _Counters()
        mem = self._memory
        self._send(Hello(network=local.network, full=mem is None,
                         memory=mem.digest if mem else bytes(32),
                         want=tuple(sorted(self._want)) if self._want is not None
                         else None))

    # ---- public API ------------------------------------------------------------------

    @property
    def state(self) -> SyncState:
        return self._state

    @property
    def scope(self) -> frozenset[bytes] | None:
        """The authors this session exchanges (rule 5), once the peer's Hello came."""
        return self._scope

    def next_actions(self) -> list[Action]:
        """The actions to carry out now, in order (the list is handed over, not kept)."""
        out, self._out = self._out, []
        return out

    def receive(self, data: bytes) -> None:
        """Feed one message from the peer.

        Raises RemoteProtocolError if it is illegal, including anything after DONE (the
        session is then FAILED and a Disconnect action is queued), LocalProtocolError if
        the session already FAILED.
        Any other exception is a bug in this module.
        """
        if self._state is SyncState.FAILED:
            raise LocalProtocolError("receive() on a FAILED session")
        try:
            msg = decode_message(data)
            nxt = TRANSITIONS.get((self._state, type(msg)))
            if nxt is None:
                raise RemoteProtocolError(
                    f"unexpected {type(msg).__name__.lower()} in state {self._state.name}",
                    reason_code="invalid:sync-state")
            self._state = nxt
            self._handle(msg)
            self._advance()
        except RemoteProtocolError as exc:
            self._fail(exc.reason_code)
            raise

    def entries_loaded(self, request_id: int, entries: Sequence[bytes]) -> None:
        """The driver's answer to ``ReadEntries(request_id, …)``: the held entries in
        the range, in seq order. Raises LocalProtocolError for an unknown request."""
        self._check_usable("entries_loaded")
        if self._reading is None or self._reading[0] != request_id:
            self._fail("error:sync-local")
            raise LocalProtocolError(f"no outstanding ReadEntries with id {request_id}")
        read = self._reading[1]
        self._reading = None
        found = read.their_head is None
        for e in entries:
            if not found and entry_id(e) == read.their_head:
                found = True    # they hold it: do not send it back
                continue
            self._pending.append(e)
        if not found and read.after > 0:
            # Rule 2b: their head is not mine, so the logs diverged below it.
            self._plan_range(read.author, 0, read.after, front=True)
        self._advance()

    def entries_stored(self, batch_no: int) -> None:
        """The driver stored the batch of ``StoreEntries(batch_no, …)`` durably. Batches
        must be reported in order. Raises LocalProtocolError otherwise."""
        self._check_usable("entries_stored")
        if batch_no != self._stored + 1 or batch_no > self._received:
            self._fail("error:sync-local")
            raise LocalProtocolError(f"batch {batch_no} was not the next one to store")
        self._stored = batch_no
        self._send(Ack(batch_no))
        self._advance()

    def statistics(self) -> SyncStatistics:
        n = self._n
        return SyncStatistics(
            state=self._state, incremental=self._incremental,
            heads_sent=n.heads_sent, heads_received=n.heads_received,
            batches_sent=self._sent_batches, batches_acked=self._acked,
            batches_received=self._received, entries_sent=n.entries_sent,
            entries_received=n.entries_received,
            behind_by=max(0, n.behind_total - n.entries_received))

    # ---- internals -------------------------------------------------------------------

    def _check_usable(self, what: str) -> None:
        if self._state in (SyncState.DONE, SyncState.FAILED):
            raise LocalProtocolError(f"{what}() on a session in state {self._state.name}")

    def _fail(self, reason: str) -> None:
        self._state = SyncState.FAILED
        self._out.append(Disconnect(reason))

    def _send(self, msg: Message) -> None:
        self._out.append(SendMessage(encode_message(msg)))

    def _handle(self, msg: Message) -> None:
        if isinstance(msg, Hello):
            self._on_hello(msg)
        elif isinstance(msg, Heads):
            self._on_heads(msg)
        elif isinstance(msg, Entries):
            if self._end_received or msg.n != self._received + 1:
                raise RemoteProtocolError("batch out of order or after end",
                                          reason_code="invalid:sync-batch", field="n")
            if msg.n - self._stored > WINDOW:
                raise RemoteProtocolError(f"more than {WINDOW} batches un-acked",
                                          reason_code="invalid:sync-window", field="n")
            if self._scope is not None:
                for e in msg.entries:
                    author = entry_author(e)
                    if author is not None and author not in self._scope:
                        raise RemoteProtocolError(
                            "an entry of an author outside the session's scope",
                            reason_code="invalid:sync-unwanted", field="entries")
            self._received = msg.n
            self._n.entries_received += len(msg.entries)
            self._out.append(StoreEntries(msg.n, msg.entries))
        elif isinstance(msg, Ack):
            if msg.n != self._acked + 1 or msg.n > self._sent_batches:
                raise RemoteProtocolError("ack for a batch not sent or out of order",
                                          reason_code="invalid:sync-ack", field="n")
            self._acked = msg.n
        else:
            if self._end_received or self._stored < self._received:
                # The peer's End promises all its batches were acked, so stored here.
                raise RemoteProtocolError("end repeated, or sent before its batches "
                                          "were acked", reason_code="invalid:sync-end")
            self._end_received = True

    def _on_hello(self, hello: Hello) -> None:
        if hello.network != self._local.network:
            raise RemoteProtocolError("the peer is on another network",
                                      reason_code="blocked:sync-network", field="network")
        scope = session_scope(self._want,
                              frozenset(hello.want) if hello.want is not None else None)
        self._scope = scope
        if scope is not None:
            self._mine = {a: h for a, h in self._local.heads.items() if a in scope}
        mem = self._memory
        # A memory made under another scope is not a baseline of this session's authors
        # (the digest covers the scope, but the peer's may be stale: check both).
        self._incremental = (mem is not None and not hello.full
                             and hello.memory == mem.digest and mem.scope == scope)
        mine = self._mine
        if self._incremental:
            assert mem is not None
            self._their_heads = dict(mem.heads)
            changed = {a: h for a, h in mine.items() if mem.heads.get(a) != h}
            changed.update({a: NO_HEAD for a in mem.heads if a not in mine})
        else:
            changed = dict(mine)
        items = sorted(changed.items())
        for i in range(0, max(len(items), 1), MAX_HEADS_PER_MESSAGE):
            part = items[i:i + MAX_HEADS_PER_MESSAGE]
            self._send(Heads(tuple(part), last=i + MAX_HEADS_PER_MESSAGE >= len(items)))
        self._n.heads_sent = len(items)

    def _on_heads(self, msg: Heads) -> None:
        for author, head in msg.heads:
            if author in self._seen_authors:
                raise RemoteProtocolError("an author repeats across heads messages",
                                          reason_code="invalid:sync-heads", field="heads")
            self._seen_authors.add(author)
            if self._scope is not None and author not in self._scope:
                raise RemoteProtocolError("a head of an author outside the session's "
                                          "scope", reason_code="invalid:sync-unwanted",
                                          field="heads")
            if len(self._seen_authors) > MAX_AUTHORS:
                raise RemoteProtocolError(f"more than {MAX_AUTHORS} authors announced",
                                          reason_code="invalid:sync-too-large",
                                          field="heads")
            if head.seq == 0:
                self._their_heads.pop(author, None)
            else:
                self._their_heads[author] = head
        self._n.heads_received += len(msg.heads)
        if msg.last:
            self._state = SyncState.STREAMING
            self._make_plan()

    def _make_plan(self) -> None:
        """Rule 2, applied to the now complete heads of both sides."""
        theirs = self._their_heads
        behind = 0
        for author, mine in sorted(self._mine.items()):
            their = theirs.get(author, NO_HEAD)
            if mine == their and (mine.held == mine.seq or self._unchanged(author, mine)):
                continue
            m, t = mine.seq, their.seq
            if mine.held > m or m == t:
                self._plan_range(author, 0, m)                          # rule 2a
            elif m > t:
                if t == 0:
                    self._plan_range(author, 0, m)
                else:
                    self._plan_range(author, t - 1, m, their_head=their.head)  # 2b
        for author, their in theirs.items():
            mine = self._mine.get(author, NO_HEAD)
            behind += max(0, their.seq - mine.seq)
        self._n.behind_total = behind

    def _unchanged(self, author: bytes, mine: Head) -> bool:
        """Rule 2a': neither side's head of ``author`` changed since the baseline of
        the last session both completed (so that session sent any difference)."""
        return (self._incremental is True and self._memory is not None
                and self._memory.heads.get(author) == mine)

    def _plan_range(self, author: bytes, after: int, up_to: int, *,
                    their_head: bytes | None = None, front: bool = False) -> None:
        """Queue reads of (after, up_to] in chunks of at most MAX_BATCH seqs."""
        reads = []
        lo = after
        while lo < up_to:
            hi = min(lo + MAX_BATCH, up_to)
            reads.append(_Read(author, lo, hi, their_head if lo == after else None))
            lo = hi
        if front:
            self._plan[0:0] = reads
        else:
            self._plan.extend(reads)

    def _advance(self) -> None:
        """State-triggered steps: read, cut batches, send End, finish."""
        if self._state is not SyncState.STREAMING:
            return
        while True:
            more_coming = self._reading is not None or bool(self._plan)
            while (self._pending and self._sent_batches - self._acked < WINDOW
                   and (len(self._pending) >= MAX_BATCH or not more_coming
                        or self._batch_bytes_full())):
                self._send_batch()
            # Read only while less than a batch is buffered: the buffer stays under
            # MAX_BATCH entries plus one chunk, however slow the peer acks.
            if self._reading is not None or not self._plan or len(self._pending) >= MAX_BATCH:
                break
            read = self._plan.pop(0)
            self._reading = (self._next_request, read)
            self._next_request += 1
            self._out.append(ReadEntries(self._reading[0], read.author, read.after,
                                         read.up_to))
        more_coming = self._reading is not None or bool(self._plan)
        if (not self._end_sent and not more_coming and not self._pending
                and self._acked == self._sent_batches):
            self._end_sent = True
            self._send(End())
        if self._end_sent and self._end_received and self._stored == self._received:
            self._state = SyncState.DONE
            self._out.append(Done(PeerMemory(self._local.network,
                                             baseline(self._mine, self._their_heads),
                                             self._scope)))

    def _batch_bytes_full(self) -> bool:
        total = 0
        for e in self._pending:
            total += len(e)
            if total > MAX_BATCH_BYTES:
                return True
        return False

    def _send_batch(self) -> None:
        k = size = 0
        for e in self._pending[:MAX_BATCH]:
            if size + len(e) > MAX_BATCH_BYTES:
                break
            k += 1
            size += len(e)
        batch = self._pending[:k]
        del self._pending[:max(k, 1)]   # an entry over the limit cannot be valid: drop it
        if not batch:
            return
        self._sent_batches += 1
        self._n.entries_sent += len(batch)
        self._send(Entries(self._sent_batches, tuple(batch)))

