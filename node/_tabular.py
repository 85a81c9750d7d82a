"""CSV files for the four kinds members keep in spreadsheets: labor, material, energy
and goods (docs/spreadsheets.md is the member's guide).

The columns of each kind are exactly the body fields of SPEC §3, in the order of the
schema, so a file written by ``format_csv`` reads back with ``parse_csv`` into the same
bodies. Parsing is all or nothing: ``parse_csv`` checks every row (cell syntax, then
the kind's schema, the same check ``Store.append`` makes) and returns either every
body or every problem, never a part. Problems name the row as a spreadsheet numbers it
(the header is row 1; a blank line is a row too; a cell holding a line break does not
start a new row) and the column.

What a cell may hold:

* text: surrounding blanks are dropped, text is put in Unicode NFC (macOS writes
  decomposed accents), and a line break inside a quoted note becomes LF;
* decimals: ``1.5``, ``+1.50``, ``.5``; never a decimal comma (``1,5``) or a thousands
  separator, which are refused with a sentence saying so rather than guessed;
* ``paid``: true/false, yes/no, 1/0 (any case) or empty (absent: unpaid);
* dates: ``YYYY-MM-DD`` only (a spreadsheet showing 23/11/2026 must format the column);
* an empty cell of an optional column means the field is absent.

Files are UTF-8, with or without a byte-order mark, CRLF or LF. A header without any
comma but with semicolons (what spreadsheets in decimal-comma locales write) makes
``;`` the separator.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from coopledger.protocol import (
    SCHEMAS,
    DecimalFormatError,
    Quantity,
    ValidationError,
    validate_body,
)

from ._errors import NodeError

# The kinds a CSV file can hold (the economic kinds of SPEC §3).
CSV_KINDS = ("labor", "material", "energy", "goods")

# Refuse larger files before reading them: a year of a busy co-op's hours is a few
# thousand rows, so 50,000 rows is a generous ceiling that keeps one import (one
# signature and one fold step per row) well under a minute, and the whole file is held
# in memory while it is checked. 16 MiB is 50,000 rows of over 300 bytes each.
MAX_CSV_ROWS = 50_000
MAX_CSV_BYTES = 16 * 1024 * 1024
# At most this many problems are listed; a file with more needs fixing as a whole.
MAX_PROBLEMS = 20

_TRUE = frozenset(("true", "yes", "1"))
_FALSE = frozenset(("false", "no", "0"))
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")


def columns(kind: str) -> tuple[str, ...]:
    """The CSV header of ``kind``: its body fields in schema order."""
    return tuple(f.name for f in SCHEMAS[kind])


def required_columns(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in SCHEMAS[kind] if f.required)


@dataclass(frozen=True, slots=True)
class CsvProblem:
    """One bad row: ``row`` as a spreadsheet numbers it (header = 1), ``column`` the
    column at fault (None when the whole row or file is), ``reason`` a sentence."""

    row: int
    column: str | None
    reason: str

    def describe(self, source: str) -> str:
        where = f"{source}, row {self.row}" if self.row else source
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class CsvRejected(NodeError):
    """The file cannot be imported; ``problems`` lists why (at most MAX_PROBLEMS), and
    ``more`` counts the problems left out. Nothing from the file was imported."""

    def __init__(self, source: str, problems: Sequence[CsvProblem], more: int = 0) -> None:
        self.source = source
        self.problems = list(problems)
        self.more = more
        first = self.problems[0].describe(source) if self.problems else source
        super().__init__(first)


@dataclass(frozen=True, slots=True)
class CsvRow:
    row: int                      # as a spreadsheet numbers it
    body: dict[str, str | bool]   # passes the kind's schema


def parse_csv(data: bytes, kind: str, *, source: str = "file") -> list[CsvRow]:
    """Every row of ``data`` (a CSV file of ``kind``) as a checked body.

    Raises CsvRejected (the user's fault) listing the problems; then nothing should be
    imported. Blank rows are skipped. ``source`` names the file in messages.
    """
    if kind not in CSV_KINDS:
        raise ValueError(f"no CSV format for kind {kind}")  # our caller's bug
    if len(data) > MAX_CSV_BYTES:
        raise CsvRejected(source, [CsvProblem(0, None, (
            f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB; split it "
            "into smaller files"))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CsvRejected(source, [CsvProblem(0, None, (
            f"line {line} is not UTF-8 text; save the spreadsheet as "
            "\"CSV UTF-8\" (or \"Unicode (UTF-8)\")"))]) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvRejected(source, [CsvProblem(1, None, f"not a CSV row: {exc}")]) from None
    if header is None or not any(h.strip() for h in header):
        raise CsvRejected(source, [CsvProblem(1, None, (
            f"the first row must be the header: {','.join(columns(kind))}"))])
    names = _check_header(kind, header, source)
    rows: list[CsvRow] = []
    problems: list[CsvProblem] = []
    more = 0
    row_no = 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            # The csv module cannot go on after a broken quote; report it and stop.
            problems.append(CsvProblem(row_no + 1, None, f"not a CSV row: {exc}"))
            break
        if cells is None:
            break
        row_no += 1
        if row_no - 1 > MAX_CSV_ROWS:
            raise CsvRejected(source, [CsvProblem(row_no, None, (
                f"more than {MAX_CSV_ROWS:,} rows; split the file into smaller files"))])
        if not any(c.strip() for c in cells):
            continue
        try:
            rows.append(CsvRow(row_no, _body(kind, names, cells)))
        except _CellError as exc:
            if len(problems) < MAX_PROBLEMS:
                problems.append(CsvProblem(row_no, exc.column, exc.reason))
            else:
                more += 1
    if problems:
        raise CsvRejected(source, problems, more)
    return rows


def _check_header(kind: str, header: list[str], source: str) -> list[str | None]:
    """Column names by position (None for an empty trailing header cell)."""
    known = columns(kind)
    names: list[str | None] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        name = raw.strip().lower()
        if not name:
            if any(h.strip() for h in header[i:]):
                raise CsvRejected(source, [CsvProblem(1, None, (
                    f"column {i + 1} has no name in the header"))])
            names.append(None)  # trailing empty header cells: a spreadsheet's padding
            continue
        if name not in known:
            raise CsvRejected(source, [CsvProblem(1, _clip(raw), (
                f"is not a column of kind {kind}; the columns are "
                f"{','.join(known)}"))])
        if name in seen:
            raise CsvRejected(source, [CsvProblem(1, name, "appears twice in the header")])
        seen.add(name)
        names.append(name)
    missing = [c for c in required_columns(kind) if c not in seen]
    if missing:
        raise CsvRejected(source, [CsvProblem(1, None, (
            f"the header lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (kind {kind} needs {','.join(required_columns(kind))})"
        ))])
    return names


class _CellError(NodeError):
    def __init__(self, column: str | None, reason: str) -> None:
        self.column, self.reason = column, reason


def _body(kind: str, names: list[str | None], cells: list[str]) -> dict[str, str | bool]:
    if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
        raise _CellError(None, (
            f"has {len(cells)} cells but the header names {len(names)} columns (a "
            "decimal comma such as 1,5 splits a cell in two: write 1.5)"))
    types = {f.name: f.type for f in SCHEMAS[kind]}
    body: dict[str, str | bool] = {}
    for name, cell in zip(names, cells, strict=False):
        if name is None:
            if cell.strip():
                raise _CellError(None, "has a value in a column without a name")
            continue
        value = _cell(name, types[name], cell)
        if value is not None:
            body[name] = value
    try:
        validate_body(kind, body)
    except ValidationError as exc:
        raise _CellError(exc.field, exc.message) from None
    return body


def _cell(name: str, type_: str, cell: str) -> str | bool | None:
    text = unicodedata.normalize("NFC", cell.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.strip()
    if not text:
        return None
    if type_ == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _CellError(name, "must be true or false (or yes/no, 1/0, or empty)")
    if type_ == "decimal":
        if _DECIMAL_COMMA.fullmatch(text):
            raise _CellError(name, (
                f"{_clip(text)!r} has a comma: write decimals with a point (1.5, not "
                "1,5) and no thousands separator"))
        try:
            return str(Quantity.parse_loose(text))
        except DecimalFormatError as exc:
            raise _CellError(name, str(exc)) from None
    if type_ == "date" and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise _CellError(name, (
            f"{_clip(text)!r} is not a date YYYY-MM-DD (format the column as "
            "2026-11-23)"))
    if type_ == "text" and "\n" in text:
        raise _CellError(name, "holds a line break (only note may)")
    return text


def _clip(text: str) -> str:
    # Never echo a long cell back whole (it is whatever the file held), and show control
    # characters as escapes rather than let them act on the terminal.
    short = text[:40] + ("…" if len(text) > 40 else "")
    return short.encode("unicode_escape").decode("ascii") if re.search(
        r"[\x00-\x1f\x7f-\x9f]", short) else short


def csv_rows(kind: str, bodies: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """Bodies as rows for ``format_csv`` / the CLI's ``print_csv``: every column of
    ``kind``, None for absent fields."""
    cols = columns(kind)
    return [{c: b.get(c) for c in cols} for b in bodies]


def format_csv(kind: str, bodies: Iterable[Mapping[str, object]]) -> str:
    """The CSV text of ``bodies`` (RFC 4180, CRLF, header of ``columns(kind)``), in
    the form ``parse_csv`` reads back into the same bodies: absent fields are empty
    cells, booleans true/false."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    cols = columns(kind)
    w.writerow(cols)
    for row in csv_rows(kind, bodies):
        w.writerow(["" if (v := row[c]) is None
                    else ("true" if v else "false") if isinstance(v, bool) else str(v)
                    for c in cols])
    return buf.getvalue()
