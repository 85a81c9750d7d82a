"""Audit and misconduct on the commons' timeline (SPEC §14.3–§14.5): witnesses'
cosigns, audit circles drawn by lottery, reports by the drawn co-ops, complaints,
findings and sanctions; every rule and reason code, the queries the views use, and
that the derived value is a function of the set of entries alone."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from auditkit import (
    PERIOD,
    announce,
    checkpoint,
    circle,
    code,
    complaint,
    cosign,
    draw,
    econ,
    finding,
    pool,
    report,
    sanction,
)
from econkit import DAY, KEYS, Coop, all_entries, applied, federation, reset_clock
from hypothesis import given, settings
from hypothesis import strategies as st
from mandatekit import delegate_key

from coopledger.protocol import Entry, commons
from coopledger.protocol.commons import (
    Audits,
    Economy,
    _audit,
    _economy,
    compute_economy,
    drawn_coops,
    previous_quarter,
    quarter_of_month,
    recent_quarters,
)

ROOT = Path(__file__).resolve().parents[2]


class World:
    """Four co-ops A–D in one federation; a lottery announced by A drawing two of
    B, C, D (distinct co-ops) and the circle auditing A for PERIOD that names it."""

    def __init__(self, *, drawn: bool = True) -> None:
        reset_clock()
        self.a, self.b, self.c, self.d = (Coop(k, n) for k, n in zip(KEYS, "ABCD",
                                                                      strict=False))
        self.e = Coop(KEYS[4], "E")          # outside the federation
        self.fed = federation(self.a, self.b, self.c, self.d)
        self.lot = announce(self.a, self.fed, pool(self.b, self.c, self.d))
        self.circle = circle(self.a, self.fed, self.a, self.lot)
        if drawn:
            draw(self.lot, self.b, self.c)

    @property
    def coops(self) -> tuple[Coop, ...]:
        return (self.a, self.b, self.c, self.d, self.e)

    def econ(self, *extra: Coop) -> Economy:
        return econ(*self.coops, *extra)

    def drawn(self) -> tuple[list[Coop], list[Coop]]:
        """(drawn, not drawn) among B, C, D."""
        eco = self.econ()
        got = drawn_coops(eco.gov.lotteries, eco.gov.ids,
                          eco.gov.audit.circles[self.circle.id])
        return ([x for x in (self.b, self.c, self.d) if x.raw in got],
                [x for x in (self.b, self.c, self.d) if x.raw not in got])


@pytest.fixture
def w() -> World:
    return World()


# ----------------------------------------------------------------------------- quarters


def test_quarters() -> None:
    assert [quarter_of_month(f"2023-{m:02d}") for m in (1, 3, 4, 6, 7, 9, 10, 12)] == [
        "2023-Q1", "2023-Q1", "2023-Q2", "2023-Q2", "2023-Q3", "2023-Q3", "2023-Q4",
        "2023-Q4"]
    assert previous_quarter("2024-Q1") == "2023-Q4"
    assert previous_quarter("2024-Q3") == "2024-Q2"
    assert previous_quarter("0001-Q1") is None
    assert recent_quarters("2024-02") == ("2024-Q1", "2023-Q4")
    assert recent_quarters("0001-01") == ("0001-Q1",)
    for bad in ("2023-13", "2023-1", "23-11"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            quarter_of_month(bad)
    with pytest.raises(ValueError, match="YYYY-Qn"):
        previous_quarter("2023-Q5")


# ------------------------------------------------------------------------------ cosigns


def test_a_witness_cosigns_and_never_goes_back(w: World) -> None:
    cp1 = checkpoint(w.a)
    cp2 = checkpoint(w.a)
    newer = cosign(w.b, cp2)
    older = cosign(w.b, cp1)           # after size 9, size 8: going back
    again = cosign(w.b, cp2)           # the same size again is fine
    other = cosign(w.c, cp1)           # another witness has its own history
    own = cosign(w.a, cp2)             # the log's own co-op is no witness
    eco = w.econ()
    assert [code(eco, x) for x in (newer, older, again, other, own)] == [
        None, "cosign-older", None, None, "own-log"]
    audit = eco.gov.audit
    assert set(audit.cosigns) == {newer.id, again.id, other.id}
    row = audit.cosigns[newer.id]
    assert (row.witness, row.checkpoint.log, row.checkpoint.size) == (
        w.b.raw, w.a.raw, cp2.body["size"])
    assert audit.cosigned[(w.b.raw, w.a.raw)] == cp2.body["size"]
    assert [c.id for c in audit.cosigns_of([w.a.raw])] == [newer.id, again.id, other.id]
    assert audit.cosigns_of([w.b.raw]) == []


def test_a_delegate_keys_log_is_its_coops_log_for_witnessing(w: World) -> None:
    node = delegate_key(w.a, KEYS[6], power="node", name="A")
    cp = checkpoint(node)
    own = cosign(w.a, cp)
    by_b = cosign(w.b, cp)
    eco = w.econ(node)
    assert code(eco, own) == "own-log" and code(eco, by_b) is None


# ------------------------------------------------------------------------------ circles


def test_a_circle_names_a_lottery_of_the_federation(w: World) -> None:
    eco = w.econ()
    assert code(eco, w.circle) is None
    audit = eco.gov.audit
    c = audit.circles[w.circle.id]
    assert (c.federation, c.coop, c.period, c.lottery, c.author) == (
        w.fed.id, w.a.raw, PERIOD, w.lot.id, w.a.raw)
    assert audit.circle_for(w.fed.id, w.a.raw, PERIOD) == c
    assert audit.circle_for(w.fed.id, w.a.raw, "2024-Q1") is None
    assert audit.circles_of(w.a.raw) == [c] and audit.circles_of(w.b.raw) == []
    drawn, rest = w.drawn()
    assert len(drawn) == 2 and len(rest) == 1


def test_the_drawn_are_none_until_the_lottery_is_drawn() -> None:
    w = World(drawn=False)
    eco = w.econ()
    assert drawn_coops(eco.gov.lotteries, eco.gov.ids,
                       eco.gov.audit.circles[w.circle.id]) == []


def test_circle_author_and_audited_are_members(w: World) -> None:
    lot = announce(w.b, w.fed, pool(w.c, w.d))
    by_outsider = circle(w.e, w.fed, w.b, lot)
    lot2 = announce(w.b, w.fed, pool(w.c, w.d))
    of_outsider = circle(w.b, w.fed, w.e, lot2)
    eco = w.econ()
    assert code(eco, by_outsider) == "not-a-member"
    assert code(eco, of_outsider) == "not-a-member"


def test_circle_lottery_rules(w: World) -> None:
    not_lottery = circle(w.b, w.fed, w.b, w.fed)                # the federation itself
    own_assembly = announce(w.c, None, pool(w.d))               # not the federation's
    wrong = circle(w.b, w.fed, w.b, own_assembly)
    in_pool = announce(w.c, w.fed, pool(w.b, w.c, w.d))
    with_b = circle(w.c, w.fed, w.b, in_pool)
    excluded = announce(w.c, w.fed, pool(w.b, w.c, w.d), exclude=[w.b.hex])
    without_b = circle(w.c, w.fed, w.b, excluded)
    eco = w.econ()
    assert code(eco, not_lottery) == "not-a-lottery"
    assert code(eco, wrong) == "wrong-lottery"
    assert code(eco, with_b) == "audited-in-pool"
    assert code(eco, without_b) is None


def test_a_candidate_listed_under_another_key_of_the_audited_coop_is_in_the_pool(
        w: World) -> None:
    node = delegate_key(w.b, KEYS[6], power="node", name="B")
    lot = announce(w.c, w.fed, [{"name": "Bea", "coop": node.hex}, *pool(w.d)])
    bad = circle(w.c, w.fed, w.b, lot)
    # Excluding the identity does not remove a candidate listed under another key: the
    # draw excludes by the exact key (§13.6), so the audited co-op could still be drawn.
    lot2 = announce(w.c, w.fed, [{"name": "Bea", "coop": node.hex}, *pool(w.d)],
                    exclude=[w.b.hex])
    still = circle(w.c, w.fed, w.b, lot2)
    eco = w.econ(node)
    assert code(eco, bad) == "audited-in-pool" and code(eco, still) == "audited-in-pool"


def test_a_circle_cannot_name_a_lottery_already_drawn(w: World) -> None:
    lot = announce(w.b, w.fed, pool(w.c, w.d))
    draw(lot, w.c, w.d)
    late = circle(w.b, w.fed, w.b, lot)
    used = circle(w.c, w.fed, w.a, w.lot)   # drawn already, and used by A's circle
    eco = w.econ()
    assert code(eco, late) == "lottery-drawn"
    assert code(eco, used) == "lottery-drawn"


def test_a_lottery_draws_one_circle(w: World) -> None:
    lot = announce(w.d, w.fed, pool(w.a, w.c))
    first = circle(w.d, w.fed, w.b, lot)
    second = circle(w.d, w.fed, w.d, announce(w.d, w.fed, pool(w.a, w.c)))
    reused = circle(w.a, w.fed, w.b, lot, period="2024-Q1")
    eco = w.econ()
    assert code(eco, first) is None and code(eco, second) is None
    assert code(eco, reused) == "lottery-used"


def test_one_circle_per_federation_coop_and_quarter(w: World) -> None:
    again = circle(w.b, w.fed, w.a, announce(w.b, w.fed, pool(w.c, w.d)))
    next_q = circle(w.b, w.fed, w.a, announce(w.b, w.fed, pool(w.c, w.d)),
                    period="2024-Q1")
    eco = w.econ()
    assert code(eco, again) == "circle-exists"
    assert code(eco, next_q) is None
    assert eco.gov.audit.circle_for(w.fed.id, w.a.raw, "2024-Q1") is not None


def test_an_invalid_circle_does_not_take_the_quarter(w: World) -> None:
    bad = circle(w.b, w.fed, w.b, announce(w.b, w.fed, pool(w.b, w.c)))   # in pool
    good = circle(w.b, w.fed, w.b, announce(w.b, w.fed, pool(w.c, w.d)))
    eco = w.econ()
    assert code(eco, bad) == "audited-in-pool" and code(eco, good) is None


# ------------------------------------------------------------------------------ reports


def test_a_drawn_coop_reports_on_a_cosigned_checkpoint(w: World) -> None:
    (auditor, _), _ = w.drawn()
    cp = checkpoint(w.a)
    cosign(auditor, cp)
    r = report(auditor, w.circle, cp, findings=["The fund report is late."])
    eco = w.econ()
    assert code(eco, r) is None
    got = eco.gov.audit.reports[r.id]
    assert (got.auditor, got.circle, got.checkpoint.id, got.passed) == (
        auditor.raw, w.circle.id, cp.id, True)
    assert got.findings == ("The fund report is late.",)
    assert [c.name for c in got.checks] == ["chains", "balances"]
    assert eco.gov.audit.reports_of(w.circle.id) == [got]


def test_prepare_knows_checkpoint_entries_and_cosigned_ones(w: World) -> None:
    bare = checkpoint(w.a)
    cosigned = checkpoint(w.b)
    cosign(w.c, cosigned)
    audits = Audits()
    # Only the cosign of B's checkpoint, not the entry: its embedded copy names it.
    audits.prepare(e for e in applied(all_entries(*w.coops)) if e.id != cosigned.id)
    assert set(audits.checkpoints) == {bare.id, cosigned.id}
    got = audits.checkpoints[cosigned.id]
    assert (got.log, got.seq, got.size) == (w.b.raw, cosigned.seq, cosigned.seq - 1)
    assert got.root.hex() == cosigned.body["root"]


def test_report_rules(w: World) -> None:
    (auditor, other), (rest,) = w.drawn()
    cp = checkpoint(w.a)
    cosign(auditor, cp)
    cp_b = checkpoint(w.b)
    cosign(w.c, cp_b)
    not_circle = report(auditor, w.lot, cp)
    not_drawn = report(rest, w.circle, cp)
    not_cp = report(auditor, w.circle, w.lot)
    others_log = report(auditor, w.circle, cp_b)
    first = report(auditor, w.circle, cp)
    second = report(auditor, w.circle, cp, summary="Again.")
    by_other = report(other, w.circle, cp, checks=[{"name": "chains", "ok": False,
                                                    "detail": "seq 4 is forked"}])
    eco = w.econ()
    assert [code(eco, x) for x in (not_circle, not_drawn, not_cp, others_log, first,
                                   second, by_other)] == [
        "not-a-circle", "not-drawn", "not-a-checkpoint", "not-a-checkpoint", None,
        "already-reported", None]
    assert eco.gov.audit.reports[by_other.id].passed is False


def test_nobody_reports_before_the_draw() -> None:
    w = World(drawn=False)
    cp = checkpoint(w.a)
    cosign(w.b, cp)
    early = report(w.b, w.circle, cp)
    eco = w.econ()
    assert code(eco, early) == "not-drawn"
    assert "not drawn yet" in eco.invalid[early.id].detail


def test_a_report_may_cover_a_checkpoint_of_another_key_of_the_audited_coop(
        w: World) -> None:
    (auditor, _), _ = w.drawn()
    node = delegate_key(w.a, KEYS[6], power="node", name="A")
    cp = checkpoint(node)
    cosign(auditor, cp)
    r = report(auditor, w.circle, cp)
    assert code(w.econ(node), r) is None


# ------------------------------------------------------------------- complaints, findings


def test_complaints(w: World) -> None:
    ok = complaint(w.b, w.fed, w.a)
    self_ = complaint(w.b, w.fed, w.b)
    outsider = complaint(w.b, w.fed, w.e)
    by_outsider = complaint(w.e, w.fed, w.a)
    eco = w.econ()
    assert [code(eco, x) for x in (ok, self_, outsider, by_outsider)] == [
        None, "against-self", "not-a-member", "not-a-member"]
    got = eco.gov.audit.complaints[ok.id]
    assert (got.by, got.against, got.federation) == (w.b.raw, w.a.raw, w.fed.id)


def test_findings(w: World) -> None:
    (auditor, _), (rest,) = w.drawn()
    cb = complaint(w.b, w.fed, w.a)
    cd = complaint(w.b, w.fed, w.d)
    plain = finding(w.c, w.fed, w.a)
    answers = finding(w.c, w.fed, w.a, complaint=cb)
    wrong_complaint = finding(w.c, w.fed, w.a, complaint=cd)
    not_complaint = finding(w.c, w.fed, w.a, complaint=w.lot)
    from_circle = finding(auditor, w.fed, w.a, circle=w.circle)
    not_drawn = finding(rest, w.fed, w.a, circle=w.circle)
    wrong_circle = finding(auditor, w.fed, w.d, circle=w.circle)
    not_circle = finding(auditor, w.fed, w.a, circle=w.lot)
    self_ = finding(w.a, w.fed, w.a)
    never = finding(w.b, w.fed, w.e)
    eco = w.econ()
    assert [code(eco, x) for x in (plain, answers, wrong_complaint, not_complaint,
                                   from_circle, not_drawn, wrong_circle, not_circle,
                                   self_, never)] == [
        None, None, "not-a-complaint", "not-a-complaint", None, "not-drawn",
        "wrong-circle", "not-a-circle", "against-self", "not-a-member"]
    got = eco.gov.audit.findings[from_circle.id]
    assert (got.by, got.about, got.circle, got.complaint) == (
        auditor.raw, w.a.raw, w.circle.id, None)
    assert eco.gov.audit.findings[answers.id].complaint == cb.id


def test_a_finding_may_be_about_a_former_member(w: World) -> None:
    w.d.leave(w.fed)
    late = finding(w.b, w.fed, w.d)
    complaint_late = complaint(w.b, w.fed, w.d)
    eco = w.econ()
    assert code(eco, late) is None and code(eco, complaint_late) == "not-a-member"


def test_a_complaint_of_another_federation_is_not_answered_here(w: World) -> None:
    fed2 = federation(w.b, w.a)
    c2 = complaint(w.b, fed2, w.a)
    f = finding(w.c, w.fed, w.a, complaint=c2)
    assert code(w.econ(), f) == "not-a-complaint"


# -------------------------------------------------------------------------- sanctions


def test_sanctions(w: World) -> None:
    f = finding(w.b, w.fed, w.a)
    f_d = finding(w.b, w.fed, w.d)
    ok = sanction(w.c, w.fed, w.a, f)
    on_other = sanction(w.c, w.fed, w.a, f_d)
    not_finding = sanction(w.c, w.fed, w.a, w.lot)
    self_ = sanction(w.a, w.fed, w.a, f)
    eco = w.econ()
    assert [code(eco, x) for x in (ok, on_other, not_finding, self_)] == [
        None, "not-a-finding", "not-a-finding", "against-self"]
    s = eco.gov.audit.sanctions[ok.id]
    assert (s.by, s.against, s.finding, s.expires) == (w.c.raw, w.a.raw, f.id,
                                                       ok.ts + 90 * DAY)
    assert s.in_force(ok.ts) and s.in_force(s.expires - 1)
    assert not s.in_force(ok.ts - 1) and not s.in_force(s.expires)
    audit = eco.gov.audit
    assert audit.sanctions_in_force(ok.ts + DAY) == [s]
    assert audit.sanctions_in_force(ok.ts + DAY, against=w.a.raw) == [s]
    assert audit.sanctions_in_force(ok.ts + DAY, against=w.b.raw) == []
    assert audit.sanctions_in_force(ok.ts + DAY, federation=w.fed.id) == [s]
    assert audit.sanctions_in_force(ok.ts + DAY, federation=w.lot.id) == []
    assert audit.sanctions_in_force(s.expires) == []


def test_a_sanction_expires_within_a_year(w: World) -> None:
    f = finding(w.b, w.fed, w.a)
    t = f.ts + 10_000
    year = sanction(w.c, w.fed, w.a, f, days=365, ts=t)
    over = sanction(w.c, w.fed, w.a, f, expires=t + 1 + 365 * DAY + 1, ts=t + 1)
    now = sanction(w.c, w.fed, w.a, f, days=0, ts=t + 2)
    ms = sanction(w.c, w.fed, w.a, f, expires=t + 3 + 1, ts=t + 3)
    eco = w.econ()
    assert [code(eco, x) for x in (year, over, now, ms)] == [
        None, "expires-out-of-range", "expires-out-of-range", None]


def test_a_sanction_by_an_outsider_is_not_a_members(w: World) -> None:
    f = finding(w.b, w.fed, w.a)
    s = sanction(w.e, w.fed, w.a, f)
    assert code(w.econ(), s) == "not-a-member"


# ---------------------------------------------------------------------- value and codes


def _full_world() -> tuple[World, list[Entry]]:
    w = World()
    (auditor, other), _ = w.drawn()
    cp = checkpoint(w.a)
    cosign(auditor, cp)
    cosign(w.d, cp)
    report(auditor, w.circle, cp)
    report(other, w.circle, cp, checks=[{"name": "chains", "ok": False}])
    cb = complaint(w.b, w.fed, w.a)
    f = finding(w.c, w.fed, w.a, complaint=cb)
    sanction(w.d, w.fed, w.a, f)
    complaint(w.b, w.fed, w.b)               # invalid: stays out of the value
    return w, applied(all_entries(*w.coops))


def test_the_value() -> None:
    w, entries = _full_world()
    eco = compute_economy(entries)
    value = eco.to_value()["audit"]
    assert isinstance(value, dict)
    assert set(value) == {"cosigns", "circles", "reports", "complaints", "findings",
                          "sanctions"}
    assert value["circles"] == [[w.circle.id.hex(), w.fed.id.hex(), w.a.hex, PERIOD,
                                 w.lot.id.hex(), w.a.hex]]
    assert len(value["cosigns"]) == 2 and len(value["complaints"]) == 1
    assert len(value["findings"]) == 1 and len(value["sanctions"]) == 1
    assert len(value["reports"]) == 2
    # Without an audit kind the economy value has no "audit" key (hashes as before).
    reset_clock()
    a, b = Coop(KEYS[0], "A"), Coop(KEYS[1], "B")
    federation(a, b)
    assert "audit" not in compute_economy(all_entries(a, b)).to_value()


_WORLD = _full_world()


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_value_does_not_depend_on_the_order_of_the_entries(rnd: random.Random) -> None:
    _w, entries = _WORLD
    expected = compute_economy(entries).to_value()
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    twice = shuffled + shuffled[: rnd.randrange(len(shuffled))]   # duplicates too
    assert compute_economy(twice).to_value() == expected


def test_every_raised_code_is_declared_and_specified() -> None:
    text = (ROOT / "protocol" / "commons" / "_audit.py").read_text()
    raised = set(re.findall(r'Reject\(\s*"([a-z-]+)"', text))
    assert len(raised) >= 15
    declared = _audit.REASON_CODES | _economy.REASON_CODES
    assert raised - declared == set()
    assert _audit.REASON_CODES <= commons.COMMONS14_REASON_CODES


SPEC = (ROOT / "protocol" / "SPEC.md").read_text()


def test_every_code_is_in_the_spec() -> None:
    section = SPEC[SPEC.index("### 14.3"):]
    assert sorted(c for c in _audit.REASON_CODES if f"`{c}`" not in section) == []
