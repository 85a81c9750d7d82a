"""Stores written by released schema versions still open, verify and fold the same.

The fixture files are written once by fixtures/make_store_*.py and never regenerated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from coopledger.node import Store, check_store

FIXTURES = Path(__file__).with_name("fixtures")
# Printed by make_store_v1.py when the fixture was written.
STORE_V1_STATE_HASH = "124325f9ce48e5daf74fa0096bee58520a8629e3e48d6e1a61568f224eed9517"


def test_store_v1_opens_verifies_and_folds_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    shutil.copy(FIXTURES / "store-v1.db", path)
    with Store.open(path) as store:
        assert store.count() == 6
        # The derived rows written by v1 load as they are (no re-fold) …
        assert store.state().state_hash() == STORE_V1_STATE_HASH
        # … and agree with a fold of the entries by this version.
        report = check_store(store)
        assert report.store_problems == []
        assert report.state_hash == STORE_V1_STATE_HASH
        # The fixture holds one fork on purpose: it must still be found.
        assert len(report.findings) == 1 and "fork at seq 2" in report.findings[0]
        names = sorted(st.name or "" for st in store.state().authors.values())
        assert names == ["Hillside Garden", "Repair Collective"]
