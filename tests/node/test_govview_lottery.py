"""The lottery views (node/_govview_lottery.py) on a real store, and the same
documents through the local API in-process: the list by body, one lottery with its
beacons (counted, not counted, invalid), its result and every step of the draw."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from govapi import RULES, Coop, api_client

from coopledger.node import Store
from coopledger.node import _views_table as views_table
from coopledger.node._api import OPENAPI
from coopledger.node._econview import LookupFailed
from coopledger.protocol.commons import verify

TOKEN = "ef" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden founds Riverside with Bakery and Mill. Riverside draws a facilitator
    and a process guardian (2 beacons: Bakery, Mill; Garden's own is invalid, Mill's
    second does not count). Garden's assembly announces an audit lottery that waits."""
    garden, bakery, mill = (Coop(store, 1, "Hillside Garden"), Coop(store, 2, "Corner Bakery"),
                            Coop(store, 3, "Old Mill"))
    outsider = Coop(store, 4, "Far Away")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    for c in (bakery, mill):
        inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                               "invitee": c.id.hex()}, fed)
        c.ts = garden.ts
        c.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
              fed, inv)
    people = [{"name": n, "coop": c.id.hex()} for c, n in
              ((garden, "Ana"), (garden, "Bo"), (bakery, "Chen"), (bakery, "Dee"),
               (mill, "Eli"), (mill, "Fa"))]
    lot = garden.add("lottery.announce", {
        "federation": fed.id.hex(), "purpose": "assembly of May", "pool": people,
        "seats": 1, "beacons": 2, "mode": "draw",
        "roles": ["facilitator", "process guardian"], "distinct_coops": True,
        "note": "drawn at the April assembly"}, fed)
    beacons = []
    for c in (garden, bakery, mill, mill, outsider):
        c.ts = max(c.ts, garden.ts)
        beacons.append(c.add("lottery.beacon", {"lottery": lot.id.hex()}, lot))
    audit = garden.add("lottery.announce", {
        "purpose": "audit circle", "pool": people, "seats": 2, "beacons": 3,
        "mode": "draw", "exclude": [garden.id.hex()]})
    return {"garden": garden, "bakery": bakery, "mill": mill, "outsider": outsider,
            "fed": fed, "lot": lot, "beacons": beacons, "audit": audit}


def answer(store: Store, view: str, me: Coop | None = None, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=None if me is None else me.id)


def test_lotteries_of_a_federation_and_of_a_co_op(store: Store, world: dict[str, Any]) -> None:
    garden, lot, audit = world["garden"], world["lot"], world["audit"]
    rows = answer(store, "lotteries", federation="Riverside")["lotteries"]
    assert [r["id"] for r in rows] == [lot.id.hex()]
    row = rows[0]
    assert row | {"result": None} == {
        "id": lot.id.hex(), "body": world["fed"].id.hex(), "body_kind": "federation",
        "body_name": "Riverside", "announcer": garden.id.hex(),
        "announcer_name": "Hillside Garden", "purpose": "assembly of May", "mode": "draw",
        "seats": 1, "roles": ["facilitator", "process guardian"], "pool": 6,
        "beacons_needed": 2, "beacons_counted": 2, "announced": lot.ts,
        "status": "drawn", "drawn": world["beacons"][2].ts, "result": None}
    assert row["result"]["groups"] is None and row["result"]["short"] is False
    [seat] = row["result"]["seats"]
    assert [p["coop_name"] for p in seat] != [None, None] and len(seat) == 2
    assert seat[0]["coop"] != seat[1]["coop"]                   # distinct co-ops
    own = answer(store, "lotteries", coop="Hillside Garden")["lotteries"]
    assert [(r["id"], r["status"], r["body_kind"], r["beacons_counted"]) for r in own] == [
        (audit.id.hex(), "waiting", "coop", 0)]
    assert own[0]["result"] is None and own[0]["drawn"] is None
    every = answer(store, "lotteries", world["bakery"])["lotteries"]
    assert [r["id"] for r in every] == [lot.id.hex(), audit.id.hex()]   # all held here
    assert answer(store, "lotteries")["lotteries"] == every


