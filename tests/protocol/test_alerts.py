"""Solidarity alerts (SPEC §14.6): who may raise one and whom it targets, the 48-hour
clock and late acks, pledges and deliveries, drills, what a node must still ack
(``acks_due``), the state value, and that all of it is a function of the set of
entries (hypothesis: any order, duplicates)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from econkit import KEYS, SECOND, Coop, all_entries, federation, reset_clock
from hypothesis import given, settings
from hypothesis import strategies as st
from mandatekit import delegate_key

from coopledger.protocol import (
    ALERT_WINDOW_MS,
    Ack,
    Alert,
    Entry,
    acks_due,
    create_entry,
    encode,
)
from coopledger.protocol.commons import COMMONS14_REASON_CODES, Economy, compute_economy
from coopledger.protocol.commons._alerts import REASON_CODES
from coopledger.protocol.commons._economy import REASON_CODES as ECONOMY_CODES

HOUR = 3_600_000


# --------------------------------------------------------------------------- kit

def raise_alert(c: Coop, *, fed: Entry | None = None, needs: Sequence[str] = ("people",),
                drill: bool = False, what: str = "The cellar is flooding.",
                where: str | None = None, ts: int | None = None,
                refs: Sequence[bytes] = ()) -> Entry:
    body: dict[str, Any] = {"what": what, "needs": list(needs), "drill": drill}
    if fed is not None:
        body["federation"] = fed.id.hex()
    if where is not None:
        body["where"] = where
    return c.add("alert.raise", body, ts=ts, refs=refs)


def ack(c: Coop, alert: Entry, *, ts: int | None = None) -> Entry:
    return c.add("alert.ack", {"alert": alert.id.hex()}, ts=ts, refs=[alert.id])


def pledge(c: Coop, alert: Entry, what: str = "Four people with pumps.",
           need: str | None = None, *, ts: int | None = None) -> Entry:
    e = c.add("alert.pledge", {"alert": alert.id.hex(), "what": what}, ts=ts,
              refs=[alert.id])
    if need is None:
        return e
    # econkit's Coop.add reads a body's "need" as an id (need.met); sign this one here.
    body = {**e.body, "need": need}
    c.entries[-1] = create_entry(c.key, seq=e.seq, prev=e.prev, ts=e.ts, kind=e.kind,
                                 body=body, refs=list(e.refs))
    return c.entries[-1]


def delivered(c: Coop, alert: Entry, what: str = "Two pumps, five hours.",
              of: Entry | None = None, *, ts: int | None = None) -> Entry:
    body: dict[str, Any] = {"alert": alert.id.hex(), "what": what}
    refs = [alert.id]
    if of is not None:
        body["pledge"] = of.id.hex()
        refs.append(of.id)
    return c.add("alert.delivered", body, ts=ts, refs=refs)


def econ(*coops: Coop) -> Economy:
    return compute_economy(all_entries(*coops))


def code(e: Economy, entry: Entry) -> str | None:
    inv = e.invalid.get(entry.id)
    return None if inv is None else inv.code


def alert_of(e: Economy, entry: Entry) -> Alert:
    got = e.gov.alerts.get(entry.id)
    assert got is not None, e.invalid.get(entry.id)
    return got


@pytest.fixture
def coops() -> list[Coop]:
    reset_clock()
    return [Coop(k, n) for k, n in zip(KEYS, ("Garden", "Repair", "Bakery", "Mill", "Dairy",
                                              "Outsider"), strict=False)]


# ------------------------------------------------------------------------ raising

def test_an_alert_targets_every_other_member_of_the_raisers_federations(
        coops: list[Coop]) -> None:
    a, b, c, d, x, _ = coops
    f1 = federation(a, b, c)
    f2 = federation(d, a)          # a is in both; x is in neither
    al = raise_alert(a, needs=["amplification", "people"], where="Mill Lane 4")
    got = alert_of(econ(*coops), al)
    assert got.raiser == a.raw and got.author == a.raw and got.ts == al.ts
    assert got.deadline == al.ts + ALERT_WINDOW_MS == al.ts + 48 * HOUR
    assert got.federations == tuple(sorted([f1.id, f2.id]))
    assert got.targets == tuple(sorted([b.raw, c.raw, d.raw]))
    assert a.raw not in got.targets and x.raw not in got.targets
    assert got.needs == ("people", "amplification")  # in ALERT_NEEDS order
    assert not got.drill and got.where == "Mill Lane 4"
    assert got.what == "The cellar is flooding."
    assert got.unreached() == sorted([b.raw, c.raw, d.raw]) and not got.acked_all()


def test_an_alert_to_one_federation_targets_only_its_members(coops: list[Coop]) -> None:
    a, b, c, d, *_ = coops
    f1 = federation(a, b, c)
    federation(d, a)
    al = raise_alert(a, fed=f1)
    got = alert_of(econ(*coops), al)
    assert got.federations == (f1.id,)
    assert got.targets == tuple(sorted([b.raw, c.raw]))


def test_who_may_raise(coops: list[Coop]) -> None:
    a, b, c, d, x, _ = coops
    f1 = federation(a, b)
    federation(c, d)
    invited = a.invite(f1, x)                       # invited, not joined
    alone = raise_alert(x)
    named_other = raise_alert(a, fed=federation(d))  # a federation a is not in
    not_fed = raise_alert(a, fed=invited)            # an entry that is no federation
    x.join(f1, invited)
    joined = raise_alert(x)
    e = econ(*coops)
    assert code(e, alone) == "not-a-member"
    assert "no federation" in e.invalid[alone.id].detail
    assert code(e, named_other) == "not-a-member"
    assert code(e, not_fed) == "not-a-federation"
    assert code(e, joined) is None
    assert alert_of(e, joined).targets == tuple(sorted([a.raw, b.raw]))


def test_a_co_op_that_left_every_federation_cannot_raise(coops: list[Coop]) -> None:
    a, b, *_ = coops
    f = federation(a, b)
    b.leave(f)
    al = raise_alert(b)
    assert code(econ(a, b), al) == "not-a-member"


def test_an_alert_with_nobody_to_reach_is_valid_and_acked_all(coops: list[Coop]) -> None:
    a = coops[0]
    federation(a)
    al = raise_alert(a)
    got = alert_of(econ(a), al)
    assert got.targets == () and got.unreached() == [] and got.acked_all()


def test_targets_are_fixed_at_the_raise(coops: list[Coop]) -> None:
    a, b, c, d, *_ = coops
    f = federation(a, b, c)
    inv = a.invite(f, d)
    al = raise_alert(a, fed=f)
    c.leave(f)                 # leaves after the raise: still a target
    d.join(f, inv)             # joins after the raise: not one
    late_joiner = ack(d, al)
    leaver = ack(c, al)
    e = econ(a, b, c, d)
    got = alert_of(e, al)
    assert got.targets == tuple(sorted([b.raw, c.raw]))
    assert code(e, leaver) is None and c.raw in got.acks
    assert code(e, late_joiner) == "not-a-target"
    assert got.unreached() == [b.raw]
    # A second alert, after the changes, reaches d and not c.
    al2 = raise_alert(a, fed=f)
    assert alert_of(econ(a, b, c, d), al2).targets == tuple(sorted([b.raw, d.raw]))


def test_targets_follow_the_timeline_not_the_clock(coops: list[Coop]) -> None:
    """A join stamped before the raise but made after it (it refs the raise) is after
    the raise on the timeline: not a target."""
    a, b, c, *_ = coops
    f = federation(a, b)
    inv = a.invite(f, c)
    al = raise_alert(a, ts=a.now + HOUR)
    c.add("federation.join", {"federation": f.id.hex(), "invite": inv.id.hex()},
          ts=al.ts - SECOND, refs=[al.id])
    e = econ(a, b, c)
    assert c.raw in e.federations[f.id].current_members()
    assert alert_of(e, al).targets == (b.raw,)


# ---------------------------------------------------------------------- acks

def test_ack_rules(coops: list[Coop]) -> None:
    a, b, c, _, x, _ = coops
    federation(a, b, c)
    al = raise_alert(a)
    bad_raise = raise_alert(x)                      # invalid: x is in no federation
    first = ack(b, al)
    again = ack(b, al)
    own = ack(a, al)
    outsider = ack(x, al)
    on_invalid = ack(c, bad_raise)
    on_other = c.add("alert.ack", {"alert": first.id.hex()}, refs=[first.id])
    e = econ(*coops)
    assert code(e, first) is None
    assert code(e, again) == "already-acked"
    assert first.id.hex()[:8] in e.invalid[again.id].detail
    assert code(e, own) == "not-a-target"
    assert "raiser" in e.invalid[own.id].detail
    assert code(e, outsider) == "not-a-target"
    assert code(e, on_invalid) == "not-an-alert"
    assert code(e, on_other) == "not-an-alert"
    got = alert_of(e, al)
    assert got.acks == {b.raw: Ack(b.raw, first.id, first.ts, False)}
    assert got.unreached() == [c.raw]


def test_the_first_ack_on_the_timeline_counts_whatever_its_seq(coops: list[Coop]) -> None:
    """A co-op with two keys acks twice: the earlier on the timeline counts."""
    a, b, *_ = coops
    federation(a, b)
    node = delegate_key(b, KEYS[6], power="node", ts=b.now + SECOND)
    al = raise_alert(a, ts=b.now + 10 * SECOND)
    later = ack(b, al, ts=al.ts + 2 * HOUR)
    earlier = ack(node, al, ts=al.ts + HOUR)
    e = econ(a, b, node)
    assert code(e, earlier) is None and code(e, later) == "already-acked"
    got = alert_of(e, al)
    assert got.acks[b.raw].entry == earlier.id        # counted for the identity
    assert node.raw not in got.targets and got.acked_all()


@pytest.mark.parametrize(("offset", "late"), [(-1, False), (0, False), (1, True),
                                              (30 * 86_400_000, True)])
def test_the_deadline_boundary(coops: list[Coop], offset: int, late: bool) -> None:
    a, b, *_ = coops
    federation(a, b)
    al = raise_alert(a)
    deadline = al.ts + ALERT_WINDOW_MS
    receipt = ack(b, al, ts=deadline + offset)
    e = econ(a, b)
    got = alert_of(e, al)
    assert code(e, receipt) is None            # a late ack is valid and counts
    assert got.acks[b.raw].late is late
    assert got.late() == ([b.raw] if late else [])
    assert got.acked_all() and got.unreached() == []


def test_time_left(coops: list[Coop]) -> None:
    a, b, *_ = coops
    federation(a, b)
    al = raise_alert(a)
    got = alert_of(econ(a, b), al)
    assert got.time_left(al.ts) == ALERT_WINDOW_MS
    assert got.time_left(al.ts + HOUR) == ALERT_WINDOW_MS - HOUR
    assert got.time_left(got.deadline - 1) == 1
    assert got.time_left(got.deadline) == 0
    assert got.time_left(got.deadline + HOUR) == 0


def test_an_ack_stamped_before_the_raise_is_on_time(coops: list[Coop]) -> None:
    """Clocks disagree: an ack can be stamped before the raise it refs. It is after
    the raise on the timeline (it refs it) and not late."""
    a, b, *_ = coops
    federation(a, b)
    al = raise_alert(a, ts=a.now + HOUR)
    receipt = ack(b, al, ts=al.ts - 10 * SECOND)
    got = alert_of(econ(a, b), al)
    assert got.acks[b.raw].entry == receipt.id and not got.acks[b.raw].late


# ------------------------------------------------------------- pledges, deliveries

def test_pledges_and_deliveries(coops: list[Coop]) -> None:
    a, b, c, _, x, _ = coops
    federation(a, b, c)
    al = raise_alert(a, needs=["people"])
    other = raise_alert(b)
    p_b = pledge(b, al, need="people")
    p_unasked = pledge(c, al, need="material")      # not asked for: still recorded
    p_raiser = pledge(a, al, "We cook for the helpers.")
    p_outsider = pledge(x, al)
    p_none = pledge(b, al)
    p_other = pledge(a, other)
    d_own = delivered(b, al, of=p_b)
    d_plain = delivered(c, al)
    d_raiser = delivered(a, al, of=p_raiser)
    d_not_mine = delivered(c, al, of=p_b)           # b's pledge
    d_other_alert = delivered(a, al, of=p_other)    # a's pledge, for another alert
    d_invalid = delivered(b, al, of=p_outsider)     # not a valid pledge at all
    d_outsider = delivered(x, al)
    d_no_alert = delivered(b, p_b)
    e = econ(*coops)
    for ok in (p_b, p_unasked, p_raiser, p_none, p_other, d_own, d_plain, d_raiser):
        assert code(e, ok) is None, e.invalid[ok.id]
    assert code(e, p_outsider) == "not-a-target"
    assert "neither" in e.invalid[p_outsider.id].detail
    for bad in (d_not_mine, d_other_alert, d_invalid):
        assert code(e, bad) == "not-a-pledge"
    assert code(e, d_outsider) == "not-a-target"
    assert code(e, d_no_alert) == "not-an-alert"
    got = alert_of(e, al)
    assert [(p.coop, p.entry, p.need) for p in got.pledges] == [
        (b.raw, p_b.id, "people"), (c.raw, p_unasked.id, "material"),
        (a.raw, p_raiser.id, None), (b.raw, p_none.id, None)]
    assert got.pledges[2].what == "We cook for the helpers."
    assert [(d.coop, d.pledge) for d in got.deliveries] == [
        (b.raw, p_b.id), (c.raw, None), (a.raw, p_raiser.id)]
    # Neither a pledge nor a delivery is an ack.
    assert got.unreached() == sorted([b.raw, c.raw])


def test_a_delivery_before_its_pledge_on_the_timeline_is_not_a_pledge(
        coops: list[Coop]) -> None:
    """A delivery naming a pledge refs it, so it always comes after it; a pledge that
    comes after the delivery can only be another one."""
    a, b, *_ = coops
    federation(a, b)
    al = raise_alert(a)
    p = pledge(b, al)
    d = delivered(b, al, of=p)
    e = econ(a, b)
    assert code(e, d) is None
    assert e.gov.alerts.by_id[al.id].deliveries[0].pledge == p.id


# ------------------------------------------------------------------------ drills

def test_a_drill_takes_the_same_path_and_is_marked(coops: list[Coop]) -> None:
    a, b, c, *_ = coops
    federation(a, b, c)
    drill = raise_alert(a, drill=True, what="Drill: is everyone there?")
    real = raise_alert(a)
    ack(b, drill)
    pledge(b, drill, need="people")
    e = econ(a, b, c)
    assert alert_of(e, drill).drill and not alert_of(e, real).drill
    assert acks_due(e, c.raw) == [drill.id, real.id]
    assert acks_due(e, b.raw) == [real.id]
    value: Any = e.to_value()["alerts"]
    assert value[drill.id.hex()]["drill"] is True
    assert value[real.id.hex()]["drill"] is False


# ---------------------------------------------------------------------- acks_due

def test_acks_due(coops: list[Coop]) -> None:
    a, b, c, d, x, _ = coops
    f1 = federation(a, b, c)
    federation(d, b)
    first = raise_alert(a)                  # b, c
    second = raise_alert(d)                 # b
    third = raise_alert(a, fed=f1, drill=True)
    e = econ(*coops)
    assert acks_due(e, b.raw) == [first.id, second.id, third.id]   # timeline order
    assert acks_due(e, c.raw) == [first.id, third.id]
    assert acks_due(e, a.raw) == []         # a raised the others; d's is to f2 only
    assert acks_due(e, x.raw) == []
    ack(b, second)
    ack(b, first, ts=first.ts + ALERT_WINDOW_MS + HOUR)  # late: no longer due
    e = econ(*coops)
    assert acks_due(e, b.raw) == [third.id]
    assert acks_due(e, a.raw) == []         # the raiser is never due to ack its own


def test_acks_due_for_a_node_key_of_the_co_op(coops: list[Coop]) -> None:
    a, b, *_ = coops
    federation(a, b)
    node = delegate_key(b, KEYS[6], power="node", ts=b.now + SECOND)
    al = raise_alert(a, ts=b.now + 10 * SECOND)
    e = econ(a, b, node)
    assert acks_due(e, node.raw) == acks_due(e, b.raw) == [al.id]
    ack(node, al)
    e = econ(a, b, node)
    assert acks_due(e, node.raw) == acks_due(e, b.raw) == []
    assert alert_of(e, al).acked_all()


def test_late_acks_are_still_due(coops: list[Coop]) -> None:
    """acks_due takes no time: an alert past its deadline is still due (a receipt is
    always worth writing), and the ack is marked late."""
    a, b, *_ = coops
    federation(a, b)
    al = raise_alert(a)
    assert acks_due(econ(a, b), b.raw) == [al.id]


# ----------------------------------------------------------------------- the value

def test_the_state_value(coops: list[Coop]) -> None:
    a, b, c, *_ = coops
    f = federation(a, b, c)
    assert "alerts" not in econ(a, b, c).to_value()     # only once an alert kind applied
    al = raise_alert(a, needs=["material", "people"], ts=a.now + HOUR)
    r = ack(c, al, ts=al.ts + ALERT_WINDOW_MS + 1)
    p = pledge(b, al, need="material")
    d = delivered(b, al, of=p)
    d2 = delivered(a, al)
    e = econ(a, b, c)
    value = e.to_value()["alerts"]
    rows: list[list[Any]] = [[d.id.hex(), b.hex, p.id.hex()], [d2.id.hex(), a.hex, None]]
    assert value == {al.id.hex(): {
        "raiser": a.hex, "author": a.hex, "ts": al.ts, "deadline": al.ts + ALERT_WINDOW_MS,
        "drill": False, "federations": [f.id.hex()], "needs": ["people", "material"],
        "targets": sorted([b.hex, c.hex]),
        "acks": [[c.hex, r.id.hex(), r.ts, True]],
        "pledges": [[p.id.hex(), b.hex, "material"]],
        "deliveries": sorted(rows, key=lambda row: str(row[0])),
        "unreached": [b.hex],
    }}
    encode(e.to_value())          # canonical: encodes
    assert econ(a, b, c).to_value() == e.to_value()


def test_only_invalid_alert_entries_still_show_the_value(coops: list[Coop]) -> None:
    x = coops[4]
    bad = raise_alert(x)
    e = econ(x)
    assert code(e, bad) == "not-a-member"
    assert e.to_value()["alerts"] == {}
    invalid: Any = e.to_value()["invalid"]
    assert [bad.id.hex(), "not-a-member"] in invalid


# --------------------------------------------------------------------- the codes

def test_every_raised_code_is_declared() -> None:
    text = (Path(__file__).resolve().parents[2] / "protocol" / "commons" / "_alerts.py").read_text()
    raised = set(re.findall(r'Reject\(\s*"([a-z-]+)"', text))
    assert {"not-an-alert", "not-a-target", "already-acked", "not-a-pledge"} <= raised
    assert raised - (REASON_CODES | ECONOMY_CODES) == set()
    assert REASON_CODES <= COMMONS14_REASON_CODES
    assert REASON_CODES.isdisjoint(ECONOMY_CODES)   # new codes only, as §12.4 has the rest


SPEC = (Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md").read_text()


def test_every_code_is_in_the_spec() -> None:
    section = SPEC[SPEC.index("### 14.6"):]
    end = re.search(r"^#{1,3} ", section[4:], re.MULTILINE)  # the next section
    section = section[:end.start() + 4] if end else section
    used = REASON_CODES | {"not-a-federation", "not-a-member"}
    assert sorted(c for c in used if f"`{c}`" not in section) == []
    assert str(ALERT_WINDOW_MS) in section.replace("_", "").replace(" ", "")


# ------------------------------------------------------------------ order independence

STEPS = st.lists(st.tuples(st.sampled_from(("ack", "pledge", "delivered", "raise",
                                            "leave", "join")),
                           st.integers(0, 4), st.integers(0, 3),
                           st.integers(-HOUR, 3 * ALERT_WINDOW_MS)),
                 min_size=1, max_size=14)


def _scenario(steps: list[tuple[str, int, int, int]]) -> tuple[list[Coop], list[Entry]]:
    """Four members and an outsider; alerts, acks (repeated, late, by outsiders and
    raisers), pledges, deliveries and membership changes as the steps say."""
    reset_clock()
    cs = [Coop(k, f"c{i}") for i, k in enumerate(KEYS[:5])]
    fed = federation(*cs[:4])
    invite = cs[0].invite(fed, cs[4])
    alerts: list[Entry] = [raise_alert(cs[0], needs=["people", "material"])]
    pledges: list[Entry] = []
    joined = left = False
    for what, who, which, dt in steps:
        c = cs[who]
        al = alerts[which % len(alerts)]
        ts = max(c.now, al.ts + dt) + SECOND
        if what == "ack":
            ack(c, al, ts=ts)
        elif what == "pledge":
            pledges.append(pledge(c, al, need=("people", "material", None)[which % 3],
                                  ts=ts))
        elif what == "delivered":
            of = pledges[which % len(pledges)] if pledges and which else None
            delivered(c, al, of=of, ts=ts)
        elif what == "raise":
            alerts.append(raise_alert(c, drill=bool(which % 2), ts=c.now + SECOND))
        elif what == "leave" and not left and who < 4 and who:
            c.leave(fed)
            left = True
        elif what == "join" and not joined:
            cs[4].join(fed, invite)
            joined = True
    return cs, all_entries(*cs)


@settings(max_examples=100, deadline=None)
@given(steps=STEPS, seed=st.randoms(use_true_random=False))
def test_the_result_is_a_function_of_the_set_of_entries(steps: list[tuple[str, int, int,
                                                                            int]],
                                                          seed: Any) -> None:
    _, entries = _scenario(steps)
    want = compute_economy(entries)
    shuffled = list(entries) + seed.sample(entries, k=min(3, len(entries)))  # duplicates
    seed.shuffle(shuffled)
    got = compute_economy(shuffled)
    assert got.to_value() == want.to_value()
    assert encode(got.to_value()["alerts"])
    for a in got.gov.alerts.by_id.values():
        assert set(a.acks) <= set(a.targets) and a.raiser not in a.targets
        assert sorted(set(a.targets) - set(a.acks)) == a.unreached()
        assert a.acked_all() == (a.unreached() == [])
        assert all(k.late == (k.ts > a.deadline) for k in a.acks.values())
        for d in a.deliveries:
            assert d.pledge is None or any(p.entry == d.pledge and p.coop == d.coop
                                           for p in a.pledges)
    for c_raw in {e.author for e in entries}:
        for aid in acks_due(got, c_raw):
            alert = got.gov.alerts.by_id[aid]
            assert c_raw in alert.targets and c_raw not in alert.acks
