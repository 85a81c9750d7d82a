"""Blocking with real daemons (`coop node start` processes on loopback) and, for gossip
a blocked peer originates, in-process libp2p hosts.

1. A blocked peer: its live connection is cut at once, its redials are refused, and the
   block survives a restart of the node; unblocking lets it back in.
2. A blocked author, on a chain left — hub — right where hub blocks right's co-op: the
   author's new entries stop at hub (not stored from gossip or sync, not relayed, not
   served to left) while left's still cross hub both ways; unblocking brings them to
   everyone; a block written while hub is stopped is in force when it starts.
3. Gossip originated by a blocked peer and forwarded by another is dropped, not
   delivered and not relayed further.

Every wait is on a condition (API answers, log lines) with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio

from coopledger.crypto import SecretKey
from coopledger.node.testing import Daemon, converged, initialised, wait_for, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNC_S = 60
LOOPBACK = "/ip4/127.0.0.1/tcp/0"


def fast_sync(d: Daemon) -> None:
    """Pull from a random peer every second (default 30 s): sync paths show quickly."""
    with (d.home / "coop.toml").open("a") as f:
        f.write("\n[node]\nsync_interval = 1\n")


def logged(d: Daemon, task: str) -> str:
    """Log an hour of work at ``d``; the new entry's id."""
    before = {e["id"] for e in d.coop_json("entries", "--author", d.name)}
    d.log_labor("sam", "1", task)
    (new,) = [e["id"] for e in d.coop_json("entries", "--author", d.name)
              if e["id"] not in before]
    return str(new)


def holds(d: Daemon, entry_id: str) -> bool:
    return bool(d.api("GET", f"/v1/entries/{entry_id}")["held"])


def connected(a: Daemon, b: Daemon) -> Callable[[], bool]:
    return lambda: b.peer_id in a.status()["connected_peers"]


def log_since(d: Daemon, start: int, *needles: str) -> list[str]:
    with d.log_path.open("rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    return [ln for ln in text.splitlines() if all(n in ln for n in needles)]


def dropped(d: Daemon, source: str) -> int:
    return int(d.api("GET", "/v1/blocks")["dropped"][source])


def synced_with_since(d: Daemon, peer: Daemon, since_ms: int) -> bool:
    """``d`` completed a sync session with ``peer`` that ended after ``since_ms``."""
    st = next((s for s in d.status()["sync"] if s["peer_id"] == peer.peer_id), None)
    return bool(st and st["last_sync_ms"] and st["last_sync_ms"] > since_ms)


# -- 1. a peer ------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[dict[str, Daemon]]:
    with initialised(tmp_path, ("hub", "spoke")) as ds:
        yield ds


def test_a_blocked_peer_is_cut_at_once_refused_and_stays_blocked(
        pair: dict[str, Daemon]) -> None:
    hub, spoke = pair["hub"], pair["spoke"]
    hub.start()
    spoke.start([hub.addr])
    wait_for("spoke to connect to hub", connected(hub, spoke), SYNC_S)
    assert spoke.peer_id is not None

    mark = hub.log_path.stat().st_size
    r = hub.coop("block", "peer", spoke.peer_id, "--reason", "test")
    assert r.stdout == f"blocked peer {spoke.peer_id}\n"
    assert r.stderr.startswith("in effect now")
    # cut at once, in both views of the connection
    wait_for("hub to drop spoke", lambda: not connected(hub, spoke)(), 10)
    wait_for("spoke to see hub gone", lambda: not connected(spoke, hub)(), 10)
    assert log_since(hub, mark, f"peer {spoke.peer_id[-8:]} disconnected: blocked")
    # spoke keeps redialling hub (it does not know why it was cut): refused each time
    wait_for("hub to refuse spoke's redial", lambda: log_since(
        hub, mark, f"peer {spoke.peer_id[-8:]} refused: blocked"), SYNC_S)
    assert not connected(hub, spoke)()
    # entries of spoke's no longer reach hub (nothing connects them)
    late = logged(spoke, "while blocked")

    hub.stop()
    mark = hub.log_path.stat().st_size
    hub.start()
    assert [b["id"] for b in hub.api("GET", "/v1/blocks")["peers"]] == [spoke.peer_id]
    wait_for("hub, restarted, to refuse spoke again", lambda: log_since(
        hub, mark, f"peer {spoke.peer_id[-8:]} refused: blocked"), SYNC_S)
    assert not connected(hub, spoke)() and not holds(hub, late)

    r = hub.coop("unblock", "peer", spoke.peer_id)
    assert r.stdout == f"unblocked peer {spoke.peer_id}\n"
    wait_for("hub and spoke to reconnect and converge", converged([hub, spoke]), SYNC_S)
    assert holds(hub, late)
    for d in (hub, spoke):
        assert d.stop() == 0


# -- 2. an author ----------------------------------------------------------------------------


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, Daemon]]:
    with initialised(tmp_path, ("hub", "left", "right")) as ds:
        for d in ds.values():
            fast_sync(d)
        yield ds


