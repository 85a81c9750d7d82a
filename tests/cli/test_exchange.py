"""`coop import csv`, `coop export csv|valueflows`, `coop posting`, and --csv on
`coop entries` and `coop state`, as a member runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_support import Run, ok, this_month
from fake_node import serving

from coopledger.node import Home

LABOR_CSV = (
    "\ufeffmember,hours,task,category,date,paid,note\r\n"
    "ana,2.5,weeding,care,2026-11-03,yes,\"beds 3-5\r\nand the path\"\r\n"
    "\r\n"
    "ben,4,sowing,production,2026-11-04,,\r\n"
    "chidi,1.25,minutes,facilitation,2026-11-05,no,\r\n"
)


def bodies(home: Path, kind: str) -> list[dict[str, object]]:
    h = Home.open(home)
    with h.open_store() as store:
        return [dict(e.body) for e in store.entries(authors=[h.author], kind=kind)]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        p.write_bytes(text.encode())
    else:
        p.write_bytes(text)
    return p


def test_import_then_entries_and_state(run: Run, garden: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "hours.csv", LABOR_CSV)
    r = ok(run("import", "csv", f, "--kind", "labor", "--home", garden))
    assert r.out == f"{f}: imported 3 labor entries\n"
    assert bodies(garden, "labor") == [
        {"member": "ana", "hours": "2.5", "task": "weeding", "category": "care",
         "date": "2026-11-03", "paid": True, "note": "beds 3-5\nand the path"},
        {"member": "ben", "hours": "4", "task": "sowing", "category": "production",
         "date": "2026-11-04"},
        {"member": "chidi", "hours": "1.25", "task": "minutes", "category": "facilitation",
         "date": "2026-11-05", "paid": False},
    ]
    rows = list(csv.DictReader(io.StringIO(ok(run("state", "--csv", "--home", garden)).out)))
    assert [(r["member"], r["category"], r["paid"], r["total"]) for r in rows] == [
        ("ana", "care", "true", "2.5"), ("ben", "production", "false", "4"),
        ("chidi", "facilitation", "false", "1.25")]
    assert {r["coop"] for r in rows} == {"Hillside Garden"}


def test_a_bad_row_imports_nothing(run: Run, garden: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "hours.csv", LABOR_CSV + "dana,\"1,5\",x,care,2026-11-06,,\r\n")
    r = run("import", "csv", f, "--kind", "labor", "--home", garden)
    assert r.code == 1 and r.out == ""
    assert r.err == (f"error: {f}, row 6, column hours: '1,5' has a comma: write decimals "
                     "with a point (1.5, not 1,5) and no thousands separator; nothing was "
                     "imported\n")
    assert bodies(garden, "labor") == []


def test_several_bad_rows_are_each_one_line(run: Run, garden: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "hours.csv", "member,hours,task,category,date\n"
              "ana,1,x,care,31/12/2026\nben,1,x,cooking,2026-11-01\n")
    r = run("import", "csv", f, "--kind", "labor", "--home", garden)
    assert r.code == 1
    lines = r.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {f}, row 2, column date: '31/12/2026' is not a date")
    assert lines[1].startswith(f"error: {f}, row 3, column category: must be one of")
    assert lines[1].endswith("; nothing was imported")


def test_dry_run_writes_nothing(run: Run, garden: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "hours.csv", LABOR_CSV)
    r = ok(run("import", "csv", f, "--kind", "labor", "--dry-run", "--home", garden))
    assert r.out == f"{f}: 3 rows of kind labor are valid; nothing imported (--dry-run)\n"
    assert bodies(garden, "labor") == []


def test_import_refuses_a_file_over_the_size_limit(run: Run, garden: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from coopledger.cli import _exchange

    monkeypatch.setattr(_exchange, "MAX_CSV_BYTES", 64)
    f = write(tmp_path, "hours.csv", LABOR_CSV)
    r = run("import", "csv", f, "--kind", "labor", "--home", garden)
    assert r.code == 1 and "larger than" in r.err and "nothing was imported" in r.err
    assert bodies(garden, "labor") == []


@pytest.mark.parametrize("args,words", [
    (("--kind", "genesis"), ("--kind", "labor, material, energy, goods")),
    (("--kind", "labor", "missing.csv"), ("cannot read",)),
])
def test_import_user_mistakes(run: Run, garden: Path, args: tuple[str, ...],
                              words: tuple[str, ...]) -> None:
    files = [a for a in args if a.endswith(".csv")] or ["x.csv"]
    rest = [a for a in args if not a.endswith(".csv")]
    r = run("import", "csv", *files, *rest, "--home", garden)
    assert r.code != 0 and r.out == "" and "Traceback" not in r.err
    for w in words:
        assert w in r.err


def test_import_through_a_running_node(run: Run, garden: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "hours.csv", LABOR_CSV)
    with serving(garden) as node:
        r = ok(run("import", "csv", f, "--kind", "labor", "--home", garden))
    assert r.out == f"{f}: imported 3 labor entries through the running node\n"
    assert node.calls.count("append") == 3
    assert [b["member"] for b in bodies(garden, "labor")] == ["ana", "ben", "chidi"]


@pytest.mark.parametrize("kind,text", [
    ("labor", LABOR_CSV),
    ("material", "item,quantity,unit,direction,date,note\ncompost,40,kg,in,2026-11-02,\n"
                 "twine,0.75,m,used,,\"for the beans\"\n"),
    ("energy", "kwh,flow,source,date,note\n12.125,generated,local,,\n3,consumed,grid,"
               "2026-11-01,\n"),
    ("goods", "item,quantity,unit,flow,to,date,note\ntomatoes,25,kg,produced,,,\n"
              "tomatoes,10,kg,distributed,food bank,2026-11-20,\n"),
])
def test_export_then_import_elsewhere_gives_the_same_bodies(
        run: Run, garden: Path, tmp_path: Path, kind: str, text: str) -> None:
    ok(run("import", "csv", write(tmp_path, "in.csv", text), "--kind", kind,
           "--home", garden))
    exported = ok(run("export", "csv", "--kind", kind, "--home", garden)).out
    bakery = tmp_path / "bakery"
    ok(run("init", "--name", "Bread & Roses", "--home", bakery))
    ok(run("import", "csv", write(tmp_path, "out.csv", exported), "--kind", kind,
           "--home", bakery))
    assert bodies(bakery, kind) == bodies(garden, kind) != []
    # and exporting again gives the same file
    assert ok(run("export", "csv", "--kind", kind, "--home", bakery)).out == exported


def test_export_csv_of_another_coop_by_name(run: Run, garden: Path, tmp_path: Path) -> None:
    ok(run("log", "labor", "--member", "ana", "--hours", "2", "--task", "x", "--date",
           "2026-11-01", "--home", garden))
    bakery = tmp_path / "bakery"
    ok(run("init", "--name", "Bread & Roses", "--home", bakery))
    bundle = tmp_path / "g.coopbundle"
    ok(run("bundle", "export", bundle, "--home", garden))
    ok(run("bundle", "import", bundle, "--home", bakery))
    out = ok(run("export", "csv", "--kind", "labor", "--author", "Hillside Garden",
                 "--home", bakery)).out
    assert out == ("member,hours,task,category,date,paid,note\r\n"
                   "ana,2,x,production,2026-11-01,,\r\n")
    assert ok(run("export", "csv", "--kind", "labor", "--home", bakery)).out == \
        "member,hours,task,category,date,paid,note\r\n"


def test_entries_csv(run: Run, garden: Path, tmp_path: Path) -> None:
    ok(run("import", "csv", write(tmp_path, "h.csv", LABOR_CSV), "--kind", "labor",
           "--home", garden))
    plain = list(csv.DictReader(io.StringIO(ok(run("entries", "--csv", "--home",
                                                   garden)).out)))
    assert [r["kind"] for r in plain] == ["genesis", "labor", "labor", "labor"]
    assert list(plain[0]) == ["coop", "author", "seq", "time", "kind", "what", "id"]
    assert plain[1]["what"] == "ana: 2.5 h care (paid), weeding, 2026-11-03"
    labor = list(csv.DictReader(io.StringIO(ok(run("entries", "--csv", "--kind", "labor",
                                                   "--home", garden)).out)))
    assert [(r["seq"], r["member"], r["hours"], r["paid"]) for r in labor] == [
        ("2", "ana", "2.5", "true"), ("3", "ben", "4", ""), ("4", "chidi", "1.25", "false")]
    assert labor[0]["note"] == "beds 3-5\nand the path"


def test_export_valueflows(run: Run, garden: Path, tmp_path: Path) -> None:
    ok(run("import", "csv", write(tmp_path, "h.csv", LABOR_CSV), "--kind", "labor",
           "--home", garden))
    ok(run("log", "energy", "--kwh", "12.125", "--flow", "generated", "--source", "local",
           "--home", garden))
    doc = ok(run("export", "valueflows", "--home", garden)).json()
    events = [n for n in doc["@graph"] if n["@type"] == "EconomicEvent"]
    h = Home.open(garden)
    with h.open_store() as store:
        ids = [e.id.hex() for e in store.entries() if e.kind != "genesis"]
    assert [e["@id"] for e in events] == [f"urn:coopledger:entry:{i}" for i in ids]
    assert [e["action"] for e in events] == ["work", "work", "work", "produce"]
    out = tmp_path / "garden.jsonld"
    r = ok(run("export", "valueflows", "--out", out, "--home", garden))
    assert r.out == "" and r.err == f"wrote 4 economic events to {out}\n"
    assert json.loads(out.read_text()) == doc
    r = run("export", "valueflows", "--out", out, "--home", garden)
    assert r.code == 1 and "already exists" in r.err


def test_posting(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "odd"
    ok(run("init", "--name", "<script>alert(1)</script>", "--home", home))
    ok(run("import", "csv", write(tmp_path, "h.csv", LABOR_CSV), "--kind", "labor",
           "--home", home))
    html = ok(run("posting", "--month", "2026-11", "--home", home)).out
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<td>care</td><td class=\"n\">0</td><td class=\"n\">2.5</td>" in html
    h = Home.open(home)
    with h.open_store() as store:
        head = store.state().authors[h.author].head
    assert head is not None
    assert f'id="head-hash">{head.hex()}</span>' in html
    assert "entry <strong>#4</strong>" in html
    assert "<svg" in html
    out = tmp_path / "posting.html"
    r = ok(run("posting", "--month", "2026-11", "--out", out, "--home", home))
    assert out.read_text() == html
    assert r.err == f"wrote the posting of 2026-11 to {out}\n"


def test_posting_needs_a_month(run: Run, garden: Path) -> None:
    r = run("posting", "--month", "November", "--home", garden)
    assert r.code == 2 and "YYYY-MM" in r.err and r.out == ""


def test_posting_shows_a_real_federations_transfers_and_balances(run: Run, garden: Path,
                                                                  tmp_path: Path) -> None:
    bakery = tmp_path / "bakery"
    ok(run("init", "--name", "Corner <Bakery>", "--home", bakery))

    def carry(src: Path, dst: Path) -> None:
        b = tmp_path / "carry.coopbundle"
        b.unlink(missing_ok=True)
        ok(run("bundle", "export", b, "--home", src))
        ok(run("bundle", "import", b, "--home", dst))

    carry(bakery, garden)
    ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
           "--home", garden))
    ok(run("federation", "invite", "--federation", "Riverside", "--coop", "Corner <Bakery>",
           "--home", garden))
    carry(garden, bakery)
    ok(run("federation", "join", "--federation", "Riverside", "--home", bakery))
    carry(bakery, garden)
    offer = ok(run("transfer", "offer", "--federation", "Riverside", "--to",
                   "Corner <Bakery>", "--amount", "5", "--unit", "hour", "--for",
                   "oven <repair>", "--home", garden)).out.split("offer id: ")[1][:8]
    carry(garden, bakery)
    ok(run("transfer", "accept", offer, "--home", bakery))
    carry(bakery, garden)
    html = ok(run("posting", "--month", this_month(), "--home", garden)).out
    assert "<h2>Federation Riverside</h2>" in html
    assert ("<td>paid to</td><td>Corner &lt;Bakery&gt;</td><td>5 hour</td>"
            "<td>oven &lt;repair&gt;</td><td>accepted</td>") in html
    assert '<tr class="us"><td>hour</td><td>Hillside Garden</td><td class="n">-5</td>' in html
    assert "<td>hour</td><td>Corner &lt;Bakery&gt;</td><td class=\"n\">5</td>" in html


def test_rows_already_in_the_log_are_refused_unless_allowed(run: Run, garden: Path,
                                                            tmp_path: Path) -> None:
    ok(run("import", "csv", write(tmp_path, "oct.csv", LABOR_CSV), "--kind", "labor",
           "--home", garden))
    grown = write(tmp_path, "grown.csv",
                  LABOR_CSV + "dana,3,pruning,maintenance,2026-11-07,,\r\n")
    for extra in ((), ("--dry-run",)):
        r = run("import", "csv", grown, "--kind", "labor", *extra, "--home", garden)
        assert r.code == 1 and r.out == ""
        assert r.err == (f"error: {grown}: 3 of 4 rows are already in this co-op's log "
                         "with exactly the same fields (rows 2, 4, 5); remove them from the "
                         "file, or give --allow-repeats if they really happened twice; "
                         "nothing was imported\n")
    assert len(bodies(garden, "labor")) == 3
    ok(run("import", "csv", grown, "--kind", "labor", "--allow-repeats", "--home", garden))
    assert [b["member"] for b in bodies(garden, "labor")] == [
        "ana", "ben", "chidi", "ana", "ben", "chidi", "dana"]
