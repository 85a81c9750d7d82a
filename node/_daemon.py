"""The daemon: `coop node start`. One trio process that owns the store, the libp2p
host (``_p2p.P2P``), the sync sessions (node/_syncsched.py) and the local HTTP API.

What happens when:

- a peer connects (either direction): a pull sync with it (``/coopledger/sync/1``);
- every ``sync_interval`` seconds (with jitter): a sync with one random connected peer;
- an entry arrives by gossip: the topic validator has checked its shape and signature;
  it is stored through the same Ingest as bundles, in small batches. If it does not
  apply yet (it is past a gap), a sync with the peer that sent it fetches the gap;
- we append an entry (API): it is stored, then published on the topic at once;
- a bundle is imported through the API: a sync round with every connected peer
  follows (gossiping thousands of entries would flood the mesh; sync is cheaper);
- the replication scope (SPEC §12: the co-ops of every federation this co-op is in or
  invited to; None = every author) is recomputed when the state changes (the economy
  is cached by the state, so this is cheap): sessions send it as ``want`` and exchange
  only those logs; gossip entries of other authors are dropped (not an offence);
  the node gossips on one topic per federation (``federation_topic``), plus the
  network topic while the scope is None; with ``allow_members`` only co-ops in the
  scope (and ``allow``) may connect;
- a peer breaks the sync protocol or sends entries that fail validation: the session
  ends, the peer is disconnected and banned for a while, and a WARNING names the
  reason code;
- the operator blocks a peer or an author (API, ``node/_blocks.py``): in force at once
  in the connection gate, the gossip validator, open and new sync sessions, the
  ``want`` and the store; unblocking an author starts a sync with every connected peer.

At most one inbound and one outbound session per peer, and MAX_SESSIONS in all
(node/_syncsched.py); a peer that opens more sync streams has them closed at once
(``blocked:too-many-streams``). The replication scope is node/_replication.py.

SIGINT or SIGTERM: the API stops, sessions are cancelled (a batch being written
finishes first: store threads are never abandoned), the host shuts down, the run file
is removed. A second signal exits at once; SQLite keeps the store consistent anyway.
"""

from __future__ import annotations

import logging
import os
import random
import signal
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    MAX_ENTRY_SIZE,
    MAX_WANT,
    Entry,
    ValidationError,
    Value,
    decode_entry,
    entry_author,
    verify_signature,
)

from ._alerts import ALERT_PROTOCOL, AlertDesk, IdleDesk
from ._astore import AsyncStore
from ._blocks import BLOCKS_FILE, Block, BlockList, Blocks
from ._bundles import ImportReport
from ._clock import now_ms
from ._config import NodeConfig, parse_api_address
from ._home import Home
from ._replication import EVERYTHING as EVERYTHING
from ._replication import Replication as Replication
from ._replication import federation_topic as federation_topic
from ._replication import replication_of
from ._store import Store
from ._syncsched import SYNC_MEMORY_DIR, MemoryFiles, PeerSync, SyncSessions, short
from ._verify import Verifier
from ._witness import checkpoint_loop, witness_loop

if TYPE_CHECKING:
    # trio-typing (a libp2p dependency) shadows trio's inline types for mypy and has
    # no trio.TaskStatus; its own TaskStatus is the same thing.
    from trio_typing import TaskStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ARRIVALS = 100_000
SNAPSHOT_EVERY = 0.5
GOSSIP_BATCH = 256


