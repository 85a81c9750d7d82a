"""`coop federation`, `coop transfer`, `coop balance` and the other economy commands,
run as a user would (main() in-process), between two homes that swap bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, this_month, user_error
from fake_node import serving

from coopledger.cli import _transfer
from coopledger.cli._federation import default_rules
from coopledger.node import Home
from coopledger.protocol.commons import DEFAULT_RULES


def swap(run: Run, src: Path, dst: Path) -> None:
    """Carry everything ``src`` holds to ``dst`` by bundle."""
    file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
    file.unlink(missing_ok=True)
    ok(run("bundle", "export", file, "--home", src))
    ok(run("bundle", "import", file, "--home", dst))


def new_id(r: Any) -> str:
    return str(ok(r).json()["id"])


@pytest.fixture
def fed(run: Run, garden: Path, tmp_path: Path, once: BuildOnce) -> dict[str, Any]:
    """Garden founds Riverside; Corner Bakery is invited and joins; both hold it all."""
    def build() -> dict[str, Any]:
        bakery = tmp_path / "bakery"
        ok(run("init", "--name", "Corner Bakery", "--home", bakery))
        swap(run, bakery, garden)
        fid = new_id(run("federation", "create", "--name", "Riverside", "--charter",
                         "We share.", "--json", "--home", garden))
        ok(run("federation", "invite", "--federation", "Riverside", "--coop", "Corner Bakery",
               "--home", garden))
        swap(run, garden, bakery)
        ok(run("federation", "join", "--federation", "Riverside", "--home", bakery))
        swap(run, bakery, garden)
        return {"garden": garden, "bakery": bakery, "fed": fid}

    return once("test_federation.fed", build)


def offer(run: Run, home: Path, *args: str) -> Any:
    return run("transfer", "offer", "--federation", "Riverside", "--to", "Corner Bakery",
               "--for", "oven repair", *args, "--home", home)


def test_create_writes_the_default_rules(run: Run, garden: Path) -> None:
    r = ok(run("federation", "create", "--name", "Lakeside", "--charter", "Hello.",
               "--json", "--home", garden))
    entry = r.json()
    assert entry["kind"] == "federation.create" and entry["refs"] == []
    assert entry["body"]["rules"] == default_rules() == DEFAULT_RULES.to_value()


def test_create_with_options(run: Run, garden: Path, tmp_path: Path) -> None:
    charter = tmp_path / "charter.md"
    charter.write_text("We share\ntools.\n", encoding="utf-8")
    r = ok(run("federation", "create", "--name", "Lakeside", "--charter-file", charter,
               "--unit", "hour:h:2:time", "--unit", "credit:cr:1:credit:100",
               "--credit-limit", "hour=60", "--fund-share", "0.25",
               "--offer-expiry-days", "7", "--json", "--home", garden))
    rules = r.json()["body"]["rules"]
    assert rules == {"units": [
        {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time", "credit_limit": "60"},
        {"name": "credit", "symbol": "cr", "decimals": 1, "kind": "credit",
         "credit_limit": "100"}], "fund_share": "0.25", "offer_expiry_days": 7}
    user_error(run("federation", "create", "--name", "X", "--charter", "c", "--unit",
                   "kg:kg:3:mass", "--credit-limit", "kg=5", "--home", garden), 2,
               "--credit-limit", "only time and credit units")
    user_error(run("federation", "create", "--name", "X", "--home", garden), 2, "--charter")


def test_show_lists_then_shows(run: Run, fed: dict[str, Any]) -> None:
    listed = ok(run("federation", "show", "--json", "--home", fed["bakery"])).json()
    assert [(f["name"], f["role"], f["members"]) for f in listed["federations"]] == [
        ("Riverside", "member", 2)]
    shown = ok(run("federation", "show", fed["fed"][:8], "--json", "--home",
                   fed["garden"])).json()
    assert shown["name"] == "Riverside" and shown["founder_name"] == "Hillside Garden"
    assert sorted(m["coop_name"] for m in shown["members"]) == [
        "Corner Bakery", "Hillside Garden"]
    text = ok(run("federation", "show", "Riverside", "--home", fed["garden"])).out
    assert "We share." in text and "Corner Bakery" in text and "2 members" in text
    csv = ok(run("federation", "show", "--csv", "--home", fed["garden"])).out
    assert csv.splitlines()[0] == "federation,name,role,invite,founder,founder_name," \
                                  "members,created"


def test_an_invitee_sees_its_invite_and_joins_by_id(run: Run, fed: dict[str, Any],
                                                    tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    ok(run("init", "--name", "Fab Lab", "--home", lab))
    swap(run, lab, fed["garden"])
    inv = new_id(run("federation", "invite", "--federation", "Riverside", "--coop",
                     "Fab Lab", "--json", "--home", fed["garden"]))
    swap(run, fed["garden"], lab)
    listed = ok(run("federation", "show", "--json", "--home", lab)).json()["federations"]
    assert (listed[0]["role"], listed[0]["invite"]) == ("invited", inv)
    entry = ok(run("federation", "join", "--invite", inv[:10], "--json", "--home", lab)).json()
    assert entry["body"] == {"federation": fed["fed"], "invite": inv}
    assert sorted(entry["refs"]) == sorted([fed["fed"], inv])


def test_offer_accept_and_balance(run: Run, fed: dict[str, Any]) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    entry = ok(offer(run, garden, "--amount", "5", "--unit", "hour", "--item",
                     "bread:12:loaf", "--json")).json()
    assert entry["refs"] == [fed["fed"]]
    assert entry["body"]["items"] == [{"item": "bread", "quantity": "12", "unit": "loaf"}]
    assert entry["body"]["expires"] - entry["ts"] == pytest.approx(14 * 86_400_000, abs=5_000)
    swap(run, garden, bakery)
    listed = ok(run("transfer", "list", "--open", "--json", "--home", bakery)).json()
    assert [(t["direction"], t["status"]) for t in listed["transfers"]] == [("in", "open")]
    r = ok(run("transfer", "accept", entry["id"][:8], "--home", bakery))
    assert "Recorded transfer.accept" in r.out
    rows = ok(run("balance", "--json", "--home", bakery)).json()["balances"]
    assert {r["coop_name"]: (r["balance"], r["available"]) for r in rows} == {
        "Corner Bakery": ("5", "45"), "Hillside Garden": ("-5", "35")}
    csv = ok(run("balance", "--csv", "--home", bakery)).out.splitlines()
    assert csv[0] == "federation,federation_name,unit,coop,coop_name,balance,reserved," \
                     "limit,available"
    # twice: refused before anything is written
    user_error(run("transfer", "accept", entry["id"][:8], "--home", bakery), 1,
               "already accepted")
    user_error(run("transfer", "decline", entry["id"][:8], "--home", bakery), 1,
               "already accepted")
    # only the receiver accepts
    user_error(run("transfer", "accept", entry["id"][:8], "--home", garden), 1,
               "not to your co-op")


@pytest.mark.parametrize("args,code,words", [
    (("--amount", "5.125", "--unit", "hour"), 1, ("--amount", "3 decimal places", "at most 2")),
    (("--amount", "5", "--unit", "litre"), 1, ("--unit", "no unit 'litre'", "hour")),
    (("--amount", "five", "--unit", "hour"), 2, ("--amount", "not a decimal")),
    (("--amount", "-1", "--unit", "hour"), 2, ("--amount", "more than 0")),
    (("--amount", "5",), 2, ("--amount and --unit",)),
    ((), 2, ("--amount",)),
    (("--item", "bread"), 2, ("--item", "ITEM:QUANTITY:UNIT")),
    (("--amount", "1", "--unit", "hour", "--expires-in", "soon"), 2, ("--expires-in",)),
])
def test_offer_refuses_bad_input(run: Run, fed: dict[str, Any], args: tuple[str, ...],
                                 code: int, words: tuple[str, ...]) -> None:
    with Home.open(fed["garden"]).open_store() as store:
        before = store.count()
    user_error(offer(run, fed["garden"], *args), code, *words)
    with Home.open(fed["garden"]).open_store() as store:
        assert store.count() == before


def test_unknown_and_ambiguous_names(run: Run, fed: dict[str, Any]) -> None:
    garden = fed["garden"]
    user_error(run("transfer", "offer", "--federation", "Lakeside", "--to", "Corner Bakery",
                   "--amount", "1", "--unit", "hour", "--for", "x", "--home", garden), 1,
               "--federation", "no federation named 'Lakeside'")
    user_error(run("balance", "--federation", "Lakeside", "--home", garden), 1,
               "--federation", "Lakeside")
    user_error(run("transfer", "accept", "abcd", "--home", garden), 1, "at least 8 hex")
    user_error(run("transfer", "accept", "00000000", "--home", garden), 1, "no offer")
    ok(run("federation", "create", "--name", "Riverside", "--charter", "Again.",
           "--home", garden))
    user_error(run("balance", "--federation", "Riverside", "--home", garden), 1,
               "2 federations are named 'Riverside'", "id prefix")


def test_not_a_member(run: Run, fed: dict[str, Any], tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    ok(run("init", "--name", "Fab Lab", "--home", lab))
    swap(run, fed["garden"], lab)
    user_error(run("transfer", "offer", "--federation", "Riverside", "--to", "Corner Bakery",
                   "--amount", "1", "--unit", "hour", "--for", "x", "--home", lab), 1,
               "your co-op is not a member of federation 'Riverside'")
    swap(run, lab, fed["garden"])
    user_error(run("transfer", "offer", "--federation", "Riverside", "--to", "Fab Lab",
                   "--amount", "1", "--unit", "hour", "--for", "x", "--home", fed["garden"]),
               1, "--to", "Fab Lab (", "is not a member")
    user_error(run("federation", "invite", "--federation", "Riverside", "--coop",
                   "Corner Bakery", "--home", fed["garden"]), 1, "already a member")


def test_an_expired_offer_cannot_be_accepted(run: Run, fed: dict[str, Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    e = ok(offer(run, garden, "--amount", "1", "--unit", "hour", "--expires-in", "1h",
                 "--json")).json()
    swap(run, garden, bakery)
    later = e["body"]["expires"] + 1
    listed = ok(run("transfer", "list", "--as-of", later, "--json", "--home", bakery)).json()
    assert listed["transfers"][0]["status"] == "lapsed"
    monkeypatch.setattr(_transfer, "now_ms", lambda: later)  # two hours on
    user_error(run("transfer", "accept", e["id"][:8], "--home", bakery), 1, "expired at")
    ok(run("transfer", "decline", e["id"][:8], "--home", bakery))


def test_the_node_and_the_store_give_the_same_json(run: Run, fed: dict[str, Any]) -> None:
    garden = fed["garden"]
    ok(offer(run, garden, "--amount", "2", "--unit", "hour"))
    views = [("balance", "--as-of", "2030-01-01"), ("transfer", "list", "--as-of", "1"),
             ("federation", "show"), ("federation", "show", "Riverside"),
             ("surplus", "board", "--federation", "Riverside", "--as-of", "2030-01-01"),
             ("fund", "show", "--federation", "Riverside", "--as-of", "2030-01-01"),
             ("exceptions",), ("metrics", "--federation", "Riverside", "--period", "2026-11")]
    direct = [ok(run(*v, "--json", "--home", garden)).json() for v in views]
    with serving(garden) as node:
        through = [ok(run(*v, "--json", "--home", garden)).json() for v in views]
        user_error(run("balance", "--federation", "Lakeside", "--home", garden), 1,
                   "--federation", "Lakeside")
        # writing goes through the node too, refs included
        entry = ok(offer(run, garden, "--amount", "1", "--unit", "hour", "--json")).json()
        assert entry["refs"] == [fed["fed"]]
    assert node.calls.count("query") == len(views) + 1 and "append" in node.calls
    assert through == direct


def test_surplus_sprint_fund_need_and_outside_work(run: Run, fed: dict[str, Any]) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    # The federation counts its members from the day it was made (now), so the month
    # of the outside work and the metrics is this one.
    month = this_month()
    so = new_id(run("surplus", "offer", "--federation", "Riverside", "--what", "goods",
                    "--item", "Apples", "--quantity", "80", "--unit", "kg", "--until",
                    "2099-11-30", "--json", "--home", garden))
    swap(run, garden, bakery)
    sr = new_id(run("surplus", "request", "--federation", "Riverside", "--item", "apples",
                    "--quantity", "30", "--unit", "kg", "--until", "2099-11-30", "--json",
                    "--home", bakery))
    swap(run, bakery, garden)
    board = ok(run("surplus", "board", "--federation", "Riverside", "--json", "--home",
                   garden)).json()
    assert board["matches"] == [{"offer": so, "request": sr}]
    user_error(run("sprint", "allocate", "--offer", so[:8], "--request", sr[:8],
                   "--quantity", "31", "--sprint", "2099-11", "--home", garden), 1,
               "only 30 kg of the request")
    alloc = ok(run("sprint", "allocate", "--offer", so[:8], "--request", sr[:8],
                   "--quantity", "30", "--sprint", "2099-11", "--json", "--home",
                   garden)).json()
    assert sorted(alloc["refs"]) == sorted([so, sr])
    ok(run("fund", "surplus", "--federation", "Riverside", "--period", month,
           "--amount", "120", "--unit", "hour", "--home", garden))
    ok(run("fund", "contribute", "--federation", "Riverside", "--period", month,
           "--amount", "12", "--unit", "hour", "--home", garden))
    user_error(run("fund", "contribute", "--federation", "Riverside", "--period", "2026-13",
                   "--amount", "1", "--unit", "hour", "--home", garden), 2, "--period")
    grant = new_id(run("fund", "grant", "--federation", "Riverside", "--to", "Corner Bakery",
                       "--experiment", "sourdough", "--amount", "10", "--unit", "hour",
                       "--report-due", "2027-03-31", "--json", "--home", garden))
    user_error(run("fund", "report", "--grant", grant[:8], "--outcome", "mixed",
                   "--report", "ok", "--home", garden), 1, "not to your co-op")
    fund = ok(run("fund", "show", "--federation", "Riverside", "--json", "--home",
                  garden)).json()
    assert fund["contributions"][0]["due"] == "12"
    assert fund["balances"] == [{"unit": "hour", "balance": "2"}]
    need = new_id(run("need", "declare", "--federation", "Riverside", "--category", "food",
                      "--quantity", "200", "--unit", "kg", "--period", month, "--json",
                      "--home", garden))
    entry = ok(run("need", "met", "--need", need[:8], "--where", "inside", "--quantity",
                   "150", "--json", "--home", garden)).json()
    assert entry["refs"] == [need]
    out = ok(run("log", "outside", "--member", "ana", "--hours", "60", "--period", month,
                 "--json", "--home", garden)).json()
    assert out["kind"] == "labor.outside" and out["body"]["hours"] == "60"
    figures = ok(run("metrics", "--federation", "Riverside", "--period", month, "--json",
                     "--home", garden)).json()
    assert (figures["outside_hours"], figures["period"]) == ("60", month)
    assert figures["needs"][0]["category"] == "food"
    user_error(run("log", "outside", "--member", "ana", "--hours", "800", "--period",
                   month, "--home", garden), 2, "--hours", "744")


def test_leave_and_rules(run: Run, fed: dict[str, Any]) -> None:
    user_error(run("federation", "rules", "--federation", "Riverside", "--fund-share", "0.2",
                   "--home", fed["bakery"]), 1, "only the founder")
    entry = ok(run("federation", "rules", "--federation", "Riverside", "--credit-limit",
                   "hour=80", "--json", "--home", fed["garden"])).json()
    assert entry["body"]["rules"]["units"][0]["credit_limit"] == "80"
    ok(run("federation", "leave", "--federation", "Riverside", "--home", fed["bakery"]))
    user_error(run("federation", "leave", "--federation", "Riverside", "--home",
                   fed["bakery"]), 1, "not a member")
    shown = json.loads(ok(run("federation", "show", "Riverside", "--json", "--home",
                              fed["bakery"])).out)
    assert [m["coop_name"] for m in shown["past_members"]] == ["Corner Bakery"]
