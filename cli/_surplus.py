"""`coop surplus offer|request|board` and `coop sprint allocate` (issue 4, SPEC §12.4,
docs/federations.md): the federation's board of surplus goods, tools and labour, and
the monthly sprints that allocate an offer to a request.

Offers and requests are named by at least 8 hex characters of their id. What the
economy commands share is in cli/_economy.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coopledger.node import resolve_id
from coopledger.protocol import SURPLUS_WHAT

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, print_csv
from ._economy import (
    AsOfOpt,
    FedOpt,
    FreeUnitOpt,
    QtyOpt,
    econ_view,
    expiry,
    group,
    post_member,
    require_member,
)
from ._options import (
    CsvOpt,
    MandateOpt,
    as_of_ms,
    choice,
    name_or_key,
    opened,
    parse_day,
    parse_month,
    qty,
    trimmed,
)
from ._render import print_json, table
from ._writer import write

surplus_app = group("The surplus board: offers and requests of goods, tools, labour.\n\n"
                    "Example:  coop surplus board --federation Riverside")
sprint_app = group("Monthly surplus sprints: allocate an offer to a request.\n\n"
                   "Example:  coop sprint allocate --offer 3f2a9c1e --request 9b1c0d2e "
                   "--quantity 10 --sprint 2026-11")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(surplus_app, name="surplus")
    app.add_typer(sprint_app, name="sprint")


UntilOpt = Annotated[str, typer.Option("--until", help="Open until this day, YYYY-MM-DD.")]


@surplus_app.command("offer")
def surplus_offer(
    federation: FedOpt,
    what: Annotated[str, typer.Option("--what", help=f"One of: {', '.join(SURPLUS_WHAT)}.")],
    item: Annotated[str, typer.Option("--item", help="What is on offer.")],
    quantity: QtyOpt,
    unit: FreeUnitOpt,
    until: UntilOpt,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Put surplus goods, a tool or labour on the federation's board.

    Example:  coop surplus offer --federation Riverside --what goods --item apples
    --quantity 80 --unit kg --until 2026-11-30
    """
    body = {"what": choice(what, SURPLUS_WHAT, "--what"), "item": trimmed(item, "--item"),
            "quantity": str(qty(quantity, "--quantity")), "unit": trimmed(unit, "--unit"),
            "until": parse_day(until, "--until")}
    f = post_member(home, federation)
    write(home, passphrase_file, "surplus.offer", {"federation": f.id.hex(), **body},
           [f.id], json_, "surplus offer",
           mandate=mandate)


@surplus_app.command("request")
def surplus_request(
    federation: FedOpt,
    item: Annotated[str, typer.Option("--item", help="What your co-op needs.")],
    quantity: QtyOpt,
    unit: FreeUnitOpt,
    until: UntilOpt,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Ask the federation's board for something your co-op needs.

    Example:  coop surplus request --federation Riverside --item apples --quantity 30
    --unit kg --until 2026-11-30
    """
    body = {"item": trimmed(item, "--item"), "quantity": str(qty(quantity, "--quantity")),
            "unit": trimmed(unit, "--unit"), "until": parse_day(until, "--until")}
    f = post_member(home, federation)
    write(home, passphrase_file, "surplus.request", {"federation": f.id.hex(), **body},
           [f.id], json_, "surplus request",
           mandate=mandate)


@surplus_app.command("board")
def surplus_board(
    federation: FedOpt,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show the surplus board: open offers and requests, matches, sprint allocations.

    Example:  coop surplus board --federation Riverside --csv
    """
    data = econ_view(home, "board", {"federation": federation, "as_of": as_of_ms(as_of)})
    if json_:
        print_json(data)
        return
    rows = ([{**o, "side": "offer"} for o in data["offers"]]
            + [{**r, "side": "request"} for r in data["requests"]])
    if csv_:
        print_csv(rows, ["side", "id", "coop", "coop_name", "what", "item", "quantity",
                         "unit", "until", "allocated", "left"])
        return
    table(f"board of {data['federation_name']} (as of {format_ts(data['as_of'])})", rows, [
        ("", lambda r: r["side"]), ("id", lambda r: r["id"][:8]),
        ("co-op", lambda r: name_or_key(r, "coop")),
        ("what", lambda r: f"{r['item']} ({r['what']})" if "what" in r else r["item"]),
        ("left", lambda r: f"{r['left']} of {r['quantity']} {r['unit']}"),
        ("until", lambda r: r["until"])])
    if data["matches"]:
        table("matches (offer → request)", data["matches"], [
            ("offer", lambda m: m["offer"][:8]), ("request", lambda m: m["request"][:8])])
    for sprint, allocs in data["sprints"].items():
        table(f"sprint {sprint}", allocs, [
            ("allocation", lambda a: a["id"][:8]), ("offer", lambda a: a["offer"][:8]),
            ("request", lambda a: a["request"][:8]), ("quantity", lambda a: a["quantity"]),
            ("status", lambda a: a["status"])])


@sprint_app.command("allocate")
def sprint_allocate(
    offer: Annotated[str, typer.Option(
        "--offer", help="The surplus offer: at least 8 hex characters of its id.")],
    request: Annotated[str, typer.Option(
        "--request", help="The surplus request: at least 8 hex characters of its id.")],
    quantity: Annotated[str, typer.Option("--quantity", help="How much of the offer.")],
    sprint: Annotated[str, typer.Option("--sprint", help="The sprint's month, YYYY-MM.")],
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", help="The receiver has this long to accept: 14d, 36h. Default: "
        "the federation's offer expiry.")] = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Give part of a surplus offer to a request (the requester then accepts it).

    The requesting co-op confirms the allocation with `coop transfer accept ID`.

    Example:  coop sprint allocate --offer 3f2a9c1e --request 9b1c0d2e --quantity 30
    --sprint 2026-11
    """
    amount = qty(quantity, "--quantity")
    month = parse_month(sprint, "--sprint")
    with opened(home) as (h, store, eco, _me):
        offer_id = resolve_id(
            eco.surplus_offers, offer, field="--offer", what="surplus offer")
        request_id = resolve_id(
            eco.surplus_requests, request, field="--request", what="surplus request")
        o, r = eco.surplus_offers[offer_id], eco.surplus_requests[request_id]
        if o.federation != r.federation:
            fail("--request: the request is in another federation than the offer")
        f = eco.federations[o.federation]
        require_member(store, f, h.identity)
        for what, x in (("offer", o), ("request", r)):
            left = x.quantity - x.allocated
            if amount > left:
                fail(f"--quantity: only {left} {x.unit} of the {what} is left to allocate")
        until = expiry(expires_in, None, f.rules.offer_expiry_days)
    body = {"offer": offer_id.hex(), "request": request_id.hex(), "quantity": str(amount),
            "sprint": month, "expires": until}
    write(home, passphrase_file, "sprint.allocate", body, [offer_id, request_id], json_,
           "allocation",
           mandate=mandate)

