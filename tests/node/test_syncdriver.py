"""The sync driver (node/_syncdriver.py) over trio memory streams, with real SQLite
stores and the real ingest path: convergence, resume after a cut, and bad peers
(forged entries, oversized frames, garbage, a peer that never answers)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import synckit

from coopledger.node import Store, Verifier
from coopledger.node._astore import AsyncStore
from coopledger.node._syncdriver import SessionDriver, SyncOutcome, frame
from coopledger.protocol import LocalHeads, PeerMemory


def _store(entries=()) -> AsyncStore:
    s = Store.open(":memory:")
    if entries:
        s.add_entries(list(entries))
    return AsyncStore(s, Verifier(workers=1))


async def _heads(s: AsyncStore) -> LocalHeads:
    return LocalHeads("default", await s.sync_heads())


async def _sync(a: AsyncStore, b: AsyncStore, mem_a: PeerMemory | None = None,
                mem_b: PeerMemory | None = None, *, a_stream=None, b_stream=None
                ) -> tuple[SyncOutcome, SyncOutcome]:
    if a_stream is None:
        a_stream, b_stream = trio.testing.memory_stream_pair()
    da = SessionDriver(a_stream, a, peer="B", local=await _heads(a), memory=mem_a,
                       initiator=True)
    db = SessionDriver(b_stream, b, peer="A", local=await _heads(b), memory=mem_b,
                       initiator=False)
    out: dict[str, SyncOutcome] = {}

    async def go(name: str, d: SessionDriver) -> None:
        out[name] = await d.run()

    with trio.fail_after(30):
        async with trio.open_nursery() as n:
            n.start_soon(go, "a", da)
            n.start_soon(go, "b", db)
    return out["a"], out["b"]


def _ids(s: AsyncStore) -> set[bytes]:
    return {i for i, _ in s.store.iter_raw()}


async def test_two_stores_converge_and_the_second_session_sends_nothing() -> None:
    src = synckit.Store()
    a_log = src.append(synckit.KEYS[0], 700)   # several batches and a full window
    b_log = src.append(synckit.KEYS[1], 30)
    a, b = _store(a_log), _store(b_log)
    oa, ob = await _sync(a, b)
    assert oa.ok and ob.ok, (oa, ob)
    assert (oa.new_entries, ob.new_entries) == (30, 700)
    assert _ids(a) == _ids(b) and len(_ids(a)) == 730
    assert a.store.state().state_hash() == b.store.state().state_hash()
    assert oa.memory == ob.memory and oa.memory is not None
    again_a, again_b = await _sync(a, b, oa.memory, ob.memory)
    assert again_a.ok and again_b.ok
    for o in (again_a, again_b):
        assert o.statistics is not None
        assert (o.statistics.heads_sent, o.statistics.entries_sent) == (0, 0)


async def test_forks_travel_both_ways() -> None:
    key = synckit.KEYS[2]
    base = synckit.Store()
    log = base.append(key, 5)
    other = synckit.create_entry(key, seq=5, prev=log[3].id, ts=log[3].ts + 7,
                                 kind="x.note", body={"i": 99})
    a, b = _store(log), _store([*log[:4], other])
    oa, ob = await _sync(a, b)
    assert oa.ok and ob.ok
    assert _ids(a) == _ids(b) == {e.id for e in log} | {other.id}
    assert a.store.fork_entries() and a.store.state().state_hash() == \
        b.store.state().state_hash()


class _CutAfter(trio.abc.Stream):
    """A stream that breaks after ``limit`` bytes have been received through it."""

    def __init__(self, inner: trio.abc.Stream, limit: int) -> None:
        self.inner, self.left = inner, limit

    async def send_all(self, data) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes=None):
        if self.left <= 0:
            await self.inner.aclose()
            raise trio.BrokenResourceError("cut")
        data = await self.inner.receive_some(min(max_bytes or 65536, self.left))
        self.left -= len(data)
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_cut_session_resumes_where_it_stopped() -> None:
    log = synckit.Store().append(synckit.KEYS[3], 1200)
    a, b = _store(log), _store()
    s1, s2 = trio.testing.memory_stream_pair()
    # B's side breaks after about 150 KB: some batches stored, the rest not.
    oa, ob = await _sync(a, b, a_stream=s1, b_stream=_CutAfter(s2, 150_000))
    assert not ob.ok and ob.reason == "closed:sync-stream"
    assert not ob.peer_at_fault and ob.memory is None
    got = len(_ids(b))
    assert 0 < got < 1200
    oa, ob = await _sync(a, b)
    assert oa.ok and ob.ok
    # Only what was missing travelled the second time.
    assert ob.new_entries == 1200 - got
    assert oa.statistics is not None and oa.statistics.entries_sent <= 1200 - got + 256


async def test_forged_entries_end_the_session_and_are_not_stored() -> None:
    log = synckit.Store().append(synckit.KEYS[4], 10)
    forged = bytearray(log[6].raw)
    forged[-1] ^= 1

    class Liar(AsyncStore):
        async def read_range(self, author, after, up_to):
            raws = await super().read_range(author, after, up_to)
            return [bytes(forged) if r == log[6].raw else r for r in raws]

    liar = Liar(Store.open(":memory:"), Verifier(workers=1))
    liar.store.add_entries(log)
    honest = _store()
    _, ob = await _sync(liar, honest)
    assert ob.reason == "invalid:signature" and ob.peer_at_fault
    assert log[6].id not in _ids(honest)
    assert honest.store.count() <= 9


async def _against_raw_peer(payload: bytes, *, read_reply: bool = True) -> SyncOutcome:
    """Our driver against a 'peer' that writes ``payload`` and then waits."""
    ours, theirs = trio.testing.memory_stream_pair()
    d = SessionDriver(ours, _store(), peer="X", local=LocalHeads("default", {}),
                      memory=None, initiator=False, idle_timeout=5)
    with trio.fail_after(30):
        async with trio.open_nursery() as n:
            if read_reply:
                n.start_soon(_drain, theirs)
            await theirs.send_all(payload)
            out = await d.run()
            n.cancel_scope.cancel()
    return out


async def _drain(stream: trio.abc.Stream) -> None:
    while await stream.receive_some(65536):
        pass


async def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    out = await _against_raw_peer(struct.pack(">I", 50_000_000))
    assert out.reason == "invalid:sync-too-large" and out.peer_at_fault


async def test_garbage_is_refused_with_a_reason_code() -> None:
    out = await _against_raw_peer(frame(b"\xc1\xc1 not msgpack"))
    assert out.reason is not None and out.reason.startswith("invalid:sync-")
    assert out.peer_at_fault


async def test_a_silent_peer_times_out(autojump_clock: trio.abc.Clock) -> None:
    out = await _against_raw_peer(b"")
    assert out.reason == "timeout:sync-idle" and not out.peer_at_fault


async def test_a_peer_that_stops_reading_only_stalls_its_own_session(
        autojump_clock: trio.abc.Clock) -> None:
    # The peer sends a valid hello and heads claiming nothing, then never reads: our
    # writer's sends block once the stream's buffer is full; the watchdog ends it.
    log = synckit.Store().append(synckit.KEYS[5], 2000)
    a = _store(log)
    ours, theirs = trio.testing.lockstep_stream_pair()
    d = SessionDriver(ours, a, peer="X", local=await _heads(a), memory=None,
                      initiator=True, idle_timeout=10)
    peer_heads = synckit.Store().heads()
    peer = synckit.SyncSession(peer_heads, None, initiator=False)
    hello = [frame(act.data) for act in peer.next_actions()]
    with trio.fail_after(60):
        async with trio.open_nursery() as n:
            async def speak() -> None:
                for f in hello:
                    await theirs.send_all(f)
            n.start_soon(speak)
            out = await d.run()
    assert out.reason in ("timeout:sync-idle", "closed:sync-stream")
    assert not out.peer_at_fault


async def test_in_sync_peers_reconnect_in_three_rounds_and_few_bytes() -> None:
    src = synckit.Store()
    log = [e for k in synckit.KEYS for e in src.append(k, 20)]
    a, b = _store(log), _store(log)
    oa, ob = await _sync(a, b)
    assert oa.ok and ob.ok and oa.new_entries == ob.new_entries == 0
    again_a, again_b = await _sync(a, b, oa.memory, ob.memory)
    for o in (again_a, again_b):
        assert o.ok and o.rounds == 3, o
        assert o.bytes_sent < 200 and o.bytes_received < 200, o


async def test_batches_waiting_to_be_stored_are_stored_together() -> None:
    # A slow store: while one batch is written the peer's next ones arrive; they are
    # validated and written as one, and still each acked (the window keeps moving).
    calls: list[int] = []

    class Slow(AsyncStore):
        async def store_batch(self, entries, peer):
            calls.append(len(entries))
            await trio.sleep(0.05)
            return await super().store_batch(entries, peer)

    log = synckit.Store().append(synckit.KEYS[6], 2000)
    a = _store(log)
    b = Slow(Store.open(":memory:"), Verifier(workers=1))
    oa, ob = await _sync(a, b)
    assert oa.ok and ob.ok and ob.new_entries == 2000
    assert sum(calls) == 2000 and max(calls) > 256 and len(calls) < 2000 / 256
