"""Drives one ``SyncSession`` (protocol/_sync.py) over one byte stream.

The machine decides; this module only moves bytes and calls the store:

- frames (node/_framing.py): a 4-byte big-endian length, then one message of at most
  MAX_MESSAGE_SIZE bytes; a larger length is the peer's fault (``invalid:sync-too-large``) and is
  refused before anything is read or buffered;
- one task reads frames and feeds them to the machine, another writes the frames the
  machine wants sent, and the main loop carries out the other actions (read a range
  from the store, validate and store a batch, persist the peer memory). Reading never
  waits for writing, so a peer that stops reading stalls only its own direction; the
  machine's window bounds what either side buffers;
- no progress in either direction for ``idle_timeout`` seconds ends the session
  (``timeout:sync-idle``): a stalled peer costs a stream, never the node;
- entries received go through ``SyncBackend.store_batch`` (the same Ingest path as
  bundles). If any entry is refused the session ends with that entry's reason code
  and the caller disconnects the peer;
- with ``blocks`` (node/_blocks.py), entries of authors the operator blocked are
  dropped before storing (not the peer's fault) and a read of a blocked author's range
  is answered with no entries, so the session stops serving it the moment it is
  blocked (a batch already cut may still go out).

The stream is anything with trio's stream methods (``receive_some``, ``send_all``,
``aclose``), so tests drive it with ``trio.testing.memory_stream_pair``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import trio

from coopledger.protocol import (
    MAX_MESSAGE_SIZE,
    Action,
    Disconnect,
    Done,
    LocalHeads,
    PeerMemory,
    ProtocolError,
    ReadEntries,
    SendMessage,
    StoreEntries,
    SyncSession,
    SyncState,
    SyncStatistics,
)

from ._errors import NodeError
from ._framing import HEADER, FrameTooLarge, StreamEnded
from ._framing import StreamLike as StreamLike
from ._framing import frame as frame
from ._framing import read_frame as read_sized_frame

if TYPE_CHECKING:
    from ._blocks import Blocks

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 60.0
# Frames queued for the writer; the machine's window bounds batches, this bounds the
# rest (heads parts, acks) so a writer that cannot write stops the session, not memory.
_OUT_QUEUE = 64


@dataclass(frozen=True)
class BatchResult:
    """What storing one received batch did. ``refused`` holds (entry id hex or None,
    reason code, message) for each entry that failed validation."""

    new: int
    refused: list[tuple[str | None, str, str]] = field(default_factory=list)


class SyncBackend(Protocol):
    """The node's side: a heads snapshot, ranges of entries, validated storage."""

    async def read_range(self, author: bytes, after_seq: int, up_to_seq: int) -> list[bytes]:
        ...

    async def store_batch(self, entries: Sequence[bytes], peer: str) -> BatchResult: ...


@dataclass
class SyncOutcome:
    """How a session ended. ``reason`` is None on success, else a reason code: the
    peer's fault (``invalid:…``, ``blocked:…``), a timeout (``timeout:sync-idle``), or
    the connection (``closed:sync-stream``)."""

    peer: str
    memory: PeerMemory | None = None
    reason: str | None = None
    message: str = ""
    new_entries: int = 0
    statistics: SyncStatistics | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    # Send bursts: a burst starts when we send after having received since our last
    # send. Hello, heads and end make 3 when two in-sync peers reconnect.
    rounds: int = 0

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def peer_at_fault(self) -> bool:
        return self.reason is not None and self.reason.split(":")[0] in ("invalid", "blocked")


