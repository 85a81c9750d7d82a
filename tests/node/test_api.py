"""The local HTTP API, in-process (httpx.ASGITransport) against a fake NodeService
backed by a real home and store, plus one real hypercorn-on-trio run on loopback.

The fake writes through the real Store, so the ledger's own validation (and its reason
codes) answers bad entries, and "bad input never changes the store" is checked on a
real database.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trio
from nodekit import KEYS, bundle, make_log

from coopledger.crypto import SecretKey
from coopledger.node import Home, HomeError, Store, import_bundle, now_ms
from coopledger.node._api import (
    MAX_BUNDLE_BYTES,
    MAX_JSON_BODY,
    OPENAPI,
    NodeStopping,
    make_app,
    serve_api,
)
from coopledger.node._bundles import ImportReport
from coopledger.node._runfile import (
    ensure_token,
    find_running,
    read_token,
    remove_runfile,
    write_runfile,
)
from coopledger.protocol import Entry, Value, decode_entry

TOKEN = "ab" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T = TypeVar("T")
LABOR: dict[str, Any] = {"member": "ana", "hours": "2.5", "task": "weeding",
                         "category": "care", "date": "2026-11-23"}


class FakeNode:
    """A NodeService over a real home: no network, everything else real."""

    def __init__(self, home: Home, key: SecretKey) -> None:
        self.home, self.key = home, key
        self.stopping = False
        self.calls: list[str] = []

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.stopping:
            raise NodeStopping("stopping")

    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry:
        self._check("append")
        with self.home.open_store() as store:
            return store.append(self.key, kind=kind, body=body, refs=refs or (),
                                ts=now_ms() if ts is None else ts)

    async def import_bundle(self, path: Path) -> ImportReport:
        self._check("import_bundle")
        assert path.parent == self.home.path  # spooled inside the home
        with open(path, "rb") as f, self.home.open_store() as store:
            return import_bundle(store, f)

    def status(self) -> dict[str, Any]:
        self._check("status")
        with self.home.open_store() as store:
            return {"peer_id": "12D3KooWfake", "network": "default",
                    "author": self.home.author.hex(),
                    "listen": ["/ip4/127.0.0.1/tcp/4140"], "entries_held": store.count(),
                    "state_hash": store.state().state_hash(),
                    "connected_peers": ["12D3KooWpeer"],
                    "sync": [{"peer_id": "12D3KooWpeer", "connected": True, "syncing": True,
                              "behind_by": 7, "entries_received": 3}]}

    def peers(self) -> list[dict[str, Any]]:
        self._check("peers")
        return [{"peer_id": "12D3KooWpeer", "addrs": ["/ip4/10.0.0.2/tcp/4140"],
                 "connected": True, "last_seen_ms": 2_000, "last_sync_ms": 1_000,
                 "last_result": "ok"}]

    async def entry(self, entry_id: bytes) -> Entry | None:
        self._check("entry")
        with self.home.open_store() as store:
            return store.get(entry_id)

    def arrival(self, entry_id: bytes) -> int | None:
        return 1_795_000_000_123 if entry_id == b"\x01" * 32 else None

    async def query(self, fn: Callable[[Store], T]) -> T:
        self._check("query")
        with self.home.open_store() as store:
            return fn(store)

    async def rebuild(self) -> str:
        self._check("rebuild")
        with self.home.open_store() as store:
            return store.rebuild().state_hash()


@pytest.fixture
def node(tmp_path: Path) -> FakeNode:
    home, _ = Home.init(tmp_path / "garden", "Hillside Garden")
    return FakeNode(home, home.secret_key(None))


@pytest.fixture
async def client(node: FakeNode) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(node, TOKEN, spool_dir=node.home.path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as c:
        yield c


def snapshot(node: FakeNode) -> tuple[int, str]:
    with Store.open(node.home.store_path) as store:
        return store.count(), store.state().state_hash()


def assert_error(r: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    """The canonical error shape, and nothing else."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert list(data) == ["error"]
    err: dict[str, Any] = data["error"]
    assert set(err) in ({"status", "reason", "message"},
                        {"status", "reason", "message", "field"})
    assert err["status"] == status
    assert err["reason"] == reason
    assert isinstance(err["message"], str) and err["message"]
    return err


# -- the token --------------------------------------------------------------------------

GUARDED = [("GET", "/v1/status"), ("GET", "/v1/peers"), ("POST", "/v1/entries"),
           ("POST", "/v1/bundles"), ("POST", "/v1/rebuild")]


