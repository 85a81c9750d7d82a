"""The `coop` command: one Typer app, noun groups, verb subcommands.

Writing commands (``coop log …``, ``coop bundle import``, ``coop rebuild``) go through
the local API when a node runs for the home (node.json names it and it answers), so new
entries are gossiped at once; otherwise they open the store directly, and print the
same either way. SQLite serialises writers, so a command writing directly while a
daemon also writes never corrupts the store. Reading commands always open the store.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from coopledger import __version__
from coopledger.crypto import CryptoError
from coopledger.node import (
    Home,
    ImportReport,
    LookupFailed,
    NodeError,
    check_store,
    export_bundle,
    import_bundle,
    refuse_blocked,
)
from coopledger.protocol import (
    ENERGY_FLOWS,
    ENERGY_SOURCES,
    GOODS_FLOWS,
    LABOR_CATEGORIES,
    MATERIAL_DIRECTIONS,
    DecimalFormatError,
    LedgerError,
    Quantity,
    ValidationError,
)

from ._alerts import register as register_alerts
from ._audit import register as register_audit
from ._auditrun import register as register_audit_run
from ._balances import register as register_balances
from ._blocks import register as register_blocks
from ._client import running_node
from ._common import (
    CoopError,
    HomeOpt,
    JsonOpt,
    PassFileOpt,
    err,
    fail,
    home_path,
    open_home,
    out,
    parse_time,
    read_passphrase_file,
    resolve_author,
)
from ._exchange import print_entries_csv, print_state_csv
from ._exchange import register as register_exchange
from ._federation import register as register_federation
from ._fund import register as register_fund
from ._keys import parse_key, print_request
from ._keys import register as register_keys
from ._lottery import register as register_lottery
from ._mandates import register as register_mandates
from ._misconduct import register as register_misconduct
from ._need import register as register_need
from ._node import node_app, peers
from ._options import NoteOpt, choice
from ._policy import register as register_policy
from ._proofs import register as register_proofs
from ._proposals import register as register_proposals
from ._render import entries_table, entry_json, print_json, print_state, state_json
from ._surplus import register as register_surplus
from ._transfer import register as register_transfer
from ._writer import append

app = typer.Typer(
    name="coop",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
log_app = typer.Typer(help="Record economic activity in this co-op's log.\n\n"
                      "Example:  coop log labor --member ana --hours 2 --task weeding",
                      no_args_is_help=True)
bundle_app = typer.Typer(help="Move entries by file (USB stick, e-mail).\n\n"
                         "Example:  coop bundle export /media/usb/garden.coopbundle",
                         no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(bundle_app, name="bundle")
app.add_typer(node_app, name="node")


def _version(value: bool) -> None:
    if value:
        out.print(f"coop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """coopledger: a signed, verifiable ledger for co-operatives.

    Example:  coop init --name "Hillside Garden" && coop log labor --member ana --hours 2
    --task weeding
    """


# -- init ---------------------------------------------------------------------------


@app.command()
def init(
    name: Annotated[str, typer.Option("--name", help="The co-op's name, as members know it "
                                      "(with --for: this device's or delegate's label).")],
    for_: Annotated[str | None, typer.Option(
        "--for", help="Make this home a new key of an existing co-op: its id (64 hex "
        "characters, `coop key list` shows it). Prints the command the co-op runs to "
        "add the key.", show_default=False)] = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Create this node's home: a new key, the store, and the genesis entry naming the co-op.

    Refuses to overwrite an existing home. With --passphrase-file the key is sealed
    (scrypt + ChaCha20-Poly1305) and every signing command will need the passphrase.
    With --for, the home writes for an existing co-op once the co-op adds its key
    (docs/keys.md).

    Example:  coop init --name "Hillside Garden" --home ./garden
    Example:  coop init --name "Ana's laptop" --for 3d4017c3e8…(the co-op's 64-character id)
    """
    name = name.strip()
    identity = parse_key(for_, "--for") if for_ is not None else None
    if passphrase_file is None and os.environ.get("COOP_PASSPHRASE_FILE"):
        passphrase_file = Path(os.environ["COOP_PASSPHRASE_FILE"])
    passphrase = read_passphrase_file(passphrase_file) if passphrase_file else None
    path = home_path(home)
    try:
        h, genesis = Home.init(path, name, passphrase, identity)
    except ValidationError as exc:
        fail(f"--name: {exc.message}")
    if identity is not None:
        out.print(f"Created a new key of co-op {identity.hex()[:8]} in {path}")
        out.print(f"  co-op id: {identity.hex()}")
        out.print(f"  this key: {h.author.hex()}")
    else:
        out.print(f"Created co-op {name!r} in {path}")
        out.print(f"  co-op id: {h.author.hex()}")
    out.print(f"  genesis entry: {genesis.id.hex()}")
    if passphrase:
        out.print("  the key is sealed with your passphrase: keep it safe, it cannot be "
                  "recovered")
    if identity is not None:
        print_request(h, h.secret_key(passphrase), "node", name)


