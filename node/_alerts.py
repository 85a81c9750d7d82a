"""The node's side of solidarity alerts (SPEC §14.6, docs/alerts.md).

protocol/commons/_alerts.py judges alerts; this module makes them arrive and answers them:

1. **Auto-ack.** Whenever entries reach the store (gossip, sync, a bundle, an alert
   push, our own appends: the store's ``on_new`` calls ``wake``), the desk asks the
   protocol's ``acks_due`` for this node's co-op and appends one ``alert.ack`` (refs =
   the alert) per due alert; ``Node.append`` gossips it at once. Never two for one
   alert: the alerts our own log already acks are read from the store at start and
   remembered as we write (an ack that turned out invalid stays "written").
2. **Priority push, retried until acknowledged.** Every node holding an open alert
   (before its deadline, not acknowledged by every target) opens a stream
   ``/coopledger/alert/1.0.0`` to each connected peer whose co-op is a target that has
   not acknowledged it, and offers the raise; the peer stores it through the normal
   validation path, acks, and answers with its ack's bytes, which the pusher stores
   the same way. ``PushPlan`` decides when: at once for the raiser and for a peer that
   just connected, after RELAY_GRACE_S for the other holders (gossip usually gets there
   first, and 20 nodes all pushing to 19 others at once would be 380 streams, at the
   moment every CPU is busy relaying the raise and the acks), then
   with backoff 1, 2, 4 … RETRY_MAX_S seconds until the peer's ack is held here.
   Alert entries arriving by gossip skip the gossip queue (``take_gossip``).
3. **Last way seen** (node/_alerts_seen.py): which way each co-op was last heard from.

The push exchange, one stream per push; each message is one frame (a 4-byte big-endian
length, then a canonical msgpack map with ``t``, its type)::

    pusher                               receiver
    offer   {raise: bytes}        ->     stores the raise, acks if it is due
                                  <-     answer {status, ack?, after?, reason?}
    entries {entries: [bytes]}    ->     only after status "need": the raiser's log
                                         after ``after``, at most MAX_PUSH_ENTRIES
                                  <-     answer (never "need" a second time)

Statuses: ``acked`` (``ack``: the receiving co-op's valid ack), ``need`` (the receiver
holds the raiser's log only up to ``after``), ``pending`` (it cannot judge the alert
yet, e.g. it lacks federation entries: it has asked the pusher for a sync, and the
pusher retries later), ``not-a-target`` (in the receiver's view), ``refused`` (what was
sent failed validation; ``reason`` is the code). A peer that breaks the exchange
(oversized or malformed frames) gets ``PushError``; the stream is closed, nothing else.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

import trio

from coopledger.protocol import (
    Entry,
    ValidationError,
    Value,
    acks_due,
    bundle_header,
    bundle_record,
    bundle_trailer,
    decode_entry,
    entry_author,
)

from ._alerts_seen import LastSeen
from ._alerts_wire import ALERT_PROTOCOL as ALERT_PROTOCOL
from ._alerts_wire import MAX_ENTRIES_FRAME, MAX_PUSH_ENTRIES
from ._alerts_wire import MAX_SMALL_FRAME as MAX_SMALL_FRAME
from ._alerts_wire import Answer as Answer
from ._alerts_wire import PushError as PushError
from ._alerts_wire import entry_kind as entry_kind
from ._alerts_wire import frame as frame
from ._alerts_wire import parse_answer as parse_answer
from ._alerts_wire import parse_entries as parse_entries
from ._alerts_wire import parse_offer as parse_offer
from ._alerts_wire import read_message as read_message
from ._clock import now_ms
from ._errors import AppendError, StoreError

if TYPE_CHECKING:
    from ._astore import AsyncStore
    from ._framing import StreamLike
    from ._home import Home
    from ._replication import Replication
    from ._store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

ALERT_KINDS_PREFIX = "alert."

PUSH_TIMEOUT_S = 15.0          # one whole exchange
MAX_PUSHES = 8                 # exchanges in flight at once
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
RELAY_GRACE_S = 10.0
# Passes after new entries are at least this far apart: an alert's acks arrive in a
# burst, and each pass recomputes the economy (every ack changes it). A raise arriving
# by gossip and a new connection do not wait for it.
PASS_GAP_S = 0.25
PRIORITY_QUEUE = 256


# -- when to push: decisions only (no I/O, time passed in) ---------------------------

Pair = tuple[str, bytes]  # (peer id, alert id)


@dataclass(slots=True)
class _Try:
    next_at: float
    attempts: int = 0
    busy: bool = False


@dataclass
class PushPlan:
    """Which (peer, alert) pushes are due, and when the next one will be.

    ``update`` gives the pairs wanted now (each with ``urgent``: push at once rather
    than after the relay grace); pairs no longer wanted are dropped (acknowledged,
    past the deadline, or the peer went away). ``take_due`` hands out due pairs and
    marks them busy; ``done`` schedules the next try with exponential backoff
    (jittered by ±20 %); ``reconnected`` makes a peer's pairs due at once."""

    rng: random.Random = field(default_factory=random.Random)
    retry_min: float = RETRY_MIN_S
    retry_max: float = RETRY_MAX_S
    grace: float = RELAY_GRACE_S
    tries: dict[Pair, _Try] = field(default_factory=dict)

    def update(self, wanted: Mapping[Pair, bool], now: float) -> None:
        for pair in [p for p in self.tries if p not in wanted]:
            if not self.tries[pair].busy:
                del self.tries[pair]
        for pair, urgent in wanted.items():
            if pair not in self.tries:
                self.tries[pair] = _Try(now if urgent else now + self.grace)

    def reconnected(self, peer: str, now: float) -> None:
        for (p, _), t in self.tries.items():
            if p == peer:
                t.next_at, t.attempts = now, 0

    def take_due(self, now: float) -> list[Pair]:
        due = [p for p, t in self.tries.items() if not t.busy and t.next_at <= now]
        for p in due:
            self.tries[p].busy = True
        return due

    def done(self, pair: Pair, now: float) -> None:
        t = self.tries.get(pair)
        if t is None:
            return
        t.busy = False
        t.attempts += 1
        delay = min(self.retry_min * 2.0 ** (t.attempts - 1), self.retry_max)
        t.next_at = now + delay * self.rng.uniform(0.8, 1.2)

    def next_due(self) -> float | None:
        return min((t.next_at for t in self.tries.values() if not t.busy), default=None)