@pytest.mark.parametrize("method,path", GUARDED)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer " + "cd" * 32},
                                     {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}],
                         ids=["missing", "wrong", "no-scheme", "basic"])
async def test_every_guarded_endpoint_needs_the_token(
        client: httpx.AsyncClient, node: FakeNode, method: str, path: str,
        headers: dict[str, str]) -> None:
    before = snapshot(node)
    r = await client.request(method, path, headers=headers,
                             json={"kind": "labor", "body": LABOR})
    assert_error(r, 401, "blocked:token")
    assert r.headers["www-authenticate"] == "Bearer"
    assert node.calls == []
    assert snapshot(node) == before


async def test_health_and_openapi_need_no_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["pid"] == os.getpid()
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == OPENAPI


async def test_every_route_is_described_in_the_openapi_document(
        client: httpx.AsyncClient, node: FakeNode) -> None:
    served = (await client.get("/openapi.json")).json()
    app = make_app(node, TOKEN)
    routes = {(r.path, m.lower())  # type: ignore[attr-defined]
              for r in app.routes for m in r.methods if m != "HEAD"}  # type: ignore[attr-defined]
    described = {(p, m) for p, ops in served["paths"].items() for m in ops}
    assert routes == described
    public = {(p, m) for p, ops in served["paths"].items() for m, op in ops.items()
              if op.get("security") == []}
    assert public == {("/v1/health", "get"), ("/openapi.json", "get")}


async def raw_post(app: Any, path: str, chunks: list[bytes]) -> tuple[int, Any]:
    """POST ``chunks`` as a body of unknown length, straight through ASGI."""
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("127.0.0.1", 4141),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"authorization", AUTH["Authorization"].encode()),
                         (b"transfer-encoding", b"chunked")]}
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


# -- endpoints --------------------------------------------------------------------------


async def test_status_and_peers(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/status", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["entries_held"] == 1 and r.json()["sync"][0]["behind_by"] == 7
    r = await client.get("/v1/peers", headers=AUTH)
    assert r.status_code == 200
    assert r.json()["peers"][0]["peer_id"] == "12D3KooWpeer"


async def test_get_entry_says_whether_it_is_held_and_when_it_arrived(
        client: httpx.AsyncClient, node: FakeNode) -> None:
    r = await client.post("/v1/entries", headers=AUTH, json={"kind": "labor", "body": LABOR})
    made = r.json()
    r = await client.get(f"/v1/entries/{made['id']}", headers=AUTH)
    assert r.status_code == 200
    got = r.json()
    assert (got["held"], got["entry"]["raw"], got["arrived_ms"]) == (True, made["raw"], None)
    r = await client.get("/v1/entries/" + "01" * 32, headers=AUTH)
    assert r.json() == {"id": "01" * 32, "held": False, "arrived_ms": 1_795_000_000_123,
                        "entry": None}
    for bad in ("xyz", "AB" * 32, "0" * 63):
        r = await client.get(f"/v1/entries/{bad}", headers=AUTH)
        assert r.status_code == 400 and r.json()["error"]["field"] == "entry_id"
    r = await client.get(f"/v1/entries/{made['id']}")
    assert r.status_code == 401


async def test_post_entry_returns_the_stored_entry(client: httpx.AsyncClient,
                                                   node: FakeNode) -> None:
    ts = now_ms() + 60_000
    r = await client.post("/v1/entries", headers=AUTH,
                          json={"kind": "labor", "body": LABOR, "ts": ts})
    assert r.status_code == 201, r.text
    data = r.json()
    entry = decode_entry(bytes.fromhex(data["raw"]))
    assert data["id"] == entry.id.hex() and data["seq"] == 2 and data["kind"] == "labor"
    assert data["body"] == LABOR and data["ts"] == ts
    assert data["author"] == node.home.author.hex()
    with Store.open(node.home.store_path) as store:
        assert store.get(entry.id) == entry
    # refs by hex id
    r = await client.post("/v1/entries", headers=AUTH,
                          json={"kind": "labor", "body": LABOR, "refs": [data["id"]]})
    assert r.status_code == 201, r.text
    assert r.json()["refs"] == [data["id"]]


async def test_post_bundle_imports_it(client: httpx.AsyncClient, node: FakeNode) -> None:
    log = make_log(KEYS[3], 5, name="Repair Collective")
    r = await client.post("/v1/bundles", headers=AUTH, content=bundle(log))
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["new"], data["held"], data["rejected"], data["complete"]) == (5, 0, 0, True)
    assert data["problems"] == []
    assert snapshot(node)[0] == 6
    assert [p.name for p in node.home.path.iterdir() if p.name.startswith(".upload")] == []


