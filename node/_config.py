"""The daemon's settings: the ``[node]`` table of the home's coop.toml, then flags.

    [node]
    network = "default"                    # gossip topic and sync network name
    listen = ["/ip4/0.0.0.0/tcp/4140"]     # libp2p listen multiaddrs
    bootstrap = []                         # multiaddrs of peers to dial (with /p2p/ID)
    api = "127.0.0.1:4141"                 # local HTTP API; loopback unless you mean it
    mdns = true                            # find peers on the LAN
    allow = []                             # peer ids allowed to connect; empty = anyone
    allow_members = false                  # also admit only co-ops of my federations
    sync_interval = 30                     # seconds between pulls from a random peer

Every key is optional; a missing ``[node]`` table means all defaults. An unknown key or
a value of the wrong type is an error naming the key (a typo must not silently fall
back to a default).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._errors import HomeError

DEFAULT_NETWORK = "default"
DEFAULT_LISTEN = ("/ip4/0.0.0.0/tcp/4140",)
DEFAULT_API = "127.0.0.1:4141"
DEFAULT_SYNC_INTERVAL = 30.0
DEFAULT_CHECKPOINT_INTERVAL = 3600.0  # a checkpoint an hour, when the log grew
MAX_NETWORK_NAME = 64


@dataclass(frozen=True)
class NodeConfig:
    network: str = DEFAULT_NETWORK
    listen: tuple[str, ...] = DEFAULT_LISTEN
    bootstrap: tuple[str, ...] = ()
    api: str = DEFAULT_API
    mdns: bool = True
    allow: tuple[str, ...] = field(default=())
    # When the node is in a federation (its replication scope is not None), admit only
    # peers whose id is the key of a co-op in the scope, besides ``allow``.
    allow_members: bool = False
    sync_interval: float = DEFAULT_SYNC_INTERVAL
    # Seconds between automatic checkpoints of our log (SPEC §14.1); 0: only on demand.
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL

    def with_overrides(self, **changes: Any) -> NodeConfig:
        """A copy with the given settings replaced; None means "keep the file's"."""
        given = {k: v for k, v in changes.items() if v is not None}
        for k in ("listen", "bootstrap", "allow"):
            if k in given:
                given[k] = tuple(given[k])
        cfg = replace(self, **given)
        cfg.check()
        return cfg

    def check(self) -> None:
        if not 0 < len(self.network) <= MAX_NETWORK_NAME or not self.network.isprintable():
            raise HomeError(f"network name must be 1 to {MAX_NETWORK_NAME} printable "
                            f"characters, not {self.network!r}")
        if not self.listen:
            raise HomeError("at least one listen address is needed")
        parse_api_address(self.api)
        if not 0.1 <= self.sync_interval <= 86400:
            raise HomeError("sync_interval must be between 0.1 and 86400 seconds")
        if self.checkpoint_interval != 0 and not 1 <= self.checkpoint_interval <= 604800:
            raise HomeError("checkpoint_interval must be 0 (off) or between 1 and 604800 "
                            "seconds (a week)")


def parse_api_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port). Raises HomeError with the reason."""
    host, sep, port_s = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise HomeError(f"API address must be HOST:PORT, not {text!r}")
    try:
        port = int(port_s)
    except ValueError:
        raise HomeError(f"API port must be a number, not {port_s!r}") from None
    if not 0 <= port <= 65535:
        raise HomeError(f"API port must be 0..65535, not {port}")
    return host, port


_TYPES: dict[str, tuple[type, ...]] = {
    "network": (str,), "listen": (list,), "bootstrap": (list,), "api": (str,),
    "mdns": (bool,), "allow": (list,), "allow_members": (bool,),
    "sync_interval": (int, float), "checkpoint_interval": (int, float),
}


def load_config(config_file: Path) -> NodeConfig:
    """The ``[node]`` settings of ``config_file``. Raises HomeError naming the bad key."""
    try:
        data = tomllib.loads(config_file.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HomeError(f"{config_file}: {exc}") from exc
    table = data.get("node", {})
    if not isinstance(table, dict):
        raise HomeError(f"{config_file}: [node] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _TYPES:
            raise HomeError(f"{config_file}: unknown setting node.{key} "
                            f"(known: {', '.join(sorted(_TYPES))})")
        if not isinstance(value, _TYPES[key]) or (isinstance(value, bool)
                                                  and bool not in _TYPES[key]):
            raise HomeError(f"{config_file}: node.{key} has the wrong type")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise HomeError(f"{config_file}: node.{key} must be a list of strings")
            value = tuple(value)
        values[key] = value
    cfg = NodeConfig(**values)
    try:
        cfg.check()
    except HomeError as exc:
        raise HomeError(f"{config_file}: {exc}") from None
    return cfg
