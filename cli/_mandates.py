"""Mandates, roles and policy on the command line (SPEC §13.3-§13.5, docs/mandates.md):
`coop mandate issue|renew|recall|report|verdict|list|show`, `coop role
assign|renew|end|list`, `coop policy set|show`.

Views (`list`, `show`) are node/_govview_mandates.py's documents, through the running
node when one runs, else from the store, so ``--json`` is the same either way. Writing
commands refuse early what the fold would refuse (not the issuer, a key that is not a
delegate key of the co-op, a term longer than the body's policy allows, a renewal
after expiry or recall); a term limit passed is only a warning, as the fold only flags
it. Mandates and assignments are named by at least 8 hex characters of their id.

A delegate acting under a mandate adds ``--mandate ID`` to the command that writes
the entry (``mandate_refs`` of cli/_writer.py resolves it), so the entry refs the mandate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import Store, now_ms, resolve_id
from coopledger.protocol import MANDATE_ACTIONS, UNIT_NAME_PATTERN, VERDICTS

from ._common import HomeOpt, JsonOpt, PassFileOpt, err, fail, format_ts, out
from ._common import parse_time as _parse_time
from ._options import DAY_MS, NoteOpt, body_of, opened, qty, trimmed, who
from ._render import print_json
from ._views import fetch as view
from ._writer import write

if TYPE_CHECKING:
    from coopledger.protocol import Assignment, Economy, Mandate

MAX_TITLE = 100

mandate_app = typer.Typer(
    help="Mandates: written, scoped, expiring authority lent to a delegate; renew, "
         "recall, report back, judge.\n\nExample:  coop mandate list --active",
    no_args_is_help=True)
role_app = typer.Typer(
    help="Roles with terms (treasurer, facilitator…): who holds what, until when.\n\n"
         "Example:  coop role list", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(mandate_app, name="mandate")
    app.add_typer(role_app, name="role")


# -- options --------------------------------------------------------------------------

FedOpt = Annotated[str | None, typer.Option(
    "--federation", help="For this federation (name or id prefix); default: your co-op's "
    "own assembly.")]
ListFedOpt = Annotated[str | None, typer.Option(
    "--federation", help="Only this federation's (name or id prefix).")]
CoopOpt = Annotated[str | None, typer.Option(
    "--coop", help="Only what this co-op issued or recorded (name or key prefix).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Judge status at this time: a date, a date-time (UTC unless an offset "
    "is given) or milliseconds. Default: now.")]
DaysOpt = Annotated[int | None, typer.Option(
    "--days", help="The term in days, counted from the start.")]


# -- helpers --------------------------------------------------------------------------


def _time(text: str, option: str, *, end: bool = False) -> int:
    """ms from a date, date-time or ms; a bare date as an end (``end``) is the first
    ms after that day, so a term "until 2026-12-31" covers the whole of that day."""
    at = _parse_time(text, option=option, end_of_day=end)
    return at + 1 if end and len(text.strip()) == 10 else at


def _term(start: int, until: str | None, days: int | None, until_opt: str) -> int:
    if (until is None) == (days is None):
        fail(f"give {until_opt} or --days (one of them)")
    if days is not None:
        if days < 1:
            fail("--days: at least 1")
        return start + days * DAY_MS
    assert until is not None
    at = _time(until, until_opt, end=True)
    if at <= start:
        fail(f"{until_opt}: must be later than the start ({format_ts(start)})")
    return at


def _mandate(eco: Economy, text: str, what: str = "MANDATE") -> Mandate:
    mid = resolve_id(eco.gov.mandates.by_id, text, field=what, what="mandate")
    return eco.gov.mandates.by_id[mid]


def _assignment(eco: Economy, text: str) -> Assignment:
    aid = resolve_id(eco.gov.roles.by_id, text, field="ASSIGNMENT", what="assignment")
    return eco.gov.roles.by_id[aid]


def _issuer_only(md: Mandate, me: bytes, verb: str) -> None:
    if md.issuer != me:
        fail(f"only the co-op that issued this mandate may {verb} it")


def _action(eco: Economy, spec: str) -> dict[str, str]:
    """``vote``, ``vote:PROPOSAL``, ``transfer``, ``transfer:MAX:UNIT``, ``propose``,
    ``allocate``, ``surplus``, ``lottery``."""
    parts = [p.strip() for p in spec.split(":")]
    do = parts[0]
    if do not in MANDATE_ACTIONS:
        fail(f"--allow: {spec[:40]!r} is not one of {', '.join(MANDATE_ACTIONS)} (vote may "
             "name a proposal, vote:ID; transfer a maximum, transfer:5:hour)")
    if len(parts) == 1:
        return {"do": do}
    if do == "vote" and len(parts) == 2:
        pid = resolve_id(eco.gov.proposals.proposals, parts[1], field="--allow",
                         what="proposal")
        return {"do": do, "proposal": pid.hex()}
    if do == "transfer" and len(parts) == 3:
        if not UNIT_NAME_PATTERN.fullmatch(parts[2]):
            fail(f"--allow: {parts[2][:40]!r} is not a unit name (lower-case, like hour)")
        return {"do": do, "max": str(qty(parts[1], "--allow")), "unit": parts[2]}
    fail(f"--allow: {spec[:40]!r}: only vote:PROPOSAL and transfer:MAX:UNIT take more")


def _delegate_key(store: Store, eco: Economy, me: bytes, text: str, start: int) -> bytes:
    low = text.strip().lower()
    mine = [r for r in eco.gov.ids.keys_of(me) if r.key.hex().startswith(low)]
    if len(low) < 8 or not mine:
        fail(f"--key: no key of your co-op starts with {low[:64]!r} (give at least 8 hex "
             "characters; coop key list shows them)")
    if len(mine) > 1:
        fail(f"--key: {low[:64]} matches {len(mine)} keys; give more characters")
    rec = mine[0]
    if eco.gov.ids.power_at(rec.key, me, start) != "delegate":
        fail(f"--key: {rec.key.hex()[:8]} is not a delegate key of your co-op at the "
             f"start ({rec.power}{', revoked' if rec.revoked else ''}); add one with "
             "coop key add KEY --power delegate")
    return rec.key


def _term_warning(eco: Economy, body: bytes, issuer: bytes, title: str, delegate: str
                  ) -> None:
    limit = eco.gov.policy_at(body).max_consecutive_terms
    if not limit:
        return
    seq = eco.gov.mandates.terms.get((issuer, body, title.casefold()), [])
    runs = 1
    for d in reversed(seq):
        if d != delegate.casefold():
            break
        runs += 1
    if runs > limit:
        err.print(f"Warning: this is {delegate}'s term {runs} in a row as {title!r}; the "
                  f"policy allows {limit}. The mandate is valid, and flagged term-limit.")


def _where(row: dict[str, Any]) -> str:
    if row["body_kind"] == "federation":
        return f"federation {row['body_name'] or row['body'][:8]}"
    return f"the assembly of {row['body_name'] or row['body'][:8]}"


def _actions_text(actions: list[dict[str, str]]) -> str:
    parts = []
    for a in actions:
        if "proposal" in a:
            parts.append(f"vote on {a['proposal'][:8]}")
        elif "max" in a:
            parts.append(f"transfer up to {a['max']} {a['unit']}")
        else:
            parts.append(a["do"])
    return ", ".join(parts) or "nothing (a written mandate only)"


# -- mandates -------------------------------------------------------------------------


@mandate_app.command("issue")
def mandate_issue(
    title: Annotated[str, typer.Option("--title", help="What the mandate is, in a few "
                                       "words (Delegate to Riverside).")],
    delegate: Annotated[str, typer.Option("--delegate", help="The person mandated.")],
    scope: Annotated[str, typer.Option("--scope", help="The written scope: what the "
                                       "delegate may and may not do.")],
    sunset: Annotated[str, typer.Option("--sunset", help="How the role is handed on "
                                        "when the mandate ends.")],
    allow: Annotated[list[str] | None, typer.Option(
        "--allow", help="An action the delegate's key may take: vote, vote:PROPOSAL, "
        "propose, allocate, transfer, transfer:MAX:UNIT, surplus, lottery; repeatable.")
    ] = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="The delegate's key (a delegate key of your co-op, 8+ hex "
        "characters): entries it signs count only inside this mandate.")] = None,
    federation: FedOpt = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="When it starts (date, date-time or ms). Default: now.")] = None,
    expires: Annotated[str | None, typer.Option(
        "--expires", help="When it ends (a date: the end of that day). Mandatory, or "
        "--days.")] = None,
    days: DaysOpt = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Issue a mandate, as your co-op's assembly decided: who, what, for how long.

    Example:  coop mandate issue --federation Riverside --title "Delegate to Riverside"
    --delegate Ana --key 3f2a9c1e --allow vote --allow transfer:5:hour --days 90
    --scope "Vote for us at Riverside's assemblies." --sunset "Hand over the notes."
    """
    title_ = trimmed(title, "--title", MAX_TITLE, plain=True)
    delegate_ = trimmed(delegate, "--delegate", MAX_TITLE, plain=True)
    scope_ = trimmed(scope, "--scope", 4000, plain=True)
    sunset_ = trimmed(sunset, "--sunset", 2000, plain=True)
    begin = now_ms() if start is None else _time(start, "--start")
    end = _term(begin, expires, days, "--expires")
    if len(allow or ()) > 16:
        fail("--allow: at most 16 actions")
    with opened(home) as (_h, store, eco, me):
        body_id, body, refs = body_of(eco, federation, me)
        actions = [_action(eco, a) for a in allow or ()]
        refs += [bytes.fromhex(a["proposal"]) for a in actions if "proposal" in a]
        if key is not None:
            body["key"] = _delegate_key(store, eco, me, key, begin).hex()
        max_days = eco.gov.policy_at(body_id).max_mandate_days
        if end - begin > max_days * DAY_MS:
            fail(f"the term is longer than {max_days} days, the most this body's policy "
                 "allows (coop policy show)")
        _term_warning(eco, body_id, me, title_, delegate_)
    body.update({"title": title_, "delegate": delegate_, "scope": scope_,
                 "actions": actions, "start": begin, "expires": end, "sunset": sunset_,
                 "note": note})
    write(home, passphrase_file, "mandate.issue", body, refs, json_, "mandate")


