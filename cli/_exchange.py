"""Spreadsheets and other tools (issue 4): CSV import and export, ValueFlows JSON-LD
export, and the printable monthly posting (docs/spreadsheets.md).

``coop import csv`` checks every row of a file before it writes anything: a file with
one bad row imports nothing. Rows are then appended one by one, through the running
node's API when one runs for the home (so they are gossiped at once), else straight
into the store (about 0.25 ms a row; 50,000 rows take seconds).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from coopledger.node import (
    CSV_KINDS,
    MAX_CSV_BYTES,
    AppendError,
    CsvRejected,
    CsvRow,
    build_posting,
    csv_rows,
    now_ms,
    parse_csv,
)
from coopledger.node import check_posting_month as check_month
from coopledger.node import csv_columns as columns
from coopledger.node import posting_html as render_html
from coopledger.node import valueflows_document as document
from coopledger.node import valueflows_dumps as dumps
from coopledger.protocol import Entry, LedgerState, ValidationError, attributed

from ._client import ApiFailure, running_node
from ._common import (
    HomeOpt,
    PassFileOpt,
    err,
    fail,
    open_home,
    out,
    print_csv,
    resolve_author,
    unlock,
)

import_app = typer.Typer(help="Bring records kept elsewhere into this co-op's log.\n\n"
                         "Example:  coop import csv hours.csv --kind labor --dry-run",
                         no_args_is_help=True)
export_app = typer.Typer(help="Write a co-op's books for other tools (spreadsheets, "
                         "ValueFlows).\n\n"
                         "Example:  coop export csv --kind labor > hours.csv",
                         no_args_is_help=True)

KindOpt = Annotated[str, typer.Option(
    "--kind", help=f"The kind of every row: one of {', '.join(CSV_KINDS)}.")]
AuthorOpt = Annotated[str | None, typer.Option(
    "--author", help="Which co-op (its name or an id prefix). Default: this home's co-op.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    app.command("posting")(posting)


def _kind(kind: str) -> str:
    if kind not in CSV_KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(CSV_KINDS)}", param_hint="--kind")
    return kind


def _bar() -> Progress:
    return Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True,
                    disable=not err.is_terminal)


# -- import -------------------------------------------------------------------------


@import_app.command("csv")
def import_csv(
    file: Annotated[Path, typer.Argument(help="The CSV file (UTF-8; header row first).")],
    kind: KindOpt,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check every row and say what would be imported; write "
        "nothing.")] = False,
    allow_repeats: Annotated[bool, typer.Option(
        "--allow-repeats", help="Import rows even if the log already holds an entry with "
        "exactly the same fields (by default such a file is refused).")] = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Import rows of a spreadsheet (CSV) as entries of one kind, all or nothing.

    The header names the columns (docs/spreadsheets.md lists them per kind). Every row
    is checked first; one bad row means nothing from the file is imported, and each
    problem is named by row (the header is row 1) and column.

    Example:  coop import csv hours-november.csv --kind labor
    """
    _kind(kind)
    h = open_home(home)
    try:
        size = file.stat().st_size
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    if size > MAX_CSV_BYTES:
        fail(f"{file}: the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB; split "
             "it into smaller files; nothing was imported")
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        rows = parse_csv(data, kind, source=str(file))
    except CsvRejected as exc:
        for p in exc.problems[:-1]:
            err.print(f"error: {p.describe(str(file))}")
        more = f" (and {exc.more} more bad rows)" if exc.more else ""
        fail(f"{exc.problems[-1].describe(str(file))}{more}; nothing was imported")
    if not allow_repeats:
        _refuse_repeats(h, kind, rows, file)
    if dry_run:
        out.print(f"{file}: {len(rows)} rows of kind {kind} are valid; nothing imported "
                  "(--dry-run)")
        return
    if not rows:
        out.print(f"{file}: no rows to import")
        return
    done = 0
    client = running_node(h.path)
    with _bar() as bar:
        task = bar.add_task("import", total=len(rows))
        try:
            if client is not None:
                for r in rows:
                    client.post_json("/v1/entries", {"kind": kind, "body": r.body,
                                                     "ts": now_ms()})
                    done += 1
                    bar.update(task, completed=done)
            else:
                key = unlock(h, passphrase_file)
                with h.open_store() as store:
                    ts = now_ms()
                    for r in rows:
                        store.append(key, kind=kind, body=dict(r.body), ts=ts)
                        done += 1
                        bar.update(task, completed=done)
        except (ApiFailure, AppendError, ValidationError) as exc:
            # Rows were checked, so this is the node's or the store's refusal (a forked
            # own log, a locked store…): say exactly how far the import went.
            row = rows[done].row
            where = f"rows 2 to {rows[done - 1].row} were imported" if done else \
                "nothing was imported"
            fail(f"{file}, row {row}: {exc}; {where} ({done} of {len(rows)} entries)")
    via = " through the running node" if client is not None else ""
    out.print(f"{file}: imported {len(rows)} {kind} entries{via}")


