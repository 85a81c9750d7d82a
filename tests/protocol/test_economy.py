"""The economy (SPEC §12): federations, transfers, mutual credit, the surplus board,
the innovation fund and needs, rule by rule and reason code by reason code."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from econkit import (
    DAY,
    KEYS,
    SECOND,
    T0,
    Coop,
    all_entries,
    economy,
    federation,
    reset_clock,
    tick,
)

from coopledger.crypto import sha256
from coopledger.protocol import Entry, Quantity, encode
from coopledger.protocol.commons import (
    DEFAULT_RULES,
    ECONOMY_KINDS,
    Economy,
    Flag,
    Rules,
    Unit,
    compute_economy,
    date_end_ms,
    utc_date,
)

Q = Quantity.parse


@pytest.fixture
def coops() -> tuple[Coop, Coop, Coop, Coop]:
    reset_clock()
    names = ("Garden", "Repair", "Bakery", "Outsider")
    return tuple(Coop(k, n) for k, n in zip(KEYS, names, strict=False))  # type: ignore[return-value]


def invalid_code(econ: Economy, entry_id: bytes) -> str | None:
    inv = econ.invalid.get(entry_id)
    return None if inv is None else inv.code


# ---------------------------------------------------------------------------- rules map

def test_default_rules_round_trip() -> None:
    value = DEFAULT_RULES.to_value()
    assert Rules.from_value(value) == DEFAULT_RULES
    assert DEFAULT_RULES.unit("hour") == Unit("hour", "h", 2, "time", Q("40"))
    assert DEFAULT_RULES.unit("kwh") == Unit("kwh", "kWh", 3, "energy")
    assert DEFAULT_RULES.unit("litre") is None
    assert value["fund_share"] == "0.1" and value["offer_expiry_days"] == 14
    assert "credit_limit" not in value["units"][1]  # type: ignore[index, call-overload]


def test_rules_from_value_refuses_junk() -> None:
    with pytest.raises(ValueError):
        Rules.from_value({"units": [], "fund_share": "0.1", "offer_expiry_days": 3})
    with pytest.raises(ValueError):
        Rules.from_value([1, 2])


def test_dates_are_utc_arithmetic() -> None:
    assert utc_date(T0) == "2023-11-14"
    assert utc_date(date_end_ms("2023-11-14") - 1) == "2023-11-14"
    assert utc_date(date_end_ms("2023-11-14")) == "2023-11-15"


# ---------------------------------------------------------------------------- membership

def test_create_makes_the_founder_a_member(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = a.create_federation(name="Riverside")
    econ = economy(a, b)
    f = econ.federations[fed.id]
    assert (f.name, f.founder, f.created) == ("Riverside", a.raw, fed.ts)
    assert f.current_members() == [a.raw]
    assert f.is_member(a.raw, fed.ts) and not f.is_member(a.raw, fed.ts - 1)
    assert not f.is_member(b.raw)
    assert econ.federations_of(a.raw) == [f] and econ.federations_of(b.raw) == []


def test_invite_then_join(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = a.create_federation()
    inv = a.invite(fed, b)
    econ = economy(a, b)
    assert econ.federations[fed.id].invited == {b.raw: inv.id}
    assert [f.id for f in econ.federations_of(b.raw)] == [fed.id]  # invited counts
    join = b.join(fed, inv, ts=inv.ts + 5 * SECOND)
    econ = economy(a, b)
    f = econ.federations[fed.id]
    assert f.invited == {}
    assert f.members[b.raw] == [(join.ts, None)]
    assert f.current_members() == sorted([a.raw, b.raw])


def test_invite_by_non_member_is_invalid(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = a.create_federation()
    inv = b.invite(fed, c, refs=[])
    econ = economy(a, b, c)
    assert invalid_code(econ, inv.id) == "not-a-member"
    assert econ.federations[fed.id].invited == {}


def test_invite_of_a_member_is_invalid(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    again = a.invite(fed, b)
    assert invalid_code(economy(a, b), again.id) == "already-member"


def test_join_without_invite(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = a.create_federation()
    inv = a.invite(fed, b)
    stolen = c.join(fed, inv, ts=inv.ts + SECOND)   # c uses b's invite
    econ = economy(a, b, c)
    assert invalid_code(econ, stolen.id) == "not-invited"
    assert not econ.federations[fed.id].is_member(c.raw)
    # an id that is not an invite at all
    bogus = c.join(fed, fed)
    assert invalid_code(economy(a, b, c), bogus.id) == "not-invited"


def test_join_uses_the_invite_up(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = a.create_federation()
    inv = a.invite(fed, b)
    b.join(fed, inv, ts=inv.ts + SECOND)
    b.leave(fed)
    again = b.join(fed, inv)
    econ = economy(a, b)
    assert invalid_code(econ, again.id) == "not-invited"
    assert not econ.federations[fed.id].is_member(b.raw)


def test_join_when_already_member(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = a.create_federation()
    inv1 = a.invite(fed, b)
    inv2 = a.invite(fed, b)
    b.join(fed, inv1, ts=inv2.ts + SECOND)
    twice = b.join(fed, inv2)
    assert invalid_code(economy(a, b), twice.id) == "already-member"


def test_leave_and_rejoin(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    join1 = b.entries[-1]
    leave = b.leave(fed)
    f = economy(a, b).federations[fed.id]
    assert f.members[b.raw] == [(join1.ts, leave.ts)]
    assert not f.is_member(b.raw) and f.is_member(b.raw, leave.ts - 1)
    assert not f.is_member(b.raw, leave.ts)
    inv = a.invite(fed, b, ts=leave.ts + SECOND)
    join2 = b.join(fed, inv, ts=inv.ts + SECOND)
    econ = economy(a, b)
    f = econ.federations[fed.id]
    assert f.members[b.raw] == [(join1.ts, leave.ts), (join2.ts, None)]
    assert f.is_member(b.raw) and not f.is_member(b.raw, leave.ts + 500)
    assert f.members_during(leave.ts, join2.ts) == [a.raw]
    assert f.members_during(leave.ts - 1, join2.ts) == sorted([a.raw, b.raw])
    assert econ.invalid == {}


def test_leave_by_non_member(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = a.create_federation()
    leave = b.leave(fed)
    assert invalid_code(economy(a, b), leave.id) == "not-a-member"


def test_not_a_federation(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    inv = a.invite(fed, b)            # invalid (already-member): not a federation either
    bad = a.add("federation.leave", {"federation": inv.id.hex()})
    econ = economy(a, b)
    assert invalid_code(econ, bad.id) == "not-a-federation"
    assert econ.invalid[bad.id].detail.startswith("entry ")


def test_rules_amended_by_founder_only(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    litre = Rules((*DEFAULT_RULES.units, Unit("litre", "l", 1, "mass")), Q("0.2"), 7)
    by_b = b.set_rules(fed, litre)
    econ = economy(a, b)
    assert invalid_code(econ, by_b.id) == "not-the-founder"
    assert econ.federations[fed.id].rules == DEFAULT_RULES
    by_a = a.set_rules(fed, litre, ts=by_b.ts + SECOND)
    f = economy(a, b).federations[fed.id]
    assert f.rules == litre
    assert f.rules_at(by_a.ts - 1) == DEFAULT_RULES and f.rules_at(by_a.ts) == litre
    assert f.rules_at(0) == DEFAULT_RULES


def test_non_economic_entries_are_ignored(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    a.labor("2")
    assert economy(a, b).to_value() == {"federations": {}, "invalid": [], "exceptions": []}
    assert "labor" not in ECONOMY_KINDS


# ----------------------------------------------------------------------------- transfers

def test_offer_and_accept_move_balances(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    offer = a.offer(fed, b, "2.5")
    econ = economy(a, b, c)
    assert econ.transfers[offer.id].status == "open"
    assert econ.reserved(fed.id, None) == {("hour", a.raw): Q("2.5")}
    assert econ.balances(fed.id) == {}
    acc = b.accept(offer, ts=offer.ts + SECOND)
    econ = economy(a, b, c)
    t = econ.transfers[offer.id]
    assert (t.status, t.closed_by, t.closed_ts) == ("accepted", acc.id, acc.ts)
    assert econ.balances(fed.id) == {("hour", a.raw): Q("-2.5"), ("hour", b.raw): Q("2.5")}
    assert econ.reserved(fed.id, None) == {}
    assert econ.exceptions == [] and econ.invalid == {}


def test_accept_exactly_at_expiry_is_in_time(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1", expires=b.now + 60 * SECOND)
    acc = b.accept(offer, ts=offer.body["expires"])  # type: ignore[arg-type]
    econ = economy(a, b)
    assert econ.invalid == {}
    assert econ.transfers[offer.id].status == "accepted"
    assert econ.transfers[offer.id].closed_by == acc.id


def test_accept_one_ms_after_expiry_is_expired(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1", expires=b.now + 60 * SECOND)
    expires = offer.body["expires"]
    assert isinstance(expires, int)
    acc = b.accept(offer, ts=expires + 1)
    econ = economy(a, b)
    assert invalid_code(econ, acc.id) == "expired"
    t = econ.transfers[offer.id]
    assert t.status == "open" and econ.balances(fed.id) == {}
    assert t.status_at(expires) == "open" and t.status_at(expires + 1) == "lapsed"
    assert t.status_at(None) == "open"
    assert econ.reserved(fed.id, expires) == {("hour", a.raw): Q("1")}
    assert econ.reserved(fed.id, expires + 1) == {}


def test_double_accept(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1")
    first = b.accept(offer, ts=offer.ts + SECOND)
    second = b.accept(offer)
    econ = economy(a, b)
    assert invalid_code(econ, first.id) is None
    assert invalid_code(econ, second.id) == "already-accepted"
    assert econ.balances(fed.id)[("hour", b.raw)] == Q("1")


def test_accept_after_decline(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1")
    dec = b.decline(offer, ts=offer.ts + SECOND)
    acc = b.accept(offer)
    dec2 = b.decline(offer)
    econ = economy(a, b)
    assert invalid_code(econ, acc.id) == "already-declined"
    assert invalid_code(econ, dec2.id) == "already-declined"
    t = econ.transfers[offer.id]
    assert (t.status, t.closed_by) == ("declined", dec.id)
    assert econ.balances(fed.id) == {} and econ.reserved(fed.id, None) == {}


def test_decline_after_accept(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1")
    b.accept(offer, ts=offer.ts + SECOND)
    dec = b.decline(offer)
    assert invalid_code(economy(a, b), dec.id) == "already-accepted"


def test_accept_by_someone_other_than_the_receiver(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    offer = a.offer(fed, b, "1")
    by_c = c.accept(offer, ts=offer.ts + SECOND)
    by_a = a.accept(offer)
    by_c_decline = c.decline(offer)
    econ = economy(a, b, c)
    assert invalid_code(econ, by_c.id) == "not-the-receiver"
    assert invalid_code(econ, by_a.id) == "not-the-receiver"
    assert invalid_code(econ, by_c_decline.id) == "not-the-receiver"
    assert econ.transfers[offer.id].status == "open"


def test_accept_of_something_that_is_not_an_offer(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    acc = b.add("transfer.accept", {"offer": fed.id.hex()})
    assert invalid_code(economy(a, b), acc.id) == "not-an-offer"


def test_offer_to_a_non_member(coops: tuple[Coop, ...]) -> None:
    a, b, _, d = coops
    fed = federation(a, b)
    offer = a.offer(fed, d, "1")
    econ = economy(a, b, d)
    assert invalid_code(econ, offer.id) == "not-a-member"
    assert "receiver" in econ.invalid[offer.id].detail
    assert offer.id not in econ.transfers
    # and its accept refers to no valid offer
    acc = d.accept(offer, ts=offer.ts + SECOND)
    assert invalid_code(economy(a, b, d), acc.id) == "not-an-offer"


def test_offer_from_a_non_member(coops: tuple[Coop, ...]) -> None:
    a, b, _, d = coops
    fed = federation(a, b)
    offer = d.offer(fed, b, "1")
    econ = economy(a, b, d)
    assert invalid_code(econ, offer.id) == "not-a-member"
    assert "payer" in econ.invalid[offer.id].detail


def test_offer_from_a_co_op_that_left(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    b.leave(fed)
    offer = b.offer(fed, a, "1")
    to_left = a.offer(fed, b, "1", ts=max(a.now, b.now) + SECOND)
    econ = economy(a, b)
    assert invalid_code(econ, offer.id) == "not-a-member"
    assert invalid_code(econ, to_left.id) == "not-a-member"


def test_receiver_who_left_cannot_accept(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1")
    b.leave(fed, ts=offer.ts + SECOND)
    acc = b.accept(offer)
    assert invalid_code(economy(a, b), acc.id) == "not-a-member"


def test_offer_to_oneself(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, a, "1")
    assert invalid_code(economy(a, b), offer.id) == "wrong-target"


def test_offer_expiring_before_it_is_made(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    ts = a.now + SECOND
    same = a.offer(fed, b, "1", ts=ts, expires=ts)
    ok = a.offer(fed, b, "1", ts=ts + 1, expires=ts + 2)
    econ = economy(a, b)
    assert invalid_code(econ, same.id) == "expires-before-offered"
    assert invalid_code(econ, ok.id) is None


def test_unit_the_federation_does_not_define(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, "1", "litre")
    econ = economy(a, b)
    assert invalid_code(econ, offer.id) == "unknown-unit"
    assert "litre" not in econ.invalid[offer.id].detail  # never echo the payload


def test_unit_defined_by_amended_rules(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    before = a.offer(fed, b, "1", "litre")
    litre = Rules((*DEFAULT_RULES.units, Unit("litre", "l", 1, "mass")), Q("0.1"), 14)
    a.set_rules(fed, litre)
    after = a.offer(fed, b, "1.5", "litre")
    econ = economy(a, b)
    assert invalid_code(econ, before.id) == "unknown-unit"
    assert invalid_code(econ, after.id) is None


def test_more_decimals_than_the_unit_allows(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    ok = a.offer(fed, b, "1.25")
    three = a.offer(fed, b, "1.125")
    items = a.offer(fed, b, "1.5", "item")
    econ = economy(a, b)
    assert invalid_code(econ, ok.id) is None
    assert invalid_code(econ, three.id) == "too-many-decimals"
    assert invalid_code(econ, items.id) == "too-many-decimals"


def test_items_move_in_kind_and_change_no_balance(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    offer = a.offer(fed, b, None, None,
                    items=[{"item": "apples", "quantity": "12.5", "unit": "kg"}])
    b.accept(offer, ts=offer.ts + SECOND)
    econ = economy(a, b)
    t = econ.transfers[offer.id]
    assert t.status == "accepted" and t.amount is None
    assert [(i.item, i.quantity, i.unit) for i in t.items] == [("apples", Q("12.5"), "kg")]
    assert econ.balances(fed.id) == {} and econ.exceptions == []


def unchecked(entry: Entry, body: dict[str, Any]) -> Entry:
    """``entry`` with another body, as a build without the §12.2 schemas would hold it
    (a real entry of this shape is refused at decode time)."""
    return dataclasses.replace(entry, body=body, id=sha256(entry.id + encode(body)))


def test_malformed_body_is_invalid_not_a_crash(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    good = a.offer(fed, b, "1")
    body = dict(good.body)
    forged = {
        "bad-to": unchecked(good, {**body, "to": "B" * 64}),
        "negative": unchecked(good, {**body, "amount": "-1"}),
        "no-ref": unchecked(good, {**body, "federation": "ab" * 32}),
        "no-unit": unchecked(good, {k: v for k, v in body.items() if k != "unit"}),
        "bad-rules": unchecked(fed, {**fed.body, "rules": {"units": []}}),
        "bad-expires": unchecked(good, {**body, "expires": "soon"}),
        "bad-items": unchecked(good, {**body, "items": [1]}),
    }
    econ = compute_economy([*all_entries(a, b), *forged.values()])
    assert invalid_code(econ, good.id) is None
    for name, e in forged.items():
        assert invalid_code(econ, e.id) == "malformed", name
    assert econ.invalid[forged["bad-to"].id].detail == "field 'to' is not the hex key of a co-op"


# ------------------------------------------------------------------------ credit limits

def limited(limit: str) -> Rules:
    hour = Unit("hour", "h", 2, "time", Q(limit))
    return Rules((hour, Unit("kg", "kg", 3, "mass")), Q("0.1"), 14)


def test_credit_limit_exception_is_flagged_not_undone(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c, rules=limited("10"))
    o1 = a.offer(fed, b, "6")
    o2 = a.offer(fed, c, "6")
    acc1 = b.accept(o1, ts=o2.ts + SECOND)
    acc2 = c.accept(o2, ts=acc1.ts + SECOND)
    econ = economy(a, b, c)
    assert econ.balances(fed.id)[("hour", a.raw)] == Q("-12")
    over = [f for f in econ.exceptions if f.code == "over-credit-limit"]
    assert over == [Flag("over-credit-limit", fed.id, "hour", a.raw, acc2.id, Q("-12"),
                         Q("-10"))]
    assert acc1.id not in {f.entry_id for f in econ.exceptions}
    assert "below its credit limit of -10 hour" in over[0].describe()
    # the second offer went over what a had left: 10 - 6 reserved
    avail = [f for f in econ.exceptions if f.code == "offer-over-available"]
    assert avail == [Flag("offer-over-available", fed.id, "hour", a.raw, o2.id, Q("6"),
                          Q("4"))]


def test_credit_limit_flag_is_the_same_in_any_order(coops: tuple[Coop, ...]) -> None:
    """Two partitions each accept an offer from the same payer; merged in any order,
    every node flags the same accept (the later one on the timeline)."""
    a, b, c, _ = coops
    fed = federation(a, b, c, rules=limited("5"))
    o1 = a.offer(fed, b, "4")
    o2 = a.offer(fed, c, "4")
    b.accept(o1, ts=o2.ts + 10 * SECOND)
    c.accept(o2, ts=o2.ts + 10 * SECOND)
    entries = all_entries(a, b, c)
    values = set()
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(entries)
        econ = compute_economy(entries + entries[:5])
        values.add(encode(econ.to_value()))
        assert [f.code for f in econ.exceptions].count("over-credit-limit") == 1
    assert len(values) == 1


def test_lapsed_offers_reserve_nothing_for_the_available_check(
        coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b, rules=limited("5"))
    t = tick()
    old = a.offer(fed, b, "5", ts=t, expires=t + 2 * SECOND)
    new = a.offer(fed, b, "5", ts=old.ts + 10 * SECOND)
    econ = economy(a, b)
    assert [f.entry_id for f in econ.exceptions] == []
    assert econ.reserved(fed.id, new.ts) == {("hour", a.raw): Q("5")}
    assert econ.reserved(fed.id, None) == {("hour", a.raw): Q("10")}


def test_offer_over_available(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b, rules=limited("5"))
    fits = a.offer(fed, b, "5")
    over = a.offer(fed, b, "0.01")
    kg = a.offer(fed, b, "1000", "kg")   # no credit limit on kg: never flagged
    econ = economy(a, b)
    assert [(f.code, f.entry_id, f.value, f.bound) for f in econ.exceptions] == [
        ("offer-over-available", over.id, Q("0.01"), Q("0"))]
    assert invalid_code(econ, over.id) is None       # flagged, still a valid offer
    assert econ.transfers[over.id].status == "open"
    assert fits.id in econ.transfers and kg.id in econ.transfers
    assert "offered 0.01 hour with only 0 hour available" in econ.exceptions[0].describe()


def test_a_positive_balance_adds_to_what_is_available(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b, rules=limited("5"))
    o = b.offer(fed, a, "3")
    a.accept(o, ts=o.ts + SECOND)
    eight = a.offer(fed, b, "8")
    nine = a.offer(fed, b, "0.01")
    econ = economy(a, b)
    assert [f.entry_id for f in econ.exceptions] == [nine.id]
    assert eight.id in econ.transfers


# ---------------------------------------------------------------------- surplus sprint

def test_board_lists_matches_by_casefolded_item_and_unit(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    apples = a.surplus_offer(fed, "Äpfel", "20", "KG", until="2023-11-20")
    drill = a.surplus_offer(fed, "drill", "1", "item", what="tool")
    want = b.surplus_request(fed, "äpfel", "5", "kg")
    own = a.surplus_request(fed, "ÄPFEL", "5", "kg")     # a's own offer: no match
    pears = c.surplus_request(fed, "pears", "5", "kg")
    board = economy(a, b, c).board(fed.id, None)
    assert [o.id for o in board.offers] == sorted([apples.id, drill.id])
    assert [r.id for r in board.requests] == sorted([want.id, own.id, pears.id])
    assert board.matches == [(apples.id, want.id)]
    # until is a date: the offer is open through the whole of its last day (UTC)
    econ = economy(a, b, c)
    assert apples.id in {o.id for o in econ.board(fed.id, date_end_ms("2023-11-20") - 1).offers}
    late = econ.board(fed.id, date_end_ms("2023-11-20"))
    assert apples.id not in {o.id for o in late.offers} and late.matches == []


def test_surplus_from_non_member(coops: tuple[Coop, ...]) -> None:
    a, b, _, d = coops
    fed = federation(a, b)
    o = d.surplus_offer(fed, "bread", "3", "loaves")
    r = d.surplus_request(fed, "bread", "3", "loaves")
    econ = economy(a, b, d)
    assert invalid_code(econ, o.id) == "not-a-member"
    assert invalid_code(econ, r.id) == "not-a-member"


def test_sprint_allocation_is_an_in_kind_transfer(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    offer = a.surplus_offer(fed, "apples", "20", "kg")
    req_b = b.surplus_request(fed, "Apples", "8", "kg")
    req_c = c.surplus_request(fed, "apples", "30", "kg")
    al_b = c.allocate(offer, req_b, "8")            # any member may record it
    al_c = a.allocate(offer, req_c, "12", "2023-12")
    econ = economy(a, b, c)
    assert econ.invalid == {}
    t = econ.transfers[al_b.id]
    assert (t.origin, t.payer, t.receiver, t.status) == ("allocation", a.raw, b.raw, "open")
    assert [(i.item, i.quantity, i.unit) for i in t.items] == [("apples", Q("8"), "kg")]
    assert econ.surplus_offers[offer.id].allocated == Q("20")
    board = econ.board(fed.id, None)
    assert offer.id not in {o.id for o in board.offers}          # nothing left
    assert req_b.id not in {r.id for r in board.requests}
    assert [(r.id, r.allocated) for r in board.requests] == [(req_c.id, Q("12"))]
    assert {s: [x.id for x in v] for s, v in board.sprints.items()} == {
        "2023-11": [al_b.id], "2023-12": [al_c.id]}
    assert econ.allocations[al_b.id].by == c.raw
    # the receiver confirms with transfer.accept; balances do not move
    b.accept(al_b)
    econ = economy(a, b, c)
    assert econ.transfers[al_b.id].status == "accepted" and econ.balances(fed.id) == {}


def test_sprint_over_allocation(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    offer = a.surplus_offer(fed, "apples", "10", "kg")
    req_b = b.surplus_request(fed, "apples", "6", "kg")
    req_c = c.surplus_request(fed, "apples", "6", "kg")
    first = a.allocate(offer, req_b, "6")
    over_req = a.allocate(offer, req_b, "0.5")       # b's request is full
    over_offer = a.allocate(offer, req_c, "4.5")     # only 4 kg of the offer left
    fits = a.allocate(offer, req_c, "4")
    econ = economy(a, b, c)
    assert invalid_code(econ, first.id) is None and invalid_code(econ, fits.id) is None
    assert invalid_code(econ, over_req.id) == "over-offer"
    assert invalid_code(econ, over_offer.id) == "over-offer"
    assert econ.invalid[over_offer.id].detail == "only 4 kg of the offer is left unallocated"
    assert over_offer.id not in econ.transfers and over_offer.id not in econ.allocations


def test_declined_and_lapsed_allocations_free_the_surplus(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    offer = a.surplus_offer(fed, "apples", "10", "kg")
    req_b = b.surplus_request(fed, "apples", "10", "kg")
    req_c = c.surplus_request(fed, "apples", "10", "kg")
    t = tick()
    lapses = a.allocate(offer, req_b, "4", ts=t, expires=t + SECOND)
    declined = a.allocate(offer, req_c, "6")
    c.decline(declined)
    econ = economy(a, b, c)
    assert econ.surplus_offers[offer.id].allocated == Q("4")   # lapsed still counted
    board = econ.board(fed.id, t + 2 * SECOND)
    assert [(o.id, o.allocated) for o in board.offers] == [(offer.id, Q("0"))]
    again = a.allocate(offer, req_c, "10")
    assert invalid_code(economy(a, b, c), again.id) is None
    late = b.accept(lapses)
    assert invalid_code(economy(a, b, c), late.id) == "expired"


def test_allocation_targets(coops: tuple[Coop, ...]) -> None:
    a, b, c, d = coops
    fed = federation(a, b, c)
    other = d.create_federation(name="Elsewhere")
    offer = a.surplus_offer(fed, "apples", "10", "kg")
    own = a.surplus_request(fed, "apples", "1", "kg")
    litres = b.surplus_request(fed, "apples", "1", "l")
    elsewhere = d.surplus_request(other, "apples", "1", "kg")
    req = b.surplus_request(fed, "apples", "1", "kg")
    cases = {
        "wrong-target": [a.allocate(offer, own, "1"), a.allocate(offer, litres, "1"),
                         d.allocate(offer, elsewhere, "1")],
        "not-an-offer": [a.allocate(req, req, "1")],
        "not-a-request": [a.allocate(offer, offer, "1")],
        "not-a-member": [d.allocate(offer, req, "1")],
    }
    t = tick()
    cases["expires-before-offered"] = [a.allocate(offer, req, "1", ts=t, expires=t)]
    econ = economy(a, b, c, d)
    for code, entries in cases.items():
        for e in entries:
            assert invalid_code(econ, e.id) == code


# ---------------------------------------------------------------------- innovation fund

def test_fund_due_contributions_and_grants(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    a.fund_surplus(fed, "30")
    b.fund_surplus(fed, "12.5", period="2023-10")
    b.fund_surplus(fed, "0", period="2023-10")         # a correction: the last counts
    a.contribute(fed, "3")
    a.contribute(fed, "1.5")
    g = c.grant(fed, b, "2", report_due="2023-12-01")
    econ = economy(a, b, c)
    view = econ.fund(fed.id, None)
    assert view.due == {(a.raw, "2023-11", "hour"): Q("3"),
                        (b.raw, "2023-10", "hour"): Q("0")}
    assert view.contributed == {(a.raw, "2023-11", "hour"): Q("4.5")}
    assert view.balances == {"hour": Q("2.5")}
    assert [x.id for x in view.grants] == [g.id] and view.overdue == []
    assert econ.exceptions == []


def test_due_uses_the_fund_share_in_force(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    a.set_rules(fed, Rules(DEFAULT_RULES.units, Q("0.25"), 14))
    b.fund_surplus(fed, "10.1")
    assert economy(a, b).fund(fed.id, None).due == {(b.raw, "2023-11", "hour"): Q("2.525")}


def test_grant_over_fund(coops: tuple[Coop, ...]) -> None:
    a, b, *_ = coops
    fed = federation(a, b)
    a.contribute(fed, "5")
    ok = a.grant(fed, b, "5")
    over = a.grant(fed, b, "0.5")
    econ = economy(a, b)
    assert [(f.code, f.entry_id, f.value, f.bound) for f in econ.exceptions] == [
        ("grant-over-fund", over.id, Q("-0.5"), Q("0"))]
    assert ok.id in econ.grants and over.id in econ.grants     # flagged, still valid
    assert econ.fund(fed.id, None).balances == {"hour": Q("-0.5")}
    assert "leaves the fund at -0.5 hour" in econ.exceptions[0].describe()


def test_fund_units_and_members(coops: tuple[Coop, ...]) -> None:
    a, b, _, d = coops
    fed = federation(a, b)
    cases = {
        "unknown-unit": [a.contribute(fed, "1", "euro"), a.fund_surplus(fed, "1", "euro")],
        "too-many-decimals": [a.contribute(fed, "1.5", "item"), a.grant(fed, b, "0.001")],
        "not-a-member": [d.contribute(fed, "1"), a.grant(fed, d, "1"), d.fund_surplus(fed, "1")],
    }
    econ = economy(a, b, d)
    for code, entries in cases.items():
        for e in entries:
            assert invalid_code(econ, e.id) == code


def test_overdue_report_as_of(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    a.contribute(fed, "10")
    g = a.grant(fed, b, "2", report_due="2023-11-30")
    g2 = a.grant(fed, c, "2", report_due="2023-11-30")
    end = date_end_ms("2023-11-30")
    econ = economy(a, b, c)
    assert econ.fund(fed.id, end - 1).overdue == []             # due day not over yet
    assert [x.id for x in econ.fund(fed.id, end).overdue] == sorted([g.id, g2.id])
    assert econ.fund(fed.id, None).overdue == []
    by_a = a.report(g)
    rep = b.report(g, "abandoned")
    again = b.report(g, "succeeded")
    econ = economy(a, b, c)
    assert invalid_code(econ, by_a.id) == "not-the-grantee"
    assert invalid_code(econ, again.id) == "already-reported"
    assert (econ.grants[g.id].report, econ.grants[g.id].outcome) == (rep.id, "abandoned")
    assert [x.id for x in econ.fund(fed.id, end + DAY).overdue] == [g2.id]
    not_grant = b.add("fund.report", {"grant": fed.id.hex(), "outcome": "failed",
                                      "report": "no"})
    assert invalid_code(economy(a, b, c), not_grant.id) == "not-a-grant"


# -------------------------------------------------------------------------------- needs

def test_needs_declared_and_met(coops: tuple[Coop, ...]) -> None:
    a, b, _, d = coops
    fed = federation(a, b)
    n = a.need(fed, "food", "100", "kg")
    a.need_met(n, "inside", "30")
    a.need_met(n, "outside", "20.5")
    a.need_met(n, "inside", "5")
    by_b = b.need_met(n, "inside", "1")
    outsider = d.need(fed, "food", "1", "kg")
    econ = economy(a, b, d)
    need = econ.needs[n.id]
    assert (need.category, need.met_inside, need.met_outside) == ("food", Q("35"), Q("20.5"))
    assert invalid_code(econ, by_b.id) == "not-the-declarer"
    assert invalid_code(econ, outsider.id) == "not-a-member"
    wrong = a.add("need.met", {"need": fed.id.hex(), "where": "inside", "quantity": "1"})
    assert invalid_code(economy(a, b, d), wrong.id) == "not-a-need"


# ------------------------------------------------------------------- scope and timeline

def test_replication_scope(coops: tuple[Coop, ...]) -> None:
    a, b, c, d = coops
    assert economy(a, b, c, d).replication_scope(a.raw) is None
    fed = federation(a, b)
    a.invite(fed, c)
    econ = economy(a, b, c, d)
    assert econ.replication_scope(a.raw) == {a.raw, b.raw, c.raw}
    assert econ.replication_scope(c.raw) == {a.raw, b.raw, c.raw}   # invited
    assert econ.replication_scope(d.raw) is None
    # an invite by b (a member) brings the inviter into d's scope; b leaving keeps b
    b.invite(fed, d)
    b.leave(fed)
    econ = economy(a, b, c, d)
    assert econ.replication_scope(d.raw) == {a.raw, b.raw, c.raw, d.raw}
    assert econ.replication_scope(b.raw) is None


def test_an_invite_to_a_second_federation_widens_the_scope(coops: tuple[Coop, ...]) -> None:
    """A member of one federation that receives (by bundle: its node does not fetch
    outsiders' logs) an invite to another replicates that one's co-ops from then on
    (docs/federations.md, "Who sees what")."""
    a, b, c, d = coops
    federation(a, b)
    other = federation(c, name="Lakeside")
    assert economy(a, b, c, d).replication_scope(a.raw) == {a.raw, b.raw}
    c.invite(other, a)
    assert economy(a, b, c, d).replication_scope(a.raw) == {a.raw, b.raw, c.raw}
    assert {f.name for f in economy(a, b, c, d).federations_of(a.raw)} == {
        "Neighbourhood", "Lakeside"}


def test_timeline_puts_an_entry_after_what_it_refs_whatever_the_clocks() -> None:
    """b's clock is an hour behind: its accept is timestamped before the offer, yet
    it applies after it (eff = the offer's ts), so the transfer completes."""
    reset_clock()
    a, b = Coop(KEYS[0], "A"), Coop(KEYS[1], "B", ts=T0 - 3_600_000)
    fed = a.create_federation()
    inv = a.invite(fed, b)
    b.join(fed, inv, ts=T0 - 3_000_000)
    offer = a.offer(fed, b, "1", ts=inv.ts + SECOND)
    acc = b.accept(offer, ts=T0 - 2_000_000)
    assert acc.ts < offer.ts < offer.body["expires"]  # type: ignore[operator]
    econ = economy(a, b)
    assert econ.invalid == {}
    assert econ.transfers[offer.id].status == "accepted"
    assert econ.federations[fed.id].members[b.raw] == [(inv.ts, None)]


def test_to_value_is_a_function_of_the_set(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c, rules=limited("3"))
    o1 = a.offer(fed, b, "2")
    o2 = a.offer(fed, c, "2")
    b.accept(o1)
    c.accept(o2)
    c.decline(o1)
    so = b.surplus_offer(fed, "pears", "3", "kg")
    sr = c.surplus_request(fed, "pears", "2", "kg")
    a.allocate(so, sr, "2")
    a.contribute(fed, "1")
    a.grant(fed, c, "2")
    n = c.need(fed, "repair", "3", "item")
    c.need_met(n, "outside", "1")
    entries = all_entries(a, b, c)
    want = encode(compute_economy(entries).to_value())
    rng = random.Random(11)
    for _ in range(30):
        shuffled = entries + rng.sample(entries, 6)
        rng.shuffle(shuffled)
        assert encode(compute_economy(shuffled).to_value()) == want
    value = compute_economy(entries).to_value()
    assert [row[0] for row in value["exceptions"]] == [  # type: ignore[index, union-attr]
        "grant-over-fund", "offer-over-available", "over-credit-limit"]
    assert [row[1] for row in value["invalid"]] == ["not-the-receiver"]  # type: ignore[index, union-attr]
