"""The libp2p layer (node/_p2p.py) over real sockets on 127.0.0.1, several hosts in one
trio process. Every test waits on conditions (events, or a short poll of a status
method), never on a fixed sleep, and runs under ``trio.fail_after``.

Three tests pin library internals that node/_p2p.py and node/_p2plib.py rely on
(libp2p is pinned at 0.8.1): the negative dial cache (restart test), the pubsub queue
sizes (test_pubsub_queues_raised) and dialing without a peer id (bootstrap by name).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from coopledger.crypto import SecretKey
from coopledger.node import _p2plib
from coopledger.node._logging import restore_libp2p_logging, short_peer
from coopledger.node._p2p import P2P, Stream
from coopledger.node.testing import wait_until

pytestmark = pytest.mark.integration

LOOPBACK = "/ip4/127.0.0.1/tcp/0"


async def wait_for(cond: Callable[[], object]) -> None:
    """Return once ``cond()`` is true (the caller's fail_after also bounds the wait)."""
    await wait_until("a condition on the hosts", cond)


class Node:
    """One P2P instance with recording callbacks, runnable and stoppable on its own."""

    def __init__(self, tmp_path: Path, name: str, *, key: SecretKey | None = None,
                 listen: str = LOOPBACK, bootstrap: tuple[str, ...] = (),
                 allow: tuple[str, ...] = (), reject: bytes | None = None,
                 peers_file: Path | None = None, mdns: bool = False) -> None:
        self.name = name
        self.key = key or SecretKey.generate()
        self.got: list[tuple[bytes, str]] = []
        self.connected: list[str] = []
        self.rejected: list[bytes] = []
        self.sync_seen: list[bytes] = []
        self.changed = trio.Event()
        self.reject = reject
        self.peers_file = peers_file or tmp_path / f"{name}-peers.json"
        self.p2p = P2P(
            self.key, listen=[listen], bootstrap=list(bootstrap), mdns=mdns, allow=allow,
            topic="test-net", peers_file=self.peers_file,
            validate_gossip=self._validate, on_gossip=self._on_gossip,
            on_connected=self._on_connected, on_sync_stream=self._on_sync_stream)
        self._scope = trio.CancelScope()
        self.stopped = trio.Event()

    def _validate(self, data: bytes) -> bool:
        if self.reject is not None and data.startswith(self.reject):
            self.rejected.append(data)
            self._poke()
            return False
        return True

    async def _on_gossip(self, data: bytes, peer: str) -> None:
        self.got.append((data, peer))
        self._poke()

    def _on_connected(self, peer: str) -> None:
        self.connected.append(peer)
        self._poke()

    async def _on_sync_stream(self, stream: Stream, peer: str) -> None:
        # echo each chunk reversed until EOF, then close
        while data := await stream.receive_some(1024):
            if data == b"RESET":
                await stream.reset()
                return
            self.sync_seen.append(data)
            await stream.send_all(data[::-1])

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    @property
    def id(self) -> str:
        return self.p2p.peer_id

    def addr(self) -> str:
        return self.p2p.listen_addrs()[0]

    def port(self) -> int:
        return int(self.addr().split("/")[4])

    async def start(self, nursery: trio.Nursery) -> Node:
        await nursery.start(self._run)
        return self

    async def _run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            with self._scope:
                await self.p2p.run(task_status=task_status)
        finally:
            self.stopped.set()

    async def stop(self) -> float:
        """Cancel and wait until run() returned; the seconds that took."""
        t0 = time.monotonic()
        self._scope.cancel()
        await self.stopped.wait()
        return time.monotonic() - t0


async def connected(a: Node, b: Node) -> None:
    await wait_for(lambda: b.id in a.p2p.connected_peers() and a.id in b.p2p.connected_peers())


async def meshed(a: Node, b: Node) -> None:
    """Both have the other in their GossipSub mesh (heartbeat 1 s)."""
    await wait_for(lambda: b.id in a.p2p.gossip_peers() and a.id in b.p2p.gossip_peers())


# -- identity and logging -----------------------------------------------------------


async def test_peer_id_is_the_coop_key_and_stable(tmp_path: Path) -> None:
    key = SecretKey.generate()
    first = Node(tmp_path, "a", key=key)
    again = Node(tmp_path, "b", key=SecretKey(key.raw))
    other = Node(tmp_path, "c")
    assert first.id == again.id != other.id
    assert first.id.startswith("12D3KooW")  # an Ed25519 ("identity"-hashed) peer id
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await first.start(nursery)
            assert first.addr().endswith("/p2p/" + first.id)
            assert first.port() != 0
            await first.stop()
            await again.start(nursery)
            assert again.addr().endswith("/p2p/" + first.id)
            await again.stop()


def test_libp2p_logger_reattached(caplog: pytest.LogCaptureFixture) -> None:
    lg = logging.getLogger("libp2p")
    # importing node/_p2p.py already restored it
    assert lg.propagate and not lg.handlers
    # and restoring undoes what libp2p's setup_logging() does
    stray = logging.StreamHandler()
    lg.addHandler(stray)
    lg.propagate = False
    logging.getLogger("libp2p.network.auto_connector").setLevel(logging.DEBUG)
    restore_libp2p_logging(logging.INFO)
    try:
        assert lg.propagate and lg.handlers == [] and lg.level == logging.INFO
        assert logging.getLogger("libp2p.network.auto_connector").level == logging.NOTSET
        with caplog.at_level(logging.INFO):
            logging.getLogger("libp2p.some.module").info("hello from libp2p")
            logging.getLogger("libp2p.some.module").debug("too chatty")
        assert [r.getMessage() for r in caplog.records
                if r.name.startswith("libp2p")] == ["hello from libp2p"]
    finally:
        restore_libp2p_logging()
    assert short_peer("12D3KooWabcdefghXYZ12345") == "XYZ12345"


def test_pubsub_queues_raised() -> None:
    """The two silently-dropping pubsub queues are module constants in 0.8.1."""
    from libp2p.pubsub import pubsub as lib_pubsub

    _p2plib._tune_libp2p()
    assert lib_pubsub.SUBSCRIPTION_CHANNEL_SIZE == _p2plib.SUBSCRIPTION_QUEUE_SIZE
    queue = lib_pubsub.RpcQueue()
    assert queue._queue.max_size == _p2plib.PEER_OUTBOUND_QUEUE_SIZE


# -- connecting, gossip, streams ------------------------------------------------------


async def test_bootstrap_gossip_and_sync_stream(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a").start(nursery)
            b = await Node(tmp_path, "b", bootstrap=(a.addr(),)).start(nursery)
            await connected(a, b)
            assert a.connected == [b.id] and b.connected == [a.id]
            assert [p["peer_id"] for p in a.p2p.known_peers()] == [b.id]
            assert a.p2p.known_peers()[0]["connected"] is True
            await meshed(a, b)

            # gossip both ways; the publisher never gets its own message back
            await a.p2p.publish(b"from-a")
            await b.p2p.publish(b"from-b")
            await wait_for(lambda: a.got and b.got)
            assert a.got == [(b"from-b", b.id)] and b.got == [(b"from-a", a.id)]
            # the same bytes again are the same message (id = hash of data): dropped
            await a.p2p.publish(b"from-a")
            await a.p2p.publish(b"from-a-2")
            await wait_for(lambda: len(b.got) == 2)
            assert [d for d, _ in b.got] == [b"from-a", b"from-a-2"]

            # a sync stream: bytes there and back, EOF, close
            s = await b.p2p.open_sync_stream(a.id)
            await s.send_all(b"hello")
            assert await s.receive_some(100) == b"olleh"
            await s.send_all(b"x" * 5000)
            back = b""
            while len(back) < 5000:
                back += await s.receive_some(100_000)
            assert back == b"x" * 5000
            await s.send_eof()
            assert await s.receive_some(100) == b""  # the handler returned: its EOF
            await s.aclose()
            with pytest.raises(trio.ClosedResourceError):
                await s.receive_some(1)
            assert b"".join(a.sync_seen) == b"hello" + b"x" * 5000
            # a stream the other side resets is broken, in trio's terms
            s = await b.p2p.open_sync_stream(a.id)
            await s.send_all(b"RESET")
            with pytest.raises(trio.BrokenResourceError):
                await s.receive_some(100)
            await s.aclose()

            for node in (a, b):
                assert await node.stop() < 2.0


async def test_invalid_gossip_is_not_forwarded(tmp_path: Path) -> None:
    """A - B - C in a chain; B's validator refuses b"bad...": C never sees it."""
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            b = await Node(tmp_path, "b", reject=b"bad").start(nursery)
            a = await Node(tmp_path, "a", bootstrap=(b.addr(),)).start(nursery)
            c = await Node(tmp_path, "c", bootstrap=(b.addr(),)).start(nursery)
            await meshed(a, b)
            await meshed(c, b)
            assert c.id not in a.p2p.connected_peers()

            await a.p2p.publish(b"bad-1")
            await wait_for(lambda: b.rejected)
            await a.p2p.publish(b"good-1")
            await wait_for(lambda: c.got)
            assert c.got == [(b"good-1", a.id)]  # forwarded by B, origin A
            assert b.got == [(b"good-1", a.id)]
            assert b.rejected == [b"bad-1"]
            nursery.cancel_scope.cancel()


async def test_plaintext_dialer_refused(tmp_path: Path) -> None:
    from libp2p import new_host
    from libp2p.abc import IHost
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.custom_types import TProtocol
    from libp2p.network.exceptions import SwarmException
    from libp2p.peer.peerinfo import info_from_p2p_addr
    from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
    from libp2p.security.noise.transport import PROTOCOL_ID as NOISE
    from libp2p.security.noise.transport import Transport as Noise
    from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX
    from libp2p.stream_muxer.yamux.yamux import Yamux
    from multiaddr import Multiaddr

    def dialer(secure: str) -> IHost:
        kp = create_new_key_pair()
        sec = (InsecureTransport(kp) if secure == "plaintext"
               else Noise(kp, noise_privkey=_p2plib.new_x25519_key_pair().private_key))
        proto = PLAINTEXT_PROTOCOL_ID if secure == "plaintext" else NOISE
        return new_host(key_pair=kp, sec_opt={TProtocol(proto): sec},
                        muxer_opt={TProtocol(YAMUX): Yamux})

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a").start(nursery)
            target = info_from_p2p_addr(Multiaddr(a.addr()))
            plain = dialer("plaintext")
            async with plain.run([Multiaddr(LOOPBACK)]):
                with pytest.raises(SwarmException):
                    await plain.connect(target)
                await plain.close()  # (leaving run() leaves its listener open)
            assert a.p2p.connected_peers() == []
            # the same dialer with Noise gets in: the refusal was about plaintext
            noisy = dialer("noise")
            async with noisy.run([Multiaddr(LOOPBACK)]):
                await noisy.connect(target)
                await wait_for(lambda: a.p2p.connected_peers())
                await noisy.close()
            nursery.cancel_scope.cancel()


async def test_allowlist_refuses_outsider_both_ways(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="coopledger")
    member_key = SecretKey.generate()
    member_id = Node(tmp_path, "m0", key=member_key).id

    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.name == "coopledger.node._p2p" and "refused" in r.getMessage()]

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            outsider = await Node(tmp_path, "o").start(nursery)
            # a dials the outsider (by address: its id is learned in the handshake)
            a = await Node(tmp_path, "a", allow=(member_id,),
                           bootstrap=(f"/ip4/127.0.0.1/tcp/{outsider.port()}",)).start(nursery)
            await wait_for(refusals)
            assert refusals()[0] == f"peer {short_peer(outsider.id)} refused: not-allowed"
            # another outsider dials a
            intruder = await Node(tmp_path, "i", bootstrap=(a.addr(),)).start(nursery)
            await wait_for(
                lambda: f"peer {short_peer(intruder.id)} refused: not-allowed" in refusals())
            assert a.p2p.connected_peers() == []
            assert a.p2p.known_peers() == []
            assert a.connected == [] and intruder.connected == [] and outsider.connected == []

            # a member gets in
            member = await Node(tmp_path, "m", key=member_key,
                                bootstrap=(a.addr(),)).start(nursery)
            await connected(a, member)
            assert a.p2p.connected_peers() == [member.id]
            nursery.cancel_scope.cancel()


async def test_disconnect_bans_the_peer(tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="coopledger")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a").start(nursery)
            b = await Node(tmp_path, "b", bootstrap=(a.addr(),)).start(nursery)
            await connected(a, b)
            await a.p2p.disconnect(b.id, "bad-entry")
            messages = lambda: [r.getMessage() for r in caplog.records  # noqa: E731
                                if r.name == "coopledger.node._p2p"]
            assert f"peer {short_peer(b.id)} disconnected: bad-entry" in messages()
            # b's reconnect manager redials a at once; a refuses it while banned
            await wait_for(lambda: f"peer {short_peer(b.id)} refused: banned" in messages())
            assert a.p2p.connected_peers() == []
            nursery.cancel_scope.cancel()


# -- reconnecting and the peers file ------------------------------------------------------


async def test_restarted_peer_is_reconnected(tmp_path: Path) -> None:
    """B restarts on the same port with the same key and a fresh peers file (so it
    does not dial A itself): A's reconnect manager must find it again, although the
    swarm marked B as 'all addresses failed' while it was down."""
    key = SecretKey.generate()
    with trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            b = await Node(tmp_path, "b", key=key).start(nursery)
            port = b.port()
            a = await Node(tmp_path, "a", bootstrap=(b.addr(),)).start(nursery)
            await connected(a, b)
            await b.stop()
            await wait_for(lambda: a.p2p.connected_peers() == [])
            # at least one failed redial, and the library's negative cache holds B
            negative_cache = a.p2p._swarm()._negative_peer_cache
            await wait_for(lambda: negative_cache.is_blocked(b.id))
            # Left alone, the swarm refuses to dial B until then (60 s on; each failed
            # dial pushes it later).
            blocked_until = negative_cache._cache[b.id]

            b2 = Node(tmp_path, "b2", key=SecretKey(key.raw),
                      listen=f"/ip4/127.0.0.1/tcp/{port}")
            assert b2.p2p._known == {}
            t0 = time.monotonic()
            await b2.start(nursery)
            await connected(a, b2)
            took = time.monotonic() - t0
            print(f"reconnected after restart in {took:.2f} s")
            # A redialled while the swarm's cache still barred B: the reconnect manager
            # evicted the entry. (Not a bound in seconds, which a loaded machine breaks.)
            assert time.monotonic() < blocked_until
            assert b2.connected == [a.id]
            nursery.cancel_scope.cancel()


async def test_peers_file_written_and_reloaded(tmp_path: Path) -> None:
    key = SecretKey.generate()
    peers_file = tmp_path / "home" / "peers.json"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            b = await Node(tmp_path, "b").start(nursery)
            a = await Node(tmp_path, "a", key=key, bootstrap=(b.addr(),),
                           peers_file=peers_file).start(nursery)
            await connected(a, b)
            await a.stop()
            saved = json.loads(peers_file.read_text())
            assert [p["peer_id"] for p in saved["peers"]] == [b.id]
            assert f"/ip4/127.0.0.1/tcp/{b.port()}" in saved["peers"][0]["addrs"]
            assert isinstance(saved["peers"][0]["last_seen_ms"], int)
            assert list(tmp_path.joinpath("home").iterdir()) == [peers_file]  # no temp left

            # restarted without a bootstrap list: it redials what it knew
            a2 = await Node(tmp_path, "a2", key=SecretKey(key.raw),
                            peers_file=peers_file).start(nursery)
            await connected(a2, b)
            nursery.cancel_scope.cancel()


async def test_damaged_peers_file_is_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "peers.json"
    bad.write_text("{not json")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a", peers_file=bad).start(nursery)
            assert a.p2p.known_peers() == []
            await a.stop()
    assert json.loads(bad.read_text()) == {"version": 1, "peers": []}


async def test_bootstrap_by_name_without_peer_id(tmp_path: Path) -> None:
    """docker-compose style: /dns4/<service>/tcp/<port>, no /p2p/<id>. The id is
    learned from the Noise handshake."""
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a").start(nursery)
            b = await Node(tmp_path, "b",
                           bootstrap=(f"/dns4/localhost/tcp/{a.port()}",)).start(nursery)
            await connected(a, b)
            # (recorded once the dial returns, which may be just after "connected")
            await wait_for(lambda: b.p2p._addr_only == {f"/dns4/localhost/tcp/{a.port()}": a.id})
            known = {p["peer_id"]: p for p in b.p2p.known_peers()}
            assert f"/dns4/localhost/tcp/{a.port()}" in known[a.id]["addrs"]
            await meshed(a, b)
            await a.p2p.publish(b"hi")
            await wait_for(lambda: b.got)
            nursery.cancel_scope.cancel()


async def test_mdns_finds_a_peer_on_the_lan(tmp_path: Path) -> None:
    """No bootstrap at all. (Each allows only the other: other nodes announcing on
    this machine's multicast while the test runs must not matter.)"""
    ka, kb = SecretKey.generate(), SecretKey.generate()
    ida, idb = Node(tmp_path, "x", key=ka).id, Node(tmp_path, "y", key=kb).id
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a", key=ka, mdns=True, allow=(idb,)).start(nursery)
            b = await Node(tmp_path, "b", key=kb, mdns=True, allow=(ida,)).start(nursery)
            await connected(a, b)
            for node in (a, b):
                assert await node.stop() < 2.0


# -- membership: topics and the gate at run time ---------------------------------------


def mesh_on(a: Node, b: Node, topic: str) -> Callable[[], bool]:
    def check() -> bool:
        gs = a.p2p._gossipsub
        return gs is not None and b.id in {str(p) for p in gs.mesh.get(topic, set())}
    return check


async def test_topics_change_at_run_time(tmp_path: Path) -> None:
    """a gossips on the network topic and a federation's; b only on the federation's,
    c only on the network's. One publish reaches both; the new topic has the entry
    validator; leaving a topic stops its messages."""
    with trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a").start(nursery)
            b = await Node(tmp_path, "b", reject=b"bad", bootstrap=(a.addr(),)).start(nursery)
            c = await Node(tmp_path, "c", bootstrap=(a.addr(),)).start(nursery)
            a.p2p.set_topics({"test-net", "fed/x"})
            b.p2p.set_topics({"fed/x"})
            await wait_for(lambda: b.p2p.topics() == ["fed/x"])
            await wait_for(lambda: a.p2p.topics() == ["fed/x", "test-net"])
            await wait_for(mesh_on(a, b, "fed/x"))
            await wait_for(mesh_on(b, a, "fed/x"))
            await wait_for(mesh_on(a, c, "test-net"))
            assert b.id in a.p2p.gossip_peers() and c.id in a.p2p.gossip_peers()

            await a.p2p.publish(b"both")
            await wait_for(lambda: b.got and c.got)
            assert b.got == [(b"both", a.id)] and c.got == [(b"both", a.id)]
            await a.p2p.publish(b"bad-on-fed")
            await wait_for(lambda: b.rejected)     # the federation topic is validated
            assert b.rejected == [b"bad-on-fed"]

            # b leaves the federation topic for the network's: its validator goes, a's
            # next publish reaches it there, and federation traffic no longer does.
            d = await Node(tmp_path, "d", bootstrap=(a.addr(),)).start(nursery)
            d.p2p.set_topics({"fed/x"})
            b.p2p.set_topics({"test-net"})
            await wait_for(lambda: b.p2p.topics() == ["test-net"])
            assert b.p2p._pubsub is not None
            assert "fed/x" not in b.p2p._pubsub.topic_validators
            await wait_for(mesh_on(a, b, "test-net"))
            await wait_for(mesh_on(d, a, "fed/x"))
            await d.p2p.publish(b"fed-only")
            await wait_for(lambda: any(m == b"fed-only" for m, _ in a.got))
            await a.p2p.publish(b"after")
            await wait_for(lambda: any(m == b"after" for m, _ in b.got))
            # a forwarded "fed-only" to its fed/x mesh before publishing "after"; the
            # queue to b is in order, so b would have it by now had it stayed.
            assert [m for m, _ in b.got] == [b"both", b"after"]
            assert all(m != b"fed-only" for m, _ in c.got)
            nursery.cancel_scope.cancel()


async def test_member_gate_follows_set_members(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="coopledger")
    member_key, listed_key = SecretKey.generate(), SecretKey.generate()
    member_id = _p2plib.peer_id_of(member_key.public.raw)
    listed_id = Node(tmp_path, "l0", key=listed_key).id
    assert member_id == Node(tmp_path, "m0", key=member_key).id

    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.name == "coopledger.node._p2p" and "refused" in r.getMessage()]

    with trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            a = await Node(tmp_path, "a", allow=(listed_id,)).start(nursery)
            a.p2p.set_members({member_id})
            intruder = await Node(tmp_path, "i", bootstrap=(a.addr(),)).start(nursery)
            await wait_for(
                lambda: f"peer {short_peer(intruder.id)} refused: not-allowed" in refusals())
            member = await Node(tmp_path, "m", key=member_key,
                                bootstrap=(a.addr(),)).start(nursery)
            listed = await Node(tmp_path, "l", key=listed_key,
                                bootstrap=(a.addr(),)).start(nursery)
            await connected(a, member)
            await connected(a, listed)      # the static list and membership combine
            assert intruder.id not in a.p2p.connected_peers()

            # the member leaves: disconnected (not banned), and refused when it redials
            a.p2p.set_members(set())
            await wait_for(lambda: member.id not in a.p2p.connected_peers())
            assert f"peer {short_peer(member.id)} refused: not-a-member" in refusals()
            assert listed.id in a.p2p.connected_peers()
            # membership gating off: only the static list gates again
            a.p2p.set_members(None)
            assert a.p2p._allowed(listed.id) and not a.p2p._allowed(member.id)
            nursery.cancel_scope.cancel()
