"""Every `coop` command documents itself: a one-line help, an Example, help on every
option."""

from __future__ import annotations

import importlib.metadata

import pytest
import typer.main
from cli_support import Run, ok

import coopledger
from coopledger.cli import app


def walk(cmd: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    found = [(path, cmd)]
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        found += walk(sub, (*path, name))
    return found


COMMANDS = walk(typer.main.get_command(app))
PATHS = [p for p, _ in COMMANDS]


def test_the_tree_is_what_we_expect() -> None:
    assert PATHS == [
        (), ("alert",), ("alert", "bundle"), ("alert", "delivered"), ("alert", "list"),
        ("alert", "pledge"), ("alert", "raise"), ("alert", "show"), ("audit",),
        ("audit", "circle"), ("audit", "list"), ("audit", "report"), ("audit", "run"),
        ("audit", "show"), ("balance",), ("block",), ("block", "author"), ("block", "peer"),
        ("blocks",), ("bundle",), ("bundle", "export"), ("bundle", "import"), ("cascade",),
        ("cascade", "start"), ("cascade", "status"), ("check-proof",), ("checkpoint",),
        ("checkpoint", "cosign"), ("checkpoint", "list"), ("checkpoint", "publish"),
        ("complaint",), ("complaint", "file"), ("decision",), ("decision", "list"),
        ("entries",), ("exceptions",), ("export",), ("export", "csv"),
        ("export", "valueflows"), ("federation",), ("federation", "create"),
        ("federation", "invite"), ("federation", "join"), ("federation", "leave"),
        ("federation", "rules"), ("federation", "show"), ("finding",), ("finding", "add"),
        ("fund",), ("fund", "contribute"), ("fund", "grant"), ("fund", "report"),
        ("fund", "show"), ("fund", "surplus"), ("import",), ("import", "csv"), ("init",),
        ("key",), ("key", "add"), ("key", "list"), ("key", "request"), ("key", "revoke"),
        ("key", "rotate"), ("key", "spare"), ("log",), ("log", "energy"), ("log", "goods"),
        ("log", "labor"), ("log", "material"), ("log", "outside"), ("lottery",),
        ("lottery", "announce"), ("lottery", "beacon"), ("lottery", "list"),
        ("lottery", "show"), ("lottery", "verify"), ("mandate",), ("mandate", "issue"),
        ("mandate", "list"), ("mandate", "recall"), ("mandate", "renew"),
        ("mandate", "report"), ("mandate", "show"), ("mandate", "verdict"), ("metrics",),
        ("minutes",), ("minutes", "add"), ("minutes", "list"), ("misconduct",),
        ("misconduct", "list"), ("need",), ("need", "declare"), ("need", "met"), ("node",),
        ("node", "start"), ("node", "status"), ("peers",), ("policy",), ("policy", "set"),
        ("policy", "show"), ("posting",), ("proposal",), ("proposal", "amend"),
        ("proposal", "create"), ("proposal", "decide"), ("proposal", "list"),
        ("proposal", "position"), ("proposal", "show"), ("prove",),
        ("prove", "consistency"), ("prove", "entry"), ("prove", "fork"), ("rebuild",),
        ("role",), ("role", "assign"), ("role", "end"), ("role", "list"), ("role", "renew"),
        ("sanction",), ("sanction", "add"), ("sprint",), ("sprint", "allocate"), ("state",),
        ("surplus",), ("surplus", "board"), ("surplus", "offer"), ("surplus", "request"),
        ("transfer",), ("transfer", "accept"), ("transfer", "decline"),
        ("transfer", "list"), ("transfer", "offer"), ("unblock",), ("unblock", "author"),
        ("unblock", "peer"), ("verify",),
    ]


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) or "coop" for p in PATHS])
def test_each_command_has_help_and_an_example(path: tuple[str, ...], cmd: object) -> None:
    help_text = getattr(cmd, "help", None) or ""
    first, _, rest = help_text.strip().partition("\n")
    assert first.strip(), "no one-line help"
    assert first.strip().endswith("."), first
    assert "Example:" in rest, "no Example: block"
    example = rest.split("Example:", 1)[1].strip()
    assert example.startswith(" ".join(("coop", *path))), example
    for param in getattr(cmd, "params", []):
        if param.name == "help":
            continue
        assert getattr(param, "help", None), f"{param.name} has no help"


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "coop" for p in PATHS])
def test_each_help_page_shows_its_example(run: Run, path: tuple[str, ...]) -> None:
    r = ok(run(*path, "--help"))
    assert r.out.startswith(f"Usage: {' '.join(('coop', *path))} [OPTIONS]")
    assert "\n  Example:  coop" in r.out
    assert r.err == ""


def test_coop_help_lists_every_command(run: Run) -> None:
    r = ok(run("--help"))
    listed = r.out.split("\nCommands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ")]
    assert sorted(names) == sorted(
        ["init", "log", "entries", "state", "verify", "rebuild", "bundle", "node", "peers",
         "balance", "exceptions", "metrics", "posting", "federation", "transfer", "surplus",
         "sprint", "fund", "need", "import", "export", "key", "mandate", "role", "policy",
         "lottery", "proposal", "decision", "minutes", "cascade", "block", "unblock",
         "blocks", "alert", "audit", "checkpoint", "prove", "check-proof", "complaint",
         "finding", "sanction", "misconduct"])


def test_version(run: Run) -> None:
    r = ok(run("--version"))
    assert r.out == f"coop {coopledger.__version__}\n"
    assert coopledger.__version__ == importlib.metadata.version("coopledger")


def test_the_cli_reference_in_docs_is_current() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "cli_reference.py"
    # A deadline only: the script runs every command's --help, ~30 s on a busy machine.
    result = subprocess.run([sys.executable, str(script), "--check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
