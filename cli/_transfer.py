"""`coop transfer offer|accept|decline|list` (issue 4, SPEC §12.4, docs/federations.md):
mutual-credit transfers and goods in kind between member co-ops of a federation.

An offer reserves its amount until the receiver accepts or declines it, or it lapses.
Offers are named by at least 8 hex characters of their id; co-ops by name or key
prefix. What the economy commands share is in cli/_economy.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coopledger.node import now_ms, resolve_id

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, print_csv
from ._economy import (
    AsOfOpt,
    FedOpt,
    FedOptional,
    checked_amount,
    econ_view,
    expiry,
    find_coop,
    find_federation,
    group,
    items_text,
    parse_items,
    require_member,
)
from ._options import (
    CsvOpt,
    MandateOpt,
    NoteOpt,
    as_of_ms,
    coop_label,
    name_or_key,
    opened,
    trimmed,
)
from ._render import print_json, table
from ._writer import write

transfer_app = group("Transfers between co-ops: offer, accept, decline, list.\n\n"
                     "Example:  coop transfer list --open")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(transfer_app, name="transfer")


@transfer_app.command("offer")
def transfer_offer(
    federation: FedOpt,
    to: Annotated[str, typer.Option("--to", help="The receiving co-op: name or key prefix.")],
    purpose: Annotated[str, typer.Option("--for", help="What the transfer is for.")],
    amount: Annotated[str | None, typer.Option(
        "--amount", help="How much, an exact decimal in --unit.")] = None,
    unit: Annotated[str | None, typer.Option(
        "--unit", help="A unit of the federation's rules (hour, kwh …).")] = None,
    item: Annotated[list[str] | None, typer.Option(
        "--item", help="Goods in kind, ITEM:QUANTITY:UNIT (bread:12:loaf); repeatable.")
    ] = None,
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", help="Open for this long: 14d, 36h. Default: the federation's "
        "offer expiry.")] = None,
    expires: Annotated[str | None, typer.Option(
        "--expires", help="Open until this date (its end) or date-time.")] = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Offer a transfer to another co-op: the amount is reserved until it accepts.

    Example:  coop transfer offer --federation Riverside --to "Corner Bakery" --amount 5
    --unit hour --for "oven repair"
    """
    if (amount is None) != (unit is None):
        raise typer.BadParameter("--amount and --unit come together", param_hint="--amount")
    items = parse_items(item or [])
    if amount is None and not items:
        raise typer.BadParameter("give --amount with --unit, or --item", param_hint="--amount")
    if len(items) > 50:
        raise typer.BadParameter("at most 50 items", param_hint="--item")
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
        receiver = find_coop(store, to, "--to")
        if receiver == h.identity:
            fail("--to: a co-op cannot transfer to itself")
        require_member(store, f, receiver, "--to")
        checked = checked_amount(f, amount, unit) if amount is not None and unit else None
        until = expiry(expires_in, expires, f.rules.offer_expiry_days)
    body: dict[str, Any] = {
        "federation": f.id.hex(), "to": receiver.hex(), "purpose": trimmed(purpose, "--for"),
        "expires": until, "items": items or None,
        "amount": checked[0] if checked else None, "unit": checked[1] if checked else None}
    write(home, passphrase_file, "transfer.offer", body, [f.id], json_, "offer",
           mandate=mandate)


def _close(home: Path | None, passphrase_file: Path | None, offer: str, kind: str,
           note: str | None, json_: bool, mandate: str | None) -> None:
    with opened(home) as (h, store, eco, _me):
        offer_id = resolve_id(
            eco.transfers, offer, field="OFFER", what="offer")
        t = eco.transfers[offer_id]
        if t.receiver != h.identity:
            fail(f"OFFER: this offer is to {coop_label(store, t.receiver)}, not to your co-op")
        if t.status == "accepted":
            fail("OFFER: this offer was already accepted")
        if t.status == "declined":
            fail("OFFER: this offer was already declined")
        if kind == "transfer.accept":
            if now_ms() > t.expires:
                fail(f"OFFER: this offer expired at {format_ts(t.expires)}")
            f = eco.federations[t.federation]
            require_member(store, f, h.identity)
    write(home, passphrase_file, kind, {"offer": offer_id.hex(), "note": note}, [offer_id],
           json_, kind.split(".")[1], mandate=mandate)


OfferArg = Annotated[str, typer.Argument(
    help="The offer (or sprint allocation): at least 8 hex characters of its id.",
    show_default=False)]


@transfer_app.command("accept")
def transfer_accept(
    offer: OfferArg,
    note: NoteOpt = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Accept an offer made to your co-op: the transfer completes on both sides.

    Example:  coop transfer accept 3f2a9c1e
    """
    _close(home, passphrase_file, offer, "transfer.accept", note, json_, mandate)


@transfer_app.command("decline")
def transfer_decline(
    offer: OfferArg,
    note: NoteOpt = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Decline an offer made to your co-op: it closes and reserves nothing more.

    Example:  coop transfer decline 3f2a9c1e --note "we have enough bread"
    """
    _close(home, passphrase_file, offer, "transfer.decline", note, json_, mandate)


TRANSFER_COLS = ["id", "federation", "federation_name", "origin", "from", "from_name", "to",
                 "to_name", "direction", "amount", "unit", "items", "purpose", "ts",
                 "expires", "status", "closed_by"]


@transfer_app.command("list")
def transfer_list(
    federation: FedOptional = None,
    open_: Annotated[bool, typer.Option("--open", help="Only offers still open.")] = False,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """List transfers of your federations, with their status at a time.

    A status is open, lapsed (open past its expiry), accepted or declined.

    Example:  coop transfer list --federation Riverside --open
    """
    data = econ_view(home, "transfers", {"federation": federation, "as_of": as_of_ms(as_of),
                                     "open": "true" if open_ else None})
    rows = data["transfers"]
    if json_:
        print_json(data)
    elif csv_:
        print_csv([{**r, "items": items_text(r["items"])} for r in rows], TRANSFER_COLS)
    else:
        table(f"{len(rows)} transfers (as of {format_ts(data['as_of'])})", rows, [
            ("id", lambda r: r["id"][:8]), ("federation", lambda r: r["federation_name"]),
            ("", lambda r: r["direction"] or ""), ("from", lambda r: name_or_key(r, "from")),
            ("to", lambda r: name_or_key(r, "to")),
            ("amount", lambda r: " ".join(filter(None, (
                f"{r['amount']} {r['unit']}" if r["amount"] else "",
                items_text(r["items"]))))),
            ("for", lambda r: r["purpose"]), ("expires", lambda r: format_ts(r["expires"])),
            ("status", lambda r: r["status"])])

