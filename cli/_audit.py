"""Audits and misconduct on the command line (SPEC §14.3–§14.5, docs/auditors.md):
`coop audit circle|report|show|list`, `coop complaint file`, `coop finding add`,
`coop sanction add`, `coop misconduct list`.

``audit_app`` is the shared ``coop audit`` group: cli/_auditrun.py adds ``run`` to it,
and writes its report through ``write_report`` here.

`list`, `show` and `misconduct list` print node/_govview_audit.py's documents (through
the running node, else from the store), so ``--json`` is the same either way. Writing
commands refuse early what the fold would not count (a circle for a co-op that already
has one this quarter, a report by a co-op not drawn, a sanction over a year).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import (
    Store,
    applied_entries,
    identity_of,
    now_ms,
    resolve_circle,
    resolve_id,
)
from coopledger.protocol import (
    CHECKPOINT_KIND,
    MAX_BEACONS,
    MAX_CHECKS,
    MAX_FINDINGS,
    MAX_POOL,
    MAX_SEATS,
    drawn_coops,
)

from ._common import (
    HomeOpt,
    JsonOpt,
    PassFileOpt,
    err,
    fail,
    format_ts,
    open_home,
    out,
    parse_time,
)
from ._economy import find_coop
from ._misconduct import misconduct_lines
from ._options import coop_label, member_federation, opened, trimmed, who
from ._render import entry_json, print_json
from ._views import fetch as view
from ._writer import append

if TYPE_CHECKING:
    from coopledger.protocol import Circle, Economy, Entry, Federation

DAY_MS = 86_400_000
MAX_NAME = 100            # a candidate's name (SPEC §13.1)
_QUARTER = re.compile(r"\d{4}-Q[1-4]", re.ASCII)

audit_app = typer.Typer(
    help="Audit circles and their reports: draw a circle, write a report, show them.\n\n"
         "Example:  coop audit list", no_args_is_help=True)
def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(audit_app, name="audit")


# -- helpers ------------------------------------------------------------------------------


def _quarter_now() -> str:
    import datetime

    day = datetime.datetime.fromtimestamp(now_ms() / 1000, datetime.UTC)
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def _written(entries: list[tuple[str, Entry]], json_: bool) -> None:
    if json_:
        print_json({what: entry_json(e) for what, e in entries})
        return
    for what, e in entries:
        out.print(f"Recorded {e.kind} #{e.seq}")
        out.print(f"  {what} id: {e.id.hex()}")


# -- audit circle -------------------------------------------------------------------------


def _default_pool(store: Store, f: Federation, audited: bytes) -> list[dict[str, str]]:
    """One candidate per member co-op other than the audited one, named as the co-op."""
    authors = store.state().authors
    pool = []
    for coop in f.current_members():
        if coop == audited:
            continue
        st = authors.get(coop)
        name = (st.name if st is not None and st.name else coop.hex()[:8]).strip()
        pool.append({"name": name[:MAX_NAME].strip(), "coop": coop.hex()})
    return pool


def _candidates(store: Store, eco: Economy, specs: list[str]) -> list[dict[str, str]]:
    people = []
    for spec in specs:
        name, sep, coop = spec.rpartition("@")
        name = name.strip()
        if not sep or not name or not coop.strip():
            fail(f"--candidate: expected NAME@COOP (COOP: a co-op's name or key prefix), "
                 f"got {spec[:60]!r}")
        if len(name) > MAX_NAME:
            fail(f"--candidate: a name has at most {MAX_NAME} characters")
        people.append({"name": name,
                       "coop": find_coop(store, coop.strip(), "--candidate").hex()})
    return people


@audit_app.command("circle")
def audit_circle(
    coop: Annotated[str, typer.Argument(
        help="The co-op to audit (name or key prefix).", show_default=False)],
    federation: Annotated[str, typer.Option(
        "--federation", help="The federation that audits it (name or id prefix).")],
    quarter: Annotated[str | None, typer.Option(
        "--quarter", help="The quarter audited, YYYY-Qn. Default: this quarter.")] = None,
    seats: Annotated[int, typer.Option(
        "--seats", help="How many co-ops to draw into the circle.")] = 3,
    beacons: Annotated[int, typer.Option(
        "--beacons", help="How many other co-ops' beacons make the seed.")] = 2,
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="A person NAME@COOP instead of the default pool (one "
        "candidate per other member co-op); repeatable.")] = None,
    note: Annotated[str | None, typer.Option(
        "--note", help="Free text, kept with the circle.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Draw an audit circle: announce its lottery and name it for the co-op and quarter.

    The pool is every other member co-op of the federation (one candidate each, never
    two of one co-op in the circle); the draw happens when other co-ops add their
    beacons (coop lottery beacon).

    Example:  coop audit circle "Old Mill" --federation Riverside --quarter 2026-Q4
    """
    quarter = _quarter_now() if quarter is None else quarter.strip()
    if not _QUARTER.fullmatch(quarter) or quarter.startswith("0000"):
        fail("--quarter: expected a quarter YYYY-Qn, n from 1 to 4 (2026-Q4)")
    if not 1 <= seats <= MAX_SEATS:
        fail(f"--seats: 1 to {MAX_SEATS}")
    if not 1 <= beacons <= MAX_BEACONS:
        fail(f"--beacons: 1 to {MAX_BEACONS}")
    with opened(home, as_held=True) as (_h, store, eco, me):
        f = member_federation(eco, federation, me)
        audited = find_coop(store, coop, "COOP")
        if not f.is_member(audited):
            fail(f"COOP: {coop_label(store, audited)} is not a member of federation "
                 f"{f.name!r}")
        existing = eco.gov.audit.circle_for(f.id, audited, quarter)
        if existing is not None:
            fail(f"{coop_label(store, audited)} already has an audit circle for {quarter} "
                 f"in {f.name!r}: {existing.id.hex()[:8]} (coop audit show "
                 f"{existing.id.hex()[:8]})")
        people = (_candidates(store, eco, candidate) if candidate
                  else _default_pool(store, f, audited))
        if any(eco.gov.ids.identity_of(bytes.fromhex(p["coop"])) == audited for p in people):
            fail("--candidate: nobody of the audited co-op may be drawn to audit it")
        if not people:
            fail(f"federation {f.name!r} has no other member to draw the circle from")
        if len(people) > MAX_POOL:
            fail(f"at most {MAX_POOL} candidates")
        pairs = [(p["coop"], p["name"]) for p in people]
        if len(set(pairs)) != len(pairs):
            fail("--candidate: a candidate is given twice")
        others = len(f.current_members()) - 1
        if beacons > others:
            fail(f"--beacons: the federation has {others} other member(s); a draw needing "
                 f"{beacons} beacons would never happen")
        name = coop_label(store, audited)
    coops = len({p["coop"] for p in people})
    if coops < seats:
        err.print(f"Warning: the pool has {coops} co-op(s) for {seats} seat(s); the circle "
                  "will be smaller.")
    lot = append(home, passphrase_file, "lottery.announce", {
        "federation": f.id.hex(), "purpose": f"audit circle of {name} for {quarter}"[:200],
        "pool": people, "seats": seats, "beacons": beacons, "mode": "draw",
        "distinct_coops": True}, [f.id], echo=False)
    circ = append(home, passphrase_file, "audit.circle", {
        "federation": f.id.hex(), "coop": audited.hex(), "period": quarter,
        "lottery": lot.id.hex(), "note": note}, [f.id, lot.id], echo=False)
    _written([("lottery", lot), ("circle", circ)], json_)
    if not json_:
        out.print(f"  it is drawn when {beacons} other co-op(s) run: coop lottery beacon "
                  f"{lot.id.hex()[:8]}")


