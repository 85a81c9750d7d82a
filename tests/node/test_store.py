"""The SQLite store: opening, appending our own log, adding others' entries, the
incremental derived state and the queries.

The store's contract (node/_store.py): every write is one transaction; the incremental
derived state always equals a fresh fold of the held entries; several Store objects
(processes) on one file see each other's writes and never fork our own log.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import threading
from pathlib import Path

import pytest
from nodekit import KEYS, fork_of, genesis, ledger, make_log, next_entry

from coopledger.node import AddResult, AppendError, Store, StoreError
from coopledger.node import _store as store_module
from coopledger.protocol import Entry, Folder, LedgerState, encode, fold, validate_chain

LABOR = {"member": "ana", "hours": "2", "task": "weeding", "category": "care",
         "date": "2026-11-01"}


def hashes(store: Store) -> tuple[str, str]:
    """(incremental state, fresh fold of the held entries)."""
    return store.state().state_hash(), store.state_as_of(None).state_hash()


def assert_consistent(store: Store, expected: LedgerState) -> None:
    inc, full = hashes(store)
    assert inc == full == expected.state_hash()


def table(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# -- opening ---------------------------------------------------------------------------


def test_open_missing_file_without_create_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    with pytest.raises(StoreError, match="no store at"):
        Store.open(path)
    assert not path.exists(), "a failed open must not leave an empty store behind"


def test_open_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="cannot open store"):
        Store.open(path)
    with pytest.raises(StoreError):
        Store.open(path, create=True)
    assert path.read_bytes().startswith(b"these are my notes"), "the file was not touched"


def test_open_a_store_of_another_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Store.open(path, create=True).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = 9 WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 9 is not supported"):
        Store.open(path)


def test_open_with_create_keeps_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        s.append(KEYS[0], kind="genesis", body={"name": "Garden"}, ts=1)
        before = s.state().state_hash()
    with Store.open(path, create=True) as s:
        assert s.count() == 1
        assert s.state().state_hash() == before


def test_create_rechecks_the_schema_inside_its_write_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes creating one store at once: the one that looked first and saw no
    schema must not re-initialise what the other has meanwhile created and written
    (that reset the generation counter, so a third reader could miss a write)."""
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        for i in range(3):
            s.append(KEYS[0], kind="genesis" if i == 0 else "labor",
                     body={"name": "Garden"} if i == 0 else LABOR, ts=i)
    generation = table(path, "SELECT value FROM meta WHERE key='generation'")
    real = store_module.schema_version
    calls = []

    def stale_first_look(db: sqlite3.Connection) -> int | None:
        calls.append(1)
        # The first look happens before the other process committed its schema.
        return None if len(calls) == 1 else real(db)

    monkeypatch.setattr(store_module, "schema_version", stale_first_look)
    Store.open(path, create=True).close()
    assert table(path, "SELECT value FROM meta WHERE key='generation'") == generation


# -- appending our own log --------------------------------------------------------------


def test_append_builds_a_valid_chain(tmp_path: Path) -> None:
    key = KEYS[0]
    with Store.open(tmp_path / "ledger.db", create=True) as s:
        with pytest.raises(AppendError, match="no genesis"):
            s.append(key, kind="labor", body=LABOR, ts=5)
        made = [s.append(key, kind="genesis", body={"name": "Garden"}, ts=1_000)]
        for ts in (2_000, 3_000, 2_500):  # the clock went backwards for the last one
            made.append(s.append(key, kind="labor", body=LABOR, ts=ts))
        assert [e.seq for e in made] == [1, 2, 3, 4]
        assert made[0].prev is None
        for prev, e in itertools.pairwise(made):
            validate_chain(e, prev)  # raises BrokenChain if not linked
        assert made[-1].ts == 3_000, "ts is raised to the previous entry's"
        st = s.state().authors[key.public.raw]
        assert (st.name, st.length, st.head) == ("Garden", 4, made[-1].id)
        assert s.own_head(key.public.raw) == (4, made[-1].id)
        assert [e.id for e in s.entries()] == [e.id for e in made]
        assert_consistent(s, fold(made))


