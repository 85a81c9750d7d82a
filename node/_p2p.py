"""The libp2p layer of the daemon: one host, its gossip topics, one sync protocol.

``P2P`` owns a py-libp2p host (TCP, Noise only, Yamux only) whose identity is the
co-op's Ed25519 key, a GossipSub router tuned as /work/shared/LIBP2P-NOTES.md
measured (the library defaults drop ledger traffic silently), discovery (bootstrap
list, mDNS, the known-peer store on disk) and a reconnect manager. The sync driver
and the daemon see only this class and ``Stream``, a trio-style adapter around a
libp2p stream, so they can be tested over trio memory streams.

Gossip topics and the connection gate follow membership at run time:
``set_topics`` subscribes and unsubscribes (each topic with the entry validator) and
``set_members`` replaces the peers admitted besides the static ``allow`` list (a peer
no longer admitted is disconnected, not banned); ``set_blocked`` replaces the peers
the operator blocked (disconnected at once, refused and never dialled, and gossip they
originated dropped).

libp2p is pinned (pyproject.toml) because this module reaches into three library
internals, each pinned by a test in tests/node/test_p2p.py:

* the swarm's negative dial cache (``Swarm._negative_peer_cache``): after a peer
  restarts the swarm refuses to dial it for 60 s; the reconnect manager evicts the
  entry before each attempt;
* the pubsub queue sizes, module constants in 0.8.1 (``_tune_libp2p``);
* the upgrade steps of an outbound dial, run by hand to dial a bootstrap address
  that names no peer id (``_dial_learning_id``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import socket
import tempfile
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INotifee, IRawConnection, ISecureConn
from libp2p.crypto.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.discovery.events.peerDiscovery import peerDiscovery
from libp2p.network.config import ConnectionConfig
from libp2p.network.stream.exceptions import StreamEOF, StreamError
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub import pubsub as _pubsub_module
from libp2p.pubsub.gossipsub import PROTOCOL_ID as MESHSUB_10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as MESHSUB_11
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V12 as MESHSUB_12
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import ContentAddressedMessageIDGenerator, Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.security.exceptions import HandshakeFailure
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from coopledger.crypto import SecretKey

from ._clock import now_ms
from ._logging import restore_libp2p_logging, short_peer

# libp2p's import detached its logger from ours; re-attach it (STYLE E26). The daemon
# may call restore_libp2p_logging again with the level from its configuration.
restore_libp2p_logging()

log = logging.getLogger(__name__)

SYNC_PROTOCOL = TProtocol("/coopledger/sync/1")

# GossipSub, as LIBP2P-NOTES.md measured it (every message arrived in every run).
GOSSIP_PROTOCOLS = (MESHSUB_12, MESHSUB_11, MESHSUB_10)
GOSSIP_DEGREE, GOSSIP_DEGREE_LOW, GOSSIP_DEGREE_HIGH = 6, 4, 12
GOSSIP_HEARTBEAT_S = 1  # library default 120 s: mesh repair would take minutes
GOSSIP_WINDOW, GOSSIP_HISTORY = 3, 10
SEEN_TTL_S = 600  # a re-published entry within 10 min is dropped as a duplicate
VALIDATION_CACHE_SIZE = 4096
# 0.8.1 has no constructor argument for these two queues and both drop silently when
# full (32 each by default; 10 of 200 burst messages crossed a 5-node chain).
SUBSCRIPTION_QUEUE_SIZE = 4096  # delivered messages waiting for on_gossip
PEER_OUTBOUND_QUEUE_SIZE = 4096  # RPCs waiting to be written to one peer

BAN_S = 600.0  # disconnect(): not redialled, and refused, for this long
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
DIAL_TIMEOUT_S = 10.0
PEERSTORE_TTL_S = 7 * 24 * 3600  # addresses we hand the libp2p peerstore
PERSIST_DELAY_S = 2.0  # coalesce peers-file writes
MAX_KNOWN_PEERS = 1000
MAX_ADDRS_PER_PEER = 8
PEERS_FILE_VERSION = 1
SHUTDOWN_GRACE_S = 3.0
STARTUP_TIMEOUT_S = 30.0

DEFAULT_RECEIVE_SIZE = 65536
_DNS_PROTOCOLS = {"dns", "dns4", "dns6"}


# -- the stream adapter -----------------------------------------------------------


@contextmanager
def _as_broken() -> Iterator[None]:
    """libp2p's stream errors (of many kinds) as trio.BrokenResourceError."""
    try:
        yield
    except (StreamError, OSError) as exc:
        raise trio.BrokenResourceError(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        raise trio.BrokenResourceError(repr(exc)) from exc


class Stream:
    """A libp2p stream with trio's stream names and errors.

    ``receive_some`` returns b"" at a clean end of stream; a stream reset by the
    peer, or cut because the connection went away, raises trio.BrokenResourceError;
    using it after our own ``aclose``/``reset`` raises trio.ClosedResourceError.
    No libp2p exception leaves this class.
    """

    def __init__(self, stream: INetStream, peer_id: str) -> None:
        self._s = stream
        self.peer_id = peer_id
        self._closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        if max_bytes is None:
            max_bytes = DEFAULT_RECEIVE_SIZE
        if max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        try:
            return await self._s.read(max_bytes)
        except StreamEOF:
            # Yamux 0.8.1 reports a reset stream (it drops the stream's bookkeeping
            # before the reader looks) and a dead connection as EOF too; neither is
            # a clean end.
            if getattr(getattr(self._s, "muxed_stream", None), "reset_received", False):
                raise trio.BrokenResourceError("stream reset by peer") from None
            if self._s.muxed_conn.is_closed:
                raise trio.BrokenResourceError("connection lost") from None
            return b""
        except (StreamError, OSError) as exc:
            raise trio.BrokenResourceError(str(exc) or type(exc).__name__) from exc
        except Exception as exc:  # any other library failure is a broken stream too
            raise trio.BrokenResourceError(repr(exc)) from exc

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        with _as_broken():
            await self._s.write(bytes(data))

    async def send_eof(self) -> None:
        """Half-close: the peer reads b"" after our last bytes; we can still read."""
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        with _as_broken():
            await self._s.close_write()  # type: ignore[attr-defined]  # NetStream has it

    async def aclose(self) -> None:
        """Close both directions. Idempotent, never raises (trio's contract)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._s.close()
        except Exception:
            pass

    async def reset(self) -> None:
        """Abort: the peer's next read or write fails. Idempotent, never raises."""
        self._closed = True
        try:
            await self._s.reset()
        except Exception:
            pass


# -- the known-peer store ------------------------------------------------------------


@dataclass
class _Known:
    addrs: list[str] = field(default_factory=list)  # newest first, no /p2p suffix
    last_seen_ms: int | None = None
    # reconnect state (not persisted)
    failures: int = 0
    next_dial: float = 0.0  # trio time


def _load_peers_file(path: Path) -> dict[str, _Known]:
    """The peers in ``path``; empty if it is missing. A damaged file is logged and
    ignored: it is a cache of addresses, and the bootstrap list still applies."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("peers file %s unreadable, starting without it: %s", path, exc)
        return {}
    out: dict[str, _Known] = {}
    try:
        for item in data["peers"]:
            pid = ID.from_base58(item["peer_id"])
            addrs = [str(multiaddr.Multiaddr(a)) for a in item.get("addrs", [])]
            seen = item.get("last_seen_ms")
            out[str(pid)] = _Known(addrs=addrs[:MAX_ADDRS_PER_PEER],
                                   last_seen_ms=seen if isinstance(seen, int) else None)
    except Exception as exc:
        log.warning("peers file %s damaged, starting without it: %s", path, exc)
        return {}
    return out


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _strip_p2p(addr: multiaddr.Multiaddr) -> multiaddr.Multiaddr:
    try:
        pid = addr.value_for_protocol("p2p")
    except Exception:
        pid = None
    if pid:
        return addr.decapsulate(multiaddr.Multiaddr(f"/p2p/{pid}"))
    return addr


def _peer_of(addr: multiaddr.Multiaddr) -> str | None:
    try:
        pid = addr.value_for_protocol("p2p")
    except Exception:
        return None
    return str(ID.from_base58(pid)) if pid else None


async def resolve_addr(addr: multiaddr.Multiaddr) -> list[multiaddr.Multiaddr]:
    """``addr`` with a leading /dns, /dns4 or /dns6 name resolved through the system
    resolver (so /etc/hosts and docker-compose service names work); other addresses
    unchanged. Raises OSError if the name does not resolve."""
    parts = str(addr).split("/")  # ["", "dns4", "garden", "tcp", "4140", ...]
    if len(parts) < 3 or parts[1] not in _DNS_PROTOCOLS:
        return [addr]
    family = {"dns4": socket.AF_INET, "dns6": socket.AF_INET6}.get(parts[1], 0)
    infos = await trio.socket.getaddrinfo(parts[2], None, family, socket.SOCK_STREAM)
    rest = "/".join(parts[3:])
    out: list[multiaddr.Multiaddr] = []
    for fam, *_unused, sockaddr in infos:
        ip = str(sockaddr[0])
        proto = "ip6" if fam == socket.AF_INET6 else "ip4"
        ma = multiaddr.Multiaddr(f"/{proto}/{ip}/{rest}" if rest else f"/{proto}/{ip}")
        if ma not in out:
            out.append(ma)
    return out


# -- connection gating ---------------------------------------------------------------


class _GatedNoise(NoiseTransport):
    """Noise, refusing peers the node does not admit (allowlist, bans) right after
    the handshake authenticated them, in both directions and before any stream."""

    def __init__(self, keypair: KeyPair, admit: Callable[[ID], bool]) -> None:
        super().__init__(keypair, noise_privkey=new_x25519_key_pair().private_key)
        self._admit = admit

    async def _check(self, conn: ISecureConn) -> ISecureConn:
        if not self._admit(conn.get_remote_peer()):
            try:
                await conn.close()
            except Exception:
                pass
            raise HandshakeFailure("peer refused by connection gate")
        return conn

    async def secure_inbound(self, conn: IRawConnection) -> ISecureConn:
        return await self._check(await super().secure_inbound(conn))

    async def secure_outbound(self, conn: IRawConnection, peer_id: ID) -> ISecureConn:
        return await self._check(await super().secure_outbound(conn, peer_id))


class _Notifee(INotifee):
    def __init__(self, p2p: P2P) -> None:
        self._p2p = p2p

    async def opened_stream(self, network: Any, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: Any, stream: INetStream) -> None:
        pass

    async def connected(self, network: Any, conn: INetConn) -> None:
        self._p2p._conn_up(conn)

    async def disconnected(self, network: Any, conn: INetConn) -> None:
        self._p2p._conn_down(conn)

    async def listen(self, network: Any, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: Any, multiaddr: multiaddr.Multiaddr) -> None:
        pass


class _BigRpcQueue(RpcQueue):
    def __init__(self, max_size: int = PEER_OUTBOUND_QUEUE_SIZE, **kwargs: Any) -> None:
        super().__init__(max_size, **kwargs)


def _tune_libp2p() -> None:
    """Raise the two pubsub queues that 0.8.1 sizes by module constant (see above).

    ``RpcQueue``'s default size is bound when the class is defined, so patching the
    constant would do nothing: pubsub.py looks the class up by module global at each
    new peer, and we substitute a subclass with a larger default. Idempotent.
    """
    _pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = SUBSCRIPTION_QUEUE_SIZE
    setattr(_pubsub_module, "RpcQueue", _BigRpcQueue)  # noqa: B010  (a class, not a value)


async def _no_auto_connect() -> None:
    pass


def peer_id_of(author: bytes) -> str:
    """The libp2p peer id of the node whose identity is the co-op key ``author``."""
    return str(ID.from_pubkey(Ed25519PublicKey.from_bytes(author)))


def _libp2p_keypair(key: SecretKey) -> KeyPair:
    private = Ed25519PrivateKey.from_bytes(key.raw)
    return KeyPair(private, private.get_public_key())


# -- the node --------------------------------------------------------------------------


class P2P:
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
        self._addr_only_state: dict[str, _Known] = {}
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

    # -- lifecycle

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start the host, listen, subscribe, start discovery; ``task_status.started()``
        once listening; run until cancelled, then close every connection and write
        the peers file. Raises OSError (and libp2p's errors) if it cannot listen.

        Shutdown order matters (LIBP2P-NOTES, lifecycle): if the cancellation reached
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
                self._addr_only_state.setdefault(str(ma), _Known())
            elif pid != self.peer_id and (not self._allow or pid in self._allow):
                known = self._known.setdefault(pid, _Known())
                self._remember_addr(known, str(_strip_p2p(ma)))

        host = new_host(
            key_pair=self._keypair,
            sec_opt={NOISE_PROTOCOL_ID: _GatedNoise(self._keypair, self._admit)},
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            listen_addrs=self._listen,
            enable_mDNS=self._mdns,
            connection_config=ConnectionConfig(),
        )
        self._host = host
        gossipsub = GossipSub(
            protocols=list(GOSSIP_PROTOCOLS),
            degree=GOSSIP_DEGREE,
            degree_low=GOSSIP_DEGREE_LOW,
            degree_high=GOSSIP_DEGREE_HIGH,
            gossip_window=GOSSIP_WINDOW,
            gossip_history=GOSSIP_HISTORY,
            heartbeat_interval=GOSSIP_HEARTBEAT_S,
            # go-libp2p's defaults for small networks: no spam limit (0.8.1's is 10
            # msgs/s per peer, our own publishes included), no eclipse or adaptive
            # gossip heuristics (they prune honest peers in a 3-node federation).
            spam_protection_enabled=False,
            eclipse_protection_enabled=False,
            adaptive_gossip_enabled=False,
        )
        pubsub = Pubsub(
            host,
            gossipsub,
            strict_signing=True,
            msg_id_constructor=ContentAddressedMessageIDGenerator(),  # b64(sha256(data))
            seen_ttl=SEEN_TTL_S,
            validation_cache_size=VALIDATION_CACHE_SIZE,
        )
        self._gossipsub, self._pubsub = gossipsub, pubsub
        host.set_stream_handler(SYNC_PROTOCOL, self._handle_sync_stream)
        for proto, handler in self._streams.items():
            host.set_stream_handler(TProtocol(proto), partial(self._handle_stream, handler))
        notifee = _Notifee(self)
        host.get_network().register_notifee(notifee)
        discovery_handler = self._mdns_discovered_from_thread
        if self._mdns:
            peerDiscovery.register_peer_discovered_handler(discovery_handler)

        # py-libp2p's auto-connector dials anything in its peerstore (banned peers
        # too) while the node has fewer than 50 connections; our reconnect manager
        # owns redialling, so the swarm must never start it.
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
        except Exception as exc:
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
        except Exception as exc:
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
        Returns how many were removed. (py-libp2p 0.8.1's MessageCache: ``msgs`` by
        id and ``history`` windows of CacheEntry; pinned version.)"""
        mcache = getattr(self._gossipsub, "mcache", None)
        if mcache is None:
            return 0
        gone = {mid for mid, msg in mcache.msgs.items() if drop(bytes(msg.data))}
        for mid in gone:
            del mcache.msgs[mid]
        if gone:
            mcache.history = [[c for c in window if c.mid not in gone]
                              for window in mcache.history]
        return len(gone)

    async def _close_peer(self, pid: str) -> None:
        try:
            await self._swarm().close_peer(ID.from_base58(pid))
        except Exception as exc:
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
            except Exception as exc:
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
        known.failures = 0
        self._dirty.set()
        if first:
            log.info("peer %s connected", short_peer(pid))
            try:
                self._on_connected(pid)
            except Exception:
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
            known.failures = 0
            known.next_dial = trio.current_time() + RECONNECT_MIN_S
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
        except Exception:
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
            except Exception:
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
        except Exception:
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
        except Exception:
            log.exception("stream handler failed for %s", short_peer(pid))
            await stream.reset()
        finally:
            await stream.aclose()

    # -- discovery and reconnection

    def _mdns_discovered_from_thread(self, info: PeerInfo) -> None:
        # zeroconf calls this on its own thread, and the handler list is global to
        # the process: hand over to our trio loop, and let each P2P filter.
        token = self._token
        if token is None:
            return
        try:
            token.run_sync_soon(self._mdns_discovered, info)
        except trio.RunFinishedError:
            pass

    def _mdns_discovered(self, info: PeerInfo) -> None:
        pid = str(info.peer_id)
        if self._host is None or pid == self.peer_id:
            return
        if not self._allowed(pid):
            return
        known = self._known.setdefault(pid, _Known())
        for a in info.addrs:
            self._remember_addr(known, str(_strip_p2p(a)))
        log.debug("mDNS found %s", short_peer(pid))
        self._dirty.set()
        self._wake_reconnect.set()

    def _remember_addr(self, known: _Known, addr: str) -> None:
        if "p2p-circuit" in addr:
            return
        if addr in known.addrs:
            known.addrs.remove(addr)
        known.addrs.insert(0, addr)
        del known.addrs[MAX_ADDRS_PER_PEER:]

    def _addrs_of(self, pid: str, known: _Known) -> list[str]:
        addrs = list(known.addrs)
        if self._host is not None:
            try:
                for a in self._host.get_peerstore().addrs(ID.from_base58(pid)):
                    s = str(_strip_p2p(a))
                    if s not in addrs and "p2p-circuit" not in s:
                        addrs.append(s)
            except Exception:
                pass
        return addrs[:MAX_ADDRS_PER_PEER]

    def _backoff(self, failures: int) -> float:
        delay: float = min(RECONNECT_MIN_S * 2.0 ** max(failures - 1, 0), RECONNECT_MAX_S)
        return delay * random.uniform(0.8, 1.2)

    def _eligible(self, pid: str) -> bool:
        if pid == self.peer_id or self._conns.get(pid) or pid in self._dialing:
            return False
        if not self._allowed(pid) or pid in self._blocked:
            return False
        until = self._banned.get(pid)
        return until is None or trio.current_time() >= until

    async def _reconnect_loop(self) -> None:
        """Dial every known, not connected, not banned peer (and every bootstrap
        address without a peer id whose node is not connected), each on its own
        exponential backoff from RECONNECT_MIN_S to RECONNECT_MAX_S."""
        assert self._nursery is not None
        while True:
            self._wake_reconnect = trio.Event()
            now = trio.current_time()
            soonest = math.inf
            for pid, known in list(self._known.items()):
                if not self._eligible(pid):
                    continue
                if not self._addrs_of(pid, known):
                    continue
                if known.next_dial <= now:
                    self._dialing.add(pid)
                    self._nursery.start_soon(self._dial_known, pid)
                else:
                    soonest = min(soonest, known.next_dial)
            for addr, learned in list(self._addr_only.items()):
                state = self._addr_only_state[addr]
                key = "addr:" + addr
                if key in self._dialing or (learned is not None and self._conns.get(learned)):
                    continue
                if state.next_dial <= now:
                    self._dialing.add(key)
                    self._nursery.start_soon(self._dial_addr_only, addr)
                else:
                    soonest = min(soonest, state.next_dial)
            with trio.move_on_at(soonest):
                await self._wake_reconnect.wait()

    async def _dial_known(self, pid: str) -> None:
        known = self._known[pid]
        peer = ID.from_base58(pid)
        try:
            addrs: list[multiaddr.Multiaddr] = []
            for a in self._addrs_of(pid, known):
                try:
                    addrs.extend(await resolve_addr(multiaddr.Multiaddr(a)))
                except OSError as exc:
                    log.debug("cannot resolve %s: %s", a, exc)
            if not addrs:
                raise OSError("no address resolves")
            assert self._host is not None
            self._host.get_peerstore().add_addrs(peer, addrs, PEERSTORE_TTL_S)
            # The swarm refuses to dial a peer for 60 s after all its addresses
            # failed once; a restarting peer would stay unreachable that long.
            self._swarm()._negative_peer_cache.evict(pid)
            with trio.fail_after(DIAL_TIMEOUT_S):
                await self._host.connect(PeerInfo(peer, addrs))
        except Exception as exc:
            known.failures += 1
            delay = self._backoff(known.failures)
            known.next_dial = trio.current_time() + delay
            log.debug("dial %s failed (%s); next try in %.1f s",
                      short_peer(pid), exc, delay)
        else:
            known.failures = 0
        finally:
            self._dialing.discard(pid)
            self._wake_reconnect.set()

    async def _dial_addr_only(self, addr: str) -> None:
        state = self._addr_only_state[addr]
        try:
            targets = await resolve_addr(multiaddr.Multiaddr(addr))
            last: Exception | None = None
            for target in targets:
                try:
                    with trio.fail_after(DIAL_TIMEOUT_S):
                        pid = await self._dial_learning_id(target)
                except Exception as exc:
                    last = exc
                    continue
                self._addr_only[addr] = pid
                self._remember_addr(self._known.setdefault(pid, _Known()), addr)
                state.failures = 0
                log.debug("bootstrap %s is %s", addr, short_peer(pid))
                return
            raise last or OSError("no address resolves")
        except Exception as exc:
            state.failures += 1
            delay = self._backoff(state.failures)
            state.next_dial = trio.current_time() + delay
            log.debug("dial %s failed (%s); next try in %.1f s", addr, exc, delay)
        finally:
            self._dialing.discard("addr:" + addr)
            self._wake_reconnect.set()

    async def _dial_learning_id(self, addr: multiaddr.Multiaddr) -> str:
        """Dial ``addr`` (no /p2p/<id>) and return the peer id the Noise handshake
        authenticated. The swarm's dial API needs the id up front, so this runs the
        swarm's own outbound upgrade steps with no expected id, which Noise's XX
        initiator supports (the responder's key is still verified; only the
        equality check with an expected id is skipped)."""
        swarm = self._swarm()
        transport = swarm.transport_manager.transport_for_dialing(addr)
        if transport is None:
            raise OSError(f"no transport for {addr}")
        raw = await transport.dial(addr)
        try:
            secured = await swarm.upgrader.security_multistream.secure_outbound(
                raw, None)  # type: ignore[arg-type]  # None = learn the id (see above)
        except BaseException:
            await raw.close()
            raise
        peer = secured.get_remote_peer()
        pid = str(peer)
        if pid == self.peer_id or self._conns.get(pid):
            await secured.close()  # ourselves, or already connected by another path
            if pid == self.peer_id:
                raise OSError(f"{addr} is this node")
            return pid
        try:
            muxed = await swarm.upgrader.upgrade_connection(secured, peer)
        except BaseException:
            await secured.close()
            raise
        self._host.get_peerstore().add_addrs(  # type: ignore[union-attr]
            peer, [addr], PEERSTORE_TTL_S)
        conn = await swarm.add_conn(muxed, direction="outbound")
        await conn.event_started.wait()
        return pid

    # -- the peers file

    def _peers_json(self) -> str:
        peers = []
        for pid, known in self._known.items():
            addrs = self._addrs_of(pid, known)
            if not addrs:
                continue
            seen = now_ms() if self._conns.get(pid) else known.last_seen_ms
            peers.append({"peer_id": pid, "addrs": addrs, "last_seen_ms": seen})
        peers.sort(key=lambda p: -(cast(int | None, p["last_seen_ms"]) or 0))
        return json.dumps({"version": PEERS_FILE_VERSION, "peers": peers[:MAX_KNOWN_PEERS]},
                          indent=1)

    def _write_peers_file(self) -> None:
        _write_atomically(self._peers_file, self._peers_json())

    async def _persist_loop(self) -> None:
        while True:
            await self._dirty.wait()
            await trio.sleep(PERSIST_DELAY_S)  # coalesce a burst of changes
            self._dirty = trio.Event()
            text = self._peers_json()
            try:
                await trio.to_thread.run_sync(_write_atomically, self._peers_file, text)
            except OSError as exc:
                log.warning("could not write peers file %s: %s", self._peers_file, exc)
