"""The installed `coop` console script, run for real: exit codes, streams, no
tracebacks, and two processes writing one home at the same time."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest
from cli_support import COOP, SUBPROCESS_TIMEOUT_S, CoopBin, subprocess_env, user_error

import coopledger
from coopledger.node import Home, Store


def test_version(coop_bin: CoopBin) -> None:
    r = coop_bin(None, "--version")
    assert (r.code, r.out, r.err) == (0, f"coop {coopledger.__version__}\n", "")


def test_init_log_state(coop_bin: CoopBin, tmp_path: Path) -> None:
    home = tmp_path / "garden"
    r = coop_bin(home, "init", "--name", "Hillside Garden")
    assert r.code == 0, r.err
    author = Home.open(home).author.hex()
    assert f"  co-op id: {author}\n" in r.out
    r = coop_bin(home, "log", "labor", "--member", "ana", "--hours", "2.5", "--task", "weeding")
    assert r.code == 0, r.err
    assert r.out.startswith("Logged labor #2: ana: 2.5 h production (unpaid), weeding")
    r = coop_bin(home, "state", "--json")
    assert (r.code, r.err) == (0, "")
    st = json.loads(r.out)
    with Store.open(home / "ledger.db") as store:
        assert st["state_hash"] == store.state().state_hash()
    assert st["coops"][author]["totals"]["labor"] == [["ana", "production", False, "2.5"]]


def test_user_errors_exit_without_a_traceback(coop_bin: CoopBin,
                                              tmp_path: Path) -> None:
    r = coop_bin(tmp_path / "nowhere", "state")
    assert user_error(r, 1) == (
        f"error: no coopledger home at {tmp_path / 'nowhere'} (run `coop init --name NAME` "
        "first)")
    home = tmp_path / "garden"
    assert coop_bin(home, "init", "--name", "Hillside Garden").code == 0
    r = coop_bin(home, "log", "labor", "--member", "ana", "--hours", "1,5", "--task", "x")
    user_error(r, 2, "Invalid value for --hours: '1,5' is not a decimal number")
    r = coop_bin(home, "log", "labor", "--member", "ana", "--hours", "25", "--task", "x")
    assert user_error(r, 1) == "error: --hours: must be at most 24"
    r = coop_bin(home, "state", env={"COOP_LOG": "chatty"})
    assert user_error(r, 2) == (
        "error: COOP_LOG='CHATTY' is not a log level (DEBUG, INFO, WARNING or ERROR)")


def test_coop_home_env_and_bundle_on_stdout(coop_bin: CoopBin,
                                            tmp_path: Path) -> None:
    home = tmp_path / "garden"
    env = {"COOP_HOME": str(home)}
    assert coop_bin(None, "init", "--name", "Hillside Garden", env=env).code == 0
    r = coop_bin(None, "log", "energy", "--kwh", "3", "--flow", "consumed", "--source",
                 "grid", env=env)
    assert r.code == 0, r.err
    proc = subprocess.run([str(COOP), "bundle", "export", "-"], capture_output=True,
                          env=subprocess_env(env), stdin=subprocess.DEVNULL,
                          timeout=SUBPROCESS_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"COOPBNDL")
    assert proc.stderr == b"wrote 2 entries to -\n"
    bundle = tmp_path / "garden.coopbundle"
    bundle.write_bytes(proc.stdout)
    other = tmp_path / "repair"
    assert coop_bin(other, "init", "--name", "Repair Café").code == 0
    r = coop_bin(other, "bundle", "import", bundle)
    assert r.out == f"{bundle}: 2 new, 0 already held, 0 rejected, 0 damaged\n"


@pytest.mark.slow
def test_two_processes_logging_at_once_never_fork(tmp_path: Path) -> None:
    """Pairs of `coop log labor` started together on one home: SQLite serialises them
    and each reads the head inside its write transaction, so the log stays one chain."""
    home = tmp_path / "garden"
    env = subprocess_env()
    assert subprocess.run([str(COOP), "init", "--name", "Hillside Garden", "--home",
                           str(home)], capture_output=True, env=env,
                          timeout=SUBPROCESS_TIMEOUT_S).returncode == 0

    def start(member: str, i: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(COOP), "log", "labor", "--member", member, "--hours", "1",
             "--task", f"round {i}", "--home", str(home)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)

    for i in range(10):
        procs = [start("ana", i), start("bo", i)]
        for p in procs:
            out, err = p.communicate(timeout=SUBPROCESS_TIMEOUT_S)
            assert (p.returncode, err) == (0, ""), err
            assert out.startswith("Logged labor #")

    with Store.open(home / "ledger.db") as store:
        held = list(store.entries())
        st = store.state()
    assert [e.seq for e in held] == list(range(1, 22))
    for prev, e in itertools.pairwise(held):
        assert e.prev == prev.id
    members = sorted(str(e.body["member"]) for e in held[1:])
    assert members == ["ana"] * 10 + ["bo"] * 10
    (coop,) = st.authors.values()
    assert (coop.length, coop.fork, coop.broken) == (21, None, None)

    r = subprocess.run([str(COOP), "verify", "--home", str(home)], capture_output=True,
                       text=True, env=env, timeout=SUBPROCESS_TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "all entries, chains and derived state are valid"
    assert r.stdout.startswith("21 entries checked")
