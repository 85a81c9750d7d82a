"""`coop` with and without a running node: writing commands go through the node's API
when node.json names a live one, open the store directly otherwise, and print the
same either way. `coop node status`, `coop peers`, `coop node start`.

The "running node" is tests/cli/fake_node.py: the real API server on 127.0.0.1 port 0
in a thread, over a fake service writing to the home's real store.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cli_support import CoopBin, Run, ok, user_error
from fake_node import serving

from coopledger.cli._client import NodeClient, NodeUnreachable
from coopledger.node import Store
from coopledger.node._runfile import RUN_FILE, RunInfo, write_runfile

LABOR = ("log", "labor", "--member", "ana", "--hours", "2.5", "--task", "weeding",
         "--date", "2026-11-23")


def count(home: Path) -> int:
    with Store.open(home / "ledger.db") as store:
        return store.count()


def same_but_ids(text: str) -> str:
    """Output with entry ids, co-op ids and state hashes blanked (they differ between
    two homes doing the same thing)."""
    text = re.sub(r"[0-9a-f]{64}", "<hash>", text)
    return re.sub(r"entry [0-9a-f]{8}", "entry <id>", text)


@pytest.fixture
def other(run: Run, tmp_path: Path) -> Path:
    """A second fresh home with the same name: same commands, same output but ids."""
    home = tmp_path / "garden2"
    ok(run("init", "--name", "Hillside Garden", "--home", home))
    return home


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- writing through the node, or directly --------------------------------------------


def test_log_goes_through_the_running_node(run: Run, garden: Path, other: Path) -> None:
    with serving(garden) as node:
        via_api = ok(run(*LABOR, "--home", garden))
        assert node.calls == ["append"]
    assert count(garden) == 2
    direct = ok(run(*LABOR, "--home", other))
    assert via_api.out.startswith("Logged labor #2: ana: 2.5 h production (unpaid), weeding")
    assert same_but_ids(via_api.out) == same_but_ids(direct.out)
    assert via_api.err == direct.err == ""


@pytest.mark.parametrize("kind_args", [
    ("material", "--item", "compost", "--quantity", "40", "--unit", "kg", "--direction", "in"),
    ("energy", "--kwh", "12.4", "--flow", "generated", "--source", "local"),
    ("goods", "--item", "bread", "--quantity", "3", "--unit", "loaf", "--flow",
     "distributed", "--to", "food bank", "--note", "[/] not markup"),
], ids=["material", "energy", "goods"])
def test_every_log_kind_prints_the_same_through_the_node(
        run: Run, garden: Path, other: Path, kind_args: tuple[str, ...]) -> None:
    with serving(garden) as node:
        via_api = ok(run("log", *kind_args, "--home", garden))
        assert node.calls == ["append"]
    direct = ok(run("log", *kind_args, "--home", other))
    assert same_but_ids(via_api.out) == same_but_ids(direct.out)


def test_a_refused_entry_is_the_same_error_through_the_node(
        run: Run, garden: Path, other: Path) -> None:
    bad = ("log", "labor", "--member", "ana", "--hours", "2", "--task", " ")
    with serving(garden) as node:
        via_api = run(*bad, "--home", garden)
        assert node.calls == ["append"]
    direct = run(*bad, "--home", other)
    assert user_error(via_api, 1, "--task") == user_error(direct, 1, "--task")
    assert count(garden) == count(other) == 1


def test_the_installed_coop_goes_through_the_node(coop_bin: CoopBin, garden: Path) -> None:
    """A real `coop` process finds the node by node.json (this test process's pid)."""
    with serving(garden) as node:
        r = ok(coop_bin(garden, *LABOR))
        assert node.calls == ["append"]
        r2 = ok(coop_bin(garden, "node", "status"))
    assert r.out.startswith("Logged labor #2: ana: 2.5 h production (unpaid), weeding")
    assert "entries     2 held" in r2.out.splitlines()


def test_without_node_json_commands_write_directly(run: Run, garden: Path) -> None:
    with serving(garden) as node:
        (garden / RUN_FILE).unlink()
        ok(run(*LABOR, "--home", garden))
        assert node.calls == []
    assert count(garden) == 2


@pytest.mark.parametrize("why", ["dead-pid", "nothing-listening", "another-process"])
def test_a_stale_node_json_falls_back_to_direct(run: Run, garden: Path, why: str) -> None:
    if why == "another-process":
        # Something answers at the address, but not as the pid node.json names.
        with serving(garden) as node:
            info = (garden / RUN_FILE).read_text()
            api = re.search(r'"api": "([^"]+)"', info).group(1)  # type: ignore[union-attr]
            write_runfile(garden, api=api, peer_id="x", pid=1)
            ok(run(*LABOR, "--home", garden))
            assert node.calls == []
    else:
        pid = dead_pid() if why == "dead-pid" else None  # None: this (live) process
        write_runfile(garden, api=f"127.0.0.1:{closed_port()}", peer_id="x", pid=pid)
        r = ok(run(*LABOR, "--home", garden))
        assert r.out.startswith("Logged labor #2")
    assert count(garden) == 2


def test_bundle_import_through_the_node_prints_the_same(
        run: Run, garden: Path, other: Path, tmp_path: Path) -> None:
    source = tmp_path / "bakery"
    ok(run("init", "--name", "Bakery", "--home", source))
    ok(run(*LABOR, "--home", source))
    bundle = tmp_path / "bakery.coopbundle"
    ok(run("bundle", "export", bundle, "--home", source))
    damaged = tmp_path / "damaged.coopbundle"
    data = bytearray(bundle.read_bytes())
    data[-40] ^= 0xFF
    damaged.write_bytes(bytes(data))
    for args in [(bundle,), (damaged,), (damaged, "--json")]:
        with serving(garden) as node:
            via_api = run("bundle", "import", *args, "--home", garden)
            assert node.calls == ["import_bundle"]
        direct = run("bundle", "import", *args, "--home", other)
        assert (via_api.code, via_api.out, via_api.err) == (direct.code, direct.out, direct.err)
    assert count(garden) == count(other) == 3


def test_bundle_import_of_a_non_bundle_is_the_same_error(
        run: Run, garden: Path, other: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a bundle")
    with serving(garden):
        via_api = run("bundle", "import", junk, "--home", garden)
    direct = run("bundle", "import", junk, "--home", other)
    assert user_error(via_api, 1, "not a coopledger bundle") == user_error(direct, 1)


def test_rebuild_through_the_node_prints_the_same(run: Run, garden: Path) -> None:
    with serving(garden) as node:
        via_api = ok(run("rebuild", "--home", garden))
        assert node.calls == ["rebuild", "status"]
    direct = ok(run("rebuild", "--home", garden))
    assert via_api.out == direct.out
    assert via_api.out.startswith("rebuilt the derived state from 1 entries; state_hash ")


def test_an_unreachable_node_is_one_line(garden: Path) -> None:
    port = closed_port()
    client = NodeClient(RunInfo(pid=1, api=f"127.0.0.1:{port}", peer_id="x",
                                started_ms=0), "ab" * 32)
    with pytest.raises(NodeUnreachable) as caught:
        client.get("/v1/status")
    assert str(caught.value).startswith(f"the node at 127.0.0.1:{port} did not answer: ")
    assert "\n" not in str(caught.value)


# -- coop node status, coop peers --------------------------------------------------------


@pytest.mark.parametrize("args", [("node", "status"), ("node", "status", "--json"),
                                  ("peers",), ("peers", "--json")])
def test_status_and_peers_need_a_running_node(run: Run, garden: Path,
                                              args: tuple[str, ...]) -> None:
    r = run(*args, "--home", garden)
    line = user_error(r, 1, f"no node is running for {garden}", "`coop node start`")
    assert line == (f"error: no node is running for {garden} "
                    "(start one with `coop node start`)")


def test_node_status(run: Run, garden: Path) -> None:
    with serving(garden) as node:
        r = ok(run("node", "status", "--json", "--home", garden))
        assert r.json() == node.status()
        r = ok(run("node", "status", "--home", garden))
    lines = r.out.splitlines()
    assert lines[0] == "peer id     12D3KooWFakeNodeOfTheGarden"
    assert lines[1].startswith("co-op       Hillside Garden (")
    assert "listening   /ip4/0.0.0.0/tcp/4140" in lines
    assert "            /ip6/::/tcp/4140" in lines
    assert "entries     1 held" in lines
    assert "peers       1 connected" in lines
    assert ("sync        12D3KooWBakeryPe…  behind by 1200 entries (syncing, 300 entries "
            "received)") in lines
    assert "            12D3KooWRepairPe…  in step (ok)" in lines


def test_peers(run: Run, garden: Path) -> None:
    with serving(garden) as node:
        r = ok(run("peers", "--json", "--home", garden))
        assert r.json() == node.peers()
        r = ok(run("peers", "--home", garden))
    assert "1 peers" in r.out
    assert "12D3KooWBakeryPeerAAAAAAAAAA" in r.out and "/ip4/10.0.0.2/tcp/4140" in r.out


# -- coop node start ---------------------------------------------------------------------


@pytest.fixture
def fake_daemon(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace coopledger.node._daemon with a module whose run_node records its call."""
    calls: list[Any] = []
    module = types.ModuleType("coopledger.node._daemon")
    module.run_node = lambda home, config, key: calls.append((home, config, key))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "coopledger.node._daemon", module)
    return calls


def test_node_start_takes_the_config_file_then_flags(
        run: Run, garden: Path, fake_daemon: list[Any]) -> None:
    with open(garden / "coop.toml", "a") as f:
        f.write('\n[node]\nlisten = ["/ip4/0.0.0.0/tcp/5000"]\napi = "127.0.0.1:5001"\n'
                "mdns = false\nsync_interval = 5\n")
    ok(run("node", "start", "--home", garden))
    ((home, config, key),) = fake_daemon
    assert home.path == garden and key.public.raw == home.author
    assert config.listen == ("/ip4/0.0.0.0/tcp/5000",) and config.api == "127.0.0.1:5001"
    assert config.mdns is False and config.sync_interval == 5
    fake_daemon.clear()
    ok(run("node", "start", "--listen", "/ip4/127.0.0.1/tcp/6000", "--listen",
           "/ip6/::1/tcp/6000", "--bootstrap", "/ip4/10.0.0.2/tcp/4140/p2p/12D3KooWx",
           "--api", "127.0.0.1:0", "--mdns", "--home", garden))
    ((_, config, _),) = fake_daemon
    assert config.listen == ("/ip4/127.0.0.1/tcp/6000", "/ip6/::1/tcp/6000")
    assert config.bootstrap == ("/ip4/10.0.0.2/tcp/4140/p2p/12D3KooWx",)
    assert config.api == "127.0.0.1:0" and config.mdns is True
    assert config.sync_interval == 5  # from the file: no flag for it


@pytest.mark.parametrize("args,words", [
    (("--api", "localhost"), ["--api", "HOST:PORT"]),
    (("--api", "127.0.0.1:99999"), ["--api", "0..65535"]),
    (("--listen", "0.0.0.0:4140"), ["--listen", "multiaddr"]),
])
def test_node_start_refuses_bad_flags(run: Run, garden: Path, fake_daemon: list[Any],
                                      args: tuple[str, ...], words: list[str]) -> None:
    user_error(run("node", "start", *args, "--home", garden), 2, *words)
    assert fake_daemon == []


def test_node_start_refuses_a_bad_config_file(run: Run, garden: Path,
                                              fake_daemon: list[Any]) -> None:
    with open(garden / "coop.toml", "a") as f:
        f.write('\n[node]\nlisten_on = ["/ip4/0.0.0.0/tcp/5000"]\n')
    user_error(run("node", "start", "--home", garden), 1, "unknown setting node.listen_on")
    assert fake_daemon == []


def test_node_start_refuses_when_a_node_runs(run: Run, garden: Path,
                                             fake_daemon: list[Any]) -> None:
    with serving(garden):
        user_error(run("node", "start", "--home", garden), 1, "already running")
    assert fake_daemon == []


def test_node_start_asks_for_the_passphrase_of_a_sealed_key(
        run: Run, tmp_path: Path, fake_daemon: list[Any]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    home = tmp_path / "sealed"
    ok(run("init", "--name", "Sealed", "--passphrase-file", pw, "--home", home))
    user_error(run("node", "start", "--home", home), 1, "--passphrase-file")
    ok(run("node", "start", "--passphrase-file", pw, "--home", home))
    assert len(fake_daemon) == 1


def test_node_start_help_says_the_api_binds_loopback(run: Run) -> None:
    r = ok(run("node", "start", "--help"))
    assert "Binds loopback by default" in " ".join(r.out.split())
