"""The known-peer store on disk (HOME/peers.json, docs/operators.md): the addresses of
the peers this node has seen, newest first, so that a restarted node finds them again
without the bootstrap list. It is a cache: a missing or damaged file is logged and the
node starts without it. Written atomically (a temporary file, fsync, rename).

The file: ``{"version": 1, "peers": [{"peer_id", "addrs", "last_seen_ms"}, ...]}``,
the most recently seen first, at most MAX_KNOWN_PEERS peers of at most
MAX_ADDRS_PER_PEER addresses each, with no /p2p/<id> suffix.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import multiaddr  # type: ignore[import-untyped]
from libp2p.peer.id import ID

from ._reconnect import DialState

# The host's log lines name their logger (cli/_node.py, DAEMON_LOG_FORMAT): these keep
# the name they had when this code was part of node/_p2p.py.
log = logging.getLogger("coopledger.node._p2p")

MAX_KNOWN_PEERS = 1000
MAX_ADDRS_PER_PEER = 8
PEERS_FILE_VERSION = 1


@dataclass
class _Known(DialState):
    """A known peer: where it was seen, when, and (not persisted) its dial state."""

    addrs: list[str] = field(default_factory=list)  # newest first, no /p2p suffix
    last_seen_ms: int | None = None


def _load_peers_file(path: Path) -> dict[str, _Known]:
    """The peers in ``path``; empty if it is missing. A damaged file is logged and
    ignored: it is a cache of addresses, and the bootstrap list still applies."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("peers file %s unreadable, starting without it: %s", path, exc)
        return {}
    out: dict[str, _Known] = {}
    try:
        for item in data["peers"]:
            pid = ID.from_base58(item["peer_id"])
            addrs = [str(multiaddr.Multiaddr(a)) for a in item.get("addrs", [])]
            seen = item.get("last_seen_ms")
            out[str(pid)] = _Known(addrs=addrs[:MAX_ADDRS_PER_PEER],
                                   last_seen_ms=seen if isinstance(seen, int) else None)
    # What JSON of the wrong shape raises here: a missing key (KeyError), a value of
    # the wrong type (TypeError; AttributeError from ID.from_base58 or .get on a
    # non-map), a bad peer id or address (ValueError, multiaddr's parse errors too).
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        log.warning("peers file %s damaged, starting without it: %s", path, exc)
        return {}
    return out


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # the temporary file is already gone; the original error is raised
        raise


def remember_addr(known: _Known, addr: str) -> None:
    """Put ``addr`` (no /p2p suffix) first in ``known``'s addresses; relayed addresses
    are not kept."""
    if "p2p-circuit" in addr:
        return
    if addr in known.addrs:
        known.addrs.remove(addr)
    known.addrs.insert(0, addr)
    del known.addrs[MAX_ADDRS_PER_PEER:]


def peers_json(peers: Iterable[tuple[str, Sequence[str], int | None]]) -> str:
    """The file's text for ``peers``: (peer id, addresses, last seen in ms or None);
    peers with no address are left out."""
    rows = sorted(((pid, list(addrs), seen) for pid, addrs, seen in peers if addrs),
                  key=lambda row: -(row[2] or 0))  # the most recently seen first
    return json.dumps({"version": PEERS_FILE_VERSION,
                       "peers": [{"peer_id": pid, "addrs": addrs, "last_seen_ms": seen}
                                 for pid, addrs, seen in rows[:MAX_KNOWN_PEERS]]},
                      indent=1)