async def test_post_bundle_reports_damage_with_offsets(client: httpx.AsyncClient) -> None:
    log = make_log(KEYS[3], 3, name="Repair Collective")
    data = bytearray(bundle(log))
    data[-40] ^= 0xFF  # inside the last entry record
    r = await client.post("/v1/bundles", headers=AUTH, content=bytes(data))
    assert r.status_code == 200
    assert r.json()["problems"] and r.json()["problems"][0]["offset"] > 0


async def test_rebuild(client: httpx.AsyncClient, node: FakeNode) -> None:
    r = await client.post("/v1/rebuild", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"state_hash": snapshot(node)[1], "entries_held": 1}


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", b'{"kind": "labor", "kind": "x"}',
                                     b"[" * 100_000, b""],
                         ids=["cut", "not-utf8", "duplicate-key", "deep", "empty"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, node: FakeNode,
                                     content: bytes) -> None:
    before = snapshot(node)
    r = await client.post("/v1/entries", headers=AUTH, content=content)
    assert_error(r, 400, "invalid:json")
    assert node.calls == [] and snapshot(node) == before


@pytest.mark.parametrize("doc,field", [
    ([], None), ({"body": LABOR}, "kind"), ({"kind": "labor"}, "body"),
    ({"kind": "labor", "body": []}, "body"),
    ({"kind": "labor", "body": LABOR, "refs": ["zz"]}, "refs"),
    ({"kind": "labor", "body": LABOR, "refs": "ab" * 32}, "refs"),
    ({"kind": "labor", "body": LABOR, "ts": "now"}, "ts"),
    ({"kind": "labor", "body": LABOR, "ts": True}, "ts"),
    ({"kind": "labor", "body": LABOR, "ts": -1}, "ts"),
    ({"kind": "labor", "body": LABOR, "extra": 1}, None),
])
async def test_bad_fields_are_400_naming_the_field(
        client: httpx.AsyncClient, node: FakeNode, doc: Any, field: str | None) -> None:
    before = snapshot(node)
    r = await client.post("/v1/entries", headers=AUTH, json=doc)
    err = assert_error(r, 400, "invalid:request")
    assert err.get("field") == field
    assert node.calls == [] and snapshot(node) == before


@pytest.mark.parametrize("body,reason,field", [
    (LABOR | {"hours": "two"}, "invalid:body", "hours"),
    (LABOR | {"hours": 2.5}, "invalid:float", None),
    ({"member": "ana"}, "invalid:body", None),
])
async def test_validation_is_422_with_the_ledgers_reason(
        client: httpx.AsyncClient, node: FakeNode, body: dict[str, Any], reason: str,
        field: str | None) -> None:
    before = snapshot(node)
    r = await client.post("/v1/entries", headers=AUTH, json={"kind": "labor", "body": body})
    err = assert_error(r, 422, reason)
    if field is not None:
        assert err["field"] == field
    assert "two" not in err["message"]  # never echoes the input
    assert snapshot(node) == before


async def test_a_ref_to_an_unknown_entry_is_409(client: httpx.AsyncClient,
                                                node: FakeNode) -> None:
    before = snapshot(node)
    r = await client.post("/v1/entries", headers=AUTH,
                          json={"kind": "labor", "body": LABOR, "refs": ["00" * 32]})
    assert_error(r, 409, "blocked:append")
    assert snapshot(node) == before