@mandate_app.command("renew")
def mandate_renew(
    mandate: Annotated[str, typer.Argument(help="The mandate (8+ hex characters of its id).",
                                           show_default=False)],
    expires: Annotated[str | None, typer.Option(
        "--expires", help="The new end (a date: the end of that day), or --days.")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="The new term in days, counted from now.")] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Renew a mandate before it expires: a new term from now.

    Example:  coop mandate renew 3f2a9c1e --days 90
    """
    now = now_ms()
    end = _term(now, expires, days, "--expires")
    with opened(home) as (_h, _store, eco, me):
        md = _mandate(eco, mandate)
        _issuer_only(md, me, "renew")
        status = md.status_at(now)
        if status in ("recalled", "expired"):
            fail(f"the mandate is {status}; issue a new one instead")
        if end <= md.expires_at(now):
            fail(f"the new end must be later than the current one, "
                 f"{format_ts(md.expires_at(now))}")
        # A renewal is judged under the policy the mandate was issued under (§13.4).
        if end - now > md.max_days * DAY_MS:
            fail(f"the new term is longer than {md.max_days} days, the most the policy it "
                 "was issued under allows")
        _term_warning(eco, md.body, me, md.title, md.delegate)
    write(home, passphrase_file, "mandate.renew",
          {"mandate": md.id.hex(), "expires": end, "note": note}, [md.id], json_, "renewal")


@mandate_app.command("recall")
def mandate_recall(
    mandate: Annotated[str, typer.Argument(help="The mandate (8+ hex characters of its id).",
                                           show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why, in plain words.")],
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Recall a mandate at once: anything done under it after now is invalid everywhere.

    Example:  coop mandate recall 3f2a9c1e --reason "The assembly chose another delegate."
    """
    reason_ = trimmed(reason, "--reason", 2000, plain=True)
    with opened(home) as (_h, _store, eco, me):
        md = _mandate(eco, mandate)
        _issuer_only(md, me, "recall")
        if md.recall is not None:
            fail(f"the mandate was already recalled at {format_ts(md.recalled)}")
    write(home, passphrase_file, "mandate.recall",
          {"mandate": md.id.hex(), "reason": reason_}, [md.id], json_, "recall")


