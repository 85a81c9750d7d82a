"""Proposals, decisions, minutes and cascades on the command line (SPEC §13.7):
`coop proposal create|amend|position|decide|show|list`, `coop decision list`,
`coop minutes add|list`, `coop cascade start|status`.

Reading commands print node/_govview_proposals.py's documents (through the running
node, else computed on the store), so ``--json`` is the same either way. Writing
commands check first what the fold would refuse (not a member, already decided, an
amendment from the draft's own group, no amendment round yet…) and refuse early with
one line; what gets through anyway (written offline, raced by another co-op) is judged
by the fold all the same (`coop proposal show` lists refused entries).

Proposals and cascades are named by a unique id prefix of at least 8 hex characters;
federations by name or id prefix; co-ops by name or key prefix.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import (
    Store,
    now_ms,
    resolve_cascade,
    resolve_coop,
    resolve_proposal,
)
from coopledger.protocol import MAX_REFS, OUTCOMES, STANCES, counted_positions, tally

from ._common import HomeOpt, JsonOpt, PassFileOpt, err, fail, format_ts, out
from ._options import (
    NoteOpt,
    coop_label,
    member_federation,
    name_or_key,
    opened,
    parse_day,
    read_text,
    trimmed,
)
from ._options import lookup as _lookup
from ._render import print_json, table
from ._views import fetch as view
from ._writer import mandate_refs, write

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Lottery, Proposal

# -- options ----------------------------------------------------------------------------

FedOptional = Annotated[str | None, typer.Option(
    "--federation", help="The federation (name or id prefix). Without it: your co-op's own "
    "assembly.")]
FedFilter = Annotated[str | None, typer.Option(
    "--federation", help="Only this federation (name or id prefix).")]
CoopFilter = Annotated[str | None, typer.Option(
    "--coop", help="Only this co-op's own assembly (name or key prefix); with --federation, "
    "only what this co-op recorded there.")]
SearchOpt = Annotated[str | None, typer.Option(
    "--search", help="Words that must all appear (any case) in the title, summary or text.")]
TextOpt = Annotated[str | None, typer.Option("--text", help="The text, in plain language.")]
TextFileOpt = Annotated[Path | None, typer.Option(
    "--text-file", help="A UTF-8 file holding the text (- reads standard input).")]
MandateOpt = Annotated[str | None, typer.Option(
    "--mandate", help="Writing with a delegate's key: the mandate (id prefix) that allows "
    "it.")]
ProposalArg = Annotated[str, typer.Argument(
    help="The proposal: at least 8 hex characters of its id.", show_default=False)]


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True)


proposal_app = _group("Proposals to a co-op's assembly or a federation: create, amend, "
                      "take positions, decide.\n\nExample:  coop proposal list --open")
decision_app = _group("The decision archive of your co-op and its federations.\n\n"
                      "Example:  coop decision list --search bike")
minutes_app = _group("Minutes of assemblies: add, list and search.\n\n"
                     "Example:  coop minutes list --federation Riverside")
cascade_app = _group("Cascades: a lottery splits people into groups of 3-4, each drafts, "
                     "other groups amend, then the plenary decides.\n\n"
                     "Example:  coop cascade status 3f2a9c1e")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    app.add_typer(proposal_app, name="proposal")
    app.add_typer(decision_app, name="decision")
    app.add_typer(minutes_app, name="minutes")
    app.add_typer(cascade_app, name="cascade")


# -- helpers ------------------------------------------------------------------------------


def _long_text(text: str | None, text_file: Path | None, option: str = "--text") -> str:
    if (text is None) == (text_file is None):
        raise typer.BadParameter(f"give the text as {option} TEXT or {option}-file FILE",
                                 param_hint=option)
    if text_file is not None:
        try:
            text = (sys.stdin.read() if str(text_file) == "-"
                    else text_file.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"{option}-file: cannot read {text_file}: {exc.strerror}")
        except UnicodeDecodeError:
            fail(f"{option}-file: {text_file} is not UTF-8 text")
    assert text is not None
    if not text.strip():
        raise typer.BadParameter("must not be empty", param_hint=option)
    return text.strip()


def _proposal(eco: Economy, text: str) -> Proposal:
    pid = _lookup(lambda: resolve_proposal(eco, text), "PROPOSAL")
    return eco.gov.proposals.proposals[pid]


def _speaks_for(store: Store, eco: Economy, p: Proposal, me: bytes, what: str) -> None:
    """Refuse unless ``me`` may write ``what`` for ``p``'s body (the fold's
    not-the-body, not-a-member)."""
    if p.federation is None:
        if p.body != me:
            fail(f"proposal {p.id[:4].hex()} is for the own assembly of "
                 f"{coop_label(store, p.body)}: only that co-op records its {what}")
        return
    f = eco.federations[p.federation]
    if not f.is_member(me):
        fail(f"your co-op is not a member of federation {f.name!r}")


def _option(p: Proposal, text: str, option: str) -> int:
    """An option of ``p`` by its number or its name (any case)."""
    if not p.options:
        fail(f"{option}: proposal {p.id[:4].hex()} offers no options")
    if text.strip().isdigit() and int(text) < len(p.options):
        return int(text)
    named = [i for i, o in enumerate(p.options) if o.casefold() == text.strip().casefold()]
    if len(named) != 1:
        listed = ", ".join(f"{i} {o}" for i, o in enumerate(p.options))
        fail(f"{option}: {text[:100]!r} is not an option of this proposal ({listed})")
    return named[0]


def _me_in(lot: Lottery, me: bytes) -> list[int]:
    draw = lot.draw
    return [] if draw is None else [
        i for i, g in enumerate(draw.groups) if any(c.coop == me for c in g)]


def _body_label(row: dict[str, Any]) -> str:
    name = row.get("body_name") or str(row["body"])[:8]
    return f"{name} (assembly)" if row["body_kind"] == "coop" else str(name)


def _params(**kw: str | None) -> dict[str, str | None]:
    return kw


# -- coop proposal ------------------------------------------------------------------------


@proposal_app.command("create")
def proposal_create(
    title: Annotated[str, typer.Option("--title", help="A short title.")],
    text: TextOpt = None,
    text_file: TextFileOpt = None,
    federation: FedOptional = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", help="An option to choose between (repeat, at least two): members "
        "rank them; Dowdall counts the rankings.")] = None,
    cascade: Annotated[str | None, typer.Option(
        "--cascade", help="Draft for this cascade (a drawn lottery in groups mode: id "
        "prefix).")] = None,
    group: Annotated[int | None, typer.Option(
        "--group", help="With --cascade: the group (from 0) your co-op drafts for.")] = None,
    note: NoteOpt = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Put a proposal to your co-op's assembly or to a federation.

    Example:  coop proposal create --title "Buy a cargo bike" --text "One bike for
    deliveries, up to 3000 EUR."
    """
    body: dict[str, Any] = {"title": trimmed(title, "--title"),
                            "text": _long_text(text, text_file), "note": note}
    options = [trimmed(o, "--option") for o in option or ()]
    if options:
        if len(options) < 2 or len(options) > 20 or len(set(options)) != len(options):
            raise typer.BadParameter("give 2 to 20 different options", param_hint="--option")
        body["options"] = options
    if (cascade is None) != (group is None):
        raise typer.BadParameter("a draft names both --cascade and --group",
                                 param_hint="--cascade" if cascade is None else "--group")
    refs: list[bytes] = []
    with opened(home) as (h, store, eco, _me):
        me, where = h.identity, h.identity
        if federation is not None:
            f = member_federation(eco, federation, me)
            fid = f.id
            body["federation"], where = fid.hex(), fid
            refs.append(fid)
        if cascade is not None and group is not None:
            lot = eco.gov.lotteries.by_id[_lookup(
                lambda: resolve_cascade(eco, cascade), "--cascade")]
            if lot.body != where:
                fail("--cascade: the cascade belongs to another body (give the same "
                     "--federation as its lottery, or none for your assembly's)")
            if lot.draw is None:
                fail(f"--cascade: not drawn yet: {len(lot.counted)} of {lot.terms.beacons} "
                     "beacons (other co-ops run `coop lottery beacon`)")
            if not 0 <= group < len(lot.draw.groups):
                fail(f"--group: the cascade has groups 0 to {len(lot.draw.groups) - 1}")
            if group not in _me_in(lot, me):
                fail(f"--group: your co-op has nobody in group {group}")
            body["cascade"], body["group"] = lot.id.hex(), group
            # The draft comes after the draw on every node's timeline.
            refs += [lot.id, *(b.id for b in lot.counted)]
        refs += mandate_refs(store, mandate)
    write(home, passphrase_file, "proposal.create", body, refs, json_, "proposal")