def test_a_blocked_author_stops_at_the_node_while_others_still_cross_it(
        chain: dict[str, Daemon]) -> None:
    hub, left, right = chain["hub"], chain["left"], chain["right"]
    hub.start()
    left.launch([hub.addr])
    right.launch([hub.addr])
    left.wait_ready()
    right.wait_ready()
    wait_for("the chain to converge", converged([hub, left, right]), SYNC_S)
    assert not connected(left, right)()   # left and right meet only through hub

    # left is away while right writes an entry hub stores; then hub blocks right
    left.stop()
    held = logged(right, "before the block")
    wait_for("hub to hold right's entry", lambda: holds(hub, held), SYNC_S)
    r = hub.coop("block", "author", "right", "--reason", "test")
    assert r.stdout.startswith("blocked author right (")
    assert r.stderr.startswith("in effect now: the node no longer stores, relays or "
                               "serves its new entries")
    t_block = int(time.time() * 1000)
    left.start([hub.addr])
    # hub does not serve what it holds of right's to left
    wait_for("left to sync with hub", lambda: synced_with_since(left, hub, t_block), SYNC_S)
    assert holds(hub, held) and not holds(left, held)
    assert hub.api("GET", "/v1/blocks")["withheld"] >= 1

    x = logged(right, "blocked at hub")
    y = logged(left, "crosses hub")
    # others' entries still cross hub, in both directions
    wait_for("left's entry to reach right through hub", lambda: holds(right, y), SYNC_S)
    z = logged(right, "also blocked")
    # right's reach hub by gossip and by sync, and are dropped both ways
    wait_for("hub to drop right's gossip", lambda: dropped(hub, "gossip") >= 1, SYNC_S)
    wait_for("hub to drop right's entries in a sync session",
             lambda: dropped(hub, "sync") >= 1, SYNC_S)
    assert log_since(hub, 0, "blocked:author:", "by gossip")
    assert log_since(hub, 0, "blocked:author:", "by sync")
    now = int(time.time() * 1000)
    wait_for("left to sync with hub again", lambda: synced_with_since(left, hub, now), SYNC_S)
    assert not any(holds(d, e) for d in (hub, left) for e in (x, z))
    view = hub.api("GET", "/v1/blocks")
    assert view["authors"][0]["dropped"] >= 2 and view["authors"][0]["since_ms"] <= t_block

    r = hub.coop("unblock", "author", "right")
    assert r.stdout.startswith("unblocked author right (")
    wait_for("right's entries to reach hub and left", lambda: all(
        holds(d, e) for d in (hub, left) for e in (held, x, z)), SYNC_S)
    wait_for("the chain to converge", converged([hub, left, right]), SYNC_S)

    # blocked while hub is stopped: written to the file, in force when it starts
    hub.stop()
    r = hub.coop("block", "author", "right")
    assert "takes effect when the node starts" in r.stderr
    w = logged(right, "written while hub was down")
    hub.start([left.addr, right.addr])
    wait_for("hub to reconnect to right", connected(hub, right), SYNC_S)
    wait_for("hub to drop right's entry from a sync", lambda: dropped(hub, "sync") >= 1,
             SYNC_S)
    v = logged(left, "after the restart")
    wait_for("left's entry to reach hub and right", lambda: holds(hub, v) and holds(right, v),
             SYNC_S)
    assert not holds(hub, w) and not holds(left, w)
    for d in (hub, left, right):
        assert d.stop() == 0


# -- 3. gossip a blocked peer originates ---------------------------------------------------


async def test_gossip_a_blocked_peer_originates_is_dropped_even_when_forwarded(
        tmp_path: Path) -> None:
    from coopledger.node._p2p import P2P, Stream

    class Host:
        def __init__(self, name: str, bootstrap: tuple[str, ...] = ()) -> None:
            self.got: list[bytes] = []
            self.p2p = P2P(SecretKey.generate(), listen=[LOOPBACK], bootstrap=list(bootstrap),
                           mdns=False, allow=(), topic="block-net",
                           peers_file=tmp_path / f"{name}.json",
                           validate_gossip=lambda data: True, on_gossip=self._got,
                           on_connected=lambda peer: None, on_sync_stream=self._sync)

        async def _got(self, data: bytes, peer: str) -> None:
            self.got.append(data)

        async def _sync(self, stream: Stream, peer: str) -> None:
            await stream.aclose()

        @property
        def id(self) -> str:
            return self.p2p.peer_id

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            b = Host("b")
            await nursery.start(b.p2p.run)
            a = Host("a", (b.p2p.listen_addrs()[0],))
            c = Host("c", (b.p2p.listen_addrs()[0],))
            d = Host("d", (b.p2p.listen_addrs()[0],))
            a.p2p.set_blocked({c.id})          # a never meets c; b forwards c's gossip
            for h in (a, c, d):
                await nursery.start(h.p2p.run)
            await wait_until("the gossip mesh", lambda: {a.id, c.id, d.id} <= set(
                b.p2p.gossip_peers()) and b.id in a.p2p.gossip_peers())
            for n in range(3):
                await c.p2p.publish(b"from c %d" % n)
                # b relayed it to its whole mesh (a and d) in one step: d has it
                await wait_until("gossip to cross", lambda: b"from c %d" % n in d.got)  # noqa: B023
                await b.p2p.publish(b"from b %d" % n)
                await wait_until("gossip to cross", lambda: b"from b %d" % n in a.got)  # noqa: B023
            # b's messages followed c's to a on the same connection, and arrived
            assert a.got == [b"from b 0", b"from b 1", b"from b 2"]
            assert c.id not in a.p2p.connected_peers()
            nursery.cancel_scope.cancel()