def _refuse_repeats(h: Any, kind: str, rows: Sequence[CsvRow], file: Path) -> None:
    """Refuse a file whose rows the log already holds (the same file, or a sheet that
    grew by a month, imported again): entries cannot be taken back."""
    with h.open_store() as store:
        state = store.state()
        held = {tuple(sorted(e.body.items()))
                for e in _applied(store, state, h.identity, [kind])}
    repeats = [r.row for r in rows if tuple(sorted(r.body.items())) in held]
    if repeats:
        shown = ", ".join(map(str, repeats[:10])) + (" …" if len(repeats) > 10 else "")
        fail(f"{file}: {len(repeats)} of {len(rows)} rows are already in this co-op's log "
             f"with exactly the same fields (rows {shown}); remove them from the file, or "
             "give --allow-repeats if they really happened twice; nothing was imported")


# -- export -------------------------------------------------------------------------


def _applied(store: Any, state: LedgerState, coop: bytes, kinds: Iterable[str] | None
             ) -> list[Entry]:
    """The applied entries (of ``kinds`` if given) that act for co-op ``coop`` (SPEC
    §13.2): those of each of its keys while the key was active, key by key (the root
    first, then in the order they were added), each in seq order. A co-op with one key:
    its log's applied entries."""
    ids = state.economy().gov.ids
    wanted = None if kinds is None else set(kinds)
    out: list[Entry] = []
    for rec in ids.keys_of(coop):
        st = state.authors.get(rec.key)
        length = st.length if st is not None else 0
        log = [e for e in store.entries(authors=[rec.key])
               if e.seq <= length and (wanted is None or e.kind in wanted)]
        out.extend(attributed(ids, log).get(coop, ()))
    return out


def _coop_of(state: LedgerState, author: str | None, own: bytes) -> bytes:
    """The co-op named by --author (any of its keys names it), else this home's."""
    key = resolve_author(state, author) if author else own
    return state.economy().gov.ids.identity_of(key)


@export_app.command("csv")
def export_csv(
    kind: KindOpt,
    author: AuthorOpt = None,
    home: HomeOpt = None,
) -> None:
    """Write a co-op's entries of one kind as CSV on stdout, in the import's columns.

    Only entries that apply (a co-op's log up to any gap or fork) are written. The file
    imports into another home with `coop import csv` and gives the same bodies.

    Example:  coop export csv --kind labor --author "Hillside Garden" > hours.csv
    """
    _kind(kind)
    h = open_home(home)
    with h.open_store() as store:
        state = store.state()
        who = _coop_of(state, author, h.identity)
        held = _applied(store, state, who, [kind])
    print_csv(csv_rows(kind, (e.body for e in held)), columns(kind))


