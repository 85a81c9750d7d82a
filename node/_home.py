"""A node's home directory: its config, its key and its store.

    HOME/
      coop.toml    what this node is (the co-op's name, its author id); TOML
      key          the co-op's secret key, sealed with a passphrase or plain (mode 0600)
      ledger.db    the SQLite store (plus its -wal/-shm files while open)

The default home is ``$COOP_HOME``, else the platform's user data directory
(``~/.local/share/coopledger`` on Linux).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from coopledger import crypto
from coopledger.crypto import KeyFileError, SecretKey, WrongPassphrase
from coopledger.protocol import GENESIS_KIND, Entry, create_entry

from ._clock import now_ms
from ._errors import HomeError, KeyLocked
from ._store import Store

CONFIG_FILE = "coop.toml"
KEY_FILE = "key"
STORE_FILE = "ledger.db"


def default_home() -> Path:
    env = os.environ.get("COOP_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("coopledger", appauthor=False))


def _toml_string(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


@dataclass
class Home:
    path: Path
    name: str
    author: bytes

    @classmethod
    def init(cls, path: Path, name: str, passphrase: bytes | None = None) -> tuple[Home, Entry]:
        """Create a home: key, config, store and the genesis entry naming the co-op.

        Refuses (HomeError) if ``path`` already holds a home or any other file; raises
        ValidationError, having written nothing, for a name the genesis schema refuses.
        """
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise HomeError(f"{path} already exists and is not empty; refusing to overwrite it")
        key = SecretKey.generate()
        ts = now_ms()
        # Sign the genesis entry before writing anything: a name its schema refuses
        # (ValidationError) must not leave a half-made home that blocks a retry.
        create_entry(key, seq=1, prev=None, ts=ts, kind=GENESIS_KIND, body={"name": name})
        # Build the home in a sibling directory and rename it into place at the end, so
        # that a crash (or a full disk) part-way never leaves a half-made home behind.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.init-", dir=path.parent))
        except OSError as exc:
            raise HomeError(f"cannot create {path}: {exc.strerror}") from exc
        try:
            blob = (crypto.seal_secret(key.raw, passphrase) if passphrase
                    else crypto.plain_secret(key.raw))
            fd = os.open(staging / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            with Store.open(staging / STORE_FILE, create=True) as store:
                genesis = store.append(key, kind=GENESIS_KIND, body={"name": name}, ts=ts)
            (staging / CONFIG_FILE).write_text(
                "# coopledger node home. Written by `coop init`.\n"
                f"name = {_toml_string(name)}\n"
                f"author = \"{key.public.raw.hex()}\"\n"
            )
            # Replaces ``path`` only if it is missing or an empty directory.
            os.rename(staging, path)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise HomeError(f"cannot create {path}: {exc.strerror}") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        home = cls(path, name, key.public.raw)
        return home, genesis

    @classmethod
    def open(cls, path: Path) -> Home:
        """Open an existing home. Raises HomeError naming what is missing or wrong."""
        cfg = path / CONFIG_FILE
        if not cfg.exists():
            raise HomeError(f"no coopledger home at {path} (run `coop init --name NAME` first)")
        try:
            data = tomllib.loads(cfg.read_text())
            name = data["name"]
            author = bytes.fromhex(data["author"])
        except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
            raise HomeError(f"{cfg} is damaged: {exc}") from exc
        if not isinstance(name, str) or len(author) != 32:
            raise HomeError(f"{cfg} is damaged: bad name or author")
        return cls(path, name, author)

    @property
    def store_path(self) -> Path:
        return self.path / STORE_FILE

    def open_store(self) -> Store:
        return Store.open(self.store_path)

    def key_is_sealed(self) -> bool:
        return crypto.is_sealed(self._key_blob())

    def _key_blob(self) -> bytes:
        try:
            return (self.path / KEY_FILE).read_bytes()
        except OSError as exc:
            raise HomeError(f"cannot read the key file: {exc.strerror}") from exc

    def secret_key(self, passphrase: bytes | None) -> SecretKey:
        """The co-op's secret key. Raises KeyLocked for a missing or wrong passphrase."""
        try:
            secret = crypto.open_secret(self._key_blob(), passphrase)
        except WrongPassphrase as exc:
            raise KeyLocked(str(exc)) from exc
        except KeyFileError as exc:
            raise HomeError(f"key file {self.path / KEY_FILE}: {exc}") from exc
        key = SecretKey(secret)
        if key.public.raw != self.author:
            raise HomeError("the key file does not match the author in coop.toml")
        return key
