"""The node's side of alerts (node/_alerts.py, node/_alerts_seen.py): the push wire,
the push plan, last way seen, and the desk on real stores: auto-ack exactly once,
the push exchange between two desks over memory streams (acked, need, pending,
not-a-target, refused), priority gossip, and the alert bundle."""

from __future__ import annotations

import io
import json
import random
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from coopledger.crypto import SecretKey
from coopledger.node import Store, Verifier, import_bundle
from coopledger.node._alerts import (
    ALERT_PROTOCOL,
    MAX_SMALL_FRAME,
    AlertDesk,
    Answer,
    PushError,
    PushPlan,
    entry_kind,
    frame,
    parse_answer,
    read_message,
    write_alert_bundle,
)
from coopledger.node._alerts_seen import LAST_SEEN_FILE, LastSeen, read_last_seen
from coopledger.node._astore import AsyncStore
from coopledger.node._clock import now_ms
from coopledger.node._replication import EVERYTHING, Replication
from coopledger.node.testing import wait_until
from coopledger.protocol import Entry, Value, create_entry, encode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))
from econkit import KEYS, Coop, reset_clock

HOUR = 3_600_000
WAIT_S = 60  # a deadline only: a loaded machine may take seconds; a pass takes none


def peer_of(key: bytes) -> str:
    return "peer-" + key.hex()[:12]


# -- the wire ------------------------------------------------------------------------


async def _read(data: bytes, limit: int = MAX_SMALL_FRAME) -> dict[str, Value]:
    a, b = trio.testing.memory_stream_pair()
    await a.send_all(data)
    await a.aclose()
    return await read_message(b, limit)


async def test_a_message_goes_through_a_stream() -> None:
    ans = Answer("need", after=7)
    assert parse_answer(await _read(frame(ans.to_value()))) == ans
    ack = Answer("acked", ack=b"x" * 40)
    assert parse_answer(await _read(frame(ack.to_value()))) == ack


async def test_an_oversized_message_is_refused_before_it_is_read() -> None:
    with pytest.raises(PushError) as exc:
        await _read((MAX_SMALL_FRAME + 1).to_bytes(4, "big"))
    assert exc.value.reason == "invalid:alert-too-large"


@pytest.mark.parametrize("payload,reason", [
    (b"\xc1", "invalid:alert-encoding"),                   # not msgpack
    (encode([1, 2]), "invalid:alert-message"),             # not a map
    (encode({"status": "acked"}), "invalid:alert-message"),  # no type
])
async def test_malformed_messages_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(PushError) as exc:
        await _read(len(payload).to_bytes(4, "big") + payload)
    assert exc.value.reason == reason


async def test_a_stream_ending_inside_a_message_is_an_error() -> None:
    with pytest.raises(PushError) as exc:
        await _read(frame({"t": "answer", "status": "pending"})[:-1])
    assert exc.value.reason == "closed:alert-stream"


@pytest.mark.parametrize("msg", [
    {"t": "answer", "status": "acked"},                          # acked without ack
    {"t": "answer", "status": "pending", "ack": b"x"},           # ack without acked
    {"t": "answer", "status": "need"},                           # need without after
    {"t": "answer", "status": "need", "after": -1},
    {"t": "answer", "status": "pending", "after": 3},
    {"t": "answer", "status": "maybe"},
    {"t": "answer", "status": "pending", "extra": 1},
    {"t": "offer", "raise": b"x"},                               # not an answer
])
def test_bad_answers_are_refused(msg: dict[str, Value]) -> None:
    with pytest.raises(PushError):
        parse_answer(msg)


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["t", "status", "ack", "after", "reason", "x"]),
                      inner, max_size=4), max_leaves=8)


@given(st.dictionaries(st.sampled_from(["t", "status", "ack", "after", "reason", "x"]),
                       _values | st.sampled_from(["answer", "acked", "need", "pending"]),
                       max_size=5))