@mandate_app.command("report")
def mandate_report(
    mandate: Annotated[str, typer.Argument(help="The mandate (8+ hex characters of its id).",
                                           show_default=False)],
    text: Annotated[str, typer.Option("--text", help="The report back to the assembly.")],
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Report back on a mandate (the delegate, with its key, or the issuing co-op).

    Example:  coop mandate report 3f2a9c1e --text "I voted for the bike, as mandated."
    """
    report = trimmed(text, "--text", 8000, plain=True)
    with opened(home) as (_h, _store, eco, me):
        md = _mandate(eco, mandate)
        _issuer_only(md, me, "report on")
    write(home, passphrase_file, "mandate.report",
          {"mandate": md.id.hex(), "report": report}, [md.id], json_, "report")


@mandate_app.command("verdict")
def mandate_verdict(
    mandate: Annotated[str, typer.Argument(help="The mandate (8+ hex characters of its id).",
                                           show_default=False)],
    verdict: Annotated[str, typer.Argument(help="kept or exceeded.", show_default=False)],
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record the assembly's verdict: the delegate kept to the mandate, or exceeded it.

    Example:  coop mandate verdict 3f2a9c1e kept --note "Thanks, Ana."
    """
    if verdict not in VERDICTS:
        fail(f"VERDICT: one of {', '.join(VERDICTS)}")
    with opened(home) as (_h, _store, eco, me):
        md = _mandate(eco, mandate)
        _issuer_only(md, me, "judge")
        if not md.reports and md.status_at(now_ms()) in ("active", "pending"):
            fail("a verdict comes after a report, or once the mandate has ended or been "
                 "recalled")
    write(home, passphrase_file, "mandate.verdict",
          {"mandate": md.id.hex(), "verdict": verdict, "note": note}, [md.id], json_,
          "verdict")


def _as_of(text: str | None) -> str | None:
    return None if text is None else str(_time(text, "--as-of", end=True))


@mandate_app.command("list")
def mandate_list(
    active: Annotated[bool, typer.Option("--active", help="Only mandates in force.")] = False,
    federation: ListFedOpt = None,
    coop: CoopOpt = None,
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List mandates: your co-op's and those for its federations (or one body's).

    Example:  coop mandate list --active --federation Riverside
    """
    data = view(home, "mandates", {"federation": federation, "coop": coop,
                                   "as_of": _as_of(as_of),
                                   "active": "true" if active else None})
    if json_:
        print_json(data)
        return
    if not data["mandates"]:
        out.print("No mandates." if not active else "No mandates in force.")
        return
    for r in data["mandates"]:
        key = f", key {r['key'][:8]}" if r["key"] else ""
        out.print(f"{r['id'][:8]}  {r['title']}: {r['delegate']}{key}  [{_where(r)}]  "
                  f"{r['status'].upper()}")
        out.print(f"    {format_ts(r['start'])} until {format_ts(r['expires'])}"
                  f"{'' if r['recalled'] is None else ', recalled ' + format_ts(r['recalled'])}"
                  f"; may: {_actions_text(r['actions'])}")


@mandate_app.command("show")
def mandate_show(
    mandate: Annotated[str, typer.Argument(help="The mandate (8+ hex characters of its id).",
                                           show_default=False)],
    as_of: AsOfOpt = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show a mandate in full, with everything done under it and the fold's verdict.

    Example:  coop mandate show 3f2a9c1e
    """
    d = view(home, "mandate", {"mandate": mandate, "as_of": _as_of(as_of)})
    if json_:
        print_json(d)
        return
    out.print(f"Mandate {d['id']}  {d['status'].upper()} at {format_ts(d['as_of'])}")
    out.print(f"  {d['title']}: {d['delegate']}"
              f"{'' if not d['key'] else ' (key ' + d['key'][:8] + ')'}")
    out.print(f"  issued by {who(d, 'issuer')} for {_where(d)}, term {d['term']} in a row")
    out.print(f"  from {format_ts(d['start'])} until {format_ts(d['expires'])}"
              f" (as issued: {format_ts(d['issued_expires'])})")
    out.print(f"  may: {_actions_text(d['actions'])}")
    out.print(f"  scope: {d['scope']}")
    out.print(f"  sunset: {d['sunset']}")
    for r in d["renewals"]:
        out.print(f"  renewed {format_ts(r['ts'])} until {format_ts(r['expires'])}")
    if d["recall"]:
        out.print(f"  RECALLED {format_ts(d['recall']['ts'])}: {d['recall']['reason']}")
    for r in d["reports"]:
        out.print(f"  report {format_ts(r['ts'])}: {r['report']}")
    if d["verdict"]:
        note = f" ({d['verdict']['note']})" if d["verdict"]["note"] else ""
        out.print(f"  verdict: {d['verdict']['verdict']}{note}")
    for f in d["flags"]:
        out.print(f"  flagged {f['code']}: {f['detail']}")
    if d["entries"]:
        out.print("Entries that name it:")
    for e in d["entries"]:
        verdict = "valid" if e["valid"] else f"INVALID {e['code']}: {e['detail']}"
        out.print(f"  {format_ts(e['ts'])}  {e['kind']:<16} {who(e, 'key')}  {verdict}")


# -- roles ----------------------------------------------------------------------------


@role_app.command("assign")
def role_assign(
    role: Annotated[str, typer.Argument(help="The role (treasurer, facilitator…).",
                                        show_default=False)],
    holder: Annotated[str, typer.Option("--holder", help="Who holds it.")],
    federation: FedOpt = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="When the term starts (date, date-time or ms). Default: now.")
    ] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="When it ends (a date: the end of that day), or --days.")] = None,
    days: DaysOpt = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="The holder's key, for the record (64 hex characters).")] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Assign a role for a term; it dissolves at the end unless renewed.

    Example:  coop role assign treasurer --holder Ana --days 365
    """
    role_ = trimmed(role, "ROLE", MAX_TITLE, plain=True)
    holder_ = trimmed(holder, "--holder", MAX_TITLE, plain=True)
    begin = now_ms() if start is None else _time(start, "--from")
    end = _term(begin, until, days, "--until")
    if key is not None and (len(key) != 64 or any(c not in "0123456789abcdef" for c in key)):
        fail("--key: 64 lower-case hex characters")
    with opened(home) as (_h, _store, eco, me):
        body_id, body, refs = body_of(eco, federation, me)
        max_days = eco.gov.policy_at(body_id).max_mandate_days
        if end - begin > max_days * DAY_MS:
            fail(f"the term is longer than {max_days} days, the most this body's policy "
                 "allows (coop policy show)")
    body.update({"role": role_, "holder": holder_, "key": key, "from": begin,
                 "until": end, "note": note})
    write(home, passphrase_file, "role.assign", body, refs, json_, "assignment")


def _changeable(eco: Economy, a: Assignment, me: bytes) -> None:
    if a.federation is None and a.body != me:
        fail("only the co-op that assigned this role may change it")
    if a.federation is not None and not eco.federations[a.federation].is_member(me):
        fail("only a member of the federation may change this role")
    now = now_ms()
    if a.ended is not None or now >= a.until_at(now):
        fail("this term has ended; assign the role again")


@role_app.command("renew")
def role_renew(
    assignment: Annotated[str, typer.Argument(
        help="The assignment (8+ hex characters of its id).", show_default=False)],
    until: Annotated[str | None, typer.Option(
        "--until", help="The new end (a date: the end of that day), or --days.")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="The new term in days, counted from now.")] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Renew a role's term before it ends.

    Example:  coop role renew 3f2a9c1e --days 365
    """
    now = now_ms()
    end = _term(now, until, days, "--until")
    with opened(home) as (_h, _store, eco, me):
        a = _assignment(eco, assignment)
        _changeable(eco, a, me)
        if end <= a.until_at(now):
            fail(f"the new end must be later than the current one, "
                 f"{format_ts(a.until_at(now))}")
        max_days = eco.gov.policy_at(a.body).max_mandate_days
        if end - now > max_days * DAY_MS:
            fail(f"the term is longer than {max_days} days, the most this body's policy "
                 "allows")
    write(home, passphrase_file, "role.renew",
          {"assignment": a.id.hex(), "until": end, "note": note}, [a.id], json_, "renewal")


