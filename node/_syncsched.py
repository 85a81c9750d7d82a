"""The daemon's sync sessions (``/coopledger/sync/1``, node/_syncdriver.py): when a
session with a peer starts, how many run at once, and what the node does with how each
one ended.

- a peer connects (either direction): one pull sync with it; the side with the smaller
  peer id starts it, the other only if none has begun after CONNECT_SYNC_GRACE;
- every ``sync_interval`` seconds (with jitter): a sync with one random connected peer;
- ``request_sync`` queues a wish; the scheduler starts it unless a session with that
  peer runs already (either direction reconciles both ways) or MAX_SESSIONS run;
- at most one inbound and one outbound session per peer: a peer that opens more sync
  streams has them closed at once (``blocked:too-many-streams``);
- a session that brought news asks every other connected peer for a session (entries
  made before a node was connected are never gossiped); one the peer broke disconnects
  and bans it; each peer's agreed sync memory is kept in a file (``MemoryFiles``).

``SyncSessions`` is a part of ``_daemon.Node`` (a base class it inherits from): its
methods use the node's host, store, scope and blocks, declared below.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from coopledger.protocol import LocalHeads, PeerMemory

from ._clock import now_ms
from ._framing import StreamLike
from ._syncdriver import SessionDriver, SyncOutcome

if TYPE_CHECKING:
    from ._alerts import AlertDesk
    from ._astore import AsyncStore
    from ._blocks import Blocks
    from ._config import NodeConfig
    from ._p2p import P2P
    from ._replication import Replication

# The daemon's log lines name their logger (cli/_node.py, DAEMON_LOG_FORMAT): these
# keep the name they had when this code was part of node/_daemon.py.
log = logging.getLogger("coopledger.node._daemon")

MAX_SESSIONS = 16
CONNECT_SYNC_GRACE = 3.0
# Opening a stream can hang inside libp2p; the "out" slot must not stay taken.
OPEN_STREAM_TIMEOUT = 15.0
PROGRESS_LOG_EVERY = 5.0
SYNC_MEMORY_DIR = "sync"
# Starts the log line of a bug caught so the node keeps running (node/testing.py looks
# for it).
INTERNAL_ERROR = "internal error (a bug; please report it) with peer"


def short(peer: str) -> str:
    return peer[-8:] if len(peer) > 8 else peer


@dataclass
class PeerSync:
    """What `coop node status` shows about syncing with one peer."""

    # "in"/"out" -> its driver (None while the stream is being opened)
    active: dict[str, SessionDriver | None] = field(default_factory=dict)
    last_ok_ms: int | None = None
    last_result: str | None = None
    entries_received: int = 0
    behind_by: int = 0
    last_session: dict[str, Any] | None = None
    sessions: int = 0               # sessions started with this peer, both directions


class MemoryFiles:
    """Each peer's agreed sync memory, one file per peer id in ``dir``."""

    def __init__(self, dir: Path) -> None:
        self.dir = dir

    def path(self, peer: str) -> Path:
        return self.dir / f"{peer}.mem"

    def load(self, peer: str) -> PeerMemory | None:
        try:
            return PeerMemory.decode(self.path(peer).read_bytes())
        except OSError:
            return None

    def save(self, peer: str, memory: PeerMemory) -> None:
        """Write the memory of ``peer`` atomically. Two sessions with one peer (one each
        way) may finish at the same moment: each writes its own temporary file and the
        last rename wins (either memory is one both sides agreed on; if the peer kept the
        other, the digests differ and the next session exchanges full heads). A failure
        to save is not fatal either, for the same reason."""
        path = self.path(peer)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(memory.encode())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("sync memory for %s not saved (%s); the next session with it "
                        "exchanges full heads", short(peer), exc)


