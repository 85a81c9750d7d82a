"""`coop` as a co-op's volunteer types it: init, log, read, verify, rebuild, bundles.

Everything runs through ``coopledger.cli.main()`` in this process (the ``run`` fixture),
so exit codes and one-line error messages are main()'s own.
"""

from __future__ import annotations

import datetime
import itertools
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, ok, user_error

from coopledger.node import Home, Store, now_ms
from coopledger.protocol import (
    RECORD_ENTRY,
    BundleEnd,
    BundleParser,
    BundleRecord,
    bundle_record,
    decode_entry,
    fold,
)

HEX64 = re.compile(r"[0-9a-f]{64}")


def day_of(entry: dict[str, Any]) -> str:
    """The local date on which ``entry`` was signed: what `coop log` takes as the date
    when none is given (read from the entry, so a run across midnight agrees)."""
    return datetime.date.fromtimestamp(entry["ts"] / 1000).isoformat()


# -- helpers ------------------------------------------------------------------------


@contextmanager
def store_of(home: Path) -> Iterator[Store]:
    with Store.open(home / "ledger.db") as store:
        yield store


def count(home: Path) -> int:
    with store_of(home) as store:
        return store.count()


def entries_json(run: Run, home: Path, *args: object) -> list[dict[str, Any]]:
    r = ok(run("entries", "--json", "--home", home, *args))
    data: list[dict[str, Any]] = r.json()
    return data


def state_json(run: Run, home: Path, *args: object) -> dict[str, Any]:
    r = ok(run("state", "--json", "--home", home, *args))
    data: dict[str, Any] = r.json()
    return data


def bundle_records(path: Path) -> list[BundleRecord]:
    """The entry records of a bundle file, with their byte offsets."""
    parser = BundleParser()
    parser.feed(path.read_bytes())
    parser.feed_eof()
    records = []
    while (ev := parser.next_event()) is not None and not isinstance(ev, BundleEnd):
        assert isinstance(ev, BundleRecord)
        if ev.type == RECORD_ENTRY:
            records.append(ev)
    return records


def table_rows(text: str) -> list[list[str]]:
    """The cells of a Rich table's rows (header included), stripped."""
    return [[c.strip() for c in line.strip()[1:-1].split(line.strip()[0])]
            for line in text.splitlines() if line.strip()[:1] in ("┃", "│")]


