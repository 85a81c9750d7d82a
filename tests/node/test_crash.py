"""A real crash: kill -9 an importing process and check the store.

Two ways: at three points chosen by timing (the importer is killed when a separate
connection sees enough committed rows, whatever it is then doing), and at three points
chosen exactly (the importer kills itself inside a batch's write transaction, after the
entries are inserted and before the derived rows and the commit).

A crash at any instant (kill -9) leaves a consistent store (docs/architecture.md, "The
node at runtime"). Here a
child process imports a bundle of 30,000 entries (20 co-ops, with cross-co-op refs) in
batches of 500, one transaction each. When a separate read-only connection sees the
store pass a threshold, the child gets SIGKILL at whatever it is doing (verifying,
inserting, folding, committing). Afterwards:

* the store opens and ``check_store`` finds nothing wrong;
* it holds exactly a prefix of the bundle, in the bundle's order;
* its derived state is a fresh fold of that prefix;
* importing the whole bundle again ends where a clean import ends.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodekit import KEYS, NAMES, bundle, genesis, next_entry

from coopledger.node import Store, check_store, import_bundle
from coopledger.protocol import Entry, fold

pytestmark = pytest.mark.slow

N_ENTRIES = 30_000
N_AUTHORS = 20
BATCH = 500
DEADLINE_S = 120.0

IMPORTER = """
import sys
from coopledger.node import Store, import_bundle
store = Store.open(sys.argv[2], create=True)
with open(sys.argv[1], "rb") as f:
    report = import_bundle(store, f, batch_size=int(sys.argv[3]))
print("finished", report.new, flush=True)
"""


@dataclass(frozen=True)
class BigBundle:
    path: Path
    ids: list[bytes]
    clean_hash: str


def build_entries() -> list[Entry]:
    """20 logs, interleaved; about one entry in ten refs another co-op's head."""
    rnd = random.Random(30_000)
    keys = KEYS[:N_AUTHORS]
    heads = [genesis(k, f"{NAMES[i % len(NAMES)]} {i}", 1_000 + i) for i, k in enumerate(keys)]
    entries = list(heads)
    for i in range(N_ENTRIES - N_AUTHORS):
        a = rnd.randrange(N_AUTHORS)
        refs = []
        if rnd.random() < 0.1:
            refs = [heads[(a + 1 + rnd.randrange(N_AUTHORS - 1)) % N_AUTHORS].id]
        heads[a] = next_entry(keys[a], heads[a], i, refs=refs)
        entries.append(heads[a])
    return entries


@pytest.fixture(scope="session")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> BigBundle:
    entries = build_entries()
    d = tmp_path_factory.mktemp("crash")
    path = d / "big.bundle"
    path.write_bytes(bundle(entries))
    with Store.open(d / "clean.db", create=True) as clean, path.open("rb") as f:
        report = import_bundle(clean, f)
        assert report.ok and report.new == N_ENTRIES
        clean_hash = clean.state().state_hash()
    assert clean_hash == fold(entries).state_hash()
    return BigBundle(path, [e.id for e in entries], clean_hash)


def count_rows(db_path: Path) -> int | None:
    """Entries committed so far, seen through a read-only connection (None: no store yet)."""
    if not db_path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return None  # the schema is being created


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.update(int(c) for c in (task / "children").read_text().split())
    return out


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait (on pidfds, no polling) until every process in ``pids`` has exited; return
    those still running after ``timeout`` seconds. They need not be our children."""
    deadline = time.monotonic() + timeout
    running = set()
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # already gone
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                running.add(pid)
        finally:
            os.close(fd)
    return running


def import_and_kill(bundle_path: Path, db_path: Path, threshold: int) -> tuple[int, set[int]]:
    """Start the importer, SIGKILL it once ``threshold`` entries are committed; return
    the count seen just before the kill and the importer's worker processes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, str(bundle_path), str(db_path), str(BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + DEADLINE_S
    try:
        while True:
            seen = count_rows(db_path)
            if seen is not None and seen >= threshold:
                break
            try:
                # Waits a moment, and notices at once if the importer ended early.
                proc.wait(timeout=0.005)
            except subprocess.TimeoutExpired:
                pass
            else:
                out, err = proc.communicate()
                pytest.fail(f"the importer ended before the kill: {out!r} {err[-2000:]!r}")
            assert time.monotonic() < deadline, f"no {threshold} entries after {DEADLINE_S}s"
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return seen, workers