# -- log ----------------------------------------------------------------------------

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


# -- reading ------------------------------------------------------------------------


@app.command()
def entries(
    author: Annotated[str | None, typer.Option(
        "--author", help="Only this co-op: its name or an id prefix.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    json_: JsonOpt = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (with --kind "
                                       "labor/material/energy/goods: its fields too).")
                    ] = False,
    home: HomeOpt = None,
) -> None:
    """List held entries, by co-op and sequence number.

    Example:  coop entries --author "Hillside Garden" --kind labor
    """
    h = open_home(home)
    with h.open_store() as store:
        state = store.state()
        authors = [resolve_author(state, author)] if author else None
        held = list(store.entries(authors=authors, kind=kind))
    if json_:
        print_json([entry_json(e) for e in held])
        return
    names = {a: st.name for a, st in state.authors.items()}
    if csv_:
        print_entries_csv(held, names, kind)
        return
    out.print(entries_table(held, names))


@app.command()
def state(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Fold only entries up to this time: a date (its end), a date-time "
        "(UTC unless an offset is given) or milliseconds.")] = None,
    author: Annotated[str | None, typer.Option(
        "--author", help="Show only this co-op's books (name or id prefix); the "
        "state_hash still covers everything.")] = None,
    json_: JsonOpt = False,
    csv_: Annotated[bool, typer.Option("--csv", help="Print the totals as CSV on stdout, "
                                       "one row per co-op, kind and key.")] = False,
    home: HomeOpt = None,
) -> None:
    """Show the state derived from every held entry, and its state_hash.

    Two nodes holding the same entries show the same state_hash. With more than five
    co-ops, one line per co-op; --author shows one co-op's books in full.

    Example:  coop state --as-of 2026-10-31 --author "Hillside Garden"
    """
    h = open_home(home)
    with h.open_store() as store:
        if as_of is None:
            st = store.state()
        else:
            st = store.state_as_of(parse_time(as_of, option="--as-of", end_of_day=True))
        held = store.held_counts()
    only = resolve_author(st, author) if author else None
    if csv_:
        print_state_csv(st, only)
        return
    if json_:
        value = state_json(st, held)
        if only is not None:
            value["coops"] = {only.hex(): value["coops"][only.hex()]}
            value["held"] = {only.hex(): held.get(only, 0)}
        print_json(value)
    else:
        print_state(st, held, only)


def _progress(total: int | None, label: str, *, bytes_: bool) -> Progress:
    cols: list[Any] = [TextColumn(label), BarColumn()]
    cols += [DownloadColumn(), TransferSpeedColumn()] if bytes_ else [MofNCompleteColumn()]
    cols.append(TimeRemainingColumn())
    return Progress(*cols, console=err, transient=True, disable=not err.is_terminal)