class Node(SyncSessions):
    """A running node. Implements ``_service.NodeService`` for the API; its sync
    sessions are in node/_syncsched.py."""

    # Replaced in __init__ by the home's list; a Node made without it (a test of one
    # method) blocks nothing.
    blocks = Blocks(Path(os.devnull), BlockList())
    alerts: AlertDesk = IdleDesk()  # the same for alerts (node/_alerts.py)

    def __init__(self, home: Home, config: NodeConfig, key: SecretKey, *,
                 store: AsyncStore) -> None:
        from ._p2p import P2P, peer_id_of  # imports libp2p (~1 s): only when a node starts

        self.home = home
        self.config = config
        self.key = key
        self.store = store
        self.api_address: str | None = None
        self.started_ms = now_ms()
        self.stopping = False
        self._syncs: dict[str, PeerSync] = {}
        self._gossip_in, self._gossip_out = trio.open_memory_channel[tuple[bytes, str]](4096)
        self._sync_requests, self._sync_wanted = trio.open_memory_channel[str](1024)
        self._changed = trio.Event()
        self._snapshot: dict[str, Any] = {"entries_held": 0, "state_hash": None}
        self._nursery: trio.Nursery | None = None
        self.max_stall = 0.0
        # When each recent entry first reached this node (ms): status, benchmarks.
        self.arrivals: OrderedDict[bytes, int] = OrderedDict()
        store.on_new = self._on_new_entries
        self._memories = MemoryFiles(home.path / SYNC_MEMORY_DIR)
        self.replication = EVERYTHING
        self._replication_of: object = None   # the economy it was computed from
        # Solidarity alerts: auto-ack, priority push, last way seen (node/_alerts.py).
        self.alerts = AlertDesk(self, peer_id_of=peer_id_of)
        self.p2p = P2P(
            key, listen=config.listen, bootstrap=config.bootstrap, mdns=config.mdns,
            allow=config.allow, topic=config.network, peers_file=home.path / "peers.json",
            validate_gossip=self.validate_gossip, on_gossip=self._on_gossip,
            on_connected=self._on_connected, on_sync_stream=self._on_sync_stream,
            streams={ALERT_PROTOCOL: self.alerts.handle_stream})
        # The operator's blocks, in force before the host starts (HOME/blocks.json).
        self.blocks = Blocks.load(home.path, own_peer=self.p2p.peer_id,
                                  own_identity=home.identity, own_key=home.author)
        self.blocks.subscribe(self._blocks_changed)
        self._blocks_changed()

    def _blocks_changed(self, block: Block | None = None, added: bool = True) -> None:
        self.p2p.set_blocked(self.blocks.peers)
        self.store.store.refused_authors = self.blocks.keys
        self.store.store.on_refused = self.blocks.note_refused
        if block is not None and block.kind == "author" and added:
            keys = self.blocks.keys  # what the router cached of theirs goes too
            self.p2p.forget_gossip(lambda data: entry_author(data) in keys)
        if block is not None and block.kind == "author" and not added:
            for peer in self.p2p.connected_peers():  # fetch what was dropped meanwhile
                self.request_sync(peer)

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        self._memories.dir.mkdir(exist_ok=True)
        await self._refresh_snapshot()
        await self.refresh_replication()  # topics and gate are set before the host runs
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.p2p.run)
            nursery.start_soon(self._gossip_ingest_loop)
            nursery.start_soon(self._sync_scheduler)
            nursery.start_soon(self._periodic_sync)
            nursery.start_soon(self._snapshot_loop)
            nursery.start_soon(self._stall_monitor)
            nursery.start_soon(checkpoint_loop, self)   # SPEC §14.1
            nursery.start_soon(witness_loop, self)      # SPEC §14.3
            nursery.start_soon(self.alerts.run)
            log.info("node %s listening on %s (network %r)", self.p2p.peer_id,
                     ", ".join(self.p2p.listen_addrs()), self.config.network)
            task_status.started()

    def _on_new_entries(self, ids: list[bytes]) -> None:
        now = now_ms()
        for i in ids:
            self.arrivals[i] = now
        while len(self.arrivals) > MAX_ARRIVALS:
            self.arrivals.popitem(last=False)
        self._changed.set()
        self.alerts.wake()

    # ---- replication scope ------------------------------------------------------------

    async def refresh_replication(self, *, force: bool = False) -> Replication:
        """Recompute the scope if the state changed since (its economy is a new object)
        or ``force``, and apply it to the gossip topics and the connection gate."""
        me = self.home.author

        def compute() -> tuple[object, Replication | None]:
            state = self.store.store.state()
            key = state.economy()  # cached: a new object only after an economic entry
            self.blocks.expand(key.gov.ids)  # a blocked co-op's keys (none new: same ids)
            if key is self._replication_of and not force:
                return key, None
            return key, replication_of(state, me)

        key, new = await self.store.call(compute)
        self.store.store.refused_authors = self.blocks.keys
        if new is not None:
            self._replication_of = key
            if new != self.replication:
                self._apply_replication(new)
        return self.replication

    def _apply_replication(self, new: Replication) -> None:
        self.replication = new
        if new.authors is None:
            log.info("replicating every log of network %r", self.config.network)
        else:
            log.info("replicating %d logs of %d federations", len(new.authors),
                     len(new.federations))
        topics = {federation_topic(self.config.network, f) for f in new.federations}
        if new.authors is None:
            topics.add(self.config.network)
        self.p2p.set_topics(topics)
        self.p2p.also_publish = frozenset({self.config.network})
        if self.config.allow_members:
            from ._p2p import peer_id_of
            self.p2p.set_members(None if new.authors is None
                                 else {peer_id_of(a) for a in new.authors})

    def want(self) -> frozenset[bytes] | None:
        """The ``want`` of our sync hellos: the scope, or None if it is everything or
        too large for one hello (then the session exchanges everything the peer
        wants; gossip outside the scope is still dropped)."""
        authors = self.replication.authors
        if authors is not None and self.blocks.keys:
            authors = authors - self.blocks.keys  # blocked: not asked for, not served
        if authors is not None and len(authors) > MAX_WANT:
            log.warning("replication scope of %d authors is over %d: sync asks for "
                        "every log", len(authors), MAX_WANT)
            return None
        return authors

    def arrival(self, entry_id: bytes) -> int | None:
        """When ``entry_id`` reached this node (ms since the epoch), if recent."""
        return self.arrivals.get(entry_id)

    # ---- gossip ----------------------------------------------------------------------

    def validate_gossip(self, data: bytes) -> bool:
        """The topic validator: forward only well-formed, correctly signed entries."""
        if len(data) > MAX_ENTRY_SIZE:
            log.debug("gossip refused: invalid:too-large (%d bytes)", len(data))
            return False
        if self.blocks.gossip_refused(data):
            return False  # a blocked author: neither kept nor relayed
        try:
            verify_signature(decode_entry(data))
        except ValidationError as exc:
            log.debug("gossip refused: %s", exc.reason)
            return False
        return True

    async def _on_gossip(self, data: bytes, peer: str) -> None:
        if self.blocks.gossip_refused(data, peer):
            return  # validated before the block
        scope = self.replication.authors
        if scope is not None and entry_author(data) not in scope:
            # Another federation's co-op, or news from before we left: not ours to
            # keep, and no offence (the publisher may gossip on several topics).
            log.debug("gossip from %s: author outside our scope, dropped", short(peer))
            return
        if self.alerts.take_gossip(data, peer):
            return  # an alert entry: ingested ahead of the queue
        try:
            self._gossip_in.send_nowait((data, peer))
        except trio.WouldBlock:
            # Sync will bring it; dropping here keeps a flood from growing memory.
            log.debug("gossip queue full; entry from %s left to sync", short(peer))

    async def _gossip_ingest_loop(self) -> None:
        async for first in self._gossip_out:
            batch = [first]
            while len(batch) < GOSSIP_BATCH:
                try:
                    batch.append(self._gossip_out.receive_nowait())
                except trio.WouldBlock:
                    break
            counts = await self.store.ingest([d for d, _ in batch])
            if counts.new:
                log.debug("gossip: %d new entries, %d apply", counts.new, counts.applied)
            if counts.new > counts.applied:
                # Something arrived past a gap: fetch the gap from its publisher if we
                # are connected to it (it holds the whole log), else from any peer.
                connected = self.p2p.connected_peers()
                for peer in {p for _, p in batch}:
                    if peer in connected:
                        self.request_sync(peer)
                    elif connected:
                        self.request_sync(random.choice(connected))

    # ---- status ----------------------------------------------------------------------

    async def _stall_monitor(self) -> None:
        """Measures how late the loop wakes a sleeping task: the largest event-loop
        stall. Over 100 ms is a warning: every peer's gossip and sync waited that long."""
        tick = 0.02
        while True:
            t0 = trio.current_time()
            await trio.sleep(tick)
            late = trio.current_time() - t0 - tick
            if late > self.max_stall:
                self.max_stall = late
                if late > 0.1:
                    log.warning("the event loop stalled for %.0f ms", late * 1000)

    async def _refresh_snapshot(self) -> None:
        def read() -> dict[str, Any]:
            st = self.store.store.state()
            return {"entries_held": self.store.store.count(),
                    "state_hash": st.state_hash()}
        self._snapshot = await self.store.call(read)

    async def _snapshot_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            await self._refresh_snapshot()
            await self.refresh_replication()
            # At most two refreshes a second under a flood: each counts the entries
            # and hashes the state while holding the store, which stalls ingest.
            await trio.sleep(SNAPSHOT_EVERY)

    def status(self) -> dict[str, Any]:
        connected = set(self.p2p.connected_peers())
        sync = []
        for peer, ps in sorted(self._syncs.items()):
            live = [d for d in ps.active.values() if d is not None]
            behind = max((d.statistics().behind_by for d in live), default=ps.behind_by)
            sync.append({
                "peer_id": peer, "connected": peer in connected,
                "syncing": bool(live), "behind_by": behind,
                "entries_received": ps.entries_received
                + sum(d.new_entries for d in live),
                "last_sync_ms": ps.last_ok_ms, "last_result": ps.last_result,
                "last_session": ps.last_session,
            })
        return {
            "name": self.home.name, "author": self.home.author.hex(),
            "identity": self.home.identity.hex(),
            "peer_id": self.p2p.peer_id, "network": self.config.network,
            "listen": self.p2p.listen_addrs(), "api": self.api_address,
            "pid": os.getpid(), "started_ms": self.started_ms,
            "connected_peers": sorted(connected),
            "entries_held": self._snapshot["entries_held"],
            "state_hash": self._snapshot["state_hash"],
            "sync": sync,
            "replication": {
                "authors": None if self.replication.authors is None
                else len(self.replication.authors),
                "federations": [f.hex() for f in self.replication.federations],
                "topics": self.p2p.topics(),
            },
            "loop_stall_max_ms": round(self.max_stall * 1000, 1),
            "alerts": self.alerts.statistics(),
        }

    def peers(self) -> list[dict[str, Any]]:
        out = []
        for p in self.p2p.known_peers():
            ps = self._syncs.get(p["peer_id"])
            out.append({**p, "last_sync_ms": ps.last_ok_ms if ps else None,
                        "last_result": ps.last_result if ps else None})
        return out

    # ---- writes (the API calls these) ------------------------------------------------

    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry:
        entry = await self.store.append(self.key, kind, body, ts if ts is not None
                                        else now_ms(), refs or [])
        try:
            await self.p2p.publish(entry.raw)
        except Exception as exc:  # stored is what matters; sync carries it otherwise
            log.warning("entry %s stored but not gossiped: %s", entry.id.hex()[:8], exc)
        return entry

    async def import_bundle(self, path: Path) -> ImportReport:
        report = await self.alerts.recording_bundle(
            lambda: self.store.import_bundle(path), None)
        if report.new:
            for peer in self.p2p.connected_peers():
                self.request_sync(peer)
        return report

    async def entry(self, entry_id: bytes) -> Entry | None:
        return await self.store.call(self.store.store.get, entry_id)

    async def query(self, fn: Callable[[Store], T]) -> T:
        return await self.store.call(fn, self.store.store)

    async def rebuild(self) -> str:
        state = await self.store.rebuild()
        self._replication_of = None
        self._changed.set()
        return state.state_hash()


