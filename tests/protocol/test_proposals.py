"""Proposals, positions, decisions, cascades and minutes (SPEC §13.7): each rule and
reason code, the four methods, the count's "latest position before the decision", the
flag on an outcome that differs from the count, and the governance value."""

from __future__ import annotations

import inspect
import re
from fractions import Fraction

import pytest
from econkit import KEYS, SECOND, Coop, all_entries, federation, reset_clock
from mandatekit import delegate_key, issue
from proposalkit import (
    amend,
    announce_groups,
    beacon,
    code,
    decide,
    economy_of,
    gov,
    minutes,
    position,
    propose,
    set_policy,
)

from coopledger.protocol import Entry, encode
from coopledger.protocol._kinds import key_proof_message
from coopledger.protocol.commons import (
    GOVERNANCE_REASON_CODES,
    Proposal,
    compute_economy,
    dowdall,
    tally,
)
from coopledger.protocol.commons import _proposals as proposals_module
from coopledger.protocol.commons._proposals import REASON_CODES


@pytest.fixture(autouse=True)
def _clock() -> None:
    reset_clock()


@pytest.fixture
def coops() -> tuple[Coop, Coop, Coop, Coop]:
    return (Coop(KEYS[0], "Garden"), Coop(KEYS[1], "Bakery"), Coop(KEYS[2], "Repair"),
            Coop(KEYS[3], "Outsider"))


# -------------------------------------------------------------------- a co-op's assembly


def test_an_assembly_proposes_records_positions_and_decides(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a)
    ana = position(a, p, "agree", member="Ana", reason="We need it.")
    ben = position(a, p, "abstain", member="Ben")
    d = decide(a, p, "adopted", summary="We buy a cargo bike.")
    eco = economy_of(a)
    assert not eco.invalid
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.body == a.raw and got.federation is None
    assert got.decision is not None and got.decision.id == d.id
    count = got.decision.count
    assert count is not None and (count.method, count.agree, count.abstain) == (
        "consent", 1, 1)
    assert count.outcome == "adopted" and not got.decision.differs
    assert set(count.positions) == {ana.id, ben.id}
    assert eco.gov.flags == []
    assert eco.gov.proposals.body_of(p.id) == a.raw
    assert eco.gov.proposals.body_of(d.id) is None


def test_members_of_an_assembly_are_told_apart_by_case_folded_name(
        coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a)
    first = position(a, p, "block", member="ANA")
    second = position(a, p, "agree", member="ana")      # the same person changed her mind
    other = position(a, p, "agree", member="Ben")
    whole = position(a, p, "agree")                      # the co-op as a whole: its own voter
    got = gov(a).proposals.get(p.id)
    assert got is not None
    assert got.statuses() == {first.id: "superseded", second.id: "counted",
                              other.id: "counted", whole.id: "counted"}
    assert tally(got, "consent").outcome == "adopted"


def test_only_the_co_op_speaks_in_its_own_assembly(coops: tuple[Coop, ...]) -> None:
    a, b = coops[0], coops[1]
    p = propose(a)
    pos = position(b, p, "block", member="Mallory")
    am = amend(b, p)
    dec = decide(b, p, "rejected")
    own = amend(a, p, "We buy a cargo bike with a trailer.")
    eco = economy_of(a, b)
    assert [code(eco, e) for e in (pos, am, dec, own)] == [
        "not-the-body", "not-the-body", "not-the-body", None]
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.current_text == "We buy a cargo bike with a trailer."
    assert got.text == "We buy one cargo bike for deliveries." and got.decision is None


# -------------------------------------------------------------------------- federations


