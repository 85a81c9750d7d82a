"""Federations and the co-op economy on the command line (issue 4): `coop federation`,
`coop transfer`, `coop balance`, `coop surplus`, `coop sprint`, `coop fund`,
`coop need`, `coop log outside`, `coop exceptions`, `coop metrics`.

Views (`show`, `list`, `balance`, `board`, …) are node/_econview.py's documents: taken
from the running node's API when one runs, else computed on the store here, so
``--json`` prints the same either way. Writing commands check first what the fold
would refuse (not a member, unknown unit, too many decimals, an offer already taken
or lapsed) and refuse early with one line; whatever gets through anyway (written
offline, raced by another co-op) is still flagged by the fold (`coop exceptions`).
Federations, offers, invites, grants and needs are named by a unique id prefix of at
least 8 hex characters (federations also by name); co-ops by name or key prefix.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from coopledger.node import Home, Store, now_ms
from coopledger.node import _econview as econview
from coopledger.protocol import (
    GRANT_OUTCOMES,
    NEED_CATEGORIES,
    NEED_WHERE,
    SURPLUS_WHAT,
    UNIT_KINDS,
    UNIT_NAME_PATTERN,
    DecimalFormatError,
    Quantity,
    default_rules_value,
)

from ._client import ApiFailure, running_node
from ._common import (
    HomeOpt,
    JsonOpt,
    PassFileOpt,
    fail,
    format_ts,
    open_home,
    out,
    parse_time,
    print_csv,
)
from ._render import entry_json, print_json

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Federation

DAY_MS = 86_400_000
UNIT_NAME = UNIT_NAME_PATTERN
default_rules = default_rules_value  # SPEC §12.1's defaults, as `federation create` writes


# -- options ----------------------------------------------------------------------------

FedOpt = Annotated[str, typer.Option(
    "--federation", help="The federation: its name, or at least 8 hex characters of its id.")]
FedOptional = Annotated[str | None, typer.Option(
    "--federation", help="Only this federation (name or id prefix). Default: every "
    "federation your co-op is in.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (for spreadsheets).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Judge expiry at this time: a date (its end), a date-time (UTC unless "
    "an offset is given) or milliseconds. Default: now.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Free text, kept with the entry.")]
UnitsOpt = Annotated[list[str] | None, typer.Option(
    "--unit", help="A unit NAME:SYMBOL:DECIMALS:KIND[:CREDIT_LIMIT] (kind: time, energy, "
    "mass, count, credit); repeatable; replaces the units.")]
LimitOpt = Annotated[list[str] | None, typer.Option(
    "--credit-limit", help="UNIT=AMOUNT (or UNIT=none): a unit's credit limit; repeatable.")]
ShareOpt = Annotated[str | None, typer.Option(
    "--fund-share", help="Share of declared surplus due to the fund, 0 to 1 (default 0.1).")]
ExpiryDaysOpt = Annotated[int | None, typer.Option(
    "--offer-expiry-days", help="Days an offer stays open by default, 1 to 365 (default 14).")]


# -- small parsers ----------------------------------------------------------------------


def _qty(text: str, option: str, *, zero_ok: bool = False) -> Quantity:
    try:
        value = Quantity.parse_loose(text)
    except DecimalFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    if value.units < 0 or (value.units == 0 and not zero_ok):
        raise typer.BadParameter("must be more than 0" if not zero_ok else
                                 "must not be negative", param_hint=option)
    return value


def _text(value: str, option: str) -> str:
    value = value.strip()
    if not value:
        raise typer.BadParameter("must not be empty", param_hint=option)
    return value


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"must be one of {', '.join(choices)}", param_hint=option)
    return value


def _day(text: str, option: str) -> str:
    try:
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise typer.BadParameter("expected a date YYYY-MM-DD", param_hint=option) from None


def _period(text: str, option: str) -> str:
    try:
        return econview.check_period(text.strip())
    except econview.LookupFailed as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


def _expiry(expires_in: str | None, expires: str | None, days: int) -> int:
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


def _items(specs: Sequence[str]) -> list[dict[str, str]]:
    items = []
    for spec in specs:
        parts = spec.rsplit(":", 2)
        if len(parts) != 3 or not parts[0].strip() or not parts[2].strip():
            raise typer.BadParameter("expected ITEM:QUANTITY:UNIT, e.g. bread:12:loaf",
                                     param_hint="--item")
        items.append({"item": parts[0].strip(),
                      "quantity": str(_qty(parts[1], "--item")), "unit": parts[2].strip()})
    return items


# -- the store and the economy ------------------------------------------------------------


@contextmanager
def _economy(home: Path | None) -> Iterator[tuple[Home, Store, Economy]]:
    """The home, its store and the economy now (writing commands check against it)."""
    h = open_home(home)
    with h.open_store() as store:
        yield h, store, econview.economy(store)


def _lookup(fn: Callable[[], bytes], option: str) -> bytes:
    try:
        return fn()
    except econview.LookupFailed as exc:
        fail(f"{option}: {exc.message}")


def _federation(eco: Economy, text: str, option: str = "--federation") -> Federation:
    return eco.federations[_lookup(lambda: econview.resolve_federation(eco, text), option)]


def _coop(store: Store, text: str, option: str) -> bytes:
    """A co-op by name or key prefix; any key of a co-op names the co-op (SPEC §13.2)."""
    key = _lookup(lambda: econview.resolve_coop(store, text, field=option), option)
    return econview.economy(store).gov.ids.identity_of(key)


def _name(store: Store, coop: bytes) -> str:
    st = store.state().authors.get(coop)
    return f"{st.name} ({coop[:4].hex()})" if st and st.name else coop[:8].hex()


def _member(store: Store, f: Federation, coop: bytes, option: str | None = None) -> None:
    """Refuse unless ``coop`` is a member of ``f`` now (the fold's not-a-member)."""
    if f.is_member(coop):
        return
    if option is None:
        fail(f"your co-op is not a member of federation {f.name!r}")
    fail(f"{option}: {_name(store, coop)} is not a member of federation {f.name!r}")


def _amount(f: Federation, amount: str, unit: str, option: str = "--amount"
            ) -> tuple[str, str]:
    """(amount, unit) checked against the federation's rules in force."""
    u = f.rules.unit(unit)
    if u is None:
        names = ", ".join(x.name for x in f.rules.units)
        fail(f"--unit: federation {f.name!r} has no unit {unit[:32]!r} (its units: {names})")
    value = _qty(amount, option)
    if value.scale > u.decimals:
        fail(f"{option}: {value} has {value.scale} decimal places; {u.name} allows at "
             f"most {u.decimals}")
    return str(value), u.name


def _write(home: Path | None, passphrase_file: Path | None, kind: str,
           body: dict[str, Any], refs: list[bytes], json_: bool, what: str, *,
           mandate: str | None = None) -> None:
    """Append (through the node when it runs). ``mandate``: a delegate's ``--mandate``,
    the mandate the entry acts under, added to its refs (SPEC §13.4)."""
    from . import _app  # _app imports this module at start-up
    from ._mandates import mandate_refs  # imports this module

    if mandate is not None:
        with open_home(home).open_store() as store:
            refs = [*refs, *mandate_refs(store, mandate)]

    entry = _app._append(home, passphrase_file, kind, body, refs, echo=False)
    if json_:
        print_json(entry_json(entry))
    else:
        out.print(f"Recorded {kind} #{entry.seq}")
        out.print(f"  {what} id: {entry.id.hex()}")


# -- views: through the node when one runs, else here ------------------------------------

_OPTION = {"federation": "--federation", "coop": "--coop", "as_of": "--as-of",
           "period": "--period", "open": "--open"}


def _view(home: Path | None, view: str, params: dict[str, str | None]) -> dict[str, Any]:
    query = {k: v for k, v in params.items() if v is not None}
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        path = "/v1/federations" if view == "federations" else f"/v1/{view}"
        if view == "federation":
            path = "/v1/federations/" + urllib.parse.quote(query.pop("federation"), safe="")
        if query:
            path += "?" + urllib.parse.urlencode(query)
        try:
            data: dict[str, Any] = client.get(path)
        except ApiFailure as exc:
            if exc.field:
                msg = exc.message.removeprefix(f"{exc.field}: ")
                fail(f"{_OPTION.get(exc.field, exc.field)}: {msg}")
            raise
        return data
    with h.open_store() as store:
        try:
            return econview.answer(store, view, query, me=h.author)
        except econview.LookupFailed as exc:
            fail(f"{_OPTION.get(exc.field, exc.field)}: {exc.message}")


def _as_of(text: str | None) -> str | None:
    return None if text is None else str(parse_time(text, option="--as-of", end_of_day=True))


def _who(row: dict[str, Any], prefix: str) -> str:
    key = row.get(prefix)
    if key is None:
        return "-"
    name = row.get(f"{prefix}_name")
    return str(name) if name else key[:8]


def _table(title: str, rows: list[dict[str, Any]],
           columns: Sequence[tuple[str, Callable[[dict[str, Any]], object]]],
           right: Sequence[str] = ()) -> None:
    if not rows:
        out.print(f"{title}: none")
        return
    t = Table(title=title, title_justify="left")
    for header, _ in columns:
        t.add_column(header, justify="right" if header in right else "left")
    for row in rows:
        t.add_row(*("-" if (v := get(row)) is None else str(v) for _, get in columns))
    out.print(t)


def _items_text(items: list[dict[str, str]]) -> str:
    return "; ".join(f"{i['quantity']} {i['unit']} {i['item']}" for i in items)


# -- register -----------------------------------------------------------------------------


MandateOpt = Annotated[str | None, typer.Option(
    "--mandate", help="Writing with a delegate's key: the mandate (id prefix) that allows "
    "this entry; it is added to the entry's refs.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(federation_app, name="federation")
    app.add_typer(transfer_app, name="transfer")
    app.add_typer(surplus_app, name="surplus")
    app.add_typer(sprint_app, name="sprint")
    app.add_typer(fund_app, name="fund")
    app.add_typer(need_app, name="need")
    app.command("balance")(balance)
    app.command("exceptions")(exceptions)
    app.command("metrics")(metrics)
    for group in app.registered_groups:  # `coop log outside` joins the other log kinds
        if group.name == "log" and group.typer_instance is not None:
            group.typer_instance.command("outside")(log_outside)


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True)


federation_app = _group("Federations of co-ops: create, invite, join, leave, rules.\n\n"
                        "Example:  coop federation show")
transfer_app = _group("Transfers between co-ops: offer, accept, decline, list.\n\n"
                      "Example:  coop transfer list --open")
surplus_app = _group("The surplus board: offers and requests of goods, tools, labour.\n\n"
                     "Example:  coop surplus board --federation Riverside")
sprint_app = _group("Monthly surplus sprints: allocate an offer to a request.\n\n"
                    "Example:  coop sprint allocate --offer 3f2a9c1e --request 9b1c0d2e "
                    "--quantity 10 --sprint 2026-11")
fund_app = _group("The federation's innovation fund: surplus, contributions, grants.\n\n"
                  "Example:  coop fund show --federation Riverside")
need_app = _group("Needs and where they were met (for the sovereignty metrics).\n\n"
                  "Example:  coop need declare --federation Riverside --category food "
                  "--quantity 200 --unit kg --period 2026-11")


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
            _choice(kind, UNIT_KINDS, "--unit")
            unit: dict[str, Any] = {"name": name, "symbol": symbol,
                                    "decimals": int(decimals), "kind": kind}
            if len(parts) == 5:
                unit["credit_limit"] = str(_qty(parts[4], "--unit", zero_ok=True))
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
            unit_["credit_limit"] = str(_qty(amount, "--credit-limit", zero_ok=True))
    for u in rules["units"]:
        if "credit_limit" in u and u["kind"] not in ("time", "credit"):
            raise typer.BadParameter(f"unit {u['name']} is of kind {u['kind']}: only time "
                                     "and credit units have a credit limit",
                                     param_hint="--credit-limit")
    if share is not None:
        value = _qty(share, "--fund-share", zero_ok=True)
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
        try:
            charter = charter_file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"--charter-file: cannot read {charter_file}: {exc.strerror}")
        except UnicodeDecodeError:
            fail(f"--charter-file: {charter_file} is not UTF-8 text")
    assert charter is not None
    body = {"name": _text(name, "--name"), "charter": _text(charter, "--charter"),
            "rules": _rules(default_rules(), unit, credit_limit, fund_share,
                            offer_expiry_days)}
    _write(home, passphrase_file, "federation.create", body, [], json_, "federation")


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
    with _economy(home) as (h, _store, eco):
        f = _federation(eco, federation)
        if f.founder != h.identity:
            fail(f"only the founder of {f.name!r} can change its rules")
        base = f.rules.to_value()
    if not (unit or credit_limit or fund_share is not None or offer_expiry_days is not None):
        raise typer.BadParameter("nothing to change: give --unit, --credit-limit, "
                                 "--fund-share or --offer-expiry-days", param_hint="--unit")
    body = {"federation": f.id.hex(), "note": note,
            "rules": _rules(base, unit, credit_limit, fund_share, offer_expiry_days)}
    _write(home, passphrase_file, "federation.rules", body, [f.id], json_, "rules")


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
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
        invitee = _coop(store, coop, "--coop")
        if f.is_member(invitee):
            fail(f"--coop: {_name(store, invitee)} is already a member of {f.name!r}")
    body = {"federation": f.id.hex(), "invitee": invitee.hex(), "note": note}
    _write(home, passphrase_file, "federation.invite", body, [f.id], json_, "invite")


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
    with _economy(home) as (h, _store, eco):
        if federation is not None:
            f = _federation(eco, federation)
            if f.is_member(h.identity):
                fail(f"your co-op is already a member of {f.name!r}")
            if h.identity not in f.invited:
                fail(f"--federation: your co-op has no pending invite to {f.name!r}")
            invite_id = f.invited[h.identity]
        else:
            assert invite is not None
            mine = {inv: fed for fed in eco.federations.values()
                    for coop, inv in fed.invited.items() if coop == h.identity}
            invite_id = _lookup(lambda: econview.resolve_id(
                mine, invite, field="--invite", what="pending invite to your co-op"),
                "--invite")
            f = mine[invite_id]
    body = {"federation": f.id.hex(), "invite": invite_id.hex()}
    _write(home, passphrase_file, "federation.join", body, [f.id, invite_id], json_, "join")


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
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
    body = {"federation": f.id.hex(), "note": note}
    _write(home, passphrase_file, "federation.leave", body, [f.id], json_, "leave")


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
        data = _view(home, "federations", {})
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
            _table(f"{len(rows)} federations", rows, [
                ("federation", lambda r: r["name"]), ("id", lambda r: r["federation"][:8]),
                ("your co-op", lambda r: r["role"] + (f" (invite {r['invite'][:8]})"
                                                      if r["invite"] else "")),
                ("founder", lambda r: _who(r, "founder")), ("members", lambda r: r["members"]),
                ("since", lambda r: format_ts(r["created"]))], right=("members",))
        return
    data = _view(home, "federation", {"federation": federation})
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
    out.print(f"  founded by {_who(data, 'founder')} at {format_ts(data['created'])}")
    out.print("\nCharter:")
    for line in data["charter"].splitlines():
        out.print(f"  {line}")
    r = data["rules"]
    _table(f"rules: fund share {r['fund_share']}, offers expire after "
           f"{r['offer_expiry_days']} days", r["units"], [
               ("unit", lambda u: u["name"]), ("symbol", lambda u: u["symbol"]),
               ("decimals", lambda u: u["decimals"]), ("kind", lambda u: u["kind"]),
               ("credit limit", lambda u: u["credit_limit"])], right=("credit limit",))
    _table(f"{len(data['members'])} members", data["members"], [
        ("co-op", lambda m: _who(m, "coop")), ("member since", lambda m: format_ts(m["since"]))])
    if data["invites"]:
        _table("pending invites", data["invites"], [
            ("co-op", lambda i: _who(i, "coop")), ("invite", lambda i: i["invite"][:8])])


# -- coop transfer ---------------------------------------------------------------------------


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
    items = _items(item or [])
    if amount is None and not items:
        raise typer.BadParameter("give --amount with --unit, or --item", param_hint="--amount")
    if len(items) > 50:
        raise typer.BadParameter("at most 50 items", param_hint="--item")
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
        receiver = _coop(store, to, "--to")
        if receiver == h.identity:
            fail("--to: a co-op cannot transfer to itself")
        _member(store, f, receiver, "--to")
        checked = _amount(f, amount, unit) if amount is not None and unit else None
        until = _expiry(expires_in, expires, f.rules.offer_expiry_days)
    body: dict[str, Any] = {
        "federation": f.id.hex(), "to": receiver.hex(), "purpose": _text(purpose, "--for"),
        "expires": until, "items": items or None,
        "amount": checked[0] if checked else None, "unit": checked[1] if checked else None}
    _write(home, passphrase_file, "transfer.offer", body, [f.id], json_, "offer",
           mandate=mandate)


def _close(home: Path | None, passphrase_file: Path | None, offer: str, kind: str,
           note: str | None, json_: bool, mandate: str | None) -> None:
    with _economy(home) as (h, store, eco):
        offer_id = _lookup(lambda: econview.resolve_id(
            eco.transfers, offer, field="OFFER", what="offer"), "OFFER")
        t = eco.transfers[offer_id]
        if t.receiver != h.identity:
            fail(f"OFFER: this offer is to {_name(store, t.receiver)}, not to your co-op")
        if t.status == "accepted":
            fail("OFFER: this offer was already accepted")
        if t.status == "declined":
            fail("OFFER: this offer was already declined")
        if kind == "transfer.accept":
            if now_ms() > t.expires:
                fail(f"OFFER: this offer expired at {format_ts(t.expires)}")
            f = eco.federations[t.federation]
            _member(store, f, h.identity)
    _write(home, passphrase_file, kind, {"offer": offer_id.hex(), "note": note}, [offer_id],
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
    data = _view(home, "transfers", {"federation": federation, "as_of": _as_of(as_of),
                                     "open": "true" if open_ else None})
    rows = data["transfers"]
    if json_:
        print_json(data)
    elif csv_:
        print_csv([{**r, "items": _items_text(r["items"])} for r in rows], TRANSFER_COLS)
    else:
        _table(f"{len(rows)} transfers (as of {format_ts(data['as_of'])})", rows, [
            ("id", lambda r: r["id"][:8]), ("federation", lambda r: r["federation_name"]),
            ("", lambda r: r["direction"] or ""), ("from", lambda r: _who(r, "from")),
            ("to", lambda r: _who(r, "to")),
            ("amount", lambda r: " ".join(filter(None, (
                f"{r['amount']} {r['unit']}" if r["amount"] else "",
                _items_text(r["items"]))))),
            ("for", lambda r: r["purpose"]), ("expires", lambda r: format_ts(r["expires"])),
            ("status", lambda r: r["status"])])


# -- coop balance, exceptions, metrics -----------------------------------------------------


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
    data = _view(home, "balances", {"federation": federation, "as_of": _as_of(as_of)})
    rows = data["balances"]
    if json_:
        print_json(data)
    elif csv_:
        print_csv(rows, ["federation", "federation_name", "unit", "coop", "coop_name",
                         "balance", "reserved", "limit", "available"])
    else:
        _table(f"balances (as of {format_ts(data['as_of'])})", rows, [
            ("federation", lambda r: r["federation_name"]), ("unit", lambda r: r["unit"]),
            ("co-op", lambda r: _who(r, "coop")), ("balance", lambda r: r["balance"]),
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
    data = _view(home, "exceptions", {"federation": federation})
    if json_:
        print_json(data)
        return
    rows = ([{**x, "type": "exception", "detail": x["message"]} for x in data["exceptions"]]
            + [{**i, "type": "invalid"} for i in data["invalid"]])
    if csv_:
        print_csv(rows, ["type", "code", "entry", "coop", "coop_name", "federation",
                         "unit", "value", "bound", "kind", "detail"])
        return
    _table(f"{len(data['exceptions'])} exceptions, {len(data['invalid'])} invalid entries",
           rows, [("", lambda r: r["type"]), ("code", lambda r: r["code"]),
                  ("co-op", lambda r: _who(r, "coop")), ("entry", lambda r: r["entry"][:8]),
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
    data = _view(home, "metrics", {"federation": federation, "coop": coop,
                                   "period": None if period is None
                                   else _period(period, "--period")})
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


# -- coop surplus, coop sprint ----------------------------------------------------------------

UntilOpt = Annotated[str, typer.Option("--until", help="Open until this day, YYYY-MM-DD.")]
QtyOpt = Annotated[str, typer.Option("--quantity", help="How much, an exact decimal.")]
FreeUnitOpt = Annotated[str, typer.Option("--unit", help="Its unit: kg, item, hour …")]


def _post_member(home: Path | None, federation: str) -> Federation:
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
    return f


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
    body = {"what": _choice(what, SURPLUS_WHAT, "--what"), "item": _text(item, "--item"),
            "quantity": str(_qty(quantity, "--quantity")), "unit": _text(unit, "--unit"),
            "until": _day(until, "--until")}
    f = _post_member(home, federation)
    _write(home, passphrase_file, "surplus.offer", {"federation": f.id.hex(), **body},
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
    body = {"item": _text(item, "--item"), "quantity": str(_qty(quantity, "--quantity")),
            "unit": _text(unit, "--unit"), "until": _day(until, "--until")}
    f = _post_member(home, federation)
    _write(home, passphrase_file, "surplus.request", {"federation": f.id.hex(), **body},
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
    data = _view(home, "board", {"federation": federation, "as_of": _as_of(as_of)})
    if json_:
        print_json(data)
        return
    rows = ([{**o, "side": "offer"} for o in data["offers"]]
            + [{**r, "side": "request"} for r in data["requests"]])
    if csv_:
        print_csv(rows, ["side", "id", "coop", "coop_name", "what", "item", "quantity",
                         "unit", "until", "allocated", "left"])
        return
    _table(f"board of {data['federation_name']} (as of {format_ts(data['as_of'])})", rows, [
        ("", lambda r: r["side"]), ("id", lambda r: r["id"][:8]),
        ("co-op", lambda r: _who(r, "coop")),
        ("what", lambda r: f"{r['item']} ({r['what']})" if "what" in r else r["item"]),
        ("left", lambda r: f"{r['left']} of {r['quantity']} {r['unit']}"),
        ("until", lambda r: r["until"])])
    if data["matches"]:
        _table("matches (offer → request)", data["matches"], [
            ("offer", lambda m: m["offer"][:8]), ("request", lambda m: m["request"][:8])])
    for sprint, allocs in data["sprints"].items():
        _table(f"sprint {sprint}", allocs, [
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
    amount = _qty(quantity, "--quantity")
    month = _period(sprint, "--sprint")
    with _economy(home) as (h, store, eco):
        offer_id = _lookup(lambda: econview.resolve_id(
            eco.surplus_offers, offer, field="--offer", what="surplus offer"), "--offer")
        request_id = _lookup(lambda: econview.resolve_id(
            eco.surplus_requests, request, field="--request", what="surplus request"),
            "--request")
        o, r = eco.surplus_offers[offer_id], eco.surplus_requests[request_id]
        if o.federation != r.federation:
            fail("--request: the request is in another federation than the offer")
        f = eco.federations[o.federation]
        _member(store, f, h.identity)
        for what, x in (("offer", o), ("request", r)):
            left = x.quantity - x.allocated
            if amount > left:
                fail(f"--quantity: only {left} {x.unit} of the {what} is left to allocate")
        until = _expiry(expires_in, None, f.rules.offer_expiry_days)
    body = {"offer": offer_id.hex(), "request": request_id.hex(), "quantity": str(amount),
            "sprint": month, "expires": until}
    _write(home, passphrase_file, "sprint.allocate", body, [offer_id, request_id], json_,
           "allocation",
           mandate=mandate)


# -- coop fund ------------------------------------------------------------------------------

PeriodOpt = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]
AmountOpt = Annotated[str, typer.Option("--amount", help="How much, an exact decimal.")]
RuleUnitOpt = Annotated[str, typer.Option(
    "--unit", help="A unit of the federation's rules (hour, kwh …).")]


def _fund_entry(home: Path | None, passphrase_file: Path | None, kind: str, federation: str,
                period: str, amount: str, unit: str, json_: bool) -> None:
    month = _period(period, "--period")
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
        if kind == "fund.surplus" and _qty(amount, "--amount", zero_ok=True).units == 0:
            checked = ("0", _amount(f, "1", unit)[1])
        else:
            checked = _amount(f, amount, unit)
    body = {"federation": f.id.hex(), "period": month, "amount": checked[0],
            "unit": checked[1]}
    _write(home, passphrase_file, kind, body, [f.id], json_, kind.split(".")[1])


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
    due = _day(report_due, "--report-due")
    with _economy(home) as (h, store, eco):
        f = _federation(eco, federation)
        _member(store, f, h.identity)
        grantee = _coop(store, to, "--to")
        _member(store, f, grantee, "--to")
        checked = _amount(f, amount, unit)
    body = {"federation": f.id.hex(), "to": grantee.hex(),
            "experiment": _text(experiment, "--experiment"), "amount": checked[0],
            "unit": checked[1], "report_due": due}
    _write(home, passphrase_file, "fund.grant", body, [f.id], json_, "grant")


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
    _choice(outcome, GRANT_OUTCOMES, "--outcome")
    if (report is None) == (report_file is None):
        raise typer.BadParameter("give --report TEXT or --report-file FILE",
                                 param_hint="--report")
    if report_file is not None:
        try:
            report = report_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            fail(f"--report-file: cannot read {report_file} as UTF-8 text")
    assert report is not None
    with _economy(home) as (h, store, eco):
        grant_id = _lookup(lambda: econview.resolve_id(
            eco.grants, grant, field="--grant", what="grant"), "--grant")
        g = eco.grants[grant_id]
        if g.to != h.identity:
            fail(f"--grant: the grant went to {_name(store, g.to)}, not to your co-op")
        if g.report is not None:
            fail("--grant: this grant was already reported on")
    body = {"grant": grant_id.hex(), "outcome": outcome, "report": _text(report, "--report")}
    _write(home, passphrase_file, "fund.report", body, [grant_id], json_, "report")


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
    data = _view(home, "fund", {"federation": federation, "as_of": _as_of(as_of)})
    if json_:
        print_json(data)
        return
    if csv_:
        print_csv(data["contributions"], ["coop", "coop_name", "period", "unit", "due",
                                          "contributed", "outstanding"])
        return
    _table(f"fund of {data['federation_name']}", data["balances"], [
        ("unit", lambda b: b["unit"]), ("balance", lambda b: b["balance"])],
        right=("balance",))
    _table("due and contributed", data["contributions"], [
        ("co-op", lambda c: _who(c, "coop")), ("month", lambda c: c["period"]),
        ("unit", lambda c: c["unit"]), ("due", lambda c: c["due"]),
        ("contributed", lambda c: c["contributed"]),
        ("outstanding", lambda c: c["outstanding"])],
        right=("due", "contributed", "outstanding"))
    _table("grants", data["grants"], [
        ("grant", lambda g: g["id"][:8]), ("to", lambda g: _who(g, "to")),
        ("experiment", lambda g: g["experiment"]),
        ("amount", lambda g: f"{g['amount']} {g['unit']}"),
        ("report due", lambda g: g["report_due"] + (" OVERDUE" if g["overdue"] else "")),
        ("outcome", lambda g: g["outcome"] or "-")])


# -- coop need, coop log outside ---------------------------------------------------------------


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
    body = {"category": _choice(category, NEED_CATEGORIES, "--category"),
            "quantity": str(_qty(quantity, "--quantity")), "unit": _text(unit, "--unit"),
            "period": _period(period, "--period")}
    f = _post_member(home, federation)
    _write(home, passphrase_file, "need.declare", {"federation": f.id.hex(), **body},
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
    _choice(where, NEED_WHERE, "--where")
    amount = _qty(quantity, "--quantity")
    with _economy(home) as (h, _store, eco):
        need_id = _lookup(lambda: econview.resolve_id(
            eco.needs, need, field="--need", what="need"), "--need")
        if eco.needs[need_id].author != h.identity:
            fail("--need: only the co-op that declared a need records where it was met")
    _write(home, passphrase_file, "need.met",
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
    value = _qty(hours, "--hours")
    if value > Quantity(744, 0):
        raise typer.BadParameter("at most 744 (a month of 31 days)", param_hint="--hours")
    body = {"member": _text(member, "--member"), "hours": str(value),
            "period": _period(period, "--period")}
    _write(home, passphrase_file, "labor.outside", body, [], json_, "entry")