def test_one_lottery_with_its_beacons_and_steps(store: Store, world: dict[str, Any]) -> None:
    lot, (own, first, second, again, outside) = world["lot"], world["beacons"]
    doc = answer(store, "lottery", lottery=lot.id.hex()[:10])
    assert doc["id"] == lot.id.hex() and doc["note"] == "drawn at the April assembly"
    assert doc["distinct_coops"] is True and doc["exclude"] == []
    assert [c["name"] for c in doc["candidates"]] == ["Ana", "Bo", "Chen", "Dee", "Eli", "Fa"]
    assert [(b["id"], b["coop_name"]) for b in doc["beacons"]] == [
        (first.id.hex(), "Corner Bakery"), (second.id.hex(), "Old Mill")]
    assert [(b["id"], b["reason"]) for b in doc["not_counted"]] == [(again.id.hex(), "repeat")]
    assert sorted((b["id"], b["code"]) for b in doc["invalid_beacons"]) == sorted([
        (own.id.hex(), "own-beacon"), (outside.id.hex(), "not-a-member")])
    s = doc["steps"]
    draw = verify(lot.id, lot.body, [first.id, second.id])
    assert s["seed"] == draw.seed.hex() == hashlib.sha256(
        bytes.fromhex(s["preimage"])).hexdigest()
    assert s["preimage"] == (s["context"] + lot.id.hex() + "".join(s["beacons_sorted"]))
    assert [c["index"] for c in s["candidates"]] == list(range(6))
    # every pick can be redone by hand from the seed: r_i, its u64, index = u64 mod n
    for p in s["picks"]:
        r = hashlib.sha256(bytes.fromhex(s["seed"]) + p["stream"].to_bytes(4, "big"))
        assert p["r"] == r.hexdigest() and int(p["value"]) == int(p["r"][:16], 16)
        assert p["accepted"] and p["index"] == int(p["value"]) % p["n"]
    chosen = [p["pick"] for p in s["picks"]]
    assert chosen == doc["result"]["seats"][0]
    assert [p["role"] for p in s["picks"]] == ["facilitator", "process guardian"]
    assert s["picks"][1]["n"] == 4             # the first pick's co-op is out (distinct)


def test_a_waiting_lottery_has_no_steps(store: Store, world: dict[str, Any]) -> None:
    doc = answer(store, "lottery", lottery=world["audit"].id.hex())
    assert doc["status"] == "waiting" and doc["result"] is None and doc["seats"] == 2
    assert doc["steps"]["picks"] == [] and doc["steps"]["waiting_for"] == 3
    assert doc["exclude"] == [world["garden"].id.hex()]


def test_bad_parameters(store: Store, world: dict[str, Any]) -> None:
    cases: list[tuple[Callable[[], Any], str, int]] = [
        (lambda: answer(store, "lottery", lottery="ab"), "lottery", 400),
        (lambda: answer(store, "lottery", lottery="00000000"), "lottery", 404),
        (lambda: answer(store, "lotteries", federation="Nowhere"), "federation", 404),
        (lambda: answer(store, "lotteries", federation="Riverside", coop="Old Mill"),
         "coop", 400),
        (lambda: answer(store, "lotteries", colour="red"), "colour", 400),
    ]
    for call, field, status in cases:
        with pytest.raises(LookupFailed) as exc:
            call()
        assert (exc.value.field, exc.value.status) == (field, status)


# ------------------------------------------------------------------------ through the API

@pytest.fixture
async def client(store: Store, world: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(store, world["bakery"].id, TOKEN) as c:
        yield c


async def test_the_api_serves_the_same_documents(client: httpx.AsyncClient, store: Store,
                                                 world: dict[str, Any]) -> None:
    lot = world["lot"]
    r = await client.get("/v1/lotteries")
    assert r.status_code == 200 and r.json() == answer(store, "lotteries", world["bakery"])
    r = await client.get(f"/v1/lotteries/{lot.id.hex()[:12]}")
    assert r.status_code == 200
    assert r.json() == answer(store, "lottery", lottery=lot.id.hex())
    r = await client.get("/v1/lotteries/zz")
    assert r.status_code == 400
    r = await client.get("/v1/lotteries", headers={"Authorization": "Bearer no"})
    assert r.status_code == 401
    params = {p["name"] for p in OPENAPI["paths"]["/v1/lotteries"]["get"]["parameters"]}
    assert params == {"coop", "federation"}
    assert OPENAPI["paths"]["/v1/lotteries/{lottery}"]["get"]["parameters"][0]["in"] == "path"
