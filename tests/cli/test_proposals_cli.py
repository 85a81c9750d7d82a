"""`coop proposal`, `coop decision`, `coop minutes` and `coop cascade`, run as a user
would (main() in-process), in one co-op's assembly and between two homes of a
federation that swap bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, user_error
from fake_node import serving

from coopledger.node import Home


def swap(run: Run, src: Path, dst: Path) -> None:
    file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
    file.unlink(missing_ok=True)
    ok(run("bundle", "export", file, "--home", src))
    ok(run("bundle", "import", file, "--home", dst))


def new_id(r: Any) -> str:
    return str(ok(r).json()["id"])


@pytest.fixture
def fed(run: Run, garden: Path, tmp_path: Path, once: BuildOnce) -> dict[str, Path]:
    """Garden founds Riverside; Corner Bakery joins; both hold everything."""
    def build() -> dict[str, Path]:
        bakery = tmp_path / "bakery"
        ok(run("init", "--name", "Corner Bakery", "--home", bakery))
        swap(run, bakery, garden)
        ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
               "--home", garden))
        ok(run("federation", "invite", "--federation", "Riverside", "--coop", "Corner Bakery",
               "--home", garden))
        swap(run, garden, bakery)
        ok(run("federation", "join", "--federation", "Riverside", "--home", bakery))
        swap(run, bakery, garden)
        return {"garden": garden, "bakery": bakery}

    return once("test_proposals_cli.fed", build)


def test_an_assembly_decides_by_the_count(run: Run, garden: Path, tmp_path: Path) -> None:
    text = tmp_path / "bike.md"
    text.write_text("One cargo bike for deliveries,\nup to 3000 EUR.\n", encoding="utf-8")
    created = ok(run("proposal", "create", "--title", "Buy a cargo bike", "--text-file",
                     text, "--json", "--home", garden)).json()
    pid = created["id"]
    assert created["kind"] == "proposal.create" and created["refs"] == []
    assert created["body"] == {"title": "Buy a cargo bike",
                               "text": "One cargo bike for deliveries,\nup to 3000 EUR."}
    a = ok(run("proposal", "position", pid[:8], "--stance", "agree", "--member", "Ana",
               "--reason", "Saves the van trips.", "--json", "--home", garden)).json()
    assert a["body"] == {"proposal": pid, "stance": "agree", "member": "Ana",
                         "reason": "Saves the van trips."} and a["refs"] == [pid]
    ok(run("proposal", "position", pid[:8], "--stance", "abstain", "--member", "Ben",
           "--home", garden))
    r = ok(run("proposal", "decide", pid[:8], "--summary", "We buy a second-hand bike.",
               "--json", "--home", garden))
    decision = r.json()
    assert decision["body"]["outcome"] == "adopted"                  # consent: no block
    assert r.err == "note: no --outcome: recording what the consent count says: adopted " \
                    "(agree 1, disagree 0, block 0, abstain 1)\n"
    assert len(decision["refs"]) == 3 and pid in decision["refs"]     # + the two positions
    shown = ok(run("proposal", "show", pid[:8], "--home", garden)).out
    assert "Buy a cargo bike  (Hillside Garden (assembly)" in shown
    assert "  One cargo bike for deliveries,\n  up to 3000 EUR." in shown
    assert "Count (consent): agree 1, disagree 0, block 0, abstain 1 -> adopted" in shown
    assert "Decision: adopted by Hillside Garden" in shown
    assert "We buy a second-hand bike." in shown
    listed = ok(run("proposal", "list", "--json", "--home", garden)).json()
    assert [(p["title"], p["status"]) for p in listed["proposals"]] == [
        ("Buy a cargo bike", "adopted")]
    assert ok(run("proposal", "list", "--open", "--json", "--home", garden)).json() == {
        "proposals": []}
    out = ok(run("decision", "list", "--search", "SECOND-HAND bike", "--home", garden)).out
    assert "Hillside Garden (assembly): Buy a cargo bike -> adopted" in out
    out = ok(run("decision", "list", "--search", "tractor", "--home", garden)).out
    assert out == "No decisions match 'tractor'.\n"
    user_error(run("proposal", "decide", pid[:8], "--summary", "Again.", "--home", garden),
               1, "already decided")
    late = ok(run("proposal", "position", pid[:8], "--stance", "block", "--member", "Chi",
                  "--home", garden))
    assert "recorded as late and does not count" in late.err
    doc = ok(run("proposal", "show", pid, "--json", "--home", garden)).json()
    assert [p["status"] for p in doc["positions"]] == ["counted", "counted", "late"]


def test_a_decision_against_the_count_is_recorded_and_flagged(run: Run, garden: Path) -> None:
    pid = new_id(run("proposal", "create", "--title", "Close on Sundays", "--text",
                     "We rest.", "--json", "--home", garden))
    ok(run("proposal", "position", pid[:8], "--stance", "block", "--member", "Chi",
           "--home", garden))
    r = ok(run("proposal", "decide", pid[:8], "--outcome", "adopted", "--summary",
               "Closed on Sundays anyway.", "--home", garden))
    assert "note: the consent count says rejected; this decision is recorded and " \
           "flagged outcome-differs" in r.err
    shown = ok(run("proposal", "show", pid[:8], "--home", garden)).out
    assert "Flagged outcome-differs: proposal" in shown
    out = ok(run("decision", "list", "--home", garden)).out
    assert "Close on Sundays -> adopted  [differs from the count]" in out


def test_a_federation_proposal_with_options(run: Run, fed: dict[str, Path]) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    pid = new_id(run("proposal", "create", "--federation", "Riverside", "--title",
                     "Market day", "--text", "A shared stall once a week.", "--option",
                     "Monday", "--option", "Thursday", "--json", "--home", bakery))
    user_error(run("proposal", "amend", pid[:8], "--text", "Mine.", "--home", bakery), 1,
               "another member amends it")
    ok(run("proposal", "position", pid[:8], "--stance", "agree", "--rank", "thursday",
           "--rank", "0", "--home", bakery))
    swap(run, bakery, garden)
    amended = ok(run("proposal", "amend", pid[:8], "--text", "A shared stall, from March.",
                     "--json", "--home", garden)).json()
    assert amended["refs"] == [pid]
    ok(run("proposal", "position", pid[:8], "--stance", "agree", "--rank", "Thursday",
           "--home", garden))
    user_error(run("proposal", "position", pid[:8], "--stance", "agree", "--rank",
                   "Sunday", "--home", garden), 1, "--rank", "not an option",
               "0 Monday, 1 Thursday")
    d = ok(run("proposal", "decide", pid[:8], "--summary", "Thursdays, from March.",
               "--json", "--home", garden)).json()
    # consent adopts; Dowdall picks Thursday (1 + 1 against 1/2).
    assert (d["body"]["outcome"], d["body"]["option"]) == ("adopted", 1)
    swap(run, garden, bakery)
    doc = ok(run("proposal", "show", pid[:8], "--json", "--home", bakery)).json()
    assert doc["current_text"] == "A shared stall, from March."
    assert doc["count"]["option_name"] == "Thursday" and doc["flags"] == []
    assert [s["score"] for s in doc["count"]["scores"]] == ["1/2", "2"]
    shown = ok(run("proposal", "show", pid[:8], "--home", bakery)).out
    assert "Options: 0 Monday; 1 Thursday" in shown
    assert "Dowdall: Monday 1/2 (0.5000); Thursday 2 (2.0000)" in shown
    assert "Decision: adopted (Thursday) by Hillside Garden" in shown
    listed = ok(run("decision", "list", "--federation", "Riverside", "--json", "--home",
                    bakery)).json()
    assert [r["option_name"] for r in listed["decisions"]] == ["Thursday"]
    mine = ok(run("decision", "list", "--coop", "Corner Bakery", "--json", "--home",
                  bakery)).json()
    assert mine["decisions"] == []   # Bakery's own assembly decided nothing


def test_who_may_write_what(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    lab = tmp_path / "lab"
    ok(run("init", "--name", "Fab Lab", "--home", lab))
    swap(run, garden, lab)
    user_error(run("proposal", "create", "--federation", "Riverside", "--title", "X",
                   "--text", "Y", "--home", lab), 1, "not a member of federation")
    own = new_id(run("proposal", "create", "--title", "Garden only", "--text", "Ours.",
                     "--json", "--home", garden))
    swap(run, garden, bakery)
    user_error(run("proposal", "position", own[:8], "--stance", "block", "--home", bakery),
               1, "own assembly of Hillside Garden")
    user_error(run("proposal", "decide", own[:8], "--summary", "No.", "--outcome",
                   "withdrawn", "--home", bakery), 1, "only the proposer withdraws")
    user_error(run("proposal", "position", own[:8], "--stance", "agree", "--rank", "x",
                   "--home", garden), 1, "--rank", "offers no options")
    user_error(run("proposal", "decide", own[:8], "--summary", "S", "--option", "1",
                   "--home", garden), 1, "--option")
    ok(run("proposal", "decide", own[:8], "--summary", "We wait.", "--outcome", "withdrawn",
           "--home", garden))
    user_error(run("proposal", "amend", own[:8], "--text", "Z", "--home", garden), 1,
               "already decided (withdrawn)")


@pytest.mark.parametrize(("args", "hint"), [
    (("proposal", "create", "--title", "T"), "--text"),
    (("proposal", "create", "--title", "T", "--text", "a", "--text-file", "f"), "--text"),
    (("proposal", "create", "--title", "T", "--text", "a", "--option", "one"), "--option"),
    (("proposal", "create", "--title", "T", "--text", "a", "--option", "x", "--option",
      "x"), "--option"),
    (("proposal", "create", "--title", "T", "--text", "a", "--group", "0"), "--cascade"),
    (("proposal", "create", "--title", " ", "--text", "a"), "--title"),
    (("proposal", "position", "abcdef12", "--stance", "maybe"), "--stance"),
    (("proposal", "decide", "abcdef12", "--summary", "s", "--outcome", "won"), "--outcome"),
    (("minutes", "add", "--title", "T", "--text", "a", "--date", "2026-13-01"), "--date"),
    (("cascade", "start", "--purpose", "P", "--candidate", "Ana"), "--candidate"),
    (("cascade", "start", "--purpose", "P", "--candidate", "Ana@x", "--beacons", "0"),
     "--beacons"),
])
def test_usage_errors(run: Run, garden: Path, args: tuple[str, ...], hint: str) -> None:
    user_error(run(*args, "--home", garden), 2, hint)


def test_unknown_ids(run: Run, garden: Path) -> None:
    user_error(run("proposal", "show", "abc", "--home", garden), 1, "--proposal",
               "at least 8 hex")
    user_error(run("proposal", "amend", "abcdef12", "--text", "t", "--home", garden), 1,
               "PROPOSAL", "no proposal")
    user_error(run("cascade", "status", "abcdef12", "--home", garden), 1, "--cascade",
               "no cascade")
    user_error(run("decision", "list", "--federation", "Nowhere", "--home", garden), 1,
               "--federation", "Nowhere")


def test_minutes(run: Run, fed: dict[str, Path]) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    m = ok(run("minutes", "add", "--title", "January assembly", "--text",
               "Seven present.\nThe bike was adopted.", "--date", "2027-01-15", "--json",
               "--home", garden)).json()
    assert m["body"] == {"title": "January assembly", "date": "2027-01-15",
                         "text": "Seven present.\nThe bike was adopted."}
    f = ok(run("minutes", "add", "--federation", "Riverside", "--title", "Riverside",
               "--text", "Market day agreed.", "--json", "--home", bakery)).json()
    assert f["refs"] == [f["body"]["federation"]] and len(f["body"]["date"]) == 10
    swap(run, bakery, garden)
    out = ok(run("minutes", "list", "--home", garden)).out
    assert "2027-01-15  Hillside Garden (assembly): January assembly" in out
    assert "    The bike was adopted." in out and "Riverside: Riverside" in out
    found = ok(run("minutes", "list", "--search", "market", "--json", "--home",
                   garden)).json()
    assert [r["title"] for r in found["minutes"]] == ["Riverside"]
    assert ok(run("minutes", "list", "--search", "tractor", "--home", garden)).out == \
        "No minutes match 'tractor'.\n"


def test_a_cascade(run: Run, fed: dict[str, Path]) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    people = ["Ana@Hillside Garden", "Ben@Hillside Garden", "Cy@Hillside Garden",
              "Chi@Corner Bakery", "Dee@Corner Bakery", "Eve@Corner Bakery"]
    args = [a for p in people for a in ("--candidate", p)]
    lot = ok(run("cascade", "start", "--federation", "Riverside", "--purpose",
                 "Market rules", *args, "--beacons", "1", "--json", "--home", garden)).json()
    assert lot["kind"] == "lottery.announce"
    assert (lot["body"]["mode"], lot["body"]["seats"], lot["body"]["beacons"]) == (
        "groups", 1, 1)
    assert len(lot["body"]["pool"]) == 6
    waiting = ok(run("cascade", "status", lot["id"][:8], "--home", garden)).out
    assert "Not drawn yet: 0 of 1 beacons; 6 people wait" in waiting
    user_error(run("proposal", "create", "--federation", "Riverside", "--cascade",
                   lot["id"][:8], "--group", "0", "--title", "T", "--text", "t",
                   "--home", garden), 1, "not drawn yet")
    swap(run, garden, bakery)
    ok(run("lottery", "beacon", lot["id"][:8], "--home", bakery))
    swap(run, bakery, garden)
    status = ok(run("cascade", "status", lot["id"][:8], "--json", "--home", garden)).json()
    assert status["drawn"] and [len(g["people"]) for g in status["groups"]] == [3, 3]
    me = Home.open(garden).author.hex()
    g = next(g["group"] for g in status["groups"]
             if any(p["coop"] == me for p in g["people"]))
    other = 1 - g
    user_error(run("proposal", "create", "--cascade", lot["id"][:8], "--group", str(g),
                   "--title", "T", "--text", "t", "--home", garden), 1,
               "belongs to another body")
    user_error(run("proposal", "create", "--federation", "Riverside", "--cascade",
                   lot["id"][:8], "--group", "7", "--title", "T", "--text", "t", "--home",
                   garden), 1, "--group", "groups 0 to 1")
    draft = ok(run("proposal", "create", "--federation", "Riverside", "--cascade",
                   lot["id"][:8], "--group", str(g), "--title", f"Group {g} drafts",
                   "--text", "Stalls rotate weekly.", "--json", "--home", garden)).json()
    assert lot["id"] in draft["refs"] and len(draft["refs"]) == 3   # fed, lottery, beacon
    user_error(run("proposal", "decide", draft["id"][:8], "--summary", "s", "--home",
                   garden), 1, "no amendment from another group yet")
    swap(run, garden, bakery)
    # Bakery has people in the other group (3 of its own cannot all share Garden's).
    ok(run("proposal", "amend", draft["id"][:8], "--text", "Stalls rotate every fortnight.",
           "--home", bakery))
    ok(run("proposal", "create", "--federation", "Riverside", "--cascade", lot["id"][:8],
           "--group", str(other), "--title", f"Group {other} drafts", "--text",
           "One stall each.", "--home", bakery))
    swap(run, bakery, garden)
    out = ok(run("cascade", "status", lot["id"][:8], "--home", garden)).out
    assert f"draft {draft['id'][:8]} 'Group {g} drafts': amended by group {other}; " \
           "ready for the plenary" in out
    assert "no amendment from another group yet; waiting" in out
    assert "Not ready for the plenary yet." in out
    ok(run("proposal", "decide", draft["id"][:8], "--summary", "Fortnightly rotation.",
           "--home", garden))
    doc = ok(run("cascade", "status", lot["id"][:8], "--json", "--home", garden)).json()
    assert (doc["drafts"], doc["amended"], doc["decided"], doc["ready"]) == (2, 1, 1, False)


def test_the_node_and_the_store_give_the_same_json(run: Run, fed: dict[str, Path]) -> None:
    garden = fed["garden"]
    pid = new_id(run("proposal", "create", "--federation", "Riverside", "--title",
                     "Shared van", "--text", "On Fridays.", "--json", "--home", garden))
    ok(run("minutes", "add", "--title", "Assembly", "--text", "Van discussed.", "--home",
           garden))
    views = [("proposal", "list"), ("proposal", "show", pid[:8]),
             ("decision", "list", "--search", "van"), ("minutes", "list"),
             ("proposal", "list", "--federation", "Riverside", "--open")]
    direct = [ok(run(*v, "--json", "--home", garden)).json() for v in views]
    with serving(garden) as node:
        through = [ok(run(*v, "--json", "--home", garden)).json() for v in views]
        user_error(run("proposal", "show", "00000000", "--home", garden), 1,
                   "--proposal", "no proposal")
        entry = ok(run("proposal", "position", pid[:8], "--stance", "agree", "--json",
                       "--home", garden)).json()
        assert entry["refs"] == [pid]
    assert node.calls.count("query") >= len(views) and "append" in node.calls
    assert through == direct


def test_a_delegate_votes_with_her_own_key(run: Run, fed: dict[str, Path],
                                           tmp_path: Path) -> None:
    garden, bakery, ana = fed["garden"], fed["bakery"], tmp_path / "ana"
    ok(run("init", "--name", "Ana", "--for", Home.open(garden).author.hex(), "--home", ana))
    key = Home.open(ana).author.hex()
    proof = ok(run("key", "request", "--power", "delegate", "--home", ana)).out.split(
        "--proof ")[1].split()[0]
    ok(run("key", "add", key, "--power", "delegate", "--label", "Ana", "--proof", proof,
           "--home", garden))
    pid = new_id(run("proposal", "create", "--federation", "Riverside", "--title",
                     "Shared van", "--text", "On Fridays.", "--json", "--home", bakery))
    swap(run, bakery, garden)
    mid = new_id(run("mandate", "issue", "--federation", "Riverside", "--title",
                     "Delegate to Riverside", "--delegate", "Ana", "--key", key[:10],
                     "--scope", "Vote on the van.", "--sunset", "Hand over the notes.",
                     "--allow", f"vote:{pid[:8]}", "--days", "30", "--json", "--home",
                     garden))
    swap(run, garden, ana)
    vote = ok(run("proposal", "position", pid[:8], "--stance", "agree", "--member", "Ana",
                  "--mandate", mid[:8], "--json", "--home", ana)).json()
    assert sorted(vote["refs"]) == sorted([pid, mid]) and vote["author"] == key
    swap(run, ana, bakery)
    doc = ok(run("proposal", "show", pid[:8], "--json", "--home", bakery)).json()
    # Ana's key writes; the position is the Garden's one voice.
    assert [(p["coop_name"], p["member"], p["key"], p["status"])
            for p in doc["positions"]] == [("Hillside Garden", "Ana", key, "counted")]
    user_error(run("proposal", "position", pid[:8], "--stance", "agree", "--mandate",
                   "00000000", "--home", ana), 1, "--mandate", "no mandate")
