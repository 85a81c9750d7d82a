"""Audit and misconduct on the commons' timeline (SPEC §14.3–§14.5): witnesses'
cosignatures of checkpoints, audit circles and their reports, complaints, findings and
sanctions.

What each kind means, and the rules the machine applies to it (in the order checked;
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
(``Audits.prepare``), so it does not depend on where the report lands on the timeline.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from ._codec import Value
from ._entry import Entry, decode_entry
from ._errors import ValidationError
from ._judge import Body, Reject, short
from ._kinds import CHECKPOINT_KIND

if TYPE_CHECKING:
    from ._economy import Federation, _Machine
    from ._identity import Identities
    from ._lottery import Lotteries

REASON_CODES = frozenset((
    "own-log", "cosign-older", "not-a-lottery", "wrong-lottery", "audited-in-pool",
    "lottery-drawn", "lottery-used", "circle-exists", "not-a-circle", "not-drawn",
    "not-a-checkpoint", "already-reported", "against-self", "not-a-complaint",
    "wrong-circle", "not-a-finding", "expires-out-of-range",
))
FLAG_CODES: tuple[str, ...] = ()
DAY_MS = 86_400_000
MAX_SANCTION_DAYS = 365        # proportionate: every sanction ends within a year
_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)


# ------------------------------------------------------------------------- quarters

def quarter_of_month(month: str) -> str:
    """The quarter (``YYYY-Qn``) a month (``YYYY-MM``) is in. ValueError otherwise."""
    m = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if m is None:
        raise ValueError("expected a month YYYY-MM")
    return f"{m.group(1)}-Q{(int(m.group(2)) - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str | None:
    """The quarter before ``quarter`` (None before 0001-Q1). ValueError if not one."""
    m = _QUARTER.fullmatch(quarter) if isinstance(quarter, str) else None
    if m is None:
        raise ValueError("expected a quarter YYYY-Qn")
    year, n = int(m.group(1)), int(m.group(2))
    if n > 1:
        return f"{year:04d}-Q{n - 1}"
    return None if year <= 1 else f"{year - 1:04d}-Q4"


def recent_quarters(month: str) -> tuple[str, ...]:
    """The quarter of ``month`` and the one before: the audits that count for it."""
    q = quarter_of_month(month)
    prev = previous_quarter(q)
    return (q,) if prev is None else (q, prev)


# --------------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint entry (SPEC §14.1): its log (the key that wrote it) had ``size``
    entries before it, with Merkle root ``root``."""

    id: bytes
    log: bytes          # the author key: one key, one log
    seq: int
    size: int
    root: bytes
    ts: int

    @classmethod
    def of(cls, e: Entry) -> Checkpoint | None:
        size, root = e.body.get("size"), e.body.get("root")
        if e.kind != CHECKPOINT_KIND or type(size) is not int or not isinstance(root, str):
            return None
        try:
            raw = bytes.fromhex(root)
        except ValueError:
            return None
        return cls(e.id, e.author, e.seq, size, raw, e.ts) if len(raw) == 32 else None


@dataclass(frozen=True, slots=True)
class Cosign:
    """A witness's cosignature of one checkpoint."""

    id: bytes
    witness: bytes      # the co-op (identity) that cosigned
    key: bytes          # the key it signed with
    checkpoint: Checkpoint
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        cp = self.checkpoint
        return [cp.log.hex(), self.witness.hex(), cp.size, cp.root.hex(), cp.id.hex(),
                self.id.hex(), self.ts]


@dataclass(frozen=True, slots=True)
class Circle:
    id: bytes
    federation: bytes
    coop: bytes         # the audited co-op (identity)
    period: str         # YYYY-Qn
    lottery: bytes
    author: bytes       # the co-op (identity) that wrote it
    key: bytes
    eff: int
    ts: int
    note: str | None

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.coop.hex(), self.period,
                self.lottery.hex(), self.author.hex()]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class Report:
    id: bytes
    circle: bytes
    auditor: bytes      # the drawn co-op (identity) that signed it
    key: bytes
    checkpoint: Checkpoint
    checks: tuple[Check, ...]
    findings: tuple[str, ...]
    summary: str
    eff: int
    ts: int

    @property
    def passed(self) -> bool:
        """Every automated check passed (ok true)."""
        return all(c.ok for c in self.checks)

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.circle.hex(), self.auditor.hex(),
                self.checkpoint.id.hex(), self.passed]