@app.command()
def verify(home: HomeOpt = None) -> None:
    """Re-check every stored entry, chain and fork, and the derived state.

    Exits 1 if anything is wrong: a damaged store, or a co-op's forked or broken log.

    Example:  coop verify --home ./garden
    """
    h = open_home(home)
    with h.open_store() as store:
        total = store.count()
        with _progress(total, "verifying", bytes_=False) as bar:
            task = bar.add_task("verify", total=total)
            report = check_store(store, progress=lambda n: bar.update(task, completed=n))
    for p in report.store_problems:
        err.print(f"store problem: {p}")
    for f in report.findings:
        err.print(f"finding: {f}")
    out.print(f"{report.entries} entries checked; state_hash {report.state_hash}")
    if not report.ok:
        fail(f"{len(report.store_problems)} store problems, {len(report.findings)} findings")
    out.print("all entries, chains and derived state are valid")


@app.command()
def rebuild(home: HomeOpt = None) -> None:
    """Throw away the derived state and fold every held entry again.

    Example:  coop rebuild --home ./garden
    """
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        data = client.post_json("/v1/rebuild", timeout=3600)
        n, state_hash = data["entries_held"], data["state_hash"]
    else:
        with h.open_store() as store:
            state_hash = store.rebuild().state_hash()
            n = store.count()
    out.print(f"rebuilt the derived state from {n} entries; state_hash {state_hash}")


# -- bundles ------------------------------------------------------------------------


@bundle_app.command("export")
def bundle_export(
    file: Annotated[Path, typer.Argument(help="The bundle file to write ('-' for stdout).")],
    author: Annotated[list[str] | None, typer.Option(
        "--author", help="Only this co-op (name or id prefix); repeatable.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only entries from this time on (a date means its start).")] = None,
    home: HomeOpt = None,
) -> None:
    """Write held entries (and every fork proof among them) to a bundle file.

    Example:  coop bundle export /media/usb/garden.coopbundle --since 2026-11-01
    """
    h = open_home(home)
    since_ms = parse_time(since, option="--since", end_of_day=False) if since else None
    with h.open_store() as store:
        authors = [resolve_author(store.state(), a) for a in author] if author else None
        if str(file) == "-":
            n = export_bundle(store, sys.stdout.buffer, authors=authors, since=since_ms)
        else:
            if file.exists():
                fail(f"{file} already exists; refusing to overwrite it")
            tmp = file.with_name(file.name + ".part")
            try:
                with open(tmp, "wb") as f:
                    n = export_bundle(store, f, authors=authors, since=since_ms)
                tmp.replace(file)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                fail(f"cannot write {file}: {exc.strerror}")
    err.print(f"wrote {n} entries to {file}")


