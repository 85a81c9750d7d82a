"""The reconnect plan of the libp2p host (node/_p2p.py): which peers to dial now, when
to look again, and how long to wait after a failed dial.

Pure logic over what the host knows (its known peers with their dial state, the
bootstrap addresses that name no peer id, who is connected, being dialled, blocked,
banned or not admitted) and the time ``now``: no sockets, no clock, no libp2p. The
host's reconnect task asks ``plan`` what to do, dials what it says, and tells the
state how each dial went (``dial_failed``, ``connected``, ``went_away``).

Each peer and each bootstrap address has its own exponential backoff, from
RECONNECT_MIN_S to RECONNECT_MAX_S with ±20 % jitter, reset by a connection. A peer
that just went away is probably restarting: it is retried after RECONNECT_MIN_S. (The
host also clears libp2p's negative dial cache before each dial; docs/libp2p.md,
"Reconnecting".)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0


@dataclass
class DialState:
    """When a peer (or a bootstrap address) may be dialled next."""

    failures: int = 0      # failed dials since the last connection
    next_dial: float = 0.0  # trio time


def addr_key(addr: str) -> str:
    """The key of a bootstrap address in the host's set of dials in flight (peer ids
    are the other keys)."""
    return "addr:" + addr


@dataclass(frozen=True)
class Gate:
    """Whom the host would dial at all: not itself, not a peer connected or being
    dialled already, only admitted peers (``admitted`` None: every peer), not blocked,
    not banned (``banned``: peer id -> the time its ban ends)."""

    own: str
    connected: Collection[str] = ()
    dialing: Collection[str] = ()
    admitted: Collection[str] | None = None
    blocked: Collection[str] = ()
    banned: Mapping[str, float] = field(default_factory=dict)

    def dialable(self, pid: str, now: float) -> bool:
        if pid == self.own or pid in self.connected or pid in self.dialing:
            return False
        if (self.admitted is not None and pid not in self.admitted) or pid in self.blocked:
            return False
        until = self.banned.get(pid)
        return until is None or now >= until


@dataclass(frozen=True)
class Plan:
    """What to do now: dial ``peers`` (ids) and ``addrs`` (bootstrap addresses), then
    look again at ``wake_at`` (math.inf: only when something changes)."""

    peers: list[str]
    addrs: list[str]
    wake_at: float


def plan(now: float, gate: Gate, peers: Mapping[str, DialState],
         has_addrs: Callable[[str], bool],
         bootstrap: Mapping[str, tuple[str | None, DialState]]) -> Plan:
    """The dials due at ``now``.

    ``peers``: the known peers and their dial state; one is dialled if the gate lets
    it through, ``has_addrs`` says we know where it is, and its time has come.
    ``bootstrap``: each bootstrap address without a peer id -> (the peer id its node
    turned out to have, or None before the first connection; its dial state); one is
    dialled unless it is being dialled or its node is connected, once its time has
    come.
    """
    dial_peers: list[str] = []
    dial_addrs: list[str] = []
    soonest = math.inf
    for pid, state in peers.items():
        if not gate.dialable(pid, now) or not has_addrs(pid):
            continue
        if state.next_dial <= now:
            dial_peers.append(pid)
        else:
            soonest = min(soonest, state.next_dial)
    for addr, (learned, state) in bootstrap.items():
        if addr_key(addr) in gate.dialing or (learned is not None
                                              and learned in gate.connected):
            continue
        if state.next_dial <= now:
            dial_addrs.append(addr)
        else:
            soonest = min(soonest, state.next_dial)
    return Plan(dial_peers, dial_addrs, soonest)


def backoff(failures: int, rng: random.Random) -> float:
    """Seconds to wait after the ``failures``-th failed dial in a row."""
    delay: float = min(RECONNECT_MIN_S * 2.0 ** max(failures - 1, 0), RECONNECT_MAX_S)
    return delay * rng.uniform(0.8, 1.2)


def dial_failed(state: DialState, now: float, rng: random.Random) -> float:
    """Note a failed dial; returns the delay until the next one."""
    state.failures += 1
    delay = backoff(state.failures, rng)
    state.next_dial = now + delay
    return delay


def connected(state: DialState) -> None:
    """Note a connection (dialled or not): the backoff starts again from the minimum."""
    state.failures = 0


def went_away(state: DialState, now: float) -> None:
    """Note that the last connection closed: redial soon (it may be restarting)."""
    state.failures = 0
    state.next_dial = now + RECONNECT_MIN_S
