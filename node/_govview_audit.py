"""Views of audit and misconduct (SPEC §14.3–§14.5, docs/auditors.md).

    audit_circles  GET /v1/audit/circles            circles: who is audited, for which
                   quarter, by which lottery, who was drawn and who has reported
    audit_reports  GET /v1/audit/reports            reports, one row each: auditor,
                   checkpoint, checks passed and failed
    audit_report   GET /v1/audit/reports/{report}   one report in full: every check,
                   the findings, the checkpoint and who witnessed it
    audit_coop     GET /v1/audit/coops/{coop}       everything about one co-op: its
                   circles and reports, the witnesses of its logs, complaints against
                   it, findings about it, sanctions, forks of its keys
    misconduct     GET /v1/misconduct               complaints, findings, sanctions
                   (in force or not at as_of), and the forks and broken logs the fold
                   found

Filters: ``federation`` (name or id prefix), ``coop`` (name or key prefix: the audited
co-op, or the co-op a complaint, finding or sanction is about), ``period`` (YYYY-Qn),
``circle`` (id prefix). Times are ms; ``as_of`` (for sanctions in force and for which
circles are current) defaults to the node's clock now, and the document says which
time it used. A circle is *current* at as_of when its quarter is the quarter of as_of
or the one before (the same window the transparency metric uses, SPEC §12.7).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coopledger.protocol import (
    Checkpoint,
    Circle,
    Cosign,
    Report,
    Sanction,
    drawn_coops,
    recent_quarters,
)

from ._econview import coop_names
from ._govview import who as _who
from ._views import (
    AS_OF,
    CIRCLE,
    COOP,
    FEDERATION,
    QUARTER,
    REPORT,
    Param,
    View,
    ViewArgs,
)

if TYPE_CHECKING:
    from coopledger.protocol import Audits, Economy

    from ._store import Store

Names = Mapping[bytes, "str | None"]


# -- helpers ------------------------------------------------------------------------------


def current_quarters(at: int) -> tuple[str, ...]:
    """The quarters whose circles are current at ``at`` (ms): its own and the one
    before."""
    day = datetime.datetime.fromtimestamp(at / 1000, datetime.UTC)
    return recent_quarters(f"{day.year:04d}-{day.month:02d}")


def _fed(eco: Economy, fid: bytes) -> dict[str, Any]:
    f = eco.federations.get(fid)
    return {"federation": fid.hex(), "federation_name": None if f is None else f.name}


def _checkpoint(cp: Checkpoint, names: Names) -> dict[str, Any]:
    return {"id": cp.id.hex(), **_who("log", cp.log, names), "seq": cp.seq,
            "size": cp.size, "root": cp.root.hex(), "ts": cp.ts}


def _auditors(eco: Economy, c: Circle, names: Names) -> list[dict[str, Any]]:
    reported = {r.auditor: r.id for r in eco.gov.audit.reports_of(c.id)}
    return [{**_who("coop", x, names),
             "report": reported[x].hex() if x in reported else None}
            for x in drawn_coops(eco.gov.lotteries, eco.gov.ids, c)]


def _circle(eco: Economy, c: Circle, names: Names) -> dict[str, Any]:
    lot = eco.gov.lotteries.get(c.lottery)
    counted = 0 if lot is None else len(lot.counted)
    needed = 0 if lot is None else lot.terms.beacons
    return {
        "id": c.id.hex(), **_fed(eco, c.federation), **_who("coop", c.coop, names),
        "period": c.period, "lottery": c.lottery.hex(), **_who("author", c.author, names),
        "ts": c.ts, "eff": c.eff, "note": c.note,
        "status": "drawn" if lot is not None and lot.draw is not None else "waiting",
        "beacons_counted": counted, "beacons_needed": needed,
        "auditors": _auditors(eco, c, names),
        "reports": len(eco.gov.audit.reports_of(c.id)),
    }


def _witnesses(eco: Economy, cp: Checkpoint, names: Names) -> list[dict[str, Any]]:
    return [{**_who("witness", s.witness, names), "cosign": s.id.hex(), "ts": s.ts}
            for s in eco.gov.audit.cosigns.values() if s.checkpoint.id == cp.id]


def _report(eco: Economy, r: Report, names: Names) -> dict[str, Any]:
    c = eco.gov.audit.circles[r.circle]
    failed = [x.name for x in r.checks if not x.ok]
    return {
        "id": r.id.hex(), "circle": c.id.hex(), **_fed(eco, c.federation),
        **_who("coop", c.coop, names), "period": c.period,
        **_who("auditor", r.auditor, names), "key": r.key.hex(),
        "checkpoint": _checkpoint(r.checkpoint, names),
        "checks_passed": len(r.checks) - len(failed), "checks_failed": failed,
        "passed": r.passed, "findings": len(r.findings), "summary": r.summary,
        "ts": r.ts, "eff": r.eff,
    }


def _complaint(eco: Economy, audit: Audits, cid: bytes, names: Names) -> dict[str, Any]:
    c = audit.complaints[cid]
    return {"id": c.id.hex(), **_fed(eco, c.federation), **_who("by", c.by, names),
            **_who("against", c.against, names), "text": c.text, "ts": c.ts,
            "findings": [f.id.hex() for f in audit.findings.values() if f.complaint == c.id]}


def _finding(eco: Economy, audit: Audits, fid: bytes, names: Names) -> dict[str, Any]:
    f = audit.findings[fid]
    return {"id": f.id.hex(), **_fed(eco, f.federation), **_who("by", f.by, names),
            **_who("about", f.about, names), "text": f.text, "ts": f.ts,
            "complaint": None if f.complaint is None else f.complaint.hex(),
            "circle": None if f.circle is None else f.circle.hex(),
            "sanctions": [s.id.hex() for s in audit.sanctions.values() if s.finding == f.id]}


def _sanction(eco: Economy, s: Sanction, at: int, names: Names) -> dict[str, Any]:
    return {"id": s.id.hex(), **_fed(eco, s.federation), **_who("by", s.by, names),
            **_who("against", s.against, names), "finding": s.finding.hex(),
            "measure": s.measure, "note": s.note, "ts": s.ts, "expires": s.expires,
            "in_force": s.in_force(at)}


def _coop_param(store: Store, eco: Economy, args: ViewArgs) -> bytes | None:
    key: bytes | None = args.value("coop")
    return None if key is None else eco.gov.ids.identity_of(key)


def resolve_circle(eco: Economy, text: str, *, field: str = "circle") -> bytes:
    """A valid audit circle by an id prefix (at least 8 hex characters)."""
    return CIRCLE.resolve(eco, text, field)


def resolve_report(eco: Economy, text: str, *, field: str = "report") -> bytes:
    """A valid audit report by an id prefix (at least 8 hex characters)."""
    return REPORT.resolve(eco, text, field)


def _forks(store: Store, eco: Economy, names: Names, only: bytes | None
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(forks, broken logs) the fold found, of one co-op's keys or of every log."""
    forks, broken = [], []
    for key, st in sorted(store.state().authors.items()):
        coop = eco.gov.ids.identity_of(key)
        if only is not None and coop != only:
            continue
        if st.fork is not None:
            forks.append({**_who("key", key, names), **_who("coop", coop, names),
                          "seq": st.fork.seq, "a": st.fork.a.hex(), "b": st.fork.b.hex()})
        if st.broken is not None:
            broken.append({**_who("key", key, names), **_who("coop", coop, names),
                           "seq": st.broken[0], "reason": st.broken[1]})
    return forks, broken