def test_a_federation_proposal_one_voice_per_member_co_op(coops: tuple[Coop, ...]) -> None:
    a, b, c, out = coops
    fed = federation(a, b, c)
    p = propose(b, fed=fed, title="Shared van")
    # Bakery records two people: one voice all the same (its latest position counts).
    b1 = position(b, p, "agree", member="Ana")
    b2 = position(b, p, "disagree", member="Ben")
    c1 = position(c, p, "agree")
    stranger = position(out, p, "agree")
    outsider_p = propose(out, fed=fed)
    set_policy(a, "majority", fed=fed)
    d = decide(a, p, "rejected")
    eco = economy_of(a, b, c, out)
    assert code(eco, stranger) == "not-a-member"
    assert code(eco, outsider_p) == "not-a-member"
    assert code(eco, d) is None
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.federation == fed.id and got.body == fed.id
    assert got.statuses() == {b1.id: "superseded", b2.id: "counted", c1.id: "counted"}
    count = got.decision.count if got.decision else None
    assert count is not None and (count.agree, count.disagree) == (1, 1)
    assert count.outcome == "rejected" and eco.gov.flags == []   # 1 > 1 + 0 is false


def test_federation_amendments_come_from_another_member(coops: tuple[Coop, ...]) -> None:
    a, b, c, out = coops
    fed = federation(a, b, c)
    p = propose(b, fed=fed)
    own = amend(b, p, "Mine, amended.")
    other = amend(c, p, "Two bikes, shared.")
    stranger = amend(out, p, "Three bikes.")
    eco = economy_of(a, b, c, out)
    assert [code(eco, e) for e in (own, other, stranger)] == [
        "own-proposal", None, "not-a-member"]
    got = eco.gov.proposals.get(p.id)
    assert got is not None and [x.id for x in got.amendments] == [other.id]
    assert got.current_text == "Two bikes, shared."


