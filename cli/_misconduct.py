"""Complaints, findings, sanctions and misconduct on the command line (SPEC §14.5,
docs/auditors.md): `coop complaint file`, `coop finding add`, `coop sanction add`,
`coop misconduct list`.

`misconduct list` prints node/_govview_audit.py's document (through the running node,
else from the store), so ``--json`` is the same either way. Writing commands refuse
early what the fold would not count (a complaint against one's own co-op, a sanction
over a year, a finding on a circle the co-op was not drawn in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import Store, now_ms, resolve_circle, resolve_id
from coopledger.protocol import MAX_SANCTION_DAYS, drawn_coops

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, out, parse_time
from ._economy import find_coop
from ._options import DAY_MS, coop_label, member_federation, opened, trimmed, who
from ._render import print_json
from ._views import fetch as view
from ._writer import write

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Federation

complaint_app = typer.Typer(
    help="Complaints against a member co-op of a federation.\n\n"
         "Example:  coop complaint file \"Old Mill\" --federation Riverside --text \"...\"",
    no_args_is_help=True)
finding_app = typer.Typer(
    help="Public findings about a member co-op (after a complaint or an audit).\n\n"
         "Example:  coop finding add \"Old Mill\" --federation Riverside --text \"...\"",
    no_args_is_help=True)
sanction_app = typer.Typer(
    help="Sanctions: proportionate measures on a finding, each with an expiry.\n\n"
         "Example:  coop sanction add \"Old Mill\" --federation Riverside --finding 3f2a9c1e "
         "--measure \"...\" --days 30", no_args_is_help=True)
misconduct_app = typer.Typer(
    help="Complaints, findings, sanctions, forks and broken logs.\n\n"
         "Example:  coop misconduct list", no_args_is_help=True)




def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(complaint_app, name="complaint")
    app.add_typer(finding_app, name="finding")
    app.add_typer(sanction_app, name="sanction")
    app.add_typer(misconduct_app, name="misconduct")


def misconduct_lines(doc: dict[str, Any], indent: str = "  ") -> None:
    """Print a document's complaints, findings, sanctions, forks and broken logs."""
    for c in doc["complaints"]:
        out.print(f"{indent}complaint {c['id'][:8]} by {who(c, 'by')} against "
                  f"{who(c, 'against')} [{c['federation_name']}], {format_ts(c['ts'])}: "
                  f"{c['text']}")
    for f in doc["findings"]:
        extra = f" (on complaint {f['complaint'][:8]})" if f["complaint"] else ""
        extra += f" (from circle {f['circle'][:8]})" if f["circle"] else ""
        out.print(f"{indent}finding {f['id'][:8]} by {who(f, 'by')} about "
                  f"{who(f, 'about')}{extra}: {f['text']}")
    for s in doc["sanctions"]:
        state = "IN FORCE" if s["in_force"] else "not in force"
        out.print(f"{indent}sanction {s['id'][:8]} by {who(s, 'by')} on "
                  f"{who(s, 'against')}, {state} until {format_ts(s['expires'])}: "
                  f"{s['measure']}")
    for k in doc["forks"]:
        out.print(f"{indent}FORK: key {who(k, 'key')} of {who(k, 'coop')} signed two "
                  f"entries at seq {k['seq']} ({k['a'][:8]}, {k['b'][:8]}); frozen there")
    for b in doc["broken"]:
        out.print(f"{indent}broken log: key {who(b, 'key')} of {who(b, 'coop')} at seq "
                  f"{b['seq']} ({b['reason']})")




# -- complaints, findings, sanctions --------------------------------------------------------


def _member_target(store: Store, eco: Economy, f: Federation, text: str, me: bytes,
                   what: str, *, former_ok: bool = False) -> bytes:
    coop = find_coop(store, text, "COOP")
    if coop == me:
        fail(f"COOP: a co-op does not {what} itself")
    if not (f.is_member(coop) or (former_ok and coop in f.members)):
        fail(f"COOP: {coop_label(store, coop)} is not a member of federation {f.name!r}")
    return coop