# -- the desk: what the daemon runs --------------------------------------------------


class AlertTransport(Protocol):
    def connected_peers(self) -> list[str]: ...
    async def open_stream(self, peer_id: str, protocol: str) -> StreamLike: ...


class AlertNode(Protocol):
    """What the desk needs of the daemon (``_daemon.Node``; tests give a stand-in)."""

    store: AsyncStore
    home: Home
    replication: Replication

    @property
    def p2p(self) -> AlertTransport: ...
    def request_sync(self, peer: str) -> None: ...
    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry: ...


@dataclass(frozen=True)
class Survey:
    due: list[bytes]            # alerts to ack now
    wanted: dict[Pair, bool]    # pushes wanted -> urgent (we raised it)


@dataclass
class DeskStatistics:
    passes: int = 0
    acks_written: int = 0
    pushes: int = 0
    pushes_acked: int = 0
    pushes_answered: int = 0     # received and answered


class AlertDesk:
    """Auto-ack, push and answer pushes for one node; ``run`` in the daemon's nursery.
    ``peer_id_of`` maps a key to its libp2p peer id (``_p2p.peer_id_of``)."""

    def __init__(self, node: AlertNode, *, peer_id_of: Callable[[bytes], str],
                 rng: random.Random | None = None) -> None:
        self.node = node
        self.seen = LastSeen(node.home.path)
        self.plan = PushPlan(rng=rng or random.Random())
        self.stats = DeskStatistics()
        self._peer_id_of = peer_id_of
        self._wake = trio.Event()
        self._urgent = trio.Event()
        self._written: set[bytes] = set()
        self._ack_lock = trio.Lock()
        self._peer_keys: dict[str, bytes] = {}    # peer id -> key (store thread only)
        self._mapped: set[bytes] = set()
        self._fresh: set[str] = set()             # connected since the last pass
        self._push_limit = trio.CapacityLimiter(MAX_PUSHES)
        self._prio_in, self._prio_out = trio.open_memory_channel[tuple[bytes, str]](
            PRIORITY_QUEUE)
        self._nursery: trio.Nursery | None = None

    def statistics(self) -> dict[str, int]:
        """Counters for `coop node status`: passes, acks written, pushes made (and
        acknowledged through them), pushes answered, pushes planned now."""
        return {**asdict(self.stats), "pushes_planned": len(self.plan.tries)}

    # ---- hooks the daemon calls (sync, on the trio thread) ----

    def wake(self, *, urgent: bool = False) -> None:
        """Something changed: look again (within PASS_GAP_S, or at once if urgent)."""
        self._wake.set()
        if urgent:
            self._urgent.set()

    def peer_connected(self, peer: str) -> None:
        self._fresh.add(peer)
        self.wake(urgent=True)

    def take_gossip(self, data: bytes, peer: str) -> bool:
        """Note the sender; True if ``data`` is an alert entry now queued ahead of
        the gossip queue (then the caller drops it)."""
        author = entry_author(data)
        if author is not None:
            self.seen.note(author, "gossip", peer)
        if not (entry_kind(data) or "").startswith(ALERT_KINDS_PREFIX):
            return False
        try:
            self._prio_in.send_nowait((data, peer))
        except trio.WouldBlock:
            return False
        return True

    async def recording_bundle(self, run: Callable[[], Awaitable[T]], name: str | None
                               ) -> T:
        """``await run()`` (a bundle import), noting as seen in bundle ``name`` the
        authors whose held entries grew meanwhile."""
        store = self.node.store
        before = await store.call(store.store.held_counts)
        result = await run()
        after = await store.call(store.store.held_counts)
        for author, n in after.items():
            if n > before.get(author, 0):
                self.seen.note(author, "bundle", name)
        return result

    # ---- the loop ----

    async def run(self) -> None:
        me = self.node.home.author
        self._written = await self.node.store.call(_own_acks, self.node.store.store, me)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._priority_loop)
            nursery.start_soon(self.seen.persist_loop)
            while True:
                started = trio.current_time()
                await self._pass(nursery)
                due = self.plan.next_due()
                with trio.move_on_at(math.inf if due is None else due):
                    await self._wake.wait()
                if self._wake.is_set():
                    with trio.move_on_at(started + PASS_GAP_S):
                        await self._urgent.wait()
                self._wake, self._urgent = trio.Event(), trio.Event()

    async def _pass(self, nursery: trio.Nursery) -> None:
        fresh, self._fresh = self._fresh, set()
        peers = self.node.p2p.connected_peers()
        survey = await self.node.store.call(self._survey, self.node.store.store, peers,
                                            now_ms())
        for peer in fresh:  # after the survey: it maps our co-ops' peer ids
            key = self._peer_keys.get(peer)
            if key is not None:
                self.seen.note(key, "connection", peer)
        for alert_id in survey.due:
            await self._write_ack(alert_id)
        now = trio.current_time()
        for peer in fresh:
            self.plan.reconnected(peer, now)
        self.plan.update({pair: urgent or pair[0] in fresh
                          for pair, urgent in survey.wanted.items()}, now)
        for peer, alert_id in self.plan.take_due(now):
            nursery.start_soon(self._push, peer, alert_id)
        self.stats.passes += 1

    def _survey(self, store: Store, peers: Sequence[str], now: int) -> Survey:
        """(store thread) The acks due, and the pushes wanted: open alerts x connected
        peers whose co-op is a target without an ack here."""
        state = store.state()
        econ = state.economy()
        ids = econ.gov.ids
        me = ids.identity_of(self.node.home.author)
        due = [a for a in acks_due(econ, me) if a not in self._written]
        open_ = [a for a in econ.gov.alerts.by_id.values()
                 if now < a.deadline and not a.acked_all()]
        # The peer ids of the keys of our federations' co-ops and of the open alerts'
        # targets (a few per co-op; ~10 µs each, once): never of every author held,
        # which may be thousands.
        coops = {t for a in open_ for t in a.targets}
        coops.update(c for f in econ.federations_of(me) for c in f.members)
        for coop in coops:
            for rec in ids.keys_of(coop):
                if rec.key not in self._mapped:
                    self._mapped.add(rec.key)
                    self._peer_keys[self._peer_id_of(rec.key)] = rec.key
        wanted: dict[Pair, bool] = {}
        for alert in open_:
            for peer in peers:
                key = self._peer_keys.get(peer)
                if key is None:
                    continue
                coop = ids.identity_of(key)
                if coop in alert.targets and coop not in alert.acks:
                    wanted[(peer, alert.id)] = alert.raiser == me
        return Survey(due, wanted)

    async def _write_ack(self, alert_id: bytes) -> None:
        async with self._ack_lock:
            if alert_id in self._written:
                return
            try:
                entry = await self.node.append("alert.ack", {"alert": alert_id.hex()},
                                               refs=[alert_id])
            except (AppendError, ValidationError) as exc:
                # Not retried until restart: writing it again would fail the same way.
                self._written.add(alert_id)
                log.warning("alert %s: could not acknowledge: %s", alert_id.hex()[:8], exc)
                return
            except StoreError as exc:
                log.warning("alert %s: ack not stored (retried at the next change): %s",
                            alert_id.hex()[:8], exc)
                return
            self._written.add(alert_id)
            self.stats.acks_written += 1
            log.info("alert %s: acknowledged (entry %s)", alert_id.hex()[:8],
                     entry.id.hex()[:8])

    async def _priority_loop(self) -> None:
        async for first in self._prio_out:
            batch = [first]
            while True:
                try:
                    batch.append(self._prio_out.receive_nowait())
                except trio.WouldBlock:
                    break
            counts = await self.node.store.ingest([d for d, _ in batch])
            if counts.new and any(entry_kind(d) == "alert.raise" for d, _ in batch):
                self.wake(urgent=True)  # ack it now
            if counts.new > counts.applied:
                for peer in {p for _, p in batch}:
                    self.node.request_sync(peer)

    # ---- pushing ----

    async def _push(self, peer: str, alert_id: bytes) -> None:
        async with self._push_limit:
            self.stats.pushes += 1
            try:
                with trio.fail_after(PUSH_TIMEOUT_S):
                    answer = await self._exchange(peer, alert_id)
                    await self._take(peer, alert_id, answer)
            except (trio.TooSlowError, trio.BrokenResourceError,
                    trio.ClosedResourceError) as exc:
                log.debug("alert %s push to %s: %s", alert_id.hex()[:8], peer[-8:],
                          str(exc) or type(exc).__name__)
            except PushError as exc:
                log.warning("peer %s: alert push: %s: %s", peer[-8:], exc.reason,
                            exc.message)
            finally:
                self.plan.done((peer, alert_id), trio.current_time())
                self._wake.set()

    async def _exchange(self, peer: str, alert_id: bytes) -> Answer:
        store = self.node.store
        raise_entry = await store.call(store.store.get, alert_id)
        if raise_entry is None:
            raise trio.ClosedResourceError("the raise is no longer held")
        stream = await self.node.p2p.open_stream(peer, ALERT_PROTOCOL)
        try:
            await stream.send_all(frame({"t": "offer", "raise": raise_entry.raw}))
            answer = parse_answer(await read_message(stream, MAX_SMALL_FRAME))
            if answer.status == "need":
                assert answer.after is not None
                entries = await store.call(_log_range, store.store, raise_entry.author,
                                           answer.after, raise_entry.seq - 1)
                await stream.send_all(frame({"t": "entries", "entries": list(entries)}))
                answer = parse_answer(await read_message(stream, MAX_SMALL_FRAME))
                if answer.status == "need":
                    raise PushError("invalid:alert-message", "'need' asked twice")
            return answer
        finally:
            await stream.aclose()

    async def _take(self, peer: str, alert_id: bytes, answer: Answer) -> None:
        if answer.status == "acked":
            assert answer.ack is not None
            try:
                ack = decode_entry(answer.ack)
            except ValidationError as exc:
                raise PushError(exc.reason, "the ack sent back does not decode") from None
            if ack.kind != "alert.ack" or alert_id not in ack.refs:
                raise PushError("invalid:alert-message",
                                "the entry sent back is not an ack of this alert")
            counts = await self.node.store.ingest([answer.ack])
            if counts.rejected:
                raise PushError(counts.problems[0].reason if counts.problems
                                else "invalid:entry", "the ack sent back was refused")
            self.seen.note(ack.author, "alert-push", peer)
            self.stats.pushes_acked += 1
            if counts.new and not counts.applied:
                self.node.request_sync(peer)  # its log has a gap here
        elif answer.status == "pending":
            self.node.request_sync(peer)
        else:
            log.info("alert %s push to %s: %s%s", alert_id.hex()[:8], peer[-8:],
                     answer.status, f" ({answer.reason})" if answer.reason else "")

    # ---- answering a push ----

    async def handle_stream(self, stream: StreamLike, peer: str) -> None:
        """The stream handler of ALERT_PROTOCOL (one exchange, then it is closed)."""
        try:
            with trio.fail_after(PUSH_TIMEOUT_S):
                await self._answer(stream, peer)
            self.stats.pushes_answered += 1
        except PushError as exc:
            log.warning("peer %s: alert push refused: %s: %s", peer[-8:], exc.reason,
                        exc.message)
            with trio.move_on_after(1):
                await stream.send_all(frame(Answer("refused", reason=exc.reason)
                                            .to_value()))
        except trio.TooSlowError:
            log.debug("alert push from %s: timed out", peer[-8:])
        finally:
            with trio.move_on_after(1):
                await stream.aclose()

    async def _answer(self, stream: StreamLike, peer: str) -> None:
        raw = parse_offer(await read_message(stream, MAX_SMALL_FRAME))
        try:
            entry = decode_entry(raw)
        except ValidationError as exc:
            raise PushError(exc.reason, "the raise offered does not decode") from None
        if entry.kind != "alert.raise":
            raise PushError("invalid:not-an-alert", "the entry offered is not a raise")
        scope = self.node.replication.authors
        if scope is not None and entry.author not in scope:
            # Not a co-op of our federations: we cannot be one of its targets.
            await stream.send_all(frame(Answer("not-a-target").to_value()))
            return
        self.seen.note(entry.author, "alert-push", peer)
        await self._ingest(peer, [raw])
        answer = await self._judge(entry, peer, first=True)
        await stream.send_all(frame(answer.to_value()))
        if answer.status != "need":
            return
        entries = parse_entries(await read_message(stream, MAX_ENTRIES_FRAME))
        if any(entry_author(x) != entry.author for x in entries):
            raise PushError("invalid:alert-message", "entries: only the raiser's log")
        await self._ingest(peer, entries)
        answer = await self._judge(entry, peer, first=False)
        await stream.send_all(frame(answer.to_value()))

    async def _ingest(self, peer: str, entries: list[bytes]) -> None:
        counts = await self.node.store.ingest(entries)
        if counts.rejected:
            raise PushError(counts.problems[0].reason if counts.problems
                            else "invalid:entry", "an entry pushed failed validation")

    async def _judge(self, entry: Entry, peer: str, *, first: bool) -> Answer:
        store = self.node.store
        answer = await store.call(self._verdict, store.store, entry)
        if answer is None:  # a target without an ack: write it now
            await self._write_ack(entry.id)
            answer = await store.call(self._verdict, store.store, entry)
            if answer is None:
                answer = Answer("pending", reason="ack-not-written")
        if answer.status == "need" and not first:
            answer = Answer("pending", reason="log-gap")
        if answer.status == "pending":
            self.node.request_sync(peer)
        return answer

    def _verdict(self, store: Store, entry: Entry) -> Answer | None:
        """(store thread) The answer to an offer of ``entry``; None: ack it first."""
        state = store.state()
        econ = state.economy()
        me = econ.gov.ids.identity_of(self.node.home.author)
        alert = econ.gov.alerts.get(entry.id)
        if alert is not None:
            ack = alert.acks.get(me)
            if ack is not None:
                held = store.get(ack.entry)
                return Answer("acked", ack=held.raw) if held is not None else None
            return None if me in alert.targets else Answer("not-a-target")
        st = state.authors.get(entry.author)
        applied = st.length if st is not None else 0
        if applied < entry.seq - 1:
            return Answer("need", after=applied)
        invalid = econ.invalid.get(entry.id)
        return Answer("pending", reason=None if invalid is None else invalid.code)


