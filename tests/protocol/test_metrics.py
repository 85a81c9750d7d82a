"""Sovereignty metrics (SPEC §12.7): needs met inside, co-operative work, local energy,
per month and per scope (one co-op, one federation's members, everyone)."""

from __future__ import annotations

import json

import auditkit
import pytest
from econkit import KEYS, Coop, all_entries, applied, federation, reset_clock
from mandatekit import delegate_key

from coopledger.protocol import Quantity, encode
from coopledger.protocol.commons import (
    Metrics,
    compute_economy,
    compute_metrics,
    period_bounds,
    share,
)

Q = Quantity.parse


def metrics(*coops: Coop, **kw: object) -> Metrics:
    entries = applied(all_entries(*coops))
    return compute_metrics(compute_economy(entries), entries, **kw)  # type: ignore[arg-type]


@pytest.fixture
def abcd() -> tuple[Coop, Coop, Coop, Coop]:
    reset_clock()
    return tuple(Coop(k, n) for k, n in zip(KEYS, "ABCD", strict=False))  # type: ignore[return-value]


def test_share_rounds_half_even_to_four_places() -> None:
    assert share(Q("2"), Q("3")) == "0.6667"
    assert share(Q("1"), Q("2")) == "0.5"
    assert share(Q("3"), Q("3")) == "1"
    assert share(Q("0"), Q("3")) == "0"
    assert share(Q("1"), Q("0")) is None
    assert share(Q("0.00005"), Q("1")) == "0"        # half: to even (0)
    assert share(Q("0.00015"), Q("1")) == "0.0002"   # half: to even (2)
    assert share(Q("0.000151"), Q("1")) == "0.0002"
    assert share(Q("0.00025"), Q("1")) == "0.0002"