@proposal_app.command("amend")
def proposal_amend(
    proposal: ProposalArg,
    text: TextOpt = None,
    text_file: TextFileOpt = None,
    note: NoteOpt = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Amend a proposal: the new text replaces the current one.

    In a federation another member than the proposer amends; a cascade's draft is
    amended from another group.

    Example:  coop proposal amend 3f2a9c1e --text "Two bikes, shared with Bakery."
    """
    new = _long_text(text, text_file)
    with opened(home) as (h, store, eco, _me):
        me, p = h.identity, _proposal(eco, proposal)
        if p.decision is not None:
            fail(f"proposal {p.id[:4].hex()} was already decided ({p.decision.outcome})")
        _speaks_for(store, eco, p, me, "amendments")
        if p.cascade is not None:
            lot = eco.gov.lotteries.by_id[p.cascade]
            groups = _me_in(lot, me)
            if not groups:
                fail("your co-op has nobody in this cascade")
            if not [g for g in groups if g != p.group]:
                fail(f"this draft is group {p.group}'s; only another group amends it")
        elif p.federation is not None and p.proposer == me:
            fail("your co-op made this proposal: another member amends it (or withdraw it "
                 "and propose anew)")
        refs = [p.id, *mandate_refs(store, mandate)]
    body = {"proposal": p.id.hex(), "text": new, "note": note}
    write(home, passphrase_file, "proposal.amend", body, refs, json_, "amendment")


@proposal_app.command("position")
def proposal_position(
    proposal: ProposalArg,
    stance: Annotated[str, typer.Option(
        "--stance", help=f"One of: {', '.join(STANCES)}.")],
    member: Annotated[str | None, typer.Option(
        "--member", help="Whose position (a person of your co-op); in your assembly each "
        "member has one voice, in a federation your co-op has one.")] = None,
    rank: Annotated[list[str] | None, typer.Option(
        "--rank", help="An option (name or number), repeated in order of preference.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, in a sentence.")
                      ] = None,
    mandate: MandateOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record a position on a proposal: agree, disagree, block or abstain.

    A delegate writing with its own key adds --mandate with the mandate that allows it.

    Example:  coop proposal position 3f2a9c1e --stance agree --member Ana --reason
    "Saves the van trips."
    """
    if stance not in STANCES:
        raise typer.BadParameter(f"must be one of {', '.join(STANCES)}", param_hint="--stance")
    with opened(home) as (h, store, eco, _me):
        p = _proposal(eco, proposal)
        _speaks_for(store, eco, p, h.identity, "positions")
        ranking = [_option(p, r, "--rank") for r in rank or ()]
        if len(set(ranking)) != len(ranking):
            fail("--rank: an option is ranked twice")
        if p.decision is not None:
            err.print(f"note: proposal {p.id[:4].hex()} was already decided; this "
                      "position is recorded as late and does not count")
        refs = [p.id, *mandate_refs(store, mandate)]
    body: dict[str, Any] = {"proposal": p.id.hex(), "stance": stance, "member": member,
                            "ranking": ranking or None, "reason": reason}
    write(home, passphrase_file, "position", body, refs, json_, "position")


@proposal_app.command("decide")
def proposal_decide(
    proposal: ProposalArg,
    summary: Annotated[str, typer.Option(
        "--summary", help="The decision in plain language, for the archive.")],
    outcome: Annotated[str | None, typer.Option(
        "--outcome", help=f"One of: {', '.join(OUTCOMES)}. Default: what the count says."
    )] = None,
    option: Annotated[str | None, typer.Option(
        "--option", help="The option adopted (name or number). Default: the count's.")
    ] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Record the decision on a proposal, with the count under the body's method.

    An outcome other than the count's is recorded and flagged (outcome-differs).

    Example:  coop proposal decide 3f2a9c1e --summary "We buy a second-hand cargo bike."
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise typer.BadParameter(f"must be one of {', '.join(OUTCOMES)}",
                                 param_hint="--outcome")
    with opened(home) as (h, store, eco, _me):
        me, p = h.identity, _proposal(eco, proposal)
        if p.decision is not None:
            fail(f"proposal {p.id[:4].hex()} was already decided ({p.decision.outcome})")
        count = tally(p, eco.gov.policy_at(p.body).method)
        defaulted = outcome is None
        outcome = outcome or count.outcome
        if outcome == "withdrawn":
            if p.proposer != me:
                fail("only the proposer withdraws a proposal")
        else:
            _speaks_for(store, eco, p, me, "decisions")
        chosen = None
        if outcome == "adopted" and p.options:
            chosen = (_option(p, option, "--option") if option is not None
                      else count.option)
            if chosen is None:
                fail("--option: nobody ranked the options; say which one is adopted")
        elif option is not None:
            fail("--option: only an adoption of a proposal with options names one")
        if p.cascade is not None and outcome != "withdrawn" and not p.amendments:
            fail("this cascade draft has no amendment from another group yet: the plenary "
                 "decides after an amendment round")
        if outcome != "withdrawn" and (outcome != count.outcome or (
                chosen is not None and count.option is not None and chosen != count.option)):
            said = count.outcome + ("" if count.option is None
                                    else f" ({p.options[count.option]})")
            err.print(f"note: the {count.method} count says {said}; this decision is "
                      "recorded and flagged outcome-differs")
        if defaulted:
            err.print(f"note: no --outcome: recording what the {count.method} count says: "
                      f"{outcome} (agree {count.agree}, disagree {count.disagree}, block "
                      f"{count.block}, abstain {count.abstain})")
        # Ref the positions counted, so every node counts them before the decision.
        counted = [pos.id for pos in counted_positions(p)]
        refs = [p.id, *sorted(counted)[:MAX_REFS - 1]]
    body: dict[str, Any] = {"proposal": p.id.hex(), "outcome": outcome,
                            "summary": trimmed(summary, "--summary"), "option": chosen,
                            "note": note}
    write(home, passphrase_file, "decision", body, refs, json_, "decision")


@proposal_app.command("show")
def proposal_show(
    proposal: ProposalArg,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show a proposal: its text as amended, positions, the count and the decision.

    Example:  coop proposal show 3f2a9c1e
    """
    d = view(home, "proposal", {"proposal": proposal})
    if json_:
        print_json(d)
        return
    out.print(f"{d['title']}  ({_body_label(d)}, proposal {d['id'][:8]})")
    out.print(f"Proposed by {name_or_key(d, 'proposer')} on {format_ts(d['ts'])}; "
              f"status: {d['status']}")
    if d["cascade"]:
        out.print(f"Draft of group {d['group']} in cascade {d['cascade'][:8]}")
    if d["options"]:
        out.print("Options: " + "; ".join(f"{i} {o}" for i, o in enumerate(d["options"])))
    out.print("")
    out.print("Text" + (" (as amended)" if d["amendments"] else "") + ":")
    for line in d["current_text"].splitlines():
        out.print(f"  {line}")
    for a in d["amendments"]:
        group = "" if a["group"] is None else f", group {a['group']}"
        out.print(f"Amended by {name_or_key(a, 'by')}{group} on {format_ts(a['ts'])}")
    table(f"{len(d['positions'])} positions", d["positions"], [
        ("coop", lambda r: name_or_key(r, "coop")), ("member", lambda r: r["member"]),
        ("stance", lambda r: r["stance"]),
        ("ranking", lambda r: ", ".join(d["options"][i] for i in r["ranking"]) or None),
        ("status", lambda r: r["status"]), ("reason", lambda r: r["reason"])])
    c = d["count"]
    if c is not None:
        which = "" if c["option_name"] is None else f": {c['option_name']}"
        out.print(f"Count ({c['method']}): agree {c['agree']}, disagree {c['disagree']}, "
                  f"block {c['block']}, abstain {c['abstain']} -> {c['outcome']}{which}")
        if c["scores"]:
            out.print("  Dowdall: " + "; ".join(
                f"{s['name']} {s['score']} ({s['approx']})" for s in c["scores"]))
    dec = d["decision"]
    if dec is None:
        out.print("Not decided yet (the count above is what the method says now).")
    else:
        which = "" if dec["option_name"] is None else f" ({dec['option_name']})"
        out.print(f"Decision: {dec['outcome']}{which} by {name_or_key(dec, 'by')} on "
                  f"{format_ts(dec['ts'])}")
        out.print(f"  {dec['summary']}")
    for f in d["flags"]:
        out.print(f"Flagged {f['code']}: {f['detail']}")
    for r in d["refused"]:
        out.print(f"Refused {r['kind']} {r['id'][:8]} by {name_or_key(r, 'key')}: {r['code']} "
                  f"({r['detail']})")


@proposal_app.command("list")
def proposal_list(
    federation: FedFilter = None,
    coop: CoopFilter = None,
    open_: Annotated[bool, typer.Option("--open", help="Undecided proposals only.")] = False,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List proposals of your co-op's assembly and its federations.

    Example:  coop proposal list --federation Riverside --open
    """
    d = view(home, "proposals", _params(federation=federation, coop=coop,
                                        open="true" if open_ else None))
    if json_:
        print_json(d)
        return
    table(f"{len(d['proposals'])} proposals", d["proposals"], [
        ("id", lambda r: r["id"][:8]), ("title", lambda r: r["title"]),
        ("body", _body_label), ("proposer", lambda r: name_or_key(r, "proposer")),
        ("status", lambda r: r["status"]), ("positions", lambda r: r["positions"]),
        ("count", lambda r: None if r["count"] is None
         else f"{r['count']['method']}: {r['count']['outcome']}")])


# -- coop decision, coop minutes ----------------------------------------------------------


@decision_app.command("list")
def decision_list(
    federation: FedFilter = None,
    coop: CoopFilter = None,
    search: SearchOpt = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List decisions, newest first, optionally searched.

    Example:  coop decision list --federation Riverside --search "market day"
    """
    d = view(home, "decisions", _params(federation=federation, coop=coop, q=search))
    if json_:
        print_json(d)
        return
    rows = d["decisions"]
    if not rows:
        out.print("No decisions" + (f" match {search!r}" if search else "") + ".")
    for r in rows:
        which = "" if r["option_name"] is None else f" ({r['option_name']})"
        flag = "  [differs from the count]" if r["differs"] else ""
        out.print(f"{format_ts(r['ts'])[:10]}  {_body_label(r)}: {r['title']} -> "
                  f"{r['outcome']}{which}{flag}")
        out.print(f"    {r['summary']}  (proposal {r['proposal'][:8]})")


def _today() -> str:
    return datetime.datetime.fromtimestamp(now_ms() / 1000, datetime.UTC).date().isoformat()


@minutes_app.command("add")
def minutes_add(
    title: Annotated[str, typer.Option("--title", help="What meeting, e.g. General assembly.")],
    text: TextOpt = None,
    text_file: TextFileOpt = None,
    date: Annotated[str | None, typer.Option(
        "--date", help="The meeting's date, YYYY-MM-DD. Default: today (UTC).")] = None,
    federation: FedOptional = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Add the minutes of a meeting of your co-op's assembly or a federation.

    Example:  coop minutes add --title "General assembly" --text-file minutes.md
    --date 2026-11-20
    """
    body: dict[str, Any] = {"title": trimmed(title, "--title"),
                            "text": _long_text(text, text_file)}
    body["date"] = _today() if date is None else parse_day(date, "--date")
    refs: list[bytes] = []
    if federation is not None:
        with opened(home) as (h, _store, eco, _me):
            fid = member_federation(eco, federation, h.identity).id
        body["federation"] = fid.hex()
        refs.append(fid)
    write(home, passphrase_file, "minutes", body, refs, json_, "minutes")


@minutes_app.command("list")
def minutes_list(
    federation: FedFilter = None,
    coop: CoopFilter = None,
    search: SearchOpt = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List minutes, newest first, optionally searched.

    Example:  coop minutes list --search "cargo bike"
    """
    d = view(home, "minutes", _params(federation=federation, coop=coop, q=search))
    if json_:
        print_json(d)
        return
    if not d["minutes"]:
        out.print("No minutes" + (f" match {search!r}" if search else "") + ".")
    for r in d["minutes"]:
        out.print(f"{r['date']}  {_body_label(r)}: {r['title']}  (by {name_or_key(r, 'by')}, "
                  f"{r['id'][:8]})")
        for line in r["text"].splitlines():
            out.print(f"    {line}")


# -- coop cascade -------------------------------------------------------------------------


def _candidates(store: Store, specs: Sequence[str], pool_file: Path | None
                ) -> list[dict[str, str]]:
    lines = list(specs)
    if pool_file is not None:
        lines += [ln for ln in read_text(pool_file, "--pool-file").splitlines()
                  if ln.strip() and not ln.lstrip().startswith("#")]
    pool, seen = [], set()
    for spec in lines:
        name, sep, coop = spec.strip().rpartition("@")
        if not sep or not name.strip() or not coop.strip():
            raise typer.BadParameter(f"expected NAME@COOP, e.g. Ana@Garden, not "
                                     f"{spec[:60]!r}", param_hint="--candidate")
        key = resolve_coop(store, coop, field="--candidate")
        pair = (name.strip(), key.hex())
        if pair in seen:
            fail(f"--candidate: {name.strip()[:60]}@{coop.strip()[:20]} is listed twice")
        seen.add(pair)
        pool.append({"name": pair[0], "coop": pair[1]})
    if not pool or len(pool) > 500:
        raise typer.BadParameter("a cascade needs 1 to 500 people", param_hint="--candidate")
    return pool


@cascade_app.command("start")
def cascade_start(
    purpose: Annotated[str, typer.Option("--purpose", help="What the cascade drafts.")],
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="A participant NAME@COOP (co-op name or key prefix); repeat.")
    ] = None,
    pool_file: Annotated[Path | None, typer.Option(
        "--pool-file", help="A file with one NAME@COOP per line.")] = None,
    beacons: Annotated[int, typer.Option(
        "--beacons", help="How many other co-ops' beacons make the seed (1 to 16).")] = 2,
    federation: FedOptional = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Start a cascade: announce a lottery that splits the participants into groups.

    Once other co-ops have sent their beacons (`coop lottery beacon ID`), each group
    drafts with `coop proposal create --cascade ID --group N`.

    Example:  coop cascade start --federation Riverside --purpose "Market rules"
    --pool-file people.txt --beacons 2
    """
    if not 1 <= beacons <= 16:
        raise typer.BadParameter("1 to 16", param_hint="--beacons")
    body: dict[str, Any] = {"purpose": trimmed(purpose, "--purpose"), "seats": 1,
                            "beacons": beacons, "mode": "groups", "note": note}
    refs: list[bytes] = []
    with opened(home) as (h, store, eco, _me):
        body["pool"] = _candidates(store, candidate or [], pool_file)
        if federation is not None:
            fid = member_federation(eco, federation, h.identity).id
            body["federation"] = fid.hex()
            refs.append(fid)
    write(home, passphrase_file, "lottery.announce", body, refs, json_, "cascade")


@cascade_app.command("status")
def cascade_status(
    cascade: Annotated[str, typer.Argument(
        help="The cascade: at least 8 hex characters of its lottery's id.",
        show_default=False)],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show a cascade: its groups, their drafts, and whether the plenary may decide.

    A draft is ready once a co-op from another group amended it.

    Example:  coop cascade status 3f2a9c1e
    """
    d = view(home, "cascade", {"cascade": cascade})
    if json_:
        print_json(d)
        return
    out.print(f"Cascade {d['cascade'][:8]}: {d['purpose']}  ({_body_label(d)})")
    if not d["drawn"]:
        out.print(f"Not drawn yet: {d['beacons']['counted']} of {d['beacons']['needed']} "
                  f"beacons; {d['people']} people wait to be split into groups.")
        return
    for g in d["groups"]:
        people = ", ".join(f"{p['name']} ({name_or_key(p, 'coop')})" for p in g["people"])
        out.print(f"Group {g['group']}: {people}")
        if not g["drafts"]:
            out.print("    no draft yet")
        for dr in g["drafts"]:
            groups = sorted({a["group"] for a in dr["amendments"] if a["group"] is not None})
            amended = (f"amended by group {', '.join(map(str, groups))}" if groups
                       else "no amendment from another group yet")
            state = ("decided: " + dr["status"] if dr["status"] != "open"
                     else "ready for the plenary" if dr["decidable"] else "waiting")
            out.print(f"    draft {dr['id'][:8]} {dr['title']!r}: {amended}; {state}")
    out.print(f"{d['drafts']} drafts, {d['amended']} amended, {d['decided']} decided. "
              + ("The plenary may decide every draft." if d["ready"]
                 else "Not ready for the plenary yet."))