@export_app.command("valueflows")
def export_valueflows(
    author: AuthorOpt = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file (refuses to overwrite one). Default: stdout.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Write a co-op's economic events as ValueFlows JSON-LD.

    Each applied labor, material, energy or goods entry becomes one EconomicEvent whose
    @id is urn:coopledger:entry:<entry id>. Quantities are exact JSON numbers.

    Example:  coop export valueflows --author "Hillside Garden" --out garden.jsonld
    """
    h = open_home(home)
    with h.open_store() as store:
        state = store.state()
        who = _coop_of(state, author, h.identity)
        held = _applied(store, state, who, ("labor", "material", "energy", "goods"))
    st = state.authors.get(who)
    text = dumps(document(who, st.name if st else None, held))
    _write_out(text, out_file)
    if out_file is not None:
        err.print(f"wrote {len(held)} economic events to {out_file}")


def _write_out(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if path.exists():
        fail(f"{path} already exists; refusing to overwrite it")
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror}")


# -- posting ------------------------------------------------------------------------


def posting(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    author: AuthorOpt = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the HTML page to this file (refuses to overwrite one). "
        "Default: stdout.")] = None,
    home: HomeOpt = None,
) -> None:
    """Print a co-op's books for a month as an HTML page for the notice board.

    Totals of labour (paid and unpaid, by category and member), materials, energy and
    goods dated in the month; transfers and balances in its federations; the log's
    head (seq and hash, also as a QR code) so paper and screen can be compared. Open
    the page in a browser and print it (A4).

    Example:  coop posting --month 2026-11 --out posting-2026-11.html
    """
    try:
        check_month(month)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None
    h = open_home(home)
    with h.open_store() as store:
        state = store.state()
        who = _coop_of(state, author, h.identity)
        held = _applied(store, state, who, None)
    names = {a: st.name for a, st in state.authors.items()}
    page = render_html(build_posting(state, who, month, held, names))
    _write_out(page, out_file)
    if out_file is not None:
        err.print(f"wrote the posting of {month} to {out_file}")


# -- --csv for `coop entries` and `coop state` --------------------------------------

ENTRY_COLUMNS = ("coop", "author", "seq", "time", "kind", "what", "id")
TOTAL_COLUMNS = ("coop", "author", "kind", "member", "category", "paid", "item", "unit",
                 "direction", "flow", "source", "total")


def print_entries_csv(held: Sequence[Entry], names: Mapping[bytes, str | None],
                      kind: str | None) -> None:
    """``coop entries --csv``: one row per entry; with ``--kind`` of a CSV kind, that
    kind's body columns too (as `coop export csv` writes them)."""
    from ._common import format_ts
    from ._render import summary

    extra = columns(kind) if kind in CSV_KINDS else ()
    rows: list[dict[str, object]] = []
    for e in held:
        row: dict[str, object] = {
            "coop": names.get(e.author), "author": e.author.hex(), "seq": e.seq,
            "time": format_ts(e.ts), "kind": e.kind, "what": summary(e), "id": e.id.hex()}
        for c in extra:
            row[c] = e.body.get(c)
        rows.append(row)
    print_csv(rows, (*ENTRY_COLUMNS, *extra))


def print_state_csv(state: LedgerState, only: bytes | None) -> None:
    """``coop state --csv``: the totals, one row per (co-op, kind, key)."""
    from coopledger.protocol import TOTAL_KEYS

    rows: list[dict[str, object]] = []
    for a in sorted(state.authors):
        if only is not None and a != only:
            continue
        st = state.authors[a]
        for kind in sorted(st.totals):
            key_fields = TOTAL_KEYS[kind][0]
            for key, q in sorted(st.totals[kind].items()):
                row: dict[str, object] = {"coop": st.name, "author": a.hex(), "kind": kind,
                                          "total": str(q)}
                row.update(zip(key_fields, key, strict=True))
                rows.append(row)
    print_csv(rows, TOTAL_COLUMNS)
