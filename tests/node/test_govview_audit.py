"""The audit and misconduct views (node/_govview_audit.py) on a real store, and the same
documents through the local API in-process: circles with who was drawn and who
reported, reports with their checks and the checkpoint's witnesses, one co-op's page,
and the misconduct list (complaints, findings, sanctions in force, forks)."""

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
from coopledger.node._govview_audit import current_quarters
from coopledger.protocol import create_entry

QUARTER = "2027-Q1"
DAY = 86_400_000
TOKEN = "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


def _sync(*coops: Coop) -> None:
    t = max(c.ts for c in coops)
    for c in coops:
        c.ts = t


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Garden founds Riverside with Bakery, Mill and Smithy. Garden announces a lottery
    drawing two of the others (distinct co-ops) and names it for the circle auditing
    Garden this quarter; Bakery and Mill give the beacons. Garden publishes a checkpoint;
    both drawn co-ops cosign it and report (one check fails in the second report)."""
    garden, bakery, mill, smithy = (Coop(store, 1, "Hillside Garden"),
                                    Coop(store, 2, "Corner Bakery"),
                                    Coop(store, 3, "Old Mill"), Coop(store, 4, "Smithy"))
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    for c in (bakery, mill, smithy):
        inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                               "invitee": c.id.hex()}, fed)
        _sync(garden, c)
        c.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
              fed, inv)
    _sync(garden, bakery, mill, smithy)
    people = [{"name": n, "coop": c.id.hex()} for c, n in
              ((bakery, "Chen"), (mill, "Eli"), (smithy, "Ivo"))]
    lot = garden.add("lottery.announce", {
        "federation": fed.id.hex(), "purpose": "audit circle", "pool": people,
        "seats": 2, "beacons": 2, "mode": "draw", "distinct_coops": True}, fed)
    circle = garden.add("audit.circle", {
        "federation": fed.id.hex(), "coop": garden.id.hex(), "period": QUARTER,
        "lottery": lot.id.hex(), "note": "the first circle"}, fed, lot)
    for c in (bakery, mill):
        _sync(garden, c)
        c.add("lottery.beacon", {"lottery": lot.id.hex()}, lot)
    eco = store.state().economy()
    draw = eco.gov.lotteries.by_id[lot.id].draw
    assert draw is not None
    by_id = {c.id: c for c in (bakery, mill, smithy)}
    drawn = [by_id[p.coop] for p in draw.people()]
    rest = next(c for c in (bakery, mill, smithy) if c not in drawn)
    cp = garden.add("checkpoint", {})
    cosigns = []
    reports = []
    for n, c in enumerate(drawn):
        _sync(garden, c)
        cosigns.append(c.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}))
        checks = [{"name": "chains-and-signatures", "ok": True,
                   "detail": "every entry checks"},
                  {"name": "balances-reconcile", "ok": n == 0}]
        body: dict[str, Any] = {"circle": circle.id.hex(), "checkpoint": cp.id.hex(),
                                "checks": checks, "summary": f"Report {n + 1}."}
        if n:
            body["findings"] = ["The fund balance is 2 h off."]
        reports.append(c.add("audit.report", body, circle, cp))
    _sync(garden, bakery, mill, smithy)
    complaint = bakery.add("complaint", {"federation": fed.id.hex(),
                                         "against": garden.id.hex(),
                                         "text": "Our ladder was not returned."}, fed)
    finding = mill.add("finding", {"federation": fed.id.hex(), "about": garden.id.hex(),
                                   "text": "The ladder was kept 3 months.",
                                   "complaint": complaint.id.hex()}, fed, complaint)
    _sync(garden, bakery, mill, smithy)
    sanction = smithy.add("sanction", {"federation": fed.id.hex(),
                                       "against": garden.id.hex(),
                                       "finding": finding.id.hex(),
                                       "measure": "No tool loans for 30 days.",
                                       "expires": smithy.ts + 1_000 + 30 * DAY},
                          fed, finding)
    return {"garden": garden, "bakery": bakery, "mill": mill, "smithy": smithy,
            "fed": fed, "lot": lot, "circle": circle, "drawn": drawn, "rest": rest,
            "cp": cp, "cosigns": cosigns, "reports": reports, "complaint": complaint,
            "finding": finding, "sanction": sanction}


def answer(store: Store, view: str, me: Coop | None = None, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=None if me is None else me.id)


def test_current_quarters() -> None:
    assert current_quarters(T0) == (QUARTER, "2026-Q4")


def test_circles(store: Store, world: dict[str, Any]) -> None:
    rows = answer(store, "audit_circles")["circles"]
    assert answer(store, "audit_circles", federation="Riverside")["circles"] == rows
    assert answer(store, "audit_circles", coop="Hillside Garden", period=QUARTER
                  )["circles"] == rows
    assert answer(store, "audit_circles", coop="Old Mill")["circles"] == []
    assert answer(store, "audit_circles", period="2026-Q4")["circles"] == []
    [row] = rows
    c = world["circle"]
    assert {k: row[k] for k in ("id", "federation_name", "coop", "coop_name", "period",
                                "lottery", "author_name", "ts", "note", "status",
                                "beacons_counted", "beacons_needed")} == {
        "id": c.id.hex(), "federation_name": "Riverside",
        "coop": world["garden"].id.hex(), "coop_name": "Hillside Garden",
        "period": QUARTER, "lottery": world["lot"].id.hex(),
        "author_name": "Hillside Garden", "ts": c.ts, "note": "the first circle",
        "status": "drawn", "beacons_counted": 2, "beacons_needed": 2}
    assert [a["coop"] for a in row["auditors"]] == [x.id.hex() for x in world["drawn"]]
    assert [a["report"] for a in row["auditors"]] == [
        r.id.hex() for r in world["reports"]]
    assert row["reports"] == 2


def test_reports_and_one_report(store: Store, world: dict[str, Any]) -> None:
    rows = answer(store, "audit_reports")["reports"]
    assert [r["id"] for r in rows] == [r.id.hex() for r in world["reports"]]
    first, second = rows
    assert (first["passed"], first["checks_passed"], first["checks_failed"]) == (
        True, 2, [])
    assert (second["passed"], second["checks_passed"], second["checks_failed"]) == (
        False, 1, ["balances-reconcile"])
    assert first["checkpoint"]["id"] == world["cp"].id.hex()
    assert first["checkpoint"]["log_name"] == "Hillside Garden"
    assert first["checkpoint"]["size"] == world["cp"].seq - 1
    assert first["auditor"] == world["drawn"][0].id.hex()
    assert answer(store, "audit_reports", circle=world["circle"].id.hex()[:10]
                  )["reports"] == rows
    assert answer(store, "audit_reports", coop="Old Mill")["reports"] == []
    doc = answer(store, "audit_report", report=second["id"][:12])
    assert doc["checks"] == [
        {"name": "chains-and-signatures", "ok": True, "detail": "every entry checks"},
        {"name": "balances-reconcile", "ok": False, "detail": None}]
    assert doc["findings"] == ["The fund balance is 2 h off."]
    assert doc["summary"] == "Report 2."
    assert sorted(w["witness"] for w in doc["witnesses"]) == sorted(
        x.id.hex() for x in world["drawn"])
    assert doc["circle_detail"]["id"] == world["circle"].id.hex()


def test_one_coop(store: Store, world: dict[str, Any]) -> None:
    garden, s = world["garden"], world["sanction"]
    doc = answer(store, "audit_coop", coop="Hillside Garden", as_of=str(s.ts + DAY))
    assert doc["coop"] == garden.id.hex() and doc["keys"] == [garden.id.hex()]
    assert doc["current_quarters"] == [QUARTER, "2026-Q4"]
    assert [c["id"] for c in doc["circles"]] == [world["circle"].id.hex()]
    assert sorted((w["witness"], w["size"], w["in_current_circle"])
                  for w in doc["witnesses"]) == sorted(
        (x.id.hex(), world["cp"].seq - 1, True) for x in world["drawn"])
    assert [c["id"] for c in doc["complaints"]] == [world["complaint"].id.hex()]
    assert doc["complaints"][0]["findings"] == [world["finding"].id.hex()]
    assert [f["id"] for f in doc["findings"]] == [world["finding"].id.hex()]
    assert doc["findings"][0]["sanctions"] == [s.id.hex()]
    assert [(x["id"], x["in_force"]) for x in doc["sanctions"]] == [(s.id.hex(), True)]
    later = answer(store, "audit_coop", coop=garden.id.hex()[:10],
                   as_of=str(s.ts + 31 * DAY))
    assert [x["in_force"] for x in later["sanctions"]] == [False]
    assert doc["forks"] == [] and doc["broken"] == []
    assert doc["passed_recently"] is True
    other = answer(store, "audit_coop", coop="Old Mill", as_of=str(s.ts))
    assert other["circles"] == other["complaints"] == other["sanctions"] == []
    # A year on, the circle is no longer current: its witnesses are still listed.
    old = answer(store, "audit_coop", coop="Hillside Garden", as_of=str(T0 + 365 * DAY))
    assert [w["in_current_circle"] for w in old["witnesses"]] == [False, False]
    assert old["passed_recently"] is False


def test_misconduct_with_a_fork(store: Store, world: dict[str, Any]) -> None:
    s = world["sanction"]
    doc = answer(store, "misconduct", as_of=str(s.ts))
    assert [c["id"] for c in doc["complaints"]] == [world["complaint"].id.hex()]
    assert doc["complaints"][0]["by_name"] == "Corner Bakery"
    assert doc["complaints"][0]["against_name"] == "Hillside Garden"
    assert [f["id"] for f in doc["findings"]] == [world["finding"].id.hex()]
    assert [(x["id"], x["in_force"]) for x in doc["sanctions"]] == [(s.id.hex(), True)]
    assert doc["sanctions_in_force"] == 1 and doc["forks"] == []
    before = answer(store, "misconduct", as_of=str(s.ts - 1))
    assert before["sanctions_in_force"] == 0
    assert answer(store, "misconduct", coop="Old Mill", as_of=str(s.ts))["complaints"] == []
    # The Smithy signs a second entry at the seq of its last one: a fork, shown here.
    smithy = world["smithy"]
    head = store.state().authors[smithy.id]
    prev = store.get(head.head) if head.head else None
    assert prev is not None
    twin = create_entry(smithy.key, seq=prev.seq, prev=prev.prev, ts=prev.ts,
                        kind="x.note", body={"text": "the other story"})
    store.add_entries([twin])
    forked = answer(store, "misconduct", as_of=str(s.ts))
    assert [(f["key_name"], f["seq"]) for f in forked["forks"]] == [("Smithy", prev.seq)]
    assert {forked["forks"][0]["a"], forked["forks"][0]["b"]} == {prev.id.hex(),
                                                                 twin.id.hex()}
    page = answer(store, "audit_coop", coop="Smithy", as_of=str(s.ts))
    assert [f["seq"] for f in page["forks"]] == [prev.seq]


def test_bad_parameters(store: Store, world: dict[str, Any]) -> None:
    cases: list[tuple[Callable[[], Any], str, int]] = [
        (lambda: answer(store, "audit_report", report="ab"), "report", 400),
        (lambda: answer(store, "audit_report", report="00000000"), "report", 404),
        (lambda: answer(store, "audit_circles", period="2027-Q5"), "period", 400),
        (lambda: answer(store, "audit_circles", period="2027-01"), "period", 400),
        (lambda: answer(store, "audit_circles", federation="Nowhere"), "federation", 404),
        (lambda: answer(store, "audit_reports", circle="00000000"), "circle", 404),
        (lambda: answer(store, "audit_coop", coop="Nobody"), "coop", 404),
        (lambda: answer(store, "misconduct", as_of="yesterday"), "as_of", 400),
        (lambda: answer(store, "misconduct", colour="red"), "colour", 400),
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
    at = str(world["sanction"].ts)
    r = await client.get("/v1/audit/circles")
    assert r.status_code == 200 and r.json() == answer(store, "audit_circles")
    r = await client.get("/v1/audit/reports", params={"federation": "Riverside"})
    assert r.status_code == 200
    assert r.json() == answer(store, "audit_reports", federation="Riverside")
    r = await client.get("/v1/audit/coops/Hillside%20Garden", params={"as_of": at})
    assert r.status_code == 200
    assert r.json() == answer(store, "audit_coop", coop="Hillside Garden", as_of=at)
    r = await client.get("/v1/misconduct", params={"as_of": at})
    assert r.status_code == 200 and r.json() == answer(store, "misconduct", as_of=at)
    r = await client.get("/v1/audit/reports/zz")
    assert r.status_code == 400
    r = await client.get("/v1/audit/circles", params={"period": "soon"})
    assert r.status_code == 400
    assert OPENAPI["paths"]["/v1/audit/reports/{report}"]["get"]["parameters"][0][
        "in"] == "path"
    params = {p["name"] for p in OPENAPI["paths"]["/v1/misconduct"]["get"]["parameters"]}
    assert params == {"federation", "coop", "as_of"}
