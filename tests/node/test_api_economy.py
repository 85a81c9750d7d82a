"""The economy's GET endpoints of the local API, in-process (httpx.ASGITransport) over
a fake NodeService whose query() runs on a real store: each endpoint serves exactly the
econview document, bad query parameters are 400/404 naming the field, and every one
needs the token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from test_econview import DAY, T0, world  # noqa: F401  (the fixture)

from coopledger.node import Store
from coopledger.node import _econview as econview
from coopledger.node._api import OPENAPI, make_app

T = TypeVar("T")
TOKEN = "cd" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class ViewNode:
    """Only what the economy endpoints use: status()["author"] and query()."""

    def __init__(self, store: Store, author: bytes) -> None:
        self.store, self.author = store, author

    def status(self) -> dict[str, Any]:
        return {"author": self.author.hex()}

    async def query(self, fn: Callable[[Store], T]) -> T:
        return fn(self.store)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
async def client(store: Store, world: dict[str, Any]  # noqa: F811
                 ) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(ViewNode(store, world["garden"].id), TOKEN)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                 headers=AUTH) as c:
        yield c


ENDPOINTS = ["/v1/federations", "/v1/federations/Riverside", "/v1/balances",
             "/v1/transfers", "/v1/board?federation=Riverside",
             "/v1/fund?federation=Riverside", "/v1/exceptions", "/v1/metrics"]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_each_needs_the_token(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["reason"] == "blocked:token"


async def test_each_is_described_with_its_parameters() -> None:
    for path in ENDPOINTS:
        bare = path.split("?")[0].replace("/Riverside", "/{federation}")
        op = OPENAPI["paths"][bare]["get"]
        assert {"200", "400", "401", "404"} <= set(op["responses"])
    names = {p["name"]: p for p in OPENAPI["paths"]["/v1/transfers"]["get"]["parameters"]}
    assert set(names) == {"federation", "as_of", "coop", "open"}
    shown = OPENAPI["paths"]["/v1/federations/{federation}"]["get"]["parameters"]
    assert shown[0]["in"] == "path" and shown[0]["required"]


async def test_views_are_the_econview_documents(client: httpx.AsyncClient, store: Store,
                                                world: dict[str, Any]) -> None:  # noqa: F811
    garden, fed = world["garden"], world["fed"]
    at = str(T0 + DAY)
    cases = [
        ("/v1/federations", econview.federations(store, garden.id)),
        (f"/v1/federations/{fed.id.hex()[:8]}", econview.federation(store, fed.id)),
        (f"/v1/balances?as_of={at}", econview.balances(store, garden.id, None, T0 + DAY)),
        (f"/v1/transfers?as_of={at}&federation=Riverside&open=true",
         econview.transfers(store, garden.id, fed.id, T0 + DAY, open_only=True)),
        (f"/v1/board?federation=Riverside&as_of={at}", econview.board(store, fed.id, T0 + DAY)),
        (f"/v1/fund?federation=Riverside&as_of={at}", econview.fund(store, fed.id, T0 + DAY)),
        ("/v1/exceptions?federation=Riverside", econview.exceptions(store, fed.id)),
    ]
    for path, expected in cases:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.json() == expected, path
    r = await client.get(f"/v1/transfers?as_of={at}")
    assert [t["status"] for t in r.json()["transfers"]] == ["accepted", "open"]


async def test_the_point_of_view_can_be_another_coop(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/transfers?coop=Corner%20Bakery")
    assert {t["direction"] for t in r.json()["transfers"]} == {"in"}


@pytest.mark.parametrize("path,status,field", [
    ("/v1/balances?as_of=tomorrow", 400, "as_of"),
    ("/v1/balances?as_of=1&as_of=2", 400, None),
    ("/v1/balances?federation=Lakeside", 404, "federation"),
    ("/v1/balances?federation=abcd", 404, "federation"),
    ("/v1/transfers?open=maybe", 400, "open"),
    ("/v1/transfers?colour=red", 400, "colour"),
    ("/v1/board", 400, "federation"),
    ("/v1/fund?federation=00000000", 404, "federation"),
    ("/v1/federations/Lakeside", 404, "federation"),
    ("/v1/federations?coop=Nobody", 404, "coop"),
    ("/v1/metrics?period=2026-13", 400, "period"),
])
async def test_bad_parameters_name_the_field(client: httpx.AsyncClient, path: str,
                                             status: int, field: str | None) -> None:
    r = await client.get(path)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["status"] == status
    assert err["reason"] == ("invalid:request" if status == 400 else "invalid:unknown")
    assert err.get("field") == field
    if field:
        assert err["message"].startswith(f"{field}: ")