@dataclass(frozen=True, slots=True)
class Complaint:
    id: bytes
    federation: bytes
    by: bytes
    against: bytes
    text: str
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.against.hex()]


@dataclass(frozen=True, slots=True)
class Finding:
    id: bytes
    federation: bytes
    by: bytes
    about: bytes
    text: str
    complaint: bytes | None
    circle: bytes | None
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.about.hex(),
                None if self.complaint is None else self.complaint.hex(),
                None if self.circle is None else self.circle.hex()]


@dataclass(frozen=True, slots=True)
class Sanction:
    id: bytes
    federation: bytes
    by: bytes
    against: bytes
    finding: bytes
    measure: str
    expires: int
    note: str | None
    eff: int
    ts: int

    def in_force(self, at: int) -> bool:
        """In force at ``at`` (ms): from its ts until (not including) ``expires``."""
        return self.ts <= at < self.expires

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.against.hex(),
                self.finding.hex(), self.expires]


# ---------------------------------------------------------------------------- state

@dataclass(slots=True)
class Audits:
    """What the audit kinds derive (``Economy.gov.audit``); dicts in timeline order."""

    seen: bool = False  # an entry of an audit kind applied (the value is shown only then)
    # checkpoints a report may name: every one the set holds, whole or inside a cosign
    checkpoints: dict[bytes, Checkpoint] = field(default_factory=dict)
    cosigns: dict[bytes, Cosign] = field(default_factory=dict)
    # (witness, log) -> the largest size it cosigned for that log
    cosigned: dict[tuple[bytes, bytes], int] = field(default_factory=dict)
    circles: dict[bytes, Circle] = field(default_factory=dict)
    circle_of: dict[tuple[bytes, bytes, str], bytes] = field(default_factory=dict)
    reports: dict[bytes, Report] = field(default_factory=dict)
    complaints: dict[bytes, Complaint] = field(default_factory=dict)
    findings: dict[bytes, Finding] = field(default_factory=dict)
    sanctions: dict[bytes, Sanction] = field(default_factory=dict)

    def prepare(self, entries: Iterable[Entry]) -> None:
        """Collect, from the whole set, the checkpoints reports may name: checkpoint
        entries, and the ones embedded in cosigns (signed by the log's author, so as
        good as the entry itself for naming it). Any order; call before the walk."""
        for e in entries:
            cp: Checkpoint | None = None
            if e.kind == CHECKPOINT_KIND:
                cp = Checkpoint.of(e)
            elif e.kind == "checkpoint.cosign":
                cp = _embedded(e)
            if cp is not None:
                self.checkpoints[cp.id] = cp

    # -- queries the views use

    def circle_for(self, federation: bytes, coop: bytes, period: str) -> Circle | None:
        """The circle of (federation, audited co-op, quarter), if one is valid."""
        cid = self.circle_of.get((federation, coop, period))
        return None if cid is None else self.circles[cid]

    def circles_of(self, coop: bytes) -> list[Circle]:
        """The circles auditing ``coop`` (an identity), in timeline order."""
        return [c for c in self.circles.values() if c.coop == coop]

    def reports_of(self, circle: bytes) -> list[Report]:
        return [r for r in self.reports.values() if r.circle == circle]

    def cosigns_of(self, logs: Iterable[bytes]) -> list[Cosign]:
        """The cosigns of the logs ``logs`` (keys), in timeline order."""
        wanted = set(logs)
        return [c for c in self.cosigns.values() if c.checkpoint.log in wanted]

    def sanctions_in_force(self, at: int, *, federation: bytes | None = None,
                           against: bytes | None = None) -> list[Sanction]:
        """The sanctions in force at ``at`` (ms), optionally of one federation or
        against one co-op, in timeline order."""
        return [s for s in self.sanctions.values() if s.in_force(at)
                and (federation is None or s.federation == federation)
                and (against is None or s.against == against)]

    def to_value(self) -> dict[str, Value]:
        """The ``audit`` part of the economy value (SPEC §14.5): rows of hex ids and
        keys, each list sorted."""
        def rows(items: Iterable[list[Value]]) -> list[Value]:
            return cast(list[Value], sorted(items, key=lambda r: cast(str, r[0])))
        return {
            # one row per cosign; sorted by (log, witness, cosign id): rows share a log
            "cosigns": cast(list[Value], sorted(
                (c.to_row() for c in self.cosigns.values()),
                key=lambda r: (cast(str, r[0]), cast(str, r[1]), cast(str, r[5])))),
            "circles": rows(c.to_row() for c in self.circles.values()),
            "reports": rows(r.to_row() for r in self.reports.values()),
            "complaints": rows(c.to_row() for c in self.complaints.values()),
            "findings": rows(f.to_row() for f in self.findings.values()),
            "sanctions": rows(s.to_row() for s in self.sanctions.values()),
        }


