"""Interop with an implementation nobody here wrote: js-libp2p (npm, pinned in
tests/interop/js/package-lock.json) against a real `coop node start` daemon.

The JS peer (js/peer.mjs, with js/entry.mjs written from protocol/SPEC.md alone) first
proves its own entry code on every test vector, then dials the daemon over
TCP + Noise + Yamux, receives entries on the gossip topic, and pulls the daemon's whole
log over /coopledger/sync/1, verifying every entry and the chain. It prints one JSON
object per line on stdout; this test drives the daemon around it and checks both sides.

Needs `node` (>= 20) and `npm`; their absence is a failure, not a skip: this test is the
only evidence that our wire formats are implementable from the SPEC.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from coopledger.node.testing import Daemon, close_all, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JS_DIR = Path(__file__).parent / "js"
VECTORS = Path(__file__).parents[1] / "vectors" / "entries.json"
NPM_CI_TIMEOUT_S = 300
PEER_TIMEOUT_S = 45  # the JS side's own deadline for everything after start
ENTRIES_BEFORE = 2   # logged before the daemon starts (reach JS by sync only)
GOSSIP_ENTRIES = 3   # logged once JS is subscribed (reach JS by gossip, then sync)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: the JS interop test needs Node.js >= 20 "
                    f"and npm (install them; this test is never skipped)")
    return path


def _ensure_node_modules(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than package-lock.json."""
    lock = JS_DIR / "package-lock.json"
    installed = JS_DIR / "node_modules" / ".package-lock.json"  # npm writes it on install
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    try:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR,
                           capture_output=True, text=True, timeout=NPM_CI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"npm ci in {JS_DIR} took over {NPM_CI_TIMEOUT_S} s")
    if r.returncode != 0:
        pytest.fail(f"npm ci in {JS_DIR} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


class _Lines:
    """The JS peer's stdout, line by line, readable with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._q: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self._q.put(line)
            self._q.put(None)

        self._t = threading.Thread(target=pump, daemon=True)
        self._t.start()

    def next_event(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON line, or None at EOF. Fails at the deadline."""
        while True:
            try:
                line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("the JS peer printed nothing before the deadline")
            if line is None:
                return None
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)  # type: ignore[no-any-return]


def _js_tools() -> str:
    node = _tool("node")
    _ensure_node_modules(_tool("npm"))
    return node