# -- audit report -------------------------------------------------------------------------


def _read_checks(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(checks, the whole document) from ``coop audit run --out`` or a bare JSON list of
    {name, ok, detail?}."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--checks-file: cannot read {path}: {exc.strerror}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        fail(f"--checks-file: {path} is not JSON (coop audit run --out FILE writes one)")
    meta: dict[str, Any] = {}
    if isinstance(doc, dict):
        meta, doc = doc, doc.get("checks")
    if not isinstance(doc, list):
        fail("--checks-file: expected a list of checks, or the document of "
             "coop audit run --out")
    return [_check(c, n) for n, c in enumerate(doc)], meta


def _check(c: Any, n: int) -> dict[str, Any]:
    if not isinstance(c, dict) or not isinstance(c.get("name"), str) or \
            not isinstance(c.get("ok"), bool):
        fail(f"--checks-file: check {n} is not {{\"name\": text, \"ok\": true or false}}")
    if set(c) - {"name", "ok", "detail"}:
        fail(f"--checks-file: check {n} has fields other than name, ok and detail")
    out_: dict[str, Any] = {"name": c["name"], "ok": c["ok"]}
    detail = c.get("detail")
    if detail is not None and not isinstance(detail, str):
        fail(f"--checks-file: the detail of check {n} is not text")
    if detail and detail.strip():
        out_["detail"] = detail.strip()
    return out_


def _latest_checkpoint(store: Store, eco: Economy, coop: bytes) -> bytes | None:
    """The newest checkpoint (by ts) of any key of ``coop`` that applies here."""
    best: tuple[int, bytes] | None = None
    for e in applied_entries(store, [CHECKPOINT_KIND]):
        if eco.gov.ids.identity_of(e.author) == coop and (best is None or e.ts > best[0]):
            best = (e.ts, e.id)
    return None if best is None else best[1]


def write_report(home: Path | None, passphrase_file: Path | None, *, circle: str,
                 checkpoint: bytes | str | None, checks: list[dict[str, Any]],
                 findings: list[str], summary: str, json_: bool) -> None:
    """Write this co-op's audit.report for ``circle`` (an id prefix). ``checkpoint``:
    the id (or an id prefix) of the audited co-op's checkpoint it covers (None: the
    newest held here). Refuses (exit 1, one line) what the fold would not count.

    The report refs the lottery's counted beacons, so it follows the draw on every
    node's timeline. If no cosign of the checkpoint is held here, this co-op cosigns
    it first as a witness (the circle's members are the co-op's witnesses, §14.3)."""
    summary = trimmed(summary, "--summary", 4000)
    findings = [trimmed(f, "--finding", 2000) for f in findings]
    if not checks or len(checks) > MAX_CHECKS:
        fail(f"--checks-file: give 1 to {MAX_CHECKS} checks")
    if len(findings) > MAX_FINDINGS:
        fail(f"--finding: at most {MAX_FINDINGS}")
    with opened(home, as_held=True) as (_h, store, eco, me):
        audit = eco.gov.audit
        c: Circle = audit.circles[resolve_circle(eco, circle, field="CIRCLE")]
        lot = eco.gov.lotteries.get(c.lottery)
        if lot is None or lot.draw is None:
            fail(f"circle {c.id.hex()[:8]} is not drawn yet: its lottery "
                 f"{c.lottery.hex()[:8]} waits for beacons (coop lottery show "
                 f"{c.lottery.hex()[:8]})")
        if me not in drawn_coops(eco.gov.lotteries, eco.gov.ids, c):
            fail(f"your co-op was not drawn in circle {c.id.hex()[:8]}")
        if any(r.auditor == me for r in audit.reports_of(c.id)):
            fail(f"your co-op already reported for circle {c.id.hex()[:8]}")
        checkpoints = {e.id: e for e in applied_entries(store, [CHECKPOINT_KIND])}
        if checkpoint is None:
            cp_id = _latest_checkpoint(store, eco, c.coop)
            if cp_id is None:
                fail(f"no checkpoint of {coop_label(store, c.coop)} is held here: it "
                     "publishes one with `coop checkpoint publish`")
        elif isinstance(checkpoint, bytes):
            cp_id = checkpoint
        else:
            cp_id = resolve_id(list(checkpoints) + list(audit.checkpoints), checkpoint,
                               field="--checkpoint", what="checkpoint")
        cp = checkpoints.get(cp_id)
        if cp is None:
            fail(f"--checkpoint: checkpoint {cp_id.hex()[:8]} does not apply here")
        if eco.gov.ids.identity_of(cp.author) != c.coop:
            fail(f"--checkpoint: {cp_id.hex()[:8]} is a checkpoint of "
                 f"{coop_label(store, eco.gov.ids.identity_of(cp.author))}, not of the "
                 f"audited {coop_label(store, c.coop)}")
        witnessed = any(s.checkpoint.id == cp.id for s in audit.cosigns.values())
        last = audit.cosigned.get((me, cp.author))
        size = cp.body.get("size")
        cosign_first = not witnessed and (last is None or (
            isinstance(size, int) and size >= last))
        beacons = [b.id for b in lot.counted]
    written: list[tuple[str, Entry]] = []
    if cosign_first:
        written.append(("cosign", append(
            home, passphrase_file, "checkpoint.cosign", {"checkpoint": cp.id.hex()},
            [cp.id], echo=False)))
    body: dict[str, Any] = {"circle": c.id.hex(), "checkpoint": cp.id.hex(),
                            "checks": checks, "summary": summary}
    if findings:
        body["findings"] = findings
    written.append(("report", append(home, passphrase_file, "audit.report", body,
                                           [c.id, cp.id, *beacons], echo=False)))
    _written(written, json_)


@audit_app.command("report")
def audit_report(
    circle: Annotated[str, typer.Argument(
        help="The audit circle: at least 8 hex characters of its id.", show_default=False)],
    checks_file: Annotated[Path, typer.Option(
        "--checks-file", help="The checks: the file of coop audit run --out, or a JSON "
        "list of {name, ok, detail}.")],
    summary: Annotated[str, typer.Option(
        "--summary", help="A few readable sentences: what the circle found.")],
    finding: Annotated[list[str] | None, typer.Option(
        "--finding", help="A finding of the people of the circle; repeatable.")] = None,
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", help="The audited co-op's checkpoint covered (id prefix). "
        "Default: the one in the checks file, else the newest held here.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Sign your co-op's audit report for a circle it was drawn in.

    Example:  coop audit report 3f2a9c1e --checks-file checks.json --summary "The books
    reconcile; the fund report for the dryer is late." --finding "The fund report of
    the solar dryer is two months late."
    """
    checks, meta = _read_checks(checks_file)
    if checkpoint is None and isinstance(meta.get("checkpoint"), dict):
        text = meta["checkpoint"].get("id")
        checkpoint = text if isinstance(text, str) else None
    write_report(home, passphrase_file, circle=circle, checkpoint=checkpoint,
                 checks=checks, findings=finding or [], summary=summary, json_=json_)


# -- audit show / list --------------------------------------------------------------------


def _circle_line(r: dict[str, Any]) -> str:
    if r["status"] == "waiting":
        status = f"waiting ({r['beacons_counted']} of {r['beacons_needed']} beacons)"
    else:
        done = sum(1 for a in r["auditors"] if a["report"])
        status = (f"drawn: {', '.join(who(a, 'coop') for a in r['auditors'])}; "
                  f"{done} of {len(r['auditors'])} reported")
    return (f"{r['id'][:8]}  {who(r, 'coop')}  {r['period']}  [{r['federation_name']}]  "
            f"{status}")


def _report_line(r: dict[str, Any]) -> str:
    mark = "✓" if r["passed"] else "✗"
    failed = f" (failed: {', '.join(r['checks_failed'])})" if r["checks_failed"] else ""
    findings = f", {r['findings']} finding(s)" if r["findings"] else ""
    return (f"{mark} {r['id'][:8]}  {r['period']}  by {who(r, 'auditor')}: "
            f"{r['checks_passed']} check(s) passed{failed}{findings}")


def _show_report(doc: dict[str, Any]) -> None:
    cp = doc["checkpoint"]
    out.print(f"Audit report {doc['id'][:8]} on {who(doc, 'coop')}, {doc['period']}, "
              f"federation {doc['federation_name']}")
    out.print(f"  by {who(doc, 'auditor')} at {format_ts(doc['ts'])}")
    witnesses = ", ".join(who(w, "witness") for w in doc["witnesses"]) or "nobody yet"
    out.print(f"  checkpoint {cp['id'][:8]}: log {who(cp, 'log')}, size {cp['size']}, "
              f"root {cp['root'][:16]}…, signed {format_ts(cp['ts'])}; "
              f"witnessed by {witnesses}")
    n = len(doc["checks"])
    out.print(f"  checks: {doc['checks_passed']} of {n} passed")
    for c in doc["checks"]:
        detail = f"  {c['detail']}" if c["detail"] else ""
        out.print(f"    {'✓' if c['ok'] else '✗'} {c['name']}{detail}")
    if doc["findings"]:
        out.print("  findings:")
        for f in doc["findings"]:
            out.print(f"    - {f}")
    out.print(f"  summary: {doc['summary']}")


def _show_coop(doc: dict[str, Any]) -> None:
    out.print(f"Audits of {who(doc, 'coop')} as of {format_ts(doc['as_of'])}")
    out.print("Circles:")
    for r in doc["circles"]:
        out.print(f"  {_circle_line(r)}")
    if not doc["circles"]:
        out.print("  none (coop audit circle draws one)")
    out.print("Reports:")
    for r in doc["reports"]:
        out.print(f"  {_report_line(r)}")
    if not doc["reports"]:
        out.print("  none")
    quarters = " or ".join(doc["current_quarters"])
    out.print(f"  a report with every check passed for {quarters}: "
              f"{'yes' if doc['passed_recently'] else 'no'}")
    out.print("Witnesses (the newest cosign of each, * drawn in a current circle):")
    for w in doc["witnesses"]:
        star = "*" if w["in_current_circle"] else " "
        out.print(f"  {star} {who(w, 'witness')} cosigned log {who(w, 'log')} at size "
                  f"{w['size']}, {format_ts(w['ts'])}")
    if not doc["witnesses"]:
        out.print("  none")
    out.print("Conduct:")
    misconduct_lines(doc)
    if not (doc["complaints"] or doc["findings"] or doc["sanctions"] or doc["forks"]
            or doc["broken"]):
        out.print("  no complaint, finding, sanction or fork")


def _is_report(home: Path | None, text: str) -> bool:
    low = text.strip().lower()
    if len(low) < 8 or any(ch not in "0123456789abcdef" for ch in low):
        return False
    h = open_home(home)
    with h.open_store() as store:
        return any(r.hex().startswith(low) for r in store.state().economy().gov.audit.reports)


@audit_app.command("show")
def audit_show(
    what: Annotated[str | None, typer.Argument(
        help="A co-op (name or key prefix) or a report (id prefix). Default: your "
        "co-op.", show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="For a co-op: sanctions in force and current circles at this "
        "time (date, date-time or ms; default now).")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show an audit report (checks ✓/✗, findings) or a co-op's audits and conduct.

    A report shows who audited, which checkpoint it covers and who witnessed it.

    Example:  coop audit show "Old Mill"
    """
    if what is not None and _is_report(home, what):
        doc = view(home, "audit_report", {"report": what})
        if json_:
            print_json(doc)
        else:
            _show_report(doc)
        return
    if what is None:
        h = open_home(home)
        what = h.author.hex()
        with h.open_store() as store:
            me = identity_of(store, h.author)
            what = what if me is None else me.hex()
    at = None if as_of is None else str(parse_time(as_of, option="--as-of",
                                                   end_of_day=True))
    doc = view(home, "audit_coop", {"coop": what, "as_of": at})
    if json_:
        print_json(doc)
    else:
        _show_coop(doc)


@audit_app.command("list")
def audit_list(
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Only this federation's circles (name or id prefix).")
    ] = None,
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Only the circles auditing this co-op.")] = None,
    quarter: Annotated[str | None, typer.Option(
        "--quarter", help="Only the circles of this quarter, YYYY-Qn.")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List the audit circles held here and their reports.

    Example:  coop audit list --quarter 2026-Q4
    """
    params = {"federation": federation, "coop": coop, "period": quarter}
    circles = view(home, "audit_circles", params)
    reports = view(home, "audit_reports", params)
    if json_:
        print_json({**circles, **reports})
        return
    if not circles["circles"]:
        out.print("No audit circles (coop audit circle draws one).")
        return
    by_circle: dict[str, list[dict[str, Any]]] = {}
    for r in reports["reports"]:
        by_circle.setdefault(r["circle"], []).append(r)
    for c in circles["circles"]:
        out.print(_circle_line(c))
        for r in by_circle.get(c["id"], []):
            out.print(f"    {_report_line(r)}")
