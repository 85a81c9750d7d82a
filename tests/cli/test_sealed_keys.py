"""A home whose key is sealed with a passphrase: signing commands need it, reading
commands do not, and every way of getting it wrong is one line on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Run, ok, user_error

from coopledger.node import Home, Store

LABOR = ("log", "labor", "--member", "ana", "--hours", "2", "--task", "weeding")


def count(home: Path) -> int:
    with Store.open(home / "ledger.db") as store:
        return store.count()


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase.txt"
    path.write_text("correct horse battery staple\n")
    return path


@pytest.fixture
def sealed(run: Run, tmp_path: Path, passfile: Path) -> Path:
    home = tmp_path / "sealed"
    r = ok(run("init", "--name", "Hillside Garden", "--passphrase-file", passfile,
               "--home", home))
    assert r.out.splitlines()[-1] == (
        "  the key is sealed with your passphrase: keep it safe, it cannot be recovered")
    assert Home.open(home).key_is_sealed()
    assert b"correct horse" not in (home / "key").read_bytes()
    return home


def test_signing_with_the_passphrase_file(run: Run, sealed: Path, passfile: Path,
                                          tmp_path: Path) -> None:
    r = ok(run(*LABOR, "--passphrase-file", passfile, "--home", sealed))
    assert r.out.startswith("Logged labor #2: ana: 2 h production (unpaid), weeding")
    # The file's one trailing newline is not part of the passphrase; \r\n neither.
    bare = tmp_path / "bare.txt"
    bare.write_bytes(b"correct horse battery staple")
    ok(run(*LABOR, "--passphrase-file", bare, "--home", sealed))
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"correct horse battery staple\r\n")
    ok(run(*LABOR, "--passphrase-file", crlf, "--home", sealed))
    assert count(sealed) == 4


def test_the_env_var_names_the_passphrase_file(run: Run, sealed: Path, passfile: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOP_PASSPHRASE_FILE", str(passfile))
    r = ok(run(*LABOR, "--home", sealed))
    assert r.out.startswith("Logged labor #2: ")
    assert count(sealed) == 2


def test_init_seals_with_the_env_var_too(run: Run, tmp_path: Path, passfile: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOP_PASSPHRASE_FILE", str(passfile))
    home = tmp_path / "env-sealed"
    r = ok(run("init", "--name", "Hillside Garden", "--home", home))
    assert "the key is sealed with your passphrase" in r.out
    assert Home.open(home).key_is_sealed()
    monkeypatch.delenv("COOP_PASSPHRASE_FILE")
    user_error(run(*LABOR, "--home", home), 1, "sealed with a passphrase")


def test_wrong_passphrase(run: Run, sealed: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("incorrect horse\n")
    r = run(*LABOR, "--passphrase-file", wrong, "--home", sealed)
    assert user_error(r, 1) == "error: wrong passphrase (or a damaged key file)"
    assert count(sealed) == 1


def test_wrong_passphrase_from_the_env_var(run: Run, sealed: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("incorrect horse\n")
    monkeypatch.setenv("COOP_PASSPHRASE_FILE", str(wrong))
    user_error(run(*LABOR, "--home", sealed), 1, "wrong passphrase")


def test_no_passphrase_and_no_terminal(run: Run, sealed: Path) -> None:
    r = run(*LABOR, "--home", sealed, stdin="correct horse battery staple\n")
    assert user_error(r, 1) == (
        "error: this home's key is sealed with a passphrase; give --passphrase-file FILE "
        "or set COOP_PASSPHRASE_FILE")
    assert count(sealed) == 1


def test_empty_or_missing_passphrase_file(run: Run, sealed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    r = run(*LABOR, "--passphrase-file", empty, "--home", sealed)
    assert user_error(r, 1) == f"error: passphrase file {empty} is empty"
    missing = tmp_path / "missing.txt"
    r = run(*LABOR, "--passphrase-file", missing, "--home", sealed)
    assert user_error(r, 1) == (
        f"error: cannot read passphrase file {missing}: No such file or directory")
    r = run("init", "--name", "X", "--passphrase-file", missing, "--home", tmp_path / "new")
    user_error(r, 1, "cannot read passphrase file")
    assert not (tmp_path / "new").exists()
    assert count(sealed) == 1


def test_reading_needs_no_passphrase(run: Run, sealed: Path, passfile: Path) -> None:
    ok(run(*LABOR, "--passphrase-file", passfile, "--home", sealed))
    assert len(ok(run("entries", "--json", "--home", sealed)).json()) == 2
    assert ok(run("state", "--json", "--home", sealed)).json()["state_hash"]
    ok(run("verify", "--home", sealed))
    ok(run("rebuild", "--home", sealed))
