"""Solidarity alerts on the command line (SPEC §14.6, docs/alerts.md):
`coop alert raise|list|show|pledge|delivered|bundle`.

`list` and `show` print node/_govview_alerts.py's documents (through the running node,
else from the store), so ``--json`` is the same either way. Writing commands refuse
early what the fold would not count (a raise by a co-op in no federation, a pledge by
a co-op the alert does not target). Acknowledging is not a command: every node does it
by itself as soon as it holds an alert that targets its co-op.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import (
    LookupFailed,
    identity_of,
    resolve_id,
    write_alert_bundle,
)
from coopledger.protocol import ALERT_NEEDS, ALERT_WINDOW_MS

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, open_home, out
from ._options import member_federation, opened, trimmed, who
from ._render import print_json
from ._views import fetch as view
from ._writer import write

if TYPE_CHECKING:
    from coopledger.protocol import Alert, Economy

MAX_WHAT = 4000       # alert.raise what (SPEC §14.6)
MAX_ANSWER = 2000     # pledge and delivered what
MAX_WHERE = 200

alert_app = typer.Typer(
    help="Solidarity alerts: raise one, see who it reached, pledge and deliver help.\n\n"
         "Example:  coop alert list --open", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(alert_app, name="alert")


# -- helpers ------------------------------------------------------------------------------


def _lookup_alert(eco: Economy, text: str) -> Alert:
    aid = resolve_id(eco.gov.alerts.by_id, text, field="ALERT", what="alert")
    return eco.gov.alerts.by_id[aid]


def _answering(eco: Economy, me: bytes, text: str) -> Alert:
    """The alert ``text`` names, if this co-op may pledge or deliver for it."""
    a = _lookup_alert(eco, text)
    if me != a.raiser and me not in a.targets:
        fail("your co-op was not a member of the alert's federations when it was "
             "raised: only its targets and the raiser answer it")
    return a


def _duration(ms: int) -> str:
    if ms < 60_000:
        return f"{ms // 1000} s"
    minutes = ms // 60_000
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _ago(ms: int, now: int) -> str:
    return f"{_duration(max(0, now - ms))} ago"


def _clock(doc: dict[str, Any]) -> str:
    if doc["status"] == "acknowledged":
        return "every target acknowledged"
    if doc["time_left_ms"] > 0:
        return f"{_duration(doc['time_left_ms'])} left"
    return "the 48 hours are over"


_WAYS = {"gossip": "gossip from peer", "sync": "a sync with peer", "bundle": "a bundle",
         "alert-push": "an alert push with peer", "connection": "a connection with peer"}


def _seen(row: dict[str, Any], now: int) -> str:
    s = row.get("last_seen")
    parts = []
    if s is not None:
        if s["way"] == "bundle":
            via = f" ({s['via']})" if s["via"] else ""
        else:
            via = f" {s['via'][-8:]}" if s["via"] else ""
        parts.append(f"last heard from {_ago(s['ms'], now)}, through "
                     f"{_WAYS.get(s['way'], s['way'])}{via}")
    else:
        parts.append("this node has no record of hearing from it")
    if row.get("newest_entry_ts") is not None:
        parts.append(f"newest entry held written {format_ts(row['newest_entry_ts'])}")
    return "; ".join(parts)


# -- commands -------------------------------------------------------------------------------


@alert_app.command("raise")
def alert_raise(
    what: Annotated[str, typer.Option(
        "--what", help="What is happening, in a few sentences people can act on.")],
    need: Annotated[list[str], typer.Option(
        "--need", help=f"What is needed: {', '.join(ALERT_NEEDS)}; repeatable.")],
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Alert this federation only (name or id prefix); default: "
        "every federation your co-op is a member of.")] = None,
    drill: Annotated[bool, typer.Option(
        "--drill", help="A rehearsal: the same path, marked as a drill everywhere.")
    ] = False,
    where: Annotated[str | None, typer.Option(
        "--where", help="Where help should go (an address, a meeting point).")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Raise a solidarity alert: the federations' co-ops are reached within 48 hours.

    Example:  coop alert raise --what "The river is over the lower field; we need hands
    to move the seedlings tonight." --need people --need material --where "Mill Lane 4"
    """
    what = trimmed(what, "--what", MAX_WHAT)
    needs = sorted(set(need), key=lambda n: ALERT_NEEDS.index(n) if n in ALERT_NEEDS else 9)
    bad = [n for n in needs if n not in ALERT_NEEDS]
    if bad:
        fail(f"--need: {bad[0][:40]!r} is not one of {', '.join(ALERT_NEEDS)}")
    if not needs:
        fail(f"--need: give at least one of {', '.join(ALERT_NEEDS)}")
    body: dict[str, Any] = {"what": what, "needs": needs, "drill": drill}
    if where is not None:
        body["where"] = trimmed(where, "--where", MAX_WHERE)
    refs: list[bytes] = []
    with opened(home, as_held=True) as (_h, _store, eco, me):
        if federation is not None:
            f = member_federation(eco, federation, me)
            fid = f.id
            body["federation"] = fid.hex()
            refs.append(fid)
            feds = [f]
        else:
            feds = [f for _, f in sorted(eco.federations.items()) if f.is_member(me)]
            if not feds:
                fail("your co-op is a member of no federation: there is nobody to alert")
        targets = {c for f in feds for c in f.current_members()} - {me}
    write(home, passphrase_file, "alert.raise", body, refs, json_, "alert")
    if not json_:
        deadline = datetime.datetime.now(datetime.UTC).timestamp() * 1000 + ALERT_WINDOW_MS
        kind = "Drill" if drill else "Alert"
        out.print(f"  {kind} to {len(targets)} co-op(s) of "
                  f"{', '.join(f.name for f in feds)}; answer due by "
                  f"{format_ts(int(deadline))}.")
        out.print("  Follow it with: coop alert show <alert id>")