class IdleDesk(AlertDesk):
    """The desk of a Node made without ``__init__`` (a test of one of its methods):
    it never acks, pushes or records anything."""

    def __init__(self) -> None:  # no super().__init__: none of its state is used
        self.seen = LastSeen(None)

    def wake(self, *, urgent: bool = False) -> None:
        pass

    def peer_connected(self, peer: str) -> None:
        pass

    def take_gossip(self, data: bytes, peer: str) -> bool:
        return False


# -- store helpers (run in the store's thread) ----------------------------------------


def _own_acks(store: Store, me: bytes) -> set[bytes]:
    """The alerts our own log (key ``me``) has an ack for, valid or not."""
    out: set[bytes] = set()
    for e in store.entries(authors=[me], kind="alert.ack"):
        alert = e.body.get("alert")
        if isinstance(alert, str):
            out.add(bytes.fromhex(alert))
    return out


def _log_range(store: Store, author: bytes, after: int, up_to: int) -> list[bytes]:
    """The author's entries after ``after`` up to ``up_to``, bounded for one frame."""
    out: list[bytes] = []
    size = 0
    for raw in store.read_range(author, after, min(up_to, after + MAX_PUSH_ENTRIES)):
        size += len(raw) + 8
        if size > MAX_ENTRIES_FRAME - 1024 or len(out) >= MAX_PUSH_ENTRIES:
            break
        out.append(raw)
    return out


