"""How the libp2p host (node/_p2p.py) finds its peers again: peers mDNS discovers, the
reconnect task that carries out the reconnect plan (node/_reconnect.py), the dials of
known peers and of bootstrap addresses that name no peer id, and the task that keeps
the peers file (node/_peersfile.py) up to date.

``Dialing`` is a part of ``P2P`` (a base class it inherits from): its methods use the
host's state, declared below, which ``P2P.__init__`` sets.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p.abc import IHost
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.peer.peerstore import PeerStoreError

from ._clock import now_ms
from ._logging import short_peer
from ._p2plib import PEERSTORE_TTL_S, _strip_p2p, dial_learning_id, resolve_addr
from ._peersfile import (
    MAX_ADDRS_PER_PEER,
    _Known,
    _write_atomically,
    peers_json,
    remember_addr,
)
from ._reconnect import DialState, Gate, addr_key, dial_failed, plan
from ._reconnect import connected as note_connected

# The host's log lines name their logger (cli/_node.py, DAEMON_LOG_FORMAT): these keep
# the name they had when this code was part of node/_p2p.py.
log = logging.getLogger("coopledger.node._p2p")

DIAL_TIMEOUT_S = 10.0
PERSIST_DELAY_S = 2.0  # coalesce peers-file writes


class Dialing:
    """Discovery, redialling and the peers file of a ``P2P``; see the module
    docstring."""

    peer_id: str
    _host: IHost | None
    _known: dict[str, _Known]
    # bootstrap addresses without /p2p/<id>: address -> id learned from Noise
    _addr_only: dict[str, str | None]
    _addr_only_state: dict[str, DialState]
    _allow: set[str]
    _members: frozenset[str] | None
    _blocked: frozenset[str]
    _banned: dict[str, float]
    _conns: dict[str, set[int]]
    _dialing: set[str]
    _nursery: trio.Nursery | None
    _wake_reconnect: trio.Event
    _dirty: trio.Event
    _token: trio.lowlevel.TrioToken | None
    _rng: random.Random
    _peers_file: Path

    if TYPE_CHECKING:  # P2P's own (node/_p2p.py)
        def _allowed(self, pid: str) -> bool: ...
        def _swarm(self) -> Swarm: ...
        def connected_peers(self) -> list[str]: ...

    def _is_connected(self, pid: str) -> bool:
        return bool(self._conns.get(pid))

    def _mdns_discovered_from_thread(self, info: PeerInfo) -> None:
        # zeroconf calls this on its own thread, and the handler list is global to
        # the process: hand over to our trio loop, and let each P2P filter.
        token = self._token
        if token is None:
            return
        try:
            token.run_sync_soon(self._mdns_discovered, info)
        except trio.RunFinishedError:
            pass  # the host's loop has ended: nobody is left to tell

    def _mdns_discovered(self, info: PeerInfo) -> None:
        pid = str(info.peer_id)
        if self._host is None or pid == self.peer_id:
            return
        if not self._allowed(pid):
            return
        known = self._known.setdefault(pid, _Known())
        for a in info.addrs:
            remember_addr(known, str(_strip_p2p(a)))
        log.debug("mDNS found %s", short_peer(pid))
        self._dirty.set()
        self._wake_reconnect.set()

    def _addrs_of(self, pid: str, known: _Known) -> list[str]:
        addrs = list(known.addrs)
        if self._host is not None:
            try:
                for a in self._host.get_peerstore().addrs(ID.from_base58(pid)):
                    s = str(_strip_p2p(a))
                    if s not in addrs and "p2p-circuit" not in s:
                        addrs.append(s)
            except PeerStoreError:
                pass  # the peerstore holds no (unexpired) address of it: ours only
        return addrs[:MAX_ADDRS_PER_PEER]

    def _gate(self) -> Gate:
        admitted = None
        if self._allow or self._members is not None:
            admitted = self._allow | (self._members or frozenset())
        return Gate(own=self.peer_id, connected=set(self.connected_peers()),
                              dialing=set(self._dialing), admitted=admitted,
                              blocked=self._blocked, banned=dict(self._banned))

    async def _reconnect_loop(self) -> None:
        """Dial every known, not connected, not banned peer (and every bootstrap
        address without a peer id whose node is not connected), each on its own
        backoff, as the reconnect plan (node/_reconnect.py) says."""
        assert self._nursery is not None
        while True:
            self._wake_reconnect = trio.Event()
            known = dict(self._known)

            def has_addrs(pid: str, known: dict[str, _Known] = known) -> bool:
                return bool(self._addrs_of(pid, known[pid]))

            todo = plan(
                trio.current_time(), self._gate(), known, has_addrs,
                {a: (learned, self._addr_only_state[a])
                 for a, learned in self._addr_only.items()})
            for pid in todo.peers:
                self._dialing.add(pid)
                self._nursery.start_soon(self._dial_known, pid)
            for addr in todo.addrs:
                self._dialing.add(addr_key(addr))
                self._nursery.start_soon(self._dial_addr_only, addr)
            with trio.move_on_at(todo.wake_at):
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
            # failed once; a restarting peer would stay unreachable that long
            # (docs/libp2p.md, "Reconnecting").
            self._swarm()._negative_peer_cache.evict(pid)
            with trio.fail_after(DIAL_TIMEOUT_S):
                await self._host.connect(PeerInfo(peer, addrs))
        except Exception as exc:
            # Broad on purpose, and logged: a dial fails with any of many unrelated
            # libp2p types (swarm, security, muxer, transport) or OSError or
            # trio.TooSlowError, and each means the same: try again later.
            delay = dial_failed(known, trio.current_time(), self._rng)
            log.debug("dial %s failed (%s); next try in %.1f s",
                      short_peer(pid), exc, delay)
        else:
            note_connected(known)
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
                        pid = await dial_learning_id(
                            self._swarm(), self._swarm().peerstore, target,  # the host's
                            own=self.peer_id, connected=self._is_connected)
                except Exception as exc:  # any dial failure (see _dial_known): next target
                    last = exc
                    continue
                self._addr_only[addr] = pid
                remember_addr(self._known.setdefault(pid, _Known()), addr)
                note_connected(state)
                log.debug("bootstrap %s is %s", addr, short_peer(pid))
                return
            raise last or OSError("no address resolves")
        except Exception as exc:  # any dial failure (see _dial_known): try again later
            delay = dial_failed(state, trio.current_time(), self._rng)
            log.debug("dial %s failed (%s); next try in %.1f s", addr, exc, delay)
        finally:
            self._dialing.discard(addr_key(addr))
            self._wake_reconnect.set()


    def _peers_json(self) -> str:
        return peers_json(
            (pid, self._addrs_of(pid, known),
             now_ms() if self._conns.get(pid) else known.last_seen_ms)
            for pid, known in self._known.items())

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
