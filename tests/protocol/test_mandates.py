"""Mandates and recall, roles with terms (SPEC §13.4, §13.5), through compute_economy.

A delegate key D of the Garden co-op (A) acts under mandates A issues; B (Repair) is
the other member of their federation. Times are explicit wherever a boundary is tested.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from econkit import KEYS, T0, Coop, all_entries, applied, federation, reset_clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mandatekit import (
    DAY,
    SECOND,
    assign,
    code,
    delegate_key,
    economy_of,
    issue,
    policy,
    position,
    propose,
    recall,
    renew,
    report,
    role_end,
    role_renew,
    verdict,
)

from coopledger.protocol import Entry
from coopledger.protocol.commons import GOVERNANCE_REASON_CODES, compute_economy
from coopledger.protocol.commons import _mandates as mandates

TRANSFER = [{"do": "transfer", "unit": "hour", "max": "5"}]
SURPLUS = [{"do": "surplus"}]
START = T0 + 100 * SECOND
END = START + 10 * DAY


@pytest.fixture(autouse=True)
def _clock() -> None:
    reset_clock()


def world() -> tuple[Coop, Coop, Entry, Coop]:
    """A and B in a federation; D a delegate key of A, added before START."""
    a, b = Coop(KEYS[0], "Garden"), Coop(KEYS[1], "Repair")
    fed = federation(a, b)
    d = delegate_key(a, KEYS[5])
    assert a.now < START
    return a, b, fed, d


def surplus(d: Coop, fed: Entry, ts: int, mandate: Entry | None, *,
            refs: tuple[bytes, ...] = ()) -> Entry:
    more = () if mandate is None else (mandate.id,)
    return d.surplus_offer(fed, "apples", "3", "kg", ts=ts, refs=[*more, *refs])


# ---------------------------------------------------------------- time: Rule 2


def test_expiry_boundaries_at_start_valid_at_expires_invalid() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START - SECOND)
    at_start = surplus(d, fed, START, md)
    last = surplus(d, fed, END - 1, md)
    at_end = surplus(d, fed, END, md)
    eco = economy_of(a, b, d)
    assert code(eco, at_start) is None
    assert code(eco, last) is None
    assert code(eco, at_end) == "mandate-expired"
    m = eco.gov.mandates.by_id[md.id]
    assert [m.status_at(t) for t in (START - 1, START, END - 1, END)] == [
        "pending", "active", "active", "expired"]
    assert [x.id for x in eco.gov.mandates.active(END - 1)] == [md.id]
    assert eco.gov.mandates.active(END) == []


def test_before_start_is_not_started() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START + DAY, expires=END, ts=START - SECOND)
    early = surplus(d, fed, START + DAY - 1, md)
    assert code(economy_of(a, b, d), early) == "mandate-not-started"


def test_renewal_extends_from_its_own_time() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    rn = renew(a, md, END + 5 * DAY, ts=END - DAY)
    before = surplus(d, fed, END - DAY - 1, md)   # before the renewal: old expiry
    after = surplus(d, fed, END, md)              # was the old expiry: now inside
    last = surplus(d, fed, END + 5 * DAY - 1, md)
    gone = surplus(d, fed, END + 5 * DAY, md)
    eco = economy_of(a, b, d)
    assert code(eco, rn) is None
    assert [code(eco, e) for e in (before, after, last, gone)] == [
        None, None, None, "mandate-expired"]
    m = eco.gov.mandates.by_id[md.id]
    assert m.expires_at(END - DAY - 1) == END
    assert m.expires_at(END - DAY) == END + 5 * DAY
    assert m.final_expires == END + 5 * DAY


def test_renewal_counts_for_actions_judged_before_it_on_the_timeline() -> None:
    """Rule 1 for renewals: the renewal refs a late entry, so it sorts after actions
    stamped after it (and after the old expiry); they are inside the renewed term."""
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    late = b.surplus_request(fed, "pears", "1", "kg", ts=END + 2 * DAY)
    rn = renew(a, md, END + 5 * DAY, ts=END - DAY, refs=[late.id])
    act = surplus(d, fed, END + DAY, md)
    eco = economy_of(a, b, d)
    assert code(eco, rn) is None and code(eco, act) is None
    without = compute_economy(e for e in all_entries(a, b, d)
                              if not (e.author == a.raw and e.seq >= rn.seq))
    assert code(without, act) == "mandate-expired"


def test_renewal_rules() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    by_other = renew(b, md, END + DAY, ts=START + SECOND)
    shorter = renew(a, md, END - SECOND, ts=START + 2 * SECOND)
    too_long = renew(a, md, START + 3 * SECOND + 366 * DAY, ts=START + 3 * SECOND)
    ok = renew(a, md, END + DAY, ts=START + 4 * SECOND)
    late = renew(a, md, END + 9 * DAY, ts=END + DAY)      # the renewed expiry has passed
    eco = economy_of(a, b, d)
    assert code(eco, by_other) == "not-the-issuer"
    assert code(eco, shorter) == "expires-not-later"
    assert code(eco, too_long) == "term-too-long"
    assert code(eco, ok) is None
    assert code(eco, late) == "mandate-expired"
    assert eco.gov.mandates.by_id[md.id].final_expires == END + DAY


def test_renewal_after_recall_is_invalid_and_recall_at_same_ms_counts_before() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    rc = recall(a, md, ts=START + DAY)
    same = surplus(d, fed, START + DAY, md)
    after = surplus(d, fed, START + DAY + 1, md)
    rn = renew(a, md, END + DAY, ts=START + DAY + 1)
    eco = economy_of(a, b, d)
    assert code(eco, rc) is None
    assert code(eco, same) is None
    assert code(eco, after) == "mandate-recalled"
    assert code(eco, rn) == "mandate-recalled"
    assert eco.gov.mandates.by_id[md.id].status_at(START + DAY + 1) == "recalled"


# ------------------------------------------------------------ the recall race: Rule 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_recall_race_same_actions_valid_in_every_order(data: st.DataObject) -> None:
    """D keeps acting, cut off from A, while A recalls the mandate on its own node. The
    actions stamped at or before the recall are valid and those after are not, on
    every node: whichever subset (with the recall) it holds, in whichever order, and
    whichever comes first on the timeline (some actions and the recall ref a late
    entry of B, so their eff is far later than their ts)."""
    reset_clock()
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS + TRANSFER, fed=fed, start=START, expires=END, ts=START)
    late = b.surplus_request(fed, "pears", "1", "kg", ts=END - SECOND)
    recall_ts = START + data.draw(st.integers(1, 50), label="recall") * SECOND
    rc = recall(a, md, ts=recall_ts,
                refs=[late.id] if data.draw(st.booleans(), label="recall refs late") else [])
    stamps = sorted(data.draw(st.lists(st.integers(0, 60), min_size=1, max_size=8),
                              label="action seconds"))
    actions = []
    for s in stamps:
        ts = START + s * SECOND + data.draw(st.sampled_from((0, 0, 1, -1)))
        ts = max(ts, START, d.now)
        refs = (late.id,) if data.draw(st.booleans()) else ()
        if data.draw(st.booleans()):
            actions.append(surplus(d, fed, ts, md, refs=refs))
        else:
            actions.append(d.offer(fed, b, "2", ts=ts, refs=[md.id, *refs]))
    expected = {e.id for e in actions if e.ts <= recall_ts}
    everything = all_entries(a, b, d)
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    full = compute_economy(applied(everything))
    for _node in range(3):
        subset = [e for e in everything if rng.random() < 0.8 or e.author != d.raw]
        rng.shuffle(subset)
        held = applied(subset)
        if rc not in held:
            continue
        eco = compute_economy(held)
        ids = {e.id for e in held}
        valid = {e.id for e in actions if e.id in ids and e.id not in eco.invalid}
        assert valid == expected & ids
        for e in actions:
            if e.id in ids and e.ts > recall_ts:
                assert code(eco, e) == "mandate-recalled"
    again = list(everything)
    rng.shuffle(again)
    assert compute_economy(applied(again)).to_value() == full.to_value()


def test_first_recall_by_time_wins_whatever_the_timeline() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    node = delegate_key(a, KEYS[6], power="node", label="second laptop", ts=START)
    late = b.surplus_request(fed, "pears", "1", "kg", ts=START + DAY)
    # The earlier-stamped recall refs a late entry, so it sorts after the other.
    early = recall(node, md, ts=START + 10 * SECOND, refs=[late.id])
    later = recall(a, md, ts=START + 20 * SECOND)
    between = surplus(d, fed, START + 15 * SECOND, md)
    eco = economy_of(a, b, d, node)
    assert code(eco, early) is None
    assert code(eco, later) == "already-recalled"
    assert code(eco, between) == "mandate-recalled"
    m = eco.gov.mandates.by_id[md.id]
    assert (m.recall, m.recalled) == (early.id, START + 10 * SECOND)


def test_recall_by_another_coop_or_of_nothing() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    by_b = recall(b, md, ts=START + SECOND)
    not_md = recall(a, fed, ts=START + 2 * SECOND)
    inside = surplus(d, fed, START + 3 * SECOND, md)
    eco = economy_of(a, b, d)
    assert code(eco, by_b) == "not-the-issuer"
    assert code(eco, not_md) == "not-a-mandate"
    assert code(eco, inside) is None
    assert eco.gov.mandates.by_id[md.id].recall is None


def test_the_delegate_cannot_recall_renew_or_issue() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    rc = d.add("mandate.recall", {"mandate": md.id.hex(), "reason": "I quit."},
               ts=START + SECOND, refs=[md.id])
    rn = d.add("mandate.renew", {"mandate": md.id.hex(), "expires": END + DAY},
               ts=START + 2 * SECOND, refs=[md.id])
    own = issue(d, d, SURPLUS, fed=fed, start=START, ts=START + 3 * SECOND, refs=[md.id])
    eco = economy_of(a, b, d)
    assert [code(eco, e) for e in (rc, rn, own)] == ["outside-mandate"] * 3
    assert eco.gov.mandates.by_id[md.id].recall is None


# ----------------------------------------------------------- outside the mandate


def test_delegate_without_a_mandate_ref_is_not_mandated() -> None:
    a, b, fed, d = world()
    issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    other = delegate_key(a, KEYS[6], ts=START)
    md_other = issue(a, other, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    bare = surplus(d, fed, START + SECOND, None)
    wrong_key = surplus(d, fed, START + 2 * SECOND, md_other)
    eco = economy_of(a, b, d, other)
    assert code(eco, bare) == "not-mandated"
    assert code(eco, wrong_key) == "not-mandated"


@pytest.mark.parametrize("case", ["wrong-kind", "over-max", "other-unit", "items",
                                  "other-federation"])
def test_delegate_outside_its_actions(case: str) -> None:
    a, b, fed, d = world()
    c = Coop(KEYS[2], "Bakery")
    fed2 = federation(a, c, name="Bread")
    md = issue(a, d, TRANSFER, fed=fed, start=START, expires=END, ts=START)
    ts = START + SECOND
    if case == "wrong-kind":
        e = surplus(d, fed, ts, md)
    elif case == "over-max":
        e = d.offer(fed, b, "5.5", ts=ts, refs=[md.id])
    elif case == "other-unit":
        e = d.offer(fed, b, "1", "kwh", ts=ts, refs=[md.id])
    elif case == "items":
        e = d.offer(fed, b, "1", items=[{"item": "bread", "quantity": "1", "unit": "loaf"}],
                    ts=ts, refs=[md.id])
    else:
        e = d.offer(fed2, c, "1", ts=ts, refs=[md.id])
    at_max = d.offer(fed, b, "5", ts=ts + SECOND, refs=[md.id])
    eco = economy_of(a, b, c, d)
    assert code(eco, e) == "outside-mandate"
    assert code(eco, at_max) is None
    assert eco.transfers[at_max.id].payer == a.raw   # the delegate acts for its co-op


def test_vote_on_the_named_proposal_only() -> None:
    a, b, fed, d = world()
    p1 = propose(b, fed=fed, title="Buy a cargo bike", ts=START - 2 * SECOND)
    p2 = propose(b, fed=fed, title="Paint the shed", ts=START - SECOND)
    md = issue(a, d, [{"do": "vote", "proposal": p1.id.hex()}], fed=fed, start=START,
               expires=END, ts=START)
    on_p1 = position(d, p1, ts=START + SECOND, refs=[md.id])
    on_p2 = position(d, p2, ts=START + 2 * SECOND, refs=[md.id])
    offer = d.offer(fed, b, "1", ts=START + 3 * SECOND, refs=[md.id])
    eco = economy_of(a, b, d)
    assert code(eco, on_p1) is None
    assert code(eco, on_p2) == "outside-mandate"
    assert code(eco, offer) == "outside-mandate"
    assert "vote is on proposal" in eco.invalid[on_p2.id].detail


def test_vote_without_a_named_proposal_stays_in_the_mandates_federation() -> None:
    a, b, fed, d = world()
    c = Coop(KEYS[2], "Bakery")
    fed2 = federation(a, c, name="Bread")
    p1 = propose(b, fed=fed, ts=START - 2 * SECOND)
    p2 = propose(c, fed=fed2, ts=START - SECOND)
    md = issue(a, d, [{"do": "vote"}], fed=fed, start=START, expires=END, ts=START)
    in_fed = position(d, p1, ts=START + SECOND, refs=[md.id])
    elsewhere = position(d, p2, ts=START + 2 * SECOND, refs=[md.id])
    eco = economy_of(a, b, c, d)
    assert code(eco, in_fed) is None
    assert code(eco, elsewhere) == "outside-mandate"


def test_a_mandate_of_the_coop_itself_reaches_every_federation() -> None:
    a, b, fed, d = world()
    c = Coop(KEYS[2], "Bakery")
    fed2 = federation(a, c, name="Bread")
    md = issue(a, d, TRANSFER, start=START, expires=END, ts=START)
    one = d.offer(fed, b, "1", ts=START + SECOND, refs=[md.id])
    two = d.offer(fed2, c, "1", ts=START + 2 * SECOND, refs=[md.id])
    eco = economy_of(a, b, c, d)
    assert code(eco, one) is None and code(eco, two) is None
    assert eco.gov.mandates.by_id[md.id].body == a.raw


def test_one_of_several_mandates_is_enough() -> None:
    a, b, fed, d = world()
    md1 = issue(a, d, TRANSFER, fed=fed, start=START, expires=END, ts=START)
    md2 = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START,
                title="Surplus sprint")
    both = d.surplus_offer(fed, "apples", "3", "kg", ts=START + SECOND,
                           refs=[md1.id, md2.id])
    only1 = surplus(d, fed, START + 2 * SECOND, md1)
    eco = economy_of(a, b, d)
    assert code(eco, both) is None
    assert code(eco, only1) == "outside-mandate"


# ------------------------------------------------------------------- issuing


def test_issue_checks() -> None:
    a, b, fed, d = world()
    node = delegate_key(a, KEYS[6], power="node", label="laptop")
    not_delegate = issue(a, node, SURPLUS, fed=fed, start=START, ts=START)
    foreign = issue(a, Coop(KEYS[7], "Stranger"), SURPLUS, start=START, ts=START)
    late_key = delegate_key(a, KEYS[4], ts=START + DAY)
    before_key = issue(a, late_key, SURPLUS, start=START, ts=START + DAY)
    too_long = issue(a, d, SURPLUS, start=START, expires=START + 365 * DAY + 1, ts=START)
    longest = issue(a, d, SURPLUS, start=START, expires=START + 365 * DAY, ts=START)
    outsider = Coop(KEYS[3], "Outsider")
    not_member = issue(outsider, None, SURPLUS, fed=fed, start=START, ts=START)
    paper = issue(a, None, SURPLUS, start=START, ts=START)   # no key: a written mandate
    eco = economy_of(a, b, d, node, outsider, late_key)
    assert code(eco, not_delegate) == "not-a-delegate-key"
    assert code(eco, foreign) == "not-a-delegate-key"
    assert code(eco, before_key) == "not-a-delegate-key"
    assert code(eco, too_long) == "term-too-long"
    assert code(eco, longest) is None
    assert code(eco, not_member) == "not-a-member"
    assert code(eco, paper) is None


def test_policy_in_force_sets_the_maximum_term() -> None:
    a, b, fed, d = world()
    policy(a, fed=fed, days=10, ts=START)
    policy(a, days=30, ts=START)
    fed_ok = issue(a, d, SURPLUS, fed=fed, start=START, expires=START + 10 * DAY,
                   ts=START + SECOND)
    fed_long = issue(a, d, SURPLUS, fed=fed, start=START, expires=START + 10 * DAY + 1,
                     ts=START + SECOND)
    own_ok = issue(a, d, SURPLUS, start=START, expires=START + 30 * DAY, ts=START + SECOND)
    own_long = issue(a, d, SURPLUS, start=START, expires=START + 31 * DAY, ts=START + SECOND)
    b_long = issue(b, None, SURPLUS, start=START, expires=START + 300 * DAY, ts=START)
    eco = economy_of(a, b, d)
    assert [code(eco, e) for e in (fed_ok, fed_long, own_ok, own_long, b_long)] == [
        None, "term-too-long", None, "term-too-long", None]


def test_renewal_judged_under_the_policy_the_mandate_was_issued_under() -> None:
    a, b, _fed, d = world()
    md = issue(a, d, SURPLUS, start=START, expires=END, ts=START)
    policy(a, days=5, ts=START + SECOND)
    rn = renew(a, md, START + 2 * SECOND + 20 * DAY, ts=START + 2 * SECOND)
    eco = economy_of(a, b, d)
    assert code(eco, rn) is None


def test_term_limit_is_flagged_not_blocked() -> None:
    a, b, fed, d = world()
    policy(a, fed=fed, terms=2, ts=START)

    def term(who: str, n: int, title: str = "Delegate to the federation") -> Entry:
        s = START + n * 20 * DAY
        return issue(a, None, SURPLUS, fed=fed, delegate=who, title=title, start=s,
                     expires=s + 10 * DAY, ts=s)

    t1, t2, t3 = term("Ana", 1), term("ana", 2), term("ANA", 3)
    other_title = term("Ana", 4, title="Treasurer's signature")
    t4 = term("Ben", 5)
    t5 = term("Ana", 6)
    eco = economy_of(a, b, d)
    assert all(code(eco, e) is None for e in (t1, t2, t3, other_title, t4, t5))
    flagged = [f.entry for f in eco.gov.flags if f.code == "term-limit"]
    assert flagged == [t3.id]
    assert [eco.gov.mandates.by_id[e.id].term for e in (t1, t2, t3, t4, t5)] == [
        1, 2, 3, 1, 1]
    rn = renew(a, t5, START + 135 * DAY, ts=START + 121 * DAY)
    rn2 = renew(a, t5, START + 140 * DAY, ts=START + 129 * DAY)
    eco = economy_of(a, b, d)
    assert code(eco, rn) is None and code(eco, rn2) is None
    assert [f.entry for f in eco.gov.flags if f.code == "term-limit"] == [t3.id, rn2.id]
    assert eco.gov.to_value()["flags"]


# ---------------------------------------------------------- reports and verdicts


def test_report_by_the_delegate_even_after_recall_and_verdict_timing() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    early = verdict(a, md, ts=START + SECOND)
    rc = recall(a, md, ts=START + 2 * SECOND)
    rep = report(d, md, ts=START + 3 * SECOND)
    by_b = report(b, md, ts=START + 4 * SECOND)
    v = verdict(a, md, "exceeded", ts=START + 5 * SECOND)
    v_b = verdict(b, md, ts=START + 6 * SECOND)
    eco = economy_of(a, b, d)
    assert code(eco, early) == "too-early"
    assert code(eco, rc) is None and code(eco, rep) is None
    assert code(eco, by_b) == "not-the-issuer"
    assert code(eco, v) is None
    assert code(eco, v_b) == "not-the-issuer"
    m = eco.gov.mandates.by_id[md.id]
    assert m.reports == [rep.id]
    assert m.verdict == (v.id, "exceeded")


def test_verdict_after_a_report_or_after_expiry() -> None:
    a, b, fed, d = world()
    md = issue(a, d, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    md2 = issue(a, None, SURPLUS, fed=fed, start=START, expires=END, ts=START,
                title="Audit")
    rep = report(a, md, ts=START + SECOND)          # the issuer may report too
    v1 = verdict(a, md, ts=START + 2 * SECOND)
    v2 = verdict(a, md2, ts=END)
    eco = economy_of(a, b, d)
    assert [code(eco, e) for e in (rep, v1, v2)] == [None, None, None]


def test_report_by_a_delegate_on_a_mandate_of_another_key() -> None:
    a, b, fed, d = world()
    other = delegate_key(a, KEYS[6], ts=START)
    md = issue(a, other, SURPLUS, fed=fed, start=START, expires=END, ts=START)
    rep = report(d, md, ts=START + SECOND)
    assert code(economy_of(a, b, d, other), rep) == "not-mandated"


# ------------------------------------------------------------------------ roles


def test_roles_several_holders_terms_and_boundaries() -> None:
    a, b, _fed, _d = world()
    t1 = assign(a, "Treasurer", "Ana", START, END, ts=START)
    t2 = assign(a, "treasurer", "Ben", START + DAY, END, ts=START)
    eco = economy_of(a, b)
    roles = eco.gov.roles
    assert code(eco, t1) is None and code(eco, t2) is None
    assert [x.holder for x in roles.holders(START)] == ["Ana"]
    assert {x.holder for x in roles.holders(START + DAY)} == {"Ana", "Ben"}
    assert {x.holder for x in roles.holders(END - 1)} == {"Ana", "Ben"}
    assert roles.holders(END) == []   # dissolved at `until`
    rn = role_renew(a, t1, END + 20 * DAY, ts=END - DAY)
    late = role_renew(a, t2, END + 20 * DAY, ts=END)
    eco = economy_of(a, b)
    roles = eco.gov.roles
    assert code(eco, rn) is None and code(eco, late) == "role-ended"
    assert [x.holder for x in roles.holders(END)] == ["Ana"]
    assert roles.by_id[t1.id].until_at(END - DAY - 1) == END
    assert roles.by_id[t1.id].end == END + 20 * DAY
    assert roles.terms() == {(a.raw, "treasurer", "ana"): 2, (a.raw, "treasurer", "ben"): 1}
    end = role_end(a, t1, ts=END + DAY)
    again = role_end(a, t1, ts=END + 2 * DAY)
    eco = economy_of(a, b)
    assert code(eco, end) is None and code(eco, again) == "role-ended"
    assert eco.gov.roles.by_id[t1.id].holds_at(END + DAY - 1)
    assert not eco.gov.roles.by_id[t1.id].holds_at(END + DAY)
    assert eco.gov.roles.by_id[t1.id].end == END + DAY


def test_role_rules() -> None:
    a, b, fed, _d = world()
    c = Coop(KEYS[2], "Bakery")
    own = assign(a, "Facilitator", "Ana", START, END, ts=START)
    fed_role = assign(b, "Facilitator", "Bo", START, END, fed=fed, ts=START)
    by_b = role_renew(b, own, END + DAY, ts=START + SECOND)
    by_member = role_renew(a, fed_role, END + DAY, ts=START + SECOND)
    by_outsider = role_end(c, fed_role, ts=START + 2 * SECOND)
    nothing = role_end(a, fed, ts=START + 3 * SECOND)
    shorter = role_renew(a, own, END - 1, ts=START + 4 * SECOND)
    too_long = assign(a, "Auditor", "Cy", START, START + 366 * DAY, ts=START)
    outsider_fed = assign(c, "Auditor", "Cy", START, END, fed=fed, ts=START)
    eco = economy_of(a, b, c)
    assert code(eco, by_b) == "not-the-body"
    assert code(eco, by_member) is None
    assert code(eco, by_outsider) == "not-the-body"
    assert code(eco, nothing) == "not-an-assignment"
    assert code(eco, shorter) == "expires-not-later"
    assert code(eco, too_long) == "term-too-long"
    assert code(eco, outsider_fed) == "not-a-member"


def test_role_term_limit_counts_unbroken_terms() -> None:
    a, b, _fed, _d = world()
    policy(a, terms=2, ts=START)
    r1 = assign(a, "Note-taker", "Ana", START, START + 10 * DAY, ts=START + 1)
    r2 = assign(a, "Note-taker", "Ana", START + 10 * DAY, START + 20 * DAY, ts=START + 2)
    r3 = role_renew(a, r2, START + 30 * DAY, ts=START + 3)
    gap = assign(a, "Note-taker", "Ana", START + 40 * DAY, START + 50 * DAY, ts=START + 4)
    eco = economy_of(a, b)
    assert all(code(eco, e) is None for e in (r1, r2, r3, gap))
    assert [f.entry for f in eco.gov.flags if f.code == "term-limit"] == [r3.id]
    assert eco.gov.roles.by_id[gap.id].term == 1
    assert eco.gov.roles.terms()[(a.raw, "note-taker", "ana")] == 4


# ------------------------------------------------------------------- the value


def test_state_value_rows() -> None:
    a, b, fed, d = world()
    md = issue(a, d, TRANSFER, fed=fed, start=START, expires=END, ts=START)
    rn = renew(a, md, END + DAY, ts=START + SECOND)
    rc = recall(a, md, ts=START + 2 * SECOND)
    rep = report(d, md, ts=START + 3 * SECOND)
    v = verdict(a, md, ts=START + 4 * SECOND)
    r = assign(a, "Treasurer", "Ana", START, END, ts=START + 5 * SECOND)
    value = economy_of(a, b, d).to_value()["governance"]
    assert value["mandates"] == [[
        md.id.hex(), a.hex, fed.id.hex(), d.hex, START, END,
        [[rn.id.hex(), START + SECOND, END + DAY]], [rc.id.hex(), START + 2 * SECOND],
        [rep.id.hex()], [v.id.hex(), "kept"]]]
    assert value["roles"] == [[r.id.hex(), a.hex, "Treasurer", "Ana", None, START, END,
                               [], None]]


def test_without_governance_entries_there_is_no_governance_value() -> None:
    a, b = Coop(KEYS[0], "Garden"), Coop(KEYS[1], "Repair")
    federation(a, b)
    assert "governance" not in economy_of(a, b).to_value()


def test_reason_codes_are_declared() -> None:
    text = Path(mandates.__file__).read_text()
    used = set(re.findall(r'Reject\(\s*"([a-z-]+)"', text))
    used |= {c for c, _ in re.findall(r'\(\s*"([a-z-]+)",\s*(f?)"', text) if "-" in c}
    assert used <= mandates.REASON_CODES | GOVERNANCE_REASON_CODES | {"malformed"}
    assert mandates.REASON_CODES <= used | {"malformed"}
