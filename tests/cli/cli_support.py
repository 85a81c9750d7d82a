"""Shared helpers for tests/cli (a plain module: tests/ is not a package, and pytest's
default prepend import mode puts this directory on sys.path)."""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Every real subprocess run gets this long before the test fails.
SUBPROCESS_TIMEOUT_S = 60
# Wide enough that no table cell we assert on is wrapped.
WIDTH = 250

COOP = Path(sys.executable).parent / "coop"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def this_month() -> str:
    """The current UTC month, YYYY-MM: the month a figure of "now" falls in. Call it
    after the entries it is about are written, so it is never a month before them."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m")


Run = Callable[..., Result]
# coop_bin(home, *args, env=None, timeout=…) -> Result
CoopBin = Callable[..., Result]


def ok(r: Result) -> Result:
    """Assert ``r`` succeeded, and return it."""
    assert r.code == 0, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    return r


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COOP_HOME", "COOP_PASSPHRASE_FILE", "COOP_LOG", "FORCE_COLOR")}
    env["COLUMNS"] = str(WIDTH)
    env.update(extra or {})
    return env


def user_error(r: Result, code: int, *words: str) -> str:
    """Assert ``r`` is a user mistake: exit ``code``, nothing on stdout, no traceback,
    and exactly one error line on stderr holding every one of ``words``. Click's usage
    errors may add their "Usage: …" and "Try '… --help'" lines; nothing else may
    appear. Returns the error line."""
    assert r.code == code, (r.code, r.out, r.err)
    assert r.out == ""
    assert "Traceback" not in r.err
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("error: ", "Error: "))]
    assert len(errors) == 1, r.err
    others = [ln for ln in lines if ln not in errors]
    assert all(ln.startswith(("Usage: coop ", "Try 'coop ")) for ln in others), r.err
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]
