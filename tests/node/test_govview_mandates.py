"""The mandate, role and policy views (node/_govview_mandates.py) on a real store, and
the same documents through the local API in-process: mandates by body and status at an
explicit as-of time, one mandate in full with what was done under it, roles with their
holders and rotation, the policy in force, and parameter errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from govapi import RULES, T0, Coop, api_client

from coopledger.node import Store
from coopledger.node import _views_table as views_table
from coopledger.node._api import OPENAPI
from coopledger.node._econview import LookupFailed
from coopledger.protocol._kinds import key_proof_message

DAY = 86_400_000
TOKEN = "ef" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


START = T0 + DAY
END = START + 30 * DAY


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden founds Riverside with Bakery; Riverside's maximum term is 90 days.

    - Garden adds Ana's delegate key and mandates her (START..END) to offer up to 5
      hours in Riverside; Ana offers 3 (valid) and 8 (outside the mandate); Garden
      recalls the mandate at START + 2 days; Ana's later offer is refused; Ana reports;
      Garden gives its verdict;
    - Garden mandates Ben (no key) to its own assembly for 10 days from START;
    - Garden's roles: Ana treasurer (renewed once), Ben treasurer; Riverside's
      facilitator Cleo, recorded by Bakery.
    """
    garden, bakery = Coop(store, 1, "Hillside Garden"), Coop(store, 2, "Corner Bakery")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                           "invitee": bakery.id.hex()}, fed)
    bakery.later_than(garden).add("federation.join", {"federation": fed.id.hex(),
                                                      "invite": inv.id.hex()}, fed, inv)
    garden.later_than(bakery).add("policy.set", {"federation": fed.id.hex(), "policy": {
        "max_mandate_days": 90, "max_consecutive_terms": 2, "method": "consent"}}, fed)
    ana = Coop(store, 5, "Ana's phone")
    proof = ana.key.sign(key_proof_message(garden.id)).hex()
    garden.add("key.add", {"identity": garden.id.hex(), "key": ana.id.hex(),
                           "power": "delegate", "label": "Ana", "proof": proof})
    md = garden.add("mandate.issue", {
        "federation": fed.id.hex(), "title": "Delegate to Riverside", "delegate": "Ana",
        "key": ana.id.hex(), "scope": "Offer hours for the Garden.",
        "actions": [{"do": "transfer", "unit": "hour", "max": "5"}],
        "start": START, "expires": END, "sunset": "Hand over the notes."}, fed)
    offer = {"federation": fed.id.hex(), "to": bakery.id.hex(), "purpose": "harvest",
             "unit": "hour", "expires": END + DAY}
    ok = ana.add("transfer.offer", {**offer, "amount": "3"}, fed, md, ts=START + 1_000)
    over = ana.add("transfer.offer", {**offer, "amount": "8"}, fed, md, ts=START + 2_000)
    rc = garden.add("mandate.recall", {"mandate": md.id.hex(), "reason": "We changed "
                                       "our minds."}, md, ts=START + 2 * DAY)
    late = ana.add("transfer.offer", {**offer, "amount": "1"}, fed, md,
                   ts=START + 3 * DAY)
    rep = ana.add("mandate.report", {"mandate": md.id.hex(), "report": "I offered 3 "
                                     "hours."}, md, ts=START + 4 * DAY)
    vd = garden.add("mandate.verdict", {"mandate": md.id.hex(), "verdict": "exceeded",
                                        "note": "The second offer was too big."}, md,
                    ts=START + 5 * DAY)
    own = garden.add("mandate.issue", {
        "title": "Talk to the council", "delegate": "Ben", "scope": "Ask for the plot.",
        "actions": [], "start": START, "expires": START + 10 * DAY,
        "sunset": "Write it up."}, ts=START + 5 * DAY + 1)
    treas = garden.add("role.assign", {"role": "Treasurer", "holder": "Ana",
                                       "from": START, "until": START + 20 * DAY})
    renew = garden.add("role.renew", {"assignment": treas.id.hex(),
                                      "until": START + 60 * DAY}, treas)
    ben = garden.add("role.assign", {"role": "treasurer", "holder": "Ben",
                                     "from": START + 10 * DAY, "until": START + 40 * DAY})
    cleo = bakery.later_than(garden).add("role.assign", {
        "federation": fed.id.hex(), "role": "Facilitator", "holder": "Cleo",
        "from": START, "until": START + 30 * DAY}, fed)
    return {"garden": garden, "bakery": bakery, "ana": ana, "fed": fed, "md": md,
            "ok": ok, "over": over, "rc": rc, "late": late, "rep": rep, "vd": vd,
            "own": own, "treas": treas, "renew": renew, "ben": ben, "cleo": cleo}


