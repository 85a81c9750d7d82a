"""Views of self-government: proposals, decisions and minutes, the archive (SPEC §13.7).

    proposals  /v1/proposals              the proposals of some bodies, with their status
    proposal   /v1/proposals/{proposal}   one proposal: text, amendments, positions, the
                                          count under the method, the decision
    decisions  /v1/decisions              the decision archive, searchable (``q``)
    minutes    /v1/minutes                the minutes, searchable (``q``)
    cascade    /v1/cascades/{cascade}     a cascade: its groups, each group's drafts, the
                                          amendments across groups, what may be decided

Which bodies: ``federation`` (a name or id prefix) names one federation; ``coop`` (a
name or key prefix) one co-op's own assembly; both: what that co-op put to that
federation (its proposals, or the decisions and minutes it recorded there). Neither:
the assembly of the co-op this node writes for and every federation it is in or invited
to (offline without a home: every body). A search ``q`` keeps the rows whose title,
summary and text (the proposal's, as amended) contain every word of ``q``, case-folded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from coopledger.protocol import tally

from ._econview import coop_names
from ._govview import body_fields as _body
from ._govview import scope as _scope
from ._govview import who as _who
from ._views import (
    CASCADE,
    COOP,
    FEDERATION,
    FLAG,
    MAX_QUERY,
    PROPOSAL,
    SEARCH,
    Param,
    View,
    ViewArgs,
    economy,
)

if TYPE_CHECKING:
    from coopledger.protocol import Count, Decision, Economy, Proposal

    from ._store import Store

__all__ = ["MAX_QUERY", "VIEWS", "matches", "resolve_cascade", "resolve_proposal"]


# -- helpers ------------------------------------------------------------------------------


def matches(words: Iterable[str], *texts: str | None) -> bool:
    """Every word is in one of the texts (case-folded substrings)."""
    hay = "\n".join(t.casefold() for t in texts if t)
    return all(w in hay for w in words)


def _approx(x: Fraction) -> str:
    """``x`` to 4 decimal places (half to even), for people; the fraction is exact."""
    n = round(x * 10_000)
    sign = "-" if n < 0 else ""
    whole, frac = divmod(abs(n), 10_000)
    return f"{sign}{whole}.{frac:04d}"


def _count(p: Proposal, c: Count) -> dict[str, Any]:
    return {
        "method": c.method, "agree": c.agree, "disagree": c.disagree, "block": c.block,
        "abstain": c.abstain, "outcome": c.outcome, "option": c.option,
        "option_name": None if c.option is None else p.options[c.option],
        "scores": [{"option": i, "name": p.options[i], "score": str(s),
                    "approx": _approx(s)} for i, s in enumerate(c.scores)],
        "positions": [i.hex() for i in c.positions],
    }


def _status(p: Proposal) -> str:
    return "open" if p.decision is None else p.decision.outcome


def _current(eco: Economy, p: Proposal) -> Count | None:
    """The count now: the decision's, or for an open proposal the count it would
    get under the policy in force now."""
    if p.decision is not None:
        return p.decision.count
    return tally(p, eco.gov.policy_at(p.body).method)


def _decision(p: Proposal, d: Decision, names: Mapping[bytes, str | None]
              ) -> dict[str, Any]:
    return {"id": d.id.hex(), **_who("by", d.by, names), "outcome": d.outcome,
            "summary": d.summary, "option": d.option,
            "option_name": None if d.option is None else p.options[d.option],
            "ts": d.ts, "differs": d.differs}


def _row(eco: Economy, names: Mapping[bytes, str | None], p: Proposal) -> dict[str, Any]:
    statuses = p.statuses()
    count = _current(eco, p)
    return {
        "id": p.id.hex(), "title": p.title, **_body(eco, names, p.body, p.federation),
        **_who("proposer", p.proposer, names), "ts": p.ts, "options": list(p.options),
        "cascade": None if p.cascade is None else p.cascade.hex(), "group": p.group,
        "amendments": len(p.amendments),
        "positions": sum(1 for s in statuses.values() if s == "counted"),
        "status": _status(p),
        "count": None if count is None else {"method": count.method,
                                             "outcome": count.outcome,
                                             "option": count.option},
        "decision": None if p.decision is None else p.decision.id.hex(),
    }


def resolve_proposal(eco: Economy, text: str) -> bytes:
    """A valid proposal by an id prefix (at least 8 hex characters)."""
    return PROPOSAL.resolve(eco, text, "proposal")


# -- views --------------------------------------------------------------------------------


def proposals(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The proposals of the bodies in scope, oldest first; ``open=true``: undecided only."""
    eco, names = economy(store), coop_names(store)
    scope = _scope(store, eco, args, me, coop_alone_is_body=True)
    open_only = args.value("open")
    rows = [_row(eco, names, p)
            for p in sorted(eco.gov.proposals.proposals.values(), key=lambda p: (p.ts, p.id))
            if scope.keeps(p.body, p.proposer) and not (open_only and p.decision)]
    return {"proposals": rows}


