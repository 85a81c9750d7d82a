"""A node's home directory: its config, its key and its store.

    HOME/
      coop.toml    what this node is: the co-op's name, ``author`` (the key this node
                   writes with) and, when that key is not the co-op's root key,
                   ``identity`` (the co-op it writes for, SPEC §13.2); TOML
      key          this node's secret key, sealed with a passphrase or plain (mode 0600)
      ledger.db    the SQLite store (plus its -wal/-shm files while open)
      key.next, coop.toml.next
                   only while ``rotate_key`` runs (or after it was interrupted; the next
                   ``rotate_key`` finishes the job, ``secret_key`` completes a switch
                   that stopped between the two renames)

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
from coopledger.protocol import GENESIS_KIND, Entry, create_entry, key_proof_message

from ._clock import now_ms
from ._errors import HomeError, KeyLocked
from ._store import Store

CONFIG_FILE = "coop.toml"
KEY_FILE = "key"
STORE_FILE = "ledger.db"
NEXT = ".next"  # suffix of the files a key rotation writes before renaming them


def default_home() -> Path:
    env = os.environ.get("COOP_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("coopledger", appauthor=False))


def _toml_string(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _config_text(name: str, author: bytes, identity: bytes) -> str:
    text = ("# coopledger node home. Written by `coop init`.\n"
            f"name = {_toml_string(name)}\n"
            f"author = \"{author.hex()}\"\n")
    if identity != author:
        text += ("# The co-op this key writes for (its root key, SPEC §13.2).\n"
                 f"identity = \"{identity.hex()}\"\n")
    return text


def _write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` (which must not exist) and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_secret_file(path: Path, key: SecretKey, passphrase: bytes | None) -> None:
    """Write ``key`` to a new file (mode 0600), sealed when ``passphrase`` is given.
    Raises HomeError if the file exists or cannot be written."""
    blob = crypto.seal_secret(key.raw, passphrase) if passphrase else crypto.plain_secret(key.raw)
    try:
        _write_new(path, blob, 0o600)
    except FileExistsError as exc:
        raise HomeError(f"{path} already exists; refusing to overwrite it") from exc
    except OSError as exc:
        raise HomeError(f"cannot write {path}: {exc.strerror}") from exc


def read_secret_file(path: Path, passphrase: bytes | None) -> SecretKey:
    """A secret key from a key file (sealed or plain). KeyLocked for a missing or wrong
    passphrase, HomeError for a file that is missing or not a key file."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise HomeError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return SecretKey(crypto.open_secret(blob, passphrase))
    except WrongPassphrase as exc:
        raise KeyLocked(str(exc)) from exc
    except KeyFileError as exc:
        raise HomeError(f"key file {path}: {exc}") from exc


@dataclass(frozen=True)
class Rotation:
    """What ``Home.rotate_key`` wrote: the old key added the new one and revoked
    itself through the revoke's own seq; the new key's log starts with a genesis."""

    old: bytes
    new: bytes
    identity: bytes
    add: Entry
    revoke: Entry
    genesis: Entry


