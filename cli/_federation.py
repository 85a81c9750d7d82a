"""`coop federation create|rules|invite|join|leave|show` (issue 4, SPEC §12.1,
docs/federations.md): found a federation, change its rules, invite, join and leave.

Writing commands check first what the fold would refuse (not a member, not the
founder, already a member) and refuse early with one line; whatever gets through
anyway (written offline, raced by another co-op) is still flagged by the fold
(`coop exceptions`). What the economy commands share is in cli/_economy.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import resolve_id
from coopledger.protocol import UNIT_KINDS, UNIT_NAME_PATTERN, Quantity, default_rules_value

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, out, print_csv
from ._economy import (
    FedOpt,
    econ_view,
    find_coop,
    find_federation,
    group,
    require_member,
)
from ._options import (
    CsvOpt,
    NoteOpt,
    choice,
    coop_label,
    name_or_key,
    opened,
    qty,
    read_text,
    trimmed,
)
from ._render import print_json, table
from ._writer import write

if TYPE_CHECKING:
    pass

UNIT_NAME = UNIT_NAME_PATTERN
default_rules = default_rules_value  # SPEC §12.1's defaults, as `federation create` writes

UnitsOpt = Annotated[list[str] | None, typer.Option(
    "--unit", help="A unit NAME:SYMBOL:DECIMALS:KIND[:CREDIT_LIMIT] (kind: time, energy, "
    "mass, count, credit); repeatable; replaces the units.")]
LimitOpt = Annotated[list[str] | None, typer.Option(
    "--credit-limit", help="UNIT=AMOUNT (or UNIT=none): a unit's credit limit; repeatable.")]
ShareOpt = Annotated[str | None, typer.Option(
    "--fund-share", help="Share of declared surplus due to the fund, 0 to 1 (default 0.1).")]
ExpiryDaysOpt = Annotated[int | None, typer.Option(
    "--offer-expiry-days", help="Days an offer stays open by default, 1 to 365 (default 14).")]

federation_app = group("Federations of co-ops: create, invite, join, leave, rules.\n\n"
                       "Example:  coop federation show")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(federation_app, name="federation")


# -- coop federation ------------------------------------------------------------------------


def _rules(base: dict[str, Any], units: list[str] | None, limits: list[str] | None,
           share: str | None, days: int | None) -> dict[str, Any]:
    """``base`` changed by the options (checked as the kind's schema will check it)."""
    rules = {"units": [dict(u) for u in base["units"]], "fund_share": base["fund_share"],
             "offer_expiry_days": base["offer_expiry_days"]}
    if units:
        rules["units"] = []
        for spec in units:
            parts = spec.split(":")
            if len(parts) not in (4, 5):
                raise typer.BadParameter("expected NAME:SYMBOL:DECIMALS:KIND[:CREDIT_LIMIT], "
                                         "e.g. hour:h:2:time:40", param_hint="--unit")
            name, symbol, decimals, kind = (p.strip() for p in parts[:4])
            if not UNIT_NAME.fullmatch(name):
                raise typer.BadParameter(f"unit name {name[:32]!r}: lower-case letters, "
                                         "digits, - and _, starting with a letter",
                                         param_hint="--unit")
            if any(u["name"] == name for u in rules["units"]):
                raise typer.BadParameter(f"unit {name} is given twice", param_hint="--unit")
            if not symbol or len(symbol) > 16:
                raise typer.BadParameter("a symbol of 1 to 16 characters",
                                         param_hint="--unit")
            if not decimals.isdigit() or int(decimals) > 9:
                raise typer.BadParameter("decimals: 0 to 9", param_hint="--unit")
            choice(kind, UNIT_KINDS, "--unit")
            unit: dict[str, Any] = {"name": name, "symbol": symbol,
                                    "decimals": int(decimals), "kind": kind}
            if len(parts) == 5:
                unit["credit_limit"] = str(qty(parts[4], "--unit", zero_ok=True))
            rules["units"].append(unit)
        if len(rules["units"]) > 32:
            raise typer.BadParameter("at most 32 units", param_hint="--unit")
    for spec in limits or ():
        name, sep, amount = spec.partition("=")
        unit_ = next((u for u in rules["units"] if u["name"] == name.strip()), None)
        if not sep or unit_ is None:
            raise typer.BadParameter("expected UNIT=AMOUNT (or UNIT=none) for a unit of "
                                     "the rules", param_hint="--credit-limit")
        if amount.strip() == "none":
            unit_.pop("credit_limit", None)
        else:
            unit_["credit_limit"] = str(qty(amount, "--credit-limit", zero_ok=True))
    for u in rules["units"]:
        if "credit_limit" in u and u["kind"] not in ("time", "credit"):
            raise typer.BadParameter(f"unit {u['name']} is of kind {u['kind']}: only time "
                                     "and credit units have a credit limit",
                                     param_hint="--credit-limit")
    if share is not None:
        value = qty(share, "--fund-share", zero_ok=True)
        if value > Quantity(1, 0):
            raise typer.BadParameter("a share from 0 to 1", param_hint="--fund-share")
        rules["fund_share"] = str(value)
    if days is not None:
        if not 1 <= days <= 365:
            raise typer.BadParameter("1 to 365 days", param_hint="--offer-expiry-days")
        rules["offer_expiry_days"] = days
    return rules



@federation_app.command("create")
def federation_create(
    name: Annotated[str, typer.Option("--name", help="The federation's name.")],
    charter: Annotated[str | None, typer.Option(
        "--charter", help="The charter, as text.")] = None,
    charter_file: Annotated[Path | None, typer.Option(
        "--charter-file", help="A UTF-8 file holding the charter.")] = None,
    unit: UnitsOpt = None,
    credit_limit: LimitOpt = None,
    fund_share: ShareOpt = None,
    offer_expiry_days: ExpiryDaysOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Found a federation: its name, charter and rules; your co-op is its first member.

    Without --unit the units are hour (2 decimals, credit limit 40), kwh, kg and item.

    Example:  coop federation create --name Riverside --charter-file charter.md
    --credit-limit hour=60
    """
    if (charter is None) == (charter_file is None):
        raise typer.BadParameter("give the charter as --charter TEXT or --charter-file FILE",
                                 param_hint="--charter")
    if charter_file is not None:
        charter = read_text(charter_file, "--charter-file")
    assert charter is not None
    body = {"name": trimmed(name, "--name"), "charter": trimmed(charter, "--charter"),
            "rules": _rules(default_rules(), unit, credit_limit, fund_share,
                            offer_expiry_days)}
    write(home, passphrase_file, "federation.create", body, [], json_, "federation")


@federation_app.command("rules")
def federation_rules(
    federation: FedOpt,
    unit: UnitsOpt = None,
    credit_limit: LimitOpt = None,
    fund_share: ShareOpt = None,
    offer_expiry_days: ExpiryDaysOpt = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Change a federation's rules (founder only); what is not given stays as it is.

    Example:  coop federation rules --federation Riverside --credit-limit hour=80
    """
    with opened(home) as (h, _store, eco, _me):
        f = find_federation(eco, federation)
        if f.founder != h.identity:
            fail(f"only the founder of {f.name!r} can change its rules")
        base = f.rules.to_value()
    if not (unit or credit_limit or fund_share is not None or offer_expiry_days is not None):
        raise typer.BadParameter("nothing to change: give --unit, --credit-limit, "
                                 "--fund-share or --offer-expiry-days", param_hint="--unit")
    body = {"federation": f.id.hex(), "note": note,
            "rules": _rules(base, unit, credit_limit, fund_share, offer_expiry_days)}
    write(home, passphrase_file, "federation.rules", body, [f.id], json_, "rules")


@federation_app.command("invite")
def federation_invite(
    federation: FedOpt,
    coop: Annotated[str, typer.Option(
        "--coop", help="The co-op to invite: its name or key (at least 8 hex characters).")],
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Invite a co-op into a federation your co-op is a member of.

    Example:  coop federation invite --federation Riverside --coop "Corner Bakery"
    """
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
        invitee = find_coop(store, coop, "--coop")
        if f.is_member(invitee):
            fail(f"--coop: {coop_label(store, invitee)} is already a member of {f.name!r}")
    body = {"federation": f.id.hex(), "invitee": invitee.hex(), "note": note}
    write(home, passphrase_file, "federation.invite", body, [f.id], json_, "invite")


@federation_app.command("join")
def federation_join(
    invite: Annotated[str | None, typer.Option(
        "--invite", help="The invite: at least 8 hex characters of its id.")] = None,
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Or the federation (name or id prefix) whose pending "
        "invite to join.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Join a federation your co-op was invited to.

    Example:  coop federation join --federation Riverside
    """
    if (invite is None) == (federation is None):
        raise typer.BadParameter("give --invite ID or --federation NAME", param_hint="--invite")
    with opened(home) as (h, _store, eco, _me):
        if federation is not None:
            f = find_federation(eco, federation)
            if f.is_member(h.identity):
                fail(f"your co-op is already a member of {f.name!r}")
            if h.identity not in f.invited:
                fail(f"--federation: your co-op has no pending invite to {f.name!r}")
            invite_id = f.invited[h.identity]
        else:
            assert invite is not None
            mine = {inv: fed for fed in eco.federations.values()
                    for coop, inv in fed.invited.items() if coop == h.identity}
            invite_id = resolve_id(
                mine, invite, field="--invite", what="pending invite to your co-op")
            f = mine[invite_id]
    body = {"federation": f.id.hex(), "invite": invite_id.hex()}
    write(home, passphrase_file, "federation.join", body, [f.id, invite_id], json_, "join")


@federation_app.command("leave")
def federation_leave(
    federation: FedOpt,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Leave a federation (a new invite lets your co-op rejoin).

    Example:  coop federation leave --federation Riverside --note "we are merging"
    """
    with opened(home) as (h, store, eco, _me):
        f = find_federation(eco, federation)
        require_member(store, f, h.identity)
    body = {"federation": f.id.hex(), "note": note}
    write(home, passphrase_file, "federation.leave", body, [f.id], json_, "leave")


@federation_app.command("show")
def federation_show(
    federation: Annotated[str | None, typer.Argument(
        help="The federation (name or id prefix). Without it: the federations your co-op "
        "is in or invited to.", show_default=False)] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show a federation (charter, rules, members, invites), or list yours.

    Example:  coop federation show Riverside
    """
    if federation is None:
        data = econ_view(home, "federations", {})
        rows = data["federations"]
        cols = ["federation", "name", "role", "invite", "founder", "founder_name",
                "members", "created"]
        if json_:
            print_json(data)
        elif csv_:
            print_csv(rows, cols)
        elif not rows:
            out.print("Your co-op is in no federation and has no invite "
                      "(coop federation create, or ask a member to invite you).")
        else:
            table(f"{len(rows)} federations", rows, [
                ("federation", lambda r: r["name"]), ("id", lambda r: r["federation"][:8]),
                ("your co-op", lambda r: r["role"] + (f" (invite {r['invite'][:8]})"
                                                      if r["invite"] else "")),
                ("founder", lambda r: name_or_key(r, "founder")),
                ("members", lambda r: r["members"]),
                ("since", lambda r: format_ts(r["created"]))], right=("members",))
        return
    data = econ_view(home, "federation", {"federation": federation})
    if json_:
        print_json(data)
        return
    if csv_:
        print_csv([{**m, "status": "member"} for m in data["members"]]
                  + [{**m, "status": "past"} for m in data["past_members"]]
                  + [{**i, "status": "invited"} for i in data["invites"]],
                  ["coop", "coop_name", "status", "since", "until", "invite"])
        return
    out.print(f"{data['name']}  (federation {data['id']})")
    out.print(f"  founded by {name_or_key(data, 'founder')} at {format_ts(data['created'])}")
    out.print("\nCharter:")
    for line in data["charter"].splitlines():
        out.print(f"  {line}")
    r = data["rules"]
    table(f"rules: fund share {r['fund_share']}, offers expire after "
           f"{r['offer_expiry_days']} days", r["units"], [
               ("unit", lambda u: u["name"]), ("symbol", lambda u: u["symbol"]),
               ("decimals", lambda u: u["decimals"]), ("kind", lambda u: u["kind"]),
               ("credit limit", lambda u: u["credit_limit"])], right=("credit limit",))
    table(f"{len(data['members'])} members", data["members"], [
        ("co-op", lambda m: name_or_key(m, "coop")),
        ("member since", lambda m: format_ts(m["since"]))])
    if data["invites"]:
        table("pending invites", data["invites"], [
            ("co-op", lambda i: name_or_key(i, "coop")), ("invite", lambda i: i["invite"][:8])])

