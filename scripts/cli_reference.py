"""Write docs/cli-reference.md from the `coop` command's own --help texts.

    python scripts/cli_reference.py           # rewrite the file
    python scripts/cli_reference.py --check   # exit 1 if the file is out of date

The test suite runs --check, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from coopledger.cli import app

OUT = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"
WIDTH = "100"


def command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return paths


def render() -> str:
    runner = CliRunner()
    parts = [
        "# `coop` command reference\n",
        "Generated from each command's `--help` by `python scripts/cli_reference.py`; do not",
        "edit by hand. Exit status: 0 success, 1 a problem (reported on one line on",
        "stderr), 2 a usage mistake.\n",
    ]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": WIDTH},
                               prog_name="coop")
        if result.exit_code != 0:
            raise SystemExit(f"coop {' '.join(path)} --help failed: {result.output}")
        title = " ".join(["coop", *path])
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run python scripts/cli_reference.py")
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