@complaint_app.command("file")
def complaint_file(
    coop: Annotated[str, typer.Argument(
        help="The co-op complained against (name or key prefix).", show_default=False)],
    federation: Annotated[str, typer.Option(
        "--federation", help="The federation both co-ops are members of.")],
    text: Annotated[str, typer.Option("--text", help="What happened, plainly.")],
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """File a complaint against another member co-op of a federation.

    Example:  coop complaint file "Old Mill" --federation Riverside --text "Our ladder
    was not returned after three months."
    """
    text = trimmed(text, "--text", 8000)
    with opened(home, as_held=True) as (_h, store, eco, me):
        f = member_federation(eco, federation, me)
        against = _member_target(store, eco, f, coop, me, "complain against")
    write(home, passphrase_file, "complaint", {"federation": f.id.hex(),
                                               "against": against.hex(), "text": text},
          [f.id], json_, "complaint")


@finding_app.command("add")
def finding_add(
    coop: Annotated[str, typer.Argument(
        help="The co-op the finding is about (name or key prefix).", show_default=False)],
    federation: Annotated[str, typer.Option(
        "--federation", help="The federation the finding is made in.")],
    text: Annotated[str, typer.Option("--text", help="What was found, plainly.")],
    complaint: Annotated[str | None, typer.Option(
        "--complaint", help="The complaint it answers (id prefix).")] = None,
    circle: Annotated[str | None, typer.Option(
        "--circle", help="The audit circle it comes from (id prefix); your co-op was "
        "drawn in it.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record a public finding about a member co-op, after a complaint or an audit.

    Example:  coop finding add "Old Mill" --federation Riverside --complaint 3f2a9c1e
    --text "The ladder was kept three months; it is back now."
    """
    text = trimmed(text, "--text", 8000)
    with opened(home, as_held=True) as (_h, store, eco, me):
        f = member_federation(eco, federation, me)
        about = _member_target(store, eco, f, coop, me, "make a finding about",
                               former_ok=True)
        body: dict[str, Any] = {"federation": f.id.hex(), "about": about.hex(), "text": text}
        refs = [f.id]
        audit = eco.gov.audit
        if complaint is not None:
            cid = resolve_id(audit.complaints, complaint, field="--complaint",
                             what="complaint")
            c = audit.complaints[cid]
            if c.federation != f.id or c.against != about:
                fail(f"--complaint: {cid.hex()[:8]} is not a complaint against "
                     f"{coop_label(store, about)} in {f.name!r}")
            body["complaint"] = cid.hex()
            refs.append(cid)
        if circle is not None:
            circ = audit.circles[resolve_circle(eco, circle, field="--circle")]
            if circ.coop != about or circ.federation != f.id:
                fail(f"--circle: circle {circ.id.hex()[:8]} does not audit "
                     f"{coop_label(store, about)} in {f.name!r}")
            if me not in drawn_coops(eco.gov.lotteries, eco.gov.ids, circ):
                fail(f"--circle: your co-op was not drawn in circle {circ.id.hex()[:8]}")
            body["circle"] = circ.id.hex()
            refs.append(circ.id)
    write(home, passphrase_file, "finding", body, refs, json_, "finding")


@sanction_app.command("add")
def sanction_add(
    coop: Annotated[str, typer.Argument(
        help="The co-op sanctioned (name or key prefix).", show_default=False)],
    federation: Annotated[str, typer.Option(
        "--federation", help="The federation that sanctions.")],
    finding: Annotated[str, typer.Option(
        "--finding", help="The finding it rests on (id prefix).")],
    measure: Annotated[str, typer.Option(
        "--measure", help="What the sanction is, proportionate to the finding.")],
    days: Annotated[int, typer.Option(
        "--days", help=f"How long it lasts: 1 to {MAX_SANCTION_DAYS} days.")],
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record a sanction on a finding, with its expiry (at most a year).

    Example:  coop sanction add "Old Mill" --federation Riverside --finding 9e8d7c6b
    --measure "No tool loans to the Old Mill for 30 days." --days 30
    """
    measure = trimmed(measure, "--measure", 2000)
    if not 1 <= days <= MAX_SANCTION_DAYS:
        fail(f"--days: 1 to {MAX_SANCTION_DAYS}; every sanction ends within a year")
    with opened(home, as_held=True) as (_h, store, eco, me):
        f = member_federation(eco, federation, me)
        against = _member_target(store, eco, f, coop, me, "sanction", former_ok=True)
        audit = eco.gov.audit
        fid = resolve_id(audit.findings, finding, field="--finding", what="finding")
        found = audit.findings[fid]
        if found.federation != f.id or found.about != against:
            fail(f"--finding: {fid.hex()[:8]} is not a finding about "
                 f"{coop_label(store, against)} in {f.name!r}")
    # The entry's ts is taken after this, so expires - ts is at most ``days`` days.
    expires = now_ms() + days * DAY_MS
    write(home, passphrase_file, "sanction", {
        "federation": f.id.hex(), "against": against.hex(), "finding": fid.hex(),
        "measure": measure, "expires": expires, "note": note}, [f.id, fid], json_,
        "sanction")


@misconduct_app.command("list")
def misconduct_list(
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Only this federation's complaints, findings and "
        "sanctions.")] = None,
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Only those about this co-op (and its forks).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Sanctions in force at this time (date, date-time or ms; "
        "default now).")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List complaints, findings, sanctions (in force or not), forks and broken logs.

    Example:  coop misconduct list --federation Riverside
    """
    at = None if as_of is None else str(parse_time(as_of, option="--as-of",
                                                   end_of_day=True))
    doc = view(home, "misconduct", {"federation": federation, "coop": coop, "as_of": at})
    if json_:
        print_json(doc)
        return
    if not (doc["complaints"] or doc["findings"] or doc["sanctions"] or doc["forks"]
            or doc["broken"]):
        out.print("No complaints, findings, sanctions or forks.")
        return
    out.print(f"As of {format_ts(doc['as_of'])}: {doc['sanctions_in_force']} sanction(s) "
              "in force")
    misconduct_lines(doc, indent="")
