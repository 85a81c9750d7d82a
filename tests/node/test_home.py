"""A node's home directory: creation, its key (plain or sealed), opening, the default."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from coopledger.node import Home, HomeError, KeyLocked, Store, StoreError, default_home
from coopledger.protocol import BadBody

NAME = 'Café "Zur Tür" \\ Kollektiv'  # quotes, a backslash and non-ASCII survive TOML


def test_init_creates_key_config_and_store_with_genesis(tmp_path: Path) -> None:
    path = tmp_path / "garden"
    home, genesis = Home.init(path, NAME)
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith("ledger.db-")) == [
        "coop.toml", "key", "ledger.db"]
    assert stat.S_IMODE((path / "key").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, "the home is private"
    cfg = tomllib.loads((path / "coop.toml").read_text())
    assert cfg == {"name": NAME, "author": home.author.hex()}
    assert (home.path, home.name) == (path, NAME)
    with Store.open(home.store_path) as store:
        [entry] = list(store.entries())
        assert entry.id == genesis.id
        assert (entry.kind, entry.seq, entry.author) == ("genesis", 1, home.author)
        assert dict(entry.body) == {"name": NAME}
        st = store.state().authors[home.author]
        assert (st.name, st.length) == (NAME, 1)
    # The key in the file is the key of the genesis entry's author.
    assert not home.key_is_sealed()
    assert home.secret_key(None).public.raw == home.author
    reopened = Home.open(path)
    assert (reopened.name, reopened.author) == (NAME, home.author)


def test_init_into_an_existing_empty_directory(tmp_path: Path) -> None:
    home, _ = Home.init(tmp_path, "Garden")
    assert Home.open(tmp_path).author == home.author


def test_init_refuses_a_non_empty_directory_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(HomeError, match="not empty"):
        Home.init(tmp_path, "Garden")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    Home.init(tmp_path / "home", "Garden")
    with pytest.raises(HomeError, match="refusing to overwrite"):
        Home.init(tmp_path / "home", "Another")
    with pytest.raises(HomeError):
        Home.init(tmp_path / "notes.txt", "Garden")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_rejected_name_leaves_nothing_behind(tmp_path: Path) -> None:
    """A name the genesis schema refuses fails before any file is written, so the
    user can simply try again with a better name."""
    path = tmp_path / "garden"
    for bad in ("", "tab\there", "x" * 101):
        with pytest.raises(BadBody):
            Home.init(path, bad)
        assert not path.exists() or list(path.iterdir()) == []
    Home.init(path, "Garden")
    assert Home.open(path).name == "Garden"


def test_sealed_key_needs_the_right_passphrase(tmp_path: Path) -> None:
    home, genesis = Home.init(tmp_path / "h", "Garden", passphrase=b"correct horse")
    assert home.key_is_sealed()
    assert b"correct horse" not in (tmp_path / "h" / "key").read_bytes()
    with pytest.raises(KeyLocked, match="wrong passphrase"):
        home.secret_key(b"wrong horse")
    with pytest.raises(KeyLocked, match="none was given"):
        home.secret_key(None)
    with pytest.raises(KeyLocked):
        home.secret_key(b"")
    key = home.secret_key(b"correct horse")
    assert key.public.raw == home.author == genesis.author
    # The unsealed key signs the next entry of the co-op's log.
    with home.open_store() as store:
        e = store.append(key, kind="energy", ts=genesis.ts + 1,
                         body={"kwh": "2", "flow": "consumed", "source": "grid"})
        assert e.seq == 2 and store.state().authors[home.author].length == 2


def test_open_a_missing_home(tmp_path: Path) -> None:
    with pytest.raises(HomeError, match=r"no coopledger home at .*coop init") as info:
        Home.open(tmp_path / "nowhere")
    assert not isinstance(info.value, KeyLocked)


@pytest.mark.parametrize("config", [
    "this is not toml = = =",
    'name = "Garden"\n',                                     # no author
    'author = "' + "ab" * 32 + '"\n',                        # no name
    'name = "Garden"\nauthor = "not hex"\n',
    'name = "Garden"\nauthor = "abcd"\n',                    # too short
    'name = "Garden"\nauthor = 42\n',
    'name = 7\nauthor = "' + "ab" * 32 + '"\n',
])
def test_open_a_damaged_config(tmp_path: Path, config: str) -> None:
    Home.init(tmp_path, "Garden")
    (tmp_path / "coop.toml").write_text(config)
    with pytest.raises(HomeError, match=r"coop.toml is damaged"):
        Home.open(tmp_path)


def test_a_damaged_or_foreign_key_file(tmp_path: Path) -> None:
    Home.init(tmp_path / "a", "Garden")
    Home.init(tmp_path / "b", "Repair")
    key_a = tmp_path / "a" / "key"
    os.replace(tmp_path / "b" / "key", key_a)
    with pytest.raises(HomeError, match="does not match the author") as info:
        Home.open(tmp_path / "a").secret_key(None)
    assert not isinstance(info.value, KeyLocked)
    key_a.write_bytes(b"garbage")
    with pytest.raises(HomeError, match="key file") as info:
        Home.open(tmp_path / "a").secret_key(None)
    assert not isinstance(info.value, KeyLocked), "damage is not a passphrase problem"
    key_a.unlink()
    with pytest.raises(HomeError, match="cannot read the key file"):
        Home.open(tmp_path / "a").secret_key(None)


def test_open_a_home_without_its_store(tmp_path: Path) -> None:
    Home.init(tmp_path, "Garden")
    for f in tmp_path.glob("ledger.db*"):
        f.unlink()
    with pytest.raises(StoreError, match="no store at"):
        Home.open(tmp_path).open_store()
    assert not (tmp_path / "ledger.db").exists()


def test_default_home_honours_coop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOP_HOME", str(tmp_path / "elsewhere"))
    assert default_home() == tmp_path / "elsewhere"
    monkeypatch.setenv("COOP_HOME", "")
    fallback = default_home()
    monkeypatch.delenv("COOP_HOME")
    assert default_home() == fallback
    assert fallback.name == "coopledger" and fallback != tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "coopledger"


def test_a_failure_part_way_through_init_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "append", disk_full)
    target = tmp_path / "garden"
    with pytest.raises(HomeError, match="No space left on device"):
        Home.init(target, "Hillside Garden")
    assert list(tmp_path.iterdir()) == []  # no home, no staging directory
    monkeypatch.undo()
    home, _ = Home.init(target, "Hillside Garden")  # and a retry just works
    assert Home.open(target).author == home.author
    assert oct(target.stat().st_mode & 0o777) == oct(0o700)