# -- views --------------------------------------------------------------------------------


def audit_circles(store: Store, args: ViewArgs, me: bytes | None
                  ) -> dict[str, Any]:
    """Audit circles, oldest first, of a federation, of an audited co-op and/or of a
    quarter (all held here without filters)."""
    eco, names = store.state().economy(), coop_names(store)
    fed, coop, period = args.value("federation"), _coop_param(store, eco, args), \
        args.value("period")
    rows = [_circle(eco, c, names) for c in eco.gov.audit.circles.values()
            if (fed is None or c.federation == fed) and (coop is None or c.coop == coop)
            and (period is None or c.period == period)]
    rows.sort(key=lambda r: (r["eff"], r["id"]))
    return {"circles": rows}


def audit_reports(store: Store, args: ViewArgs, me: bytes | None
                  ) -> dict[str, Any]:
    """Audit reports, oldest first, of a federation, about a co-op, of a quarter or of
    one circle."""
    eco, names = store.state().economy(), coop_names(store)
    fed, coop, period = args.value("federation"), _coop_param(store, eco, args), \
        args.value("period")
    circle = args.value("circle")
    audit = eco.gov.audit
    rows = []
    for r in audit.reports.values():
        c = audit.circles[r.circle]
        if ((fed is None or c.federation == fed) and (coop is None or c.coop == coop)
                and (period is None or c.period == period)
                and (circle is None or c.id == circle)):
            rows.append(_report(eco, r, names))
    rows.sort(key=lambda r: (r["eff"], r["id"]))
    return {"reports": rows}


def audit_report(store: Store, args: ViewArgs, me: bytes | None
                 ) -> dict[str, Any]:
    """One report by an id prefix: every check with its sentence, the findings, the
    circle, and the checkpoint it covers with the witnesses that cosigned it."""
    eco, names = store.state().economy(), coop_names(store)
    r = eco.gov.audit.reports[args.value("report")]
    return {**_report(eco, r, names),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in r.checks],
            "findings": list(r.findings),
            "circle_detail": _circle(eco, eco.gov.audit.circles[r.circle], names),
            "witnesses": _witnesses(eco, r.checkpoint, names)}


