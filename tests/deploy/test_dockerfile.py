"""The Dockerfile, .dockerignore and docker/entrypoint.sh, checked without a Docker
engine: the image runs as a non-root user, installs no test extras, and its
entrypoint, volume, home, ports and commands agree with docker-compose.yml. The
entrypoint script itself runs for real here, against the installed `coop`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from deploykit import (
    COMPOSE_FILE,
    DOCKERFILE,
    DOCKERIGNORE,
    ENTRYPOINT_SCRIPT,
    ROOT,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_rules,
    exec_form,
    final_stage,
    resolve_coop,
    substitute_args,
)

COOP_BIN_DIR = Path(sys.executable).parent
TIMEOUT_S = 60

INSTRUCTIONS = dockerfile_instructions(DOCKERFILE.read_text())
FINAL = final_stage(INSTRUCTIONS)


def _all(word: str, stage: list[tuple[str, str]] = FINAL) -> list[str]:
    return [rest for w, rest in stage if w == word]


def _last(word: str) -> str:
    found = _all(word)
    assert found, f"the final stage has no {word}"
    return found[-1]


def _env() -> dict[str, str]:
    """ENV of the final stage (KEY=VALUE pairs; values without spaces)."""
    env: dict[str, str] = {}
    for rest in _all("ENV"):
        for key, value in re.findall(r"(\w+)=(\S+)", rest):
            env[key] = value
    return env


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_final_stage_is_python_slim() -> None:
    image = substitute_args(FINAL[0][1].split()[0], INSTRUCTIONS)
    assert image == "python:3.11-slim"


def test_runs_as_a_non_root_user() -> None:
    user = _last("USER").split(":")[0]
    assert user not in ("root", "0", ""), user
    # USER comes before the commands that define what runs.
    words = [w for w, _ in FINAL]
    last_user = len(words) - 1 - words[::-1].index("USER")
    assert last_user < words.index("ENTRYPOINT") and last_user < words.index("CMD")


def test_installs_no_test_extras() -> None:
    pip_lines = [rest for w, rest in INSTRUCTIONS if w == "RUN" and "pip" in rest]
    assert pip_lines, "the project is installed with pip"
    for line in pip_lines:
        assert "[test" not in line and ".[" not in line, f"extras installed: {line}"
        assert not re.search(r"(^|\s)(-e|--editable)(\s|$)", line), f"editable: {line}"
        for tool in ("pytest", "hypothesis", "mypy", "ruff"):
            assert tool not in line, f"a test tool is installed: {line}"
    # No compiler or headers in the final image: they stay in the build stage.
    for rest in _all("RUN"):
        for dev in ("gcc", "build-essential", "-dev "):
            assert dev not in rest + " ", f"{dev.strip()} in the final stage: {rest}"


def test_entrypoint_is_the_committed_script() -> None:
    entrypoint = exec_form(_last("ENTRYPOINT"))
    assert len(entrypoint) == 1
    sources = [rest.split() for rest in _all("COPY") if not rest.startswith("--from")]
    copied = {args[-1]: args[:-1] for args in sources}
    assert copied.get(entrypoint[0]) == ["docker/entrypoint.sh"], (
        f"{entrypoint[0]} must be docker/entrypoint.sh, copied in the final stage")
    assert ENTRYPOINT_SCRIPT.is_file()
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK), "docker/entrypoint.sh is not executable"
    # COPY keeps the mode: the file must also be executable in git, not only here.
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        r = subprocess.run([git, "ls-files", "-s", "docker/entrypoint.sh"], cwd=ROOT,
                           capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        if r.stdout:                    # tracked (a fresh script may not be committed yet)
            assert r.stdout.startswith("100755 "), r.stdout


def test_entrypoint_is_valid_posix_sh() -> None:
    text = ENTRYPOINT_SCRIPT.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", text, re.M)
    r = subprocess.run(["sh", "-n", str(ENTRYPOINT_SCRIPT)], capture_output=True, text=True,
                       timeout=TIMEOUT_S, check=False)
    assert r.returncode == 0, r.stderr


def test_default_cmd_and_healthcheck_agree_with_compose() -> None:
    cmd = resolve_coop(exec_form(_last("CMD")), "Dockerfile CMD")
    assert cmd.path == ("coop", "node", "start")
    host, _, port = str(cmd.value("--api")).rpartition(":")
    assert host == "0.0.0.0"
    health = _last("HEALTHCHECK")
    assert f"127.0.0.1:{port}/v1/health" in health or "coop\", \"node\", \"status" in health
    assert "EXPOSE" in [w for w, _ in FINAL]
    exposed = " ".join(_all("EXPOSE")).split()
    assert exposed == ["4140"], f"expose the p2p port only (never the API): {exposed}"


def test_volume_and_home_agree_with_compose() -> None:
    env = _env()
    volumes = " ".join(_all("VOLUME"))
    for name, svc in _compose()["services"].items():
        (mount,) = svc["volumes"]
        target = mount.split(":")[1] if isinstance(mount, str) else mount["target"]
        assert target in volumes, f"{name}: {target} is not a VOLUME of the image"
        assert svc["environment"]["COOP_HOME"] == env.get("COOP_HOME"), name
    assert PurePosixPath(env["COOP_HOME"]).parent.as_posix() in volumes


def test_dockerignore_keeps_the_context_small() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text())
    for path in (".venv", ".git", "tests", "bench", "bench/out", ".hypothesis",
                 ".mypy_cache", ".pytest_cache", ".ruff_cache", ".typecheck",
                 "coopledger.egg-info", "node/__pycache__", "node/__pycache__/x.pyc"):
        assert dockerignore_excludes(rules, path), f".dockerignore lets {path} in"
    # Everything the Dockerfile copies from the context must be in it.
    for rest in (r for w, r in INSTRUCTIONS if w == "COPY" and not r.startswith("--from")):
        *sources, _dest = rest.split()
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file"
            assert not dockerignore_excludes(rules, src), f".dockerignore drops {src}"
    assert not dockerignore_excludes(rules, "protocol/SPEC.md")   # package data


# -- the entrypoint script, run for real ---------------------------------------------


def _entrypoint(home: Path, *command: str, name: str | None = "Hillside Garden"
                ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COOP_HOME", "COOP_NAME", "COOP_PASSPHRASE_FILE")}
    env["PATH"] = f"{COOP_BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["COOP_HOME"] = str(home)
    if name is not None:
        env["COOP_NAME"] = name
    return subprocess.run(["sh", str(ENTRYPOINT_SCRIPT), *command], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


@pytest.mark.slow
def test_entrypoint_creates_the_home_once_then_runs_the_command(tmp_path: Path) -> None:
    volume = tmp_path / "volume"        # as the image has it: an empty, writable mount
    volume.mkdir()
    home = volume / "home"
    show = [sys.executable, "-c", "import sys; print('ran', sys.argv[1:])"]

    r = _entrypoint(home, *show, "a b", "c")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("ran ['a b', 'c']\n"), r.stdout
    assert "Created co-op 'Hillside Garden'" in r.stdout
    config = (home / "coop.toml").read_text()

    r = _entrypoint(home, *show, "again")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ran ['again']\n", "a second start must not create the home again"
    assert (home / "coop.toml").read_text() == config


@pytest.mark.slow
def test_entrypoint_refuses_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    touch = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]

    # No home yet, and no name to create it with.
    r = _entrypoint(tmp_path / "new", *touch, name=None)
    assert r.returncode == 64 and "COOP_NAME is not set" in r.stderr, r.stderr

    # A directory that is not empty but holds no home: coop init refuses, nothing runs.
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "ledger.db").write_bytes(b"not ours")
    r = _entrypoint(odd, *touch)
    assert r.returncode != 0 and "not empty" in r.stderr, r.stderr
    assert (odd / "ledger.db").read_bytes() == b"not ours"
    assert not marker.exists()
