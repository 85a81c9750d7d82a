"""The keys view (node/_govview_keys.py) on a real store and through the local API
in-process, and the economy's views seeing a key as its co-op (SPEC §13.2): a node that
writes with a rotated or added key sees its co-op's balances and transfers, and a co-op
named by the name its several keys share is one co-op."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from govapi import api_client

from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node import _econview as econview
from coopledger.node import _views_table as views_table
from coopledger.node._api import OPENAPI
from coopledger.node._econview import LookupFailed
from coopledger.protocol import Entry
from coopledger.protocol._kinds import key_proof_message

T0 = 1_800_000_000_000
TOKEN = "ab" * 32
RULES: dict[str, Any] = {"units": [
    {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time"}],
    "fund_share": "0.1", "offer_expiry_days": 14}


class Log:
    def __init__(self, store: Store, seed: int, name: str) -> None:
        self.store, self.key = store, SecretKey(bytes([seed]) * 32)
        self.raw = self.key.public.raw
        self.ts = T0
        self.add("genesis", {"name": name})

    def add(self, kind: str, body: dict[str, Any], *refs: Entry, ts: int | None = None
            ) -> Entry:
        self.ts = self.ts + 1_000 if ts is None else ts
        return self.store.append(self.key, kind=kind, body=body, ts=self.ts,
                                 refs=[r.id for r in refs])

    def add_key(self, new: Log, power: str = "node", label: str = "laptop") -> Entry:
        new.ts = self.ts = max(self.ts, new.ts)
        return self.add("key.add", {
            "identity": self.raw.hex(), "key": new.raw.hex(), "power": power,
            "label": label, "proof": new.key.sign(key_proof_message(self.raw)).hex()})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden (root key) founds Riverside with Bakery, adds a laptop key (named like the
    co-op) and a spare; the laptop pays Bakery 3 hours; Garden rotates to a new key that
    offers 2 more; the laptop is revoked through its entry #2; a stranger's key.add
    naming Garden is refused."""
    garden, bakery = Log(store, 1, "Hillside Garden"), Log(store, 2, "Corner Bakery")
    laptop, spare, new = (Log(store, 3, "Hillside Garden"), Log(store, 4, "spare"),
                          Log(store, 5, "Hillside Garden"))
    stranger = Log(store, 6, "Stranger")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                           "invitee": bakery.raw.hex()}, fed)
    bakery.ts = garden.ts
    bakery.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
               fed, inv)
    garden.ts = bakery.ts
    garden.add_key(laptop)
    garden.add_key(spare, "recovery", "USB stick")
    offer = laptop.add("transfer.offer", {"federation": fed.id.hex(), "to": bakery.raw.hex(),
                                          "amount": "3", "unit": "hour", "purpose": "help",
                                          "expires": T0 + 10**9}, fed)
    bakery.ts = laptop.ts
    bakery.add("transfer.accept", {"offer": offer.id.hex()}, offer)
    garden.ts = bakery.ts
    garden.add_key(new, "node", "rotated")
    head = store.own_head(garden.raw)
    assert head is not None
    garden.add("key.revoke", {"identity": garden.raw.hex(), "key": garden.raw.hex(),
                              "reason": "rotated", "through": head[0] + 1})
    later = new.add("transfer.offer", {"federation": fed.id.hex(), "to": bakery.raw.hex(),
                                       "amount": "2", "unit": "hour", "purpose": "more",
                                       "expires": T0 + 10**9}, fed)
    spare.ts = new.ts
    spare.add("key.revoke", {"identity": garden.raw.hex(), "key": laptop.raw.hex(),
                             "reason": "lost", "through": 2})
    stranger.add("key.add", {
        "identity": garden.raw.hex(), "key": SecretKey(bytes([9]) * 32).public.raw.hex(),
        "power": "node", "label": "mine",
        "proof": SecretKey(bytes([9]) * 32).sign(key_proof_message(garden.raw)).hex()})
    return {"garden": garden, "bakery": bakery, "laptop": laptop, "spare": spare,
            "new": new, "fed": fed, "offer": offer, "later": later}