# ---- running it ----------------------------------------------------------------------

@asynccontextmanager
async def _signals_cancel(scope: trio.CancelScope) -> AsyncIterator[None]:
    async def watch(sigs: Any) -> None:
        async for signum in sigs:
            if scope.cancel_called:
                log.warning("second signal: exiting now (the store stays consistent)")
                os._exit(130)
            log.info("%s received: stopping", signal.Signals(signum).name)
            scope.cancel()

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as sigs:
        async with trio.open_nursery() as n:
            n.start_soon(watch, sigs)
            yield
            n.cancel_scope.cancel()


async def serve(home: Home, config: NodeConfig, key: SecretKey,
                *, task_status: TaskStatus[Node] = trio.TASK_STATUS_IGNORED) -> None:
    """Run a node until cancelled: store, host, API, run file."""
    from ._api import serve_api
    from ._runfile import ensure_token, remove_runfile, write_runfile

    api_host, api_port = parse_api_address(config.api)
    token = ensure_token(home.path)
    with Verifier() as verifier, home.open_store() as raw_store:
        node = Node(home, config, key, store=AsyncStore(raw_store, verifier))
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                bound = await nursery.start(partial(serve_api, spool_dir=home.path,
                                                    blocks=node.blocks),
                                            node, api_host, api_port, token)
                node.api_address = f"{bound[0]}:{bound[1]}"
                write_runfile(home.path, api=node.api_address, peer_id=node.p2p.peer_id)
                log.info("API on http://%s (token in %s)", node.api_address,
                         home.path / "api-token")
                task_status.started(node)
        finally:
            remove_runfile(home.path)


def run_node(home: Home, config: NodeConfig, key: SecretKey) -> None:
    """`coop node start`: run in the foreground until SIGINT or SIGTERM."""
    from ._logging import restore_libp2p_logging

    BlockList.load(home.path / BLOCKS_FILE)  # a damaged block list: one clear error, now
    restore_libp2p_logging()

    async def main() -> None:
        with trio.CancelScope() as scope:
            async with _signals_cancel(scope):
                await serve(home, config, key)
        log.info("node stopped")

    trio.run(main)

