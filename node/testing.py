"""Real `coop node start` processes on loopback, for integration tests and benchmarks.

Each ``Daemon`` is one home and one process started through the installed `coop`
command, exactly as an operator would start it. Waiting is always on a condition
(the run file, the API's answer, a state hash) with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

COOP = Path(sys.executable).parent / "coop"
START_TIMEOUT_S = 30.0
POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, cond: Callable[[], Any], timeout: float) -> Any:
    """Poll ``cond`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
        except Exception as exc:  # a daemon not up yet, a file half-written
            last_exc = exc
            value = None
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                         + (f" (last error: {last_exc})" if last_exc else ""))


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("COOP_HOME", "COOP_PASSPHRASE_FILE", "FORCE_COLOR")}
    e["COOP_LOG"] = "INFO"
    e["COLUMNS"] = "200"
    e.update(extra or {})
    return e


class Daemon:
    def __init__(self, root: Path, name: str, *, port: int | None = None) -> None:
        self.name = name
        self.home = root / name
        self.port = port or free_port()
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peer_id: str | None = None

    # -- the CLI -----------------------------------------------------------------------

    def coop(self, *args: str, check: bool = True, timeout: float = 60
             ) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([str(COOP), *args, "--home", str(self.home)],
                           capture_output=True, text=True, env=env(), timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"coop {' '.join(args)} at {self.name} failed "
                                 f"({r.returncode}): {r.stderr}")
        return r

    def init(self) -> None:
        self.coop("init", "--name", self.name)

    def log_labor(self, member: str, hours: str = "1", task: str = "work") -> str:
        r = self.coop("log", "labor", "--member", member, "--hours", hours, "--task", task)
        return r.stdout

    @property
    def addr(self) -> str:
        assert self.peer_id, "start the daemon first"
        return f"/ip4/127.0.0.1/tcp/{self.port}/p2p/{self.peer_id}"

    # -- the process -------------------------------------------------------------------

    def start(self, bootstrap: Sequence[str] = (), *extra: str) -> None:
        args = [str(COOP), "node", "start", "--home", str(self.home),
                "--listen", f"/ip4/127.0.0.1/tcp/{self.port}", "--api", "127.0.0.1:0",
                "--no-mdns"]
        for b in bootstrap:
            args += ["--bootstrap", b]
        args += list(extra)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env(),
                                     start_new_session=True)
        log.close()
        info = wait_for(f"{self.name} to start (log: {self.log_path})",
                        self._ready, START_TIMEOUT_S)
        self.peer_id = info["peer_id"]

    def _ready(self) -> dict[str, Any] | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n"
                                 + self.log_tail())
        run = json.loads((self.home / "node.json").read_text())
        if run["pid"] != self.proc.pid:
            return None
        return run if self.status() else None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        run = json.loads((self.home / "node.json").read_text())
        host, _, port = run["api"].rpartition(":")
        token = (self.home / "api-token").read_text().strip()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            if resp.status != 200:
                raise AssertionError(f"{method} {path} -> {resp.status}: {payload[:300]!r}")
            return json.loads(payload)
        finally:
            conn.close()

    def status(self) -> dict[str, Any]:
        return self.api("GET", "/v1/status")  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout} s "
                                     f"after {signal.Signals(sig).name}:\n"
                                     + self.log_tail()) from None
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def converged(daemons: Sequence[Daemon], *, entries: int | None = None
              ) -> Callable[[], bool]:
    """A condition: every daemon reports the same state_hash (and ``entries`` held)."""
    def check() -> bool:
        sts = [d.status() for d in daemons]
        hashes = {s["state_hash"] for s in sts}
        if len(hashes) != 1:
            return False
        return entries is None or all(s["entries_held"] == entries for s in sts)
    return check
