"""``coop verify``'s engine: check_store tells store damage (our problem) from ledger
findings (an author's misconduct), and rebuild() repairs the derived cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nodekit import KEYS, bad_signature, fork_of, ledger, make_log

from coopledger.node import Store, check_store
from coopledger.protocol import Entry, create_entry, encode, entry_id, fold


def make_store(path: Path, entries: list[Entry]) -> str:
    with Store.open(path, create=True) as s:
        s.add_entries(entries)
        return s.state().state_hash()


def sql(path: Path, statement: str, args: tuple = ()) -> None:
    db = sqlite3.connect(path)
    db.execute(statement, args)
    db.commit()
    db.close()


def test_a_healthy_store_is_ok(tmp_path: Path) -> None:
    entries = ledger(4, 12, seed=7)
    expected = make_store(tmp_path / "ledger.db", entries)
    progress: list[int] = []
    with Store.open(tmp_path / "ledger.db") as s:
        report = check_store(s, progress=progress.append)
    assert report.ok, (report.store_problems, report.findings)
    assert report.entries == len(entries)
    assert report.state_hash == expected == fold(entries).state_hash()
    assert progress and progress[-1] == len(entries)


def test_damaged_entry_bytes_are_store_problems(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    entries = ledger(3, 8, seed=8)
    make_store(path, entries)
    victims = entries[4], entries[9], entries[13]

    # 1. A flipped bit in a row's bytes: the id no longer matches.
    raw = bytearray(victims[0].raw)
    raw[-3] ^= 0x04
    sql(path, "UPDATE entries SET raw = ? WHERE id = ?", (bytes(raw), victims[0].id))
    # 2. Bytes and id replaced consistently, but the signature is not the author's.
    forged = bad_signature(victims[1])
    sql(path, "UPDATE entries SET raw = ?, id = ? WHERE id = ?",
        (forged.raw, forged.id, victims[1].id))
    # 3. The indexed columns disagree with the envelope.
    sql(path, "UPDATE entries SET ts = ts + 1 WHERE id = ?", (victims[2].id,))
    with Store.open(path) as s:
        report = check_store(s)
    assert not report.ok
    problems = "\n".join(report.store_problems)
    assert f"entry {victims[0].id[:4].hex()}…: id does not match its bytes" in problems
    assert f"entry {forged.id[:4].hex()}…: signature does not verify" in problems
    assert f"entry {victims[2].id[:4].hex()}…: index columns disagree" in problems
    assert report.entries == len(entries)


def test_undecodable_row_is_a_store_problem(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    entries = make_log(KEYS[0], 4)
    make_store(path, entries)
    junk = b"\xc1 not msgpack"
    sql(path, "UPDATE entries SET raw = ?, id = ? WHERE id = ?",
        (junk, entry_id(junk), entries[2].id))
    with Store.open(path) as s:
        report = check_store(s)
    assert len(report.store_problems) == 2, report.store_problems
    assert report.store_problems[0].startswith(f"entry {entry_id(junk)[:4].hex()}…: "
                                                "invalid:encoding")
    # The fold cannot read that row either: said, not raised.
    assert report.store_problems[1] == (
        "the entries cannot be folded (BadEncoding); derived state not checked")


def test_a_damaged_derived_table_is_reported_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    entries = ledger(3, 10, seed=9)
    expected = make_store(path, entries)
    author = entries[0].author
    wrong = fold(entries[:1]).authors[author]  # a plausible but stale row
    with Store.open(path) as s:
        # The table changes under an open store (another process, a disk fault).
        sql(path, "UPDATE derived SET state = ? WHERE author = ?",
            (encode(wrong.stored_value() | {"totals": wrong.to_value()["totals"]}), author))
        report = check_store(s)
        assert report.store_problems == [
            "derived state differs from a fresh fold of the entries (run `coop rebuild`)"]
        assert report.findings == [] and report.state_hash == expected
        assert s.state().state_hash() != expected, "state() shows the damaged table"
        assert s.rebuild().state_hash() == expected
        assert check_store(s).ok
    with Store.open(path) as s:
        assert s.state().state_hash() == expected and check_store(s).ok


def test_an_undecodable_derived_row_is_reported_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    expected = make_store(path, ledger(2, 5, seed=10))
    sql(path, "UPDATE derived SET state = x'c1' WHERE rowid = 1")
    with Store.open(path) as s:
        report = check_store(s)
        assert report.store_problems == [
            "the derived state table is damaged (run `coop rebuild`)"]
        assert report.state_hash == expected
        s.rebuild()
        assert check_store(s).ok


def test_a_wrong_forks_table_is_a_store_problem(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    make_store(path, make_log(KEYS[0], 3))
    sql(path, "INSERT INTO forks VALUES (?, 2)", (KEYS[0].public.raw,))
    with Store.open(path) as s:
        assert check_store(s).store_problems[0] == "the forks table does not match the entries"


def test_forks_and_broken_chains_are_findings_not_store_problems(tmp_path: Path) -> None:
    a, b = KEYS[0], KEYS[1]
    alog = make_log(a, 5, name="Hillside Garden")
    blog = make_log(b, 3, name="Repair Collective")
    fork = fork_of(a, alog, 3)
    # Validly signed, but its prev is not the id of seq 3.
    broken = create_entry(b, seq=4, prev=bytes(32), ts=blog[-1].ts + 1, kind="x.note",
                          body={})
    path = tmp_path / "ledger.db"
    make_store(path, [*alog, *blog, fork, broken])
    with Store.open(path) as s:
        report = check_store(s)
    assert report.store_problems == []
    assert not report.ok
    x, y = sorted([alog[2].id, fork.id])
    findings = {
        a.public.raw: f"Hillside Garden {a.public.raw[:4].hex()}…: fork at seq 3 (entries "
                      f"{x[:4].hex()}… and {y[:4].hex()}…); log frozen at seq 2",
        b.public.raw: f"Repair Collective {b.public.raw[:4].hex()}…: chain broken at seq 4 "
                      "(prev does not follow seq 3)",
    }
    assert report.findings == [findings[k] for k in sorted(findings)]
