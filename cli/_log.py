"""`coop log labor|material|energy|goods` (SPEC §3): record this
co-op's economic activity, one entry each, written by cli/_writer.py (through the
running node, else the store). `coop log outside` is in cli/_need.py.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import typer

from coopledger.protocol import (
    ENERGY_FLOWS,
    ENERGY_SOURCES,
    GOODS_FLOWS,
    LABOR_CATEGORIES,
    MATERIAL_DIRECTIONS,
    DecimalFormatError,
    Quantity,
)

from ._common import HomeOpt, PassFileOpt
from ._options import NoteOpt, choice
from ._writer import append

log_app = typer.Typer(help="Record economic activity in this co-op's log.\n\n"
                      "Example:  coop log labor --member ana --hours 2 --task weeding",
                      no_args_is_help=True)


DateOpt = Annotated[str | None, typer.Option(
    "--date", help="The day it happened, YYYY-MM-DD. Default: today.")]


def _decimal(text: str, option: str) -> str:
    try:
        return str(Quantity.parse_loose(text))
    except DecimalFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _date(text: str | None) -> str:
    if text is None:
        return datetime.date.today().isoformat()
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise typer.BadParameter("expected a date YYYY-MM-DD", param_hint="--date") from None


@log_app.command("labor")
def log_labor(
    member: Annotated[str, typer.Option("--member", help="Who did the work.")],
    hours: Annotated[str, typer.Option("--hours", help="Hours, exact decimal (1.5, not 1,5).")],
    task: Annotated[str, typer.Option("--task", help="What was done.")],
    category: Annotated[str, typer.Option(
        "--category", help=f"One of: {', '.join(LABOR_CATEGORIES)}.")] = "production",
    date: DateOpt = None,
    paid: Annotated[bool, typer.Option("--paid/--unpaid",
                                       help="Whether the hours were paid.")] = False,
    note: NoteOpt = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record hours of work, paid or unpaid (care and facilitation count too).

    Example:  coop log labor --member ana --hours 2.5 --task "weeding beds" --category care
    """
    append(home, passphrase_file, "labor", {
        "member": member.strip(), "hours": _decimal(hours, "--hours"), "task": task.strip(),
        "category": choice(category, LABOR_CATEGORIES, "--category"), "date": _date(date),
        "paid": True if paid else None, "note": note,
    })


@log_app.command("material")
def log_material(
    item: Annotated[str, typer.Option("--item", help="What material.")],
    quantity: Annotated[str, typer.Option("--quantity", help="How much, exact decimal.")],
    unit: Annotated[str, typer.Option("--unit", help="Unit: kg, m, l, item …")],
    direction: Annotated[str, typer.Option(
        "--direction", help=f"One of: {', '.join(MATERIAL_DIRECTIONS)}.")],
    date: DateOpt = None,
    note: NoteOpt = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record material coming in, going out, or used up.

    Example:  coop log material --item compost --quantity 40 --unit kg --direction in
    """
    append(home, passphrase_file, "material", {
        "item": item.strip(), "quantity": _decimal(quantity, "--quantity"),
        "unit": unit.strip(),
        "direction": choice(direction, MATERIAL_DIRECTIONS, "--direction"),
        "date": _date(date), "note": note,
    })


@log_app.command("energy")
def log_energy(
    kwh: Annotated[str, typer.Option("--kwh", help="Kilowatt-hours, exact decimal.")],
    flow: Annotated[str, typer.Option("--flow", help=f"One of: {', '.join(ENERGY_FLOWS)}.")],
    source: Annotated[str, typer.Option(
        "--source", help=f"One of: {', '.join(ENERGY_SOURCES)}.")],
    date: DateOpt = None,
    note: NoteOpt = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record energy consumed or generated, from local sources or the grid.

    Example:  coop log energy --kwh 12.4 --flow generated --source local
    """
    append(home, passphrase_file, "energy", {
        "kwh": _decimal(kwh, "--kwh"), "flow": choice(flow, ENERGY_FLOWS, "--flow"),
        "source": choice(source, ENERGY_SOURCES, "--source"), "date": _date(date),
        "note": note,
    })


@log_app.command("goods")
def log_goods(
    item: Annotated[str, typer.Option("--item", help="What goods.")],
    quantity: Annotated[str, typer.Option("--quantity", help="How much, exact decimal.")],
    unit: Annotated[str, typer.Option("--unit", help="Unit: kg, item, loaf …")],
    flow: Annotated[str, typer.Option("--flow", help=f"One of: {', '.join(GOODS_FLOWS)}.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="To whom (required when distributed).")] = None,
    date: DateOpt = None,
    note: NoteOpt = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record goods produced or distributed (and to whom).

    Example:  coop log goods --item tomatoes --quantity 25 --unit kg --flow distributed
    --to "food bank"
    """
    choice(flow, GOODS_FLOWS, "--flow")
    if flow == "distributed" and not to:
        raise typer.BadParameter("say to whom goods were distributed", param_hint="--to")
    append(home, passphrase_file, "goods", {
        "item": item.strip(), "quantity": _decimal(quantity, "--quantity"),
        "unit": unit.strip(), "flow": flow, "to": to.strip() if to else None,
        "date": _date(date), "note": note,
    })