def answer(store: Store, view: str, me: Coop | None = None, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=None if me is None else me.id)


def titles(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["title"], r["status"]) for r in doc["mandates"]]


def test_mandates_by_body_and_status_at(store: Store, world: dict[str, Any]) -> None:
    garden = world["garden"]
    at = str(START + DAY)
    doc = answer(store, "mandates", garden, as_of=at)
    assert doc["as_of"] == START + DAY
    assert titles(doc) == [("Delegate to Riverside", "active"),
                           ("Talk to the council", "active")]
    row = doc["mandates"][0]
    assert row["body_kind"] == "federation" and row["body_name"] == "Riverside"
    assert row["issuer_name"] == "Hillside Garden" and row["key"] == world["ana"].id.hex()
    assert row["actions"] == [{"do": "transfer", "unit": "hour", "max": "5"}]
    assert (row["recalled"], row["reports"], row["verdict"]) == (
        START + 2 * DAY, 1, "exceeded")
    later = answer(store, "mandates", garden, as_of=str(START + 3 * DAY))
    assert titles(later) == [("Delegate to Riverside", "recalled"),
                             ("Talk to the council", "active")]
    assert titles(answer(store, "mandates", garden, as_of=str(START + 10 * DAY),
                         active="true")) == []
    assert titles(answer(store, "mandates", as_of=at, federation="Riverside")) == [
        ("Delegate to Riverside", "active")]
    assert titles(answer(store, "mandates", as_of=at, coop="Corner Bakery")) == []
    # Bakery's point of view: Riverside's mandates, not Garden's own assembly.
    assert titles(answer(store, "mandates", world["bakery"], as_of=at)) == [
        ("Delegate to Riverside", "active")]
    assert answer(store, "mandates", garden, as_of=str(START - 1))["mandates"][0][
        "status"] == "pending"


def test_one_mandate_in_full(store: Store, world: dict[str, Any]) -> None:
    md = world["md"]
    doc = answer(store, "mandate", mandate=md.id.hex()[:10], as_of=str(START))
    assert doc["id"] == md.id.hex() and doc["scope"] == "Offer hours for the Garden."
    assert doc["recall"] == {"id": world["rc"].id.hex(), "ts": START + 2 * DAY,
                             "reason": "We changed our minds."}
    assert doc["reports"] == [{"id": world["rep"].id.hex(), "ts": START + 4 * DAY,
                               "report": "I offered 3 hours."}]
    assert doc["verdict"] == {"id": world["vd"].id.hex(), "verdict": "exceeded",
                              "note": "The second offer was too big."}
    under = {r["id"]: (r["kind"], r["valid"], r["code"]) for r in doc["entries"]}
    assert under == {
        world["ok"].id.hex(): ("transfer.offer", True, None),
        world["over"].id.hex(): ("transfer.offer", False, "outside-mandate"),
        world["late"].id.hex(): ("transfer.offer", False, "mandate-recalled"),
        world["rc"].id.hex(): ("mandate.recall", True, None),
        world["rep"].id.hex(): ("mandate.report", True, None),
        world["vd"].id.hex(): ("mandate.verdict", True, None),
    }


def test_roles_holders_and_rotation(store: Store, world: dict[str, Any]) -> None:
    garden = world["garden"]
    doc = answer(store, "roles", garden, as_of=str(START + 25 * DAY))
    held = {(r["role"], r["holder"], r["until"]) for r in doc["holders"]}
    assert held == {("Treasurer", "Ana", START + 60 * DAY),
                    ("treasurer", "Ben", START + 40 * DAY),
                    ("Facilitator", "Cleo", START + 30 * DAY)}
    rotation = {(r["role"].casefold(), r["holder"]): r["terms"] for r in doc["rotation"]}
    assert rotation == {("treasurer", "Ana"): 2, ("treasurer", "Ben"): 1,
                        ("facilitator", "Cleo"): 1}
    # At START + 30 days Cleo's term has ended (until is exclusive).
    at_30 = answer(store, "roles", garden, as_of=str(START + 30 * DAY))
    assert sorted(r["holder"] for r in at_30["holders"]) == ["Ana", "Ben"]
    assert [r["holder"] for r in answer(store, "roles", as_of=str(START + 25 * DAY),
                                        federation="Riverside")["holders"]] == ["Cleo"]
    # Before the renewal's time the term in force ended at START + 20 days.
    early = answer(store, "roles", garden, as_of=str(START))
    ana = next(r for r in early["assignments"] if r["holder"] == "Ana")
    assert ana["until"] == START + 20 * DAY and ana["holds"] is True
    assert ana["end"] == START + 60 * DAY and ana["renewals"] == 1