@alert_app.command("list")
def alert_list(
    open_: Annotated[bool, typer.Option(
        "--open", help="Only alerts before their deadline that not everyone "
        "acknowledged.")] = False,
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Only this federation's alerts (name or id prefix).")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List the alerts held here, newest first, with their coverage.

    Example:  coop alert list --open
    """
    data = view(home, "alerts", {"open": "true" if open_ else None,
                                 "federation": federation})
    if json_:
        print_json(data)
        return
    rows = data["alerts"]
    if not rows:
        out.print("No open alerts." if open_ else "No alerts (coop alert raise starts one).")
        return
    for r in rows:
        tag = "DRILL " if r["drill"] else ""
        state = (f"{r['status']}: {r['coverage']}, {_clock(r)}" if r["status"] != "acknowledged"
                 else f"every target acknowledged ({r['coverage'].split()[0]})")
        out.print(f"{r['id'][:8]}  {tag}{state}  "
                  f"[{who(r, 'raiser')}, needs {', '.join(r['needs'])}]")
        what = r["what"].replace("\n", " ")
        out.print(f"    {what if len(what) <= 100 else what[:99] + '…'}")


@alert_app.command("show")
def alert_show(
    alert: Annotated[str, typer.Argument(
        help="The alert: at least 8 hex characters of its id.", show_default=False)],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show an alert: who acknowledged it and when, pledges, deliveries, who is missing.

    Example:  coop alert show 3f2a9c1e
    """
    doc = view(home, "alert", {"alert": alert})
    if json_:
        print_json(doc)
        return
    now = doc["as_of"]
    if doc["drill"]:
        out.print("DRILL: a rehearsal, not a real emergency")
    out.print(f"Alert {doc['id']}")
    out.print(f"  raised by {who(doc, 'raiser')} at {format_ts(doc['raised'])}")
    out.print(f"  what:  {doc['what']}")
    out.print(f"  needs: {', '.join(doc['needs'])}")
    if doc["where"]:
        out.print(f"  where: {doc['where']}")
    out.print("  to:    " + ", ".join(f["name"] or f["id"][:8] for f in doc["federations"]))
    out.print(f"  deadline {format_ts(doc['deadline'])} ({_clock(doc)})")
    out.print(f"  {doc['coverage']}" + (f", {doc['late']} late" if doc["late"] else ""))
    out.print("Acknowledged:")
    for a in doc["acks"]:
        late = "  LATE" if a["late"] else ""
        out.print(f"  {who(a, 'coop')}  at {format_ts(a['ts'])}{late}")
    if not doc["acks"]:
        out.print("  (nobody yet)")
    if doc["pledges"]:
        out.print("Pledged:")
        for p in doc["pledges"]:
            need = f" ({p['need']})" if p["need"] else ""
            out.print(f"  {p['entry'][:8]}  {who(p, 'coop')}{need}: {p['what']}")
    if doc["deliveries"]:
        out.print("Delivered:")
        for d in doc["deliveries"]:
            of = f" (pledge {d['pledge'][:8]})" if d["pledge"] else ""
            out.print(f"  {who(d, 'coop')}{of}: {d['what']}")
    if doc["unreached"]:
        out.print("Not reached yet:")
        for u in doc["unreached"]:
            out.print(f"  {who(u, 'coop')}: {_seen(u, now)}")
        out.print(f"  To carry it by hand: coop alert bundle {doc['id'][:8]} FILE")
    for inv in doc["invalid"]:
        out.print(f"  invalid {inv['kind']} {inv['id'][:8]} by {who(inv, 'key')}: "
                  f"{inv['code']} ({inv['detail']})")


@alert_app.command("pledge")
def alert_pledge(
    alert: Annotated[str, typer.Argument(
        help="The alert: at least 8 hex characters of its id.", show_default=False)],
    what: Annotated[str, typer.Option("--what", help="What your co-op will do or bring.")],
    need: Annotated[str | None, typer.Option(
        "--need", help=f"Which need it answers: {', '.join(ALERT_NEEDS)}.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Pledge what your co-op will do for an alert.

    Example:  coop alert pledge 3f2a9c1e --what "Four people with a van, from 18:00"
    --need people
    """
    what = trimmed(what, "--what", MAX_ANSWER)
    if need is not None and need not in ALERT_NEEDS:
        fail(f"--need: one of {', '.join(ALERT_NEEDS)}")
    with opened(home) as (h, store, eco, _me):
        me = identity_of(store, h.author)
        assert me is not None
        a = _answering(eco, me, alert)
    body: dict[str, Any] = {"alert": a.id.hex(), "what": what}
    if need is not None:
        body["need"] = need
    write(home, passphrase_file, "alert.pledge", body, [a.id], json_, "pledge")


@alert_app.command("delivered")
def alert_delivered(
    alert: Annotated[str, typer.Argument(
        help="The alert: at least 8 hex characters of its id.", show_default=False)],
    what: Annotated[str, typer.Option("--what", help="What your co-op did or brought.")],
    pledge: Annotated[str | None, typer.Option(
        "--pledge", help="The pledge (id prefix) this delivery fulfils.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record what your co-op delivered for an alert.

    Example:  coop alert delivered 3f2a9c1e --what "Moved 300 seedling trays to the
    barn" --pledge 9b1c2d3e
    """
    what = trimmed(what, "--what", MAX_ANSWER)
    with opened(home) as (h, store, eco, _me):
        me = identity_of(store, h.author)
        assert me is not None
        a = _answering(eco, me, alert)
        refs = [a.id]
        body: dict[str, Any] = {"alert": a.id.hex(), "what": what}
        if pledge is not None:
            mine = {p.entry: p for p in a.pledges if p.coop == me}
            try:
                pid = resolve_id(mine, pledge, field="pledge", what="pledge")
            except LookupFailed as exc:
                fail(f"--pledge: {exc.message} (only your co-op's pledges for this alert)")
            body["pledge"] = pid.hex()
            refs.append(pid)
    write(home, passphrase_file, "alert.delivered", body, refs, json_, "delivery")


@alert_app.command("bundle")
def alert_bundle(
    alert: Annotated[str, typer.Argument(
        help="The alert: at least 8 hex characters of its id.", show_default=False)],
    file: Annotated[Path, typer.Argument(
        help="The bundle file to write (refused if it exists).", show_default=False)],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Write a bundle that carries an alert by hand to a node no network reaches.

    It holds the raise, what a node holding nothing of these co-ops needs to judge it
    (their logs up to the raise, with the federation entries) and every answer held
    here. Import it there with `coop bundle import FILE`; its ack comes back the same
    way (`coop alert bundle` there, `coop bundle import` here).

    Example:  coop alert bundle 3f2a9c1e /media/usb/flood-alert.coopbundle
    """
    h = open_home(home)
    if file.exists():
        fail(f"{file} exists; give a new file name")
    with h.open_store() as store:
        a = _lookup_alert(store.state().economy(), alert)
        tmp = file.with_name(file.name + ".part")
        try:
            with tmp.open("xb") as f:
                count = write_alert_bundle(store, a.id, f)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(file)
        except FileExistsError:
            fail(f"{tmp} exists (another bundle being written?); remove it or pick "
                 "another name")
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            fail(f"cannot write {file}: {exc.strerror or exc}")
    result = {"alert": a.id.hex(), "file": str(file), "entries": count,
              "bytes": file.stat().st_size}
    if json_:
        print_json(result)
        return
    out.print(f"Wrote {count} entries ({result['bytes']} bytes) to {file}")
    out.print(f"  at the other node: coop bundle import {file}")
