"""What node/_p2p.py needs from py-libp2p 0.8.1 beyond its public calls: the GossipSub
settings, the queue sizes and the auto-connector we turn off, the connection gate
inside Noise, the notifee, keys and peer ids, multiaddr helpers, the outbound upgrade
run by hand for a bootstrap address that names no peer id, and the router's message
cache. Why each is needed, and what was measured, is in docs/libp2p.md.

libp2p is pinned (pyproject.toml) because this module reaches into three library
internals, each pinned by a test in tests/node/test_p2p.py: the pubsub queue sizes,
module constants in 0.8.1 (``_tune_libp2p``); the upgrade steps of an outbound dial
(``dial_learning_id``); the gossip router's message cache (``forget_cached``). The
host (node/_p2p.py) reaches into a fourth, the swarm's negative dial cache.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p.abc import (
    IHost,
    INetConn,
    INetStream,
    INotifee,
    IPeerStore,
    IRawConnection,
    ISecureConn,
)
from libp2p.crypto.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.pubsub import pubsub as _pubsub_module
from libp2p.pubsub.gossipsub import PROTOCOL_ID as MESHSUB_10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as MESHSUB_11
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V12 as MESHSUB_12
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pubsub import ContentAddressedMessageIDGenerator, Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.security.exceptions import HandshakeFailure
from libp2p.security.noise.transport import Transport as NoiseTransport
from multiaddr.exceptions import (  # type: ignore[import-untyped]
    BinaryParseError,
    ProtocolLookupError,
)

from coopledger.crypto import SecretKey

# GossipSub, as measured (docs/libp2p.md, "Gossip"): every message arrived in every run.
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

PEERSTORE_TTL_S = 7 * 24 * 3600  # addresses we hand the libp2p peerstore
_DNS_PROTOCOLS = {"dns", "dns4", "dns6"}


# -- the router ------------------------------------------------------------------------


def make_router(host: IHost) -> tuple[GossipSub, Pubsub]:
    """The GossipSub router and pubsub service of ``host``, with our settings."""
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
    return gossipsub, pubsub


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
    """Replaces the swarm's auto-connector (the host's reconnect task owns redialling)."""


def forget_cached(gossipsub: GossipSub | None, drop: Callable[[bytes], bool]) -> int:
    """Remove from the router's message cache every message whose data ``drop``
    accepts; how many were removed. (py-libp2p 0.8.1's MessageCache: ``msgs`` by id
    and ``history`` windows of CacheEntry; pinned version.)"""
    mcache = getattr(gossipsub, "mcache", None)
    if mcache is None:
        return 0
    gone = {mid for mid, msg in mcache.msgs.items() if drop(bytes(msg.data))}
    for mid in gone:
        del mcache.msgs[mid]
    if gone:
        mcache.history = [[c for c in window if c.mid not in gone]
                          for window in mcache.history]
    return len(gone)


# -- connections -------------------------------------------------------------------------


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
                # Broad on purpose: closing a refused connection may fail with any of
                # the secure session's or the socket's errors; the refusal below is
                # what the swarm must hear either way.
                pass
            raise HandshakeFailure("peer refused by connection gate")
        return conn

    async def secure_inbound(self, conn: IRawConnection) -> ISecureConn:
        return await self._check(await super().secure_inbound(conn))

    async def secure_outbound(self, conn: IRawConnection, peer_id: ID) -> ISecureConn:
        return await self._check(await super().secure_outbound(conn, peer_id))


class _Notifee(INotifee):
    """Tells the host of each connection that opens (``up``) and closes (``down``)."""

    def __init__(self, up: Callable[[INetConn], None],
                 down: Callable[[INetConn], None]) -> None:
        self._up, self._down = up, down

    async def opened_stream(self, network: Any, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: Any, stream: INetStream) -> None:
        pass

    async def connected(self, network: Any, conn: INetConn) -> None:
        self._up(conn)

    async def disconnected(self, network: Any, conn: INetConn) -> None:
        self._down(conn)

    async def listen(self, network: Any, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: Any, multiaddr: multiaddr.Multiaddr) -> None:
        pass


async def dial_learning_id(swarm: Swarm, peerstore: IPeerStore, addr: multiaddr.Multiaddr,
                           *, own: str, connected: Callable[[str], bool]) -> str:
    """Dial ``addr`` (no /p2p/<id>) and return the peer id the Noise handshake
    authenticated. The swarm's dial API needs the id up front, so this runs the
    swarm's own outbound upgrade steps with no expected id, which Noise's XX
    initiator supports (the responder's key is still verified; only the
    equality check with an expected id is skipped). ``own`` is our peer id (dialling
    ourselves is an OSError); a peer already ``connected`` is not connected twice."""
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
    if pid == own or connected(pid):
        await secured.close()  # ourselves, or already connected by another path
        if pid == own:
            raise OSError(f"{addr} is this node")
        return pid
    try:
        muxed = await swarm.upgrader.upgrade_connection(secured, peer)
    except BaseException:
        await secured.close()
        raise
    peerstore.add_addrs(peer, [addr], PEERSTORE_TTL_S)
    conn = await swarm.add_conn(muxed, direction="outbound")
    await conn.event_started.wait()
    return pid


# -- keys and addresses ------------------------------------------------------------------


def peer_id_of(author: bytes) -> str:
    """The libp2p peer id of the node whose identity is the co-op key ``author``."""
    return str(ID.from_pubkey(Ed25519PublicKey.from_bytes(author)))


def _libp2p_keypair(key: SecretKey) -> KeyPair:
    private = Ed25519PrivateKey.from_bytes(key.raw)
    return KeyPair(private, private.get_public_key())


def _p2p_value(addr: multiaddr.Multiaddr) -> Any:
    """The value of ``addr``'s /p2p part; None if it has none (or cannot be read)."""
    try:
        return addr.value_for_protocol("p2p")
    except (ProtocolLookupError, BinaryParseError):  # no /p2p part; a damaged address
        return None


def _strip_p2p(addr: multiaddr.Multiaddr) -> multiaddr.Multiaddr:
    pid = _p2p_value(addr)
    if pid:
        return addr.decapsulate(multiaddr.Multiaddr(f"/p2p/{pid}"))
    return addr


def _peer_of(addr: multiaddr.Multiaddr) -> str | None:
    pid = _p2p_value(addr)
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