def test_js_libp2p_peer_gossip_and_sync(tmp_path: Path) -> None:
    node = _js_tools()

    d = Daemon(tmp_path, "garden")
    d.init()
    for i in range(ENTRIES_BEFORE):
        d.log_labor("ana", "1.5", f"before {i}")
    proc: subprocess.Popen[str] | None = None
    stderr_path = tmp_path / "js-peer.stderr"
    try:
        d.start()
        started = time.monotonic()
        with stderr_path.open("w") as err:
            proc = subprocess.Popen(
                [node, str(JS_DIR / "peer.mjs"), "--addr", d.addr, "--network", "default",
                 "--gossip", str(GOSSIP_ENTRIES), "--vectors", str(VECTORS),
                 "--timeout", str(PEER_TIMEOUT_S)],
                cwd=JS_DIR, stdout=subprocess.PIPE, stderr=err, text=True,
                env={**os.environ, "NODE_NO_WARNINGS": "1"})
        lines = _Lines(proc)
        deadline = started + PEER_TIMEOUT_S + 10

        def js_said() -> str:
            return (f"\n--- JS peer stderr ---\n{stderr_path.read_text()}"
                    f"\n--- daemon log ---\n{d.log_tail()}")

        first = lines.next_event(deadline)
        assert first is not None and first["event"] == "subscribed", \
            f"expected the JS peer's 'subscribed' line, got {first}{js_said()}"
        gossiped = []
        for i in range(GOSSIP_ENTRIES):
            d.log_labor("ben", "2", f"gossip {i}")
            gossiped.append(i)
        summary = lines.next_event(deadline)
        assert summary is not None, f"the JS peer printed no summary{js_said()}"
        assert summary["event"] == "summary", f"JS peer failed: {summary}{js_said()}"
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert rc == 0, f"JS peer exited with {rc}{js_said()}"
        elapsed = time.monotonic() - started

        total = 1 + ENTRIES_BEFORE + GOSSIP_ENTRIES  # genesis from `coop init`
        # The status counts are a snapshot refreshed at most twice a second.
        status = wait_for("the daemon's status to count every entry",
                          lambda: (st := d.status())["entries_held"] == total and st, 10)
        author = status["author"]

        # 1. the JS entry code agrees with the SPEC's test vectors
        vec = summary["vectors"]
        assert vec["mismatches"] == []
        vectors = json.loads(VECTORS.read_text())["entries"]
        valid = sum(1 for v in vectors if v["valid"])
        assert vec["total"] == len(vectors) and valid >= 11
        assert vec["valid_ok"] == valid
        assert vec["invalid_rejected"] == vec["total"] - valid >= 20

        # 2. TCP + Noise + Yamux to the daemon's peer id
        conn = summary["connection"]
        assert conn["remote_peer"] == d.peer_id
        assert conn["encryption"] == "/noise"
        assert conn["multiplexer"] == "/yamux/1.0.0"

        # 3. the entries logged after JS subscribed came by gossip, signatures verified
        g = summary["gossip"]
        assert g["received"] == g["verified"] == GOSSIP_ENTRIES
        assert sorted(e["seq"] for e in g["entries"]) == list(
            range(ENTRIES_BEFORE + 2, total + 1))
        assert {e["author"] for e in g["entries"]} == {author}

        # 4. the whole log came over /coopledger/sync/1: verified, contiguous, linked
        s = summary["sync"]
        assert s["entries"] == s["verified"] == total == status["entries_held"]
        assert list(s["authors"]) == [author]
        assert s["authors"][author]["length"] == total
        assert s["authors"][author]["kinds"] == ["genesis"] + ["labor"] * (total - 1)
        assert s["gossip_in_log"] == GOSSIP_ENTRIES

        # The daemon saw a correct peer: its sessions with JS (ours, and the one it
        # opened on connect, which JS served as an empty peer) ended "ok".
        js_peer = first["peer_id"]
        ours = [x for x in status["sync"] if x["peer_id"] == js_peer]
        assert ours and ours[0]["last_result"] == "ok", (ours, js_said())
        inbound = summary["inbound_sync"]
        assert inbound["error"] is None, inbound
        # …and never logged a protocol complaint about it (ban, refused entry, …).
        complaints = [line for line in d.log_path.read_text().splitlines()
                      if "warning" in line.lower() and js_peer[-8:] in line]
        assert complaints == [], complaints

        print(f"\nJS interop: {elapsed:.1f} s after daemon start; JS timings (ms) "
              f"{summary['timings_ms']}; inbound session: {inbound['sessions']} with "
              f"{inbound['entries']} entries")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        close_all([d])


def test_daemon_refuses_a_non_canonical_sync_message_from_js(tmp_path: Path) -> None:
    """The JS peer sends a hello whose `v` is uint8 (cc 01) instead of fixint 01: the
    daemon must refuse it (invalid:sync-encoding), send no entries, and disconnect."""
    node = _js_tools()
    d = Daemon(tmp_path, "garden")
    d.init()
    d.log_labor("ana", "1", "not for this peer")
    try:
        d.start()
        r = subprocess.run(
            [node, str(JS_DIR / "peer.mjs"), "--addr", d.addr, "--mode", "bad-hello",
             "--timeout", "20"],
            cwd=JS_DIR, capture_output=True, text=True, timeout=40,
            env={**os.environ, "NODE_NO_WARNINGS": "1"})
        events = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        assert r.returncode == 0 and events, (r.stdout, r.stderr, d.log_tail())
        out = events[-1]
        assert out["event"] == "summary" and out["mode"] == "bad-hello", out
        assert set(out["received"]) <= {"hello", "heads"}, out  # it may speak first
        assert out["connection_closed"], out
        short = out["peer_id"][-8:]

        def refused() -> bool:
            return any("invalid:sync-encoding" in line and short in line
                       for line in d.log_path.read_text().splitlines())
        wait_for("the daemon to log invalid:sync-encoding for the JS peer", refused, 10)
    finally:
        close_all([d])
