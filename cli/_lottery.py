"""Verifiable lotteries on the command line (SPEC §13.6, docs/lotteries.md):
`coop lottery announce|beacon|list|show|verify`.

`list`, `show` and `verify` print node/_govview_lottery.py's documents (through the
running node, else from the store), so ``--json`` is the same either way. `verify`
also recomputes the draw here, from the announcement entry this home holds and the ids
of the counted beacons, with the protocol's own ``verify`` and says whether it agrees.
Writing commands refuse early what the fold would not count (an announcement by a
non-member, one's own beacon, a beacon after the draw).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.node import Store, resolve_coop, resolve_id
from coopledger.protocol import MAX_BEACONS, MAX_POOL, MAX_SEATS
from coopledger.protocol import verify_draw as verify

from ._common import HomeOpt, JsonOpt, PassFileOpt, err, fail, format_ts, open_home, out
from ._options import member_federation, opened, read_text, who
from ._render import print_json
from ._views import fetch as view
from ._writer import mandate_refs, write

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Lottery

MAX_TEXT = 100           # a candidate's name, a role (SPEC §13.1)

lottery_app = typer.Typer(
    help="Verifiable lotteries: announce a draw, add a beacon, check the result.\n\n"
         "Example:  coop lottery list", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(lottery_app, name="lottery")


# -- helpers ------------------------------------------------------------------------------


def _lookup_lottery(eco: Economy, text: str) -> Lottery:
    lid = resolve_id(eco.gov.lotteries.by_id, text, field="LOTTERY", what="lottery")
    lot = eco.gov.lotteries.get(lid)
    assert lot is not None
    return lot


def _coop(store: Store, text: str, option: str) -> bytes:
    return resolve_coop(store, text, field=option)


def _candidate(store: Store, spec: str, where: str) -> dict[str, str]:
    name, sep, coop = spec.rpartition("@")
    name = name.strip()
    if not sep or not name or not coop.strip():
        fail(f"{where}: expected NAME@COOP (COOP: a co-op's name or key prefix), got "
             f"{spec[:60]!r}")
    if len(name) > MAX_TEXT:
        fail(f"{where}: a name has at most {MAX_TEXT} characters")
    return {"name": name, "coop": _coop(store, coop.strip(), where).hex()}


def _pool_file(store: Store, path: Path) -> list[dict[str, str]]:
    """Candidates from a file: CSV rows ``name,coop`` (a header ``name,coop`` is
    skipped), or one ``NAME@COOP`` per line; blank lines and lines starting with #
    are skipped."""
    text = read_text(path, "--pool-file", encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out_: list[dict[str, str]] = []
    if any("," in ln for ln in lines):
        for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), start=1):
            cells = [c.strip() for c in row]
            if n == 1 and [c.casefold() for c in cells] == ["name", "coop"]:
                continue
            if len(cells) != 2:
                fail(f"--pool-file: row {n} has {len(cells)} columns; expected name,coop")
            out_.append(_candidate(store, f"{cells[0]}@{cells[1]}", f"--pool-file row {n}"))
    else:
        for n, ln in enumerate(lines, start=1):
            out_.append(_candidate(store, ln.strip(), f"--pool-file line {n}"))
    return out_


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(names) > 20:
        fail(f"{option}: give 1 to 20 names separated by commas")
    if len(set(names)) != len(names):
        fail(f"{option}: a name is given twice")
    if any(len(n) > MAX_TEXT for n in names):
        fail(f"{option}: a name has at most {MAX_TEXT} characters")
    return names


def _person(p: dict[str, Any]) -> str:
    return f"{p['name']} of {who(p, 'coop')}"


def _result_lines(doc: dict[str, Any]) -> list[str]:
    if doc["status"] == "waiting":
        return [f"waiting for beacons: {doc['beacons_counted']} of {doc['beacons_needed']}"]
    lines = []
    res = doc["result"]
    if res["seats"] is not None:
        for i, seat in enumerate(res["seats"], start=1):
            roles = doc["roles"]
            people = ", ".join(f"{roles[j]}: {_person(p)}" for j, p in enumerate(seat))
            lines.append(f"seat {i}: {people}")
    else:
        for i, group in enumerate(res["groups"]):
            lines.append(f"group {i}: " + ", ".join(_person(p) for p in group))
    if res["short"]:
        lines.append("SHORT: the pool could not fill what was asked (see docs/lotteries.md)")
    return lines


def _header(doc: dict[str, Any]) -> None:
    body = (f"federation {doc['body_name']}" if doc["body_kind"] == "federation"
            else f"the assembly of {doc['body_name'] or doc['body'][:8]}")
    out.print(f"Lottery {doc['id']}")
    out.print(f"  purpose: {doc['purpose']}  (for {body})")
    out.print(f"  announced by {who(doc, 'announcer')} at {format_ts(doc['announced'])}")
    if doc["mode"] == "draw":
        roles = ", ".join(doc["roles"])
        out.print(f"  draw {doc['seats']} seat(s), each with one person per role: {roles}")
    else:
        out.print("  split the pool into groups of 3 to 4")
    if doc.get("distinct_coops"):
        out.print("  no two people of one co-op")
    if doc.get("exclude"):
        out.print("  excluded co-ops: " + ", ".join(x[:8] for x in doc["exclude"]))
    if doc.get("note"):
        out.print(f"  note: {doc['note']}")
    out.print(f"  pool: {doc['pool']} people; beacons needed: {doc['beacons_needed']}")


def _beacon_lines(doc: dict[str, Any]) -> None:
    for b in doc["beacons"]:
        out.print(f"  counted      {b['id']}  {who(b, 'coop')}  at {format_ts(b['ts'])}")
    why = {"repeat": "this co-op already gave a beacon that counts",
           "late": "the draw already had its beacons"}
    for b in doc["not_counted"]:
        out.print(f"  not counted  {b['id']}  {who(b, 'coop')}: {b['reason']} "
                  f"({why.get(b['reason'], '')})")
    for b in doc["invalid_beacons"]:
        out.print(f"  invalid      {b['id']}  {who(b, 'key')}: {b['code']} ({b['detail']})")


# -- commands -------------------------------------------------------------------------------


@lottery_app.command("announce")
def lottery_announce(
    purpose: Annotated[str, typer.Option(
        "--purpose", help="What the draw is for (facilitation, audit circle…).")],
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="A person NAME@COOP (the co-op by name or key prefix); "
        "repeatable.")] = None,
    pool_file: Annotated[Path | None, typer.Option(
        "--pool-file", help="A file of candidates: CSV name,coop or one NAME@COOP a line.")
    ] = None,
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Draw for this federation (name or id prefix); default: "
        "your co-op's own assembly.")] = None,
    seats: Annotated[int, typer.Option(
        "--seats", help=f"How many seats, 1 to {MAX_SEATS}.")] = 1,
    beacons: Annotated[int, typer.Option(
        "--beacons", help=f"How many other co-ops' beacons make the seed, 1 to "
        f"{MAX_BEACONS}.")] = 2,
    roles: Annotated[str | None, typer.Option(
        "--roles", help="Each seat takes one person per role, e.g. \"facilitator,process "
        "guardian\". Default: one role, the purpose.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Leave out the candidates of this co-op (name or key prefix); "
        "repeatable.")] = None,
    distinct_coops: Annotated[bool, typer.Option(
        "--distinct-coops", help="Never two people of the same co-op.")] = False,
    groups: Annotated[bool, typer.Option(
        "--groups", help="Split the whole pool into groups of 3 to 4 (for a cascade) "
        "instead of drawing seats.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Free text, kept with the entry.")
                    ] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Announce a lottery: who may be drawn, how many seats, how many beacons.

    Example:  coop lottery announce --federation Riverside --purpose "facilitation of
    the May assembly" --pool-file members.csv --seats 1 --beacons 3 --roles
    "facilitator,process guardian" --distinct-coops
    """
    if not purpose.strip() or len(purpose.strip()) > 200:
        fail("--purpose: give 1 to 200 characters")
    if not 1 <= seats <= MAX_SEATS:
        fail(f"--seats: 1 to {MAX_SEATS}")
    if not 1 <= beacons <= MAX_BEACONS:
        fail(f"--beacons: 1 to {MAX_BEACONS}")
    if groups and (seats != 1 or roles is not None or distinct_coops):
        fail("--groups splits the whole pool: it takes no --seats, --roles or "
             "--distinct-coops")
    with opened(home, as_held=True) as (_h, store, eco, me):
        refs: list[bytes] = []
        body: dict[str, Any] = {"purpose": purpose.strip()}
        others = None
        if federation is not None:
            f = member_federation(eco, federation, me)
            fid = f.id
            body["federation"] = fid.hex()
            refs.append(fid)
            others = len(f.current_members()) - 1
        people = [_candidate(store, c, "--candidate") for c in candidate or ()]
        if pool_file is not None:
            people += _pool_file(store, pool_file)
        if not people:
            fail("give the candidates: --candidate NAME@COOP (repeatable) or --pool-file")
        if len(people) > MAX_POOL:
            fail(f"at most {MAX_POOL} candidates")
        pairs = [(p["coop"], p["name"]) for p in people]
        if len(set(pairs)) != len(pairs):
            dup = next(p for p in pairs if pairs.count(p) > 1)
            fail(f"candidate {dup[1]!r} of co-op {dup[0][:8]} is given twice")
        excluded = sorted({_coop(store, x, "--exclude").hex() for x in exclude or ()})
        if len(excluded) > 100:
            fail("--exclude: at most 100 co-ops")
        left = [p for p in people if p["coop"] not in excluded]
        if not left:
            fail("--exclude leaves no candidate")
        if others is not None and beacons > others:
            fail(f"--beacons: the federation has {others} other member(s); a draw needing "
                 f"{beacons} beacons would never happen")
    role_names = _names(roles, "--roles") if roles is not None else None
    wanted = seats * len(role_names or [purpose])
    possible = len({p["coop"] for p in left}) if distinct_coops else len(left)
    if not groups and possible < wanted:
        err.print(f"Warning: the pool can fill {possible} of {wanted} places; the draw "
                  "will be short.")
    body.update({"pool": people, "seats": seats, "beacons": beacons,
                 "mode": "groups" if groups else "draw", "note": note})
    if role_names is not None:
        body["roles"] = role_names
    if excluded:
        body["exclude"] = excluded
    if distinct_coops:
        body["distinct_coops"] = True
    write(home, passphrase_file, "lottery.announce", body, refs, json_, "lottery")
    if not json_:
        out.print(f"  it is drawn when {beacons} other co-op(s) run: coop lottery beacon "
                  "<lottery id>")


