"""What the economy's commands share (issue 4; SPEC §12, docs/federations.md): the
options naming a federation, a time or a month; resolving federations and co-ops and
refusing early what the fold would refuse (not a member, unknown unit, too many
decimals); and ``econ_view``, the views of node/_econview.py.

Views (`show`, `list`, `balance`, `board`, …) are node/_econview.py's documents: taken
from the running node's API when one runs, else computed on the store here, so
``--json`` prints the same either way. Federations, offers, invites, grants and needs
are named by a unique id prefix of at least 8 hex characters (federations also by
name); co-ops by name or key prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import (
    Store,
    now_ms,
    resolve_coop,
    resolve_federation,
)

from ._common import fail, parse_time
from ._options import DAY_MS, coop_label, opened, qty
from ._views import fetch

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Federation

# -- options ----------------------------------------------------------------------------

FedOpt = Annotated[str, typer.Option(
    "--federation", help="The federation: its name, or at least 8 hex characters of its id.")]
FedOptional = Annotated[str | None, typer.Option(
    "--federation", help="Only this federation (name or id prefix). Default: every "
    "federation your co-op is in.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Judge expiry at this time: a date (its end), a date-time (UTC unless "
    "an offset is given) or milliseconds. Default: now.")]
PeriodOpt = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]
QtyOpt = Annotated[str, typer.Option("--quantity", help="How much, an exact decimal.")]
FreeUnitOpt = Annotated[str, typer.Option("--unit", help="Its unit: kg, item, hour …")]


def group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True)


# -- option values ------------------------------------------------------------------------


def expiry(expires_in: str | None, expires: str | None, days: int) -> int:
    if expires_in is not None and expires is not None:
        raise typer.BadParameter("give --expires-in or --expires, not both",
                                 param_hint="--expires")
    if expires is not None:
        at = parse_time(expires, option="--expires", end_of_day=True)
        if at <= now_ms():
            raise typer.BadParameter("must be in the future", param_hint="--expires")
        return at
    if expires_in is None:
        return now_ms() + days * DAY_MS
    m = re.fullmatch(r"([0-9]{1,4})([dh])", expires_in.strip())
    if not m or int(m.group(1)) == 0:
        raise typer.BadParameter("expected a number of days or hours: 14d, 36h",
                                 param_hint="--expires-in")
    return now_ms() + int(m.group(1)) * (DAY_MS if m.group(2) == "d" else 3_600_000)


def parse_items(specs: Sequence[str]) -> list[dict[str, str]]:
    items = []
    for spec in specs:
        parts = spec.rsplit(":", 2)
        if len(parts) != 3 or not parts[0].strip() or not parts[2].strip():
            raise typer.BadParameter("expected ITEM:QUANTITY:UNIT, e.g. bread:12:loaf",
                                     param_hint="--item")
        items.append({"item": parts[0].strip(),
                      "quantity": str(qty(parts[1], "--item")), "unit": parts[2].strip()})
    return items


def items_text(items: list[dict[str, str]]) -> str:
    return "; ".join(f"{i['quantity']} {i['unit']} {i['item']}" for i in items)


# -- federations and co-ops ---------------------------------------------------------------


def find_federation(eco: Economy, text: str, option: str = "--federation") -> Federation:
    return eco.federations[resolve_federation(eco, text, field=option)]


def find_coop(store: Store, text: str, option: str) -> bytes:
    """A co-op by name or key prefix; any key of a co-op names the co-op (SPEC §13.2)."""
    key = resolve_coop(store, text, field=option)
    return store.state().economy().gov.ids.identity_of(key)


def require_member(store: Store, f: Federation, coop: bytes, option: str | None = None
                   ) -> None:
    """Refuse unless ``coop`` is a member of ``f`` now (the fold's not-a-member)."""
    if f.is_member(coop):
        return
    if option is None:
        fail(f"your co-op is not a member of federation {f.name!r}")
    fail(f"{option}: {coop_label(store, coop)} is not a member of federation {f.name!r}")


def post_member(home: Path | None, federation: str) -> Federation:
    """The federation ``federation``, if this home's co-op is a member of it now."""
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
    return f


def checked_amount(f: Federation, amount: str, unit: str, option: str = "--amount"
                   ) -> tuple[str, str]:
    """(amount, unit) checked against the federation's rules in force."""
    u = f.rules.unit(unit)
    if u is None:
        names = ", ".join(x.name for x in f.rules.units)
        fail(f"--unit: federation {f.name!r} has no unit {unit[:32]!r} (its units: {names})")
    value = qty(amount, option)
    if value.scale > u.decimals:
        fail(f"{option}: {value} has {value.scale} decimal places; {u.name} allows at "
             f"most {u.decimals}")
    return str(value), u.name


# -- views: through the node when one runs, else here ------------------------------------

def econ_view(home: Path | None, view: str, params: dict[str, str | None]) -> dict[str, Any]:
    """An economy view of the one view table: cli/_views.fetch, the fetcher of every
    view (kept under this name for the economy's commands)."""
    return fetch(home, view, params)