def test_any_map_parses_to_a_consistent_answer_or_is_refused(msg: dict[str, Any]) -> None:
    msg.setdefault("t", "answer")
    try:
        a = parse_answer(msg)
    except PushError:
        return
    assert (a.status == "acked") == (a.ack is not None)
    assert (a.status == "need") == (a.after is not None)
    assert parse_answer(a.to_value()) == a


def test_entry_kind_reads_the_kind_only() -> None:
    reset_clock()
    c = Coop(KEYS[0], "Garden")
    assert entry_kind(c.entries[0].raw) == "genesis"
    assert entry_kind(b"\x00garbage") is None


# -- the plan -------------------------------------------------------------------------


def test_the_plan_pushes_urgent_pairs_at_once_and_others_after_the_grace() -> None:
    plan = PushPlan(rng=random.Random(1))
    plan.update({("p1", b"a"): True, ("p2", b"a"): False}, now=100.0)
    assert plan.take_due(100.0) == [("p1", b"a")]
    assert plan.take_due(100.0) == []           # busy: not handed out twice
    assert plan.next_due() == pytest.approx(100.0 + plan.grace)
    assert plan.take_due(100.0 + plan.grace) == [("p2", b"a")]


def test_the_plan_backs_off_exponentially_up_to_the_maximum() -> None:
    plan = PushPlan(rng=random.Random(2))
    pair = ("p", b"a")
    plan.update({pair: True}, now=0.0)
    now, delays = 0.0, []
    for _ in range(9):
        assert plan.take_due(now) == [pair]
        plan.done(pair, now)
        nxt = plan.next_due()
        assert nxt is not None
        delays.append(nxt - now)
        now = nxt
    expected = [1, 2, 4, 8, 16, 30, 30, 30, 30]
    for got, want in zip(delays, expected, strict=True):
        assert want * 0.8 <= got <= want * 1.2


def test_the_plan_drops_what_is_no_longer_wanted_and_resets_on_reconnect() -> None:
    plan = PushPlan(rng=random.Random(3))
    plan.update({("p", b"a"): True, ("p", b"b"): True, ("q", b"a"): True}, now=0.0)
    assert len(plan.take_due(0.0)) == 3
    for pair in list(plan.tries):
        plan.done(pair, 0.0)
    plan.update({("p", b"a"): True, ("q", b"a"): True}, now=0.5)   # p acked b
    assert set(plan.tries) == {("p", b"a"), ("q", b"a")}
    assert plan.take_due(0.5) == []
    plan.reconnected("p", 0.6)
    assert plan.take_due(0.6) == [("p", b"a")]


# -- last way seen ------------------------------------------------------------------------


def test_last_seen_is_kept_in_the_home_and_survives_damage(tmp_path: Path) -> None:
    seen = LastSeen(tmp_path)
    seen.note(b"\x01" * 32, "gossip", "peer-a", ms=5)
    seen.note(b"\x02" * 32, "bundle", "flood.coopbundle", ms=6)
    seen.note(b"\x01" * 32, "sync", "peer-b", ms=7)
    seen.save()
    got = read_last_seen(tmp_path)
    assert {k: (s.ms, s.way, s.via) for k, s in got.items()} == {
        b"\x01" * 32: (7, "sync", "peer-b"), b"\x02" * 32: (6, "bundle", "flood.coopbundle")}
    again = LastSeen(tmp_path)
    again.merge(again.read())
    assert again.get(b"\x02" * 32) == got[b"\x02" * 32]
    (tmp_path / LAST_SEEN_FILE).write_text('{"version": 1, "seen": {"zz": 3}}')
    assert read_last_seen(tmp_path) == {}
    (tmp_path / LAST_SEEN_FILE).write_text("not json")
    assert read_last_seen(tmp_path) == {}


def test_last_seen_keeps_a_bounded_number_of_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from coopledger.node import _alerts_seen
    monkeypatch.setattr(_alerts_seen, "MAX_KEYS", 3)
    seen = LastSeen(None)
    for i in range(5):
        seen.note(bytes([i]) * 32, "gossip", None, ms=i)
    assert seen.get(bytes([0]) * 32) is None and seen.get(bytes([4]) * 32) is not None
    assert len(json.loads(seen.to_json())["seen"]) == 3