@lottery_app.command("beacon")
def lottery_beacon(
    lottery: Annotated[str, typer.Argument(
        help="The lottery: at least 8 hex characters of its id.", show_default=False)],
    mandate: Annotated[str | None, typer.Option(
        "--mandate", help="A delegate's key: the mandate (id prefix) that allows it.")
    ] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Add your co-op's beacon to a lottery announced by another co-op or body.

    Example:  coop lottery beacon 3f2a9c1e
    """
    with opened(home, as_held=True) as (_h, store, eco, me):
        lot = _lookup_lottery(eco, lottery)
        if lot.announcer == me:
            fail("your co-op announced this lottery; its seed must come from others")
        if lot.federation:
            f = eco.federations[lot.body]
            if not f.is_member(me):
                fail(f"your co-op is not a member of federation {f.name!r}")
        if any(b.identity == me for b in lot.counted):
            fail("your co-op's beacon already counts for this lottery")
        if lot.draw is not None:
            fail("this lottery is already drawn: a beacon now would not count "
                 f"(coop lottery show {lot.id.hex()[:8]})")
        refs = [lot.id]
        refs += mandate_refs(store, mandate)
    write(home, passphrase_file, "lottery.beacon", {"lottery": lot.id.hex()}, refs, json_,
          "beacon")


@lottery_app.command("list")
def lottery_list(
    federation: Annotated[str | None, typer.Option(
        "--federation", help="Only this federation's lotteries (name or id prefix).")
    ] = None,
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Only the lotteries of this co-op's own assembly.")] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List the lotteries held here (or one federation's, or one co-op's).

    Example:  coop lottery list --federation Riverside
    """
    data = view(home, "lotteries", {"federation": federation, "coop": coop})
    if json_:
        print_json(data)
        return
    rows = data["lotteries"]
    if not rows:
        out.print("No lotteries (coop lottery announce starts one).")
        return
    for r in rows:
        body = r["body_name"] or r["body"][:8]
        status = (f"drawn {format_ts(r['drawn'])}" if r["status"] == "drawn" else
                  f"waiting ({r['beacons_counted']} of {r['beacons_needed']} beacons)")
        out.print(f"{r['id'][:8]}  {r['purpose']}  [{body}, {r['mode']}]  {status}")
        if r["status"] == "drawn":
            for line in _result_lines(r):
                out.print(f"    {line}")


@lottery_app.command("show")
def lottery_show(
    lottery: Annotated[str, typer.Argument(
        help="The lottery: at least 8 hex characters of its id.", show_default=False)],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show a lottery: the announcement, its beacons and the result.

    Example:  coop lottery show 3f2a9c1e
    """
    doc = view(home, "lottery", {"lottery": lottery})
    if json_:
        print_json(doc)
        return
    _header(doc)
    out.print("Candidates:")
    for p in doc["candidates"]:
        out.print(f"  {_person(p)}")
    out.print("Beacons:")
    _beacon_lines(doc)
    out.print("Result:")
    for line in _result_lines(doc):
        out.print(f"  {line}")


def _recompute(home: Path | None, doc: dict[str, Any]) -> bool | None:
    """The draw recomputed here from the announcement entry this home holds (None: the
    draw waits, or the entry is not here)."""
    if doc["status"] != "drawn":
        return None
    h = open_home(home)
    with h.open_store() as store:
        entry = store.get(bytes.fromhex(doc["id"]))
    if entry is None:
        return None
    draw = verify(entry.id, entry.body, [bytes.fromhex(b["id"]) for b in doc["beacons"]])
    picks = [[p["stream"], p["r"], int(p["value"]), p["index"]] for p in doc["steps"]["picks"]]
    return (draw.seed.hex() == doc["steps"]["seed"]
            and picks == [[p.stream, p.r.hex(), p.value, p.index] for p in draw.picks])


@lottery_app.command("verify")
def lottery_verify(
    lottery: Annotated[str, typer.Argument(
        help="The lottery: at least 8 hex characters of its id.", show_default=False)],
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Redo a lottery's draw step by step, so anyone can check it by hand.

    Example:  coop lottery verify 3f2a9c1e
    """
    doc = view(home, "lottery", {"lottery": lottery})
    same = _recompute(home, doc)
    if json_:
        print_json({**doc, "recomputed_here": same})
        if same is False:
            raise typer.Exit(1)
        return
    s = doc["steps"]
    out.print("1. The announcement")
    _header(doc)
    for p in doc["candidates"]:
        out.print(f"    candidate: {_person(p)}")
    out.print(f"\n2. The beacons: the first {doc['beacons_needed']} co-ops other than the "
              "announcer (members, for a federation), in timeline order")
    _beacon_lines(doc)
    if doc["status"] != "drawn":
        out.print(f"\nNot drawn yet: waiting for {s['waiting_for']} more beacon(s).")
        return
    out.print("\n3. The seed")
    out.print(f"  context  = {s['context']}  (\"coopledger/lottery/v1\" and a zero byte)")
    out.print(f"  lottery  = {doc['id']}")
    for b in s["beacons_sorted"]:
        out.print(f"  beacon   = {b}  (sorted)")
    out.print(f"  preimage = context || lottery || beacons = {s['preimage']}")
    out.print(f"  seed     = SHA-256(preimage) = {s['seed']}")
    out.print("\n4. The candidates in draw order (co-op key, then name), numbered from 0")
    for c in s["candidates"]:
        out.print(f"  {c['index']:>3}  {_person(c)}")
    for c in s["excluded"]:
        out.print(f"  excluded: {_person(c)}")
    out.print("\n5. The draws: r_i = SHA-256(seed || i as 4 bytes, big-endian); x = the first "
              "8 bytes of r_i as a number; among n people the pick is x mod n (x is "
              "rejected, and the next r_i used, if x >= limit = n * floor(2^64 / n))")
    for p in s["picks"]:
        where = (f"seat {p['seat'] + 1}, {p['role']}" if p["seat"] is not None
                 else "next in the shuffled order")
        out.print(f"  i={p['stream']}  r_i={p['r']}")
        if p["accepted"]:
            out.print(f"       x={p['value']}  n={p['n']}  x mod n = {p['index']}  -> "
                      f"{_person(p['pick'])}  ({where})")
        else:
            out.print(f"       x={p['value']}  n={p['n']}  x >= limit {p['limit']}: "
                      "rejected")
    if doc["mode"] == "groups":
        out.print("  the shuffled order is cut into groups of 4, then of 3")
    out.print("\n6. The result")
    for line in _result_lines(doc):
        out.print(f"  {line}")
    if same is None:
        out.print("\n(The announcement entry is not held here: not recomputed.)")
    elif same:
        out.print("\nRecomputed here from the announcement entry and the beacon ids: "
                  "the same seed and the same picks.")
    else:
        fail("recomputed here from the announcement entry and the beacon ids, the draw "
             "DIFFERS from the one shown: report this")
