"""`coop balance`, `coop exceptions` and `coop metrics` (issue 4, SPEC §12,
docs/federations.md): the economy's views across the federations of this co-op.

They print node/_econview.py's documents, through the running node when one runs, else
computed on the store (cli/_economy.py's ``econ_view``), so ``--json`` is the same
either way.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ._common import HomeOpt, JsonOpt, format_ts, out, print_csv
from ._economy import AsOfOpt, FedOptional, econ_view
from ._options import CsvOpt, as_of_ms, name_or_key, parse_month
from ._render import print_json, table


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.command("balance")(balance)
    app.command("exceptions")(exceptions)
    app.command("metrics")(metrics)

def balance(
    federation: FedOptional = None,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show mutual-credit balances: balance, reserved by open offers, limit, available.

    Example:  coop balance --federation Riverside
    """
    data = econ_view(home, "balances", {"federation": federation, "as_of": as_of_ms(as_of)})
    rows = data["balances"]
    if json_:
        print_json(data)
    elif csv_:
        print_csv(rows, ["federation", "federation_name", "unit", "coop", "coop_name",
                         "balance", "reserved", "limit", "available"])
    else:
        table(f"balances (as of {format_ts(data['as_of'])})", rows, [
            ("federation", lambda r: r["federation_name"]), ("unit", lambda r: r["unit"]),
            ("co-op", lambda r: name_or_key(r, "coop")), ("balance", lambda r: r["balance"]),
            ("reserved", lambda r: r["reserved"]),
            ("limit", lambda r: r["limit"] or "none"),
            ("available", lambda r: r["available"] or "no limit")],
            right=("balance", "reserved", "limit", "available"))


def exceptions(
    federation: FedOptional = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show what the fold flagged (over a credit limit, …) and invalid economic entries.

    Example:  coop exceptions --federation Riverside
    """
    data = econ_view(home, "exceptions", {"federation": federation})
    if json_:
        print_json(data)
        return
    rows = ([{**x, "type": "exception", "detail": x["message"]} for x in data["exceptions"]]
            + [{**i, "type": "invalid"} for i in data["invalid"]])
    if csv_:
        print_csv(rows, ["type", "code", "entry", "coop", "coop_name", "federation",
                         "unit", "value", "bound", "kind", "detail"])
        return
    table(f"{len(data['exceptions'])} exceptions, {len(data['invalid'])} invalid entries",
           rows, [("", lambda r: r["type"]), ("code", lambda r: r["code"]),
                  ("co-op", lambda r: name_or_key(r, "coop")), ("entry", lambda r: r["entry"][:8]),
                  ("detail", lambda r: r["detail"])])


def metrics(
    federation: FedOptional = None,
    period: Annotated[str | None, typer.Option(
        "--period", help="Only this month, YYYY-MM.")] = None,
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Only this co-op's figures (name or key prefix).")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show the sovereignty metrics: how much of the network's needs it meets itself.

    Example:  coop metrics --federation Riverside --period 2026-11
    """
    data = econ_view(home, "metrics", {"federation": federation, "coop": coop,
                                   "period": None if period is None
                                   else parse_month(period, "--period")})
    if json_:
        print_json(data)
        return
    t = Table(title="metrics", title_justify="left")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for key, value in data.items():
        if key not in ("federation", "period", "coop"):
            t.add_row(key.replace("_", " "), json_text(value))
    out.print(t)


def json_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {json_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(json_text(v) for v in value)
    return "-" if value is None else str(value)

