"""`coop key …` and `coop init --for` (SPEC §13.2, docs/keys.md): a new device joins a
co-op with the command its init prints, a spare key is made and revokes a lost device,
the node key is rotated (offline; the real node then starts with the new key and its
new peer id), and every bad input is one clear line."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from cli_support import Run, ok, user_error
from fake_node import serving

from coopledger.node import Home, Store
from coopledger.node._p2p import peer_id_of
from coopledger.node.testing import Daemon, close_all

LABOR = ("log", "labor", "--member", "ana", "--hours", "2", "--task", "weeding",
         "--date", "2026-11-23")


def identity(home: Path) -> str:
    return Home.open(home).identity.hex()


def author(home: Path) -> str:
    return Home.open(home).author.hex()


def keys(run: Run, home: Path, *extra: object) -> dict[str, object]:
    return ok(run("key", "list", "--json", "--home", home, *extra)).json()  # type: ignore[no-any-return]


def add_command(text: str) -> list[str]:
    """The `coop key add …` line a command printed, as arguments (after `coop`)."""
    [line] = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("coop key add")]
    import shlex
    return shlex.split(line)[1:]


def bundle(run: Run, src: Path, dst: Path, tmp_path: Path) -> None:
    f = tmp_path / f"{src.name}-to-{dst.name}.bundle"
    f.unlink(missing_ok=True)
    ok(run("bundle", "export", f, "--home", src))
    ok(run("bundle", "import", f, "--home", dst))


@pytest.fixture
def laptop(run: Run, garden: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """A second home made with `coop init --for` the garden; and its add command."""
    home = tmp_path / "laptop"
    r = ok(run("init", "--name", "Ana's laptop", "--for", identity(garden), "--home", home))
    return home, add_command(r.out)


# -- a new device ------------------------------------------------------------------------


def test_init_for_prints_the_command_that_adds_the_device(
        run: Run, garden: Path, laptop: tuple[Path, list[str]], tmp_path: Path) -> None:
    home, cmd = laptop
    cfg = tomllib.loads((home / "coop.toml").read_text())
    assert cfg["identity"] == identity(garden) and cfg["author"] != identity(garden)
    assert cmd[:3] == ["key", "add", cfg["author"]]
    assert cmd[3:7] == ["--power", "node", "--label", "Ana's laptop"]
    assert cmd[7] == "--proof" and re.fullmatch("[0-9a-f]{128}", cmd[8])
    # `coop key request` prints it again, the same.
    again = ok(run("key", "request", "--home", home)).out
    assert add_command(again) == cmd
    # Before the add, the laptop's entries count for no one.
    ok(run(*LABOR, "--home", home))
    r = ok(run(*cmd, "--home", garden))
    assert r.out.startswith("Recorded key.add #2")
    bundle(run, home, garden, tmp_path)
    ok(run(*LABOR, "--home", home))                  # after the add: counts
    bundle(run, home, garden, tmp_path)
    doc = keys(run, garden)
    assert [(k["power"], k["label"], k["active"]) for k in doc["keys"]] == [  # type: ignore[index]
        ("root", None, True), ("node", "Ana's laptop", True)]
    assert doc["keys"][1]["entries"] == {"held": 3, "applied": 3, "acting": 1}  # type: ignore[index]
    # The laptop's own view, once it holds the add, says the same.
    bundle(run, garden, home, tmp_path)
    assert keys(run, home)["keys"] == doc["keys"]
    text = ok(run("key", "list", "--home", garden)).out
    assert "Ana's laptop" in text and "(this node)" in text and "1 acting" in text


def test_key_add_through_the_running_node(
        run: Run, garden: Path, laptop: tuple[Path, list[str]]) -> None:
    _, cmd = laptop
    with serving(garden) as node:
        ok(run(*cmd, "--home", garden))
        assert node.calls == ["append"]


def test_key_add_refuses_bad_input(run: Run, garden: Path, tmp_path: Path,
                                   laptop: tuple[Path, list[str]]) -> None:
    home, cmd = laptop
    other = tmp_path / "repair"
    ok(run("init", "--name", "Repair Café", "--home", other))
    # A proof for the garden does not add the key to another co-op.
    user_error(run(*cmd, "--home", other), 1, "--proof", "does not verify", "another co-op")
    # A tampered proof.
    bad = list(cmd)
    bad[8] = ("0" if bad[8][0] != "0" else "1") + bad[8][1:]
    user_error(run(*bad, "--home", garden), 1, "--proof", "does not verify")
    user_error(run("key", "add", "abc", "--proof", cmd[8], "--home", garden), 2, "KEY",
               "64 hex")
    user_error(run("key", "add", cmd[2], "--proof", "xyz", "--home", garden), 2, "--proof",
               "128 hex")
    user_error(run(*cmd[:4], "boss", *cmd[5:], "--home", garden), 2, "--power")
    ok(run(*cmd, "--home", garden))
    user_error(run(*cmd, "--home", garden), 1, "already a key of this co-op")
    # A node key may not add a recovery key; a home of another co-op's key neither.
    bundle(run, garden, home, tmp_path)
    spare_cmd = add_command(ok(run("init", "--name", "spare", "--for", identity(garden),
                                   "--home", tmp_path / "spare")).out)
    spare_cmd[4] = "recovery"
    user_error(run(*spare_cmd, "--home", home), 1, "node key", "recovery")
    user_error(run("key", "request", "--home", garden), 1, "root key", "nothing to request")


# -- spare key and revocation ------------------------------------------------------------


def test_a_spare_key_revokes_a_lost_device(run: Run, garden: Path, tmp_path: Path,
                                           laptop: tuple[Path, list[str]]) -> None:
    home, cmd = laptop
    ok(run(*cmd, "--home", garden))
    pw = tmp_path / "pw"
    pw.write_text("open sesame\n")
    spare = tmp_path / "usb" / "garden-spare.key"
    spare.parent.mkdir()
    r = ok(run("key", "spare", "--out", spare, "--label", "USB stick in the safe",
               "--spare-passphrase-file", pw, "--home", garden))
    assert r.out.startswith("Recorded key.add #3")
    assert "keep it offline" in r.err
    assert spare.stat().st_mode & 0o077 == 0
    user_error(run("key", "spare", "--out", spare, "--spare-passphrase-file", pw,
                   "--home", garden), 1, "already exists")
    lap = author(home)
    # Without the spare, the root key may revoke too; here the spare signs.
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    user_error(run("key", "revoke", lap[:8], "--reason", "lost", "--with-spare", spare,
                   "--spare-passphrase-file", wrong, "--home", garden), 1, "--with-spare")
    r = ok(run("key", "revoke", lap[:8], "--reason", "lost", "--through", "1",
               "--with-spare", spare, "--spare-passphrase-file", pw, "--home", garden))
    assert "signed by the spare key" in r.out
    doc = keys(run, garden)
    rows = {k["label"]: k for k in doc["keys"]}  # type: ignore[attr-defined]
    assert rows["Ana's laptop"]["active"] is False
    [rev] = rows["Ana's laptop"]["revocations"]
    assert (rev["reason"], rev["through"]) == ("lost", 1)
    assert rows["USB stick in the safe"]["power"] == "recovery"
    assert rows["USB stick in the safe"]["entries"]["applied"] == 2  # genesis, revoke
    assert doc["invalid"] == []
    user_error(run("key", "revoke", lap[:8], "--reason", "lost", "--home", garden), 1,
               "already revoked")
    text = ok(run("key", "list", "--home", garden)).out
    assert "lost, after #1" in text


def test_revoke_refuses_bad_input(run: Run, garden: Path, tmp_path: Path,
                                  laptop: tuple[Path, list[str]]) -> None:
    home, cmd = laptop
    ok(run(*cmd, "--home", garden))
    other = tmp_path / "repair"
    ok(run("init", "--name", "Repair Café", "--home", other))
    user_error(run("key", "revoke", author(other), "--reason", "lost", "--home", garden),
               1, "not a key of this co-op")
    user_error(run("key", "revoke", "abc", "--reason", "lost", "--home", garden), 2,
               "at least 8 hex")
    user_error(run("key", "revoke", author(home)[:8], "--reason", "stolen", "--home",
                   garden), 2, "--reason")
    # The laptop (a node key) may not revoke the root.
    bundle(run, garden, home, tmp_path)
    user_error(run("key", "revoke", identity(garden)[:8], "--reason", "other", "--home",
                   home), 1, "node key", "--with-spare")
    user_error(run("key", "revoke", author(home)[:8], "--reason", "lost", "--with-spare",
                   tmp_path / "nothing", "--home", garden), 1, "--with-spare",
               "cannot read")
    # A spare file that holds a key which is no spare of this co-op.
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    ok(run("key", "spare", "--out", tmp_path / "s1", "--spare-passphrase-file", pw,
           "--home", other))
    user_error(run("key", "revoke", author(home)[:8], "--reason", "lost", "--with-spare",
                   tmp_path / "s1", "--spare-passphrase-file", pw, "--home", garden), 1,
               "not an active spare")
    with serving(garden):
        user_error(run("key", "revoke", author(home)[:8], "--reason", "lost",
                       "--with-spare", tmp_path / "s1", "--home", garden), 1,
                   "node is running", "stop it first")


# -- rotation ------------------------------------------------------------------------------


def test_rotate_refuses_without_a_spare_or_with_a_running_node(run: Run, garden: Path) -> None:
    user_error(run("key", "rotate", "--home", garden), 1, "no spare key", "--without-spare")
    with serving(garden):
        user_error(run("key", "rotate", "--without-spare", "--home", garden), 1,
                   "node is running", "`coop node stop`")


def test_rotate_keeps_the_co_op_its_history_and_memberships(run: Run, garden: Path,
                                                            tmp_path: Path) -> None:
    repair = tmp_path / "repair"
    ok(run("init", "--name", "Repair Café", "--home", repair))
    ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
           "--home", repair))
    ok(run("federation", "invite", "--federation", "Riverside", "--coop",
           identity(garden), "--home", repair))
    bundle(run, repair, garden, tmp_path)
    ok(run("federation", "join", "--federation", "Riverside", "--home", garden))
    ok(run(*LABOR, "--home", garden))
    old = author(garden)
    r = ok(run("key", "rotate", "--without-spare", "--json", "--home", garden))
    doc = r.json()
    new = author(garden)
    assert (doc["old_key"], doc["new_key"], doc["coop"]) == (old, new, old)
    assert doc["new_peer_id"] == peer_id_of(bytes.fromhex(new)) != doc["old_peer_id"]
    assert doc["through"] == 5          # genesis, join, labor, add, revoke
    assert identity(garden) == old
    # The co-op is the same: a member still, and it pays with the new key.
    bundle(run, garden, repair, tmp_path)
    ok(run("transfer", "offer", "--federation", "Riverside", "--to", "Repair Café",
           "--amount", "2", "--unit", "hour", "--for", "fixing the pump",
           "--home", garden))
    ok(run(*LABOR, "--home", garden))
    bundle(run, garden, repair, tmp_path)
    offers = ok(run("transfer", "list", "--json", "--home", repair)).json()["transfers"]
    [t] = offers
    assert (t["from"], t["to"], t["status"], t["direction"]) == (old, author(repair), "open", "in")
    # The garden's node, writing with its new key, sees the offer as its own.
    [mine] = ok(run("transfer", "list", "--json", "--home", garden)).json()["transfers"]
    assert mine["direction"] == "out"
    k = keys(run, repair, "--coop", "Hillside Garden")
    assert [(x["key"], x["power"], x["active"]) for x in k["keys"]] == [  # type: ignore[index]
        (old, "root", False), (new, "node", True)]
    assert [x["entries"] for x in k["keys"]] == [  # type: ignore[index]
        {"held": 5, "applied": 5, "acting": 5}, {"held": 3, "applied": 3, "acting": 3}]
    # Exports total the co-op across its keys: both labour entries.
    csv_out = ok(run("export", "csv", "--kind", "labor", "--home", garden)).out
    assert len(csv_out.strip().splitlines()) == 3
    # Text output says what changed.
    r = ok(run("key", "rotate", "--home", garden))
    assert "Rotated this node's key" in r.out
    assert f"new peer id {peer_id_of(bytes.fromhex(author(garden)))}" in r.out
    assert "Peers that list this node by peer id must update" in r.out


def test_rotate_keeps_a_sealed_key_sealed(run: Run, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    home = tmp_path / "sealed"
    ok(run("init", "--name", "Sealed", "--passphrase-file", pw, "--home", home))
    user_error(run("key", "rotate", "--without-spare", "--home", home), 1,
               "--passphrase-file")
    ok(run("key", "rotate", "--without-spare", "--passphrase-file", pw, "--home", home))
    h = Home.open(home)
    assert h.key_is_sealed()
    assert h.secret_key(b"correct horse").public.raw == h.author
    ok(run(*LABOR, "--passphrase-file", pw, "--home", home))
    with Store.open(h.store_path) as store:
        eco = store.state().economy()
        assert eco.gov.ids.invalid == {}


@pytest.mark.integration
def test_after_rotation_the_node_starts_with_the_new_key(tmp_path: Path) -> None:
    d = Daemon(tmp_path, "garden")
    try:
        d.init()
        old = Home.open(d.home).author
        r = d.coop("key", "rotate", "--without-spare", "--json")
        new = bytes.fromhex(json.loads(r.stdout)["new_key"])
        d.start()
        st = d.status()
        assert st["author"] == new.hex() != old.hex()
        assert st["identity"] == old.hex()  # the co-op is still the same one
        assert f"co-op       garden ({old.hex()[:8]}…), writing with key {new.hex()[:8]}…" \
            in d.coop("node", "status").stdout
        assert d.peer_id == peer_id_of(new)
        # While it runs, a rotation is refused; its writes go through it with the new key.
        refused = d.coop("key", "rotate", check=False)
        assert refused.returncode == 1 and "stop it first" in refused.stderr
        d.log_labor("ana")
        doc = d.coop_json("key", "list")
        assert [k["entries"]["acting"] for k in doc["keys"]] == [3, 2]
        assert doc["this_key"] == new.hex()
        d.stop()
    finally:
        close_all([d])