def utc(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime(
        "%Y-%m-%d %H:%M:%SZ")


LABOR = ("log", "labor", "--member", "ana", "--hours", "2.5", "--task", "weeding beds")


def log_some(run: Run, home: Path) -> None:
    ok(run(*LABOR, "--category", "care", "--home", home))
    ok(run("log", "material", "--item", "compost", "--quantity", "40", "--unit", "kg",
           "--direction", "in", "--home", home))


# -- init ---------------------------------------------------------------------------


def test_init_prints_the_coop_id_and_genesis(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "garden"
    r = ok(run("init", "--name", "  Hillside Garden ", "--home", home))
    lines = r.out.splitlines()
    assert lines[0] == f"Created co-op 'Hillside Garden' in {home}"
    h = Home.open(home)
    assert h.name == "Hillside Garden"
    assert lines[1] == f"  co-op id: {h.author.hex()}"
    with store_of(home) as store:
        (genesis,) = list(store.entries())
    assert lines[2] == f"  genesis entry: {genesis.id.hex()}"
    assert (genesis.kind, dict(genesis.body), genesis.seq) == (
        "genesis", {"name": "Hillside Garden"}, 1)
    assert not h.key_is_sealed()
    assert "sealed" not in r.out
    assert r.err == ""


def test_init_refuses_to_overwrite_a_home(run: Run, garden: Path) -> None:
    before = Home.open(garden).author
    r = run("init", "--name", "Another", "--home", garden)
    line = user_error(r, 1)
    assert line == f"error: {garden} already exists and is not empty; refusing to overwrite it"
    assert Home.open(garden).author == before
    assert Home.open(garden).name == "Hillside Garden"
    assert count(garden) == 1


def test_init_refuses_a_blank_name(run: Run, tmp_path: Path) -> None:
    r = run("init", "--name", "   ", "--home", tmp_path / "blank")
    assert user_error(r, 1) == "error: --name: must not be empty"


def test_a_refused_init_leaves_the_directory_usable(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "typo"
    user_error(run("init", "--name", "   ", "--home", home), 1)
    assert not home.exists() or not any(home.iterdir())
    ok(run("init", "--name", "Hillside Garden", "--home", home))


def test_coop_home_env_is_the_default_home(run: Run, garden: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOP_HOME", str(garden))
    r = ok(run(*LABOR))
    assert r.out.startswith("Logged labor #2: ")
    assert count(garden) == 2


# -- log ----------------------------------------------------------------------------


def test_log_each_kind(run: Run, garden: Path) -> None:
    first = ok(run(*LABOR, "--category", "care", "--home", garden))
    r = ok(run("log", "labor", "--member", "bo", "--hours", " 1.50 ", "--task", "accounts",
               "--category", "facilitation", "--paid", "--date", "2026-11-20",
               "--note", "quarterly\nclose", "--home", garden))
    assert r.out.startswith(
        "Logged labor #3: bo: 1.5 h facilitation (paid), accounts, 2026-11-20  (entry ")
    r = ok(run("log", "material", "--item", "compost", "--quantity", "40", "--unit", "kg",
               "--direction", "in", "--home", garden))
    assert r.out.startswith("Logged material #4: in 40 kg compost  (entry ")
    r = ok(run("log", "energy", "--kwh", "12.4", "--flow", "generated", "--source", "local",
               "--home", garden))
    assert r.out.startswith("Logged energy #5: generated 12.4 kWh (local)  (entry ")
    r = ok(run("log", "goods", "--item", "tomatoes", "--quantity", "25", "--unit", "kg",
               "--flow", "produced", "--home", garden))
    assert r.out.startswith("Logged goods #6: produced 25 kg tomatoes  (entry ")
    r = ok(run("log", "goods", "--item", "tomatoes", "--quantity", "10", "--unit", "kg",
               "--flow", "distributed", "--to", "food bank", "--home", garden))
    assert r.out.startswith("Logged goods #7: distributed 10 kg tomatoes to food bank  (entry ")
    assert r.err == ""

    held = entries_json(run, garden)
    today = day_of(held[1])
    assert first.out.startswith(
        f"Logged labor #2: ana: 2.5 h care (unpaid), weeding beds, {today}")
    # Each "Logged" line names the first 4 bytes of the entry it wrote.
    assert r.out.rstrip().endswith(f"(entry {held[-1]['id'][:8]})")
    assert [e["kind"] for e in held] == [
        "genesis", "labor", "labor", "material", "energy", "goods", "goods"]
    assert [e["seq"] for e in held] == list(range(1, 8))
    assert held[1]["body"] == {"member": "ana", "hours": "2.5", "task": "weeding beds",
                               "category": "care", "date": today}
    assert held[2]["body"] == {"member": "bo", "hours": "1.5", "task": "accounts",
                               "category": "facilitation", "date": "2026-11-20",
                               "paid": True, "note": "quarterly\nclose"}
    assert held[3]["body"] == {"item": "compost", "quantity": "40", "unit": "kg",
                               "direction": "in", "date": day_of(held[3])}
    assert held[4]["body"] == {"kwh": "12.4", "flow": "generated", "source": "local",
                               "date": day_of(held[4])}
    assert held[6]["body"]["to"] == "food bank"
    for prev, e in itertools.pairwise(held):
        assert e["prev"] == prev["id"]
        assert e["author"] == held[0]["author"]
        assert e["known_kind"] is True
        assert e["ts"] >= prev["ts"]


CHOICES = {
    "category": "production, care, facilitation, maintenance, learning, other",
    "direction": "in, out, used",
    "energy-flow": "consumed, generated",
    "goods-flow": "produced, distributed",
    "source": "local, grid",
}
MATERIAL = ("log", "material", "--item", "compost", "--quantity", "40", "--unit", "kg")
ENERGY = ("log", "energy", "--kwh", "3")
GOODS = ("log", "goods", "--item", "bread", "--quantity", "12", "--unit", "loaf")

MISTAKES = {
    "hours over 24": (
        (*LABOR[:5], "25", *LABOR[6:]), 1, ["error: --hours: must be at most 24"]),
    "hours with a comma": (
        (*LABOR[:5], "1,5", *LABOR[6:]), 2,
        ["Invalid value for --hours: '1,5' is not a decimal number"]),
    "hours zero": ((*LABOR[:5], "0", *LABOR[6:]), 1, ["--hours: must be greater than zero"]),
    "hours negative": (
        (*LABOR[:5], "-2", *LABOR[6:]), 1, ["--hours: must be greater than zero"]),
    "hours missing": (
        ("log", "labor", "--member", "ana", "--task", "weeding"), 2,
        ["Missing option '--hours'"]),
    "blank member": (
        ("log", "labor", "--member", " ", "--hours", "1", "--task", "x"), 1,
        ["error: --member: must not be empty"]),
    "bad category": (
        (*LABOR, "--category", "gardening"), 2,
        [f"Invalid value for --category: must be one of {CHOICES['category']}"]),
    "bad date": (
        (*LABOR, "--date", "2026-13-01"), 2, ["Invalid value for --date: expected a date "
                                              "YYYY-MM-DD"]),
    "date in words": ((*LABOR, "--date", "yesterday"), 2, ["--date: expected a date"]),
    "bad direction": (
        (*MATERIAL, "--direction", "sideways"), 2,
        [f"Invalid value for --direction: must be one of {CHOICES['direction']}"]),
    "negative quantity": (
        (*MATERIAL, "--quantity", "-3", "--direction", "in"), 1,
        ["--quantity: must be greater than zero"]),
    "bad energy flow": (
        (*ENERGY, "--flow", "sold", "--source", "local"), 2,
        [f"Invalid value for --flow: must be one of {CHOICES['energy-flow']}"]),
    "bad source": (
        (*ENERGY, "--flow", "consumed", "--source", "sun"), 2,
        [f"Invalid value for --source: must be one of {CHOICES['source']}"]),
    "bad goods flow": (
        (*GOODS, "--flow", "sold"), 2,
        [f"Invalid value for --flow: must be one of {CHOICES['goods-flow']}"]),
    "goods distributed to nobody": (
        (*GOODS, "--flow", "distributed"), 2,
        ["Invalid value for --to: say to whom goods were distributed"]),
    "unknown author": (
        ("entries", "--author", "Nobody Co-op"), 2,
        ["Invalid value for --author: no co-op named or with an id starting "
         "'Nobody Co-op' in this store"]),
    "author prefix too short": (("entries", "--author", "abc"), 2, ["--author: no co-op"]),
    "bad as-of": (
        ("state", "--as-of", "last tuesday"), 2,
        ["Invalid value for --as-of: expected a date (2026-11-23), a date-time "
         "(2026-11-23T18:00, UTC unless an offset is given) or milliseconds since 1970"]),
    "bad since": (("bundle", "export", "x.coopbundle", "--since", "soon"), 2,
                  ["Invalid value for --since: expected a date"]),
    "unknown command": (("log", "hours"), 2, ["No such command 'hours'"]),
}


@pytest.mark.parametrize("args,code,words", MISTAKES.values(), ids=MISTAKES.keys())
def test_user_mistakes_are_one_line_and_change_nothing(
    run: Run, garden: Path, args: tuple[str, ...], code: int, words: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(garden.parent)
    r = run(*args, "--home", garden)
    user_error(r, code, *words)
    assert count(garden) == 1
    assert not (garden.parent / "x.coopbundle").exists()


def test_import_of_a_file_that_is_not_a_bundle(run: Run, garden: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("minutes of the general assembly\n")
    r = run("bundle", "import", notes, "--home", garden)
    assert user_error(r, 1) == (
        "error: not a coopledger bundle (the file does not start with COOPBNDL)")
    r = run("bundle", "import", tmp_path / "missing.coopbundle", "--home", garden)
    user_error(r, 1, f"cannot read {tmp_path / 'missing.coopbundle'}",
               "No such file or directory")
    assert count(garden) == 1


@pytest.mark.parametrize("args", [
    ("entries",), ("state",), ("verify",), ("rebuild",), LABOR,
    ("bundle", "export", "out.coopbundle"), ("bundle", "import", "in.coopbundle"),
], ids=lambda a: " ".join(a[:2]))
def test_every_command_names_a_missing_home(run: Run, tmp_path: Path, args: tuple[str, ...],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "nowhere"
    r = run(*args, "--home", home)
    assert user_error(r, 1) == (
        f"error: no coopledger home at {home} (run `coop init --name NAME` first)")
    assert not home.exists()


def test_a_bug_still_shows_a_traceback(run: Run, garden: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("a bug in coop verify")

    monkeypatch.setattr("coopledger.cli._ledger.check_store", broken)
    with pytest.raises(RuntimeError, match="a bug in coop verify"):
        run("verify", "--home", garden)


def test_ctrl_c_exits_130(run: Run, garden: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("coopledger.cli._ledger.check_store", interrupted)
    r = run("verify", "--home", garden)
    assert r.code == 130
    assert "Traceback" not in r.err


# -- reading: entries, state, verify, rebuild --------------------------------------


def test_entries_table_and_filters(run: Run, garden: Path) -> None:
    log_some(run, garden)
    held = entries_json(run, garden)
    r = ok(run("entries", "--home", garden))
    assert r.out.startswith("3 entries\n")
    assert table_rows(r.out) == [
        ["co-op", "seq", "time (UTC)", "kind", "what", "entry"],
        ["Hillside Garden", "1", utc(held[0]["ts"]), "genesis",
         "co-op Hillside Garden begins its log", held[0]["id"][:8]],
        ["Hillside Garden", "2", utc(held[1]["ts"]), "labor",
         f"ana: 2.5 h care (unpaid), weeding beds, {day_of(held[1])}", held[1]["id"][:8]],
        ["Hillside Garden", "3", utc(held[2]["ts"]), "material", "in 40 kg compost",
         held[2]["id"][:8]],
    ]

    labor = entries_json(run, garden, "--kind", "labor")
    assert [e["id"] for e in labor] == [held[1]["id"]]
    assert entries_json(run, garden, "--kind", "goods") == []
    assert ok(run("entries", "--kind", "goods", "--home", garden)).out.startswith("0 entries")


def test_state_json_matches_the_store_and_a_fresh_fold(run: Run, garden: Path) -> None:
    log_some(run, garden)
    ok(run("log", "labor", "--member", "bo", "--hours", "1", "--task", "x", "--paid",
           "--home", garden))
    st = state_json(run, garden)
    assert HEX64.fullmatch(st["state_hash"])
    with store_of(garden) as store:
        assert st["state_hash"] == store.state().state_hash()
        assert st["state_hash"] == fold(list(store.entries())).state_hash()
    author = Home.open(garden).author.hex()
    coop = st["coops"][author]
    assert (coop["name"], coop["length"], coop["fork"], coop["broken"]) == (
        "Hillside Garden", 4, None, None)
    assert sorted(coop["totals"]["labor"]) == [
        ["ana", "care", False, "2.5"], ["bo", "production", True, "1"]]
    assert st["as_of"] is None

    r = ok(run("state", "--home", garden))
    assert f"Hillside Garden  {author}" in r.out
    assert "log: 4 entries apply" in r.out
    assert "compost" in r.out
    assert r.out.rstrip().endswith(f"state_hash {st['state_hash']}  (all held entries)")


class Clock:
    """A fake ``now_ms`` for the CLI: each call returns the next of ``times``."""

    def __init__(self, *times: str) -> None:
        self.times = [int(datetime.datetime.fromisoformat(t).timestamp() * 1000)
                      for t in times]

    def __call__(self) -> int:
        return self.times.pop(0)


def test_state_as_of(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock("2026-11-01T09:00:00+00:00", "2026-11-02T17:30:00+00:00",
                  "2026-11-05T08:00:00+00:00")
    monkeypatch.setattr("coopledger.node._home.now_ms", clock)
    monkeypatch.setattr("coopledger.cli._writer.now_ms", clock)
    home = tmp_path / "garden"
    ok(run("init", "--name", "Hillside Garden", "--home", home))
    ok(run(*LABOR, "--home", home))
    ok(run("log", "labor", "--member", "bo", "--hours", "4", "--task", "harvest",
           "--home", home))
    assert clock.times == []
    ts = [e["ts"] for e in entries_json(run, home)]
    assert ts == sorted(ts) and len(set(ts)) == 3

    full = state_json(run, home)
    coop = next(iter(full["coops"].values()))
    assert coop["length"] == 3

    def as_of(text: str) -> dict[str, Any]:
        st = state_json(run, home, "--as-of", text)
        (c,) = st["coops"].values()
        return {"as_of": st["as_of"], "length": c["length"], "hash": st["state_hash"],
                "members": sorted(row[0] for row in c["totals"].get("labor", []))}

    between = (ts[1] + ts[2]) // 2
    mid = as_of(str(between))
    assert mid == {"as_of": between, "length": 2, "hash": mid["hash"], "members": ["ana"]}
    assert mid["hash"] != full["state_hash"]
    # A date means the end of that day (UTC); a date-time is UTC unless it says otherwise.
    assert as_of("2026-11-02")["length"] == 2
    end_of_nov_2 = int(datetime.datetime(2026, 11, 3, tzinfo=datetime.UTC).timestamp()) * 1000
    assert as_of("2026-11-02")["as_of"] == end_of_nov_2 - 1
    assert as_of("2026-11-01")["length"] == 1
    assert as_of("2026-10-31")["length"] == 0
    assert as_of("2026-11-02T17:30")["length"] == 2  # ts <= as-of
    assert as_of("2026-11-02T17:29:59.999")["length"] == 1
    assert as_of("2026-11-02T18:00+02:00")["length"] == 1  # 16:00 UTC
    assert as_of("2026-11-05T08:00:00Z")["length"] == 3
    assert as_of(str(ts[2]))["hash"] != full["state_hash"]  # as_of is part of the state

    r = ok(run("state", "--as-of", "2026-11-02", "--home", home))
    assert "log: 2 entries apply" in r.out
    assert r.out.rstrip().endswith("(as of 2026-11-02 23:59:59Z)")


def test_verify_and_rebuild(run: Run, garden: Path) -> None:
    log_some(run, garden)
    h = state_json(run, garden)["state_hash"]
    r = ok(run("verify", "--home", garden))
    assert r.out.splitlines() == [
        f"3 entries checked; state_hash {h}",
        "all entries, chains and derived state are valid",
    ]
    assert r.err == ""

    # Damage the derived cache behind the store's back: verify notices, rebuild mends.
    db = sqlite3.connect(garden / "ledger.db")
    with db:
        db.execute("DELETE FROM derived")
        db.execute("DELETE FROM derived_totals")
    db.close()
    assert state_json(run, garden)["state_hash"] != h
    r = run("verify", "--home", garden)
    assert r.code == 1
    assert "Traceback" not in r.err
    assert r.err.splitlines() == [
        "store problem: derived state differs from a fresh fold of the entries "
        "(run `coop rebuild`)",
        "error: 1 store problems, 0 findings",
    ]
    assert r.out.splitlines() == [f"3 entries checked; state_hash {h}"]

    r = ok(run("rebuild", "--home", garden))
    assert r.out.splitlines() == [f"rebuilt the derived state from 3 entries; state_hash {h}"]
    assert state_json(run, garden)["state_hash"] == h
    ok(run("verify", "--home", garden))


def test_a_forked_log_is_found_and_cannot_grow(run: Run, garden: Path, tmp_path: Path) -> None:
    # Someone copied the home to a second laptop and both kept logging.
    twin = tmp_path / "twin"
    shutil.copytree(garden, twin)
    ok(run(*LABOR, "--home", garden))
    ok(run("log", "labor", "--member", "cy", "--hours", "3", "--task", "x", "--home", twin))
    bundle = tmp_path / "twin.coopbundle"
    ok(run("bundle", "export", bundle, "--home", twin))
    r = ok(run("bundle", "import", bundle, "--home", garden))
    assert "1 new, 1 already held, 0 rejected, 0 damaged" in r.out

    r = run("verify", "--home", garden)
    assert r.code == 1
    author = Home.open(garden).author[:4].hex()
    assert re.search(rf"^finding: Hillside Garden {author}…: fork at seq 2 \(entries "
                     r"[0-9a-f]{8}… and [0-9a-f]{8}…\); log frozen at seq 1$", r.err, re.M)
    assert r.err.splitlines()[-1] == "error: 0 store problems, 1 findings"
    assert "FORK at seq 2" in ok(run("state", "--home", garden)).out

    r = run(*LABOR, "--home", garden)
    assert user_error(r, 1) == ("error: our own log is forked at seq 2; it cannot grow "
                                "(see `coop verify`)")
    assert count(garden) == 3


# -- unknown kinds ------------------------------------------------------------------


def test_unknown_kinds_are_kept_shown_and_not_counted(run: Run, garden: Path,
                                                       tmp_path: Path) -> None:
    ok(run(*LABOR, "--home", garden))
    key = Home.open(garden).secret_key(None)
    with store_of(garden) as store:
        future = store.append(key, kind="x.future", body={"widgets": "7"}, ts=now_ms())
    assert future.seq == 3

    held = entries_json(run, garden)
    assert held[-1]["kind"] == "x.future"
    assert held[-1]["known_kind"] is False
    assert held[-1]["body"] == {"widgets": "7"}
    r = ok(run("entries", "--home", garden))
    assert "(kind x.future is unknown to this version: kept and relayed, not counted)" in r.out

    st = state_json(run, garden)
    coop = st["coops"][Home.open(garden).author.hex()]
    assert coop["unknown"] == {"x.future": 1}
    assert coop["length"] == 3
    assert set(coop["totals"]) == {"labor"}
    r = ok(run("state", "--home", garden))
    assert "1 entries of kind x.future (unknown to this version, not counted)" in r.out
    ok(run("verify", "--home", garden))

    # It travels on through a bundle to a node that does not know it either.
    bundle = tmp_path / "g.coopbundle"
    ok(run("bundle", "export", bundle, "--home", garden))
    repair = tmp_path / "repair"
    ok(run("init", "--name", "Repair Café", "--home", repair))
    ok(run("bundle", "import", bundle, "--home", repair))
    assert state_json(run, repair)["coops"][Home.open(garden).author.hex()]["unknown"] == {
        "x.future": 1}


# -- bundles: the two-home tour -----------------------------------------------------


@pytest.fixture
def two_homes(run: Run, garden: Path, tmp_path: Path) -> tuple[Path, Path]:
    repair = tmp_path / "repair"
    ok(run("init", "--name", "Repair Café", "--home", repair))
    log_some(run, garden)
    ok(run("log", "labor", "--member", "dee", "--hours", "3", "--task", "fixing kettles",
           "--category", "maintenance", "--home", repair))
    ok(run("log", "energy", "--kwh", "1.2", "--flow", "consumed", "--source", "grid",
           "--home", repair))
    ok(run("log", "goods", "--item", "kettle", "--quantity", "4", "--unit", "item",
           "--flow", "distributed", "--to", "neighbours", "--home", repair))
    return garden, repair


def test_two_homes_exchange_bundles_and_agree(run: Run, two_homes: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    garden, repair = two_homes
    g_file, r_file = tmp_path / "garden.coopbundle", tmp_path / "repair.coopbundle"
    r = ok(run("bundle", "export", g_file, "--home", garden))
    assert (r.out, r.err) == ("", f"wrote 3 entries to {g_file}\n")
    r = ok(run("bundle", "export", r_file, "--home", repair))
    assert r.err == f"wrote 4 entries to {r_file}\n"
    assert len(bundle_records(g_file)) == 3
    assert not list(tmp_path.glob("*.part"))

    assert state_json(run, garden)["state_hash"] != state_json(run, repair)["state_hash"]
    r = ok(run("bundle", "import", r_file, "--home", garden))
    assert r.out == f"{r_file}: 4 new, 0 already held, 0 rejected, 0 damaged\n"
    assert r.err == ""
    r = ok(run("bundle", "import", g_file, "--home", repair))
    assert r.out == f"{g_file}: 3 new, 0 already held, 0 rejected, 0 damaged\n"

    g_state, r_state = state_json(run, garden), state_json(run, repair)
    assert g_state["state_hash"] == r_state["state_hash"]
    assert g_state == r_state
    assert len(g_state["coops"]) == 2
    assert entries_json(run, garden) == entries_json(run, repair)
    ok(run("verify", "--home", garden))
    ok(run("verify", "--home", repair))

    # Importing again changes nothing.
    r = ok(run("bundle", "import", r_file, "--home", garden))
    assert r.out == f"{r_file}: 0 new, 4 already held, 0 rejected, 0 damaged\n"
    r = ok(run("bundle", "import", r_file, "--json", "--home", garden))
    report = r.json()
    assert (report["new"], report["held"], report["complete"], report["problems"]) == (
        0, 4, True, [])
    assert state_json(run, garden)["state_hash"] == g_state["state_hash"]

    # --author by name or by id prefix (any case); the others stay out.
    repair_id = Home.open(repair).author.hex()
    by_name = entries_json(run, garden, "--author", "Repair Café")
    assert [e["author"] for e in by_name] == [repair_id] * 4
    assert entries_json(run, garden, "--author", repair_id[:6]) == by_name
    assert entries_json(run, garden, "--author", repair_id[:8].upper()) == by_name
    r = ok(run("entries", "--author", "Repair Café", "--home", garden))
    assert r.out.startswith("4 entries") and "Hillside Garden" not in r.out

    only = tmp_path / "only-repair.coopbundle"
    ok(run("bundle", "export", only, "--author", repair_id[:8], "--home", garden))
    assert {decode_entry(rec.payload).author.hex() for rec in bundle_records(only)} == {
        repair_id}
    assert len(bundle_records(only)) == 4


def test_bundle_export_refuses_to_overwrite(run: Run, garden: Path, tmp_path: Path) -> None:
    target = tmp_path / "garden.coopbundle"
    target.write_bytes(b"last week's bundle")
    r = run("bundle", "export", target, "--home", garden)
    assert user_error(r, 1) == f"error: {target} already exists; refusing to overwrite it"
    assert target.read_bytes() == b"last week's bundle"
    assert not list(tmp_path.glob("*.part"))


def test_bundle_export_since(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock("2026-10-30T12:00:00+00:00", "2026-11-01T00:00:00+00:00")
    monkeypatch.setattr("coopledger.node._home.now_ms", clock)
    monkeypatch.setattr("coopledger.cli._writer.now_ms", clock)
    home = tmp_path / "garden"
    ok(run("init", "--name", "Hillside Garden", "--home", home))
    ok(run(*LABOR, "--home", home))
    out = tmp_path / "november.coopbundle"
    r = ok(run("bundle", "export", out, "--since", "2026-11-01", "--home", home))
    assert r.err == f"wrote 1 entries to {out}\n"
    (rec,) = bundle_records(out)
    assert decode_entry(rec.payload).kind == "labor"


@pytest.fixture
def garden_bundle(run: Run, two_homes: tuple[Path, Path], tmp_path: Path) -> Path:
    garden, _ = two_homes
    path = tmp_path / "garden.coopbundle"
    ok(run("bundle", "export", path, "--home", garden))
    return path


def test_a_damaged_record_is_reported_and_the_rest_imported(
    run: Run, two_homes: tuple[Path, Path], garden_bundle: Path, tmp_path: Path
) -> None:
    garden, repair = two_homes
    records = bundle_records(garden_bundle)
    victim = records[1]
    data = bytearray(garden_bundle.read_bytes())
    data[victim.offset + 5 + len(victim.payload) // 2] ^= 0x01  # inside the entry bytes
    bad = tmp_path / "damaged.coopbundle"
    bad.write_bytes(bytes(data))

    r = run("bundle", "import", bad, "--home", repair)
    assert r.code == 1
    assert "Traceback" not in r.err
    err = r.err.splitlines()
    assert re.fullmatch(rf"byte {victim.offset}: record rejected: invalid:damaged "
                        r"\(checksum mismatch \(\d+ bytes skipped\)\)", err[0])
    assert err[1:] == ["the bundle says it holds 3 entries; some did not arrive"]
    assert r.out == f"{bad}: 2 new, 0 already held, 0 rejected, 1 damaged\n"
    with store_of(repair) as store:
        ids = [decode_entry(rec.payload).id for rec in records]
        assert [store.has(i) for i in ids] == [True, False, True]

    r = run("bundle", "import", bad, "--json", "--home", repair)
    assert r.code == 1
    report = r.json()
    assert (report["new"], report["held"], report["damaged"], report["complete"]) == (
        0, 2, 1, False)
    assert [(p["offset"], p["reason"]) for p in report["problems"]] == [
        (victim.offset, "invalid:damaged")]
    garden_id = Home.open(garden).author.hex()
    st = state_json(run, repair)
    assert st["coops"][garden_id]["length"] == 1  # seq 3 waits for 2
    assert st["held"][garden_id] == 2
    assert "1 more held but not applied" in ok(run("state", "--home", repair)).out
    # The intact bundle fills the gap.
    r = ok(run("bundle", "import", garden_bundle, "--home", repair))
    assert "1 new, 2 already held" in r.out
    st = state_json(run, repair)
    assert st["coops"][garden_id]["length"] == st["held"][garden_id] == 3
    assert "held but not applied" not in ok(run("state", "--home", repair)).out


def test_a_forged_entry_is_rejected_by_signature(
    run: Run, two_homes: tuple[Path, Path], garden_bundle: Path, tmp_path: Path
) -> None:
    _, repair = two_homes
    records = bundle_records(garden_bundle)
    victim = records[2]
    forged = bytearray(victim.payload)
    forged[-10] ^= 0x80  # inside the signature; the checksum is made to match
    data = garden_bundle.read_bytes()
    end = victim.offset + 5 + len(victim.payload) + 4
    bad = tmp_path / "forged.coopbundle"
    bad.write_bytes(data[: victim.offset] + bundle_record(bytes(forged)) + data[end:])
    forged_id = decode_entry(bytes(forged)).id

    r = run("bundle", "import", bad, "--home", repair)
    assert r.code == 1
    assert r.err.splitlines() == [
        f"byte {victim.offset}: entry {forged_id[:4].hex()}… rejected: invalid:signature "
        "(signature does not verify for its author)"]
    assert r.out == f"{bad}: 2 new, 0 already held, 1 rejected, 0 damaged\n"
    with store_of(repair) as store:
        assert not store.has(forged_id)
        assert store.has(decode_entry(records[0].payload).id)
        assert store.has(decode_entry(records[1].payload).id)
    ok(run("verify", "--home", repair))


def test_text_from_entries_is_shown_as_written_never_as_markup(
    run: Run, tmp_path: Path
) -> None:
    # Names, members, tasks come from any co-op's entries: "[/]" once crashed Rich.
    home = tmp_path / "odd"
    name, member, task = "[/] Odd [red]co-op", "[/bold]", "[link=http://x]click[/link]"
    r = ok(run("init", "--home", home, "--name", name))
    assert f"Created co-op {name!r}" in r.out
    r = ok(run("log", "labor", "--home", home, "--member", member, "--hours", "1",
               "--task", task))
    assert member in r.out and task in r.out
    r = ok(run("state", "--home", home))
    assert name in r.out and member in r.out
    r = ok(run("entries", "--home", home))
    assert "[/bold]" in r.out


def test_state_with_many_coops_is_an_overview_and_author_shows_one(
    run: Run, garden: Path, tmp_path: Path
) -> None:
    # Seven co-ops' genesis entries in one store (bundled in from seven homes).
    names = [f"Co-op {c}" for c in "ABCDEFG"]
    for n in names:
        home = tmp_path / n.replace(" ", "_")
        ok(run("init", "--home", home, "--name", n))
        ok(run("log", "labor", "--home", home, "--member", "ana", "--hours", "2",
               "--task", "t"))
        bundle_file = tmp_path / f"{n}.coopbundle"
        ok(run("bundle", "export", "--home", home, bundle_file))
        ok(run("bundle", "import", "--home", garden, bundle_file))
    r = ok(run("state", "--home", garden))
    assert "8 co-ops (coop state --author NAME for one co-op's books)" in r.out
    for n in names:
        row = next(line for line in r.out.splitlines() if n in line)
        assert re.search(r"\b2\s+.\s+2\s+.\s+2\b", row), row  # apply, held, hours
    assert "labour hours" in r.out and "member" not in r.out  # no per-co-op tables
    whole = state_json(run, garden)["state_hash"]
    assert r.out.rstrip().splitlines()[-1].startswith(f"state_hash {whole}")

    r = ok(run("state", "--home", garden, "--author", "Co-op C"))
    assert "Co-op C" in r.out and "Co-op D" not in r.out and "member" in r.out
    assert f"state_hash {whole}" in r.out  # the hash still covers everything
    one = state_json(run, garden, "--author", "Co-op C")
    assert [c["name"] for c in one["coops"].values()] == ["Co-op C"]
    assert one["state_hash"] == whole
    user_error(run("state", "--home", garden, "--author", "Nobody"), 2, "--author")
