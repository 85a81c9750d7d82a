"""Checkpoints and proofs on the command line (SPEC §14.1–§14.3, docs/auditors.md):
`coop checkpoint publish|list|cosign`, `coop prove entry|consistency|fork` and
`coop check-proof FILE`.

`prove` prints (or writes with ``--out``) a proof document from node/_checkpoints.py's
views, through the running node or from the store. `check-proof` needs no home and no
store: it checks the file's signatures and Merkle paths itself and says what is proven,
or exits 1 naming what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coopledger.node import entry_by_id
from coopledger.protocol import MAX_PROOF_BYTES, ProofError, check_proof
from coopledger.protocol import dump_proof as dumps

from ._common import HomeOpt, JsonOpt, PassFileOpt, fail, format_ts, open_home, out
from ._render import print_json
from ._views import fetch as view
from ._writer import write

checkpoint_app = typer.Typer(
    help="Signed checkpoints of this co-op's log (size and Merkle root), and witnesses.\n\n"
         "Example:  coop checkpoint publish", no_args_is_help=True)
prove_app = typer.Typer(
    help="Write proofs anyone can check offline with `coop check-proof`.\n\n"
         "Example:  coop prove entry 3f2a9c1e --out entry.proof", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Write the proof to this file (default: print it).", dir_okay=False)]


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(checkpoint_app, name="checkpoint")
    app.add_typer(prove_app, name="prove")
    app.command("check-proof")(check_proof_command)


@checkpoint_app.command("publish")
def checkpoint_publish(
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Sign a checkpoint of this co-op's log now: its size and Merkle root.

    A running node also publishes one every hour when its log has grown.

    Example:  coop checkpoint publish
    """
    write(home, passphrase_file, "checkpoint", {}, [], json_, "checkpoint")


@checkpoint_app.command("cosign")
def checkpoint_cosign(
    checkpoint: Annotated[str, typer.Argument(
        help="The checkpoint: at least 8 hex characters of its id.", show_default=False)],
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Cosign another co-op's checkpoint as a witness.

    Only a checkpoint that applies here can be cosigned, so it is consistent with
    everything this node holds of that log (and with what it cosigned before).

    Example:  coop checkpoint cosign 3f2a9c1e
    """
    h = open_home(home)
    with h.open_store() as store:
        cp = entry_by_id(store, checkpoint, "checkpoint", kind="checkpoint")
        if h.author is not None and cp.author == h.author:
            fail("a co-op does not witness its own log")
    write(home, passphrase_file, "checkpoint.cosign", {"checkpoint": cp.id.hex()},
          [cp.id], json_, "cosign")


@checkpoint_app.command("list")
def checkpoint_list(
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Whose checkpoints (name or key prefix; default: this co-op's).")
    ] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List a co-op's checkpoints, newest first, with the witnesses that cosigned them.

    Example:  coop checkpoint list --coop Bakery
    """
    doc = view(home, "checkpoints", {"coop": coop})
    if json_:
        print_json(doc)
        return
    name = doc["name"] or doc["coop"][:8]
    if not doc["checkpoints"]:
        out.print(f"{name} has published no checkpoint yet.")
        return
    out.print(f"Checkpoints of {name}:")
    for c in doc["checkpoints"]:
        who = ", ".join(w["name"] or w["coop"][:8] for w in c["witnesses"]) or "none yet"
        out.print(f"  {c['id'][:8]}  {format_ts(c['ts'])}  {c['size']:>7} entries  "
                  f"root {c['root'][:16]}…  witnesses: {who}")


def _emit(doc: dict[str, Any], out_file: Path | None, what: str) -> None:
    text = dumps(doc)
    if out_file is None:
        print(text, end="")
        return
    try:
        out_file.write_text(text)
    except OSError as exc:
        fail(f"--out: cannot write {out_file}: {exc.strerror}")
    out.print(f"Wrote {what} to {out_file} ({len(text)} bytes). Anyone can check it "
              f"with:  coop check-proof {out_file}")


@prove_app.command("entry")
def prove_entry(
    entry: Annotated[str, typer.Argument(
        help="The entry: at least 8 hex characters of its id.", show_default=False)],
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", help="Prove against this checkpoint (default: the newest that "
                             "covers the entry).")] = None,
    out_file: OutOpt = None,
    home: HomeOpt = None,
) -> None:
    """Prove that an entry is in its co-op's log, as of a signed checkpoint.

    Example:  coop prove entry 3f2a9c1e --out entry.proof
    """
    doc = view(home, "proof-entry", {"entry": entry, "checkpoint": checkpoint})
    _emit(doc, out_file, "an inclusion proof")


@prove_app.command("consistency")
def prove_consistency(
    old: Annotated[str, typer.Argument(help="The older checkpoint's id (prefix).",
                                       show_default=False)],
    new: Annotated[str, typer.Argument(help="The newer checkpoint's id (prefix).",
                                       show_default=False)],
    out_file: OutOpt = None,
    home: HomeOpt = None,
) -> None:
    """Prove that a newer checkpoint of a log extends an older one (history unchanged).

    Example:  coop prove consistency 3f2a9c1e 77b01c2d --out log.proof
    """
    doc = view(home, "proof-consistency", {"old": old, "new": new})
    _emit(doc, out_file, "a consistency proof")


@prove_app.command("fork")
def prove_fork(
    coop: Annotated[str, typer.Argument(help="The co-op (name or key prefix).",
                                        show_default=False)],
    out_file: OutOpt = None,
    home: HomeOpt = None,
) -> None:
    """Write the proof that a co-op signed two histories (a fork or split view).

    Example:  coop prove fork Bakery --out bakery-fork.proof
    """
    doc = view(home, "proof-fork", {"coop": coop})
    _emit(doc, out_file, "a fork proof (misconduct)")


def check_proof_command(
    file: Annotated[Path, typer.Argument(help="The proof file.", show_default=False,
                                         dir_okay=False)],
    json_: JsonOpt = False,
) -> None:
    """Check a proof file offline: no home, no store, no network needed.

    Exit code 0: the proof holds (for a fork proof: misconduct is proven);
    1: it does not, with the reason.

    Example:  coop check-proof entry.proof
    """
    try:
        with file.open("rb") as f:
            data = f.read(MAX_PROOF_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        got = check_proof(data)
    except ProofError as exc:
        if json_:
            print_json({"ok": False, "reason": str(exc)})
            raise typer.Exit(1) from None
        fail(f"{file}: NOT proven: {exc}")
    if json_:
        print_json({"ok": True, "type": got.type, "author": got.author.hex(),
                    "misconduct": got.misconduct, "lines": got.lines,
                    "witnesses": [w.hex() for w in got.witnesses]})
        return
    title = {"inclusion": "Inclusion proven", "consistency": "Consistency proven",
             "fork": "MISCONDUCT proven"}[got.type]
    out.print(f"{title} ({file}):")
    for line in got.lines:
        out.print(f"  ✓ {line}")