# -- the desk on real stores -------------------------------------------------------------


@dataclass
class FakeHome:
    path: Path
    author: bytes


@dataclass
class FakeP2P:
    net: Net
    me: str
    links: set[str] = field(default_factory=set)

    def connected_peers(self) -> list[str]:
        return sorted(self.links)

    async def open_stream(self, peer: str, protocol: str) -> trio.abc.Stream:
        assert protocol == ALERT_PROTOCOL
        if peer not in self.links:
            raise trio.BrokenResourceError("not connected")
        ours, theirs = trio.testing.memory_stream_pair()
        self.net.streams += 1
        self.net.nursery.start_soon(self.net.nodes[peer].alerts.handle_stream, theirs,
                                    self.me)
        return ours


class FakeNode:
    """What AlertDesk needs of the daemon, over a real store."""

    def __init__(self, net: Net, name: str, key: SecretKey, store: Store) -> None:
        self.name, self.key = name, key
        self.home = FakeHome(net.root / name, key.public.raw)
        self.home.path.mkdir()
        self.store = AsyncStore(store, net.verifier)
        self.replication: Replication = EVERYTHING
        self.peer_id = peer_of(key.public.raw)
        self.p2p = FakeP2P(net, self.peer_id)
        self.synced: list[str] = []
        self.alerts = AlertDesk(self, peer_id_of=peer_of, rng=random.Random(0))  # type: ignore[arg-type]
        self.store.on_new = lambda ids: self.alerts.wake()

    def request_sync(self, peer: str) -> None:
        self.synced.append(peer)

    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry:
        return await self.store.append(self.key, kind, body, ts or now_ms(), refs or [])

    def acks_written(self) -> list[Entry]:
        return [e for e in self.store.store.entries(authors=[self.key.public.raw],
                                                    kind="alert.ack")]


@dataclass
class Net:
    root: Path
    nursery: trio.Nursery
    verifier: Verifier
    nodes: dict[str, FakeNode] = field(default_factory=dict)
    streams: int = 0

    def add(self, name: str, coop: Coop, entries: list[Entry]) -> FakeNode:
        store = Store.open(self.root / f"{name}.sqlite", create=True)
        store.add_entries(entries)
        node = FakeNode(self, name, coop.key, store)
        self.nodes[node.peer_id] = node
        return node

    def link(self, a: FakeNode, b: FakeNode) -> None:
        a.p2p.links.add(b.peer_id)
        b.p2p.links.add(a.peer_id)
        a.alerts.peer_connected(b.peer_id)
        b.alerts.peer_connected(a.peer_id)


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    with Verifier(workers=1) as verifier:
        async with trio.open_nursery() as nursery:
            n = Net(tmp_path, nursery, verifier)
            yield n
            nursery.cancel_scope.cancel()
        for node in n.nodes.values():
            node.store.store.close()


async def until(what: str, cond: Callable[[], Any]) -> None:
    await wait_until(what, cond, WAIT_S, poll=0.01)


@pytest.fixture
def coops() -> Iterator[tuple[list[Coop], Entry]]:
    """Garden founds Riverside with Repair and Bakery, an hour ago."""
    reset_clock(now_ms() - HOUR)
    cs = [Coop(KEYS[i], n) for i, n in enumerate(("Garden", "Repair", "Bakery", "Faraway"))]
    fed = cs[0].create_federation("Riverside")
    for c in cs[1:3]:
        c.join(fed, cs[0].invite(fed, c))
    yield cs, fed
    reset_clock()


def raise_alert(c: Coop, **body: Any) -> Entry:
    return c.add("alert.raise", {"what": "The river is over the lower field.",
                                 "needs": ["people", "material"], "drill": False, **body})