def proposal(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """One proposal in full; for an open one, ``count`` is what the policy in force now
    would count. ``refused`` lists entries naming it that the fold found invalid."""
    eco, names = economy(store), coop_names(store)
    p = eco.gov.proposals.proposals[args.value("proposal")]
    statuses = p.statuses()
    count = _current(eco, p)
    positions = [{
        "id": pos.id.hex(), **_who("coop", pos.by, names), "member": pos.member,
        "key": pos.author.hex(), "stance": pos.stance, "ranking": list(pos.ranking),
        "reason": pos.reason, "ts": pos.ts, "status": statuses[pos.id],
    } for pos in sorted(p.positions, key=lambda x: (x.ts, x.order))]
    refused = []
    for bad in sorted(eco.invalid.values(), key=lambda i: i.entry_id):
        if bad.kind not in ("position", "proposal.amend", "decision"):
            continue
        e = store.get(bad.entry_id)
        if e is not None and e.body.get("proposal") == p.id.hex():
            refused.append({"id": bad.entry_id.hex(), "kind": bad.kind,
                            **_who("key", bad.author, names), "code": bad.code,
                            "detail": bad.detail})
    flags = [{"code": f.code, "entry": f.entry.hex(), "detail": f.detail}
             for f in eco.gov.flags
             if p.decision is not None and f.entry == p.decision.id]
    return {
        **_row(eco, names, p), "text": p.text, "current_text": p.current_text,
        "amendments": [{"id": a.id.hex(), **_who("by", a.by, names), "ts": a.ts,
                        "group": a.group, "text": a.text} for a in p.amendments],
        "positions": positions, "count": None if count is None else _count(p, count),
        "decision": None if p.decision is None else _decision(p, p.decision, names),
        "flags": flags, "refused": refused,
    }


def decisions(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The decision archive of the bodies in scope, newest first, searchable."""
    eco, names = economy(store), coop_names(store)
    scope = _scope(store, eco, args, me, coop_alone_is_body=True)
    words = args.value("q")
    rows = []
    for p in eco.gov.proposals.proposals.values():
        d = p.decision
        if d is None or not scope.keeps(p.body, d.by):
            continue
        if not matches(words, p.title, d.summary, p.current_text):
            continue
        rows.append({"proposal": p.id.hex(), "title": p.title,
                     **_body(eco, names, p.body, p.federation),
                     **_decision(p, d, names),
                     "count": None if d.count is None else {
                         "method": d.count.method, "outcome": d.count.outcome,
                         "option": d.count.option}})
    rows.sort(key=lambda r: (-r["ts"], r["id"]))
    return {"q": args.get("q"), "decisions": rows}


def minutes(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The minutes of the bodies in scope, newest date first, searchable."""
    eco, names = economy(store), coop_names(store)
    scope = _scope(store, eco, args, me, coop_alone_is_body=True)
    words = args.value("q")
    rows = [{"id": mi.id.hex(), **_body(eco, names, mi.body, mi.federation),
             **_who("by", mi.by, names), "date": mi.date, "title": mi.title,
             "text": mi.text, "ts": mi.ts}
            for mi in eco.gov.proposals.minutes.values()
            if scope.keeps(mi.body, mi.by) and matches(words, mi.title, mi.text)]
    rows.sort(key=lambda r: (r["date"], r["ts"], r["id"]), reverse=True)
    return {"q": args.get("q"), "minutes": rows}


def resolve_cascade(eco: Economy, text: str) -> bytes:
    """A lottery in groups mode by an id prefix (at least 8 hex characters)."""
    return CASCADE.resolve(eco, text, "cascade")


def cascade(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """A cascade (a lottery in groups mode): its groups once drawn, each group's
    drafts with their amendments (and from which group), and whether the plenary may
    decide: a draft is ``decidable`` once it has an amendment from another group;
    ``ready`` when every group has a draft and every draft is decidable or decided."""
    eco, names = economy(store), coop_names(store)
    lot = eco.gov.lotteries.by_id[args.value("cascade")]
    drafts = eco.gov.proposals.drafts(lot.id)
    groups: list[dict[str, Any]] = []
    for i, people in enumerate(() if lot.draw is None else lot.draw.groups):
        mine = [p for p in drafts if p.group == i]
        groups.append({
            "group": i,
            "people": [{"name": c.name, **_who("coop", c.coop, names)} for c in people],
            "drafts": [{
                "id": p.id.hex(), "title": p.title, **_who("proposer", p.proposer, names),
                "ts": p.ts, "status": _status(p),
                "amendments": [{"id": a.id.hex(), **_who("by", a.by, names),
                                "group": a.group, "ts": a.ts} for a in p.amendments],
                "decidable": p.decision is None and bool(p.amendments),
            } for p in mine],
        })
    ready = bool(groups) and all(g["drafts"] for g in groups) and all(
        d["decidable"] or d["status"] != "open" for g in groups for d in g["drafts"])
    return {
        "cascade": lot.id.hex(), "purpose": lot.purpose,
        **_body(eco, names, lot.body, lot.body if lot.federation else None),
        **_who("announcer", lot.announcer, names),
        "beacons": {"needed": lot.terms.beacons, "counted": len(lot.counted)},
        "drawn": lot.draw is not None, "people": len(lot.terms.pool),
        "groups": groups, "drafts": len(drafts),
        "amended": sum(1 for p in drafts if p.amendments),
        "decided": sum(1 for p in drafts if p.decision is not None), "ready": ready,
    }


_BODY = (Param("coop", COOP, "a co-op (name or key prefix): its own assembly; with "
               "federation, what it put there"),
         Param("federation", FEDERATION, "a federation (name or id prefix)"))

VIEWS: dict[str, View] = {
    "proposals": View("/v1/proposals", proposals, "Proposals of a co-op's assembly or a "
                      "federation, with their status and count.",
                      (*_BODY, Param("open", FLAG, "true: undecided proposals only"))),
    "proposal": View("/v1/proposals/{proposal}", proposal, "One proposal: text, "
                     "amendments, positions, the count under the method, the decision.",
                     (Param("proposal", PROPOSAL, "proposal"),)),
    "decisions": View("/v1/decisions", decisions, "The decision archive, newest first, "
                      "searchable.",
                      (*_BODY, Param("q", SEARCH, "search words: all must appear in the "
                                     "title, summary or text (case-folded)"))),
    "minutes": View("/v1/minutes", minutes, "Minutes of a co-op's assembly or a "
                    "federation, newest first, searchable.",
                    (*_BODY, Param("q", SEARCH, "search words: all must appear in the "
                                   "title or text (case-folded)"))),
    "cascade": View("/v1/cascades/{cascade}", cascade, "A cascade: its groups, their "
                    "drafts, amendments across groups, whether the plenary may decide.",
                    (Param("cascade", CASCADE, "cascade"),)),
}
