"""The libp2p layer of the daemon: one host, its gossip topics, one sync protocol.

``P2P`` owns a py-libp2p host (TCP, Noise only, Yamux only) whose identity is the
co-op's Ed25519 key, a GossipSub router tuned as measured (docs/libp2p.md: the library
defaults drop ledger traffic silently), discovery (bootstrap list, mDNS, the known-peer
store on disk) and a reconnect task. The sync driver and the daemon see only this
class and ``Stream``, a trio-style adapter around a libp2p stream, so they can be
tested over trio memory streams.

Gossip topics and the connection gate follow membership at run time:
``set_topics`` subscribes and unsubscribes (each topic with the entry validator) and
``set_members`` replaces the peers admitted besides the static ``allow`` list (a peer
no longer admitted is disconnected, not banned); ``set_blocked`` replaces the peers
the operator blocked (disconnected at once, refused and never dialled, and gossip they
originated dropped).

Its parts: the stream adapter (node/_p2pstream.py), the peers file
(node/_peersfile.py), the reconnect plan, pure logic the reconnect task carries out
(node/_reconnect.py), and what is needed of libp2p beyond its public calls
(node/_p2plib.py). libp2p is pinned (pyproject.toml) because those reach into library
internals, each pinned by a test in tests/node/test_p2p.py; this module reaches into
one, the swarm's negative dial cache (``Swarm._negative_peer_cache``): after a peer
restarts the swarm refuses to dial it for 60 s, so the reconnect task evicts the
entry before each attempt.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream
from libp2p.custom_types import TProtocol
from libp2p.discovery.events.peerDiscovery import peerDiscovery
from libp2p.network.config import ConnectionConfig
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from coopledger.crypto import SecretKey

from ._clock import now_ms
from ._logging import restore_libp2p_logging, short_peer
from ._p2pdial import Dialing
from ._p2plib import (
    _GatedNoise,
    _libp2p_keypair,
    _no_auto_connect,
    _Notifee,
    _peer_of,
    _strip_p2p,
    _tune_libp2p,
    forget_cached,
    make_router,
)
from ._p2plib import peer_id_of as peer_id_of
from ._p2pstream import Stream as Stream
from ._peersfile import (
    _Known,
    _load_peers_file,
    remember_addr,
)
from ._reconnect import DialState, went_away
from ._reconnect import connected as note_connected

# libp2p's import detached its logger from ours; re-attach it (docs/libp2p.md,
# "Logging"). The daemon may call restore_libp2p_logging again with the level from its
# configuration.
restore_libp2p_logging()

log = logging.getLogger(__name__)

SYNC_PROTOCOL = TProtocol("/coopledger/sync/1")

BAN_S = 600.0  # disconnect(): not redialled, and refused, for this long
SHUTDOWN_GRACE_S = 3.0
STARTUP_TIMEOUT_S = 30.0


class P2P(Dialing):
    """The node's libp2p host. Construct, then ``await run()`` in a nursery
    (``nursery.start(p2p.run)`` returns once it listens); cancel to stop."""

    def __init__(
        self,
        key: SecretKey,
        *,
        listen: Sequence[str],
        bootstrap: Sequence[str],
        mdns: bool,
        allow: Collection[str],
        topic: str,
        peers_file: Path,
        validate_gossip: Callable[[bytes], bool],
        on_gossip: Callable[[bytes, str], Awaitable[None]],
        on_connected: Callable[[str], None],
        on_sync_stream: Callable[[Stream, str], Awaitable[None]],
        streams: Mapping[str, Callable[[Stream, str], Awaitable[None]]] | None = None,
    ) -> None:
        self._keypair = _libp2p_keypair(key)
        self._id = ID.from_pubkey(self._keypair.public_key)
        self.peer_id: str = str(self._id)
        self._listen = [multiaddr.Multiaddr(a) for a in listen]
        self._bootstrap = [multiaddr.Multiaddr(a) for a in bootstrap]
        self._mdns = mdns
        self._allow = {str(ID.from_base58(p)) for p in allow}
        # Peers admitted by membership (set_members); None: membership does not gate.
        self._members: frozenset[str] | None = None
        # Peers the operator blocked (node/_blocks.py): refused both ways, never dialled,
        # and gossip they originated is dropped, whoever forwards it.
        self._blocked: frozenset[str] = frozenset()
        self._topics: frozenset[str] = frozenset({topic})   # wanted (set_topics)
        self._subscribed: dict[str, trio.CancelScope] = {}   # topic -> its receive loop
        self._topics_changed = trio.Event()
        self._peers_file = Path(peers_file)
        self._validate_gossip = validate_gossip
        self._on_gossip = on_gossip
        self._on_connected = on_connected
        self._on_sync_stream = on_sync_stream
        # Other stream protocols (the alert push): protocol id -> handler.
        self._streams = dict(streams or {})

        self._known: dict[str, _Known] = {}
        # bootstrap addresses without /p2p/<id>: address -> id learned from Noise
        self._addr_only: dict[str, str | None] = {}
        self._addr_only_state: dict[str, DialState] = {}
        self._banned: dict[str, float] = {}  # peer id -> trio time the ban ends
        self._conns: dict[str, set[int]] = {}  # peer id -> ids of live connections
        self._dialing: set[str] = set()
        self._host: IHost | None = None
        self._pubsub: Pubsub | None = None
        self._gossipsub: GossipSub | None = None
        self._nursery: trio.Nursery | None = None
        self._wake_reconnect = trio.Event()
        self._dirty = trio.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._rng = random.Random()  # the reconnect backoff's jitter

    # -- lifecycle

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start the host, listen, subscribe, start discovery; ``task_status.started()``
        once listening; run until cancelled, then close every connection and write
        the peers file. Raises OSError (and libp2p's errors) if it cannot listen.

        Shutdown order matters (docs/libp2p.md, "Lifecycle"): if the cancellation reached
        the host's own tasks together with ours, each connection's Yamux would be
        cancelled half-way through its close (GO_AWAY written, socket never closed:
        a leaked socket per connection). So the host runs in a shielded task, and
        cancelling ``run`` only sets ``stopping``; that task then stops our tasks,
        closes the connections while the host still runs, and leaves the host's
        context, all within SHUTDOWN_GRACE_S (then the shield's deadline cuts it).
        """
        stopping = trio.Event()
        async with trio.open_nursery() as nursery:
            try:
                await nursery.start(self._run_shielded, stopping)
                task_status.started()
                await trio.sleep_forever()
            finally:
                stopping.set()

    async def _run_shielded(self, stopping: trio.Event,
                            task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope(shield=True) as shield:
            shield.deadline = trio.current_time() + STARTUP_TIMEOUT_S
            await self._run_host(shield, stopping, task_status)

    async def _run_host(self, shield: trio.CancelScope, stopping: trio.Event,
                        task_status: Any) -> None:
        _tune_libp2p()
        self._token = trio.lowlevel.current_trio_token()
        self._known = await trio.to_thread.run_sync(_load_peers_file, self._peers_file)
        self._known.pop(self.peer_id, None)
        if self._allow:  # membership changes at run time: its outsiders are kept
            self._known = {p: k for p, k in self._known.items() if p in self._allow}
        for ma in self._bootstrap:
            pid = _peer_of(ma)
            if pid is None:
                self._addr_only.setdefault(str(ma), None)
                self._addr_only_state.setdefault(str(ma), DialState())
            elif pid != self.peer_id and (not self._allow or pid in self._allow):
                known = self._known.setdefault(pid, _Known())
                remember_addr(known, str(_strip_p2p(ma)))

        host = new_host(
            key_pair=self._keypair,
            sec_opt={NOISE_PROTOCOL_ID: _GatedNoise(self._keypair, self._admit)},
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            listen_addrs=self._listen,
            enable_mDNS=self._mdns,
            connection_config=ConnectionConfig(),
        )
        self._host = host
        gossipsub, pubsub = make_router(host)
        self._gossipsub, self._pubsub = gossipsub, pubsub
        host.set_stream_handler(SYNC_PROTOCOL, self._handle_sync_stream)
        for proto, handler in self._streams.items():
            host.set_stream_handler(TProtocol(proto), partial(self._handle_stream, handler))
        notifee = _Notifee(self._conn_up, self._conn_down)
        host.get_network().register_notifee(notifee)
        discovery_handler = self._mdns_discovered_from_thread
        if self._mdns:
            peerDiscovery.register_peer_discovered_handler(discovery_handler)

        # py-libp2p's auto-connector dials anything in its peerstore (banned peers
        # too) while the node has fewer than 50 connections; our reconnect task owns
        # redialling, so the swarm must never start it (docs/libp2p.md, "Reconnecting").
        self._swarm().auto_connector.start = _no_auto_connect  # type: ignore[method-assign]

        try:
            async with host.run(self._listen):
                async with background_trio_service(pubsub), \
                        background_trio_service(gossipsub):
                    await pubsub.wait_until_ready()
                    async with trio.open_nursery() as nursery:
                        self._nursery = nursery
                        await self._apply_topics()
                        nursery.start_soon(self._topic_loop)
                        nursery.start_soon(self._reconnect_loop)
                        nursery.start_soon(self._persist_loop)
                        log.info("listening on %s as %s", ", ".join(self.listen_addrs()),
                                 short_peer(self.peer_id))
                        shield.deadline = math.inf
                        task_status.started()
                        await stopping.wait()
                        shield.deadline = trio.current_time() + SHUTDOWN_GRACE_S
                        nursery.cancel_scope.cancel()
                    self._nursery = None
                    self._subscribed.clear()
                    await self._close_all_connections()
                # py-libp2p's TCP listener runs in a trio *system* task, which leaving
                # host.run() does not stop: the old socket would keep accepting (and
                # with SO_REUSEPORT share the port with a restarted node). Close it.
                await host.close()
        finally:
            if self._mdns:
                peerDiscovery.unregister_peer_discovered_handler(discovery_handler)
            cast(Swarm, host.get_network()).remove_notifee(notifee)
            self._host = None
            self._pubsub = self._gossipsub = None
            try:
                self._write_peers_file()
            except OSError as exc:
                log.warning("could not write peers file %s: %s", self._peers_file, exc)
            log.info("stopped")

    async def _close_all_connections(self) -> None:
        swarm = self._swarm()
        for pid in list(swarm.connections):
            try:
                await swarm.close_peer(pid)
            except Exception as exc:  # best effort: the host closes what is left
                log.debug("closing %s: %r", short_peer(pid), exc)

    def _swarm(self) -> Swarm:
        if self._host is None:
            raise RuntimeError("P2P is not running")
        return cast(Swarm, self._host.get_network())

    # -- status

    def listen_addrs(self) -> list[str]:
        """The addresses we listen on, real ports, each ending in /p2p/<our id>."""
        if self._host is None:
            return []
        return [str(a) for a in self._host.get_addrs()]

    def connected_peers(self) -> list[str]:
        return sorted(p for p, conns in self._conns.items() if conns)

    def gossip_peers(self) -> list[str]:
        """Peers in our GossipSub mesh for any of our topics (they receive what we
        publish)."""
        if self._gossipsub is None:
            return []
        return sorted({str(p) for t in self._subscribed
                       for p in self._gossipsub.mesh.get(t, set())})

    def topics(self) -> list[str]:
        """The topics subscribed now."""
        return sorted(self._subscribed)

    def known_peers(self) -> list[dict[str, Any]]:
        """Every peer we know an address of: peer_id, addrs, connected, last_seen_ms
        (now for a connected peer; None if never seen)."""
        out = []
        now = now_ms()
        for pid, known in sorted(self._known.items()):
            connected = bool(self._conns.get(pid))
            out.append({
                "peer_id": pid,
                "addrs": self._addrs_of(pid, known),
                "connected": connected,
                "last_seen_ms": now if connected else known.last_seen_ms,
            })
        return out

    # -- traffic

    async def open_sync_stream(self, peer_id: str) -> Stream:
        """A new /coopledger/sync/1 stream to a connected (or dialable) peer.
        Raises trio.BrokenResourceError if it cannot be opened."""
        if self._host is None:
            raise trio.ClosedResourceError("P2P is not running")
        try:
            s = await self._host.new_stream(ID.from_base58(peer_id), [SYNC_PROTOCOL])
        except Exception as exc:  # any of libp2p's many stream and muxer errors: mapped
            raise trio.BrokenResourceError(
                f"cannot open sync stream to {short_peer(peer_id)}: {exc}") from exc
        log.debug("sync stream opened to %s", short_peer(peer_id))
        return Stream(s, peer_id)

    async def open_stream(self, peer_id: str, protocol: str) -> Stream:
        """A new stream of ``protocol`` (one given in ``streams``) to a connected peer.
        Raises trio.BrokenResourceError if it cannot be opened."""
        if self._host is None:
            raise trio.ClosedResourceError("P2P is not running")
        try:
            s = await self._host.new_stream(ID.from_base58(peer_id), [TProtocol(protocol)])
        except Exception as exc:  # any of libp2p's many stream and muxer errors: mapped
            raise trio.BrokenResourceError(
                f"cannot open a {protocol} stream to {short_peer(peer_id)}: {exc}") from exc
        return Stream(s, peer_id)

    async def publish(self, data: bytes) -> None:
        """Gossip ``data`` on every subscribed topic, as one message (its id is the hash
        of the data, so publishing it topic by topic would drop all but the first, and
        the same bytes again within SEEN_TTL_S are a no-op)."""
        if self._pubsub is None:
            raise trio.ClosedResourceError("P2P is not running")
        topics = sorted(set(self._subscribed) | self.also_publish)
        if not topics:
            return
        await self._pubsub.publish(topics, data)
        log.debug("published %d bytes on %d topics", len(data), len(topics))

    # -- membership: topics and the gate

    # Topics published to without being subscribed (GossipSub's fanout): the network
    # topic, so that a co-op in no federation yet (an invitee) hears our entries at once
    # rather than at its next periodic sync.
    also_publish: frozenset[str] = frozenset()

    def set_topics(self, topics: Collection[str]) -> None:
        """Gossip on exactly ``topics`` from now on (applied by a task of the running
        host, at once if it runs; at start otherwise)."""
        new = frozenset(topics)
        if new != self._topics:
            self._topics = new
            self._topics_changed.set()

    async def _topic_loop(self) -> None:
        while True:
            await self._topics_changed.wait()
            await self._apply_topics()

    async def _apply_topics(self) -> None:
        self._topics_changed = trio.Event()
        pubsub, nursery = self._pubsub, self._nursery
        assert pubsub is not None and nursery is not None
        wanted = self._topics
        for topic in sorted(set(self._subscribed) - wanted):
            self._subscribed.pop(topic).cancel()
            await pubsub.unsubscribe(topic)
            pubsub.remove_topic_validator(topic)
            log.info("gossip: left topic %s", topic)
        for topic in sorted(wanted - set(self._subscribed)):
            # The validator first: no message of the topic may pass unchecked.
            pubsub.set_topic_validator(topic, self._gossip_validator, False)
            subscription = await pubsub.subscribe(topic)
            scope = trio.CancelScope()
            self._subscribed[topic] = scope
            nursery.start_soon(self._receive_loop, subscription, scope)
            log.info("gossip: joined topic %s", topic)

    def set_members(self, peers: Collection[str] | None) -> None:
        """Admit ``peers`` (peer ids) besides the static ``allow`` list; None turns
        membership gating off. Connected peers no longer admitted are disconnected
        (not banned: they may be admitted again)."""
        self._members = None if peers is None else frozenset(peers)
        if self._host is None or self._nursery is None:
            return
        for pid in self.connected_peers():
            if not self._allowed(pid):
                log.warning("peer %s refused: not-a-member", short_peer(pid))
                self._nursery.start_soon(self._close_peer, pid)
        self._wake_reconnect.set()

    def set_blocked(self, peers: Collection[str]) -> None:
        """Block ``peers`` (peer ids) from now on, replacing the previous set: their
        live connections are closed at once, their dials refused, they are not dialled,
        and gossip they originated is neither delivered nor relayed."""
        self._blocked = frozenset(peers)
        if self._host is None or self._nursery is None:
            return
        for pid in self.connected_peers():
            if pid in self._blocked:
                log.warning("peer %s disconnected: blocked", short_peer(pid))
                self._nursery.start_soon(self._close_peer, pid)
        self._wake_reconnect.set()

    def forget_gossip(self, drop: Callable[[bytes], bool]) -> int:
        """Remove from the router's message cache every message whose data ``drop``
        accepts, so that it is no longer offered (IHAVE) or served (IWANT) to peers:
        a blocked author's entries already cached stop travelling through us at once.
        Returns how many were removed (node/_p2plib.py reaches into the cache)."""
        return forget_cached(self._gossipsub, drop)

    async def _close_peer(self, pid: str) -> None:
        try:
            await self._swarm().close_peer(ID.from_base58(pid))
        except Exception as exc:  # best effort (see _close_all_connections), and logged
            log.debug("closing %s: %r", short_peer(pid), exc)

    def _allowed(self, pid: str) -> bool:
        """Allowed by the static list or by membership (when either gates)."""
        if not self._allow and self._members is None:
            return True
        return pid in self._allow or (self._members is not None and pid in self._members)

    async def disconnect(self, peer_id: str, reason: str) -> None:
        """Close every connection to ``peer_id`` and ban it for BAN_S: it is neither
        redialled nor admitted. ``reason`` is a short code for the log."""
        self._banned[peer_id] = trio.current_time() + BAN_S
        log.warning("peer %s disconnected: %s", short_peer(peer_id), reason)
        if self._host is not None:
            try:
                await self._swarm().close_peer(ID.from_base58(peer_id))
            except Exception as exc:  # best effort: the ban above is what keeps it out
                log.debug("closing %s: %r", short_peer(peer_id), exc)

    # -- gating and connection events

    def _admit(self, peer: ID) -> bool:
        pid = str(peer)
        reason = None
        if pid in self._blocked:
            reason = "blocked"
        elif not self._allowed(pid):
            reason = "not-allowed"
        else:
            until = self._banned.get(pid)
            if until is not None:
                if trio.current_time() < until:
                    reason = "banned"
                else:
                    del self._banned[pid]
        if reason is not None:
            log.warning("peer %s refused: %s", short_peer(pid), reason)
            return False
        return True

    def _conn_up(self, conn: INetConn) -> None:
        pid = str(conn.muxed_conn.peer_id)
        if pid in self._blocked and self._nursery is not None:
            # Through the gate just before the block: close it, tell nobody.
            self._nursery.start_soon(self._close_peer, pid)
            return
        conns = self._conns.setdefault(pid, set())
        first = not conns
        conns.add(id(conn))
        known = self._known.get(pid)
        if known is None:
            known = self._known[pid] = _Known()
        known.last_seen_ms = now_ms()
        note_connected(known)
        self._dirty.set()
        if first:
            log.info("peer %s connected", short_peer(pid))
            try:
                self._on_connected(pid)
            except Exception:  # the daemon's callback: its bug is logged, not libp2p's
                log.exception("on_connected(%s) failed", short_peer(pid))

    def _conn_down(self, conn: INetConn) -> None:
        pid = str(conn.muxed_conn.peer_id)
        conns = self._conns.get(pid)
        if not conns:
            return
        conns.discard(id(conn))
        if conns:
            return
        del self._conns[pid]
        known = self._known.get(pid)
        if known is not None:
            known.last_seen_ms = now_ms()
            # a peer that just went away is probably restarting: retry soon
            went_away(known, trio.current_time())
            self._dirty.set()
        log.info("peer %s disconnected", short_peer(pid))
        self._wake_reconnect.set()

    # -- gossip

    def _gossip_validator(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        if forwarder == self._id and msg.from_id == self._id.to_bytes():
            return True  # our own publish: the daemon made it
        if self._blocked and (str(forwarder) in self._blocked
                              or str(ID(msg.from_id)) in self._blocked):
            log.debug("gossip from blocked peer %s dropped", short_peer(ID(msg.from_id)))
            return False
        try:
            ok = bool(self._validate_gossip(msg.data))
        except Exception:  # the daemon's validator: a bug drops the message, logged
            log.exception("validate_gossip raised; message dropped")
            return False
        if not ok:
            log.debug("gossip from %s via %s rejected (%d bytes)",
                      short_peer(ID(msg.from_id)), short_peer(forwarder), len(msg.data))
        return ok

    async def _receive_loop(self, subscription: Any, scope: trio.CancelScope) -> None:
        own = self._id.to_bytes()
        with scope:
            await self._receive(subscription, own)

    async def _receive(self, subscription: Any, own: bytes) -> None:
        while True:
            try:
                msg = await subscription.get()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return  # unsubscribed
            if msg.from_id == own:
                continue  # the publisher gets its own messages back in 0.8.1
            origin = str(ID(msg.from_id))
            if origin in self._blocked:
                continue  # validated before the block; not ours to take now
            log.debug("gossip %d bytes from %s", len(msg.data), short_peer(origin))
            try:
                await self._on_gossip(msg.data, origin)
            except Exception:  # the daemon's callback: a bug loses this message, logged
                log.exception("on_gossip failed for a message from %s", short_peer(origin))

    # -- sync streams

    async def _handle_sync_stream(self, net_stream: INetStream) -> None:
        pid = str(net_stream.muxed_conn.peer_id)
        stream = Stream(net_stream, pid)
        log.debug("sync stream from %s", short_peer(pid))
        try:
            await self._on_sync_stream(stream, pid)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            log.debug("sync stream from %s broke: %s", short_peer(pid), exc)
        except Exception:  # a stream's task boundary: a handler's bug, logged; the node goes on
            log.exception("on_sync_stream failed for %s", short_peer(pid))
            await stream.reset()
        finally:
            await stream.aclose()

    async def _handle_stream(self, handler: Callable[[Stream, str], Awaitable[None]],
                             net_stream: INetStream) -> None:
        pid = str(net_stream.muxed_conn.peer_id)
        stream = Stream(net_stream, pid)
        try:
            await handler(stream, pid)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            log.debug("stream from %s broke: %s", short_peer(pid), exc)
        except Exception:  # a stream's task boundary (as in _handle_sync_stream)
            log.exception("stream handler failed for %s", short_peer(pid))
            await stream.reset()
        finally:
            await stream.aclose()