@dataclass
class Home:
    path: Path
    name: str
    author: bytes                  # the key this node writes with
    identity: bytes = b""          # the co-op it writes for; default: ``author``

    def __post_init__(self) -> None:
        if not self.identity:
            self.identity = self.author

    @classmethod
    def init(cls, path: Path, name: str, passphrase: bytes | None = None,
             identity: bytes | None = None) -> tuple[Home, Entry]:
        """Create a home: key, config, store and the genesis entry naming the co-op.

        With ``identity`` (a co-op's root key), the home is a new device or delegate of
        that co-op: its key writes for it once the co-op adds it (``key_request``).

        Refuses (HomeError) if ``path`` already holds a home or any other file; raises
        ValidationError, having written nothing, for a name the genesis schema refuses.
        """
        if identity is not None and len(identity) != 32:
            raise HomeError("identity must be a co-op's 32-byte key")
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
                _config_text(name, key.public.raw, identity or key.public.raw))
            # Replaces ``path`` only if it is missing or an empty directory.
            os.rename(staging, path)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise HomeError(f"cannot create {path}: {exc.strerror}") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        home = cls(path, name, key.public.raw, identity or key.public.raw)
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
            identity = bytes.fromhex(data.get("identity", data["author"]))
        except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
            raise HomeError(f"{cfg} is damaged: {exc}") from exc
        if not isinstance(name, str) or len(author) != 32 or len(identity) != 32:
            raise HomeError(f"{cfg} is damaged: bad name, author or identity")
        return cls(path, name, author, identity)

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
        """This node's secret key. Raises KeyLocked for a missing or wrong passphrase."""
        try:
            secret = crypto.open_secret(self._key_blob(), passphrase)
        except WrongPassphrase as exc:
            raise KeyLocked(str(exc)) from exc
        except KeyFileError as exc:
            raise HomeError(f"key file {self.path / KEY_FILE}: {exc}") from exc
        key = SecretKey(secret)
        if key.public.raw != self.author:
            # A rotation that stopped between its two renames: coop.toml names the
            # new key, which waits in key.next. Finish the switch.
            nxt = self.path / (KEY_FILE + NEXT)
            if nxt.exists() and read_secret_file(nxt, passphrase).public.raw == self.author:
                os.replace(nxt, self.path / KEY_FILE)
                return self.secret_key(passphrase)
            raise HomeError("the key file does not match the author in coop.toml")
        return key

    def rotate_key(self, passphrase: bytes | None, ts: int,
                   label: str = "rotated key") -> Rotation:
        """Move this home to a new key (SPEC §13.2, docs/keys.md). The node must not be
        running (the caller checks). In order, each step safe to crash after:

        1. the new key is written to ``key.next`` (sealed with the same passphrase if
           the current key is sealed); an existing ``key.next`` is reused;
        2. the old key's ``key.add`` (power node, with the new key's proof) and
           ``key.revoke`` of itself (reason rotated, ``through`` = the revoke's own
           seq), then the new key's genesis (name: the co-op's name; its ts is the
           revoke's, so every later entry of the new key is at or after its add) are
           appended; steps already in the store are not repeated;
        3. ``coop.toml.next`` (author: the new key, identity: the co-op) replaces
           ``coop.toml``; then ``key.next`` replaces ``key``.

        Raises KeyLocked (passphrase), HomeError (files), AppendError (the store)."""
        old = self.secret_key(passphrase)
        sealed = self.key_is_sealed()
        nxt = self.path / (KEY_FILE + NEXT)
        if nxt.exists():
            new = read_secret_file(nxt, passphrase)
        else:
            new = SecretKey.generate()
            write_secret_file(nxt, new, passphrase if sealed else None)
        identity, new_raw, old_raw = self.identity, new.public.raw, old.public.raw
        with self.open_store() as store:
            own = list(store.entries(authors=[old_raw]))
            add = next((e for e in own if e.kind == "key.add"
                        and e.body.get("key") == new_raw.hex()), None)
            revoke = next((e for e in own if e.kind == "key.revoke"
                           and e.body.get("key") == old_raw.hex()
                           and e.body.get("through") == e.seq), None)
            if add is None:
                add = store.append(old, kind="key.add", ts=ts, body={
                    "identity": identity.hex(), "key": new_raw.hex(), "power": "node",
                    "label": label,
                    "proof": new.sign(key_proof_message(identity)).hex()})
            if revoke is None:
                # ``through`` names the revoke's own seq: the old key's entries up to
                # and including it stand, any later one (whatever its time) does not.
                revoke = store.append(old, kind="key.revoke", ts=ts, body={
                    "identity": identity.hex(), "key": old_raw.hex(), "reason": "rotated",
                    "through": add.seq + 1})
                if revoke.seq != add.seq + 1:
                    raise HomeError("another process wrote to this log during the "
                                    "rotation; run the rotation again")
            genesis = next(iter(store.entries(authors=[new_raw])), None)
            if genesis is None:
                genesis = store.append(new, kind=GENESIS_KIND, body={"name": self.name},
                                       ts=max(ts, revoke.ts))
        cfg = self.path / (CONFIG_FILE + NEXT)
        cfg.unlink(missing_ok=True)
        try:
            _write_new(cfg, _config_text(self.name, new_raw, identity).encode())
            os.replace(cfg, self.path / CONFIG_FILE)
            os.replace(nxt, self.path / KEY_FILE)
        except OSError as exc:
            raise HomeError(f"cannot switch {self.path} to the new key: "
                            f"{exc.strerror}") from exc
        self.author = new_raw
        return Rotation(old_raw, new_raw, identity, add, revoke, genesis)
