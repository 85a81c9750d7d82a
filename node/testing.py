"""Real `coop node start` processes on loopback, for integration tests and benchmarks.

Each ``Daemon`` is one home and one process started through the installed `coop`
command, exactly as an operator would start it. Waiting is always on a condition
(the run file, the API's answer, a state hash) with a deadline, never a fixed sleep.

A ``Daemon`` may live in a network namespace (``netns="name"``, made by the caller with
`ip netns add`, needs root): then every `coop` command, the daemon itself included, runs
under `ip netns exec NAME`, the daemon listens for peers on ``host``, and the API (on
127.0.0.1 inside the namespace, unreachable from outside it) is asked through a small
stdlib client run in the namespace.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ._errors import NodeError

COOP = Path(sys.executable).parent / "coop"
START_TIMEOUT_S = 30.0
POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaemonExited(NodeError, AssertionError):
    """A daemon the test did not stop has exited: waiting longer is pointless."""


def wait_for(what: str, cond: Callable[[], Any], timeout: float) -> Any:
    """Poll ``cond`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
        except DaemonExited:
            raise
        except Exception as exc:  # a daemon not up yet, a file half-written
            last_exc = exc
            value = None
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                         + (f" (last error: {last_exc})" if last_exc else ""))


async def wait_until(what: str, cond: Callable[[], Any], timeout: float = 60.0,
                     poll: float = 0.02) -> None:
    """In a trio test: return once ``cond()`` (a cheap look at this process's own
    state) is truthy; fail naming ``what`` after ``timeout`` seconds."""
    import trio  # only the in-process tests need it

    with trio.move_on_after(timeout):
        while not cond():
            await trio.sleep(poll)
        return
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def never(what: str, cond: Callable[[], Any], seconds: float, poll: float = 0.3) -> None:
    """Assert that ``cond()`` stays false for ``seconds`` (evidence that something does
    NOT happen, e.g. nothing crosses a cut link): a fixed window is the point here."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not cond(), f"{what} happened within {seconds:.0f} s"
        time.sleep(poll)


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("COOP_HOME", "COOP_PASSPHRASE_FILE", "FORCE_COLOR")}
    e["COOP_LOG"] = "INFO"
    e["COLUMNS"] = "200"
    e.update(extra or {})
    return e


# The API client run inside a namespace: argv = home, method, path, JSON body or "".
# Prints {"status": ..., "body": ...}; only the stdlib, so it starts in ~30 ms.
_NETNS_API_CLIENT = """
import http.client, json, sys
home, method, path, body = sys.argv[1:5]
run = json.load(open(home + "/node.json"))
host, _, port = run["api"].rpartition(":")
token = open(home + "/api-token").read().strip()
headers = {"Authorization": "Bearer " + token}
if body:
    headers["Content-Type"] = "application/json"
conn = http.client.HTTPConnection(host, int(port), timeout=10)
conn.request(method, path, body=body.encode() if body else None, headers=headers)
resp = conn.getresponse()
print(json.dumps({"status": resp.status, "body": resp.read().decode(errors="replace")}))
"""


class Daemon:
    def __init__(self, root: Path, name: str, *, port: int | None = None,
                 netns: str | None = None, host: str = "127.0.0.1") -> None:
        self.name = name
        self.home = root / name
        self.netns = netns
        self.host = host
        self.port = port or free_port()
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peer_id: str | None = None
        self._stopping = False

    # -- the CLI -----------------------------------------------------------------------

    def _in_netns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def coop(self, *args: str, check: bool = True, timeout: float = 60
             ) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(self._in_netns([str(COOP), *args, "--home", str(self.home)]),
                           capture_output=True, text=True, env=env(), timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"coop {' '.join(args)} at {self.name} failed "
                                 f"({r.returncode}): {r.stderr}")
        return r

    def coop_json(self, *args: str) -> Any:
        """Run a `coop` command with --json here and parse what it prints."""
        return json.loads(self.coop(*args, "--json").stdout)

    def init(self) -> None:
        self.coop("init", "--name", self.name)

    def log_labor(self, member: str, hours: str = "1", task: str = "work") -> str:
        r = self.coop("log", "labor", "--member", member, "--hours", hours, "--task", task)
        return r.stdout

    @property
    def addr(self) -> str:
        assert self.peer_id, "start the daemon first"
        return f"{self.listen_addr}/p2p/{self.peer_id}"

    @property
    def listen_addr(self) -> str:
        """Where it listens for peers, without /p2p/<id>: known before it starts."""
        return f"/ip4/{self.host}/tcp/{self.port}"

    # -- the process -------------------------------------------------------------------

    def start(self, bootstrap: Sequence[str] = (), *extra: str) -> None:
        self.launch(bootstrap, *extra)
        self.wait_ready()

    def launch(self, bootstrap: Sequence[str] = (), *extra: str) -> None:
        """Start the process and return at once (``wait_ready`` waits for its API):
        several daemons that bootstrap from each other can start together."""
        self._stopping = False
        args = [str(COOP), "node", "start", "--home", str(self.home),
                "--listen", self.listen_addr, "--api", "127.0.0.1:0", "--no-mdns"]
        for b in bootstrap:
            args += ["--bootstrap", b]
        args += list(extra)
        log = self.log_path.open("ab")
        # `ip netns exec` execs the command: the process we hold is the daemon itself,
        # so its pid is the run file's and our signals reach it directly.
        self.proc = subprocess.Popen(self._in_netns(args), stdout=log, stderr=log,
                                     env=env(), start_new_session=True)
        log.close()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        info = wait_for(f"{self.name} to start (log: {self.log_path})",
                        self._ready, timeout)
        self.peer_id = info["peer_id"]

    def _check_alive(self) -> None:
        """Raise DaemonExited if the process ended without the test stopping it."""
        if (self.proc is not None and not self._stopping
                and self.proc.poll() is not None):
            raise DaemonExited(f"{self.name} exited with {self.proc.returncode}:\n"
                               + self.log_tail())

    def internal_errors(self) -> list[str]:
        """Lines where the daemon caught one of its own bugs and went on."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        from coopledger.node._syncsched import INTERNAL_ERROR
        return [line for line in text.splitlines() if INTERNAL_ERROR in line]

    def _ready(self) -> dict[str, Any] | None:
        assert self.proc is not None
        self._check_alive()
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
        if self.netns:
            return self._api_in_netns(method, path, body)
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
            if resp.status // 100 != 2:
                raise AssertionError(f"{method} {path} -> {resp.status}: {payload[:300]!r}")
            return json.loads(payload)
        finally:
            conn.close()

    def _api_in_netns(self, method: str, path: str, body: Any) -> Any:
        r = subprocess.run(
            self._in_netns([sys.executable, "-c", _NETNS_API_CLIENT, str(self.home),
                            method, path, "" if body is None else json.dumps(body)]),
            capture_output=True, text=True, env=env(), timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"{method} {path} in netns {self.netns} failed: "
                                 f"{r.stderr.strip()[-300:]}")
        answer = json.loads(r.stdout)
        if answer["status"] != 200:
            raise AssertionError(f"{method} {path} -> {answer['status']}: "
                                 f"{answer['body'][:300]!r}")
        return json.loads(answer["body"])

    def status(self) -> dict[str, Any]:
        self._check_alive()
        return self.api("GET", "/v1/status")  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        assert self.proc is not None
        self._stopping = True
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
        self._stopping = True
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def initialised(root: Path, names: Iterable[str],
                make: Callable[[str], Daemon] | None = None, *, tail: int = 40
                ) -> Iterator[dict[str, Daemon]]:
    """One initialised home per name (daemons not started; ``make(name)`` builds each,
    default ``Daemon(root, name)``); on the way out every daemon is killed, a test
    fails if one logged a caught bug (``close_all``), and each log's last ``tail``
    lines are printed (pytest shows them when the test failed)."""
    ds = {name: make(name) if make else Daemon(root, name) for name in names}
    try:
        for d in ds.values():
            d.init()
        yield ds
    finally:
        try:
            close_all(ds.values())
        finally:
            for d in ds.values():
                print(f"\n----- {d.name} ({d.log_path}), last lines -----\n"
                      f"{d.log_tail(tail)}")


def close_all(daemons: Iterable[Daemon]) -> None:
    """Kill what still runs, then fail if any daemon logged a bug it caught."""
    daemons = list(daemons)
    for d in daemons:
        d.close()
    bad = {d.name: d.internal_errors() for d in daemons}
    bad = {name: lines for name, lines in bad.items() if lines}
    if bad:
        raise AssertionError(f"daemons caught internal errors (see their logs): {bad}")


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
