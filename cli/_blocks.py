"""Blocking peers and authors (issue 6, docs/operators.md "Blocking"): `coop block peer`,
`coop block author`, `coop unblock peer|author`, `coop blocks`.

With a node running for the home, each command goes through its API
(``/v1/blocks``) and takes effect at once: live connections are cut, gossip and sync
stop carrying the author. Without one, the command edits HOME/blocks.json itself (the
same checks: a malformed peer id or key, or this node's own co-op, is refused) and
says that it takes effect when the node starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from coopledger.node import (
    BLOCKS_FILE,
    BadBlock,
    Block,
    BlockList,
    Home,
    LookupFailed,
    effective_keys,
    parse_peer_id,
    parse_reason,
    peer_id_of_key,
    resolve_coop,
)
from coopledger.node import BlockKind as Kind

from ._client import ApiFailure, NodeClient, running_node
from ._common import HomeOpt, JsonOpt, err, fail, format_ts, open_home, out
from ._render import print_json

block_app = typer.Typer(
    help="Block a peer or an author: at once if the node runs, else from its next "
         "start.\n\nExample:  coop block peer 12D3KooWAbc… --reason \"floods us\"",
    no_args_is_help=True)
unblock_app = typer.Typer(
    help="Lift a block on a peer or an author.\n\n"
         "Example:  coop unblock author \"Spam Co-op\"",
    no_args_is_help=True)

ReasonOpt = Annotated[str | None, typer.Option(
    "--reason", help="A note for the operators (one line, at most 200 characters).",
    show_default=False)]
PeerArg = Annotated[str, typer.Argument(
    metavar="PEER_ID", help="The peer's libp2p id (12D3KooW…), as `coop peers` shows it.",
    show_default=False)]
AuthorArg = Annotated[str, typer.Argument(
    metavar="COOP_OR_KEY", help="A co-op's name or key prefix (every key of the co-op "
    "is blocked), or a full key (64 hex characters: that key only, unless it is a "
    "co-op's identity).", show_default=False)]

_ARG = {"peer": "PEER_ID", "author": "COOP_OR_KEY"}


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(block_app, name="block")
    app.add_typer(unblock_app, name="unblock")
    app.command("blocks")(blocks_list)


# -- shared steps --------------------------------------------------------------------------


def _api_failure(exc: ApiFailure, kind: Kind) -> None:
    """A refusal by the node, as the user's error naming the argument."""
    if exc.field == "id":
        fail(f"{_ARG[kind]}: {exc.message.removeprefix('id: ')}")
    if exc.field == "reason":
        fail(f"--reason: {exc.message.removeprefix('reason: ')}")
    raise exc


def _offline_id(h: Home, kind: Kind, text: str) -> str:
    """The canonical id of ``text`` checked as the node would (no node runs)."""
    try:
        if kind == "peer":
            pid = parse_peer_id(text)
            if pid == peer_id_of_key(h.author):
                raise BadBlock("id", "that is this node's own peer id")
            return pid
        with h.open_store() as store:
            key = resolve_coop(store, text, field="id")
            ids = store.state().economy().gov.ids
        own = {h.identity, h.author}
        for k in list(own):
            own.update(effective_keys([ids.identity_of(k)], ids))
        if key in own:
            raise BadBlock("id", f"{key[:4].hex()}… is this node's own co-op (or one of "
                                 "its keys); a node cannot block itself")
        return key.hex()
    except BadBlock as exc:
        fail(f"{_ARG[kind]}: {exc.message.removeprefix('peer id: ')}")
    except LookupFailed as exc:
        fail(f"{_ARG[kind]}: {exc.message}")


def _label(h: Home, block: dict[str, Any]) -> str:
    """A block's id for people: an author with its co-op's name when the store knows it."""
    if block["kind"] == "peer":
        return str(block["id"])
    key = bytes.fromhex(block["id"])
    try:
        with h.open_store() as store:
            st = store.state().authors.get(key)
            name = st.name if st is not None else None
    except Exception:  # the label is a courtesy: a busy or missing store shows the key
        name = None
    return f"{name} ({block['id'][:8]}…)" if name else f"{block['id'][:16]}…"


def _reason(text: str | None) -> str:
    try:
        return parse_reason(text)
    except BadBlock as exc:
        raise typer.BadParameter(exc.message.removeprefix("reason: "),
                                 param_hint="--reason") from None


def _block(kind: Kind, text: str, reason: str | None, json_: bool, home: Path | None) -> None:
    h = open_home(home)
    note = _reason(reason)
    client = running_node(h.path)
    if client is not None:
        try:
            data = client.post_json("/v1/blocks", {"kind": kind, "id": text, "reason": note})
        except ApiFailure as exc:
            _api_failure(exc, kind)
        block, created = data["block"], data["created"]
    else:
        cid = _offline_id(h, kind, text)
        path = h.path / BLOCKS_FILE
        blocks = BlockList.load(path)
        from coopledger.node import now_ms

        created = blocks.add(Block(kind, cid, note, now_ms()))
        blocks.save(path)
        found = blocks.get(kind, cid)
        assert found is not None
        block = found.to_json()
    if json_:
        print_json({"block": block, "created": created,
                    "in_effect": "now" if client is not None else "at the next start"})
        return
    what = f"{kind} {_label(h, block)}"
    out.print(f"blocked {what}" if created else f"{what} was blocked already"
              + (" (reason updated)" if note else ""))
    _effect(client, kind, h.path, added=True)


