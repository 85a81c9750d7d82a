"""`coop node start|status` and `coop peers`: running this home's node, and asking it
what it is doing (through its local API)."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import typer
from rich.table import Table

from coopledger.node import HomeError

from ._client import require_node, running_node
from ._common import (
    HomeOpt,
    JsonOpt,
    PassFileOpt,
    err,
    fail,
    format_ts,
    home_path,
    open_home,
    out,
    unlock,
)
from ._render import print_json

node_app = typer.Typer(help="Run this home's node and see what it is doing.\n\n"
                       "Example:  coop node start --bootstrap "
                       "/dns4/bakery.example/tcp/4140/p2p/12D3KooW…",
                       no_args_is_help=True)

# The daemon's log lines carry the time; one-shot commands keep main()'s short format.
DAEMON_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _multiaddrs(values: list[str] | None, option: str) -> list[str] | None:
    if not values:
        return None
    for v in values:
        if not v.startswith("/") or len(v) > 1024:
            raise typer.BadParameter("expected a multiaddr such as /ip4/0.0.0.0/tcp/4140",
                                     param_hint=option)
    return values


@node_app.command("start")
def start(
    listen: Annotated[list[str] | None, typer.Option(
        "--listen", metavar="MULTIADDR",
        help="Listen for peers here (repeatable). Default: node.listen in coop.toml, "
        "else /ip4/0.0.0.0/tcp/4140.", show_default=False)] = None,
    bootstrap: Annotated[list[str] | None, typer.Option(
        "--bootstrap", metavar="MULTIADDR",
        help="Dial this peer at start, a multiaddr ending /p2p/PEER_ID (repeatable). "
        "Default: node.bootstrap in coop.toml.", show_default=False)] = None,
    api: Annotated[str | None, typer.Option(
        "--api", metavar="HOST:PORT",
        help="Serve the local HTTP API here. Binds loopback by default "
        "(127.0.0.1:4141, or node.api in coop.toml), so only this machine can reach "
        "it; any other host is your explicit choice.", show_default=False)] = None,
    mdns: Annotated[bool | None, typer.Option(
        "--mdns/--no-mdns", help="Find peers on the local network. Default: node.mdns "
        "in coop.toml, else on.", show_default=False)] = None,
    allow_members: Annotated[bool | None, typer.Option(
        "--allow-members/--no-allow-members",
        help="Once this co-op is in a federation, admit only peers that are co-ops of "
        "its federations (and those of node.allow). Default: node.allow_members in "
        "coop.toml, else off.", show_default=False)] = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Run this home's node in the foreground until Ctrl-C (or SIGTERM); logs to stderr.

    Settings come from the [node] table of HOME/coop.toml; flags override them. While
    the node runs, `coop log`, `coop bundle import` and `coop rebuild` go through it,
    so new entries reach peers at once. COOP_LOG sets the log level (default INFO).

    Example:  coop node start --listen /ip4/0.0.0.0/tcp/4140 --api 127.0.0.1:4141
    --no-mdns
    """
    from coopledger.node import CONFIG_FILE, load_config, parse_api_address

    h = open_home(home)
    listen = _multiaddrs(listen, "--listen")
    bootstrap = _multiaddrs(bootstrap, "--bootstrap")
    if api is not None:
        try:
            parse_api_address(api)
        except HomeError as exc:
            raise typer.BadParameter(str(exc), param_hint="--api") from None
    config = load_config(h.path / CONFIG_FILE).with_overrides(
        listen=listen, bootstrap=bootstrap, api=api, mdns=mdns,
        allow_members=allow_members)
    running = running_node(h.path)
    if running is not None:
        fail(f"a node is already running for {h.path} (pid {running.info.pid}, API "
             f"{running.info.api})")
    api_host = parse_api_address(config.api)[0]
    if api_host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: the API listens on {config.api}, not only on this machine; "
                  "anyone who can reach it still needs the token")
    key = unlock(h, passphrase_file)
    try:
        from coopledger.node import run_node  # loads libp2p: only here
    except ModuleNotFoundError as exc:
        if exc.name != "coopledger.node._daemon":
            raise
        fail("this build of coopledger has no daemon yet (coopledger.node._daemon)")
    _daemon_logging()
    run_node(h, config, key)


def _daemon_logging() -> None:
    root = logging.getLogger()
    if "COOP_LOG" not in os.environ:
        root.setLevel(logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter(DAEMON_LOG_FORMAT))


@node_app.command("status")
def status(json_: JsonOpt = False, home: HomeOpt = None) -> None:
    """Show the running node: peer id, addresses, peers, entries held, sync progress.

    Exits 1 if no node is running for the home.

    Example:  coop node status --json
    """
    data = require_node(home_path(home)).get("/v1/status")
    if json_:
        print_json(data)
        return
    for line in status_lines(data):
        out.print(line)


def _short(peer_id: Any) -> str:
    text = str(peer_id)
    return text if len(text) <= 20 else text[:16] + "…"


def status_lines(s: dict[str, Any]) -> list[str]:
    """The status object as lines for people; keys the node did not send show as -."""
    def get(key: str) -> Any:
        value = s.get(key)
        return "-" if value is None else value

    lines = [f"peer id     {get('peer_id')}"]
    if s.get("name") is not None:
        identity, author = str(s.get("identity", "")), str(s.get("author", ""))
        lines.append(f"co-op       {s['name']} ({identity[:8]}…)"
                     + ("" if author == identity else f", writing with key {author[:8]}…"))
    lines.append(f"network     {get('network')}")
    listen = s.get("listen") or ["-"]
    lines += [f"{'listening' if i == 0 else '':<12}{a}" for i, a in enumerate(listen)]
    lines.append(f"api         {get('api')}  (pid {get('pid')}, since "
                 f"{format_ts(s.get('started_ms'))})")
    lines.append(f"entries     {get('entries_held')} held")
    lines.append(f"state_hash  {get('state_hash')}")
    connected = s.get("connected_peers") or []
    lines.append(f"peers       {len(connected)} connected")
    for i, p in enumerate(s.get("sync") or []):
        behind = p.get("behind_by")
        where = ("in step" if behind == 0 else "behind by unknown" if behind is None
                 else f"behind by {behind} entries")
        doing = "syncing" if p.get("syncing") else (p.get("last_result") or "idle")
        got = p.get("entries_received")
        extra = f", {got} entries received" if got else ""
        lines.append(f"{'sync' if i == 0 else '':<12}{_short(p.get('peer_id'))}  "
                     f"{where} ({doing}{extra})")
    return lines


def peers(json_: JsonOpt = False, home: HomeOpt = None) -> None:
    """List the peers the running node knows: addresses, connected, last sync.

    Exits 1 if no node is running for the home.

    Example:  coop peers --json
    """
    data = require_node(home_path(home)).get("/v1/peers")
    known: list[dict[str, Any]] = data.get("peers", [])
    if json_:
        print_json(known)
        return
    t = Table(title=f"{len(known)} peers", title_justify="left")
    for col in ("peer", "connected", "addresses", "last seen (UTC)", "last sync (UTC)",
                "result"):
        t.add_column(col, no_wrap=col == "peer")
    for p in known:
        t.add_row(str(p.get("peer_id", "-")), "yes" if p.get("connected") else "no",
                  "\n".join(str(a) for a in p.get("addrs") or []) or "-",
                  format_ts(p.get("last_seen_ms")), format_ts(p.get("last_sync_ms")),
                  str(p.get("last_result") or "-"))
    out.print(t)
