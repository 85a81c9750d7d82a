"""The proposals area: proposals, positions, decisions, cascades and minutes (SPEC
§13.7).

A **body** (a co-op's own assembly, or a federation: ``_area.body_of``) puts a
proposal to itself, its members take positions, and the body records the decision it
took, in plain language, with the count under the method its policy names (§13.3).
The walk calls the handlers below in timeline order; each judges one
entry against what the entries before it left, and raises ``Reject`` to make it invalid.

The rules (SPEC §13.7 is normative; this is the summary the code follows):

1. ``proposal.create`` is by the body: the co-op itself, or a member of the federation
   it names. With ``cascade`` and ``group`` it is a **draft** of a cascade: the cascade
   must be a lottery of the same body in groups mode (``not-a-cascade``), already drawn
   at this point of the timeline (``not-drawn``), the group must exist
   (``no-such-group``) and the actor must have a candidate in it (``not-in-group``).
2. ``proposal.amend`` replaces the text. On a plain proposal: by the co-op itself (its
   own assembly) or, in a federation, by any member but the proposer (``own-proposal``).
   On a draft: by a co-op with a candidate in *another* group of the cascade
   (``not-in-group``, ``same-group``). Never after the decision (``already-decided``).
3. ``position``: by a voter of the body: in a co-op's assembly the co-op itself,
   recording one person's position (voter = the co-op and ``member`` case-folded, or the
   co-op as a whole without ``member``); in a federation a member co-op, one voice per
   co-op (``member`` says who spoke for it; it does not split the vote). Delegates'
   positions arrive here with the actor = their co-op (the mandate check is before).
   A ``ranking`` needs the proposal's ``options`` (``no-such-option``). A position on a
   decided proposal is valid and recorded as **late**: it never counts.
4. The **count** for a decision: of each voter's positions that are before the decision
   on the timeline with ts ≤ the decision's ts, the latest (greatest ts; the later on
   the timeline on equal ts) counts. Methods: consensus (≥ 1 agree, no disagree, no
   block), consent (no block), majority (agree > disagree + block; abstain not counted),
   dowdall (the option with the greatest Σ 1/rank over the rankings, ties to the lower
   option number; adopted iff at least one ranking). A proposal with options picks its
   option by Dowdall under every method; dowdall on a proposal without options counts
   as majority.
5. ``decision``: one per proposal (``already-decided``); ``withdrawn`` only by the
   proposer (``not-the-proposer``), never counted; otherwise by the body (the co-op
   itself: ``not-the-body``; a federation: a member). An adoption of a proposal with
   options names its option, and only then is an option given (``no-such-option``). A
   decision on a draft needs at least one valid amendment first (``no-amendment-round``)
   unless it withdraws the draft. A recorded outcome (or option) that differs from the
   count is **flagged** ``outcome-differs`` and stands (local autonomy).
6. ``minutes``: by the body; with the decisions they are the body's archive.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from .._entry import Entry
from ._area import Area, Handler, Machine, body_of
from ._judge import Body, Reject, short
from ._lottery_state import Draw
from ._proposals_state import (
    Amendment,
    Decision,
    Minutes,
    Position,
    Proposal,
    tally,
)

REASON_CODES = frozenset((
    "not-a-proposal", "already-decided", "not-the-proposer", "own-proposal",
    "no-such-option", "not-a-cascade", "not-drawn", "no-such-group", "not-in-group",
    "same-group", "no-amendment-round",
))
FLAG_CODES = ("outcome-differs",)


# ------------------------------------------------------------------------------ handlers

def _proposal(m: Machine, b: Body) -> Proposal:
    pid = b.ref("proposal")
    p = m.gov.proposals.proposals.get(pid)
    if p is None:
        raise Reject("not-a-proposal", f"entry {short(pid)} is not a valid proposal.create")
    return p


def _of_body(m: Machine, p: Proposal, what: str) -> None:
    """The actor speaks for ``p``'s body: the co-op itself, or a member federation."""
    if p.federation is None:
        if m.actor != p.body:
            raise Reject("not-the-body", f"{what} of co-op {short(p.body)}'s own assembly "
                         "are recorded by that co-op only")
        return
    fed = m.econ.federations[p.federation]
    m.member(fed, m.actor, "the co-op")


