"""`coop fund surplus|contribute|grant|report|show` (issue 4, SPEC §12.4,
docs/federations.md): the federation's innovation fund: declared surplus and the share
due, contributions, grants to member co-ops' experiments and their reports.

Grants are named by at least 8 hex characters of their id; co-ops by name or key
prefix. What the economy commands share is in cli/_economy.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coopledger.node import resolve_id
from coopledger.protocol import GRANT_OUTCOMES

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, print_csv
from ._economy import (
    AsOfOpt,
    FedOpt,
    PeriodOpt,
    checked_amount,
    econ_view,
    find_coop,
    find_federation,
    group,
    require_member,
)
from ._options import (
    CsvOpt,
    as_of_ms,
    choice,
    coop_label,
    name_or_key,
    opened,
    parse_day,
    parse_month,
    qty,
    trimmed,
)
from ._render import print_json, table
from ._writer import write

fund_app = group("The federation's innovation fund: surplus, contributions, grants.\n\n"
                 "Example:  coop fund show --federation Riverside")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(fund_app, name="fund")


AmountOpt = Annotated[str, typer.Option("--amount", help="How much, an exact decimal.")]
RuleUnitOpt = Annotated[str, typer.Option(
    "--unit", help="A unit of the federation's rules (hour, kwh …).")]


def _fund_entry(home: Path | None, passphrase_file: Path | None, kind: str, federation: str,
                period: str, amount: str, unit: str, json_: bool) -> None:
    month = parse_month(period, "--period")
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
        if kind == "fund.surplus" and qty(amount, "--amount", zero_ok=True).units == 0:
            checked = ("0", checked_amount(f, "1", unit)[1])
        else:
            checked = checked_amount(f, amount, unit)
    body = {"federation": f.id.hex(), "period": month, "amount": checked[0],
            "unit": checked[1]}
    write(home, passphrase_file, kind, body, [f.id], json_, kind.split(".")[1])


@fund_app.command("surplus")
def fund_surplus(
    federation: FedOpt,
    period: PeriodOpt,
    amount: Annotated[str, typer.Option(
        "--amount", help="Your co-op's surplus for the month (0 or more).")],
    unit: RuleUnitOpt,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Declare your co-op's surplus for a month; the fund share of it becomes due.

    Example:  coop fund surplus --federation Riverside --period 2026-11 --amount 120
    --unit hour
    """
    _fund_entry(home, passphrase_file, "fund.surplus", federation, period, amount, unit,
                json_)


@fund_app.command("contribute")
def fund_contribute(
    federation: FedOpt,
    period: PeriodOpt,
    amount: AmountOpt,
    unit: RuleUnitOpt,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Contribute to the federation's innovation fund for a month.

    Example:  coop fund contribute --federation Riverside --period 2026-11 --amount 12
    --unit hour
    """
    _fund_entry(home, passphrase_file, "fund.contribute", federation, period, amount, unit,
                json_)


@fund_app.command("grant")
def fund_grant(
    federation: FedOpt,
    to: Annotated[str, typer.Option("--to", help="The co-op receiving the grant.")],
    experiment: Annotated[str, typer.Option("--experiment", help="What it funds.")],
    amount: AmountOpt,
    unit: RuleUnitOpt,
    report_due: Annotated[str, typer.Option(
        "--report-due", help="When the report is due, YYYY-MM-DD.")],
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Grant money or hours from the fund to a member co-op's experiment.

    Example:  coop fund grant --federation Riverside --to "Fab Lab" --experiment
    "solar dryer" --amount 20 --unit hour --report-due 2027-03-31
    """
    due = parse_day(report_due, "--report-due")
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
        grantee = find_coop(store, to, "--to")
        require_member(store, f, grantee, "--to")
        checked = checked_amount(f, amount, unit)
    body = {"federation": f.id.hex(), "to": grantee.hex(),
            "experiment": trimmed(experiment, "--experiment"), "amount": checked[0],
            "unit": checked[1], "report_due": due}
    write(home, passphrase_file, "fund.grant", body, [f.id], json_, "grant")


@fund_app.command("report")
def fund_report(
    grant: Annotated[str, typer.Option(
        "--grant", help="The grant: at least 8 hex characters of its id.")],
    outcome: Annotated[str, typer.Option(
        "--outcome", help=f"One of: {', '.join(GRANT_OUTCOMES)}.")],
    report: Annotated[str | None, typer.Option("--report", help="The report, as text.")
                      ] = None,
    report_file: Annotated[Path | None, typer.Option(
        "--report-file", help="A UTF-8 file holding the report.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Report on a grant your co-op received; this closes it, whatever the outcome.

    Example:  coop fund report --grant 3f2a9c1e --outcome mixed --report-file report.md
    """
    choice(outcome, GRANT_OUTCOMES, "--outcome")
    if (report is None) == (report_file is None):
        raise typer.BadParameter("give --report TEXT or --report-file FILE",
                                 param_hint="--report")
    if report_file is not None:
        try:
            report = report_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            fail(f"--report-file: cannot read {report_file} as UTF-8 text")
    assert report is not None
    with opened(home) as (h, store, eco, _me):
        grant_id = resolve_id(
            eco.grants, grant, field="--grant", what="grant")
        g = eco.grants[grant_id]
        if g.to != h.identity:
            fail(f"--grant: the grant went to {coop_label(store, g.to)}, not to your co-op")
        if g.report is not None:
            fail("--grant: this grant was already reported on")
    body = {"grant": grant_id.hex(), "outcome": outcome, "report": trimmed(report, "--report")}
    write(home, passphrase_file, "fund.report", body, [grant_id], json_, "report")


@fund_app.command("show")
def fund_show(
    federation: FedOpt,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show the fund: balances, what each co-op owes and gave per month, grants.

    Example:  coop fund show --federation Riverside
    """
    data = econ_view(home, "fund", {"federation": federation, "as_of": as_of_ms(as_of)})
    if json_:
        print_json(data)
        return
    if csv_:
        print_csv(data["contributions"], ["coop", "coop_name", "period", "unit", "due",
                                          "contributed", "outstanding"])
        return
    table(f"fund of {data['federation_name']}", data["balances"], [
        ("unit", lambda b: b["unit"]), ("balance", lambda b: b["balance"])],
        right=("balance",))
    table("due and contributed", data["contributions"], [
        ("co-op", lambda c: name_or_key(c, "coop")), ("month", lambda c: c["period"]),
        ("unit", lambda c: c["unit"]), ("due", lambda c: c["due"]),
        ("contributed", lambda c: c["contributed"]),
        ("outstanding", lambda c: c["outstanding"])],
        right=("due", "contributed", "outstanding"))
    table("grants", data["grants"], [
        ("grant", lambda g: g["id"][:8]), ("to", lambda g: name_or_key(g, "to")),
        ("experiment", lambda g: g["experiment"]),
        ("amount", lambda g: f"{g['amount']} {g['unit']}"),
        ("report due", lambda g: g["report_due"] + (" OVERDUE" if g["overdue"] else "")),
        ("outcome", lambda g: g["outcome"] or "-")])

