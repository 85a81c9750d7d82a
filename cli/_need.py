"""`coop need declare|met` and `coop log outside` (issue 4, SPEC §12.7,
docs/federations.md): a co-op's needs, where they were met, and its members' wage work
outside co-ops: what the sovereignty metrics (`coop metrics`) are computed from.

Needs are named by at least 8 hex characters of their id. What the economy commands
share is in cli/_economy.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coopledger.node import resolve_id
from coopledger.protocol import NEED_CATEGORIES, NEED_WHERE, Quantity

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail
from ._economy import FedOpt, FreeUnitOpt, PeriodOpt, QtyOpt, group, post_member
from ._options import MandateOpt, choice, opened, parse_month, qty, trimmed
from ._writer import write

need_app = group("Needs and where they were met (for the sovereignty metrics).\n\n"
                 "Example:  coop need declare --federation Riverside --category food "
                 "--quantity 200 --unit kg --period 2026-11")


def register(app: typer.Typer, log_app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app (`outside` joins the `log` group)."""
    app.add_typer(need_app, name="need")
    log_app.command("outside")(log_outside)


@need_app.command("declare")
def need_declare(
    federation: FedOpt,
    category: Annotated[str, typer.Option(
        "--category", help=f"One of: {', '.join(NEED_CATEGORIES)}.")],
    quantity: QtyOpt,
    unit: FreeUnitOpt,
    period: PeriodOpt,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Declare a need of your co-op for a month.

    Example:  coop need declare --federation Riverside --category food --quantity 200
    --unit kg --period 2026-11
    """
    body = {"category": choice(category, NEED_CATEGORIES, "--category"),
            "quantity": str(qty(quantity, "--quantity")), "unit": trimmed(unit, "--unit"),
            "period": parse_month(period, "--period")}
    f = post_member(home, federation)
    write(home, passphrase_file, "need.declare", {"federation": f.id.hex(), **body},
           [f.id], json_, "need",
           mandate=mandate)


@need_app.command("met")
def need_met(
    need: Annotated[str, typer.Option(
        "--need", help="The need: at least 8 hex characters of its id.")],
    where: Annotated[str, typer.Option(
        "--where", help="inside (by the federation) or outside.")],
    quantity: QtyOpt,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record how much of a need your co-op declared was met, inside the network or not.

    Example:  coop need met --need 3f2a9c1e --where inside --quantity 150
    """
    choice(where, NEED_WHERE, "--where")
    amount = qty(quantity, "--quantity")
    with opened(home) as (h, _store, eco, _me):
        need_id = resolve_id(
            eco.needs, need, field="--need", what="need")
        if eco.needs[need_id].author != h.identity:
            fail("--need: only the co-op that declared a need records where it was met")
    write(home, passphrase_file, "need.met",
           {"need": need_id.hex(), "where": where, "quantity": str(amount)}, [need_id],
           json_, "need met",
           mandate=mandate)


def log_outside(
    member: Annotated[str, typer.Option("--member", help="Who worked.")],
    hours: Annotated[str, typer.Option(
        "--hours", help="Hours of wage work outside co-ops in the month (at most 744).")],
    period: PeriodOpt,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record a member's wage work outside co-ops in a month (for the metrics).

    Example:  coop log outside --member ana --hours 60 --period 2026-11
    """
    value = qty(hours, "--hours")
    if value > Quantity(744, 0):
        raise typer.BadParameter("at most 744 (a month of 31 days)", param_hint="--hours")
    body = {"member": trimmed(member, "--member"), "hours": str(value),
            "period": parse_month(period, "--period")}
    write(home, passphrase_file, "labor.outside", body, [], json_, "entry")
