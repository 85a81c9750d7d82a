"""How `coop` finds the daemon of a home: the API token and the run file.

    HOME/
      api-token    32 random bytes as hex; the local API's bearer token (mode 0600)
      node.json    {"pid", "api": "127.0.0.1:PORT", "peer_id", "started_ms"}, written
                   by the daemon once its API listens, removed on a clean stop

A run file can outlive its daemon (kill -9, a power cut). ``find_running`` therefore
trusts it only when the pid is alive *and* ``GET /v1/health`` on its address answers
with that same pid; anything else is stale and the caller works on the store directly.
Working directly while a daemon runs is safe (SQLite serialises writers and
``Store.append`` reads our head and writes inside one write transaction); the entry
then waits for the next sync instead of being gossiped at once.

This module uses the standard library only: `coop` imports it on every writing command,
and start-up time matters more there than elegance.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._clock import now_ms
from ._config import parse_api_address
from ._errors import HomeError

TOKEN_FILE = "api-token"
RUN_FILE = "node.json"
# 32 random bytes: as strong as the Ed25519 key the home already protects.
TOKEN_BYTES = 32
# A live daemon answers /v1/health at once (the handler touches nothing); a second is
# generous on loopback, and short enough that `coop log` is never held up for long by
# a wedged process.
HEALTH_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RunInfo:
    """What node.json says about the running daemon."""

    pid: int
    api: str
    peer_id: str
    started_ms: int

    @property
    def host(self) -> str:
        return parse_api_address(self.api)[0]

    @property
    def port(self) -> int:
        return parse_api_address(self.api)[1]


# -- the token ----------------------------------------------------------------------


def ensure_token(home_path: Path) -> str:
    """The home's API token, creating HOME/api-token (mode 0600) if it is missing.

    Raises HomeError if the file cannot be written or read, or is open to others."""
    path = home_path / TOKEN_FILE
    token = secrets.token_bytes(TOKEN_BYTES).hex()
    try:
        # O_EXCL: two daemons starting at once must not end up with two tokens.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(home_path)
    except OSError as exc:
        raise HomeError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise HomeError(f"cannot write {path}: {exc.strerror}") from exc
    return token


def read_token(home_path: Path) -> str:
    """The token in HOME/api-token. Raises HomeError if it is missing, unreadable,
    damaged, or readable by other users (as ssh refuses an open private key)."""
    path = home_path / TOKEN_FILE
    try:
        with open(path) as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read(4 * TOKEN_BYTES).strip()
    except OSError as exc:
        raise HomeError(f"cannot read the API token {path}: {exc.strerror}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise HomeError(f"{path} is readable by other users; run `chmod 600 {path}`")
    if len(text) != 2 * TOKEN_BYTES or not all(c in "0123456789abcdef" for c in text):
        raise HomeError(f"{path} is damaged: expected {2 * TOKEN_BYTES} hex characters "
                        "(delete it and restart the node to make a new one)")
    return text


# -- the run file -------------------------------------------------------------------


def write_runfile(home_path: Path, *, api: str, peer_id: str, pid: int | None = None,
                  started_ms: int | None = None) -> RunInfo:
    """Write HOME/node.json atomically (a reader sees the old file or the new one, never
    half of one). Call it once the API listens, with the address it actually bound.
    Raises HomeError if it cannot be written."""
    parse_api_address(api)
    info = RunInfo(pid=os.getpid() if pid is None else pid, api=api, peer_id=peer_id,
                   started_ms=now_ms() if started_ms is None else started_ms)
    path = home_path / RUN_FILE
    data = json.dumps({"pid": info.pid, "api": info.api, "peer_id": info.peer_id,
                       "started_ms": info.started_ms}, indent=2) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".node.json.", dir=home_path)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise HomeError(f"cannot write {path}: {exc.strerror}") from exc
    return info


def remove_runfile(home_path: Path, *, pid: int | None = None) -> None:
    """Remove HOME/node.json if it names ``pid`` (default: this process). A file that
    names another process is left alone: it belongs to a daemon started after us."""
    info = _read_runfile(home_path)
    mine = os.getpid() if pid is None else pid
    if info is not None and info.pid != mine:
        return
    (home_path / RUN_FILE).unlink(missing_ok=True)


def _read_runfile(home_path: Path) -> RunInfo | None:
    try:
        data = json.loads((home_path / RUN_FILE).read_text())
        info = RunInfo(pid=data["pid"], api=data["api"], peer_id=data["peer_id"],
                       started_ms=data["started_ms"])
        if not isinstance(info.pid, int) or info.pid <= 0 or not isinstance(info.api, str):
            return None
        parse_api_address(info.api)
    except (OSError, ValueError, KeyError, TypeError, HomeError):
        # Missing, half-written by hand, or damaged: no usable daemon either way.
        return None
    return info


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    except OSError:
        return False
    return True


def _answers(info: RunInfo, timeout: float) -> bool:
    """True if GET /v1/health at ``info.api`` answers 200 with the run file's pid (so a
    reused port or a recycled pid does not pass for our daemon)."""
    conn = http.client.HTTPConnection(info.host, info.port, timeout=timeout)
    try:
        conn.request("GET", "/v1/health")
        resp = conn.getresponse()
        body = resp.read(4096)
        if resp.status != 200:
            return False
        return bool(json.loads(body).get("pid") == info.pid)
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    finally:
        conn.close()


def find_running(home_path: Path, *, timeout: float = HEALTH_TIMEOUT_S) -> RunInfo | None:
    """The daemon running for this home, or None: no node.json, a damaged one, or a
    stale one (its pid is not alive, or nothing answers at its address as that pid).
    Never raises for a missing or stale file; a stale file is left in place (the next
    daemon overwrites it)."""
    info = _read_runfile(home_path)
    if info is None or not _pid_alive(info.pid):
        return None
    if not _answers(info, timeout):
        return None
    return info
