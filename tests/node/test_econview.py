"""The economy's read views (node/_econview.py) on a real store: the documents the API
serves and the CLI prints, name and prefix resolution, and query parameter checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node import _econview as econview
from coopledger.protocol import Entry

T0 = 1_800_000_000_000
DAY = 86_400_000
RULES: dict[str, Any] = {"units": [
    {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time", "credit_limit": "40"},
    {"name": "kg", "symbol": "kg", "decimals": 3, "kind": "mass"},
], "fund_share": "0.1", "offer_expiry_days": 14}


class Coop:
    def __init__(self, store: Store, seed: int, name: str) -> None:
        self.store, self.key = store, SecretKey(bytes([seed]) * 32)
        self.id = self.key.public.raw
        self.add("genesis", {"name": name}, ts=T0)

    def add(self, kind: str, body: dict[str, Any], *, refs: tuple[Entry, ...] = (),
            ts: int = T0 + 1_000) -> Entry:
        return self.store.append(self.key, kind=kind, body=body, ts=ts,
                                 refs=[r.id for r in refs])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden founds Riverside, Bakery joins; Garden offers Bakery 5 hours (accepted)
    and 3 hours (open, expiring at T0 + 2 days)."""
    garden, bakery = Coop(store, 1, "Hillside Garden"), Coop(store, 2, "Corner Bakery")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                           "invitee": bakery.id.hex()}, refs=(fed,))
    bakery.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
               refs=(fed, inv), ts=T0 + 2_000)
    done = garden.add("transfer.offer", {
        "federation": fed.id.hex(), "to": bakery.id.hex(), "amount": "5", "unit": "hour",
        "purpose": "oven repair", "expires": T0 + DAY}, refs=(fed,), ts=T0 + 3_000)
    acc = bakery.add("transfer.accept", {"offer": done.id.hex()}, refs=(done,),
                     ts=T0 + 4_000)
    pending = garden.add("transfer.offer", {
        "federation": fed.id.hex(), "to": bakery.id.hex(), "amount": "3", "unit": "hour",
        "purpose": "seedlings", "expires": T0 + 2 * DAY}, refs=(fed,), ts=T0 + 5_000)
    return {"garden": garden, "bakery": bakery, "fed": fed, "inv": inv, "done": done,
            "acc": acc, "pending": pending}


def test_federation_list_and_show(store: Store, world: dict[str, Any]) -> None:
    garden, bakery, fed = world["garden"], world["bakery"], world["fed"]
    listed = econview.federations(store, garden.id)
    assert listed == {"coop": garden.id.hex(), "federations": [{
        "federation": fed.id.hex(), "federation_name": "Riverside", "name": "Riverside",
        "founder": garden.id.hex(), "founder_name": "Hillside Garden",
        "created": T0 + 1_000, "members": 2, "role": "member", "invite": None}]}
    shown = econview.federation(store, fed.id)
    assert shown["charter"] == "We share." and shown["founder_name"] == "Hillside Garden"
    assert shown["rules"]["units"][0] == {**RULES["units"][0]}
    assert shown["rules"]["units"][1] == {**RULES["units"][1], "credit_limit": None}
    assert sorted((m["coop_name"], m["since"]) for m in shown["members"]) == [
        ("Corner Bakery", T0 + 2_000), ("Hillside Garden", T0 + 1_000)]
    assert shown["invites"] == [] and shown["past_members"] == []
    # the document is JSON as it is
    assert json.loads(json.dumps(shown)) == shown
    assert bakery.id.hex() in {m["coop"] for m in shown["members"]}


def test_balances_reserve_open_offers_until_they_lapse(store: Store,
                                                        world: dict[str, Any]) -> None:
    garden, bakery = world["garden"], world["bakery"]
    rows = {r["coop_name"]: r for r in econview.balances(store, garden.id,
                                                          as_of=T0 + DAY)["balances"]}
    mine = rows["Hillside Garden"]
    assert (mine["unit"], mine["balance"], mine["reserved"], mine["limit"],
            mine["available"]) == ("hour", "-5", "3", "40", "32")
    assert (rows["Corner Bakery"]["balance"], rows["Corner Bakery"]["available"]) == ("5", "45")
    # past the open offer's expiry it reserves nothing
    later = econview.balances(store, garden.id, as_of=T0 + 3 * DAY)["balances"]
    mine = next(r for r in later if r["coop"] == garden.id.hex())
    assert (mine["reserved"], mine["available"]) == ("0", "35")
    # kg has no credit limit and no balance: not listed
    assert {r["unit"] for r in later} == {"hour"}
    assert econview.balances(store, bakery.id, as_of=T0)["as_of"] == T0


