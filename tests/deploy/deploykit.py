"""Reading the deployment files the way docker and `coop` would, without a Docker engine.

- ``resolve_coop(argv)`` parses a `coop …` command line with the real Typer app: the
  command path is walked through the click groups and the last command's
  ``make_context`` parses the options, so an unknown command or option fails here as it
  would in the container.
- ``dockerfile_instructions(text)`` splits a Dockerfile into (INSTRUCTION, arguments)
  pairs: comments dropped, continuation lines joined.
- ``dockerignore_excludes(rules, path)`` applies .dockerignore rules to a top-level path
  (last matching rule wins, ``!`` re-includes), enough for the rules we write.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from coopledger.cli._app import app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT_SCRIPT = ROOT / "docker" / "entrypoint.sh"


@dataclass
class Parsed:
    """A `coop` command line parsed by the real app."""

    path: tuple[str, ...]           # ("coop", "node", "start")
    params: dict[str, Any]          # click's parsed values, by parameter name
    by_flag: dict[str, str]         # "--bootstrap" -> parameter name

    def value(self, flag: str) -> Any:
        if flag not in self.by_flag:
            pytest.fail(f"`{' '.join(self.path)}` has no option {flag} "
                        f"(it has {', '.join(sorted(self.by_flag))})")
        return self.params[self.by_flag[flag]]


def _is_group(cmd: Any) -> bool:
    return hasattr(cmd, "list_commands") and hasattr(cmd, "get_command")


def resolve_coop(argv: list[str], where: str) -> Parsed:
    """Parse ``argv`` (starting with "coop") as the `coop` command would; pytest.fail
    with a message naming ``where`` if a command or an option does not exist."""
    if not argv or argv[0] != "coop":
        pytest.fail(f"{where}: the command must start with `coop`, not {argv[:1]}")
    cmd: Any = typer.main.get_command(app)
    ctx = cmd.context_class(cmd, info_name="coop")
    path = ["coop"]
    args = list(argv[1:])
    while _is_group(cmd):
        if not args or args[0].startswith("-"):
            pytest.fail(f"{where}: `{' '.join(path)}` needs a subcommand, got {args[:1]}")
        name = args.pop(0)
        sub = cmd.get_command(ctx, name)
        if sub is None:
            known = ", ".join(cmd.list_commands(ctx))
            pytest.fail(f"{where}: `{' '.join([*path, name])}` does not exist in the `coop` "
                        f"command (`{' '.join(path)}` has: {known})")
        path.append(name)
        if _is_group(sub):
            ctx = sub.context_class(sub, info_name=name, parent=ctx)
            cmd = sub
            continue
        try:
            leaf = sub.make_context(name, args, parent=ctx)
        except Exception as exc:  # click's UsageError family (vendored by typer)
            message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
            pytest.fail(f"{where}: `{' '.join(argv)}` is refused by the `coop` command: "
                        f"{message}")
        by_flag = {flag: p.name for p in sub.params
                   for flag in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
        return Parsed(tuple(path), dict(leaf.params), by_flag)
    pytest.fail(f"{where}: `{' '.join(argv)}` names no command")


# -- Dockerfile ------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue                    # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def exec_form(args: str) -> list[str]:
    """The JSON (exec) form of CMD / ENTRYPOINT / HEALTHCHECK CMD; fails on shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"not the exec (JSON) form: {args}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1]:]


def substitute_args(value: str, instructions: list[tuple[str, str]]) -> str:
    """Replace ${NAME} / $NAME by the default of an ARG before the first FROM."""
    defaults = {}
    for word, rest in instructions:
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            defaults[name.strip()] = default.strip()
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), value)


# -- .dockerignore -----------------------------------------------------------------------


def dockerignore_rules(text: str) -> list[tuple[bool, str]]:
    """(exclude?, pattern) in order; ``!pattern`` re-includes."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line[1:] if include else line
        rules.append((not include, pattern.strip().strip("/")))
    return rules


def dockerignore_excludes(rules: list[tuple[bool, str]], path: str) -> bool:
    """Whether docker leaves ``path`` (relative, "/"-separated) out of the context."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for exclude, pattern in rules:
        if pattern.startswith("**/"):
            tail = pattern[3:]
            hit = any(fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], tail) for p in prefixes)
        else:
            # A rule on a directory covers everything below it.
            hit = any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)
        if hit:
            excluded = exclude
    return excluded