def _witness_rows(eco: Economy, cosigns: list[Cosign], current: set[bytes],
                  names: Names) -> list[dict[str, Any]]:
    """The latest cosign of each (log, witness), by log then witness."""
    latest: dict[tuple[bytes, bytes], Cosign] = {}
    for s in cosigns:
        k = (s.checkpoint.log, s.witness)
        if k not in latest or s.checkpoint.size >= latest[k].checkpoint.size:
            latest[k] = s
    return [{**_who("log", log, names), **_who("witness", w, names),
             "size": s.checkpoint.size, "root": s.checkpoint.root.hex(),
             "checkpoint": s.checkpoint.id.hex(), "cosign": s.id.hex(), "ts": s.ts,
             "in_current_circle": w in current}
            for (log, w), s in sorted(latest.items())]


def audit_coop(store: Store, args: ViewArgs, me: bytes | None
               ) -> dict[str, Any]:
    """Everything about one co-op's audits and conduct, at ``as_of``."""
    eco, names, at = store.state().economy(), coop_names(store), args.value("as_of")
    coop = eco.gov.ids.identity_of(args.value("coop"))
    audit = eco.gov.audit
    keys = [r.key for r in eco.gov.ids.keys_of(coop)]
    quarters = current_quarters(at)
    circles = audit.circles_of(coop)
    current: set[bytes] = set()
    for c in circles:
        if c.period in quarters:
            current.update(drawn_coops(eco.gov.lotteries, eco.gov.ids, c))
    reports = [r for r in audit.reports.values() if audit.circles[r.circle].coop == coop]
    forks, broken = _forks(store, eco, names, coop)
    return {
        **_who("coop", coop, names), "as_of": at, "keys": [k.hex() for k in keys],
        "current_quarters": list(quarters),
        "circles": [_circle(eco, c, names) for c in circles],
        "reports": [_report(eco, r, names) for r in reports],
        "passed_recently": any(r.passed and audit.circles[r.circle].period in quarters
                               for r in reports),
        "witnesses": _witness_rows(eco, audit.cosigns_of(keys), current, names),
        "complaints": [_complaint(eco, audit, c.id, names)
                       for c in audit.complaints.values() if c.against == coop],
        "findings": [_finding(eco, audit, f.id, names)
                     for f in audit.findings.values() if f.about == coop],
        "sanctions": [_sanction(eco, s, at, names)
                      for s in audit.sanctions.values() if s.against == coop],
        "forks": forks, "broken": broken,
    }


def misconduct(store: Store, args: ViewArgs, me: bytes | None
               ) -> dict[str, Any]:
    """Complaints, findings and sanctions (of a federation, about a co-op, or all), and
    the forks and broken logs the fold found (of that co-op's keys, or of every log;
    a federation filter does not apply to them: a fork is misconduct everywhere)."""
    eco, names, at = store.state().economy(), coop_names(store), args.value("as_of")
    fed, coop = args.value("federation"), _coop_param(store, eco, args)
    audit = eco.gov.audit

    def keep(federation: bytes, about: bytes) -> bool:
        return (fed is None or federation == fed) and (coop is None or about == coop)

    forks, broken = _forks(store, eco, names, coop)
    sanctions = [_sanction(eco, s, at, names) for s in audit.sanctions.values()
                 if keep(s.federation, s.against)]
    return {
        "as_of": at,
        "complaints": [_complaint(eco, audit, c.id, names)
                       for c in audit.complaints.values() if keep(c.federation, c.against)],
        "findings": [_finding(eco, audit, f.id, names)
                     for f in audit.findings.values() if keep(f.federation, f.about)],
        "sanctions": sanctions,
        "sanctions_in_force": sum(1 for s in sanctions if s["in_force"]),
        "forks": forks, "broken": broken,
    }


_FED = Param("federation", FEDERATION, "a federation's name or id prefix")
_FILTERS = (_FED, Param("coop", COOP, "the audited co-op (name or key prefix)"),
            Param("period", QUARTER, "a quarter, YYYY-Qn"))
_AS_OF = Param("as_of", AS_OF, "ms since 1970 (default: now)")

VIEWS: dict[str, View] = {
    "audit_circles": View(
        "/v1/audit/circles", audit_circles,
        "Audit circles: who is audited for which quarter, who was drawn, who reported",
        _FILTERS),
    "audit_reports": View(
        "/v1/audit/reports", audit_reports,
        "Audit reports: auditor, checkpoint, checks passed and failed",
        (*_FILTERS, Param("circle", CIRCLE, "an audit circle's id prefix",
                          blank_is_absent=True))),
    "audit_report": View(
        "/v1/audit/reports/{report}", audit_report,
        "One audit report: every check, the findings, the checkpoint and its witnesses",
        (Param("report", REPORT, "report"),)),
    "audit_coop": View(
        "/v1/audit/coops/{coop}", audit_coop,
        "One co-op's audits and conduct: circles, reports, witnesses, complaints, "
        "findings, sanctions, forks", (Param("coop", COOP, "coop"), _AS_OF)),
    "misconduct": View(
        "/v1/misconduct", misconduct,
        "Complaints, findings, sanctions (in force at as_of), forks and broken logs",
        (_FED, Param("coop", COOP, "the co-op they are about (name or key prefix)"),
         _AS_OF)),
}