class _Failed(NodeError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def read_frame(stream: StreamLike) -> bytes:
    """One frame's payload. Raises _Failed for EOF or an oversized length."""
    try:
        data = await read_sized_frame(stream, MAX_MESSAGE_SIZE)
    except StreamEnded as exc:
        raise _Failed("closed:sync-stream", "stream ended inside a frame" if exc.inside
                      else "stream ended") from None
    except FrameTooLarge as exc:
        raise _Failed("invalid:sync-too-large",
                      f"frame of {exc.size} bytes exceeds {MAX_MESSAGE_SIZE}") from None
    if not data:
        raise _Failed("invalid:sync-encoding", "empty frame")
    return data


class SessionDriver:
    """Runs one session to its end; see the module docstring. ``progress`` is readable
    while it runs (for `coop node status`)."""

    def __init__(self, stream: StreamLike, backend: SyncBackend, *, peer: str,
                 local: LocalHeads, memory: PeerMemory | None, initiator: bool,
                 want: frozenset[bytes] | None = None,
                 idle_timeout: float = IDLE_TIMEOUT, blocks: Blocks | None = None) -> None:
        self.stream = stream
        self.backend = backend
        self.peer = peer
        self.blocks = blocks
        # ``want``: the authors we replicate (None: all); see SPEC §10 "Scope".
        self.session = SyncSession(local, memory, initiator=initiator, want=want)
        self.idle_timeout = idle_timeout
        self.new_entries = 0
        self.bytes_sent = self.bytes_received = 0
        self.frames_sent = self.frames_received = 0
        self.rounds = 0
        self._received_at_burst = -1
        self._wake = trio.Event()
        self._last_progress = trio.current_time()
        self._send, self._to_send = trio.open_memory_channel[bytes](_OUT_QUEUE)
        self._flushed = trio.Event()

    def statistics(self) -> SyncStatistics:
        return self.session.statistics()

    def _progress(self) -> None:
        self._last_progress = trio.current_time()

    async def run(self) -> SyncOutcome:
        outcome = SyncOutcome(self.peer)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader)
                nursery.start_soon(self._writer)
                nursery.start_soon(self._watchdog)
                outcome.memory = await self._pump()
                # Done: every frame is queued; let the writer flush them, then stop.
                self._send.close()
                with trio.move_on_after(self.idle_timeout):
                    await self._flushed.wait()
                nursery.cancel_scope.cancel()
        except* _Failed as group:
            first = group.exceptions[0]
            assert isinstance(first, _Failed)
            outcome.reason, outcome.message = first.reason, first.message
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                try:
                    await self.stream.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
        outcome.new_entries = self.new_entries
        outcome.bytes_sent, outcome.bytes_received = self.bytes_sent, self.bytes_received
        outcome.frames_sent, outcome.frames_received = self.frames_sent, self.frames_received
        outcome.rounds = self.rounds
        outcome.statistics = self.session.statistics()
        return outcome

    async def _reader(self) -> None:
        while True:
            try:
                data = await read_frame(self.stream)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise _Failed("closed:sync-stream", f"stream broke: {exc}") from None
            except _Failed as exc:
                if exc.reason == "closed:sync-stream" and self.session.state in (
                        SyncState.DONE,):
                    return
                raise
            self._progress()
            self.frames_received += 1
            self.bytes_received += HEADER.size + len(data)
            try:
                self.session.receive(data)
            except ProtocolError as exc:
                raise _Failed(getattr(exc, "reason_code", "invalid:sync-state"),
                              str(exc)) from None
            self._wake.set()

    async def _writer(self) -> None:
        try:
            async for data in self._to_send:
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise _Failed("closed:sync-stream", f"stream broke: {exc}") from None
                self._progress()
                if self.frames_received > self._received_at_burst:
                    self.rounds += 1
                    self._received_at_burst = self.frames_received
                self.frames_sent += 1
                self.bytes_sent += len(data)
        finally:
            self._flushed.set()

    async def _watchdog(self) -> None:
        while True:
            deadline = self._last_progress + self.idle_timeout
            if trio.current_time() >= deadline:
                raise _Failed("timeout:sync-idle",
                              f"no progress for {self.idle_timeout:.0f} s")
            await trio.sleep_until(deadline)

    def _unblocked(self, entries: Sequence[bytes]) -> Sequence[bytes]:
        if self.blocks is None:
            return entries
        return self.blocks.keep(entries, "sync", self.peer)

    @staticmethod
    def _check_refused(result: BatchResult) -> None:
        if result.refused:
            eid, reason, message = result.refused[0]
            where = f"entry {eid[:8]}: " if eid else ""
            raise _Failed(reason, f"{len(result.refused)} refused entries; "
                                  f"first: {where}{message}")

    async def _pump(self) -> PeerMemory:
        session = self.session
        while True:
            actions = session.next_actions()
            if not actions:
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            for act in _coalesce(actions):
                if isinstance(act, list):
                    # Several received batches at once (the peer is ahead of our
                    # store): one validation run and one transaction for all of them.
                    result = await self.backend.store_batch(
                        self._unblocked([e for b in act for e in b.entries]), self.peer)
                    self._progress()
                    self.new_entries += result.new
                    self._check_refused(result)
                    for b in act:
                        session.entries_stored(b.batch_no)
                elif isinstance(act, SendMessage):
                    await self._send.send(frame(act.data))
                elif isinstance(act, ReadEntries):
                    entries = [] if self.blocks and self.blocks.withhold(
                        act.author, self.peer) else await self.backend.read_range(
                            act.author, act.after_seq, act.up_to_seq)
                    session.entries_loaded(act.request_id, entries)
                elif isinstance(act, StoreEntries):
                    result = await self.backend.store_batch(self._unblocked(act.entries),
                                                            self.peer)
                    self._progress()
                    self.new_entries += result.new
                    self._check_refused(result)
                    session.entries_stored(act.batch_no)
                elif isinstance(act, Done):
                    # Frames queued before Done (our last acks) go out before we stop.
                    for rest in session.next_actions():
                        if isinstance(rest, SendMessage):
                            await self._send.send(frame(rest.data))
                    return act.new_memory
                elif isinstance(act, Disconnect):
                    raise _Failed(act.reason, f"sync failed: {act.reason}")


def _coalesce(actions: list[Action]) -> list[Action | list[StoreEntries]]:
    """Runs of two or more consecutive StoreEntries become one list."""
    out: list[Action | list[StoreEntries]] = []
    run: list[StoreEntries] = []
    for act in actions:
        if isinstance(act, StoreEntries):
            run.append(act)
            continue
        if run:
            out.append(run if len(run) > 1 else run[0])
            run = []
        out.append(act)
    if run:
        out.append(run if len(run) > 1 else run[0])
    return out
