"""Properties of the count (SPEC §13.7): random positions by members, outsiders and
people of an assembly, a decision somewhere among them with a random recorded outcome
under a random method, positions after it. A reference count written here from the
rules (the latest position per voter dated before the decision) must match the fold's;
the decision is flagged exactly when its outcome differs from that count; and the
result does not depend on the order the entries are given in."""

from __future__ import annotations

import random
from typing import Any

from econkit import KEYS, SECOND, Coop, all_entries, federation, reset_clock
from hypothesis import given, settings
from hypothesis import strategies as st
from proposalkit import decide, position, propose, set_policy

from coopledger.protocol.commons import compute_economy

STANCES = ("agree", "disagree", "block", "abstain")
METHODS = ("consensus", "consent", "majority", "dowdall")
MEMBERS = ("Ana", "ANA", "Ben", "Chi", None)


def reference(method: str, latest: dict[Any, tuple[str, tuple[int, ...]]],
              options: int) -> tuple[str, int | None]:
    stances = [s for s, _ in latest.values()]
    agree, disagree, block = (stances.count(s) for s in ("agree", "disagree", "block"))
    scores = [0.0] * options
    ranked = False
    for _, ranking in latest.values():
        for rank, o in enumerate(ranking, start=1):
            scores[o] += 1 / rank
            ranked = True
    # Floats suffice here: rankings of at most 3 options give scores far apart or equal.
    winner = None
    if options and ranked:
        best = max(scores)
        winner = next(i for i, s in enumerate(scores) if abs(s - best) < 1e-9)
    if method == "consensus":
        ok = agree >= 1 and disagree == 0 and block == 0
    elif method == "consent":
        ok = block == 0
    elif method == "dowdall" and options:
        ok = winner is not None
    else:
        ok = agree > disagree + block
    return ("adopted", winner) if ok else ("rejected", None)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_count_matches_the_rules_and_the_flag_follows(data: st.DataObject) -> None:
    reset_clock()
    in_fed = data.draw(st.booleans(), label="federation")
    coops = [Coop(KEYS[i], f"Co-op {i}") for i in range(4)]
    members, outsider = coops[:3], coops[3]
    fed = federation(*members) if in_fed else None
    method = data.draw(st.sampled_from(METHODS), label="method")
    options = data.draw(st.sampled_from((0, 2, 3)), label="options")
    proposer = members[0]
    set_policy(proposer, method, fed=fed)
    p = propose(proposer, fed=fed,
                options=[f"option {i}" for i in range(options)] if options else None)
    clock = p.ts
    decided_at = None
    latest: dict[Any, tuple[int, str, tuple[int, ...]]] = {}
    steps = data.draw(st.integers(0, 14), label="steps")
    decision_step = data.draw(st.integers(0, steps), label="decision at")
    recorded = None
    for step in range(steps + 1):
        clock += data.draw(st.integers(1, 3)) * SECOND     # every ts distinct
        if step == decision_step:
            recorded = data.draw(st.sampled_from(("adopted", "rejected")), label="outcome")
            option = None
            if recorded == "adopted" and options:
                option = data.draw(st.integers(0, options - 1), label="option")
            decider = proposer if not in_fed else data.draw(st.sampled_from(members))
            d = decide(decider, p, recorded, option=option, ts=clock)
            decided_at = clock
            continue
        who = data.draw(st.sampled_from(coops if in_fed else [proposer, proposer,
                                                                 outsider]))
        stance = data.draw(st.sampled_from(STANCES))
        member = data.draw(st.sampled_from(MEMBERS))
        ranking: tuple[int, ...] = ()
        if options and data.draw(st.booleans()):
            ranking = tuple(data.draw(st.permutations(range(options)))[
                :data.draw(st.integers(1, options))])
        position(who, p, stance, member=member, ranking=ranking or None, ts=clock)
        valid = who is not outsider
        if valid and decided_at is None:
            voter = who.raw if in_fed else (who.raw, None if member is None
                                            else member.casefold())
            latest[voter] = (clock, stance, ranking)
    eco = compute_economy(all_entries(*coops))
    got = eco.gov.proposals.get(p.id)
    assert got is not None and got.decision is not None and got.decision.id == d.id
    count = got.decision.count
    assert count is not None and count.method == method
    want = reference(method, {v: (s, r) for v, (_, s, r) in latest.items()}, options)
    assert (count.outcome, count.option) == want
    n = [s for _, s, _ in latest.values()]
    assert (count.agree, count.disagree, count.block, count.abstain) == tuple(
        n.count(s) for s in STANCES)
    differs = recorded != want[0] or (
        recorded == "adopted" and want[1] is not None and option != want[1])
    assert [f.entry for f in eco.gov.flags] == ([d.id] if differs else [])
    # Outsiders' positions are invalid; nobody else's is.
    bad = {i.entry_id for i in eco.invalid.values()}
    assert bad == {e.id for e in outsider.entries if e.kind == "position"}
    # Any order of the same entries gives the same value.
    entries = all_entries(*coops)
    random.Random(data.draw(st.integers(0, 2**32))).shuffle(entries)
    assert compute_economy(entries).to_value() == eco.to_value()
