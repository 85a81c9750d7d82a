"""`coop audit circle|report|show|list`, `coop complaint file`, `coop finding add`,
`coop sanction add`, `coop misconduct list`, run as a user would (main() in-process),
between four homes that swap bundles: Riverside draws a circle to audit the Hillside
Garden, the drawn co-ops cosign its checkpoint and report, and a complaint becomes a
finding and a sanction."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, user_error
from fake_node import serving

from coopledger.node import Home

QUARTER = "2026-Q4"
NAMES = {"garden": "Hillside Garden", "bakery": "Corner Bakery", "mill": "Old Mill"}





def sync(run: Run, *homes: Path) -> None:
    """Every home ends up holding everything the others hold."""
    for src, dst in itertools.permutations(homes, 2):
        file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
        file.unlink(missing_ok=True)
        ok(run("bundle", "export", file, "--home", src))
        ok(run("bundle", "import", file, "--home", dst))


@pytest.fixture
def fed(run: Run, garden: Path, tmp_path: Path, once: BuildOnce) -> dict[str, Path]:
    """Riverside: Hillside Garden (founder), Corner Bakery, Old Mill."""
    def build() -> dict[str, Path]:
        homes = {"garden": garden}
        for n in ("bakery", "mill"):
            homes[n] = tmp_path / n
            ok(run("init", "--name", NAMES[n], "--home", homes[n]))
        sync(run, *homes.values())
        ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
               "--home", garden))
        for n in ("bakery", "mill"):
            ok(run("federation", "invite", "--federation", "Riverside", "--coop", NAMES[n],
                   "--home", garden))
        sync(run, *homes.values())
        for n in ("bakery", "mill"):
            ok(run("federation", "join", "--federation", "Riverside", "--home", homes[n]))
        sync(run, *homes.values())
        return homes

    return once("test_audit_cli.fed", build)


def drawn_circle(run: Run, fed: dict[str, Path]) -> dict[str, Any]:
    """The circle auditing the Garden (one seat), drawn with the beacons of Bakery and
    Mill; the Garden has published a checkpoint. Returns the circle row of `audit
    list`, plus ``drawn`` (one home name) and ``rest`` (the other)."""
    made = ok(run("audit", "circle", "Hillside Garden", "--federation", "Riverside",
                  "--quarter", QUARTER, "--seats", "1", "--json",
                  "--home", fed["garden"])).json()
    sync(run, *fed.values())
    for n in ("bakery", "mill"):
        ok(run("lottery", "beacon", made["lottery"]["id"][:10], "--home", fed[n]))
    ok(run("checkpoint", "publish", "--home", fed["garden"]))
    sync(run, *fed.values())
    [row] = ok(run("audit", "list", "--json", "--home", fed["garden"])).json()["circles"]
    by_key = {Home.open(h).author.hex(): n for n, h in fed.items()}
    [row["drawn"]] = [by_key[a["coop"]] for a in row["auditors"]]
    row["rest"] = next(n for n in ("bakery", "mill") if n != row["drawn"])
    return row


def checks_file(tmp_path: Path, *, ok_: bool = True) -> Path:
    f = tmp_path / "checks.json"
    f.write_text(json.dumps([
        {"name": "chains-and-signatures", "ok": True, "detail": "every entry checks"},
        {"name": "balances-reconcile", "ok": ok_, "detail": ""}]), encoding="utf-8")
    return f


def test_circle_writes_a_lottery_and_the_circle(run: Run, fed: dict[str, Path]) -> None:
    r = ok(run("audit", "circle", "Hillside Garden", "--federation", "Riverside",
               "--quarter", QUARTER, "--note", "first of the year", "--json",
               "--home", fed["garden"])).json()
    lot, circle = r["lottery"], r["circle"]
    keys = {n: Home.open(h).author.hex() for n, h in fed.items()}
    assert lot["kind"] == "lottery.announce" and circle["kind"] == "audit.circle"
    assert lot["body"]["pool"] == [{"name": NAMES[n], "coop": keys[n]}
                                   for n in sorted(("bakery", "mill"),
                                                   key=lambda n: keys[n])]
    assert (lot["body"]["seats"], lot["body"]["beacons"], lot["body"]["distinct_coops"]
            ) == (3, 2, True)
    assert lot["body"]["purpose"].startswith("audit circle of Hillside Garden")
    assert circle["body"] == {"federation": lot["body"]["federation"],
                              "coop": keys["garden"], "period": QUARTER,
                              "lottery": lot["id"], "note": "first of the year"}
    assert sorted(circle["refs"]) == sorted([lot["id"], lot["body"]["federation"]])
    text = ok(run("audit", "list", "--home", fed["garden"])).out
    assert f"{circle['id'][:8]}  Hillside Garden" in text
    assert "waiting (0 of 2 beacons)" in text
    # The same quarter again is refused, by any member that holds the circle.
    sync(run, *fed.values())
    user_error(run("audit", "circle", "Hillside Garden", "--federation", "Riverside",
                   "--quarter", QUARTER, "--home", fed["mill"]), 1, "already has an audit "
               "circle", QUARTER)


def test_circle_refuses_what_the_fold_would_not_count(run: Run,
                                                      fed: dict[str, Path]) -> None:
    g = fed["garden"]

    def circle(*args: object) -> Any:
        return run("audit", "circle", *args, "--home", g)

    user_error(circle("Old Mill", "--federation", "Riverside", "--quarter", "2026-4"),
               1, "--quarter", "YYYY-Qn")
    user_error(circle("Old Mill", "--federation", "Nowhere"), 1, "--federation")
    user_error(circle("Nobody", "--federation", "Riverside"), 1, "COOP")
    user_error(circle("Old Mill", "--federation", "Riverside", "--candidate",
                      "Eli@Old Mill"), 1, "--candidate", "audited co-op")
    user_error(circle("Old Mill", "--federation", "Riverside", "--beacons", "3"), 1,
               "--beacons", "2 other member")
    user_error(circle("Old Mill", "--federation", "Riverside", "--seats", "0"), 1,
               "--seats")
    r = ok(circle("Old Mill", "--federation", "Riverside", "--seats", "5"))
    assert "Warning: the pool has 2 co-op(s) for 5 seat(s)" in r.err
    assert "coop lottery beacon" in r.out


def test_the_drawn_report_and_anyone_reads_it(run: Run, fed: dict[str, Path],
                                              tmp_path: Path) -> None:
    c = drawn_circle(run, fed)
    first = c["drawn"]
    checks = checks_file(tmp_path)
    r = ok(run("audit", "report", c["id"][:10], "--checks-file", checks, "--summary",
               "The books reconcile.", "--finding", "The dryer's fund report is late.",
               "--json", "--home", fed[first])).json()
    assert r["cosign"]["kind"] == "checkpoint.cosign"       # the auditor witnesses first
    body = r["report"]["body"]
    assert body["checks"] == [
        {"name": "chains-and-signatures", "ok": True, "detail": "every entry checks"},
        {"name": "balances-reconcile", "ok": True}]
    assert body["findings"] == ["The dryer's fund report is late."]
    assert body["checkpoint"] == r["cosign"]["body"]["checkpoint"]
    assert len(r["report"]["refs"]) == 4     # circle, checkpoint, the two beacons
    sync(run, *fed.values())
    user_error(run("audit", "report", c["id"][:10], "--checks-file", checks,
                   "--summary", "Again.", "--home", fed[first]), 1, "already reported")
    user_error(run("audit", "report", c["id"][:10], "--checks-file", checks,
                   "--summary", "Me too.", "--home", fed[c["rest"]]), 1, "not drawn")
    listing = ok(run("audit", "list", "--home", fed["garden"])).out
    assert "1 of 1 reported" in listing
    assert f"✓ {r['report']['id'][:8]}  {QUARTER}  by {NAMES[first]}" in listing
    shown = ok(run("audit", "show", r["report"]["id"][:12], "--home", fed["garden"])).out
    assert f"by {NAMES[first]}" in shown
    assert "checks: 2 of 2 passed" in shown
    assert "✓ chains-and-signatures  every entry checks" in shown
    assert "- The dryer's fund report is late." in shown
    assert "summary: The books reconcile." in shown
    assert f"witnessed by {NAMES[first]}" in shown
    page = ok(run("audit", "show", "Hillside Garden", "--as-of", "2026-12-01",
                  "--home", fed["garden"])).out
    assert f"every check passed for {QUARTER} or 2026-Q3: yes" in page
    assert f"* {NAMES[first]}" in page and "cosigned log Hillside Garden" in page
    # A failing check shows as ✗ with its name.
    bad = checks_file(tmp_path, ok_=False)
    user_error(run("audit", "report", c["id"][:10], "--checks-file", bad, "--summary",
                   "x", "--home", fed[first]), 1, "already reported")


def test_write_report_refuses_early(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    c = drawn_circle(run, fed)
    drawn = c["drawn"]
    checks = checks_file(tmp_path)

    def report(*args: object, home: str = drawn) -> Any:
        return run("audit", "report", *args, "--home", fed[home])

    user_error(report("00000000", "--checks-file", checks, "--summary", "s"), 1, "CIRCLE")
    user_error(report(c["id"], "--checks-file", tmp_path / "none.json", "--summary", "s"),
               1, "--checks-file", "cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    user_error(report(c["id"], "--checks-file", bad, "--summary", "s"), 1, "not JSON")
    bad.write_text(json.dumps([{"name": "x"}]), encoding="utf-8")
    user_error(report(c["id"], "--checks-file", bad, "--summary", "s"), 1, "check 0")
    bad.write_text(json.dumps({"checks": []}), encoding="utf-8")
    user_error(report(c["id"], "--checks-file", bad, "--summary", "s"), 1, "1 to 64")
    user_error(report(c["id"], "--checks-file", checks, "--summary", " "), 1, "--summary")
    user_error(report(c["id"], "--checks-file", checks, "--summary", "s", "--checkpoint",
                      "zz"), 1, "--checkpoint")
    user_error(report(c["id"], "--checks-file", checks, "--summary", "s",
                      home=c["rest"]), 1, "not drawn")


def test_a_run_document_names_its_checkpoint(run: Run, fed: dict[str, Path],
                                             tmp_path: Path) -> None:
    """`coop audit run --out` writes {checks, checkpoint: {id…}}; the report takes both."""
    c = drawn_circle(run, fed)
    drawn = c["drawn"]
    ok(run("checkpoint", "publish", "--home", fed["garden"]))      # a newer one
    sync(run, *fed.values())
    cps = ok(run("checkpoint", "list", "--coop", "Hillside Garden", "--json",
                 "--home", fed[drawn])).json()
    rows = cps.get("checkpoints", cps) if isinstance(cps, dict) else cps
    oldest = min(rows, key=lambda x: x["seq"])["id"]
    doc = tmp_path / "run.json"
    doc.write_text(json.dumps({"coop": Home.open(fed["garden"]).author.hex(),
                               "checkpoint": {"id": oldest},
                               "checks": [{"name": "no-forks", "ok": True,
                                           "detail": "none"}]}), encoding="utf-8")
    r = ok(run("audit", "report", c["id"], "--checks-file", doc, "--summary", "Fine.",
               "--json", "--home", fed[drawn])).json()
    assert r["report"]["body"]["checkpoint"] == oldest


def test_complaint_finding_sanction(run: Run, fed: dict[str, Path]) -> None:
    g, b, m = (fed[n] for n in ("garden", "bakery", "mill"))
    comp = ok(run("complaint", "file", "Hillside Garden", "--federation", "Riverside",
                  "--text", "Our ladder was not returned.", "--json", "--home", b)).json()
    assert comp["kind"] == "complaint" and comp["body"]["text"] == (
        "Our ladder was not returned.")
    sync(run, *fed.values())
    found = ok(run("finding", "add", "Hillside Garden", "--federation", "Riverside",
                   "--text", "The ladder was kept 3 months.", "--complaint",
                   comp["id"][:10], "--json", "--home", m)).json()
    assert found["body"]["complaint"] == comp["id"] and comp["id"] in found["refs"]
    sync(run, *fed.values())
    sanc = ok(run("sanction", "add", "Hillside Garden", "--federation", "Riverside",
                  "--finding", found["id"][:10], "--measure", "No tool loans for 30 days.",
                  "--days", "30", "--json", "--home", b)).json()
    assert sanc["body"]["expires"] - sanc["ts"] <= 30 * 86_400_000
    assert sanc["body"]["expires"] - sanc["ts"] > 30 * 86_400_000 - 60_000
    sync(run, *fed.values())
    text = ok(run("misconduct", "list", "--home", g)).out
    assert "1 sanction(s) in force" in text
    keys = {n: Home.open(h).author.hex()[:8] for n, h in fed.items()}
    assert (f"complaint {comp['id'][:8]} by Corner Bakery ({keys['bakery']}) against "
            f"Hillside Garden ({keys['garden']}) [Riverside]") in text
    assert (f"finding {found['id'][:8]} by Old Mill ({keys['mill']}) about "
            f"Hillside Garden ({keys['garden']}) (on complaint {comp['id'][:8]})") in text
    assert "IN FORCE" in text and "No tool loans for 30 days." in text
    later = ok(run("misconduct", "list", "--as-of", str(sanc["body"]["expires"]),
                   "--home", g)).out
    assert "0 sanction(s) in force" in later and "not in force" in later
    doc = ok(run("misconduct", "list", "--coop", "Old Mill", "--json", "--home", g)).json()
    assert doc["complaints"] == doc["findings"] == doc["sanctions"] == []
    assert ok(run("misconduct", "list", "--coop", "Old Mill", "--home", g)).out.startswith(
        "No complaints")
    page = ok(run("audit", "show", "--home", g)).out          # the Garden's own page
    assert "Audits of Hillside Garden" in page and "IN FORCE" in page


def test_misconduct_commands_refuse_early(run: Run, fed: dict[str, Path]) -> None:
    b = fed["bakery"]
    user_error(run("complaint", "file", "Corner Bakery", "--federation", "Riverside",
                   "--text", "x", "--home", b), 1, "COOP", "itself")
    user_error(run("complaint", "file", "Old Mill", "--federation", "Riverside",
                   "--text", " ", "--home", b), 1, "--text")
    user_error(run("finding", "add", "Old Mill", "--federation", "Riverside", "--text",
                   "x", "--complaint", "00000000", "--home", b), 1, "--complaint")
    user_error(run("finding", "add", "Old Mill", "--federation", "Riverside", "--text",
                   "x", "--circle", "00000000", "--home", b), 1, "--circle")
    user_error(run("sanction", "add", "Old Mill", "--federation", "Riverside",
                   "--finding", "00000000", "--measure", "m", "--days", "366",
                   "--home", b), 1, "--days", "within a year")
    user_error(run("sanction", "add", "Old Mill", "--federation", "Riverside",
                   "--finding", "00000000", "--measure", "m", "--days", "3",
                   "--home", b), 1, "--finding")
    user_error(run("misconduct", "list", "--as-of", "soon", "--home", b), 2, "--as-of")


def test_views_through_a_running_node_are_the_same(run: Run, fed: dict[str, Path]) -> None:
    g = fed["garden"]
    ok(run("complaint", "file", "Old Mill", "--federation", "Riverside", "--text",
           "The mill wheel blocks the path.", "--home", g))
    ok(run("audit", "circle", "Old Mill", "--federation", "Riverside", "--quarter",
           QUARTER, "--home", g))
    views = [("audit", "list"), ("misconduct", "list", "--as-of", "2026-12-01"),
             ("audit", "show", "Old Mill", "--as-of", "2026-12-01")]
    direct = [ok(run(*v, "--json", "--home", g)).json() for v in views]
    with serving(g) as node:
        through = [ok(run(*v, "--json", "--home", g)).json() for v in views]
        user_error(run("audit", "show", "Nobody", "--home", g), 1, "--coop")
        entry = ok(run("finding", "add", "Old Mill", "--federation", "Riverside",
                       "--text", "It does.", "--json", "--home", g)).json()
    assert through == direct and "append" in node.calls
    assert entry["kind"] == "finding"
