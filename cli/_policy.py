"""A body's policy on the command line (SPEC §13.3, docs/mandates.md): `coop policy
set|show`: the longest term of a mandate or role, the consecutive terms before a term
limit is flagged, and how decisions are counted, for a co-op's assembly or a
federation.

`show` prints node/_govview_mandates.py's document (through the running node, else
from the store), so ``--json`` is the same either way.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coopledger.protocol import METHODS

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, out
from ._options import NoteOpt, body_of, opened
from ._render import print_json
from ._views import fetch as view
from ._writer import write

policy_app = typer.Typer(
    help="A body's policy: maximum term, term limit, decision method.\n\n"
         "Example:  coop policy show --federation Riverside", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(policy_app, name="policy")


# -- policy ---------------------------------------------------------------------------


@policy_app.command("set")
def policy_set(
    federation: Annotated[str | None, typer.Option(
        "--federation", help="A federation you founded (name or id prefix); default: "
        "your co-op's own assembly.")] = None,
    max_mandate_days: Annotated[int | None, typer.Option(
        "--max-mandate-days", help="The longest term of a mandate or role, 1 to 1830 days.")
    ] = None,
    max_terms: Annotated[int | None, typer.Option(
        "--max-terms", help="Consecutive terms of one person in one mandate or role before "
        "it is flagged, 0 to 20 (0: no limit).")] = None,
    method: Annotated[str | None, typer.Option(
        "--method", help=f"How decisions are counted: {', '.join(METHODS)}.")] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Set a body's policy; what you leave out stays as it is now.

    Example:  coop policy set --federation Riverside --max-mandate-days 180 --max-terms 2
    """
    if max_mandate_days is not None and not 1 <= max_mandate_days <= 1830:
        fail("--max-mandate-days: 1 to 1830")
    if max_terms is not None and not 0 <= max_terms <= 20:
        fail("--max-terms: 0 to 20")
    if method is not None and method not in METHODS:
        fail(f"--method: one of {', '.join(METHODS)}")
    if max_mandate_days is None and max_terms is None and method is None:
        fail("give --max-mandate-days, --max-terms or --method")
    with opened(home) as (_h, _store, eco, me):
        body_id, body, refs = body_of(eco, federation, me)
        if federation is not None and eco.federations[body_id].founder != me:
            fail("only the federation's founder sets its policy (for now)")
        now = eco.gov.policy_at(body_id).to_value()
    if max_mandate_days is not None:
        now["max_mandate_days"] = max_mandate_days
    if max_terms is not None:
        now["max_consecutive_terms"] = max_terms
    if method is not None:
        now["method"] = method
    body.update({"policy": now, "note": note})
    write(home, passphrase_file, "policy.set", body, refs, json_, "policy")


@policy_app.command("show")
def policy_show(
    federation: Annotated[str | None, typer.Option(
        "--federation", help="A federation (name or id prefix).")] = None,
    coop: Annotated[str | None, typer.Option(
        "--coop", help="A co-op's own assembly (name or key prefix); default: yours.")
    ] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Show the policy in force for a federation or a co-op's assembly.

    Example:  coop policy show --federation Riverside
    """
    d = view(home, "policy", {"federation": federation, "coop": coop})
    if json_:
        print_json(d)
        return
    p = d["policy"]
    who = (f"federation {d['body_name']}" if d["body_kind"] == "federation"
           else f"the assembly of {d['body_name'] or d['body'][:8]}")
    out.print(f"Policy of {who}{' (the defaults: never set)' if d['default'] else ''}")
    out.print(f"  longest mandate or role term: {p['max_mandate_days']} days")
    terms = p["max_consecutive_terms"]
    out.print(f"  consecutive terms before a flag: {terms or 'no limit'}")
    out.print(f"  decision method: {p['method']}")
    for h in d["history"]:
        out.print(f"  set {format_ts(h['eff'])}: {h['policy']['max_mandate_days']} days, "
                  f"{h['policy']['max_consecutive_terms'] or 'no'} term limit, "
                  f"{h['policy']['method']}")
