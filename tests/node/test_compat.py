"""Stores written by every schema version still open, verify and fold the same.

The fixture files are written once by fixtures/make_store.py (at the schema version of
the day) and never regenerated. They all hold the same entries, one of them a fork.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from coopledger.node import Store, check_store
from coopledger.node._store import SCHEMA_VERSION

FIXTURES = Path(__file__).with_name("fixtures")
# Printed by make_store.py when each fixture was written (the same for all of them).
STATE_HASH = "124325f9ce48e5daf74fa0096bee58520a8629e3e48d6e1a61568f224eed9517"


def test_there_is_a_fixture_for_the_current_schema_version() -> None:
    assert (FIXTURES / f"store-v{SCHEMA_VERSION}.db").exists(), (
        "new schema version: run tests/node/fixtures/make_store.py and commit the file")


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_store_of_each_version_opens_verifies_and_folds_the_same(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "ledger.db"
    shutil.copy(FIXTURES / f"store-v{version}.db", path)
    with Store.open(path) as store:  # upgrades older versions in place
        assert store.count() == 6
        assert store.state().state_hash() == STATE_HASH
        report = check_store(store)
        assert report.store_problems == []
        assert report.state_hash == STATE_HASH
        # The fixture holds one fork on purpose: it must still be found.
        assert len(report.findings) == 1 and "fork at seq 2" in report.findings[0]
        names = sorted(st.name or "" for st in store.state().authors.values())
        assert names == ["Hillside Garden", "Repair Collective"]
    db = sqlite3.connect(path)
    (now,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    totals = db.execute("SELECT count(*) FROM derived_totals").fetchone()[0]
    db.close()
    assert now == SCHEMA_VERSION
    # The garden's labour and energy; the repair collective's goods entry is at its
    # forked seq, so it never applies.
    assert totals == 2


def test_an_upgrade_that_fails_leaves_the_old_store_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    shutil.copy(FIXTURES / "store-v1.db", path)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr("coopledger.node._schema.write_derived", crash)
    with pytest.raises(RuntimeError):
        Store.open(path)
    monkeypatch.undo()
    db = sqlite3.connect(path)
    (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    db.close()
    assert version == 1
    with Store.open(path) as store:
        assert store.state().state_hash() == STATE_HASH