async def test_not_a_bundle_is_422(client: httpx.AsyncClient, node: FakeNode) -> None:
    before = snapshot(node)
    r = await client.post("/v1/bundles", headers=AUTH, content=b"PK\x03\x04 a zip file")
    assert_error(r, 422, "invalid:bundle")
    assert snapshot(node) == before
    assert [p.name for p in node.home.path.iterdir() if p.name.startswith(".upload")] == []


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, node: FakeNode) -> None:
    before = snapshot(node)
    big = b" " * (MAX_JSON_BODY + 1)
    r = await client.post("/v1/entries", headers=AUTH, content=big)
    assert_error(r, 413, "invalid:too-large")

    # Without a Content-Length (chunked), the count while reading stops it too.
    status, data = await raw_post(make_app(node, TOKEN), "/v1/entries",
                                  [b" " * (MAX_JSON_BODY // 4)] * 5)
    assert status == 413 and data["error"]["reason"] == "invalid:too-large"
    # A bundle is refused from its declared length, before a byte is spooled.
    r = await client.post("/v1/bundles", headers=AUTH | {
        "Content-Length": str(MAX_BUNDLE_BYTES + 1)}, content=b"")
    assert_error(r, 413, "invalid:too-large")
    assert node.calls == [] and snapshot(node) == before


async def test_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing", headers=AUTH), 404, "error:not-found")
    assert_error(await client.get("/v1/entries", headers=AUTH), 405, "error:method")


async def test_a_stopping_node_is_503(client: httpx.AsyncClient, node: FakeNode) -> None:
    node.stopping = True
    r = await client.post("/v1/entries", headers=AUTH, json={"kind": "labor", "body": LABOR})
    assert_error(r, 503, "error:stopping")


async def test_a_bug_is_500_in_the_same_shape(
        client: httpx.AsyncClient, node: FakeNode, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, Any]:
        raise KeyError("oops")
    monkeypatch.setattr(node, "status", broken)
    r = await client.get("/v1/status", headers=AUTH)
    err = assert_error(r, 500, "error:internal")
    assert "oops" not in err["message"]
    assert "API GET /v1/status failed" in caplog.text


def test_an_empty_token_is_refused(node: FakeNode) -> None:
    with pytest.raises(ValueError):
        make_app(node, "")


# -- a real server ------------------------------------------------------------------------


def _get(port: int, path: str, token: str | None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


async def test_hypercorn_on_trio_serves_it_on_port_0(node: FakeNode) -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_api, node, "127.0.0.1", 0, TOKEN)
            assert host == "127.0.0.1" and port > 0
            status, data = await trio.to_thread.run_sync(_get, port, "/v1/status", TOKEN)
            assert status == 200 and data["entries_held"] == 1
            status, data = await trio.to_thread.run_sync(_get, port, "/v1/status", None)
            assert status == 401 and data["error"]["reason"] == "blocked:token"
            nursery.cancel_scope.cancel()
    # stopped: the port no longer answers
    with pytest.raises(OSError):
        _get(port, "/v1/health", None)


# -- the token and the run file -----------------------------------------------------------


def test_the_token_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    token = ensure_token(tmp_path)
    assert len(token) == 64 and int(token, 16) >= 0
    assert (tmp_path / "api-token").stat().st_mode & 0o777 == 0o600
    assert ensure_token(tmp_path) == token == read_token(tmp_path)


def test_a_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    ensure_token(tmp_path)
    (tmp_path / "api-token").chmod(0o644)
    with pytest.raises(HomeError, match="chmod 600"):
        read_token(tmp_path)
    (tmp_path / "api-token").chmod(0o600)
    (tmp_path / "api-token").write_text("short\n")
    with pytest.raises(HomeError, match="damaged"):
        read_token(tmp_path)
    with pytest.raises(HomeError, match="cannot read"):
        read_token(tmp_path / "nowhere")


async def test_find_running_trusts_only_a_live_answering_daemon(node: FakeNode) -> None:
    home = node.home.path
    assert find_running(home) is None  # no file
    (home / "node.json").write_text("{not json")
    assert find_running(home) is None  # damaged
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            _, port = await nursery.start(serve_api, node, "127.0.0.1", 0, TOKEN)
            info = write_runfile(home, api=f"127.0.0.1:{port}", peer_id="12D3KooWfake")
            assert info.pid == os.getpid()
            found = await trio.to_thread.run_sync(find_running, home)
            assert found == info and (found.host, found.port) == ("127.0.0.1", port)
            # the same address, but node.json names another (live) process
            write_runfile(home, api=f"127.0.0.1:{port}", peer_id="x", pid=1)
            assert await trio.to_thread.run_sync(find_running, home) is None
            nursery.cancel_scope.cancel()
    write_runfile(home, api=f"127.0.0.1:{port}", peer_id="x")
    assert find_running(home) is None  # alive, but nothing listens


def test_remove_runfile_leaves_another_daemons_file(tmp_path: Path) -> None:
    write_runfile(tmp_path, api="127.0.0.1:4141", peer_id="x", pid=1)
    remove_runfile(tmp_path)
    assert (tmp_path / "node.json").exists()
    write_runfile(tmp_path, api="127.0.0.1:4141", peer_id="x")
    assert json.loads((tmp_path / "node.json").read_text())["pid"] == os.getpid()
    remove_runfile(tmp_path)
    assert not (tmp_path / "node.json").exists()
    remove_runfile(tmp_path)  # already gone: fine
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary files left