def test_append_refuses_to_grow_a_forked_or_gapped_log(tmp_path: Path) -> None:
    key = KEYS[0]
    log = make_log(key, 4)
    with Store.open(":memory:") as s:
        s.add_entries([log[0], log[2]])  # seq 3 held, seq 2 missing
        with pytest.raises(AppendError, match="only 1 entries apply"):
            s.append(key, kind="labor", body=LABOR, ts=10_000)
        s.add_entries([log[1], log[3], fork_of(key, log, 4)])
        with pytest.raises(AppendError, match="forked at seq 4"):
            s.append(key, kind="labor", body=LABOR, ts=10_000)
        assert s.count() == 5, "a refused append stores nothing"


def check_unforked_chain(path: Path, key_index: int, n: int) -> None:
    with Store.open(path) as s:
        entries = list(s.entries(authors=[KEYS[key_index].public.raw]))
        assert [e.seq for e in entries] == list(range(1, n + 1))
        for prev, e in itertools.pairwise(entries):
            validate_chain(e, prev)
        assert s.fork_entries() == []
        assert table(path, "SELECT count(*) FROM forks") == [(0,)]
        st = s.state().authors[KEYS[key_index].public.raw]
        assert st.length == n and st.fork is None and st.broken is None
        assert_consistent(s, fold(entries))


