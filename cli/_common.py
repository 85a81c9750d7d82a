"""Shared pieces of the `coop` command: options, time parsing, errors, consoles."""

from __future__ import annotations

import csv
import datetime
import io
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from coopledger.node import Home, default_home
from coopledger.protocol import LedgerState

# Machine-readable output goes to stdout, messages and progress to stderr.
# markup=False: names, tasks and items come from other co-ops' entries, and text such
# as "[/]" must be shown as it is, never parsed as Rich markup (which can also raise).
# Styling is applied with rich.text.Text where we want it.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


class CoopError(Exception):
    """A problem to report to the user in one line; exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="The node's home directory. Default: $COOP_HOME, else the platform data "
        "directory (~/.local/share/coopledger on Linux).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
PassFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="File holding the passphrase of a sealed key (or set "
        "$COOP_PASSPHRASE_FILE). Without it, a terminal is asked.",
        show_default=False,
    ),
]


def home_path(home: Path | None) -> Path:
    return home if home is not None else default_home()


def open_home(home: Path | None) -> Home:
    return Home.open(home_path(home))


def read_passphrase_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CoopError(f"cannot read passphrase file {path}: {exc.strerror}") from exc
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise CoopError(f"passphrase file {path} is empty")
    return data


def unlock(home: Home, passphrase_file: Path | None):  # type: ignore[no-untyped-def]
    """The home's secret key, asking for the passphrase where needed."""
    passphrase: bytes | None = None
    if home.key_is_sealed():
        if passphrase_file is None and os.environ.get("COOP_PASSPHRASE_FILE"):
            passphrase_file = Path(os.environ["COOP_PASSPHRASE_FILE"])
        if passphrase_file is not None:
            passphrase = read_passphrase_file(passphrase_file)
        elif sys.stdin.isatty():
            import getpass

            passphrase = getpass.getpass("Passphrase for this co-op's key: ").encode()
        else:
            raise CoopError("this home's key is sealed with a passphrase; give "
                            "--passphrase-file FILE or set COOP_PASSPHRASE_FILE")
    return home.secret_key(passphrase)  # a wrong passphrase: KeyLocked, told by main()


def parse_time(text: str, *, option: str, end_of_day: bool) -> int:
    """Milliseconds since the epoch from an ISO date or date-time (UTC unless an
    offset is given) or a plain integer of milliseconds. A bare date means the start
    of that day, or its last millisecond when ``end_of_day``."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            moment = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
            ms = int(moment.timestamp() * 1000)
            return ms + 86_400_000 - 1 if end_of_day else ms
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            "expected a date (2026-11-23), a date-time (2026-11-23T18:00, UTC unless an "
            "offset is given) or milliseconds since 1970", param_hint=option) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def format_ts(ms: int | None) -> str:
    if ms is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def resolve_author(state: LedgerState, text: str) -> bytes:
    """An author from a co-op name or a hex id prefix (at least 4 characters)."""
    by_name = [a for a, st in state.authors.items() if st.name == text]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise typer.BadParameter(
            f"{len(by_name)} co-ops are named {text!r}; give an id prefix instead",
            param_hint="--author")
    low = text.lower()
    if len(low) >= 4 and all(c in "0123456789abcdef" for c in low):
        hits = [a for a in state.authors if a.hex().startswith(low)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise typer.BadParameter(f"id prefix {text} matches {len(hits)} co-ops; "
                                     "give more characters", param_hint="--author")
    raise typer.BadParameter(f"no co-op named or with an id starting {text[:64]!r} in this "
                             "store", param_hint="--author")


def fail(message: str, code: int = 1) -> NoReturn:
    raise CoopError(message, code)


def print_csv(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> None:
    """Write ``rows`` to stdout as CSV (RFC 4180, a header line of ``columns``): the
    ``--csv`` output of every view, for spreadsheets. None is written as an empty cell,
    booleans as true/false, everything else with str()."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(["" if (v := row.get(c)) is None
                    else ("true" if v else "false") if isinstance(v, bool) else str(v)
                    for c in columns])
    sys.stdout.write(buf.getvalue())
    sys.stdout.flush()