def test_a_member_that_left_no_longer_takes_positions(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    p = propose(a, fed=fed)
    before = position(c, p, "block")
    c.leave(fed)
    after = position(c, p, "agree")
    eco = economy_of(a, b, c)
    assert code(eco, before) is None and code(eco, after) == "not-a-member"


def test_minutes_by_the_body(coops: tuple[Coop, ...]) -> None:
    a, b, _, out = coops
    fed = federation(a, b)
    own = minutes(a)
    fed_minutes = minutes(b, fed=fed, title="Federation assembly")
    stranger = minutes(out, fed=fed)
    eco = economy_of(a, b, out)
    assert code(eco, stranger) == "not-a-member"
    got = eco.gov.proposals.minutes
    assert set(got) == {own.id, fed_minutes.id}
    assert got[own.id].body == a.raw and got[own.id].federation is None
    assert got[fed_minutes.id].body == fed.id and got[fed_minutes.id].by == b.raw


# ---------------------------------------------------------------------- what counts


def test_the_latest_position_before_the_decision_counts(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a)
    t = a.now
    early = position(a, p, "block", member="Ana", ts=t + 10 * SECOND)
    # Stamped earlier than `early` but later on Ana's log: the greater ts wins.
    older = position(a, p, "agree", member="Ana", ts=t + 10 * SECOND)
    d = decide(a, p, "rejected", ts=t + 20 * SECOND)
    late = position(a, p, "agree", member="Ana", ts=t + 30 * SECOND)
    eco = economy_of(a)
    got = eco.gov.proposals.get(p.id)
    assert got is not None and code(eco, late) is None
    # Equal ts: the later on the timeline counts.
    assert got.statuses() == {early.id: "superseded", older.id: "counted", late.id: "late"}
    assert got.decision is not None and got.decision.id == d.id
    count = got.decision.count
    assert count is not None and (count.agree, count.block) == (1, 0)
    # The co-op recorded "rejected" while consent adopts: flagged, and it stands.
    assert [(f.code, f.entry) for f in eco.gov.flags] == [("outcome-differs", d.id)]
    assert got.decision.outcome == "rejected" and got.decision.differs


def test_the_greater_ts_wins_over_the_timeline_across_two_keys_of_one_co_op(
        coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    laptop = Coop(KEYS[5], "Garden laptop")
    a.add("key.add", {"identity": a.hex, "key": laptop.hex, "power": "node",
                      "label": "laptop",
                      "proof": laptop.key.sign(key_proof_message(a.raw)).hex()})
    p = propose(b, fed=fed)
    t = a.now
    # The laptop's clock is ahead; Garden's root key answers later on the timeline (it
    # refs the laptop's position) with an earlier ts: the greater ts still counts.
    ahead = position(laptop, p, "block", ts=t + 60 * SECOND)
    behind = position(a, p, "agree", ts=t + 30 * SECOND, refs=[ahead.id])
    eco = economy_of(a, b, c, laptop)
    assert code(eco, ahead) is None and code(eco, behind) is None
    got = eco.gov.proposals.get(p.id)
    assert got is not None
    assert got.statuses() == {ahead.id: "counted", behind.id: "superseded"}
    assert tally(got, "consent").outcome == "rejected"


def test_a_position_stamped_after_the_decision_is_late_even_if_earlier_on_the_timeline(
        coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    p = propose(a, fed=fed)
    t = c.now
    # Repair's clock runs ahead: its block (ts t+50) comes before Garden's decision on
    # the timeline only if its eff is lower; make the decision depend on it (refs) so
    # the block is before the decision on the timeline, yet dated after it.
    blocked = position(c, p, "block", ts=t + 50 * SECOND)
    d = decide(a, p, "adopted", ts=t + 5 * SECOND, refs=[blocked.id])
    eco = economy_of(a, b, c)
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.decision is not None
    assert got.statuses() == {blocked.id: "late"}
    assert got.decision.count is not None and got.decision.count.block == 0
    assert eco.gov.flags == [] and code(eco, d) is None


# -------------------------------------------------------------------------- methods


METHOD_CASES = [
    # stances, consensus, consent, majority
    ((), "rejected", "adopted", "rejected"),
    (("agree",), "adopted", "adopted", "adopted"),
    (("abstain",), "rejected", "adopted", "rejected"),
    (("agree", "agree", "disagree"), "rejected", "adopted", "adopted"),
    (("agree", "agree", "block"), "rejected", "rejected", "adopted"),
    (("agree", "disagree", "block"), "rejected", "rejected", "rejected"),
    (("agree", "abstain", "abstain", "abstain"), "adopted", "adopted", "adopted"),
    (("agree", "agree", "disagree", "block"), "rejected", "rejected", "rejected"),
]


@pytest.mark.parametrize(("stances", "consensus", "consent", "majority"), METHOD_CASES)
def test_methods(stances: tuple[str, ...], consensus: str, consent: str,
                 majority: str) -> None:
    a = Coop(KEYS[0], "Garden")
    p = propose(a)
    for i, s in enumerate(stances):
        position(a, p, s, member=f"member {i}")
    got = gov(a).proposals.get(p.id)
    assert got is not None
    assert [tally(got, m).outcome for m in ("consensus", "consent", "majority")] == [
        consensus, consent, majority]
    # Dowdall on a proposal without options counts as majority.
    assert tally(got, "dowdall").outcome == majority


def test_the_policy_in_force_at_the_decision_sets_the_method(
        coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    set_policy(a, "consensus")
    p1 = propose(a)
    position(a, p1, "abstain", member="Ana")
    d1 = decide(a, p1, "adopted")                 # consensus needs an agree: flagged
    set_policy(a, "consent")
    p2 = propose(a)
    position(a, p2, "abstain", member="Ana")
    d2 = decide(a, p2, "adopted")                 # consent: fine
    eco = economy_of(a)
    assert [(f.code, f.entry) for f in eco.gov.flags] == [("outcome-differs", d1.id)]
    counts = [eco.gov.proposals.proposals[p.id].decision for p in (p1, p2)]
    assert [(d.count.method if d and d.count else None) for d in counts] == [
        "consensus", "consent"]
    assert code(eco, d2) is None


def test_dowdall_scores_are_exact_and_ties_go_to_the_lower_option() -> None:
    assert dowdall(3, [[0, 1, 2], [1, 0], [2]]) == (
        Fraction(3, 2), Fraction(3, 2), Fraction(4, 3))
    a = Coop(KEYS[0], "Garden")
    set_policy(a, "dowdall")
    p = propose(a, options=["red", "green", "blue"])
    position(a, p, "agree", member="Ana", ranking=[0, 1, 2])
    position(a, p, "agree", member="Ben", ranking=[1, 0])
    position(a, p, "agree", member="Chi", ranking=[2])
    position(a, p, "block", member="Dee")        # no ranking: dowdall ignores stances
    got = gov(a).proposals.get(p.id)
    assert got is not None
    count = tally(got, "dowdall")
    assert count.scores == (Fraction(3, 2), Fraction(3, 2), Fraction(4, 3))
    assert (count.outcome, count.option) == ("adopted", 0)
    # Under consent the block rejects; the option would still be picked by Dowdall.
    assert (tally(got, "consent").outcome, tally(got, "consent").option) == (
        "rejected", None)


def test_dowdall_decisions_flag_another_option_and_no_rankings_reject() -> None:
    a = Coop(KEYS[0], "Garden")
    set_policy(a, "dowdall")
    p = propose(a, options=["Monday", "Thursday"])
    position(a, p, "agree", member="Ana", ranking=[1, 0])
    other = decide(a, p, "adopted", option=0)
    q = propose(a, options=["Monday", "Thursday"])
    none = decide(a, q, "adopted", option=1)
    r = propose(a, options=["Monday", "Thursday"])
    position(a, r, "agree", member="Ana", ranking=[1])
    right = decide(a, r, "adopted", option=1)
    eco = economy_of(a)
    assert sorted(f.entry for f in eco.gov.flags) == sorted([other.id, none.id])
    assert code(eco, right) is None
    d = eco.gov.proposals.proposals[q.id].decision
    assert d is not None and d.count is not None and d.count.outcome == "rejected"


# ------------------------------------------------------------------------- decisions


def test_decision_rules(coops: tuple[Coop, ...]) -> None:
    a, b, c, out = coops
    fed = federation(a, b, c)
    p = propose(b, fed=fed, options=["bike", "van"])
    no_option = decide(c, p, "adopted")
    bad_option = decide(c, p, "adopted", option=2)
    option_on_reject = decide(c, p, "rejected", option=0)
    withdrawn_by_other = decide(c, p, "withdrawn")
    stranger = decide(out, p, "adopted", option=0)
    first = decide(c, p, "adopted", option=1)
    second = decide(b, p, "rejected")
    amended_late = amend(c, p, "Too late.")
    eco = economy_of(a, b, c, out)
    assert [code(eco, e) for e in (no_option, bad_option, option_on_reject,
                                   withdrawn_by_other, stranger, first, second,
                                   amended_late)] == [
        "no-such-option", "no-such-option", "no-such-option", "not-the-proposer",
        "not-a-member", None, "already-decided", "already-decided"]
    # consent with no positions adopts; no rankings, so any option stands unflagged.
    assert eco.gov.flags == []


def test_a_withdrawal_is_never_flagged_and_never_counted(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a)
    position(a, p, "agree", member="Ana")
    d = decide(a, p, "withdrawn", summary="We found a bike to borrow.")
    eco = economy_of(a)
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.decision is not None and got.decision.id == d.id
    assert got.decision.count is None and eco.gov.flags == []


def test_option_and_ranking_on_a_proposal_without_options(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a)
    ranked = position(a, p, "agree", member="Ana", ranking=[0])
    q = propose(a, options=["a", "b"])
    out_of_range = position(a, q, "agree", member="Ana", ranking=[1, 2])
    opt = decide(a, p, "adopted", option=0)
    eco = economy_of(a)
    assert [code(eco, e) for e in (ranked, out_of_range, opt)] == ["no-such-option"] * 3


def test_entries_that_name_no_proposal(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    m = minutes(a)   # ids in bodies are in refs, so name a real entry of another kind
    pos = position(a, m, "agree")
    am = amend(a, m)
    dec = decide(a, m)
    eco = economy_of(a)
    assert [code(eco, e) for e in (pos, am, dec)] == ["not-a-proposal"] * 3


# -------------------------------------------------------------------------- delegates


def test_a_delegates_position_counts_for_its_co_op_and_only_as_mandated(
        coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    p = propose(b, fed=fed, title="Shared van")
    q = propose(b, fed=fed, title="Market day")
    ana = delegate_key(a, KEYS[6])
    md = issue(a, ana, [{"do": "vote", "proposal": p.id.hex()}], fed=fed)
    own = position(a, p, "block")                         # Garden's node key, earlier
    vote = position(ana, p, "agree", member="Ana", refs=[md.id])
    other = position(ana, q, "agree", refs=[md.id])       # not the proposal mandated
    bare = position(ana, p, "agree")                      # refs no mandate
    eco = economy_of(a, b, c, ana)
    assert [code(eco, e) for e in (own, vote, other, bare)] == [
        None, None, "outside-mandate", "not-mandated"]
    got = eco.gov.proposals.get(p.id)
    assert got is not None
    # The delegate speaks for Garden: one voice, the later position counts.
    assert got.statuses() == {own.id: "superseded", vote.id: "counted"}
    counted = next(x for x in got.positions if x.id == vote.id)
    assert counted.by == a.raw and counted.author == ana.raw


# --------------------------------------------------------------------------- cascades


def _cascade(a: Coop, b: Coop, c: Coop, fed: Entry) -> tuple[Entry, list[list[bytes]]]:
    """A groups-mode lottery over six people of three co-ops, drawn by one beacon."""
    people = [("Ana", a), ("Ben", a), ("Chi", b), ("Dee", b), ("Eve", c), ("Fay", c)]
    lot = announce_groups(a, people, fed=fed)
    beacon(b, lot)
    draw = gov(a, b, c).lotteries.drawn(lot.id)
    assert draw is not None
    return lot, [[x.coop for x in g] for g in draw.groups]


def _in_only(groups: list[list[bytes]], coop: Coop, group: int) -> bool:
    return coop.raw in groups[group] and not any(
        coop.raw in g for i, g in enumerate(groups) if i != group)


def test_a_cascade_draft_needs_an_amendment_from_another_group() -> None:
    # Find a seed where one co-op sits in one group only, and another co-op elsewhere.
    for n in range(8):
        reset_clock()
        a, b, c = (Coop(KEYS[i], f"Co-op {i}") for i in range(3))
        fed = federation(a, b, c, name=f"Riverside {n}")
        lot, groups = _cascade(a, b, c, fed)
        pairs = [(x, y) for x in (a, b, c) for y in (a, b, c)
                 if x is not y and _in_only(groups, x, 0) and y.raw not in groups[0]]
        if pairs:
            break
    else:
        pytest.fail("no draw of 8 put a co-op in one group only")
    drafter, other = pairs[0]
    draft = propose(drafter, fed=fed, cascade=lot, group=0, title="Group 0 drafts")
    too_soon = decide(drafter, draft, "adopted")
    same = amend(drafter, draft, "Amended by its own group.")
    cross = amend(other, draft, "Amended by another group.")
    decided = decide(drafter, draft, "adopted")
    eco = economy_of(a, b, c)
    assert [code(eco, e) for e in (draft, too_soon, same, cross, decided)] == [
        None, "no-amendment-round", "same-group", None, None]
    got = eco.gov.proposals.get(draft.id)
    assert got is not None and got.cascade == lot.id and got.group == 0
    assert [x.id for x in got.amendments] == [cross.id]
    assert got.amendments[0].group is not None and got.amendments[0].group != 0
    assert eco.gov.proposals.drafts(lot.id) == [got]


def test_cascade_drafts_need_a_drawn_groups_lottery_of_the_same_body() -> None:
    a, b, c, out = (Coop(KEYS[i], f"Co-op {i}") for i in range(4))
    fed = federation(a, b, c)
    people = [("Ana", a), ("Chi", b), ("Eve", c)]
    undrawn = announce_groups(a, people, fed=fed)
    draw_mode = announce_groups(a, people, fed=fed, mode="draw")
    beacon(b, draw_mode)
    own = announce_groups(a, people)       # Garden's own assembly's lottery
    beacon(b, own)
    drawn = announce_groups(a, people, fed=fed)
    beacon(b, drawn)
    not_drawn = propose(a, fed=fed, cascade=undrawn, group=0)
    not_groups = propose(a, fed=fed, cascade=draw_mode, group=0)
    other_body = propose(a, fed=fed, cascade=own, group=0)
    not_lottery = propose(a, fed=fed, cascade=fed, group=0)
    no_group = propose(a, fed=fed, cascade=drawn, group=1)    # 3 people: one group
    stranger = propose(out, cascade=drawn, group=0)           # its own body, not the fed
    ok = propose(c, fed=fed, cascade=drawn, group=0)
    eco = economy_of(a, b, c, out)
    assert [code(eco, e) for e in (not_drawn, not_groups, other_body, not_lottery,
                                   no_group, stranger, ok)] == [
        "not-drawn", "not-a-cascade", "not-a-cascade", "not-a-cascade", "no-such-group",
        "not-a-cascade", None]


def test_not_in_group(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    lot = announce_groups(a, [("Ana", a), ("Chi", b), ("Dee", b)], fed=fed)
    beacon(b, lot)
    draft = propose(c, fed=fed, cascade=lot, group=0)
    real = propose(b, fed=fed, cascade=lot, group=0)
    outside = amend(c, real)
    eco = economy_of(a, b, c)
    assert [code(eco, e) for e in (draft, real, outside)] == [
        "not-in-group", None, "not-in-group"]


# ------------------------------------------------------------------------------ value


def test_the_value(coops: tuple[Coop, ...]) -> None:
    a, b = coops[0], coops[1]
    p = propose(a)
    pos = position(a, p, "block", member="Ana")
    am = amend(a, p, "Second text.")
    d = decide(a, p, "rejected", summary="Not now.")
    late = position(a, p, "agree", member="Ana")
    mi = minutes(b)
    eco = economy_of(a, b)
    value = eco.to_value()["governance"]
    assert isinstance(value, dict)
    assert value["proposals"] == {
        "proposals": [[p.id.hex(), a.hex, a.hex, None, None, [am.id.hex()],
                       sorted([[pos.id.hex(), "counted"], [late.id.hex(), "late"]]),
                       d.id.hex(), ["consent", 0, 0, 1, 0, "rejected", None]]],
        "minutes": [[mi.id.hex(), b.hex]]}
    encode(value)   # a Value the codec takes


def test_invalid_entries_change_nothing_but_the_invalid_list(
        coops: tuple[Coop, ...]) -> None:
    a, b = coops[0], coops[1]
    p = propose(a)
    before = economy_of(a, b).to_value()
    position(b, p, "block")
    after = economy_of(a, b).to_value()
    assert before["governance"] == after["governance"]
    assert before["invalid"] == [] and after["invalid"] != []


def test_reason_codes_are_declared() -> None:
    """Every code the module raises is declared (here, or §13's not-the-body), and
    every code declared is raised somewhere."""
    raised = set(re.findall(r'Reject\("([a-z-]+)"', inspect.getsource(proposals_module)))
    assert "not-the-body" in GOVERNANCE_REASON_CODES
    assert raised - REASON_CODES == {"not-the-body"}
    assert REASON_CODES <= raised


def test_order_of_the_entries_given_does_not_matter(coops: tuple[Coop, ...]) -> None:
    a, b, c, _ = coops
    fed = federation(a, b, c)
    p = propose(b, fed=fed, options=["x", "y", "z"])
    position(a, p, "agree", ranking=[2, 0])
    position(c, p, "disagree", ranking=[0])
    amend(c, p)
    decide(a, p, "adopted", option=0)
    entries = all_entries(a, b, c)
    want = compute_economy(entries).to_value()
    assert compute_economy(list(reversed(entries))).to_value() == want
    assert compute_economy(sorted(entries, key=lambda e: e.id)).to_value() == want


def test_proposal_records_keep_who_signed(coops: tuple[Coop, ...]) -> None:
    a = coops[0]
    p = propose(a, note="from the spring assembly")
    got = gov(a).proposals.get(p.id)
    assert isinstance(got, Proposal) and got.author == a.raw and got.proposer == a.raw