def drawn_coops(lotteries: Lotteries, ids: Identities, circle: Circle) -> list[bytes]:
    """The co-ops (identities) drawn in ``circle``'s lottery, in the order drawn, each
    once; empty while the lottery waits for its beacons."""
    draw = lotteries.drawn(circle.lottery)
    out: list[bytes] = []
    for c in [] if draw is None else draw.people():
        who = ids.identity_of(c.coop)
        if who not in out:
            out.append(who)
    return out


def _embedded(e: Entry) -> Checkpoint | None:
    raw = e.body.get("entry")
    if not isinstance(raw, bytes):
        return None
    # Tier 1 only: decoding the cosign itself already opened this entry, signature
    # included (its schema check, SPEC §14.3); the economy is recomputed often.
    try:
        inner = decode_entry(raw)
    except ValidationError:
        return None
    cp = Checkpoint.of(inner)
    return cp if cp is not None and cp.id.hex() == e.body.get("checkpoint") else None


# ------------------------------------------------------------------------- handlers

def _optional_ref(b: Body, key: str) -> bytes | None:
    return b.ref(key) if key in b.body else None


def _fed(m: _Machine, b: Body) -> Federation:
    """The federation the entry speaks in, its author a member of it now."""
    fed = m.federation(b)
    m.member(fed, m.actor, "the co-op")
    return fed


def _cosign(m: _Machine, e: Entry, b: Body) -> None:
    b.ref("checkpoint")
    cp = _embedded(e)
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


def _circle(m: _Machine, e: Entry, b: Body) -> None:
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


def _circle_of(m: _Machine, cid: bytes) -> Circle:
    circle = m.gov.audit.circles.get(cid)
    if circle is None:
        raise Reject("not-a-circle", f"entry {short(cid)} is not a valid audit.circle")
    return circle


def _drawn_in(m: _Machine, circle: Circle) -> None:
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


def _report(m: _Machine, e: Entry, b: Body) -> None:
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


def _complaint(m: _Machine, e: Entry, b: Body) -> None:
    fed = _fed(m, b)
    against = m.gov.ids.identity_of(b.coop("against"))
    if against == m.actor:
        raise Reject("against-self", "a co-op does not file a complaint against itself")
    m.member(fed, against, "the co-op complained against")
    m.gov.audit.complaints[e.id] = Complaint(e.id, fed.id, m.actor, against,
                                             b.text("text"), m.eff, e.ts)


def _finding(m: _Machine, e: Entry, b: Body) -> None:
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


def _sanction(m: _Machine, e: Entry, b: Body) -> None:
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


HANDLERS: dict[str, Callable[[_Machine, Entry, Body], None]] = {
    "checkpoint.cosign": _cosign,
    "audit.circle": _circle,
    "audit.report": _report,
    "complaint": _complaint,
    "finding": _finding,
    "sanction": _sanction,
}