def test_policy_of_a_federation_and_of_a_coop(store: Store, world: dict[str, Any]) -> None:
    doc = answer(store, "policy", federation="Riverside")
    assert doc["policy"] == {"max_mandate_days": 90, "max_consecutive_terms": 2,
                             "method": "consent"}
    assert doc["default"] is False and len(doc["history"]) == 1
    own = answer(store, "policy", world["garden"])
    assert own["body_name"] == "Hillside Garden" and own["default"] is True
    assert own["policy"] == own["defaults"] == {
        "max_mandate_days": 365, "max_consecutive_terms": 0, "method": "consent"}
    assert answer(store, "policy", coop="Corner Bakery")["body"] == world["bakery"].id.hex()


def test_bad_parameters(store: Store, world: dict[str, Any]) -> None:
    cases: list[tuple[Callable[[], object], str, int]] = [
        (lambda: answer(store, "mandates", active="yes"), "active", 400),
        (lambda: answer(store, "mandates", as_of="yesterday"), "as_of", 400),
        (lambda: answer(store, "mandates", federation="Nowhere"), "federation", 404),
        (lambda: answer(store, "mandates", coop="Nobody"), "coop", 404),
        (lambda: answer(store, "mandates", open="true"), "open", 400),
        (lambda: answer(store, "mandate", mandate="abc"), "mandate", 400),
        (lambda: answer(store, "mandate", mandate=world["fed"].id.hex()), "mandate", 404),
        (lambda: answer(store, "roles", active="true"), "active", 400),
        (lambda: answer(store, "policy"), "coop", 400),
        (lambda: answer(store, "policy", coop="Corner Bakery", federation="Riverside"),
         "coop", 400),
    ]
    for call, field, status in cases:
        with pytest.raises(LookupFailed) as exc:
            call()
        assert (exc.value.field, exc.value.status) == (field, status)


# ------------------------------------------------------------------------ through the API

@pytest.fixture
async def client(store: Store, world: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(store, world["garden"].id, TOKEN) as c:
        yield c


async def test_the_api_serves_the_same_documents(client: httpx.AsyncClient, store: Store,
                                                 world: dict[str, Any]) -> None:
    garden, md = world["garden"], world["md"]
    at = str(START + DAY)
    r = await client.get("/v1/mandates", params={"as_of": at})
    assert r.status_code == 200 and r.json() == answer(store, "mandates", garden, as_of=at)
    r = await client.get(f"/v1/mandates/{md.id.hex()[:12]}", params={"as_of": at})
    assert r.status_code == 200
    assert r.json() == answer(store, "mandate", mandate=md.id.hex(), as_of=at)
    r = await client.get("/v1/roles", params={"as_of": at, "federation": "Riverside"})
    assert r.status_code == 200
    assert r.json() == answer(store, "roles", as_of=at, federation="Riverside")
    r = await client.get("/v1/policy", params={"federation": "Riverside"})
    assert r.status_code == 200 and r.json()["policy"]["max_mandate_days"] == 90
    r = await client.get("/v1/policy")
    assert r.status_code == 200 and r.json()["body"] == garden.id.hex()
    r = await client.get("/v1/mandates", params={"active": "maybe"})
    assert r.status_code == 400
    r = await client.get("/v1/mandates/zz")
    assert r.status_code == 400
    params = {p["name"] for p in OPENAPI["paths"]["/v1/mandates"]["get"]["parameters"]}
    assert params == {"coop", "federation", "as_of", "active"}
    assert OPENAPI["paths"]["/v1/mandates/{mandate}"]["get"]["parameters"][0]["in"] == \
        "path"
