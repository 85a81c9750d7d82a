"""Shared helpers for tests/cli (a plain module: tests/ is not a package, and pytest's
default prepend import mode puts this directory on sys.path)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
# once(key, build) -> what build() returned (cli_support.build_once)
BuildOnce = Callable[..., Any]


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


T = TypeVar("T")
# key -> (a copy of the directory it was built in, that directory, what build returned)
_KEPT: dict[str, tuple[Path, Path, Any]] = {}


def build_once(key: str, tmp_path: Path, keep_in: Callable[[], Path],
               build: Callable[[], T]) -> T:
    """Homes that many tests start from, built by ``build()`` under ``tmp_path`` in
    the first test of this process that asks for ``key`` and copied into ``tmp_path``
    for the others: a home is a plain directory (coop.toml, key, ledger.db) that names
    no path, so a copy is the same home, in milliseconds instead of the seconds of
    ``coop`` commands and bundle swaps. ``keep_in()`` makes an empty directory that
    lives as long as the process (``tmp_path_factory.mktemp``); paths under
    ``tmp_path`` in what ``build`` returned are moved to this test's ``tmp_path``."""
    kept = _KEPT.get(key)
    if kept is None:
        value = build()
        copy = keep_in()
        shutil.copytree(tmp_path, copy, symlinks=True, dirs_exist_ok=True)
        _KEPT[key] = (copy, tmp_path, value)
        return value
    copy, built_in, value = kept
    for item in copy.iterdir():  # e.g. the garden fixture's fresh home: replaced
        target = tmp_path / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    shutil.copytree(copy, tmp_path, symlinks=True, dirs_exist_ok=True)
    return _moved(value, built_in, tmp_path)


def _moved(value: Any, old: Path, new: Path) -> Any:
    if isinstance(value, Path) and value.is_relative_to(old):
        return new / value.relative_to(old)
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_moved(v, old, new) for v in value)
    return value