@bundle_app.command("import")
def bundle_import(
    file: Annotated[Path, typer.Argument(help="The bundle file to read.")],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Import a bundle: each entry is judged on its own (new, already held, rejected).

    Damage in the file is reported with its byte offset; everything else still imports.
    Exits 1 if any entry was rejected or the file was damaged or incomplete.

    Example:  coop bundle import /media/usb/garden.coopbundle
    """
    h = open_home(home)
    client = running_node(h.path)
    try:
        size = file.stat().st_size
        f = open(file, "rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with f, _progress(size, "importing", bytes_=True) as bar:
        task = bar.add_task("import", total=size)
        if client is not None:  # the bar shows the upload; the node then imports it
            report = client.post_file("/v1/bundles", f, size,
                                      progress=lambda n: bar.update(task, completed=n))
        else:
            with h.open_store() as store:
                refuse_blocked(h.path, store)  # the operator's blocks hold offline too
                report = _report_json(import_bundle(
                    store, f, progress=lambda n: bar.update(task, completed=n)))
    if json_:
        print_json(report)
    else:
        for p in report["problems"]:
            who = f"entry {p['entry_id'][:8]}…" if p["entry_id"] else "record"
            err.print(f"byte {p['offset']}: {who} rejected: {p['reason']} ({p['message']})")
        if not report["complete"]:
            err.print("the bundle is incomplete: it ends without its closing record"
                      if report["expected"] is None else
                      f"the bundle says it holds {report['expected']} entries; "
                      "some did not arrive")
        out.print(f"{file}: {report['new']} new, {report['held']} already held, "
                  f"{report['rejected']} rejected, {report['damaged']} damaged")
    if report["rejected"] or report["damaged"] or not report["complete"]:
        raise CoopError("", 1)


def _report_json(r: ImportReport) -> dict[str, Any]:
    """An import's outcome as the API gives it (POST /v1/bundles): one rendering for
    both paths."""
    return {
        "new": r.new, "held": r.held, "rejected": r.rejected, "damaged": r.damaged,
        "complete": r.complete, "expected": r.expected, "applied": r.applied,
        "problems": [{"offset": p.offset, "entry_id": p.entry_id.hex() if p.entry_id else None,
                      "reason": p.reason, "message": p.message} for p in r.problems],
    }


app.command("peers")(peers)  # defined with `coop node` (cli/_node.py), listed here
register_federation(app)
register_transfer(app)
register_surplus(app)
register_fund(app)
register_need(app, log_app)
register_balances(app)
register_exchange(app)
register_keys(app)
register_mandates(app)
register_policy(app)
register_lottery(app)
register_proposals(app)
register_audit(app)
register_misconduct(app)
register_audit_run(app)  # after register_audit: adds `run` to its group
register_alerts(app)
register_blocks(app)
register_proofs(app)


# -- entry point --------------------------------------------------------------------


def main() -> None:
    """Console-script entry: user errors are one line on stderr, bugs a traceback.

    The one place errors become exit codes: CoopError (its code), a LookupFailed
    ("OPTION: message"), NodeError, LedgerError, CryptoError and OSError (exit 1), a
    usage mistake (exit 2). Commands raise them, and catch one only to add what this
    cannot know (which file, which kind, how far an import went)."""
    # Warnings from node/ (a fork found during an import, say) reach the user on
    # stderr as "warning: …"; set COOP_LOG=DEBUG or INFO for more.
    level = os.environ.get("COOP_LOG", "WARNING").upper()
    if level not in logging.getLevelNamesMapping():
        err.print(f"error: COOP_LOG={level[:20]!r} is not a log level "
                  "(DEBUG, INFO, WARNING or ERROR)")
        sys.exit(2)
    logging.basicConfig(
        level=level,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")
    try:
        code = app(standalone_mode=False)
    except CoopError as exc:
        if str(exc):
            err.print(f"error: {exc}")
        sys.exit(exc.code)
    except LookupFailed as exc:
        # A name or id prefix given on the command line names nothing (or several
        # things): the commands give the resolvers the option or argument as ``field``.
        err.print(f"error: {exc.field}: {exc.message}")
        sys.exit(1)
    except (NodeError, LedgerError, CryptoError) as exc:
        err.print(f"error: {exc}")
        sys.exit(1)
    except OSError as exc:  # the machine's fault, not ours: disk full, permissions …
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"error: {exc.strerror or exc}{where}")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except _click_exceptions() as exc:
        # A usage mistake (bad value, missing option): one line, like every other error.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(f"error: {exc.format_message()}{hint}",  # type: ignore[attr-defined]
                  markup=False)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    # Without standalone mode Typer *returns* the code of an Exit it raised itself:
    # 130 after Ctrl-C (KeyboardInterrupt), 0 after --help or --version.
    if isinstance(code, int) and code:
        sys.exit(code)


def _click_exceptions() -> type[Exception]:
    # Typer 0.2x vendors click as ``typer._click``; older Typer uses the click package.
    # Either way, click's ClickException is a base of typer.BadParameter.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