def _groups_of(draw: Draw, coop: bytes) -> list[int]:
    return [i for i, g in enumerate(draw.groups) if any(c.coop == coop for c in g)]


def _tick(m: Machine) -> int:
    m.gov.proposals.order += 1
    return m.gov.proposals.order


def _create(m: Machine, e: Entry, b: Body) -> None:
    body = body_of(m, b)
    federation = body if "federation" in b.body else None
    title, text = b.text("title"), b.text("text")
    raw_options = b.body.get("options")
    options = tuple(str(o) for o in raw_options) if isinstance(raw_options, list) else ()
    cascade = group = None
    if "cascade" in b.body:
        cascade, group = b.ref("cascade"), b.int("group")
        lots = m.gov.lotteries
        ann = lots.get(cascade)
        if ann is None or ann.terms.mode != "groups":
            raise Reject("not-a-cascade", f"entry {short(cascade)} is not a valid "
                         "lottery.announce in groups mode")
        if ann.body != body:
            raise Reject("not-a-cascade", f"cascade {short(cascade)} belongs to another "
                         "body than this proposal")
        draw = lots.drawn(cascade)
        if draw is None:
            raise Reject("not-drawn", f"cascade {short(cascade)} has not been drawn at "
                         "this point of the timeline (ref its beacons)")
        if not 0 <= group < len(draw.groups):
            raise Reject("no-such-group", f"cascade {short(cascade)} has "
                         f"{len(draw.groups)} groups, numbered from 0")
        if group not in _groups_of(draw, m.actor):
            raise Reject("not-in-group", f"co-op {short(m.actor)} has no candidate in "
                         f"group {group} of cascade {short(cascade)}")
    _tick(m)
    m.gov.proposals.proposals[e.id] = Proposal(
        e.id, body, federation, m.actor, e.author, title, text, options, e.ts,
        cascade, group)


def _amend(m: Machine, e: Entry, b: Body) -> None:
    p = _proposal(m, b)
    text = b.text("text")
    if p.decision is not None:
        raise Reject("already-decided", f"proposal {short(p.id)} was already decided")
    _of_body(m, p, "amendments")
    group = None
    if p.cascade is not None:
        draw = m.gov.lotteries.drawn(p.cascade)
        groups = [] if draw is None else _groups_of(draw, m.actor)
        if not groups:
            raise Reject("not-in-group", f"co-op {short(m.actor)} has no candidate in "
                         f"cascade {short(p.cascade)}")
        others = [g for g in groups if g != p.group]
        if not others:
            raise Reject("same-group", f"a draft of group {p.group} is amended from "
                         "another group only")
        group = others[0]
    elif p.federation is not None and m.actor == p.proposer:
        raise Reject("own-proposal", "a federation proposal is amended by another member "
                     "than its proposer")
    _tick(m)
    p.amendments.append(Amendment(e.id, m.actor, e.author, e.ts, text, group))


def _position(m: Machine, e: Entry, b: Body) -> None:
    p = _proposal(m, b)
    stance = b.text("stance")
    _of_body(m, p, "positions")
    member_v = b.body.get("member")
    member = member_v if isinstance(member_v, str) else None
    raw = b.body.get("ranking")
    ranking = tuple(r for r in raw if type(r) is int) if isinstance(raw, list) else ()
    if ranking and not p.options:
        raise Reject("no-such-option", f"proposal {short(p.id)} offers no options to rank")
    if any(not 0 <= r < len(p.options) for r in ranking):
        raise Reject("no-such-option", f"proposal {short(p.id)} has {len(p.options)} "
                     "options, numbered from 0")
    reason_v = b.body.get("reason")
    # In a federation one co-op has one voice; in a co-op's assembly each member has one.
    voter = (m.actor, None if p.federation is not None or member is None
             else member.casefold())
    p.positions.append(Position(
        e.id, voter, m.actor, e.author, member, stance, ranking,
        reason_v if isinstance(reason_v, str) else None, e.ts, _tick(m),
        late=p.decision is not None))


