"""Replication scope in the running node (node/_daemon.py): sync ``want``, gossip
topics per federation, the drop of gossip outside the scope, and ``allow_members``.

The scope comes from the economy (SPEC §12) through one seam,
``coopledger.node._daemon.replication_of``; these tests replace it with a table they
control (and ``refresh_replication(force=True)`` after changing it: the node caches
the scope per economy object), so they do not depend on federation entries. Nodes run
in one trio process over real loopback sockets (libp2p); every wait is on a condition
under fail_after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from coopledger.node import _daemon
from coopledger.node._config import NodeConfig
from coopledger.node._daemon import Node, serve
from coopledger.node._home import Home
from coopledger.node._replication import Replication, federation_topic
from coopledger.node.testing import wait_until
from coopledger.protocol import LedgerState

pytestmark = pytest.mark.integration

FED = bytes([0xFE]) * 32


async def until(what: str, cond: Callable[[], object]) -> None:
    """Return once ``cond()`` is true (the test's fail_after also bounds the wait)."""
    await wait_until(what, cond, poll=0.05)


class Scopes:
    """The injected replication: co-op author -> Replication (absent: everything)."""

    def __init__(self) -> None:
        self.table: dict[bytes, Replication] = {}

    def __call__(self, state: LedgerState, me: bytes) -> Replication:
        return self.table.get(me, _daemon.EVERYTHING)


@pytest.fixture
def scopes(monkeypatch: pytest.MonkeyPatch) -> Scopes:
    s = Scopes()
    monkeypatch.setattr(_daemon, "replication_of", s)
    return s


async def start(nursery: trio.Nursery, tmp_path: Path, name: str, *,
                bootstrap: tuple[str, ...] = (), allow_members: bool = False,
                home: Home | None = None) -> Node:
    if home is None:
        home, _ = Home.init(tmp_path / name, name)
    config = NodeConfig(listen=("/ip4/127.0.0.1/tcp/0",), api="127.0.0.1:0", mdns=False,
                        bootstrap=bootstrap, allow_members=allow_members,
                        sync_interval=3600)
    node: Node = await nursery.start(serve, home, config, home.secret_key(None))
    return node


def homes(tmp_path: Path, *names: str) -> list[Home]:
    return [Home.init(tmp_path / n, n)[0] for n in names]


async def holds(node: Node, entry_id: bytes) -> bool:
    return await node.entry(entry_id) is not None


def last_ok(node: Node, peer: str) -> Any:
    ps = node._syncs.get(peer)
    return ps.last_ok_ms if ps else None


async def test_federation_members_replicate_each_other_not_outsiders(
        tmp_path: Path, scopes: Scopes) -> None:
    ha, hb, hc = homes(tmp_path, "a", "b", "c")
    fed = Replication(frozenset({ha.author, hb.author}), (FED,))
    scopes.table = {ha.author: fed, hb.author: fed}
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            a = await start(nursery, tmp_path, "a", home=ha)
            # topics follow the scope: the federation's, not the network's
            assert a.p2p.topics() == [federation_topic("default", FED)]
            assert a.status()["replication"] == {
                "authors": 2, "federations": [FED.hex()],
                "topics": [f"coopledger/default/fed/{FED.hex()}"]}
            b = await start(nursery, tmp_path, "b", home=hb,
                            bootstrap=tuple(a.p2p.listen_addrs()))
            c = await start(nursery, tmp_path, "c", home=hc,
                            bootstrap=tuple(a.p2p.listen_addrs()))
            assert c.p2p.topics() == ["default"]
            c_entry = await c.append("x.note", {"text": "c's own"})
            b_entry = await b.append("x.note", {"text": "b's own"})
            await until("a syncs with b and c",
                        lambda: last_ok(a, b.p2p.peer_id) and last_ok(a, c.p2p.peer_id))
            await until("b's entry reaches a", lambda: a.arrival(b_entry.id))
            # c wants everything, a only its federation: c gets a's and b's logs (by
            # sync: c is not on the federation's topic) ...
            a.request_sync(c.p2p.peer_id)
            await until("a's federation reaches c", lambda: c.arrival(b_entry.id))
            # ... and a never gets c's, by sync or by gossip. (Wait for any session in
            # flight to end first: request_sync does nothing while one runs.)
            later = await c.append("x.note", {"text": "c, later"})
            await until("no a-c session in flight",
                        lambda: not a._syncs[c.p2p.peer_id].active)
            before = a._syncs[c.p2p.peer_id].sessions
            a.request_sync(c.p2p.peer_id)
            await until("another a-c session", lambda: a._syncs[c.p2p.peer_id].sessions
                        > before and not a._syncs[c.p2p.peer_id].active)
            assert not await holds(a, c_entry.id) and not await holds(a, later.id)
            assert a._syncs[c.p2p.peer_id].last_result == "ok"   # not an offence
            nursery.cancel_scope.cancel()


async def test_scope_change_moves_topics_and_brings_the_new_logs(
        tmp_path: Path, scopes: Scopes) -> None:
    ha, hc = homes(tmp_path, "a", "c")
    scopes.table = {ha.author: Replication(frozenset({ha.author}), (FED,))}
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            a = await start(nursery, tmp_path, "a", home=ha)
            c = await start(nursery, tmp_path, "c", home=hc,
                            bootstrap=tuple(a.p2p.listen_addrs()))
            note = await c.append("x.note", {"text": "before joining"})
            await until("a-c synced", lambda: last_ok(a, c.p2p.peer_id))
            assert not await holds(a, note.id)
            # c joins a's federation: a's next session asks for c's log too (full
            # heads: the memory was made under the old scope).
            scopes.table[ha.author] = Replication(frozenset({ha.author, hc.author}),
                                                  (FED, bytes(32)))
            await a.refresh_replication(force=True)
            await until("two federation topics", lambda: a.p2p.topics() == sorted(
                federation_topic("default", f) for f in (FED, bytes(32))))
            a.request_sync(c.p2p.peer_id)
            await until("c's log reaches a", lambda: a.arrival(note.id))
            st = a._syncs[c.p2p.peer_id].last_session
            assert st is not None and st["incremental"] is False
            # no federation any more: everything, on the network topic
            scopes.table.pop(ha.author)
            await a.refresh_replication(force=True)
            await until("network topic", lambda: a.p2p.topics() == ["default"])
            assert a.want() is None
            nursery.cancel_scope.cancel()


async def test_allow_members_refuses_outsiders(
        tmp_path: Path, scopes: Scopes, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="coopledger")
    ha, hb, hc = homes(tmp_path, "a", "b", "c")
    scopes.table = {ha.author: Replication(frozenset({ha.author, hb.author}), (FED,))}
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            a = await start(nursery, tmp_path, "a", home=ha, allow_members=True)
            addr = tuple(a.p2p.listen_addrs())
            c = await start(nursery, tmp_path, "c", home=hc, bootstrap=addr)
            b = await start(nursery, tmp_path, "b", home=hb, bootstrap=addr)
            await until("b connects", lambda: b.p2p.peer_id in a.p2p.connected_peers())
            await until("c is refused", lambda: any(
                "refused: not-allowed" in r.getMessage() for r in caplog.records))
            assert c.p2p.peer_id not in a.p2p.connected_peers()
            assert a.p2p.peer_id not in c.p2p.connected_peers()
            nursery.cancel_scope.cancel()


async def test_gossip_outside_the_scope_is_dropped_quietly(tmp_path: Path) -> None:
    from coopledger.crypto import SecretKey
    from coopledger.protocol import create_entry

    inside, outside = SecretKey.generate(), SecretKey.generate()

    def genesis(key: SecretKey) -> bytes:
        return create_entry(key, seq=1, prev=None, ts=1, kind="genesis",
                            body={"name": "x"}).raw

    node = Node.__new__(Node)   # only the gossip intake: no host, no store
    node._gossip_in, out = trio.open_memory_channel[tuple[bytes, str]](8)
    node.replication = Replication(frozenset({inside.public.raw}), (FED,))
    await node._on_gossip(genesis(outside), "peer")
    await node._on_gossip(genesis(inside), "peer")
    assert out.receive_nowait() == (genesis(inside), "peer")
    with pytest.raises(trio.WouldBlock):
        out.receive_nowait()
    node.replication = _daemon.EVERYTHING
    await node._on_gossip(genesis(outside), "peer")
    assert out.receive_nowait() == (genesis(outside), "peer")


def test_want_over_the_hello_limit_asks_for_everything(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(_daemon, "MAX_WANT", 2)
    node = Node.__new__(Node)
    node.replication = Replication(frozenset({b"a" * 32, b"b" * 32}), (FED,))
    assert node.want() == {b"a" * 32, b"b" * 32}
    node.replication = Replication(frozenset({b"a" * 32, b"b" * 32, b"c" * 32}), (FED,))
    with caplog.at_level(logging.WARNING):
        assert node.want() is None
    assert "over 2" in caplog.text


def test_a_coop_in_no_federation_replicates_everything() -> None:
    assert _daemon.replication_of(LedgerState(), b"a" * 32) == Replication(None, ()) \
        == _daemon.EVERYTHING
