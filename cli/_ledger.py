"""This co-op's home and its held entries on the command line: `coop init`, `coop
entries`, `coop state`, `coop verify`, `coop rebuild` (SPEC §2, §5; docs/keys.md).

Reading commands always open the store; `rebuild` goes through the running node when
one runs for the home (node.json names it and it answers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from coopledger.node import Home, check_store
from coopledger.protocol import ValidationError

from ._client import running_node
from ._common import (
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
from ._keys import parse_key, print_request
from ._render import entries_table, entry_json, print_json, print_state, progress, state_json


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
    for command in (init, entries, state, verify, rebuild):
        app.command()(command)


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


def verify(home: HomeOpt = None) -> None:
    """Re-check every stored entry, chain and fork, and the derived state.

    Exits 1 if anything is wrong: a damaged store, or a co-op's forked or broken log.

    Example:  coop verify --home ./garden
    """
    h = open_home(home)
    with h.open_store() as store:
        total = store.count()
        with progress(total, "verifying", bytes_=False) as bar:
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


