"""The mandates area: mandates and recall, roles with terms (SPEC §13.4, §13.5).

Authority in a co-op is lent, never owned. A **mandate** (``mandate.issue``) lends a
named delegate, and optionally a delegate key of the co-op, the power to do a written
list of things (vote, propose, allocate, transfer up to an amount, surplus, lottery
beacons) for a fixed term; the issuer can renew it, recall it at any moment, hear the
delegate's report and give its verdict. A **role** (``role.assign``) records who holds
a named office (treasurer, facilitator…) from when until when; it dissolves at the end
of its term unless renewed. Roles grant no power in the fold; mandates do.

The rules, in the order the walk applies them (the normative text is SPEC §13.4):

Rule 1 (recall wins, everywhere). Whether an action under a mandate is valid must not
depend on where the recall lands on the timeline: "any action under the mandate
timestamped after the recall is invalid on every node". So before the timeline is
walked, the area's pre-pass (``_prepare``) collects, from the WHOLE set, every
``mandate.recall`` and ``mandate.renew`` with the identity it acts for. When the
``mandate.issue`` itself is judged (always before anything that refs it), its recall
time and its chain of renewals are settled once and for all from those candidates,
and every action and every recall or renewal entry is judged against that settled
record, whatever its own place on the timeline.

Rule 2 (time). An action ``e`` by the delegate key is inside the mandate's time when
``start <= e.ts < expires_at(e.ts)`` and not ``recall_ts < e.ts``. "After the recall"
means a strictly greater ts: an action stamped in the same millisecond as the recall
counts as before it. ``expires_at(t)`` is the issued expiry as extended by the valid
renewals stamped at or before ``t``.

Rule 3 (renewals). Taken in (ts, id) order, a renewal by the issuer is valid when it is
stamped before the expiry in force (``mandate-expired``), not after the recall
(``mandate-recalled``), moves the expiry later (``expires-not-later``), and its new
term, ``expires - renewal ts``, is at most the ``max_mandate_days`` of the policy that
was in force when the mandate was issued (``term-too-long``): a mandate is granted, and
renewed, under the rules it was issued under.

Rule 4 (recalls). Of the recalls by the issuer, the one with the smallest (ts, id) is
the recall; any other is ``already-recalled``. Both are decided from the whole set.

Worked example (the recall race of issue 5): the Garden co-op (A) gives Ana's key D a
mandate to offer transfers, then recalls it at ts 500 on its own node while D, cut
off, offers at ts 400 and at ts 600. Whichever node merges these in whichever order,
the offer at 400 is valid and the offer at 600 is ``mandate-recalled``.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from .._decimal import DecimalFormatError, Quantity
from .._entry import Entry
from .._kinds import MANDATE_ACTIONS
from ._area import Area, Handler, Machine, body_of
from ._judge import Body, Reject, short
from ._mandates_state import Action, Assignment, Claim, Mandate, Mandates, Renewal

# Reason codes this module adds (SPEC §13.4, §13.5).
REASON_CODES = frozenset((
    "not-mandated", "mandate-expired", "mandate-recalled", "mandate-not-started",
    "outside-mandate", "not-the-issuer", "term-too-long", "not-a-mandate",
    "already-recalled", "not-a-delegate-key", "expires-not-later", "too-early",
    "not-an-assignment", "role-ended",
))
FLAG_CODES = ("term-limit",)
DAY_MS = 86_400_000

# What each action of a mandate (MANDATE_ACTIONS) lets a delegate key write is
# declared by the area of each kind (``Area.actions``; ``Machine.action_of``).
# Powers that cannot speak for the issuer: a delegate key acts only through a mandate,
# a recovery key only on keys (SPEC §13.2).
_NOT_ISSUER_POWERS = ("delegate", "recovery")


# --------------------------------------------------------------------- the pre-pass

def _prepare(m: Machine, entries: Sequence[Entry]) -> None:
    """Pre-pass over the whole set: every renewal and recall, by the mandate it
    names, with the identity it acts for (Rule 1)."""
    mandates, ids = m.gov.mandates, m.gov.ids
    mandates.renews.clear()
    mandates.recalls.clear()
    seen: set[bytes] = set()
    for e in sorted(entries, key=lambda e: e.id):
        if e.kind not in ("mandate.renew", "mandate.recall") or e.id in seen:
            continue
        seen.add(e.id)
        try:
            mandate = Body(e).ref("mandate")
            identity, power = ids.acting(e)
        except Reject:
            continue  # the walk rejects it on the timeline with the same code
        who = None if power in _NOT_ISSUER_POWERS else identity
        if e.kind == "mandate.renew":
            expires = e.body.get("expires")
            if type(expires) is not int:
                continue
            mandates.renews.setdefault(mandate, []).append(Claim(e, who, expires))
        else:
            mandates.recalls.setdefault(mandate, []).append(Claim(e, who))


def _settle(mandates: Mandates, md: Mandate, max_days: int) -> None:
    """Rules 3 and 4 for ``md``, from the candidates of the whole set."""
    mine = sorted((c for c in mandates.recalls.get(md.id, ()) if c.identity == md.issuer),
                  key=lambda c: (c.entry.ts, c.entry.id))
    if mine:
        md.recall, md.recalled = mine[0].entry.id, mine[0].entry.ts
        for c in mine[1:]:
            mandates.settled[c.entry.id] = (
                "already-recalled", f"mandate {short(md.id)} was recalled by "
                f"{short(md.recall)}, stamped earlier")
    expires = md.expires
    for c in sorted((c for c in mandates.renews.get(md.id, ()) if c.identity == md.issuer),
                    key=lambda c: (c.entry.ts, c.entry.id)):
        ts, new = c.entry.ts, cast(int, c.expires)
        reason: tuple[str, str] | None = None
        if md.recalled is not None and ts > md.recalled:
            reason = ("mandate-recalled", "the renewal is stamped after the recall")
        elif ts >= expires:
            reason = ("mandate-expired", "the renewal is stamped at or after the "
                      "expiry in force")
        elif new <= expires:
            reason = ("expires-not-later", "a renewal must move the expiry later")
        elif new - ts > max_days * DAY_MS:
            reason = ("term-too-long", f"the renewed term is longer than "
                      f"{max_days} days (the policy the mandate was issued under)")
        if reason is None:
            md.renewals.append(Renewal(c.entry.id, ts, new))
            expires = new
        else:
            mandates.settled[c.entry.id] = reason


# --------------------------------------------------------------------- delegate keys

def _ref(b: Body, key: str) -> bytes | None:
    try:
        return b.ref(key)
    except Reject:
        return None


def _why_not(m: Machine, md: Mandate, a: Action, e: Entry, b: Body) -> str | None:
    """None when action ``a`` of ``md`` allows ``e``; else why not (one phrase)."""
    if m.action_of(e.kind) != a.do:
        return f"it allows no {e.kind}"
    if md.federation is not None:
        where = m.where(e, b)
        if where is not None and where != md.federation:
            return f"it is for federation {short(md.federation)} only"
    if a.proposal is not None and _ref(b, "proposal") != a.proposal:
        return f"its vote is on proposal {short(a.proposal)} only"
    if e.kind == "transfer.offer" and a.unit is not None and a.max is not None:
        if "items" in b.body:
            return "it allows offers of an amount only, not of items"
        unit, amount = b.body.get("unit"), b.body.get("amount")
        if unit != a.unit or not isinstance(amount, str):
            return f"it allows offers in {a.unit} only"
        try:
            q = Quantity.parse(amount)
        except DecimalFormatError:
            return "the amount is not a decimal"
        if q > a.max:
            return f"it allows offers of at most {a.max} {a.unit}"
    return None


def authorize_delegate(m: Machine, e: Entry, identity: bytes) -> None:
    """Let an entry by a delegate key of ``identity`` through, or raise Reject.

    The entry must ref a valid mandate of ``identity`` whose ``key`` is its author
    (``not-mandated``); a report on that mandate is always allowed; anything else must
    be inside the mandate's time (Rule 2: ``mandate-recalled``,
    ``mandate-not-started``, ``mandate-expired``) and allowed by one of its actions
    (``outside-mandate``). When it refs several such mandates, one that allows it is
    enough; otherwise the first one in refs order gives the reason."""
    mandates = m.gov.mandates.by_id
    mine = [mandates[r] for r in e.refs
            if r in mandates and mandates[r].issuer == identity
            and mandates[r].key == e.author]
    if not mine:
        raise Reject("not-mandated", f"key {short(e.author)} is a delegate key and the "
                     "entry refs no mandate given to it")
    b = Body(e)
    if e.kind == "mandate.report" and _ref(b, "mandate") in {md.id for md in mine}:
        return
    first: Reject | None = None
    for md in mine:
        why = _judge_action(m, md, e, b)
        if why is None:
            return
        first = first or why
    assert first is not None
    raise first


def _judge_action(m: Machine, md: Mandate, e: Entry, b: Body) -> Reject | None:
    m_ = short(md.id)
    if md.recalled is not None and e.ts > md.recalled:
        return Reject("mandate-recalled", f"mandate {m_} was recalled before this entry "
                      "was stamped")
    if e.ts < md.start:
        return Reject("mandate-not-started", f"mandate {m_} starts after this entry was "
                      "stamped")
    if e.ts >= md.expires_at(e.ts):
        return Reject("mandate-expired", f"mandate {m_} had expired when this entry was "
                      "stamped")
    reasons = [_why_not(m, md, a, e, b) for a in md.actions]
    if any(r is None for r in reasons):
        return None
    matching = [r for a, r in zip(md.actions, reasons, strict=True)
                if m.action_of(e.kind) == a.do]
    why = matching[0] if matching else f"it allows no {e.kind}"
    return Reject("outside-mandate", f"mandate {m_} does not allow this entry: {why}")


# -------------------------------------------------------------------------- handlers

def _actions(b: Body) -> tuple[Action, ...]:
    raw = b.body.get("actions")
    if not isinstance(raw, list):
        raise b._bad("actions", "an array of actions")
    out = []
    for v in raw:
        if not isinstance(v, Mapping):
            raise b._bad("actions", "an array of action maps")
        a = cast(Mapping[str, Any], v)
        do, proposal, unit, cap = a.get("do"), a.get("proposal"), a.get("unit"), a.get("max")
        if do not in MANDATE_ACTIONS:
            raise b._bad("actions", "an array of known actions")
        try:
            raw_p = None if proposal is None else bytes.fromhex(str(proposal))
            q = None if cap is None else Quantity.parse(str(cap))
        except (ValueError, DecimalFormatError) as exc:
            raise b._bad("actions", "an array of valid actions") from exc
        out.append(Action(str(do), raw_p, None if unit is None else str(unit), q))
    return tuple(out)


def _term_limit(m: Machine, e: Entry, runs: int, limit: int, what: str) -> None:
    if limit and runs > limit:
        m.gov.flag("term-limit", e, f"{what}: {runs} consecutive terms, the policy "
                   f"allows {limit}")


def _count_term(m: Machine, e: Entry, md: Mandate, limit: int) -> int:
    seq = m.gov.mandates.terms.setdefault(
        (md.issuer, md.body, md.title.casefold()), [])
    who = md.delegate.casefold()
    seq.append(who)
    runs = 0
    for d in reversed(seq):
        if d != who:
            break
        runs += 1
    _term_limit(m, e, runs, limit, f"delegate of mandate {md.title!r}")
    return runs


def _issue(m: Machine, e: Entry, b: Body) -> None:
    body = body_of(m, b)
    federation = body if "federation" in b.body else None
    title, delegate = b.text("title"), b.text("delegate")
    scope, sunset = b.text("scope"), b.text("sunset")
    start, expires = b.int("start"), b.int("expires")
    if start >= expires:
        raise b._bad("expires", "later than start")
    actions = _actions(b)
    key = b.coop("key") if "key" in b.body else None
    if key is not None and m.gov.ids.power_at(key, m.actor, start) != "delegate":
        raise Reject("not-a-delegate-key", f"key {short(key)} is not a delegate key of "
                     "the issuing co-op at the mandate's start")
    policy = m.gov.policy_at(body, m.eff)
    if expires - start > policy.max_mandate_days * DAY_MS:
        raise Reject("term-too-long", f"the mandate runs longer than "
                     f"{policy.max_mandate_days} days, the body's maximum term")
    md = Mandate(e.id, m.actor, body, federation, title, delegate, key, scope, actions,
                 start, expires, sunset, e.ts, max_days=policy.max_mandate_days)
    _settle(m.gov.mandates, md, policy.max_mandate_days)
    md.term = _count_term(m, e, md, policy.max_consecutive_terms)
    m.gov.mandates.by_id[e.id] = md


def _mandate(m: Machine, b: Body, *, issuer_only: bool = True) -> Mandate:
    mid = b.ref("mandate")
    md = m.gov.mandates.by_id.get(mid)
    if md is None:
        raise Reject("not-a-mandate", f"entry {short(mid)} is not a valid mandate.issue")
    if issuer_only and m.actor != md.issuer:
        raise Reject("not-the-issuer", f"only the issuing co-op {short(md.issuer)} may "
                     "do this")
    return md


def _settled(m: Machine, e: Entry) -> None:
    reason = m.gov.mandates.settled.get(e.id)
    if reason is not None:
        raise Reject(*reason)


def _renew(m: Machine, e: Entry, b: Body) -> None:
    md = _mandate(m, b)
    _settled(m, e)
    policy = m.gov.policy_at(md.body, m.eff)
    md.term = _count_term(m, e, md, policy.max_consecutive_terms)


def _recall(m: Machine, e: Entry, b: Body) -> None:
    _mandate(m, b)
    _settled(m, e)


def _report(m: Machine, e: Entry, b: Body) -> None:
    # A delegate key's report got here through authorize_delegate, acting for the
    # issuer; any other key must act for the issuer too.
    md = _mandate(m, b)
    md.reports.append(e.id)


def _verdict(m: Machine, e: Entry, b: Body) -> None:
    md = _mandate(m, b)
    if not md.reports and md.status_at(e.ts) in ("active", "pending"):
        raise Reject("too-early", "a verdict comes after a report, or once the mandate "
                     "has expired or been recalled")
    md.verdict = (e.id, b.text("verdict"))


# ----------------------------------------------------------------------------- roles

def _role_body_check(m: Machine, a: Assignment) -> None:
    """role.renew and role.end are by the body: the co-op itself, or (federation)
    any member now."""
    if a.federation is None:
        if m.actor != a.body:
            raise Reject("not-the-body", f"only co-op {short(a.body)} may change this role")
        return
    fed = m.econ.federations.get(a.federation)
    if fed is None or not fed.is_member(m.actor):
        raise Reject("not-the-body", f"only a member of federation {short(a.body)} may "
                     "change this role")


def _role_run(m: Machine, e: Entry, a: Assignment, chained: bool, end: int) -> int:
    k = (a.body, a.role.casefold(), a.holder.casefold())
    runs, last_end = m.gov.roles.runs.get(k, (0, -1))
    runs = runs + 1 if chained or (runs and a.start <= last_end) else 1
    m.gov.roles.runs[k] = (runs, end)
    limit = m.gov.policy_at(a.body, m.eff).max_consecutive_terms
    _term_limit(m, e, runs, limit, f"holder of role {a.role!r}")
    return runs


def _assign(m: Machine, e: Entry, b: Body) -> None:
    body = body_of(m, b)
    federation = body if "federation" in b.body else None
    role, holder = b.text("role"), b.text("holder")
    start, until = b.int("from"), b.int("until")
    if start >= until:
        raise b._bad("until", "later than from")
    key = b.coop("key") if "key" in b.body else None
    max_days = m.gov.policy_at(body, m.eff).max_mandate_days
    if until - start > max_days * DAY_MS:
        raise Reject("term-too-long", f"the term runs longer than {max_days} days, the "
                     "body's maximum term")
    a = Assignment(e.id, body, federation, role, holder, key, start, until, m.actor)
    a.term = _role_run(m, e, a, False, until)
    m.gov.roles.by_id[e.id] = a


def _assignment(m: Machine, e: Entry, b: Body) -> Assignment:
    aid = b.ref("assignment")
    a = m.gov.roles.by_id.get(aid)
    if a is None:
        raise Reject("not-an-assignment", f"entry {short(aid)} is not a valid role.assign")
    _role_body_check(m, a)
    if a.ended is not None:
        raise Reject("role-ended", "the role was already ended")
    if e.ts >= a.until_at(e.ts):
        raise Reject("role-ended", "the term had already ended when this was stamped")
    return a


def _role_renew(m: Machine, e: Entry, b: Body) -> None:
    a = _assignment(m, e, b)
    until = b.int("until")
    if until <= a.until_at(e.ts):
        raise Reject("expires-not-later", "a renewal must move the end of the term later")
    max_days = m.gov.policy_at(a.body, m.eff).max_mandate_days
    if until - e.ts > max_days * DAY_MS:
        raise Reject("term-too-long", f"the renewed term is longer than {max_days} days, "
                     "the body's maximum term")
    a.renewals.append(Renewal(e.id, e.ts, until))
    a.term = _role_run(m, e, a, True, until)


def _role_end(m: Machine, e: Entry, b: Body) -> None:
    a = _assignment(m, e, b)
    a.ended = (e.id, e.ts)
    k = (a.body, a.role.casefold(), a.holder.casefold())
    runs, _ = m.gov.roles.runs.get(k, (1, e.ts))
    m.gov.roles.runs[k] = (runs, e.ts)


HANDLERS: dict[str, Handler] = {
    "mandate.issue": _issue,
    "mandate.renew": _renew,
    "mandate.recall": _recall,
    "mandate.report": _report,
    "mandate.verdict": _verdict,
    "role.assign": _assign,
    "role.renew": _role_renew,
    "role.end": _role_end,
}


AREA = Area(
    name="mandates",
    kinds=frozenset(HANDLERS),
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    flag_codes=FLAG_CODES,
    prepare=_prepare,
)
