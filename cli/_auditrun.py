"""`coop audit run COOP`: the automated checks of an audit circle (SPEC §14.4,
docs/auditors.md "Running the checks"), read from this home's store.

Prints a table (✓ or ✗ per check, with its sentence), or with ``--json`` the document
of node/_auditrun.py; ``--out FILE`` also writes that document, which
``coop audit report --checks-file FILE`` takes as the report's checks. With
``--report CIRCLE --summary TEXT`` it writes the audit.report at once, on the co-op's
latest checkpoint.

Exit status: 0 when every check passes, 1 when any fails (also when the report was
written), 2 for a usage mistake; other errors exit 1 with one line on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from coopledger.node import (
    AuditError,
    AuditRun,
    now_ms,
    resolve_circle,
    resolve_coop,
    resolve_federation,
    run_audit,
)
from coopledger.node import audit_default_as_of as default_as_of

from ._common import (
    CoopError,
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
from ._options import coop_label, lookup
from ._render import print_json


@contextmanager
def _bar() -> Iterator[Progress]:
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*cols, console=err, transient=True, disable=not err.is_terminal) as bar:
        yield bar


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _table(run: AuditRun) -> None:
    who = run.name or "(unnamed)"
    out.print(f"Audit of {who} ({run.coop[:4].hex()}) as of {format_ts(run.as_of)}, "
              f"quarter {run.quarter}: {_plural(run.entries_checked, 'entry', 'entries')} "
              f"of {_plural(len(run.keys), 'key', 'keys')}")
    t = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
    t.add_column("", no_wrap=True)
    t.add_column("check", no_wrap=True)
    t.add_column("what was found", overflow="fold")
    for c in run.checks:
        mark = Text("✓", style="green") if c.ok else Text("✗", style="bold red")
        t.add_row(mark, c.name, c.detail)
    out.print(t)
    bad = run.failed()
    if bad:
        out.print(f"{len(bad)} of {len(run.checks)} checks fail: "
                  f"{', '.join(c.name for c in bad)}")
    else:
        out.print(f"All {len(run.checks)} checks pass.")


def run(
    coop: Annotated[str, typer.Argument(
        help="The co-op to audit: its name or at least 8 hex characters of any of its "
             "keys.", show_default=False)],
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Only this federation's transfers, balances, grants and "
        "flags (name or id prefix). Default: every federation the co-op has been in.",
        show_default=False)] = None,
    quarter: Annotated[str | None, typer.Option(
        "--quarter", metavar="YYYY-Qn", help="The quarter audited: the months of the "
        "metrics, and the as-of time is its end once it has ended. Default: this "
        "quarter.",
        show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Judge the books as they stood at this time: a date (its end), "
        "a date-time (UTC unless an offset is given) or ms. Default: now, or the end "
        "of --quarter.", show_default=False)] = None,
    json_: JsonOpt = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Also write the JSON document to this file (for `coop audit "
        "report --checks-file`).", show_default=False)] = None,
    report: Annotated[str | None, typer.Option(
        "--report", metavar="CIRCLE", help="Write the audit.report of this circle (id "
        "prefix) at once, with these checks, on the co-op's latest checkpoint; the "
        "circle's federation and quarter are audited unless told.",
        show_default=False)] = None,
    summary: Annotated[str | None, typer.Option(
        "--summary", help="The report's summary (with --report).",
        show_default=False)] = None,
    finding: Annotated[list[str] | None, typer.Option(
        "--finding", metavar="TEXT",
        help="A human finding for the report (with --report); repeatable.",
        show_default=False)] = None,
    home: HomeOpt = None,
    passphrase_file: PassFileOpt = None,
) -> None:
    """Run the automated checks of an audit on a co-op's books, as held here.

    Checks chains and signatures, forks, checkpoints, balances, transfers, mandates,
    fund reports, metrics and flagged exceptions. Exits 0 when all pass, 1 when any
    fails.

    Example:  coop audit run "Hillside Garden" --quarter 2026-Q1 --out checks.json
    """
    if report is None and (summary is not None or finding):
        raise typer.BadParameter("give --report CIRCLE to write a report",
                                 param_hint="--summary/--finding")
    if report is not None and not summary:
        raise typer.BadParameter("a report needs a --summary", param_hint="--summary")
    if report is not None and json_:
        raise typer.BadParameter("--json and --report cannot be combined: keep the checks "
                                 "with --out, and see the report with `coop audit show`",
                                 param_hint="--json")
    if as_of is not None and quarter is not None:
        raise typer.BadParameter("--as-of and --quarter cannot be combined (a quarter "
                                 "is judged at its end)", param_hint="--as-of")
    when = None if as_of is None else parse_time(as_of, option="--as-of", end_of_day=True)
    h = open_home(home)
    with h.open_store() as store:
        eco = store.state().economy()
        key = lookup(lambda: resolve_coop(store, coop, field="coop"), "COOP")
        fed = None if federation is None else lookup(
            lambda: resolve_federation(eco, federation, field="federation"),
            "--federation")
        if report is not None:
            # The circle says which federation and quarter are audited, unless told.
            c = eco.gov.audit.circles[lookup(
                lambda: resolve_circle(eco, report, field="report"), "--report")]
            if c.coop != eco.gov.ids.identity_of(key):
                fail(f"--report: circle {c.id.hex()[:8]} audits {coop_label(store, c.coop)}, "
                     f"not {coop_label(store, eco.gov.ids.identity_of(key))}")
            fed = c.federation if fed is None else fed
            quarter = c.period if quarter is None and when is None else quarter
        try:
            at = when if when is not None else default_as_of(quarter, now_ms())
            with _bar() as bar:
                task = bar.add_task("reading the books", total=None)

                def progress(stage: str, done: int, total: int) -> None:
                    label = "folding" if stage == "folding" else "verifying entries"
                    bar.update(task, description=label, completed=done,
                               total=total or None)

                result = run_audit(store, key, as_of=at, quarter=quarter, federation=fed,
                                   progress=progress)
        except AuditError as exc:
            option = {"coop": "COOP", "quarter": "--quarter",
                      "federation": "--federation"}.get(exc.field, exc.field)
            fail(f"{option}: {exc.message}")
    doc = result.to_value()
    if out_file is not None:
        out_file.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2)
                            + "\n", encoding="utf-8")
    if json_:
        print_json(doc)
    else:
        _table(result)
        if out_file is not None:
            err.print(f"wrote the checks to {out_file}")
    if report is not None:
        _write_report(home, passphrase_file, report, result, summary or "", finding or [])
    if not result.ok:
        raise CoopError("", 1)


def _write_report(home: Path | None, passphrase_file: Path | None, circle: str,
                  result: AuditRun, summary: str, findings: list[str]) -> None:
    from ._audit import write_report  # the audit group's writer (cli/_audit.py)

    if result.checkpoint is None:
        fail("--report: the co-op has no checkpoint to report on (it must publish one "
             "first: `coop checkpoint publish`)")
    write_report(home, passphrase_file, circle=circle,
                 checkpoint=result.checkpoint.id,
                 checks=[c.to_value() for c in result.checks],
                 findings=findings, summary=summary, json_=False)


def register(app: typer.Typer) -> None:
    """Add ``coop audit run`` to the audit group of cli/_audit.py."""
    from ._audit import audit_app

    audit_app.command("run")(run)