def test_transfers_have_status_and_direction(store: Store, world: dict[str, Any]) -> None:
    garden, bakery = world["garden"], world["bakery"]
    rows = econview.transfers(store, garden.id, as_of=T0 + DAY)["transfers"]
    assert [(r["purpose"], r["status"], r["direction"]) for r in rows] == [
        ("oven repair", "accepted", "out"), ("seedlings", "open", "out")]
    assert rows[0]["closed_by"] == world["acc"].id.hex()
    theirs = econview.transfers(store, bakery.id, as_of=T0 + 3 * DAY)["transfers"]
    assert [(r["status"], r["direction"]) for r in theirs] == [
        ("accepted", "in"), ("lapsed", "in")]
    assert econview.transfers(store, bakery.id, as_of=T0 + DAY,
                              open_only=True)["transfers"][0]["purpose"] == "seedlings"


def test_invalid_entries_are_listed_with_their_code(store: Store,
                                                    world: dict[str, Any]) -> None:
    outsider = Coop(store, 3, "Fab Lab")
    fed = world["fed"]
    bad = outsider.add("transfer.offer", {
        "federation": fed.id.hex(), "to": world["garden"].id.hex(), "amount": "1",
        "unit": "hour", "purpose": "x", "expires": T0 + DAY}, refs=(fed,), ts=T0 + 6_000)
    got = econview.exceptions(store)
    assert [(i["entry"], i["code"], i["coop_name"]) for i in got["invalid"]] == [
        (bad.id.hex(), "not-a-member", "Fab Lab")]
    assert econview.exceptions(store, fed.id)["invalid"] == got["invalid"]


def test_resolve_ids_by_prefix() -> None:
    ids = [bytes.fromhex("ab" * 32), bytes.fromhex("abababab" + "cd" * 28)]
    assert econview.resolve_id(ids, "abababababab", field="f", what="offer") == ids[0]
    with pytest.raises(econview.LookupFailed) as exc:
        econview.resolve_id(ids, "abababab", field="offer", what="offer")
    assert exc.value.status == 400 and "matches 2 offers" in exc.value.message
    with pytest.raises(econview.LookupFailed) as exc:
        econview.resolve_id(ids, "abab", field="offer", what="offer")
    assert exc.value.status == 400 and "at least 8" in exc.value.message
    with pytest.raises(econview.LookupFailed) as exc:
        econview.resolve_id(ids, "00000000", field="offer", what="offer")
    assert exc.value.status == 404 and exc.value.field == "offer"


def test_resolve_federation_by_name_and_prefix(store: Store, world: dict[str, Any]) -> None:
    eco, fed = econview.economy(store), world["fed"]
    assert econview.resolve_federation(eco, "Riverside") == fed.id
    assert econview.resolve_federation(eco, fed.id.hex()[:10].upper()) == fed.id
    with pytest.raises(econview.LookupFailed, match="no federation named 'Lakeside'"):
        econview.resolve_federation(eco, "Lakeside")
    world["bakery"].add("federation.create", {"name": "Riverside", "charter": "Another.",
                                              "rules": RULES}, ts=T0 + 9_000)
    with pytest.raises(econview.LookupFailed, match="2 federations are named"):
        econview.resolve_federation(econview.economy(store), "Riverside")


@pytest.mark.parametrize("view,params,field,status", [
    ("balances", {"as_of": "yesterday"}, "as_of", 400),
    ("balances", {"colour": "red"}, "colour", 400),
    ("balances", {"federation": "Lakeside"}, "federation", 404),
    ("transfers", {"open": "yes"}, "open", 400),
    ("board", {}, "federation", 400),
    ("fund", {"federation": "abc"}, "federation", 404),
    ("metrics", {"period": "2026-13"}, "period", 400),
    ("federations", {"coop": "Nobody"}, "coop", 404),
])
def test_answer_names_the_bad_parameter(store: Store, world: dict[str, Any], view: str,
                                        params: dict[str, str], field: str,
                                        status: int) -> None:
    with pytest.raises(econview.LookupFailed) as exc:
        econview.answer(store, view, params, me=world["garden"].id)
    assert (exc.value.field, exc.value.status) == (field, status)


def test_answer_is_the_view(store: Store, world: dict[str, Any]) -> None:
    garden = world["garden"]
    assert econview.answer(store, "balances", {"as_of": str(T0 + DAY),
                                               "federation": "Riverside"}, me=garden.id) \
        == econview.balances(store, garden.id, world["fed"].id, T0 + DAY)
    # another point of view
    seen = econview.answer(store, "transfers", {"as_of": str(T0), "coop": "Corner Bakery"},
                           me=garden.id)
    assert {r["direction"] for r in seen["transfers"]} == {"in"}
