"""The audit area: audit and misconduct on the commons' timeline (SPEC §14.3–§14.5): witnesses'
cosignatures of checkpoints, audit circles and their reports, complaints, findings and
sanctions.

What each kind means, and the rules the walk applies to it (in the order checked;
the normative text is SPEC §14.3–§14.5):

``checkpoint.cosign`` {checkpoint, entry}: a witness co-op signs that it saw the
checkpoint embedded in ``entry`` (the log author's own signed entry). The witness is
not the log's own co-op (``own-log``); a witness never goes back on a log: a cosign
of a smaller size than the last one it cosigned for that log is ``cosign-older``.

``audit.circle`` {federation, coop, period, lottery}: a member of the federation names
the lottery that draws the co-ops auditing ``coop`` for a quarter. The audited co-op is
a member (``not-a-member``); the lottery is a valid announcement (``not-a-lottery``) of
this federation (``wrong-lottery``) whose candidates (after ``exclude``) include nobody
of the audited co-op (``audited-in-pool``), not drawn yet at this point of the timeline
(``lottery-drawn``: a result already known cannot be chosen) and named by no other
circle (``lottery-used``). One circle per (federation, co-op, quarter): a later one is
``circle-exists``.

``audit.report`` {circle, checkpoint, checks, findings?, summary}: by a co-op drawn in
the circle's lottery, once it is drawn (``not-a-circle``, ``not-drawn``), about a
checkpoint of the audited co-op's log — any of its keys — that this set holds, either
as the checkpoint entry itself or embedded in a cosign (``not-a-checkpoint``); one per
drawn co-op and circle (``already-reported``).

``complaint`` {federation, against, text}: a member about another member
(``against-self``, ``not-a-member``). ``finding`` {federation, about, text,
complaint?, circle?}: public; by a member about another co-op that is or was a member;
a complaint it answers is one against ``about`` in that federation
(``not-a-complaint``); a circle it comes from audits ``about`` in that federation
(``wrong-circle``) and its author was drawn in it (``not-drawn``). ``sanction``
{federation, against, finding, measure, expires}: by a member other than ``against``,
on a finding about ``against`` in that federation (``not-a-finding``), expiring after
the entry's ts and at most 365 days after it (``expires-out-of-range``). A sanction is
in force from its ts until ``expires`` (an as-of question: views take the time).

Co-ops are identities (SPEC §13.2): a key named in a body stands for its co-op.

Which checkpoints a report may name is decided before the walk, from the whole set
(the area's pre-pass, ``Audits.prepare``), so it does not depend on where the report
lands on the timeline.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from .._entry import Entry
from .._kinds import AUDIT_KINDS
from ._area import Area, Handler, Machine
from ._audit_state import (
    Check,
    Circle,
    Complaint,
    Cosign,
    Finding,
    Report,
    Sanction,
    drawn_coops,
    embedded_checkpoint,
)
from ._economy_state import Federation
from ._judge import Body, Reject, short

REASON_CODES = frozenset((
    "own-log", "cosign-older", "not-a-lottery", "wrong-lottery", "audited-in-pool",
    "lottery-drawn", "lottery-used", "circle-exists", "not-a-circle", "not-drawn",
    "not-a-checkpoint", "already-reported", "against-self", "not-a-complaint",
    "wrong-circle", "not-a-finding", "expires-out-of-range",
))
FLAG_CODES: tuple[str, ...] = ()
DAY_MS = 86_400_000
MAX_SANCTION_DAYS = 365        # proportionate: every sanction ends within a year


# ------------------------------------------------------------------------- handlers

def _optional_ref(b: Body, key: str) -> bytes | None:
    return b.ref(key) if key in b.body else None


def _fed(m: Machine, b: Body) -> Federation:
    """The federation the entry speaks in, its author a member of it now."""
    fed = m.federation(b)
    m.member(fed, m.actor, "the co-op")
    return fed


def _cosign(m: Machine, e: Entry, b: Body) -> None:
    b.ref("checkpoint")
    cp = embedded_checkpoint(e)
    if cp is None:
        raise Reject("malformed", "field 'entry' is not the checkpoint entry named by "
                     "field 'checkpoint'")
    audit = m.gov.audit
    if m.gov.ids.identity_of(cp.log) == m.actor:
        raise Reject("own-log", "a co-op does not witness its own log: the witness must "
                     "be another co-op")
    last = audit.cosigned.get((m.actor, cp.log))
    if last is not None and cp.size < last:
        raise Reject("cosign-older", f"this witness already cosigned size {last} of log "
                     f"{short(cp.log)}; a witness never goes back to size {cp.size}")
    audit.cosigned[(m.actor, cp.log)] = max(cp.size, last or 0)
    audit.cosigns[e.id] = Cosign(e.id, m.actor, e.author, cp, m.eff, e.ts)


def _circle(m: Machine, e: Entry, b: Body) -> None:
    fed = _fed(m, b)
    coop = m.gov.ids.identity_of(b.coop("coop"))
    m.member(fed, coop, "the audited co-op")
    period = b.text("period")
    lid = b.ref("lottery")
    lot = m.gov.lotteries.get(lid)
    audit = m.gov.audit
    if lot is None:
        raise Reject("not-a-lottery", f"entry {short(lid)} is not a valid lottery.announce")
    if not lot.federation or lot.body != fed.id:
        raise Reject("wrong-lottery", f"lottery {short(lid)} is not a lottery of "
                     f"federation {short(fed.id)}")
    # ``exclude`` removes candidates by the exact key they are listed under (§13.6).
    for c in lot.terms.pool:
        if c.coop not in lot.terms.exclude and m.gov.ids.identity_of(c.coop) == coop:
            raise Reject("audited-in-pool", f"lottery {short(lid)} could draw someone of "
                         f"the audited co-op {short(coop)}")
    if lot.draw is not None:
        raise Reject("lottery-drawn", f"lottery {short(lid)} was already drawn: a circle "
                     "names a lottery before its result is known")
    if any(c.lottery == lid for c in audit.circles.values()):
        raise Reject("lottery-used", f"lottery {short(lid)} already draws another circle")
    key = (fed.id, coop, period)
    if key in audit.circle_of:
        raise Reject("circle-exists", f"co-op {short(coop)} already has an audit circle "
                     f"for {period} in federation {short(fed.id)}: "
                     f"{short(audit.circle_of[key])}")
    note = b.body.get("note")
    audit.circles[e.id] = Circle(e.id, fed.id, coop, period, lid, m.actor, e.author,
                                 m.eff, e.ts, note if isinstance(note, str) else None)
    audit.circle_of[key] = e.id


def _circle_of(m: Machine, cid: bytes) -> Circle:
    circle = m.gov.audit.circles.get(cid)
    if circle is None:
        raise Reject("not-a-circle", f"entry {short(cid)} is not a valid audit.circle")
    return circle


def _drawn_in(m: Machine, circle: Circle) -> None:
    if m.gov.lotteries.drawn(circle.lottery) is None:
        raise Reject("not-drawn", f"the lottery of circle {short(circle.id)} is not drawn "
                     "yet: nobody is in the circle")
    if m.actor not in drawn_coops(m.gov.lotteries, m.gov.ids, circle):
        raise Reject("not-drawn", f"co-op {short(m.actor)} was not drawn in circle "
                     f"{short(circle.id)}")


def _checks(b: Body) -> tuple[Check, ...]:
    raw = b.body.get("checks")
    out: list[Check] = []
    for item in raw if isinstance(raw, list) else [None]:
        if not isinstance(item, dict):
            raise Reject("malformed", "field 'checks' is not a list of checks")
        name, ok, detail = item.get("name"), item.get("ok"), item.get("detail")
        if not isinstance(name, str) or not isinstance(ok, bool) or not (
                detail is None or isinstance(detail, str)):
            raise Reject("malformed", "field 'checks' is not a list of checks")
        out.append(Check(name, ok, detail))
    return tuple(out)


def _texts(b: Body, key: str) -> tuple[str, ...]:
    raw = b.body.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise Reject("malformed", f"field {key!r} is not a list of texts")
    return tuple(cast(list[str], raw))


def _report(m: Machine, e: Entry, b: Body) -> None:
    circle = _circle_of(m, b.ref("circle"))
    _drawn_in(m, circle)
    cpid = b.ref("checkpoint")
    audit = m.gov.audit
    cp = audit.checkpoints.get(cpid)
    if cp is None:
        raise Reject("not-a-checkpoint", f"entry {short(cpid)} is not a checkpoint held "
                     "here (neither the entry nor a cosign of it)")
    if m.gov.ids.identity_of(cp.log) != circle.coop:
        raise Reject("not-a-checkpoint", f"checkpoint {short(cpid)} is of another log "
                     f"than the audited co-op {short(circle.coop)}'s")
    if any(r.circle == circle.id and r.auditor == m.actor for r in audit.reports.values()):
        raise Reject("already-reported", f"co-op {short(m.actor)} already reported for "
                     f"circle {short(circle.id)}")
    audit.reports[e.id] = Report(e.id, circle.id, m.actor, e.author, cp, _checks(b),
                                 _texts(b, "findings"), b.text("summary"), m.eff, e.ts)


def _complaint(m: Machine, e: Entry, b: Body) -> None:
    fed = _fed(m, b)
    against = m.gov.ids.identity_of(b.coop("against"))
    if against == m.actor:
        raise Reject("against-self", "a co-op does not file a complaint against itself")
    m.member(fed, against, "the co-op complained against")
    m.gov.audit.complaints[e.id] = Complaint(e.id, fed.id, m.actor, against,
                                             b.text("text"), m.eff, e.ts)


def _finding(m: Machine, e: Entry, b: Body) -> None:
    fed = _fed(m, b)
    about = m.gov.ids.identity_of(b.coop("about"))
    if about == m.actor:
        raise Reject("against-self", "a finding is made by another co-op than the one "
                     "it is about")
    if about not in fed.members:
        raise Reject("not-a-member", f"co-op {short(about)} never was a member of "
                     f"federation {short(fed.id)}")
    audit = m.gov.audit
    cid = _optional_ref(b, "complaint")
    if cid is not None:
        c = audit.complaints.get(cid)
        if c is None or c.federation != fed.id or c.against != about:
            raise Reject("not-a-complaint", f"entry {short(cid)} is not a complaint "
                         f"against co-op {short(about)} in federation {short(fed.id)}")
    circle_id = _optional_ref(b, "circle")
    if circle_id is not None:
        circle = _circle_of(m, circle_id)
        if circle.coop != about or circle.federation != fed.id:
            raise Reject("wrong-circle", f"circle {short(circle_id)} does not audit co-op "
                         f"{short(about)} in federation {short(fed.id)}")
        _drawn_in(m, circle)
    audit.findings[e.id] = Finding(e.id, fed.id, m.actor, about, b.text("text"), cid,
                                   circle_id, m.eff, e.ts)


def _sanction(m: Machine, e: Entry, b: Body) -> None:
    fed = _fed(m, b)
    against = m.gov.ids.identity_of(b.coop("against"))
    if against == m.actor:
        raise Reject("against-self", "a co-op does not sanction itself")
    fid = b.ref("finding")
    f = m.gov.audit.findings.get(fid)
    if f is None or f.federation != fed.id or f.about != against:
        raise Reject("not-a-finding", f"entry {short(fid)} is not a finding about co-op "
                     f"{short(against)} in federation {short(fed.id)}")
    expires = b.int("expires")
    if not e.ts < expires <= e.ts + MAX_SANCTION_DAYS * DAY_MS:
        raise Reject("expires-out-of-range", "a sanction expires after it is written and "
                     f"at most {MAX_SANCTION_DAYS} days after")
    note = b.body.get("note")
    m.gov.audit.sanctions[e.id] = Sanction(
        e.id, fed.id, m.actor, against, fid, b.text("measure"), expires,
        note if isinstance(note, str) else None, m.eff, e.ts)


HANDLERS: dict[str, Handler] = {
    "checkpoint.cosign": _cosign,
    "audit.circle": _circle,
    "audit.report": _report,
    "complaint": _complaint,
    "finding": _finding,
    "sanction": _sanction,
}


def _prepare(m: Machine, entries: Sequence[Entry]) -> None:
    """Whether the audit value is shown, and the checkpoints a report may name."""
    audit = m.gov.audit
    audit.seen = any(e.kind in AUDIT_KINDS for e in entries)
    audit.prepare(entries)


AREA = Area(
    name="audit",
    kinds=frozenset(HANDLERS),
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    flag_codes=FLAG_CODES,
    prepare=_prepare,
)