def put(c: Coop, kind: str, body: dict[str, Value], refs: list[bytes]) -> Entry:
    """Append to ``c``'s log without econkit's automatic refs (its "need" field is an
    id; an alert pledge's is a word)."""
    last = c.entries[-1]
    e = create_entry(c.key, seq=last.seq + 1, prev=last.id, ts=last.ts + 1000, kind=kind,
                     body=body, refs=refs)
    c.entries.append(e)
    return e


def entries(*cs: Coop) -> list[Entry]:
    return [e for c in cs for e in c.entries]


def alert_of(node: FakeNode, alert_id: bytes) -> Any:
    return node.store.store.state().economy().gov.alerts.get(alert_id)


async def test_a_target_acks_exactly_once_even_after_a_restart(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _fed = coops
    alert = raise_alert(garden)
    node = net.add("repair", repair, entries(garden, repair, bakery))
    net.nursery.start_soon(node.alerts.run)
    await until("repair's ack", lambda: len(node.acks_written()) == 1)
    assert repair.raw in alert_of(node, alert.id).acks
    for _ in range(3):   # more ingests: nothing more to write
        node.alerts.wake()
        await trio.testing.wait_all_tasks_blocked()
    # A second desk on the same store (a restart) reads the ack from the log.
    again = AlertDesk(node, peer_id_of=peer_of)  # type: ignore[arg-type]
    net.nursery.start_soon(again.run)
    await trio.testing.wait_all_tasks_blocked()
    await until("the restarted desk's first pass", lambda: again._written == {alert.id})
    assert len(node.acks_written()) == 1 and again.stats.acks_written == 0


async def test_the_raiser_and_outsiders_do_not_ack(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, faraway), _ = coops
    raise_alert(garden)
    nodes = [net.add("garden", garden, entries(garden, repair, bakery)),
             net.add("faraway", faraway, entries(garden, repair, bakery, faraway))]
    for n in nodes:
        net.nursery.start_soon(n.alerts.run)
    await until("both first passes", lambda: all(n.alerts.stats.passes for n in nodes))
    for n in nodes:
        n.alerts.wake()
    await until("both second passes", lambda: all(n.alerts.stats.passes > 1 for n in nodes))
    assert [n.acks_written() for n in nodes] == [[], []]


async def test_a_push_reaches_a_target_that_lacked_the_raise_and_brings_its_ack_back(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _ = coops
    before = entries(garden, repair, bakery)
    alert = raise_alert(garden)
    g = net.add("garden", garden, entries(garden, repair, bakery))
    r = net.add("repair", repair, before)
    # Repair notes every way it hears from garden; its own pass may note the new
    # connection after the push, so the last sighting alone could be either.
    noted: list[tuple[bytes, str, str | None]] = []
    note = r.alerts.seen.note

    def spy(key: bytes, way: str, via: str | None, ms: int | None = None) -> None:
        noted.append((key, way, via))
        note(key, way, via, ms)

    r.alerts.seen.note = spy  # type: ignore[method-assign]
    for n in (g, r):
        net.nursery.start_soon(n.alerts.run)
    net.link(g, r)
    await until("garden to hold repair's ack",
                lambda: repair.raw in alert_of(g, alert.id).acks)
    assert len(r.acks_written()) == 1
    # Each side counts the push once its task resumes after the store's write, which
    # the test may see first.
    await until("both sides to count the push", lambda: r.alerts.stats.pushes_answered >= 1
                and g.alerts.stats.pushes_acked >= 1)
    assert (garden.raw, "alert-push", g.peer_id) in noted
    seen = r.alerts.seen.get(garden.raw)
    assert seen is not None and seen.via == g.peer_id


async def test_a_push_sends_the_raisers_missing_entries_when_asked(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _ = coops
    before = entries(garden, repair, bakery)
    for i in range(5):
        garden.labor(str(i + 1))
    alert = raise_alert(garden)
    g = net.add("garden", garden, entries(garden, repair, bakery))
    r = net.add("repair", repair, before)
    for n in (g, r):
        net.nursery.start_soon(n.alerts.run)
    net.link(g, r)
    await until("garden to hold repair's ack",
                lambda: repair.raw in alert_of(g, alert.id).acks)
    assert r.store.store.state().authors[garden.raw].length == alert.seq
    assert g.synced == [] and r.synced == []   # no sync was needed


async def test_a_push_that_cannot_be_judged_yet_asks_for_a_sync(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _ = coops
    alert = raise_alert(bakery)
    b = net.add("bakery", bakery, entries(garden, repair, bakery))
    # Repair holds the federation up to its own invite only: Bakery's join (which refs
    # Bakery's invite) cannot apply there, nor Bakery's raise.
    upto = next(i for i, e in enumerate(garden.entries) if e.kind == "federation.invite")
    r = net.add("repair", repair, [*garden.entries[:upto + 1], *repair.entries])
    for n in (b, r):
        net.nursery.start_soon(n.alerts.run)
    net.link(b, r)
    await until("repair to ask bakery for a sync", lambda: b.peer_id in r.synced)
    await until("bakery to ask repair for a sync", lambda: r.peer_id in b.synced)
    assert r.acks_written() == [] and alert_of(r, alert.id) is None


async def test_a_connection_from_a_federation_co_op_is_noted(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _ = coops
    g = net.add("garden", garden, entries(garden, repair, bakery))
    r = net.add("repair", repair, entries(garden, repair, bakery))
    for n in (g, r):
        net.nursery.start_soon(n.alerts.run)
    net.link(g, r)
    await until("garden to note repair's connection",
                lambda: g.alerts.seen.get(repair.raw) is not None)
    seen = g.alerts.seen.get(repair.raw)
    assert seen is not None and (seen.way, seen.via) == ("connection", r.peer_id)
    assert net.streams == 0   # no alert: nothing pushed


async def test_a_co_op_outside_the_scope_is_not_a_target(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, faraway), _ = coops
    alert = raise_alert(garden)
    g = net.add("garden", garden, entries(garden, repair, bakery))
    f = net.add("faraway", faraway, entries(faraway))
    f.replication = Replication(frozenset({faraway.raw}), ())
    net.nursery.start_soon(f.alerts.run)
    ours, theirs = trio.testing.memory_stream_pair()
    net.nursery.start_soon(f.alerts.handle_stream, theirs, g.peer_id)
    await ours.send_all(frame({"t": "offer", "raise": alert.raw}))
    assert parse_answer(await read_message(ours, MAX_SMALL_FRAME)) == Answer("not-a-target")
    assert not f.store.store.has(alert.id)


@pytest.mark.parametrize("offer,reason", [
    ({"t": "offer", "raise": b"garbage"}, "invalid:trailing-bytes"),
    ({"t": "offer"}, "invalid:alert-message"),
    ({"t": "entries", "entries": []}, "invalid:alert-message"),
    ("genesis", "invalid:not-an-alert"),
    ("forged", "invalid:signature"),
])
async def test_a_bad_offer_is_refused_with_its_reason(
        net: Net, coops: tuple[list[Coop], Entry], offer: Any, reason: str) -> None:
    (garden, repair, _bakery, _), _ = coops
    alert = raise_alert(garden)
    r = net.add("repair", repair, entries(repair))
    if offer == "genesis":
        offer = {"t": "offer", "raise": garden.entries[0].raw}
    elif offer == "forged":
        raw = bytearray(alert.raw)
        raw[-5] ^= 1  # inside the signature
        offer = {"t": "offer", "raise": bytes(raw)}
    ours, theirs = trio.testing.memory_stream_pair()
    net.nursery.start_soon(r.alerts.handle_stream, theirs, "peer-x")
    await ours.send_all(frame(offer))
    got = parse_answer(await read_message(ours, MAX_SMALL_FRAME))
    assert (got.status, got.reason) == ("refused", reason)
    assert r.store.store.count() == len(repair.entries)   # nothing stored


async def test_alert_gossip_is_taken_ahead_of_the_queue(
        net: Net, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, _), _ = coops
    alert = raise_alert(garden)
    r = net.add("repair", repair, [e for e in entries(garden, repair, bakery)
                                   if e.id != alert.id])
    net.nursery.start_soon(r.alerts.run)
    assert not r.alerts.take_gossip(garden.entries[0].raw, "peer-g")   # not an alert
    assert r.alerts.take_gossip(alert.raw, "peer-g")
    await until("the ack", lambda: len(r.acks_written()) == 1)
    seen = r.alerts.seen.get(garden.raw)
    assert seen is not None and (seen.way, seen.via) == ("gossip", "peer-g")


def test_an_alert_bundle_lets_an_isolated_node_judge_and_ack(
        tmp_path: Path, coops: tuple[list[Coop], Entry]) -> None:
    (garden, repair, bakery, faraway), _ = coops
    for i in range(3):
        bakery.labor(str(i + 1))
    alert = raise_alert(garden)
    pledge = repair.add("alert.pledge", {"alert": alert.id.hex(), "what": "four people"},
                        refs=[alert.id])
    repair.labor("2")   # after the alert: not carried
    full = Store.open(tmp_path / "full.sqlite", create=True)
    full.add_entries(entries(garden, repair, bakery, faraway))
    buf = io.BytesIO()
    n = write_alert_bundle(full, alert.id, buf)
    # Bakery's isolated node holds only its own log.
    iso = Store.open(tmp_path / "iso.sqlite", create=True)
    iso.add_entries(bakery.entries)
    buf.seek(0)
    report = import_bundle(iso, buf)
    assert report.ok and report.new + report.held == n
    a = iso.state().economy().gov.alerts.get(alert.id)
    assert a is not None and a.targets == tuple(sorted((repair.raw, bakery.raw)))
    assert [p.entry for p in a.pledges] == [pledge.id]
    assert not iso.has(repair.entries[-1].id) and not iso.has(faraway.entries[0].id)
    from coopledger.protocol import acks_due
    assert acks_due(iso.state().economy(), bakery.raw) == [alert.id]
    full.close()
    iso.close()


# -- the views ---------------------------------------------------------------------------


@pytest.fixture
def viewed(tmp_path: Path, coops: tuple[list[Coop], Entry]) -> Iterator[dict[str, Any]]:
    """Garden raises a drill, then an alert; Repair acks both, pledges and delivers;
    Bakery acks nothing; Faraway (no member) tries to ack: invalid."""
    (garden, repair, bakery, faraway), fed = coops
    drill = raise_alert(garden, drill=True, federation=fed.id.hex())
    alert = raise_alert(garden, where="Mill Lane 4")
    acks = [repair.add("alert.ack", {"alert": a.id.hex()}, refs=[a.id])
            for a in (drill, alert)]
    pledge = put(repair, "alert.pledge", {"alert": alert.id.hex(), "what": "four people",
                                          "need": "people"}, [alert.id])
    repair.add("alert.delivered", {"alert": alert.id.hex(), "what": "four people, 5 h",
                                   "pledge": pledge.id.hex()}, refs=[alert.id, pledge.id])
    stray = faraway.add("alert.ack", {"alert": alert.id.hex()}, refs=[alert.id])
    home = tmp_path / "home"
    home.mkdir()
    with Store.open(home / "store.sqlite", create=True) as store:
        store.add_entries(entries(garden, repair, bakery, faraway))
        seen = LastSeen(home)
        seen.note(bakery.raw, "sync", "peer-bakery", ms=alert.ts - 60_000)
        seen.save()
        yield {"store": store, "drill": drill, "alert": alert, "acks": acks,
               "pledge": pledge, "stray": stray, "coops": coops[0]}


def test_the_alerts_view_lists_coverage_and_time_left(viewed: dict[str, Any]) -> None:
    from coopledger.node import _views_table as views_table
    store, alert, drill = viewed["store"], viewed["alert"], viewed["drill"]
    at = alert.ts + HOUR
    doc = views_table.answer(store, "alerts", {"as_of": str(at)}, me=None)
    assert [r["id"] for r in doc["alerts"]] == [alert.id.hex(), drill.id.hex()]
    row = doc["alerts"][0]
    assert row["coverage"] == "1/2 acknowledged" and row["status"] == "open"
    assert row["time_left_ms"] == 47 * HOUR and row["raiser_name"] == "Garden"
    assert (row["drill"], doc["alerts"][1]["drill"]) == (False, True)
    assert row["needs"] == ["people", "material"] and row["where"] == "Mill Lane 4"
    late = views_table.answer(store, "alerts", {"as_of": str(alert.ts + 49 * HOUR)}, me=None)
    assert late["alerts"][0]["status"] == "expired"
    assert late["alerts"][0]["time_left_ms"] == 0
    assert views_table.answer(store, "alerts", {"open": "true", "as_of": str(alert.ts + 49 * HOUR)},
                          me=None)["alerts"] == []
    fed_only = views_table.answer(store, "alerts", {"federation": "Riverside"}, me=None)
    assert len(fed_only["alerts"]) == 2


def test_the_alert_view_shows_answers_and_the_unreached_with_their_last_way(
        viewed: dict[str, Any]) -> None:
    from coopledger.node import _views_table as views_table
    store, alert = viewed["store"], viewed["alert"]
    _garden, _repair, bakery, _faraway = viewed["coops"]
    doc = views_table.answer(store, "alert", {"alert": alert.id.hex()[:10],
                                          "as_of": str(alert.ts)}, me=None)
    assert [(a["coop_name"], a["late"]) for a in doc["acks"]] == [("Repair", False)]
    assert [(p["coop_name"], p["what"], p["need"]) for p in doc["pledges"]] == [
        ("Repair", "four people", "people")]
    assert doc["deliveries"][0]["pledge"] == viewed["pledge"].id.hex()
    (u,) = doc["unreached"]
    assert u["coop_name"] == "Bakery"
    assert u["last_seen"] == {"ms": alert.ts - 60_000, "way": "sync", "via": "peer-bakery"}
    assert u["newest_entry_ts"] == bakery.entries[-1].ts
    assert [(i["key_name"], i["code"]) for i in doc["invalid"]] == [("Faraway", "not-a-target")]


@pytest.mark.parametrize("params,field", [
    ({"alert": "zz"}, "alert"), ({"alert": "00000000"}, "alert"),
    ({"alert": "0" * 8, "as_of": "soon"}, "as_of"), ({"alert": "0" * 8, "x": "1"}, "x"),
])
def test_the_alert_view_names_the_bad_parameter(viewed: dict[str, Any],
                                                params: dict[str, str], field: str) -> None:
    from coopledger.node import _views_table as views_table
    from coopledger.node._econview import LookupFailed
    if params["alert"] == "00000000":
        params = {**params, "alert": viewed["alert"].id.hex()[:8][::-1] + "00"}
    with pytest.raises(LookupFailed) as exc:
        views_table.answer(viewed["store"], "alert", params, me=None)
    assert exc.value.field == field


async def test_the_api_serves_the_same_documents(viewed: dict[str, Any]) -> None:
    from govapi import api_client

    from coopledger.node import _views_table as views_table
    store, alert = viewed["store"], viewed["alert"]
    params = {"as_of": str(alert.ts + 5)}
    async with api_client(store, KEYS[0].public.raw, "ab" * 32) as client:
        listed = (await client.get("/v1/alerts", params=params)).json()
        one = (await client.get(f"/v1/alerts/{alert.id.hex()[:12]}", params=params)).json()
        missing = await client.get("/v1/alerts/" + "0" * 12)
    assert listed == views_table.answer(store, "alerts", params, me=None)
    assert one == views_table.answer(store, "alert", {"alert": alert.id.hex(), **params}, me=None)
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "alert"
