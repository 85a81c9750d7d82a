"""docs/sync-states.md is generated from the sync machine: it must be
current, and every state change real sessions make must be one of its edges."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from synckit import KEYS, SessionPair, Store

from coopledger.protocol import SyncSession, SyncState, create_entry

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sync_diagram.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_diagram", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_diagram_is_current() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _record(session: SyncSession, seen: set[tuple[SyncState, SyncState]]) -> None:
    """Wrap the session's inputs so each state change (or stay) is recorded."""
    for name in ("receive", "entries_loaded", "entries_stored"):
        inner = getattr(session, name)

        def wrapped(*args: object, _inner: object = inner) -> None:
            before = session.state
            _inner(*args)  # type: ignore[operator]
            seen.add((before, session.state))

        setattr(session, name, wrapped)


@pytest.mark.parametrize("shape", ["empty", "one way", "both ways", "forks", "many"])
def test_real_sessions_move_only_along_the_diagram(shape: str) -> None:
    a, b = Store(), Store()
    if shape in ("one way", "both ways", "forks"):
        log = a.append(KEYS[0], 5)
    if shape in ("both ways", "forks"):
        b.append(KEYS[1], 3)
    if shape == "forks":
        b.add(log[:2])
        b.add([create_entry(KEYS[0], seq=3, prev=log[1].id, ts=log[1].ts + 1,
                            kind="x.note", body={"fork": 1})])
    if shape == "many":
        a.append(KEYS[2], 700)      # several batches, the window fills
    pair = SessionPair(a, b)
    seen: set[tuple[SyncState, SyncState]] = set()
    _record(pair.a.session, seen)
    _record(pair.b.session, seen)
    pair.run()
    edges = {(src, dst) for src, dst, _ in _script().edges()}
    moves = {(s, d) for s, d in seen if s is not d or (s, d) in edges}
    assert moves <= edges, moves - edges
    assert pair.a.session.state is SyncState.DONE and pair.b.session.state is SyncState.DONE
    assert (SyncState.STREAMING, SyncState.DONE) in seen
