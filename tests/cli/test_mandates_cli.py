"""`coop mandate …`, `coop role …` and `coop policy …`, run as a user would (main()
in-process), between homes that swap bundles: Hillside Garden mandates Ana (with her
own delegate key, in her own home) to Riverside, recalls her, hears her report and
gives its verdict; roles are assigned, renewed and ended; Riverside's founder sets its
policy; and every view is the same through a running node."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, user_error
from fake_node import serving

from coopledger.node import Home
from coopledger.node import _views_table as views_table

DAY = 86_400_000


def sync(run: Run, *homes: Path) -> None:
    """Every home ends up holding everything the others hold."""
    for src, dst in itertools.permutations(homes, 2):
        file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
        file.unlink(missing_ok=True)
        ok(run("bundle", "export", file, "--home", src))
        ok(run("bundle", "import", file, "--home", dst))


@pytest.fixture
def homes(run: Run, garden: Path, tmp_path: Path, once: BuildOnce) -> dict[str, Any]:
    """Riverside: Hillside Garden (founder) and Corner Bakery; Ana's home holds a
    delegate key of the Garden. All hold it all."""
    def build() -> dict[str, Any]:
        bakery, ana = tmp_path / "bakery", tmp_path / "ana"
        ok(run("init", "--name", "Corner Bakery", "--home", bakery))
        # Ana's own home: a new key of the Garden (coop init --for), added as a delegate key.
        ok(run("init", "--name", "Ana", "--for", Home.open(garden).author.hex(), "--home", ana))
        key = Home.open(ana).author.hex()
        ask = ok(run("key", "request", "--power", "delegate", "--home", ana)).out
        proof = ask.split("--proof ")[1].split()[0]
        ok(run("key", "add", key, "--power", "delegate", "--label", "Ana", "--proof", proof,
               "--home", garden))
        sync(run, garden, bakery, ana)
        ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
               "--home", garden))
        ok(run("federation", "invite", "--federation", "Riverside", "--coop", "Corner Bakery",
               "--home", garden))
        sync(run, garden, bakery)
        ok(run("federation", "join", "--federation", "Riverside", "--home", bakery))
        sync(run, garden, bakery, ana)
        return {"garden": garden, "bakery": bakery, "ana": ana, "key": key}

    return once("test_mandates_cli.homes", build)


def issue(run: Run, home: Path, *args: object) -> Any:
    return run("mandate", "issue", "--title", "Delegate to Riverside", "--delegate", "Ana",
               "--scope", "Offer hours for us.", "--sunset", "Hand over the notes.",
               *args, "--home", home)


def test_issue_writes_the_body(run: Run, homes: dict[str, Any]) -> None:
    garden, key = homes["garden"], homes["key"]
    entry = ok(issue(run, garden, "--federation", "Riverside", "--key", key[:10],
                     "--allow", "transfer:5:hour", "--allow", "surplus", "--start",
                     "2030-01-01", "--expires", "2030-03-31", "--note", "by the assembly",
                     "--json")).json()
    body = entry["body"]
    assert entry["kind"] == "mandate.issue" and entry["refs"] == [body["federation"]]
    start = 1_893_456_000_000  # 2030-01-01T00:00Z
    assert body == {
        "federation": body["federation"], "title": "Delegate to Riverside",
        "delegate": "Ana", "key": key, "scope": "Offer hours for us.",
        "actions": [{"do": "transfer", "max": "5", "unit": "hour"}, {"do": "surplus"}],
        "start": start, "expires": start + 90 * DAY, "sunset": "Hand over the notes.",
        "note": "by the assembly"}
    r = ok(issue(run, garden, "--days", "10"))
    assert "Recorded mandate.issue" in r.out and "mandate id:" in r.out


def test_issue_refuses_what_the_fold_would_refuse(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery = homes["garden"], homes["bakery"]
    bakery_key = Home.open(bakery).author.hex()
    user_error(issue(run, garden), 1, "--expires", "--days")
    user_error(issue(run, garden, "--days", "10", "--expires", "2030-01-01"), 1, "--days")
    user_error(issue(run, garden, "--days", "366"), 1, "365 days")
    user_error(issue(run, garden, "--days", "10", "--allow", "dance"), 1, "--allow",
               "dance")
    user_error(issue(run, garden, "--days", "10", "--allow", "surplus:3"), 1, "--allow")
    user_error(issue(run, garden, "--days", "10", "--allow", "transfer:-1:hour"), 2,
               "--allow", "more than 0")
    user_error(issue(run, garden, "--days", "10", "--allow", "transfer:1:Big Hours"), 1,
               "--allow", "unit")
    user_error(issue(run, garden, "--days", "10", "--key", bakery_key[:10]), 1, "--key",
               "no key of your co-op")
    user_error(issue(run, garden, "--days", "10", "--key",
                     Home.open(garden).author.hex()[:10]), 1, "--key", "not a delegate key")
    user_error(issue(run, garden, "--days", "10", "--federation", "Nowhere"), 1,
               "--federation")
    user_error(issue(run, garden, "--start", "2030-02-01", "--expires", "2030-01-01"), 1,
               "--expires", "later than the start")
    user_error(issue(run, garden, "--days", "10", "--title", " "), 1, "--title")
    with Home.open(garden).open_store() as store:
        assert not [e for e in store.entries(kind="mandate.issue")]


def mandate_id(run: Run, homes: dict[str, Any], *args: object) -> str:
    return str(ok(issue(run, homes["garden"], "--federation", "Riverside", "--key",
                        homes["key"][:10], "--allow", "transfer:5:hour", "--days", "30",
                        *args, "--json")).json()["id"])


def test_list_show_recall_report_verdict(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery, ana = homes["garden"], homes["bakery"], homes["ana"]
    mid = mandate_id(run, homes)
    r = ok(run("mandate", "list", "--home", garden))
    assert f"{mid[:8]}  Delegate to Riverside: Ana, key {homes['key'][:8]}  " \
           "[federation Riverside]  ACTIVE" in r.out
    assert "may: transfer up to 5 hour" in r.out
    user_error(run("mandate", "verdict", mid[:10], "kept", "--home", garden), 1,
               "after a report")
    sync(run, garden, bakery, ana)
    user_error(run("mandate", "recall", mid[:10], "--reason", "No.", "--home", bakery), 1,
               "only the co-op that issued")
    user_error(run("mandate", "recall", "00000000", "--reason", "No.", "--home", garden),
               1, "MANDATE")
    ok(run("mandate", "recall", mid[:10], "--reason", "The assembly chose Ben.",
           "--home", garden))
    user_error(run("mandate", "recall", mid[:10], "--reason", "Again.", "--home", garden),
               1, "already recalled")
    user_error(run("mandate", "renew", mid[:10], "--days", "30", "--home", garden), 1,
               "recalled")
    sync(run, garden, ana)
    # Ana reports from her own home, with her delegate key: it acts for the Garden.
    rep = ok(run("mandate", "report", mid[:10], "--text", "I offered nothing yet.",
                 "--json", "--home", ana)).json()
    assert rep["author"] == homes["key"] and rep["refs"] == [mid]
    sync(run, garden, ana)
    ok(run("mandate", "verdict", mid[:10], "kept", "--note", "Thanks, Ana.",
           "--home", garden))
    r = ok(run("mandate", "list", "--home", garden))
    assert "RECALLED" in r.out
    assert ok(run("mandate", "list", "--active", "--home", garden)).out.strip() == \
        "No mandates in force."
    show = ok(run("mandate", "show", mid[:10], "--home", garden)).out
    for text in ("RECALLED", "The assembly chose Ben.", "report", "I offered nothing yet.",
                 "verdict: kept (Thanks, Ana.)", "Entries that name it:",
                 "mandate.report", "valid"):
        assert text in show, text
    doc = ok(run("mandate", "show", mid[:10], "--json", "--home", garden)).json()
    assert doc["status"] == "recalled" and doc["verdict"]["verdict"] == "kept"
    # --as-of before the recall: it was active then.
    past = ok(run("mandate", "list", "--as-of", str(doc["start"]), "--json",
                  "--home", garden)).json()
    assert [m["status"] for m in past["mandates"]] == ["active"]


def test_renew(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery = homes["garden"], homes["bakery"]
    mid = mandate_id(run, homes)
    user_error(run("mandate", "renew", mid[:10], "--days", "10", "--home", garden), 1,
               "later than the current one")
    user_error(run("mandate", "renew", mid[:10], "--days", "400", "--home", garden), 1,
               "365 days")
    sync(run, garden, bakery)
    user_error(run("mandate", "renew", mid[:10], "--days", "60", "--home", bakery), 1,
               "only the co-op that issued")
    e = ok(run("mandate", "renew", mid[:10], "--days", "60", "--json", "--home",
               garden)).json()
    assert e["body"]["mandate"] == mid and e["refs"] == [mid]
    doc = ok(run("mandate", "show", mid[:10], "--json", "--home", garden)).json()
    assert doc["expires"] == e["body"]["expires"] and len(doc["renewals"]) == 1


def test_policy_set_show_and_term_limit_warning(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery = homes["garden"], homes["bakery"]
    r = ok(run("policy", "show", "--home", garden))
    assert "Policy of the assembly of Hillside Garden (the defaults: never set)" in r.out
    user_error(run("policy", "set", "--home", garden), 1, "--max-mandate-days")
    user_error(run("policy", "set", "--method", "lottery", "--home", garden), 1, "--method")
    user_error(run("policy", "set", "--max-terms", "21", "--home", garden), 1, "--max-terms")
    ok(run("policy", "set", "--federation", "Riverside", "--max-mandate-days", "30",
           "--max-terms", "1", "--home", garden))
    sync(run, garden, bakery)
    user_error(run("policy", "set", "--federation", "Riverside", "--method", "majority",
                   "--home", bakery), 1, "founder")
    doc = ok(run("policy", "show", "--federation", "Riverside", "--json",
                 "--home", bakery)).json()
    assert doc["policy"] == {"max_mandate_days": 30, "max_consecutive_terms": 1,
                             "method": "consent"}
    out = ok(run("policy", "show", "--federation", "Riverside", "--home", bakery)).out
    assert "longest mandate or role term: 30 days" in out
    assert "consecutive terms before a flag: 1" in out
    user_error(issue(run, garden, "--federation", "Riverside", "--days", "31"), 1,
               "30 days")
    first = ok(issue(run, garden, "--federation", "Riverside", "--days", "30"))
    assert "Warning" not in first.err
    second = ok(issue(run, garden, "--federation", "Riverside", "--days", "30"))
    assert "Warning: this is Ana's term 2 in a row as 'Delegate to Riverside'; the " \
           "policy allows 1." in second.err
    # The fold flags it and keeps it valid.
    mid = second.out.split("mandate id: ")[1].strip()
    doc = ok(run("mandate", "show", mid[:10], "--json", "--home", garden)).json()
    assert doc["term"] == 2 and [f["code"] for f in doc["flags"]] == ["term-limit"]


def test_roles(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery = homes["garden"], homes["bakery"]
    e = ok(run("role", "assign", "treasurer", "--holder", "Ana", "--days", "100",
               "--json", "--home", garden)).json()
    assert e["kind"] == "role.assign" and e["refs"] == []
    assert e["body"]["until"] - e["body"]["from"] == 100 * DAY
    ok(run("role", "assign", "Treasurer", "--holder", "Ben", "--days", "50",
           "--home", garden))
    ok(run("role", "assign", "facilitator", "--holder", "Cleo", "--federation", "Riverside",
           "--from", "2021-01-01", "--until", "2021-12-31", "--home", garden))
    user_error(run("role", "assign", "auditor", "--holder", "Dee", "--days", "400",
                   "--home", garden), 1, "365 days")
    user_error(run("role", "assign", "auditor", "--holder", "Dee", "--home", garden), 1,
               "--until", "--days")
    r = ok(run("role", "list", "--home", garden))
    assert "treasurer: Ana holds it" in r.out and "Treasurer: Ben holds it" in r.out
    assert "Cleo" not in r.out.split("Rotation")[0]   # her term ended in 2021
    assert "  facilitator: Cleo 1  [federation Riverside]" in r.out
    aid = e["id"]
    ok(run("role", "renew", aid[:10], "--days", "200", "--home", garden))
    sync(run, garden, bakery)
    user_error(run("role", "end", aid[:10], "--home", bakery), 1, "only the co-op")
    ok(run("role", "end", aid[:10], "--note", "Ana stepped down.", "--home", garden))
    user_error(run("role", "renew", aid[:10], "--days", "300", "--home", garden), 1,
               "has ended")
    doc = ok(run("role", "list", "--json", "--home", garden)).json()
    assert [h["holder"] for h in doc["holders"]] == ["Ben"]
    terms = {(r["role"].casefold(), r["holder"]): r["terms"] for r in doc["rotation"]}
    assert terms == {("treasurer", "Ana"): 2, ("treasurer", "Ben"): 1,
                     ("facilitator", "Cleo"): 1}
    every = ok(run("role", "list", "--all", "--home", garden)).out
    assert "treasurer: Ana does not hold it" in every


def test_views_are_the_same_through_a_running_node(run: Run, homes: dict[str, Any]) -> None:
    garden = homes["garden"]
    mid = mandate_id(run, homes)
    ok(run("role", "assign", "treasurer", "--holder", "Ana", "--days", "100",
           "--home", garden))
    h = Home.open(garden)
    with h.open_store() as store:
        offline = {
            "mandates": views_table.answer(store, "mandates", {"as_of": "1"}, me=h.author),
            "mandate": views_table.answer(store, "mandate", {"mandate": mid, "as_of": "1"},
                                      me=h.author),
            "roles": views_table.answer(store, "roles", {"as_of": "1"}, me=h.author),
            "policy": views_table.answer(store, "policy", {}, me=h.author),
        }
    with serving(garden) as node:
        assert ok(run("mandate", "list", "--as-of", "1", "--json", "--home", garden)
                  ).json() == offline["mandates"]
        assert ok(run("mandate", "show", mid, "--as-of", "1", "--json", "--home", garden)
                  ).json() == offline["mandate"]
        assert ok(run("role", "list", "--as-of", "1", "--json", "--home", garden)
                  ).json() == offline["roles"]
        assert ok(run("policy", "show", "--json", "--home", garden)).json() == \
            offline["policy"]
        user_error(run("mandate", "show", "zz", "--home", garden), 1, "mandate")
        assert "query" in node.calls   # the views came through the node


def test_a_delegate_offers_hours_under_her_mandate(run: Run, homes: dict[str, Any]) -> None:
    garden, bakery, ana, key = homes["garden"], homes["bakery"], homes["ana"], homes["key"]
    mid = ok(issue(run, garden, "--federation", "Riverside", "--key", key[:10], "--allow",
                   "transfer:5:hour", "--days", "30", "--json")).json()["id"]
    sync(run, garden, ana)
    offers = []
    for hours in ("4", "6"):  # within the mandate's maximum, then over it
        e = ok(run("transfer", "offer", "--federation", "Riverside", "--to", "Corner Bakery",
                   "--amount", hours, "--unit", "hour", "--for", "oven repair",
                   "--mandate", mid[:10], "--json", "--home", ana)).json()
        assert e["author"] == key and mid in e["refs"]
        offers.append(e["id"])
    sync(run, garden, bakery, ana)
    listed = ok(run("transfer", "list", "--open", "--json", "--home", bakery)).json()
    # The first counts as the Garden's offer; the second is refused on every node.
    assert [(t["id"], t["from_name"]) for t in listed["transfers"]] == [
        (offers[0], "Hillside Garden")]
    invalid = ok(run("exceptions", "--json", "--home", bakery)).json()["invalid"]
    assert [(i["entry"], i["code"]) for i in invalid] == [(offers[1], "outside-mandate")]
    user_error(run("transfer", "offer", "--federation", "Riverside", "--to", "Corner Bakery",
                   "--amount", "1", "--unit", "hour", "--for", "x", "--mandate", "00000000",
                   "--home", ana), 1, "--mandate")
