"""Test doubles for the sync machine: an in-memory entry store and a SessionPair that
shuttles messages between two SyncSessions (after h11's ConnectionPair).

Imported by bare name from tests/protocol and (through tests/sim/conftest.py) tests/sim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    Disconnect,
    Done,
    Entry,
    Head,
    LocalHeads,
    PeerMemory,
    ReadEntries,
    SendMessage,
    StoreEntries,
    SyncSession,
    create_entry,
    decode_entry,
    fold,
)

KEYS = [SecretKey(bytes([i + 1]) * 32) for i in range(8)]
T0 = 1_700_000_000_000


class Store:
    """Entries held by one peer, by (author, seq).

    Heads follow SPEC §10: ``seq`` is the longest chain held whose entries link by
    ``prev`` from seq 1, ``head`` the smallest id topping such a chain, ``held`` every
    entry at 1..seq. Then equal heads with held == seq mean equal entries (the head's
    hash chain fixes every one). ``linked_heads = False`` gives the first definition
    (contiguous seqs, links ignored), under which a node holding x1 y2 x3 (y2 a second
    device's entry, x2 lost) announces the same head as one holding x1 x2 x3 and the
    two never exchange (tests/sim seeds 310, 625); kept to show the tests catch it."""

    linked_heads = True

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.by_pos: dict[tuple[bytes, int], dict[bytes, Entry]] = {}
        self.add(entries or [])

    def add(self, entries: list[Entry]) -> int:
        new = 0
        for e in entries:
            here = self.by_pos.setdefault((e.author, e.seq), {})
            if e.id not in here:
                here[e.id] = e
                new += 1
        return new

    def ids(self) -> set[bytes]:
        return {i for here in self.by_pos.values() for i in here}

    def entries(self) -> list[Entry]:
        return [e for here in self.by_pos.values() for e in here.values()]

    def state_hash(self) -> str:
        return fold(self.entries()).state_hash()

    def heads(self, network: str = "default") -> LocalHeads:
        if self.linked_heads:
            return LocalHeads(network, self._linked_heads())
        out: dict[bytes, Head] = {}
        for author in {a for a, _ in self.by_pos}:
            seq = held = 0
            while (author, seq + 1) in self.by_pos:
                seq += 1
                held += len(self.by_pos[(author, seq)])
            if seq:
                out[author] = Head(seq, min(self.by_pos[(author, seq)]), held)
        return LocalHeads(network, out)

    def _linked_heads(self) -> dict[bytes, Head]:
        out: dict[bytes, Head] = {}
        for author in {a for a, _ in self.by_pos}:
            seq = held = 0
            tops: set[bytes] = set()
            while True:
                here = self.by_pos.get((author, seq + 1), {})
                linked = {i for i, e in here.items() if seq == 0 or e.prev in tops}
                if not linked:
                    break
                seq, tops = seq + 1, linked
                held += len(here)
            if seq:
                out[author] = Head(seq, min(tops), held)
        return out

    def read(self, author: bytes, after: int, up_to: int) -> list[bytes]:
        out: list[bytes] = []
        for seq in range(after + 1, up_to + 1):
            here = self.by_pos.get((author, seq), {})
            out.extend(here[i].raw for i in sorted(here))
        return out

    def store(self, entries: tuple[bytes, ...]) -> None:
        self.add([decode_entry(b) for b in entries])

    def append(self, key: SecretKey, n: int = 1) -> list[Entry]:
        """Append ``n`` entries to ``key``'s log on top of the longest chain held."""
        author = key.public.raw
        made = []
        for _ in range(n):
            seq = 0
            while (author, seq + 1) in self.by_pos:
                seq += 1
            if seq == 0:
                e = create_entry(key, seq=1, prev=None, ts=T0, kind="genesis",
                                 body={"name": f"co-op {author[:2].hex()}"})
            else:
                prev = self.by_pos[(author, seq)][min(self.by_pos[(author, seq)])]
                e = create_entry(key, seq=seq + 1, prev=prev.id, ts=prev.ts + 1000,
                                 kind="x.note", body={"i": seq + 1})
            self.add([e])
            made.append(e)
        return made


@dataclass
class Side:
    """Drives one SyncSession against a Store, the way node/ will."""

    store: Store
    session: SyncSession
    auto_read: bool = True
    auto_store: bool = True
    outbox: list[bytes] = field(default_factory=list)
    reads: list[ReadEntries] = field(default_factory=list)
    stores: list[StoreEntries] = field(default_factory=list)
    memory: PeerMemory | None = None
    disconnected: str | None = None
    max_outstanding_batches: int = 0
    max_outstanding_reads: int = 0

    def pump(self) -> bool:
        """Carry out every pending action. Returns True if anything happened."""
        did = False
        while True:
            actions = self.session.next_actions()
            if not actions:
                return did
            did = True
            for act in actions:
                self._do(act)
            self._observe()

    def _observe(self) -> None:
        st = self.session.statistics()
        self.max_outstanding_batches = max(self.max_outstanding_batches,
                                           st.batches_sent - st.batches_acked)
        self.max_outstanding_reads = max(self.max_outstanding_reads, len(self.reads))

    def _do(self, act: object) -> None:
        if isinstance(act, SendMessage):
            self.outbox.append(act.data)
        elif isinstance(act, ReadEntries):
            self.reads.append(act)
            if self.auto_read:
                self.answer_reads()
        elif isinstance(act, StoreEntries):
            self.stores.append(act)
            if self.auto_store:
                self.apply_stores()
        elif isinstance(act, Done):
            self.memory = act.new_memory
        elif isinstance(act, Disconnect):
            self.disconnected = act.reason
        else:  # pragma: no cover
            raise AssertionError(f"unknown action {act!r}")

    def answer_reads(self) -> None:
        while self.reads:
            r = self.reads.pop(0)
            self._observe()
            self.session.entries_loaded(r.request_id,
                                        self.store.read(r.author, r.after_seq, r.up_to_seq))

    def apply_stores(self, limit: int | None = None) -> None:
        while self.stores and limit != 0:
            s = self.stores.pop(0)
            self.store.store(s.entries)
            self.session.entries_stored(s.batch_no)
            limit = None if limit is None else limit - 1


class SessionPair:
    """Two sides of one session, connected by a reliable in-order link."""

    def __init__(self, a: Store, b: Store, mem_a: PeerMemory | None = None,
                 mem_b: PeerMemory | None = None, *, want_a: frozenset[bytes] | None = None,
                 want_b: frozenset[bytes] | None = None) -> None:
        self.a = Side(a, SyncSession(a.heads(), mem_a, initiator=True, want=want_a))
        self.b = Side(b, SyncSession(b.heads(), mem_b, initiator=False, want=want_b))
        self.messages = 0

    def step(self, deliver: Callable[[], bool] | None = None) -> bool:
        """Pump both sides and deliver one message each way. True if anything moved."""
        did = self.a.pump() | self.b.pump()
        for src, dst in ((self.a, self.b), (self.b, self.a)):
            if src.outbox:
                dst.session.receive(src.outbox.pop(0))
                self.messages += 1
                did = True
        return did

    def run(self, max_steps: int = 100_000) -> None:
        for _ in range(max_steps):
            if not self.step():
                return
        raise AssertionError("the session did not settle")


def sync(a: Store, b: Store, mem_a: PeerMemory | None = None,
         mem_b: PeerMemory | None = None, *, want_a: frozenset[bytes] | None = None,
         want_b: frozenset[bytes] | None = None) -> SessionPair:
    pair = SessionPair(a, b, mem_a, mem_b, want_a=want_a, want_b=want_b)
    pair.run()
    return pair