def test_period_bounds() -> None:
    start, end = period_bounds("2023-11")
    assert start == 1_698_796_800_000 and end - start == 30 * 86_400_000
    assert period_bounds("2023-12")[1] == period_bounds("2024-01")[0]
    assert period_bounds("9999-12")[1] - period_bounds("9999-12")[0] == 31 * 86_400_000
    for bad in ("2023-13", "2023-1", "0000-01", "2023-11-01", "23-11"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            period_bounds(bad)


def test_needs_per_category_and_unit_and_the_inside_share(abcd: tuple[Coop, ...]) -> None:
    a, b, *_ = abcd
    fed = federation(a, b)
    food = a.need(fed, "food", "100", "kg")
    a.need_met(food, "inside", "60")
    a.need_met(food, "outside", "50")
    bread = b.need(fed, "food", "20", "kg")
    b.need_met(bread, "inside", "30")         # more than declared: capped at 20
    fix = b.need(fed, "repair", "4", "item")
    b.need_met(fix, "outside", "4")
    a.need(fed, "food", "999", "kg", period="2023-12")   # another month
    m = metrics(a, b, period="2023-11")
    assert [(n.category, n.unit, n.declared, n.met_inside, n.met_outside) for n in m.needs] == [
        ("food", "kg", Q("120"), Q("90"), Q("50")),
        ("repair", "item", Q("4"), Q("0"), Q("4"))]
    # The mean of each need's share met inside: (60/100 + min(30,20)/20 + 0/4) / 3;
    # needs in kg and in items are never added together.
    assert m.needs_met_inside_share == "0.5333"
    assert metrics(a, b, period="2023-10").needs_met_inside_share is None
    assert metrics(a, b, period="2023-11", coop=b.raw).needs_met_inside_share == "0.5"


def test_work_paid_unpaid_outside_and_the_coop_share(abcd: tuple[Coop, ...]) -> None:
    a, b, *_ = abcd
    a.labor("6", paid=True)
    a.labor("2.5")
    a.labor("3", date="2023-12-01")           # next month
    b.labor("1.5", paid=True)
    a.outside("10")
    a.outside("100", period="2023-10")
    m = metrics(a, b, period="2023-11")
    assert (m.coop_hours_paid, m.coop_hours_unpaid, m.outside_hours) == (
        Q("7.5"), Q("2.5"), Q("10"))
    assert m.coop_work_share == "0.5"
    ma = metrics(a, b, period="2023-11", coop=a.raw)
    assert (ma.coop_hours_paid, ma.outside_hours, ma.coop_work_share) == (
        Q("6"), Q("10"), "0.4595")                 # 8.5 / 18.5
    assert metrics(a, b, period="2023-10").coop_work_share == "0"
    assert metrics(a, b, period="2023-09").coop_work_share is None


def test_energy_local_vs_consumed(abcd: tuple[Coop, ...]) -> None:
    a, b, *_ = abcd
    a.energy("30", "generated", "local", date="2023-11-02")
    a.energy("50", "generated", "grid", date="2023-11-02")    # not local generation
    a.energy("40", "consumed", "grid", date="2023-11-03")
    a.energy("20", "consumed", "local")                       # no date: ts is 2023-11-14
    b.energy("5", "generated", "local", date="2023-10-31")
    m = metrics(a, b, period="2023-11")
    assert (m.energy_generated_local, m.energy_consumed) == (Q("30"), Q("60"))
    assert m.energy_local_share == "0.5"
    # more generated than consumed: the share is capped at 1
    assert metrics(a, b, period="2023-10").energy_local_share is None
    a.energy("100", "generated", "local", date="2023-11-30")
    assert metrics(a, b, period="2023-11").energy_local_share == "1"


def test_federation_scope_is_members_during_the_period() -> None:
    oct1, nov1 = period_bounds("2023-10")[0], period_bounds("2023-11")[0]
    reset_clock(oct1)
    a, b, c, d = (Coop(k, n, ts=oct1) for k, n in zip(KEYS, "ABCD", strict=False))
    fed = federation(a, b, c)
    for coop in (a, b, c, d):
        coop.labor("1", date="2023-11-15")
    c.leave(fed, ts=nov1 - 1)           # gone before November: not in scope
    b.leave(fed, ts=nov1 + 86_400_000)  # leaves on 2 November: in scope
    m = metrics(a, b, c, d, period="2023-11", federation=fed.id)
    assert m.coops == tuple(sorted([a.raw, b.raw]))
    assert m.coop_hours_unpaid == Q("2")
    assert metrics(a, b, c, d, period="2023-10", federation=fed.id).coops == tuple(
        sorted([a.raw, b.raw, c.raw]))
    assert metrics(a, b, c, d, period="2023-12", federation=fed.id).coops == (a.raw,)
    everyone = metrics(a, b, c, d, period="2023-11")
    assert everyone.coops == tuple(sorted([a.raw, b.raw, c.raw, d.raw]))
    assert everyone.coop_hours_unpaid == Q("4")
    unknown = metrics(a, b, period="2023-11", federation=b"\x01" * 32)
    assert unknown.coops == () and unknown.coop_hours_unpaid == Q("0")


def test_federation_scope_counts_only_that_federations_needs(abcd: tuple[Coop, ...]) -> None:
    a, b, *_ = abcd
    f1 = federation(a, b)
    f2 = federation(b, a, name="Other")
    a.need(f1, "care", "10", "hour")
    a.need(f2, "care", "5", "hour")
    assert [n.declared for n in metrics(a, b, period="2023-11", federation=f1.id).needs] == [
        Q("10")]
    assert [n.declared for n in metrics(a, b, period="2023-11").needs] == [Q("15")]


def test_value_is_json_ready_and_names_who_lacks_an_audit(
        abcd: tuple[Coop, ...]) -> None:
    a, b, *_ = abcd
    fed = federation(a, b)
    a.need(fed, "food", "3", "kg")
    a.labor("1")
    value = metrics(a, b, period="2023-11").to_value()
    assert json.loads(json.dumps(value)) == value
    encode(value)   # and canonical msgpack
    assert value["transparency"] == "0"
    assert value["transparency_note"] == (
        f"2 of 2 co-op(s) have no audit report for 2023-Q4 or 2023-Q3 whose checks all "
        f"passed: {', '.join(sorted([a.hex[:8], b.hex[:8]]))}")
    assert value["needs"] == [{"category": "food", "unit": "kg", "declared": "3",
                               "met_inside": "0", "met_outside": "0"}]
    assert value["needs_met_inside_share"] == "0"
    assert value["coops"] == sorted([a.hex, b.hex])


# --------------------------------------------------------------------- transparency

def _audited(passing: bool = True, period: str = "2023-Q4") -> tuple[Coop, ...]:
    """A–D in one federation; C and D are drawn to audit A for ``period`` (a lottery of
    C and D, two seats) and both report, on A's cosigned checkpoint."""
    reset_clock()
    a, b, c, d = (Coop(k, n) for k, n in zip(KEYS, "ABCD", strict=False))
    fed = federation(a, b, c, d)
    lot = auditkit.announce(b, fed, auditkit.pool(c, d))
    circle = auditkit.circle(b, fed, a, lot, period=period)
    auditkit.draw(lot, c, d)
    cp = auditkit.checkpoint(a)
    auditkit.cosign(c, cp)
    auditkit.report(c, circle, cp)
    auditkit.report(d, circle, cp, checks=[{"name": "chains", "ok": passing}])
    for x in (a, b, c, d):
        x.labor("1")
    return a, b, c, d


def test_transparency_with_nobody_in_scope() -> None:
    reset_clock()
    a = Coop(KEYS[0], "A")
    m = metrics(a, period="2023-11", federation=b"\x01" * 32)
    assert m.coops == () and m.transparency is None
    assert m.transparency_note == "no co-op in scope"


def test_transparency_counts_coops_with_a_passing_report() -> None:
    a, b, c, d = _audited()
    m = metrics(a, b, c, d, period="2023-11")
    assert m.transparency == "0.25"                     # A only, of four
    assert m.transparency_note.startswith("3 of 4 co-op(s) have no audit report for "
                                          "2023-Q4 or 2023-Q3")
    assert a.hex[:8] not in m.transparency_note and b.hex[:8] in m.transparency_note
    assert metrics(a, b, c, d, period="2023-11", coop=a.raw).transparency == "1"
    assert metrics(a, b, c, d, period="2023-11", coop=a.raw).transparency_note == (
        "every co-op in scope has an audit report for 2023-Q4 or 2023-Q3 whose checks "
        "all passed")
    # The quarter after still counts it; two quarters on, it no longer does.
    assert metrics(a, b, c, d, period="2024-03", coop=a.raw).transparency == "1"
    assert metrics(a, b, c, d, period="2024-04", coop=a.raw).transparency == "0"
    # Before the audited quarter: a report of a later quarter does not count.
    assert metrics(a, b, c, d, period="2023-09", coop=a.raw).transparency == "0"


def test_one_passing_report_is_enough_and_a_failing_one_is_not() -> None:
    a, *others = _audited(passing=False)            # C's passes, D's fails
    assert metrics(a, *others, period="2023-11", coop=a.raw).transparency == "1"
    reset_clock()
    w, x, y, z = (Coop(k, n) for k, n in zip(KEYS, "ABCD", strict=False))
    fed = federation(w, x, y, z)
    lot = auditkit.announce(x, fed, auditkit.pool(y, z), seats=1)
    circle = auditkit.circle(x, fed, w, lot)
    auditkit.draw(lot, y, z)
    cp = auditkit.checkpoint(w)
    auditkit.cosign(x, cp)
    for auditor in (y, z):          # only the drawn one's report is valid
        auditkit.report(auditor, circle, cp, checks=[{"name": "chains", "ok": False}])
    assert metrics(w, x, y, z, period="2023-11", coop=w.raw).transparency == "0"


def test_a_coops_keys_count_once() -> None:
    a, b, c, d = _audited()
    node = delegate_key(a, KEYS[6], power="node", name="A")
    node.labor("2")
    m = metrics(a, b, c, d, node, period="2023-11")
    assert len(m.coops) == 5                    # the scope lists authors (keys) …
    assert m.transparency == "0.25"            # … the share counts co-ops
