"""Fixtures for driving the `coop` command as a user would.

``run`` calls ``coopledger.cli.main()`` in this process with ``sys.argv`` patched, so
main()'s mapping of errors to exit codes and one-line messages is what gets tested
(``CliRunner().invoke(app, …)`` would bypass it). ``coop_bin`` runs the installed
console script in a real subprocess.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from cli_support import (
    COOP,
    SUBPROCESS_TIMEOUT_S,
    WIDTH,
    BuildOnce,
    CoopBin,
    Result,
    Run,
    build_once,
    ok,
    subprocess_env,
)

from coopledger.cli import _common, main

T = TypeVar("T")


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    return 1  # sys.exit("message") prints the message and exits 1


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """``run("log", "labor", "--hours", "2", …)`` → Result(code, out, err).

    stdin is an empty pipe (not a terminal) unless ``stdin=`` gives its text.
    """
    for var in ("COOP_HOME", "COOP_PASSPHRASE_FILE", "COOP_LOG"):
        monkeypatch.delenv(var, raising=False)
    # Typer installs its own excepthook on every call; keep the process's own.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    # The consoles are made at import time; give them a wide "terminal".
    monkeypatch.setattr(_common.out, "_width", WIDTH)
    monkeypatch.setattr(_common.err, "_width", WIDTH)
    # main() configures logging for the whole process; undo that after the test.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = {n: logging.getLevelName(n) for n in (logging.WARNING, logging.ERROR)}

    def _run(*args: object, stdin: str = "") -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["coop", *(str(a) for a in args)])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            main()
        except SystemExit as exc:
            code = _exit_code(exc)
        else:
            code = 0
        o, e = capsys.readouterr()
        return Result(code, o, e)

    yield _run
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for n, name in names.items():
        logging.addLevelName(n, name)


@pytest.fixture
def coop_bin() -> CoopBin:
    """``coop_bin(home, "log", "labor", …)`` runs the installed script with ``--home
    HOME`` appended (``home=None``: no --home) and stdin an empty pipe."""
    assert COOP.exists(), f"the coop script is not installed next to {sys.executable}"

    def _run(home: Path | None, *args: object, env: dict[str, str] | None = None,
             timeout: float = SUBPROCESS_TIMEOUT_S) -> Result:
        argv = [str(COOP), *(str(a) for a in args)]
        if home is not None:
            argv += ["--home", str(home)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=subprocess_env(env))
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return _run


@pytest.fixture
def garden(run: Run, tmp_path: Path) -> Path:
    """A fresh home with an unsealed key, for "Hillside Garden"."""
    home = tmp_path / "garden"
    ok(run("init", "--name", "Hillside Garden", "--home", home))
    return home


@pytest.fixture
def once(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildOnce:
    """``once(key, build)``: cli_support.build_once in this test's ``tmp_path``."""
    def _once(key: str, build: Callable[[], T]) -> T:
        return build_once(key, tmp_path, lambda: tmp_path_factory.mktemp("kept"), build)
    return _once
