"""Real daemons on loopback, started through the CLI: entries logged at each reach all;
a daemon killed with SIGKILL in the middle of a sync restarts and converges; SIGTERM
stops a daemon cleanly; `coop log` goes through a running daemon's API."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import synckit

from coopledger.node import Store, export_bundle
from coopledger.node.testing import Daemon, close_all, converged, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    close_all(made)


def _start_chain(tmp_path: Path, made: list[Daemon], names: list[str]) -> list[Daemon]:
    """Each daemon bootstraps from the one before it (a chain: gossip must hop)."""
    for name in names:
        d = Daemon(tmp_path, name)
        d.init()
        made.append(d)
        d.start([made[-2].addr] if len(made) > 1 else [])
    return made


def test_entries_logged_at_each_of_five_reach_all(tmp_path: Path,
                                                  daemons: list[Daemon]) -> None:
    ds = _start_chain(tmp_path, daemons, ["garden", "repair", "kitchen", "fablab", "bakery"])
    wait_for("the initial sync (5 genesis entries everywhere)",
             converged(ds, entries=5), 60)
    for i, d in enumerate(ds):
        out = d.log_labor(f"m{i}", "2", "shared work")
        assert "through the node" in out or out.startswith("Logged labor"), out
    wait_for("every entry to reach every node", converged(ds, entries=10), 60)
    # Every co-op's books show at every node.
    st = json.loads(ds[-1].coop("state", "--json").stdout)
    assert sorted(c["name"] for c in st["coops"].values()) == sorted(
        d.name for d in ds)
    for d in ds:
        assert d.stop() == 0, d.log_tail()
        assert not (d.home / "node.json").exists()
        d.coop("verify")


def _big_bundle(path: Path, n: int) -> None:
    src = synckit.Store()
    per = n // 10
    entries = [e for k in synckit.KEYS[:8] for e in src.append(k, per)]
    with Store.open(path.with_suffix(".db"), create=True) as s:
        s.add_entries(entries)
        with path.open("wb") as f:
            export_bundle(s, f)


def test_kill9_during_a_sync_then_restart_converges(tmp_path: Path,
                                                    daemons: list[Daemon]) -> None:
    a = Daemon(tmp_path, "archive")
    a.init()
    daemons.append(a)
    _big_bundle(tmp_path / "big.coopbundle", 20_000)
    a.coop("bundle", "import", str(tmp_path / "big.coopbundle"))
    a.start()
    held = a.status()["entries_held"]
    b = Daemon(tmp_path, "newcomer")
    b.init()
    daemons.append(b)
    b.start([a.addr])
    # Kill it once some, not all, of the entries have arrived.
    wait_for("the sync to be under way",
             lambda: 1 < b.status()["entries_held"] < held, 60)
    b.kill9()
    with Store.open(b.home / "ledger.db") as s:
        part = s.count()
    assert part < held + 1
    b.start([a.addr])
    wait_for("convergence after the restart", converged([a, b], entries=held + 1), 120)
    b.coop("verify")
    assert b.stop() == 0 and a.stop() == 0


def test_sigterm_and_sigint_stop_cleanly(tmp_path: Path, daemons: list[Daemon]) -> None:
    d = Daemon(tmp_path, "solo")
    d.init()
    daemons.append(d)
    for sig in (signal.SIGTERM, signal.SIGINT):
        d.start()
        assert d.stop(sig, timeout=10) == 0, d.log_tail()
        assert not (d.home / "node.json").exists()
    assert "node stopped" in d.log_tail()
    d.coop("verify")


def test_a_running_node_takes_the_cli_writes_and_gossips_them(
        tmp_path: Path, daemons: list[Daemon]) -> None:
    ds = _start_chain(tmp_path, daemons, ["left", "right"])
    wait_for("the initial sync", converged(ds, entries=2), 60)
    ds[0].log_labor("ana", "1.5", "through the API")
    wait_for("the entry to reach the other node", converged(ds, entries=3), 30)
