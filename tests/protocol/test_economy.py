"""The economy (SPEC §12): federations, transfers, mutual credit, the surplus board,
the innovation fund and needs, rule by rule and reason code by reason code."""

from __future__ import annotations

import pytest
from econkit import KEYS, SECOND, T0, Coop, economy, federation

from coopledger.protocol import Quantity
from coopledger.protocol._economy import (
    DEFAULT_RULES,
    ECONOMY_KINDS,
    Economy,
    Rules,
    Unit,
    date_end_ms,
    utc_date,
)

Q = Quantity.parse


@pytest.fixture
def coops() -> tuple[Coop, Coop, Coop, Coop]:
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
