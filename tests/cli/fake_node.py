"""A stand-in for a running daemon: the real API (serve_api, hypercorn on trio) on
127.0.0.1 port 0, in a thread, over a fake NodeService that writes to the home's real
store, plus the node.json and api-token a daemon leaves in its home. No libp2p.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import trio

from coopledger.node import Home, Store, import_bundle, now_ms
from coopledger.node._api import serve_api
from coopledger.node._bundles import ImportReport
from coopledger.node._runfile import ensure_token, remove_runfile, write_runfile
from coopledger.protocol import Entry, Value

START_TIMEOUT_S = 60  # a deadline only (the thread starts in well under a second)
T = TypeVar("T")


class FakeNode:
    """NodeService over a home's store; records which methods were called."""

    def __init__(self, home_path: Path) -> None:
        self.home = Home.open(home_path)
        self.key = self.home.secret_key(None)
        self.calls: list[str] = []

    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry:
        self.calls.append("append")
        with self.home.open_store() as store:
            return store.append(self.key, kind=kind, body=body, refs=refs or (),
                                ts=now_ms() if ts is None else ts)

    async def import_bundle(self, path: Path) -> ImportReport:
        self.calls.append("import_bundle")
        with open(path, "rb") as f, self.home.open_store() as store:
            return import_bundle(store, f)

    def status(self) -> dict[str, Any]:
        self.calls.append("status")
        with self.home.open_store() as store:
            held, state_hash = store.count(), store.state().state_hash()
        return {
            "name": self.home.name, "author": self.home.author.hex(),
            "peer_id": "12D3KooWFakeNodeOfTheGarden", "network": "default",
            "listen": ["/ip4/0.0.0.0/tcp/4140", "/ip6/::/tcp/4140"],
            "api": "127.0.0.1:4141", "pid": 4242, "started_ms": 1_795_000_000_000,
            "connected_peers": ["12D3KooWBakeryPeerAAAAAAAAAA"],
            "entries_held": held, "state_hash": state_hash,
            "sync": [
                {"peer_id": "12D3KooWBakeryPeerAAAAAAAAAA", "connected": True,
                 "syncing": True, "behind_by": 1200, "entries_received": 300,
                 "last_sync_ms": None, "last_result": None},
                {"peer_id": "12D3KooWRepairPeerBBBBBBBBBB", "connected": False,
                 "syncing": False, "behind_by": 0, "entries_received": 0,
                 "last_sync_ms": 1_795_000_000_000, "last_result": "ok"},
            ],
        }

    def peers(self) -> list[dict[str, Any]]:
        self.calls.append("peers")
        return [{"peer_id": "12D3KooWBakeryPeerAAAAAAAAAA",
                 "addrs": ["/ip4/10.0.0.2/tcp/4140"], "connected": True,
                 "last_seen_ms": 1_795_000_000_000, "last_sync_ms": None,
                 "last_result": None}]

    async def entry(self, entry_id: bytes) -> Entry | None:
        self.calls.append("entry")
        with self.home.open_store() as store:
            return store.get(entry_id)

    def arrival(self, entry_id: bytes) -> int | None:
        return 1_795_000_000_123 if entry_id == b"\x01" * 32 else None

    async def query(self, fn: Callable[[Store], T]) -> T:
        self.calls.append("query")
        with self.home.open_store() as store:
            return fn(store)

    async def rebuild(self) -> str:
        self.calls.append("rebuild")
        with self.home.open_store() as store:
            return store.rebuild().state_hash()


@contextmanager
def serving(home_path: Path) -> Iterator[FakeNode]:
    """Serve a FakeNode for the home, with node.json naming this process (so the pid
    is alive and /v1/health answers with it), until the block ends."""
    node = FakeNode(home_path)
    token = ensure_token(home_path)
    started: queue.Queue[Any] = queue.Queue()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await nursery.start(serve_api, node, "127.0.0.1", 0, token)
            started.put((port, trio.lowlevel.current_trio_token(), nursery.cancel_scope))

    def thread() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            started.put(exc)
            raise

    t = threading.Thread(target=thread, name="fake-node", daemon=True)
    t.start()
    got = started.get(timeout=START_TIMEOUT_S)
    if isinstance(got, BaseException):
        raise got
    port, trio_token, scope = got
    write_runfile(home_path, api=f"127.0.0.1:{port}", peer_id="12D3KooWFakeNodeOfTheGarden")
    try:
        yield node
    finally:
        remove_runfile(home_path)
        trio.from_thread.run_sync(scope.cancel, trio_token=trio_token)
        t.join(START_TIMEOUT_S)