def answer(store: Store, view: str, me: Log | None = None, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=None if me is None else me.raw)


def test_the_keys_of_a_co_op(store: Store, world: dict[str, Any]) -> None:
    garden, laptop, spare, new = (world[k] for k in ("garden", "laptop", "spare", "new"))
    doc = answer(store, "keys", new)
    assert (doc["coop"], doc["coop_name"], doc["this_key"]) == (
        garden.raw.hex(), "Hillside Garden", new.raw.hex())
    rows = {r["key"]: r for r in doc["keys"]}
    assert [r["key"] for r in doc["keys"]] == [garden.raw.hex(), laptop.raw.hex(),
                                               spare.raw.hex(), new.raw.hex()]
    assert [(r["power"], r["label"], r["active"]) for r in doc["keys"]] == [
        ("root", None, False), ("node", "laptop", False),
        ("recovery", "USB stick", True), ("node", "rotated", True)]
    lap = rows[laptop.raw.hex()]
    assert lap["entries"] == {"held": 2, "applied": 2, "acting": 1}  # genesis before add
    [r] = lap["revocations"]
    assert (r["reason"], r["through"], r["by"]) == ("lost", 2, spare.raw.hex())
    assert rows[garden.raw.hex()]["revocations"][0]["through"] == 7
    assert rows[garden.raw.hex()]["entries"] == {"held": 7, "applied": 7, "acting": 7}
    [bad] = doc["invalid"]
    assert (bad["kind"], bad["code"]) == ("key.add", "not-a-key")
    # Named by the name all its keys' logs share, by any key's prefix, or by default.
    assert answer(store, "keys", coop="Hillside Garden")["keys"] == doc["keys"]
    assert answer(store, "keys", coop=laptop.raw.hex()[:10])["coop"] == garden.raw.hex()
    assert answer(store, "keys", laptop)["this_key"] == laptop.raw.hex()
    with pytest.raises(LookupFailed) as info:
        answer(store, "keys")
    assert (info.value.field, info.value.status) == ("coop", 400)
    with pytest.raises(LookupFailed) as info:
        answer(store, "keys", coop="Nobody")
    assert info.value.status == 404


def test_economy_views_see_a_key_as_its_co_op(store: Store, world: dict[str, Any]) -> None:
    garden, bakery, new = world["garden"], world["bakery"], world["new"]
    eco = econview.economy(store)
    assert {i.code for i in eco.invalid.values()} == {"not-a-key"}  # the stranger's add
    mine = econview.answer(store, "transfers", {}, me=new.raw)
    assert mine["coop"] == garden.raw.hex()
    assert {t["id"]: t["direction"] for t in mine["transfers"]} == {
        world["offer"].id.hex(): "out", world["later"].id.hex(): "out"}
    feds = econview.answer(store, "federations", {}, me=new.raw)["federations"]
    assert [f["name"] for f in feds] == ["Riverside"]
    bal = econview.answer(store, "balances", {"coop": "Hillside Garden"}, me=bakery.raw)
    assert bal["coop"] == garden.raw.hex()


@pytest.fixture
async def client(store: Store, world: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(store, world["new"].raw, TOKEN) as c:
        yield c


async def test_the_api_serves_the_keys(client: httpx.AsyncClient, store: Store,
                                       world: dict[str, Any]) -> None:
    r = await client.get("/v1/keys")
    assert r.status_code == 200 and r.json() == answer(store, "keys", world["new"])
    r = await client.get("/v1/keys", params={"coop": "Corner Bakery"})
    assert r.status_code == 200 and r.json()["coop"] == world["bakery"].raw.hex()
    r = await client.get("/v1/keys", params={"who": "x"})
    assert r.status_code == 400
    params = {p["name"] for p in OPENAPI["paths"]["/v1/keys"]["get"]["parameters"]}
    assert params == {"coop"}