@role_app.command("end")
def role_end(
    assignment: Annotated[str, typer.Argument(
        help="The assignment (8+ hex characters of its id).", show_default=False)],
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """End a role's term now (the holder steps down, or the body ends it).

    Example:  coop role end 3f2a9c1e --note "Ana stepped down."
    """
    with opened(home) as (_h, _store, eco, me):
        a = _assignment(eco, assignment)
        _changeable(eco, a, me)
    write(home, passphrase_file, "role.end", {"assignment": a.id.hex(), "note": note},
          [a.id], json_, "end")


@role_app.command("list")
def role_list(
    federation: ListFedOpt = None,
    coop: CoopOpt = None,
    as_of: AsOfOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Every assignment, not only the "
                                       "roles held now.")] = False,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Who holds which role now, until when, and how often each person has held it.

    Example:  coop role list --federation Riverside
    """
    data = view(home, "roles", {"federation": federation, "coop": coop,
                                "as_of": _as_of(as_of)})
    if json_:
        print_json(data)
        return
    rows = data["assignments"] if all_ else data["holders"]
    if not rows:
        out.print("No roles held." if not all_ else "No roles assigned.")
    for r in rows:
        state = "holds" if r["holds"] else "does not hold"
        ended = "" if r["ended"] is None else f", ended {format_ts(r['ended']['ts'])}"
        out.print(f"{r['id'][:8]}  {r['role']}: {r['holder']} {state} it, "
                  f"{format_ts(r['from'])} until {format_ts(r['until'])}{ended}  "
                  f"[{_where(r)}]")
    if data["rotation"]:
        out.print("Rotation (terms held, a renewal counts as a term):")
    for r in data["rotation"]:
        out.print(f"  {r['role']}: {r['holder']} {r['terms']}  [{_where(r)}]")
