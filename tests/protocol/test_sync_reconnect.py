"""What a reconnect between two in-sync peers costs (the issue 3 benchmark target: at
most 3 round trips and 16 KB). Messages move in *flights*: each side sends all it can,
then everything in flight is delivered at once; both sides send at the same time, so
one flight is half a round trip."""

from __future__ import annotations

from dataclasses import dataclass

from synckit import SessionPair, Store, sync

from coopledger.crypto import SecretKey
from coopledger.protocol import PeerMemory, SyncState

AUTHORS = [SecretKey(i.to_bytes(2, "big") * 16) for i in range(100)]


@dataclass
class Cost:
    flights: int
    bytes_a: int     # sent by a
    bytes_b: int
    heads: int
    entries: int


def run_in_flights(a: Store, b: Store, mem_a: PeerMemory | None,
                   mem_b: PeerMemory | None) -> tuple[SessionPair, Cost]:
    pair = SessionPair(a, b, mem_a, mem_b)
    flights = sent_a = sent_b = 0
    while True:
        pair.a.pump()
        pair.b.pump()
        out_a, out_b = pair.a.outbox[:], pair.b.outbox[:]
        pair.a.outbox.clear()
        pair.b.outbox.clear()
        if not out_a and not out_b:
            break
        flights += 1
        sent_a += sum(map(len, out_a))
        sent_b += sum(map(len, out_b))
        for m in out_a:
            pair.b.session.receive(m)
        for m in out_b:
            pair.a.session.receive(m)
    assert pair.a.session.state is SyncState.DONE and pair.b.session.state is SyncState.DONE
    sa, sb = pair.a.session.statistics(), pair.b.session.statistics()
    return pair, Cost(flights, sent_a, sent_b, sa.heads_sent + sb.heads_sent,
                      sa.entries_sent + sb.entries_sent)


def in_sync_peers(per_author: int = 5) -> tuple[Store, Store]:
    a = Store()
    for k in AUTHORS:
        a.append(k, per_author)
    return a, Store(a.entries())


def test_reconnect_of_in_sync_peers_with_memory() -> None:
    a, b = in_sync_peers()
    first = sync(a, b)   # no memory yet: full heads both ways, nothing to send
    _, cost = run_in_flights(a, b, first.a.memory, first.b.memory)
    # hello, empty heads, end: 3 flights (1.5 round trips), 104 bytes each way
    assert (cost.flights, cost.heads, cost.entries) == (3, 0, 0)
    assert cost.bytes_a + cost.bytes_b <= 300


def test_reconnect_of_in_sync_peers_without_memory() -> None:
    # A restart that lost the peer memory (or a first meeting of peers that happen to
    # hold the same 500 entries): full heads, 100 each way, still nothing sent.
    a, b = in_sync_peers()
    _, cost = run_in_flights(a, b, None, None)
    assert (cost.flights, cost.heads, cost.entries) == (3, 200, 0)
    assert cost.bytes_a == cost.bytes_b
    assert cost.bytes_a + cost.bytes_b <= 16 * 1024   # 7,206 bytes each way


def test_second_session_sends_no_heads_and_no_entries() -> None:
    a, b = in_sync_peers(per_author=3)
    for k in AUTHORS[:30]:
        a.append(k, 2)          # a is ahead on 30 authors
    b.append(AUTHORS[50], 4)    # b on one
    first, cost1 = run_in_flights(a, b, None, None)
    assert cost1.entries == 64 and a.ids() == b.ids()
    assert first.a.memory is not None and first.a.memory == first.b.memory
    mem_a = PeerMemory.decode(first.a.memory.encode())
    mem_b = PeerMemory.decode(first.b.memory.encode())
    _, cost2 = run_in_flights(a, b, mem_a, mem_b)
    assert (cost2.heads, cost2.entries, cost2.flights) == (0, 0, 3)