def test_two_store_objects_appending_alternately_never_fork(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    key = KEYS[0]
    a = Store.open(path, create=True)
    b = Store.open(path)
    a.append(key, kind="genesis", body={"name": "Garden"}, ts=1)
    for i in range(20):
        (a if i % 2 else b).append(key, kind="labor", body=LABOR, ts=10 + i)
    # Each saw the other's last write without being told.
    assert a.state().state_hash() == b.state().state_hash()
    a.close()
    b.close()
    check_unforked_chain(path, 0, 21)


def test_two_threads_appending_concurrently_never_fork(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    key = KEYS[0]
    with Store.open(path, create=True) as s:
        s.append(key, kind="genesis", body={"name": "Garden"}, ts=1)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with Store.open(path) as s:
                start.wait(timeout=30)
                for i in range(50):
                    s.append(key, kind="labor", body=LABOR, ts=1_000 * n + i)
        except BaseException as exc:  # reported by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "appending threads hung"
    assert errors == []
    check_unforked_chain(path, 0, 101)


# -- adding entries ---------------------------------------------------------------------


def test_add_entries_is_idempotent(tmp_path: Path) -> None:
    entries = ledger(3, 6, seed=1)
    with Store.open(tmp_path / "ledger.db", create=True) as s:
        first = s.add_entries(entries + entries[:4])  # duplicates inside one batch too
        assert sorted(first.new) == sorted(e.id for e in entries)
        assert first.held == [] and first.applied == len(entries) and not first.rebuilt
        state = s.state().state_hash()
        rows = table(s.path, "SELECT * FROM entries ORDER BY rowid")
        derived = table(s.path, "SELECT * FROM derived ORDER BY author")
        again = s.add_entries(list(reversed(entries)))
        assert again == AddResult([], again.held, 0, False)
        assert sorted(again.held) == sorted(e.id for e in entries)
        assert s.state().state_hash() == state
        assert table(s.path, "SELECT * FROM entries ORDER BY rowid") == rows
        assert table(s.path, "SELECT * FROM derived ORDER BY author") == derived
        assert s.count() == len(entries)


def test_a_batch_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the rows are inserted (here: inside the fold, after it has
    advanced the in-memory state) leaves neither rows nor derived changes behind, and
    the in-memory state is the committed one again."""
    path = tmp_path / "ledger.db"
    entries = ledger(3, 8, seed=2)
    first, second = entries[:10], entries[10:]
    with Store.open(path, create=True) as s:
        s.add_entries(first)
        committed = s.state().state_hash()
        snapshot = {t: table(path, f"SELECT * FROM {t}") for t in
                    ("entries", "refs", "forks", "derived", "meta")}
        real_advance = Folder.advance

        def advance_then_fail(self: Folder, authors: object) -> list[Entry]:
            applied = real_advance(self, authors)  # type: ignore[arg-type]
            assert applied, "the failure must come after the fold changed the state"
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(Folder, "advance", advance_then_fail)
        with pytest.raises(RuntimeError, match="disk on fire"):
            s.add_entries(second)
        monkeypatch.undo()
        for t, rows in snapshot.items():
            assert table(path, f"SELECT * FROM {t}") == rows, f"table {t} changed"
        assert not any(s.has(e.id) for e in second)
        assert s.state().state_hash() == committed
        assert s.state_as_of(None).state_hash() == committed
        # The same batch goes in cleanly afterwards.
        res = s.add_entries(second)
        assert len(res.new) == len(second)
        assert_consistent(s, fold(entries))


def test_refs_across_authors_arriving_out_of_order() -> None:
    a, b = KEYS[0], KEYS[1]
    alog = make_log(a, 4)
    b1 = genesis(b, "Repair")
    b2 = next_entry(b, b1, 1, refs=[alog[2].id])  # waits for A's seq 3
    b3 = next_entry(b, b2, 2)
    with Store.open(":memory:") as s:
        res = s.add_entries([b3, b1, b2])
        assert res.applied == 1  # b1 only: b2 waits for its ref
        assert s.state().authors[b.public.raw].length == 1
        res = s.add_entries([alog[0], alog[2]])  # a gap: A stops at 1
        assert res.applied == 1 and s.state().authors[b.public.raw].length == 1
        res = s.add_entries([alog[1]])  # A runs to 3, which wakes B
        assert res.applied == 2 + 2
        assert s.state().authors[a.public.raw].length == 3
        assert s.state().authors[b.public.raw].length == 3
        assert_consistent(s, fold([*alog[:3], b1, b2, b3]))


def test_a_fork_below_the_applied_prefix_rebuilds() -> None:
    """A fork that arrives after its branch was applied withdraws that history and
    everything that refs it (the NeedsRebuild path)."""
    a, b = KEYS[0], KEYS[1]
    alog = make_log(a, 5)
    b1 = genesis(b, "Repair")
    b2 = next_entry(b, b1, 1)
    b3 = next_entry(b, b2, 2, refs=[alog[3].id])  # depends on A's seq 4
    with Store.open(":memory:") as s:
        res = s.add_entries([*alog, b1, b2, b3])
        assert not res.rebuilt
        assert s.state().authors[b.public.raw].length == 3
        fork = fork_of(a, alog, 3)
        res = s.add_entries([fork])
        assert res.rebuilt and res.new == [fork.id]
        st_a = s.state().authors[a.public.raw]
        assert st_a.length == 2 and st_a.fork is not None and st_a.fork.seq == 3
        assert {st_a.fork.a, st_a.fork.b} == {alog[2].id, fork.id}
        assert s.state().authors[b.public.raw].length == 2, "b3 refs withdrawn history"
        assert_consistent(s, fold([*alog, b1, b2, b3, fork]))
        assert s.rebuild().state_hash() == fold([*alog, b1, b2, b3, fork]).state_hash()


def deliver(store: Store, entries: list[Entry], rnd: random.Random) -> bool:
    """Add ``entries`` in random batches, checking the cache after each; True if any
    batch went through the rebuild path."""
    rebuilt = False
    i = 0
    while i < len(entries):
        n = rnd.randint(1, 12)
        res = store.add_entries(entries[i : i + n])
        rebuilt |= res.rebuilt
        i += n
        assert store.state().state_hash() == store.state_as_of(None).state_hash()
    return rebuilt


@pytest.mark.parametrize("seed", range(10))
def test_incremental_state_equals_full_fold_over_random_batchings(seed: int) -> None:
    rnd = random.Random(seed)
    entries = ledger(5, 12, seed=seed, ref_rate=0.4)
    by_author: dict[bytes, list[Entry]] = {}
    for e in entries:
        by_author.setdefault(e.author, []).append(e)
    k0, k1 = KEYS[0], KEYS[1]
    # Two forks: one low in a log, one at a log's head.
    forks = [fork_of(k0, by_author[k0.public.raw], 2 + seed % 5),
             fork_of(k1, by_author[k1.public.raw], len(by_author[k1.public.raw]))]
    expected = fold(entries + forks)
    dups = [rnd.choice(entries) for _ in range(15)]

    # (a) Everything, forks included, in a random order with duplicates.
    anywhere = entries + forks + dups
    rnd.shuffle(anywhere)
    with Store.open(":memory:") as s:
        deliver(s, anywhere, rnd)
        assert_consistent(s, expected)

    # (b) The forks arrive after their branches were applied: the rebuild path.
    before = entries + dups
    rnd.shuffle(before)
    after = [*forks, *rnd.sample(entries, 5)]
    rnd.shuffle(after)
    with Store.open(":memory:") as s:
        assert not deliver(s, before, rnd)
        assert_consistent(s, fold(entries))
        assert deliver(s, after, rnd), "the late low fork went through the rebuild path"
        assert_consistent(s, expected)
        assert s.rebuild().state_hash() == expected.state_hash()
        assert s.state().state_hash() == expected.state_hash()


# -- several Store objects, reopening ---------------------------------------------------


def test_a_second_store_sees_writes_of_the_first(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    alog, blog = make_log(KEYS[0], 3), make_log(KEYS[1], 3)
    with Store.open(path, create=True) as a, Store.open(path) as b:
        assert b.state().authors == {}
        a.add_entries(alog)
        assert b.state().authors[KEYS[0].public.raw].length == 3
        b.add_entries(blog)
        assert a.state().authors[KEYS[1].public.raw].length == 3
        assert a.state().state_hash() == b.state().state_hash() == fold(alog + blog).state_hash()
        b.rebuild()
        assert a.state().state_hash() == fold(alog + blog).state_hash()


def test_a_write_between_loading_rows_and_generation_is_not_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process commits while this Store reloads its cache. Whatever the
    interleaving, the reloaded state may be older than the generation it remembers only
    if it reloads again on the next state() call, so the write is never missed."""
    path = tmp_path / "ledger.db"
    alog, blog = make_log(KEYS[0], 2), make_log(KEYS[1], 2)
    with Store.open(path, create=True) as a, Store.open(path) as b:
        a.add_entries(alog)
        real = Store._current_generation
        calls = []

        def generation_with_a_write_before(self: Store) -> int:
            if self is b:
                calls.append(1)
                # Call 1 is state()'s staleness check, call 2 is inside the reload:
                # the other process commits right then.
                if len(calls) == 2:
                    a.add_entries(blog)
            return real(self)

        monkeypatch.setattr(Store, "_current_generation", generation_with_a_write_before)
        b.state()  # sees A's first write and reloads; the second lands meanwhile
        assert len(calls) == 2
        monkeypatch.undo()
        assert b.state().state_hash() == fold(alog + blog).state_hash()


def test_a_damaged_derived_table_does_not_lock_the_store(tmp_path: Path) -> None:
    """Undecodable or malformed cache rows: the store still opens (state from a fresh
    fold of the entries), says the table is damaged, and rebuild() rewrites it."""
    path = tmp_path / "ledger.db"
    entries = ledger(3, 6, seed=6)
    expected = fold(entries).state_hash()
    with Store.open(path, create=True) as s:
        s.add_entries(entries)
    for junk in (b"\xc1", encode({}), encode([1, 2]), encode({"name": None, "totals": 5})):
        db = sqlite3.connect(path)
        db.execute("UPDATE derived SET state = ? WHERE rowid = 1", (junk,))
        db.commit()
        db.close()
        with Store.open(path) as s:
            assert s.derived_damaged
            assert s.state().state_hash() == expected
            s.rebuild()
            assert not s.derived_damaged
        with Store.open(path) as s:
            assert not s.derived_damaged and s.state().state_hash() == expected


def test_reopening_loads_the_derived_table_without_folding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    entries = ledger(4, 10, seed=3)
    with Store.open(path, create=True) as s:
        s.add_entries(entries)
        expected = s.state().state_hash()

    def no_folding(*args: object, **kw: object) -> None:
        raise AssertionError("opening a store must not fold its entries")

    monkeypatch.setattr(store_module, "fold_source", no_folding)
    monkeypatch.setattr(Folder, "advance", no_folding)
    with Store.open(path) as s:
        assert s.state().state_hash() == expected
        assert len(s.state().authors) == 4
    monkeypatch.undo()
    # And what it loads really is the table: change a row, and the open store shows it.
    db = sqlite3.connect(path)
    author = entries[0].author
    other = fold(entries[:1]).authors[author]
    db.execute("UPDATE derived SET state = ? WHERE author = ?",
               (encode(other.stored_value() | {"totals": other.to_value()["totals"]}), author))
    db.commit()
    db.close()
    with Store.open(path) as s:
        assert s.state().state_hash() != expected


# -- queries ----------------------------------------------------------------------------


def test_state_as_of_filters_by_timestamp() -> None:
    a, b = KEYS[0], KEYS[1]
    alog = make_log(a, 5, start_ts=1_000, step_ms=1_000)  # ts 1000 … 5000
    b1 = genesis(b, "Repair", 1_500)
    b2 = next_entry(b, b1, 1, ts=2_000, refs=[alog[3].id])  # refs A's entry at 4000
    with Store.open(":memory:") as s:
        s.add_entries([*alog, b1, b2])
        for as_of, a_len, b_len in [(0, 0, 0), (999, 0, 0), (1_000, 1, 0), (2_500, 2, 1),
                                    (3_999, 3, 1), (4_000, 4, 2), (10**12, 5, 2)]:
            st = s.state_as_of(as_of)
            assert st.as_of == as_of
            assert st.authors[a.public.raw].length == a_len, as_of
            assert st.authors[b.public.raw].length == b_len, as_of
            assert st.state_hash() == fold([*alog, b1, b2], as_of=as_of).state_hash()
        assert s.state_as_of(None).state_hash() == s.state().state_hash()


def test_iter_raw_filters_and_order() -> None:
    entries = ledger(3, 8, seed=4)
    fork = fork_of(KEYS[1], [e for e in entries if e.author == KEYS[1].public.raw], 3)
    held = [*entries, fork]
    with Store.open(":memory:") as s:
        random.Random(4).shuffle(held)
        s.add_entries(held)

        def ids(**kw: object) -> list[bytes]:
            return [i for i, _ in s.iter_raw(**kw)]  # type: ignore[arg-type]

        def expect(pred: object) -> list[bytes]:
            chosen = [e for e in held if pred(e)]  # type: ignore[operator]
            return [e.id for e in sorted(chosen, key=lambda e: (e.author, e.seq, e.id))]

        assert ids() == expect(lambda e: True)
        raws = dict(s.iter_raw())
        assert all(raws[e.id] == e.raw for e in held)
        a1, a2 = KEYS[1].public.raw, KEYS[2].public.raw
        assert ids(authors=[a1]) == expect(lambda e: e.author == a1)
        assert ids(authors=[a2, a1]) == expect(lambda e: e.author in (a1, a2))
        assert ids(authors=[]) == []
        assert ids(kind="labor") == expect(lambda e: e.kind == "labor")
        assert ids(kind="labor") != [] and ids(kind="nothing.here") == []
        since = sorted(e.ts for e in held)[len(held) // 2]
        assert ids(since=since) == expect(lambda e: e.ts >= since)
        assert ids(authors=[a1], kind="genesis", since=0) == expect(
            lambda e: e.author == a1 and e.kind == "genesis")
        assert [e.id for e in s.entries(authors=[a2])] == ids(authors=[a2])


def test_fork_entries_are_the_proofs() -> None:
    a, b = KEYS[0], KEYS[1]
    alog, blog = make_log(a, 4), make_log(b, 3)
    f1 = fork_of(a, alog, 2)
    f2 = next_entry(a, alog[0], 99, ts=alog[1].ts + 7)  # a third entry at seq 2
    with Store.open(":memory:") as s:
        s.add_entries(alog + blog)
        assert s.fork_entries() == []
        s.add_entries([f1, f2])
        proofs = {alog[1].raw, f1.raw, f2.raw}
        assert sorted(s.fork_entries()) == sorted(proofs)
        assert sorted(s.fork_entries([a.public.raw])) == sorted(proofs)
        assert s.fork_entries([b.public.raw]) == []
        # A later fork of B is listed too, and only under B.
        fb = fork_of(b, blog, 3)
        s.add_entries([fb])
        assert sorted(s.fork_entries([b.public.raw])) == sorted([blog[2].raw, fb.raw])
        assert len(s.fork_entries()) == 5


def test_another_programs_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another program"):
        Store.open(path)
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    db.close()
    assert tables == ["photos"]


def test_a_new_entry_rewrites_only_the_totals_it_changes(tmp_path: Path) -> None:
    # The derived cache's write cost follows the change, not the size of the state:
    # with hundreds of distinct totals, one more labour entry writes the same few rows.
    def labor(member: str) -> dict[str, object]:
        return {"member": member, "hours": "1", "task": "t", "category": "care",
                "date": "2026-11-01"}

    with Store.open(tmp_path / "ledger.db", create=True) as s:
        s.append(KEYS[0], kind="genesis", body={"name": "Garden"}, ts=1)
        for i in range(300):
            s.append(KEYS[0], kind="labor", body=labor(f"member {i}"), ts=2)
        before = s._db.total_changes
        s.append(KEYS[0], kind="labor", body=labor("member 7"), ts=3)
        # the entry, the co-op's header row, one total, the generation counter
        assert s._db.total_changes - before == 4
        assert s.state().state_hash() == s.state_as_of(None).state_hash()


def test_append_refuses_refs_that_do_not_apply_here(tmp_path: Path) -> None:
    # Our own entry would wait for the ref, and our whole log behind it.
    other = make_log(KEYS[1], 3, name="Repair")
    with Store.open(tmp_path / "ledger.db", create=True) as s:
        s.append(KEYS[0], kind="genesis", body={"name": "Garden"}, ts=1)
        s.add_entries([other[2]])  # seq 3 without 1 and 2: held, not applied
        body = {"kwh": "1", "flow": "generated", "source": "local"}
        with pytest.raises(AppendError, match="does not apply here yet"):
            s.append(KEYS[0], kind="energy", body=body, ts=2, refs=[other[2].id])
        with pytest.raises(AppendError, match="is not held here"):
            s.append(KEYS[0], kind="energy", body=body, ts=2, refs=[bytes(32)])
        s.add_entries(other[:2])  # the gap fills: now the ref applies
        e = s.append(KEYS[0], kind="energy", body=body, ts=2, refs=[other[2].id])
        assert s.state().authors[KEYS[0].public.raw].length == e.seq == 2


def test_sqlite_errors_after_opening_leave_node_as_store_errors(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Store.open(path, create=True) as s:
        s.append(KEYS[0], kind="genesis", body={"name": "Garden"}, ts=1)
        # Another program overwrites the file while we hold it open.
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{path}{suffix}")
            if p.exists():
                p.write_bytes(b"this is no longer a database" * 200)
        with pytest.raises(StoreError, match="could not be read or written"):
            s.count()
        with pytest.raises(StoreError, match="could not be read or written"):
            list(s.iter_raw())