def _decision(m: Machine, e: Entry, b: Body) -> None:
    p = _proposal(m, b)
    outcome, summary = b.text("outcome"), b.text("summary")
    option = b.int("option") if "option" in b.body else None
    if p.decision is not None:
        raise Reject("already-decided", f"proposal {short(p.id)} was already decided "
                     f"(entry {short(p.decision.id)})")
    if outcome == "withdrawn":
        if m.actor != p.proposer:
            raise Reject("not-the-proposer", "only the proposer withdraws a proposal")
    else:
        _of_body(m, p, "decisions")
    if option is not None and (outcome != "adopted" or not p.options):
        raise Reject("no-such-option", "only the adoption of a proposal with options "
                     "names an option")
    if option is not None and option >= len(p.options):
        raise Reject("no-such-option", f"proposal {short(p.id)} has {len(p.options)} "
                     "options, numbered from 0")
    if outcome == "adopted" and p.options and option is None:
        raise Reject("no-such-option", f"proposal {short(p.id)} offers options: its "
                     "adoption names the one adopted")
    if p.cascade is not None and outcome != "withdrawn" and not p.amendments:
        raise Reject("no-amendment-round", f"draft {short(p.id)} needs at least one "
                     "amendment from another group before the plenary decides")
    _tick(m)
    count = None
    differs = False
    if outcome != "withdrawn":
        count = tally(p, m.gov.policy_at(p.body, m.eff).method, e.ts)
        differs = outcome != count.outcome or (
            outcome == "adopted" and count.option is not None and option != count.option)
    # Positions dated after the decision never count, even if the timeline had them first.
    for pos in p.positions:
        if pos.ts > e.ts:
            pos.late = True
    p.decision = Decision(e.id, m.actor, e.author, outcome, summary, option, e.ts, count,
                          differs)
    if differs and count is not None:
        what = f"{count.outcome}" + ("" if count.option is None
                                     else f" (option {count.option})")
        m.gov.flag("outcome-differs", e, f"proposal {short(p.id)} was recorded "
                   f"{outcome}; the {count.method} count says {what}")


def _minutes(m: Machine, e: Entry, b: Body) -> None:
    body = body_of(m, b)
    date, title, text = b.text("date"), b.text("title"), b.text("text")
    m.gov.proposals.minutes[e.id] = Minutes(
        e.id, body, body if "federation" in b.body else None, m.actor, e.author, date,
        title, text, e.ts)


HANDLERS: dict[str, Handler] = {
    "proposal.create": _create,
    "proposal.amend": _amend,
    "position": _position,
    "decision": _decision,
    "minutes": _minutes,
}


def _where_created(m: Machine, e: Entry, b: Body) -> bytes | None:
    """A proposal without ``federation`` is put to the actor's own assembly."""
    return m.actor


def _where_proposal(m: Machine, e: Entry, b: Body) -> bytes | None:
    """A position or an amendment acts in the body of the proposal it refs."""
    try:
        return m.gov.proposals.body_of(b.ref("proposal"))
    except Reject:
        return None


AREA = Area(
    name="proposals",
    kinds=frozenset(HANDLERS),
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    flag_codes=FLAG_CODES,
    where={"proposal.create": _where_created, "position": _where_proposal,
           "proposal.amend": _where_proposal},
    actions={"position": "vote", "proposal.create": "propose", "proposal.amend": "propose"},
)