@pytest.mark.parametrize("threshold", [1_000, 12_000, 24_000])
def test_kill_9_during_import_leaves_a_consistent_prefix(
    big_bundle: BigBundle, tmp_path: Path, threshold: int
) -> None:
    db_path = tmp_path / "ledger.db"
    seen, workers = import_and_kill(big_bundle.path, db_path, threshold)

    # The verification workers notice their parent is gone and exit.
    if (os.cpu_count() or 1) > 1:
        assert workers, "the importer verified in worker processes"
    assert wait_gone(workers, 30) == set(), "orphaned verifier workers still run"

    with Store.open(db_path) as store:
        held = store.count()
        assert threshold <= seen <= held < N_ENTRIES, "killed mid-import"
        assert_consistent_prefix(store, big_bundle, held)


# Kills at a moment chosen by the test, not by timing: the importer SIGKILLs itself in
# the middle of the n-th batch's transaction, after its entries are inserted and before
# the derived rows and the commit.
SELF_KILLER = """
import os, signal, sys
import coopledger.node._store as store_module
from coopledger.node import Store, import_bundle
calls, real = [0], store_module.write_derived
def write_derived_then_die(*args, **kwargs):
    calls[0] += 1
    if calls[0] == int(sys.argv[4]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
store_module.write_derived = write_derived_then_die
store = Store.open(sys.argv[2], create=True)
with open(sys.argv[1], "rb") as f:
    import_bundle(store, f, batch_size=int(sys.argv[3]))
print("not killed", flush=True)
"""


@pytest.mark.parametrize("batch", [1, 7, 40])
def test_kill_9_inside_a_transaction_loses_exactly_that_batch(
    big_bundle: BigBundle, tmp_path: Path, batch: int
) -> None:
    db_path = tmp_path / "ledger.db"
    proc = subprocess.run(
        [sys.executable, "-c", SELF_KILLER, str(big_bundle.path), str(db_path), str(BATCH),
         str(batch)],
        capture_output=True, text=True, timeout=DEADLINE_S,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr[-2000:]
    with Store.open(db_path) as store:
        held = store.count()
        assert held == (batch - 1) * BATCH  # the batch in flight left no trace
        assert_consistent_prefix(store, big_bundle, held)


def assert_consistent_prefix(store: Store, big_bundle: BigBundle, held: int) -> None:
    """What a crashed import must leave: a clean store holding a prefix of the bundle,
    whose derived state is a fresh fold, and from which the import can complete."""
    assert held % BATCH == 0, "whole batches only: one transaction per batch"
    report = check_store(store)
    assert report.store_problems == [] and report.findings == [] and report.ok
    # Exactly a prefix of the bundle, in its order.
    held_ids = {i for i, _ in store.iter_raw()}
    assert held_ids == set(big_bundle.ids[:held])
    # The derived cache is a fresh fold of what is held.
    derived = store.state().state_hash()
    assert derived == store.state_as_of(None).state_hash() == report.state_hash
    assert derived != big_bundle.clean_hash  # (every caller stops short of the end)

    # The same bundle again completes the import.
    with big_bundle.path.open("rb") as f:
        again = import_bundle(store, f, batch_size=2_000)
    assert again.ok
    assert (again.new, again.held) == (N_ENTRIES - held, held)
    assert store.state().state_hash() == big_bundle.clean_hash
    assert store.state_as_of(None).state_hash() == big_bundle.clean_hash
