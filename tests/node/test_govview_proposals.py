"""The proposal views (node/_govview_proposals.py) on a real store, and the same
documents through the local API in-process: proposals by body, one proposal in full
(amendments, positions and their status, the count, the decision, refused entries),
the searchable decision archive and minutes, and parameter errors."""

from __future__ import annotations

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

TOKEN = "cd" * 32
POLICY = {"max_mandate_days": 365, "max_consecutive_terms": 0}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden founds Riverside with Bakery and Mill; Riverside decides by Dowdall.

    - Garden's assembly adopts "Buy a cargo bike" (Ana agrees, Ben abstains) and keeps
      minutes of its assembly;
    - Bakery proposes "Market day" (options Monday, Thursday) to Riverside; Mill amends
      it; Garden ranks Thursday first, Mill Monday (3/2 each: the tie goes to the lower
      option, Monday); an outsider's position is refused; Garden records Monday;
    - Bakery proposes "Shared van" to Riverside: still open;
    - Riverside's minutes by Mill.
    """
    garden, bakery, mill = (Coop(store, 1, "Hillside Garden"), Coop(store, 2, "Corner Bakery"),
                            Coop(store, 3, "Old Mill"))
    outsider = Coop(store, 4, "Far Away")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    for c in (bakery, mill):
        inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                               "invitee": c.id.hex()}, fed)
        c.later_than(garden).add("federation.join", {"federation": fed.id.hex(),
                                                     "invite": inv.id.hex()}, fed, inv)
    garden.later_than(bakery, mill).add("policy.set", {
        "federation": fed.id.hex(), "policy": {**POLICY, "method": "dowdall"}}, fed)
    bike = garden.add("proposal.create", {"title": "Buy a cargo bike",
                                          "text": "One cargo bike for deliveries."})
    ana = garden.add("position", {"proposal": bike.id.hex(), "stance": "agree",
                                  "member": "Ana", "reason": "Saves the van trips."}, bike)
    ben = garden.add("position", {"proposal": bike.id.hex(), "stance": "abstain",
                                  "member": "Ben"}, bike)
    bike_d = garden.add("decision", {"proposal": bike.id.hex(), "outcome": "adopted",
                                     "summary": "We buy a second-hand cargo bike."}, bike)
    garden_min = garden.add("minutes", {"date": "2027-01-15", "title": "January assembly",
                                        "text": "Seven present. The bike was adopted."})
    market = bakery.later_than(garden).add("proposal.create", {
        "federation": fed.id.hex(), "title": "Market day",
        "text": "A shared market stall once a week.", "options": ["Monday", "Thursday"]},
        fed)
    amended = mill.later_than(bakery).add("proposal.amend", {
        "proposal": market.id.hex(), "text": "A shared stall once a week, from March."},
        market)
    g_pos = garden.later_than(mill).add("position", {
        "proposal": market.id.hex(), "stance": "agree", "ranking": [1, 0]}, market)
    m_pos = mill.later_than(garden).add("position", {
        "proposal": market.id.hex(), "stance": "agree", "ranking": [0, 1]}, market)
    refused = outsider.later_than(mill).add("position", {
        "proposal": market.id.hex(), "stance": "block"}, market)
    market_d = garden.later_than(outsider).add("decision", {
        "proposal": market.id.hex(), "outcome": "adopted", "option": 0,
        "summary": "Market day is Monday, from March."}, market, g_pos, m_pos)
    van = bakery.later_than(garden).add("proposal.create", {
        "federation": fed.id.hex(), "title": "Shared van",
        "text": "Bakery lends its van on Fridays."}, fed)
    fed_min = mill.later_than(bakery).add("minutes", {
        "federation": fed.id.hex(), "date": "2027-02-01", "title": "Riverside assembly",
        "text": "Market day: Monday. The van question stays open."}, fed)
    return {"garden": garden, "bakery": bakery, "mill": mill, "outsider": outsider,
            "fed": fed, "bike": bike, "ana": ana, "ben": ben, "bike_d": bike_d,
            "garden_min": garden_min, "market": market, "amended": amended,
            "g_pos": g_pos, "m_pos": m_pos, "refused": refused, "market_d": market_d,
            "van": van, "fed_min": fed_min}


def answer(store: Store, view: str, me: Coop | None = None, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=None if me is None else me.id)


def titles(doc: dict[str, Any], key: str) -> list[str]:
    return [r["title"] for r in doc[key]]


def test_proposals_by_body(store: Store, world: dict[str, Any]) -> None:
    garden, bakery = world["garden"], world["bakery"]
    # A node's own view: its assembly and its federations.
    assert titles(answer(store, "proposals", garden), "proposals") == [
        "Buy a cargo bike", "Market day", "Shared van"]
    assert titles(answer(store, "proposals", garden, coop="Hillside Garden"),
                  "proposals") == ["Buy a cargo bike"]
    assert titles(answer(store, "proposals", federation="Riverside"), "proposals") == [
        "Market day", "Shared van"]
    assert titles(answer(store, "proposals", federation="Riverside", open="true"),
                  "proposals") == ["Shared van"]
    assert titles(answer(store, "proposals", federation="Riverside",
                         coop=bakery.id.hex()[:10]), "proposals") == [
        "Market day", "Shared van"]
    assert titles(answer(store, "proposals", federation="Riverside", coop="Old Mill"),
                  "proposals") == []
    assert titles(answer(store, "proposals", world["outsider"]), "proposals") == []
    rows = {r["title"]: r for r in answer(store, "proposals")["proposals"]}  # offline: all
    assert rows["Buy a cargo bike"] == {
        "id": world["bike"].id.hex(), "title": "Buy a cargo bike",
        "body": garden.id.hex(), "body_kind": "coop", "body_name": "Hillside Garden",
        "proposer": garden.id.hex(), "proposer_name": "Hillside Garden", "ts": world["bike"].ts,
        "options": [], "cascade": None, "group": None, "amendments": 0, "positions": 2,
        "status": "adopted", "count": {"method": "consent", "outcome": "adopted",
                                       "option": None},
        "decision": world["bike_d"].id.hex()}
    assert rows["Shared van"]["status"] == "open"
    assert rows["Shared van"]["count"] == {"method": "dowdall", "outcome": "rejected",
                                           "option": None}
    assert rows["Market day"]["body_name"] == "Riverside"


def test_one_proposal_in_full(store: Store, world: dict[str, Any]) -> None:
    market = world["market"]
    doc = answer(store, "proposal", proposal=market.id.hex()[:8])
    assert doc["text"] == "A shared market stall once a week."
    assert doc["current_text"] == "A shared stall once a week, from March."
    assert [(a["id"], a["by_name"]) for a in doc["amendments"]] == [
        (world["amended"].id.hex(), "Old Mill")]
    assert [(p["coop_name"], p["stance"], p["ranking"], p["status"])
            for p in doc["positions"]] == [
        ("Hillside Garden", "agree", [1, 0], "counted"),
        ("Old Mill", "agree", [0, 1], "counted")]
    count = doc["count"]
    assert count["method"] == "dowdall" and (count["outcome"], count["option"]) == (
        "adopted", 0)
    assert count["option_name"] == "Monday"
    assert count["scores"] == [
        {"option": 0, "name": "Monday", "score": "3/2", "approx": "1.5000"},
        {"option": 1, "name": "Thursday", "score": "3/2", "approx": "1.5000"}]
    assert sorted(count["positions"]) == sorted(
        [world["g_pos"].id.hex(), world["m_pos"].id.hex()])
    d = doc["decision"]
    assert (d["id"], d["outcome"], d["option_name"], d["differs"], d["by_name"]) == (
        world["market_d"].id.hex(), "adopted", "Monday", False, "Hillside Garden")
    assert doc["flags"] == []
    assert [(r["id"], r["code"]) for r in doc["refused"]] == [
        (world["refused"].id.hex(), "not-a-member")]


def test_an_open_proposal_shows_the_count_it_would_get_now(
        store: Store, world: dict[str, Any]) -> None:
    doc = answer(store, "proposal", proposal=world["van"].id.hex())
    assert doc["decision"] is None and doc["status"] == "open"
    assert doc["count"]["method"] == "dowdall" and doc["count"]["outcome"] == "rejected"
    assert doc["positions"] == [] and doc["refused"] == []


def test_a_flagged_decision_shows_its_flag(store: Store, world: dict[str, Any]) -> None:
    garden = world["garden"]
    p = garden.add("proposal.create", {"title": "Close on Sundays", "text": "We rest."})
    block = garden.add("position", {"proposal": p.id.hex(), "stance": "block",
                                    "member": "Chi"}, p)
    d = garden.add("decision", {"proposal": p.id.hex(), "outcome": "adopted",
                                "summary": "Closed on Sundays anyway."}, p, block)
    doc = answer(store, "proposal", proposal=p.id.hex())
    assert doc["decision"]["differs"] is True
    assert [(f["code"], f["entry"]) for f in doc["flags"]] == [
        ("outcome-differs", d.id.hex())]
    assert "consent count says rejected" in doc["flags"][0]["detail"]


def test_the_decision_archive_is_searchable(store: Store, world: dict[str, Any]) -> None:
    garden = world["garden"]
    every = answer(store, "decisions")
    assert [r["title"] for r in every["decisions"]] == ["Market day", "Buy a cargo bike"]
    row = every["decisions"][0]
    assert (row["proposal"], row["id"], row["summary"], row["body_name"]) == (
        world["market"].id.hex(), world["market_d"].id.hex(),
        "Market day is Monday, from March.", "Riverside")
    # All words must match, case-folded, over title, summary and the amended text.
    assert titles(answer(store, "decisions", q="MONDAY march"), "decisions") == [
        "Market day"]
    assert titles(answer(store, "decisions", q="stall"), "decisions") == ["Market day"]
    assert titles(answer(store, "decisions", q="monday bike"), "decisions") == []
    assert titles(answer(store, "decisions", q="second-hand"), "decisions") == [
        "Buy a cargo bike"]
    assert titles(answer(store, "decisions", garden, coop="Hillside Garden"),
                  "decisions") == ["Buy a cargo bike"]
    assert titles(answer(store, "decisions", federation="Riverside", coop="Corner Bakery"),
                  "decisions") == []         # Garden recorded it, not Bakery
    assert answer(store, "decisions", q="bike")["q"] == "bike"


def test_minutes_are_searchable(store: Store, world: dict[str, Any]) -> None:
    every = answer(store, "minutes")
    assert titles(every, "minutes") == ["Riverside assembly", "January assembly"]
    assert every["minutes"][1] == {
        "id": world["garden_min"].id.hex(), "body": world["garden"].id.hex(),
        "body_kind": "coop", "body_name": "Hillside Garden",
        "by": world["garden"].id.hex(), "by_name": "Hillside Garden",
        "date": "2027-01-15", "title": "January assembly",
        "text": "Seven present. The bike was adopted.", "ts": world["garden_min"].ts}
    assert titles(answer(store, "minutes", q="van"), "minutes") == ["Riverside assembly"]
    assert titles(answer(store, "minutes", federation="Riverside"), "minutes") == [
        "Riverside assembly"]
    assert titles(answer(store, "minutes", world["bakery"]), "minutes") == [
        "Riverside assembly"]


def test_a_cascade(store: Store, world: dict[str, Any]) -> None:
    garden, bakery, mill, fed = world["garden"], world["bakery"], world["mill"], world["fed"]
    people = [{"name": n, "coop": c.id.hex()} for c, n in
              ((garden, "Ana"), (garden, "Bo"), (bakery, "Chen"), (bakery, "Dee"),
               (mill, "Eli"), (mill, "Fa"), (mill, "Gil"))]
    lot = garden.later_than(mill).add("lottery.announce", {
        "federation": fed.id.hex(), "purpose": "market rules", "pool": people,
        "seats": 1, "beacons": 1, "mode": "groups"}, fed)
    waiting = answer(store, "cascade", cascade=lot.id.hex()[:10])
    assert (waiting["drawn"], waiting["groups"], waiting["ready"]) == (False, [], False)
    assert waiting["beacons"] == {"needed": 1, "counted": 0} and waiting["people"] == 7
    b = bakery.later_than(garden).add("lottery.beacon", {"lottery": lot.id.hex()}, lot)
    groups = answer(store, "cascade", cascade=lot.id.hex())["groups"]
    assert [len(g["people"]) for g in groups] == [4, 3]
    coops = [{p["coop"] for p in g["people"]} for g in groups]
    # A co-op that drafts for a group it is in, and one in the other group to amend.
    drafter = next(c for c in (garden, bakery, mill) if c.id.hex() in coops[0])
    amender = next(c for c in (garden, bakery, mill)
                   if c.id.hex() in coops[1] and c is not drafter)
    draft = drafter.later_than(bakery).add("proposal.create", {
        "federation": fed.id.hex(), "title": "Stalls rotate", "text": "Weekly.",
        "cascade": lot.id.hex(), "group": 0}, fed, lot, b)
    doc = answer(store, "cascade", cascade=lot.id.hex())
    assert doc["groups"][0]["drafts"][0]["decidable"] is False and not doc["ready"]
    am = amender.later_than(drafter).add("proposal.amend", {
        "proposal": draft.id.hex(), "text": "Fortnightly."}, draft)
    doc = answer(store, "cascade", cascade=lot.id.hex())
    d0 = doc["groups"][0]["drafts"][0]
    assert d0["id"] == draft.id.hex() and d0["decidable"] is True
    assert [(a["id"], a["group"]) for a in d0["amendments"]] == [(am.id.hex(), 1)]
    assert doc["groups"][1]["drafts"] == [] and doc["ready"] is False
    assert (doc["drafts"], doc["amended"], doc["decided"]) == (1, 1, 0)
    assert doc["body_name"] == "Riverside" and doc["announcer_name"] == "Hillside Garden"


def test_bad_parameters(store: Store, world: dict[str, Any]) -> None:
    cases: list[tuple[Callable[[], object], str, int]] = [
        (lambda: answer(store, "proposals", open="yes"), "open", 400),
        (lambda: answer(store, "proposals", federation="Nowhere"), "federation", 404),
        (lambda: answer(store, "proposals", coop="Nobody"), "coop", 404),
        (lambda: answer(store, "proposals", q="bike"), "q", 400),
        (lambda: answer(store, "proposal", proposal="abc"), "proposal", 400),
        (lambda: answer(store, "proposal", proposal="0" * 16), "proposal", 404),
        (lambda: answer(store, "proposal", proposal=world["fed"].id.hex()), "proposal",
         404),
        (lambda: answer(store, "decisions", q="x" * 201), "q", 400),
        (lambda: answer(store, "minutes", open="true"), "open", 400),
        (lambda: answer(store, "cascade", cascade=world["market"].id.hex()), "cascade",
         404),
    ]
    for call, field, status in cases:
        with pytest.raises(LookupFailed) as exc:
            call()
        assert (exc.value.field, exc.value.status) == (field, status)


# ------------------------------------------------------------------------ through the API

@pytest.fixture
async def client(store: Store, world: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(store, world["mill"].id, TOKEN) as c:
        yield c


async def test_the_api_serves_the_same_documents(client: httpx.AsyncClient, store: Store,
                                                 world: dict[str, Any]) -> None:
    mill, market = world["mill"], world["market"]
    r = await client.get("/v1/proposals")
    assert r.status_code == 200 and r.json() == answer(store, "proposals", mill)
    assert titles(r.json(), "proposals") == ["Market day", "Shared van"]
    r = await client.get(f"/v1/proposals/{market.id.hex()[:12]}")
    assert r.status_code == 200
    assert r.json() == answer(store, "proposal", proposal=market.id.hex())
    r = await client.get("/v1/decisions", params={"q": "monday", "federation": "Riverside"})
    assert r.status_code == 200
    assert r.json() == answer(store, "decisions", q="monday", federation="Riverside")
    r = await client.get("/v1/minutes", params={"coop": "Hillside Garden"})
    assert r.status_code == 200 and titles(r.json(), "minutes") == ["January assembly"]
    r = await client.get("/v1/proposals/zz")
    assert r.status_code == 400
    r = await client.get("/v1/decisions", params={"sort": "new"})
    assert r.status_code == 400
    params = {p["name"] for p in OPENAPI["paths"]["/v1/decisions"]["get"]["parameters"]}
    assert params == {"coop", "federation", "q"}
    assert OPENAPI["paths"]["/v1/proposals/{proposal}"]["get"]["parameters"][0]["in"] == \
        "path"
