"""`coop bundle export|import` (SPEC §6): move entries by file (USB stick, e-mail).

An import goes through the running node when one runs for the home, else into the
store directly; it prints the same either way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coopledger.node import ImportReport, export_bundle, import_bundle, refuse_blocked

from ._client import running_node
from ._common import (
    CoopError,
    HomeOpt,
    JsonOpt,
    err,
    fail,
    open_home,
    out,
    parse_time,
    resolve_author,
)
from ._render import print_json, progress

bundle_app = typer.Typer(help="Move entries by file (USB stick, e-mail).\n\n"
                         "Example:  coop bundle export /media/usb/garden.coopbundle",
                         no_args_is_help=True)


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
    with f, progress(size, "importing", bytes_=True) as bar:
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