# -- carrying an alert by hand ------------------------------------------------------


def alert_bundle_cuts(store: Store, alert_id: bytes) -> dict[bytes, int]:
    """Per key, how much of its log a bundle for ``alert_id`` carries (its seq), so a
    node that holds nothing of these co-ops can judge the alert and every answer:

    * the keys of the raiser, of every target, and of every co-op that founded or was
      ever a member of the alert's federations: their logs up to the raise's time (the
      federation entries that make the targets are in them), and further up to their
      last alert entry for this alert;
    * nothing of other co-ops.

    Raises KeyError if the alert is not a valid alert held here."""
    state = store.state()
    econ = state.economy()
    alert = econ.gov.alerts.by_id[alert_id]
    coops = {alert.raiser, *alert.targets}
    for fid in alert.federations:  # whoever made the federations what they were
        f = econ.federations.get(fid)
        if f is not None:
            coops |= {f.founder, *f.members}
    ids = econ.gov.ids
    cuts: dict[bytes, int] = {}
    for author, st in state.authors.items():
        if ids.identity_of(author) not in coops:
            continue
        cut = 0
        for e in store.entries(authors=[author]):
            if e.seq > st.length:
                break
            if e.ts <= alert.ts or (e.kind.startswith(ALERT_KINDS_PREFIX) and (
                    e.id == alert_id or alert_id in e.refs)):
                cut = e.seq
        if cut:
            cuts[author] = cut
    return cuts


def write_alert_bundle(store: Store, alert_id: bytes, f: BinaryIO) -> int:
    """Write the bundle of ``alert_id`` (see ``alert_bundle_cuts``) to ``f`` in the
    format of node/_bundles.py; returns the number of entries written."""
    cuts = alert_bundle_cuts(store, alert_id)
    f.write(bundle_header())
    count = 0
    for author in sorted(cuts):
        for raw in store.read_range(author, 0, cuts[author]):
            f.write(bundle_record(raw))
            count += 1
    f.write(bundle_trailer(count))
    return count