class SyncSessions:
    """The sync sessions of a node; see the module docstring. ``_daemon.Node`` sets
    the attributes below in its ``__init__`` and runs ``_sync_scheduler`` and
    ``_periodic_sync`` in its nursery."""

    p2p: P2P
    store: AsyncStore
    config: NodeConfig
    alerts: AlertDesk
    blocks: Blocks
    _syncs: dict[str, PeerSync]
    _memories: MemoryFiles
    _nursery: trio.Nursery | None
    _sync_requests: trio.MemorySendChannel[str]
    _sync_wanted: trio.MemoryReceiveChannel[str]

    if TYPE_CHECKING:  # Node's own (node/_daemon.py)
        async def refresh_replication(self, *, force: bool = False) -> Replication: ...
        def want(self) -> frozenset[bytes] | None: ...

    def _on_connected(self, peer: str) -> None:
        self.alerts.peer_connected(peer)
        # One session per new connection is enough (the protocol is symmetric), and two
        # at once would stream the same entries twice. The side with the smaller peer
        # id starts it; the other starts one itself if none has begun after a grace
        # period (the first side may have failed to open a stream).
        if self.p2p.peer_id < peer:
            self.request_sync(peer)
        elif self._nursery is not None:
            self._nursery.start_soon(self._fallback_sync, peer)

    async def _fallback_sync(self, peer: str) -> None:
        before = self._syncs.get(peer, PeerSync()).sessions
        await trio.sleep(CONNECT_SYNC_GRACE)
        ps = self._syncs.get(peer)
        if (ps is None or ps.sessions == before) and not (ps and ps.active):
            self.request_sync(peer)

    def request_sync(self, peer: str) -> None:
        try:
            self._sync_requests.send_nowait(peer)
        except trio.WouldBlock:
            pass

    async def _sync_scheduler(self) -> None:
        assert self._nursery is not None
        async for peer in self._sync_wanted:
            ps = self._syncs.setdefault(peer, PeerSync())
            # A session in either direction already reconciles both ways.
            if ps.active or self._session_count() >= MAX_SESSIONS:
                continue
            self._nursery.start_soon(self._sync_out, peer)

    async def _periodic_sync(self) -> None:
        rng = random.Random()
        while True:
            await trio.sleep(self.config.sync_interval * rng.uniform(0.8, 1.2))
            peers = self.p2p.connected_peers()
            if peers:
                self.request_sync(rng.choice(peers))

    def _session_count(self) -> int:
        return sum(len(ps.active) for ps in self._syncs.values())

    async def _sync_out(self, peer: str) -> None:
        ps = self._syncs.setdefault(peer, PeerSync())
        if "out" in ps.active:
            return
        ps.active["out"] = None
        try:
            try:
                with trio.fail_after(OPEN_STREAM_TIMEOUT):
                    stream = await self.p2p.open_sync_stream(peer)
            except Exception as exc:  # libp2p raises many kinds; all mean "not now"
                log.debug("sync with %s: cannot open a stream: %s", short(peer), exc)
                ps.last_result = "closed:sync-stream"
                return
            await self._guarded_session(stream, peer, "out")
        finally:
            ps.active.pop("out", None)

    async def _on_sync_stream(self, stream: StreamLike, peer: str) -> None:
        ps = self._syncs.setdefault(peer, PeerSync())
        if "in" in ps.active or self._session_count() >= MAX_SESSIONS:
            log.warning("peer %s: sync stream refused: blocked:too-many-streams",
                        short(peer))
            with trio.move_on_after(1):
                await stream.aclose()
            return
        # Take the slot before the first await: streams opened meanwhile by the same
        # peer must find it taken (found by tests/integration/test_bad_peers.py).
        ps.active["in"] = None
        try:
            await self._guarded_session(stream, peer, "in")
        finally:
            ps.active.pop("in", None)

    async def _guarded_session(self, stream: StreamLike, peer: str, direction: str) -> None:
        """A bug in one session must not stop the node: it is logged with its traceback
        (the test harness fails on such a line) and the session dropped."""
        try:
            await self._run_session(stream, peer, direction)
        except Exception:  # broad on purpose: a session's task boundary (any bug, logged)
            log.exception("%s %s: the sync session was dropped", INTERNAL_ERROR,
                          short(peer))
            self._syncs[peer].last_result = "internal-error"
            with trio.move_on_after(1):
                await stream.aclose()

    async def _run_session(self, stream: StreamLike, peer: str, direction: str) -> None:
        ps = self._syncs.setdefault(peer, PeerSync())
        await self.refresh_replication()
        local = LocalHeads(self.config.network, await self.store.sync_heads())
        memory = await trio.to_thread.run_sync(self._memories.load, peer)
        driver = SessionDriver(stream, self.alerts.seen.sync_backend(self.store), peer=peer,
                               local=local, memory=memory,
                               initiator=direction == "out", want=self.want(),
                               blocks=self.blocks)
        ps.active[direction] = driver
        ps.sessions += 1
        started = trio.current_time()
        async with trio.open_nursery() as n:
            n.start_soon(self._log_progress, driver, peer)
            outcome = await driver.run()
            n.cancel_scope.cancel()
        await self._finish(outcome, peer, ps, trio.current_time() - started)

    async def _log_progress(self, driver: SessionDriver, peer: str) -> None:
        while True:
            await trio.sleep(PROGRESS_LOG_EVERY)
            st = driver.statistics()
            log.info("sync with %s: %d entries received, %d sent, behind by %d",
                     short(peer), st.entries_received, st.entries_sent, st.behind_by)

    async def _finish(self, outcome: SyncOutcome, peer: str, ps: PeerSync,
                      seconds: float) -> None:
        st = outcome.statistics
        ps.last_result = outcome.reason or "ok"
        ps.last_session = {
            "result": ps.last_result, "seconds": round(seconds, 3),
            "new_entries": outcome.new_entries, "entries_sent": st.entries_sent if st else 0,
            "bytes_sent": outcome.bytes_sent, "bytes_received": outcome.bytes_received,
            "rounds": outcome.rounds, "incremental": st.incremental if st else None,
        }
        ps.entries_received += outcome.new_entries
        if outcome.new_entries:
            # News travels on: the other peers may lack what this one brought (entries
            # made before a node was connected are never gossiped). A peer that already
            # has them answers with an incremental session of a few hundred bytes.
            for other in self.p2p.connected_peers():
                if other != peer:
                    self.request_sync(other)
        if outcome.ok:
            ps.last_ok_ms = now_ms()
            ps.behind_by = 0
            if outcome.memory is not None:
                await trio.to_thread.run_sync(self._memories.save, peer, outcome.memory)
            log.info("sync with %s done in %.2f s: %d new entries, %d sent",
                     short(peer), seconds, outcome.new_entries,
                     st.entries_sent if st else 0)
        elif outcome.peer_at_fault:
            ps.behind_by = st.behind_by if st else 0
            log.warning("peer %s: %s: %s", short(peer), outcome.reason, outcome.message)
            await self.p2p.disconnect(peer, outcome.reason or "invalid")
        else:
            ps.behind_by = st.behind_by if st else 0
            log.info("sync with %s interrupted (%s) after %d new entries; it resumes "
                     "at the next session", short(peer), outcome.reason,
                     outcome.new_entries)