def _effect(client: NodeClient | None, kind: Kind, home_path: Path, *, added: bool) -> None:
    if client is None:
        err.print(f"no node is running for {home_path}: written to {BLOCKS_FILE}; it takes "
                  "effect when the node starts")
    elif not added:
        err.print("in effect now" + (": the node syncs with its peers to fetch what it "
                                     "dropped meanwhile" if kind == "author" else ""))
    elif kind == "peer":
        err.print("in effect now: the node cut its connections to it and refuses it")
    else:
        err.print("in effect now: the node no longer stores, relays or serves its new "
                  "entries (those held stay)")


def _unblock(kind: Kind, text: str, json_: bool, home: Path | None) -> None:
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        try:
            block = client.delete("/v1/blocks?" + _query(kind, text))["block"]
        except ApiFailure as exc:
            if exc.status == 404 and exc.reason == "invalid:unknown" and \
                    exc.message.endswith("is not blocked"):
                fail(f"{_ARG[kind]}: that {kind} is not blocked")
            _api_failure(exc, kind)
    else:
        cid = _offline_id(h, kind, text)
        path = h.path / BLOCKS_FILE
        blocks = BlockList.load(path)
        removed = blocks.remove(kind, cid)
        if removed is None:
            fail(f"{_ARG[kind]}: that {kind} is not blocked")
        blocks.save(path)
        block = removed.to_json()
    if json_:
        print_json({"block": block,
                    "in_effect": "now" if client is not None else "at the next start"})
        return
    out.print(f"unblocked {kind} {_label(h, block)}")
    _effect(client, kind, h.path, added=False)


def _query(kind: str, text: str) -> str:
    import urllib.parse

    return urllib.parse.urlencode({"kind": kind, "id": text})


# -- the commands ----------------------------------------------------------------------------


@block_app.command("peer")
def block_peer(peer_id: PeerArg, reason: ReasonOpt = None, json_: JsonOpt = False,
               home: HomeOpt = None) -> None:
    """Block a peer: cut its connections, refuse it, never dial it, ignore its gossip.

    With the node running this takes effect at once; without, at its next start. The
    block is kept in HOME/blocks.json across restarts until `coop unblock peer`.

    Example:  coop block peer 12D3KooWAbc… --reason "floods us with garbage"
    """
    _block("peer", peer_id, reason, json_, home)


@block_app.command("author")
def block_author(coop_or_key: AuthorArg, reason: ReasonOpt = None, json_: JsonOpt = False,
                 home: HomeOpt = None) -> None:
    """Block an author: store, relay and serve none of its new entries.

    A co-op (by name or key prefix) is blocked with every key it has; a full key of a
    device blocks that key only. Entries already held stay; `coop unblock author`
    resumes. With the node running this takes effect at once (open sync sessions
    included); without, at its next start.

    Example:  coop block author "Spam Co-op" --reason "fake transfers"
    """
    _block("author", coop_or_key, reason, json_, home)


@unblock_app.command("peer")
def unblock_peer(peer_id: PeerArg, json_: JsonOpt = False, home: HomeOpt = None) -> None:
    """Lift the block on a peer: it may connect again, and the node dials it again.

    Example:  coop unblock peer 12D3KooWAbc…
    """
    _unblock("peer", peer_id, json_, home)


@unblock_app.command("author")
def unblock_author(coop_or_key: AuthorArg, json_: JsonOpt = False,
                   home: HomeOpt = None) -> None:
    """Lift the block on an author: its entries are stored, relayed and served again.

    The running node syncs with its connected peers at once to fetch the entries it
    dropped while the author was blocked.

    Example:  coop unblock author "Spam Co-op"
    """
    _unblock("author", coop_or_key, json_, home)


def blocks_list(json_: JsonOpt = False, home: HomeOpt = None) -> None:
    """List the blocked peers and authors, why, since when, and what was dropped.

    The counts of dropped entries come from the running node (since it started); with
    no node running the list is read from HOME/blocks.json.

    Example:  coop blocks --json
    """
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        data: dict[str, Any] = client.get("/v1/blocks")
    else:
        listed = BlockList.load(h.path / BLOCKS_FILE).to_json()
        data = {"peers": listed["peers"], "authors": listed["authors"]}
    if json_:
        print_json(data)
        return
    rows = [*data["peers"], *data["authors"]]
    # No vertical rules: a peer id takes 52 columns, and it must stay whole to be copied.
    t = Table(title=f"{len(data['peers'])} peers and {len(data['authors'])} authors "
                    "blocked", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
              pad_edge=False, collapse_padding=True)
    for col in ("kind", "who", "since (UTC)", "reason", "dropped"):
        t.add_column(col, no_wrap=col != "reason", min_width=12 if col == "reason" else None,
                     justify="right" if col == "dropped" else "left")
    for b in rows:
        dropped = b.get("dropped")
        t.add_row(b["kind"], _label(h, b), format_ts(b["since_ms"])[:16] + "Z",
                  b["reason"] or "-",
                  "-" if dropped is None else str(dropped))
    out.print(t)
    if client is None:
        err.print(f"no node is running for {h.path}: the list is read from {BLOCKS_FILE}")
    elif data.get("dropped"):
        d = data["dropped"]
        err.print(f"dropped since the node started: {d.get('gossip', 0)} by gossip, "
                  f"{d.get('sync', 0)} by sync, {d.get('import', 0)} in imports; "
                  f"{data.get('withheld', 0)} sync reads withheld")
