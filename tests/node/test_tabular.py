"""CSV formats of the four spreadsheet kinds (node/_tabular.py): what a member's file
may hold, and every way it can be wrong, named by row and column."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.node import _tabular
from coopledger.node._tabular import (
    CSV_KINDS,
    CsvProblem,
    CsvRejected,
    columns,
    format_csv,
    parse_csv,
)
from coopledger.protocol import LABOR_CATEGORIES, ValidationError
from coopledger.protocol._kinds import validate_body

LABOR_HEADER = "member,hours,task,category,date,paid,note"


def rejected(data: bytes | str, kind: str = "labor") -> list[CsvProblem]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(CsvRejected) as info:
        parse_csv(raw, kind, source="hours.csv")
    return info.value.problems


def one_problem(data: bytes | str, kind: str = "labor") -> CsvProblem:
    problems = rejected(data, kind)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_headers_are_the_spec_fields_in_schema_order() -> None:
    assert columns("labor") == tuple(LABOR_HEADER.split(","))
    assert columns("material") == ("item", "quantity", "unit", "direction", "date", "note")
    assert columns("energy") == ("kwh", "flow", "source", "date", "note")
    assert columns("goods") == ("item", "quantity", "unit", "flow", "to", "date", "note")


def test_a_spreadsheet_file_with_bom_crlf_blank_rows_and_a_two_line_note() -> None:
    data = ("\ufeff" + LABOR_HEADER + "\r\n"
            "ana, 1.50 ,weeding,care,2026-11-01,Yes,\"first line\r\nsecond\"\r\n"
            "\r\n"
            ",,,,,,\r\n"
            "bo,2,sowing,production,2026-11-02,,\r\n").encode()
    rows = parse_csv(data, "labor")
    assert [r.row for r in rows] == [2, 5]  # rows 3 and 4 are blank
    assert rows[0].body == {"member": "ana", "hours": "1.5", "task": "weeding",
                            "category": "care", "date": "2026-11-01", "paid": True,
                            "note": "first line\nsecond"}
    assert rows[1].body == {"member": "bo", "hours": "2", "task": "sowing",
                            "category": "production", "date": "2026-11-02"}


@pytest.mark.parametrize("cell,paid", [
    ("true", True), ("TRUE", True), ("yes", True), ("1", True),
    ("false", False), ("No", False), ("0", False), ("", None), ("  ", None)])
def test_paid_accepts_the_usual_spellings(cell: str, paid: bool | None) -> None:
    rows = parse_csv(f"{LABOR_HEADER}\nana,1,x,care,2026-11-01,{cell},\n".encode(), "labor")
    assert rows[0].body.get("paid") == paid
    assert ("paid" in rows[0].body) == (paid is not None)


def test_optional_columns_may_be_left_out_and_columns_reordered() -> None:
    rows = parse_csv(b"date,Category,task,hours,member\n2026-11-01,care,x,2,ana\n", "labor")
    assert rows[0].body == {"member": "ana", "hours": "2", "task": "x", "category": "care",
                            "date": "2026-11-01"}


def test_semicolon_files_from_decimal_comma_locales() -> None:
    rows = parse_csv(b"kwh;flow;source\n12.5;generated;local\n", "energy")
    assert rows[0].body == {"kwh": "12.5", "flow": "generated", "source": "local"}


def test_text_is_put_in_nfc() -> None:
    decomposed = "Jose\u0301"
    rows = parse_csv(f"{LABOR_HEADER}\n{decomposed},1,x,care,2026-11-01,,\n".encode(), "labor")
    assert rows[0].body["member"] == "Jos\u00e9"


@pytest.mark.parametrize("row,column,words", [
    ("ana,\"1,5\",x,care,2026-11-01", "hours", ("1,5", "point")),
    ("ana,1.5.1,x,care,2026-11-01", "hours", ("not a decimal",)),
    ("ana,25,x,care,2026-11-01", "hours", ("at most 24",)),
    ("ana,0,x,care,2026-11-01", "hours", ("greater than zero",)),
    ("ana,1,x,gardening,2026-11-01", "category", ("one of",)),
    ("ana,1,x,care,23/11/2026", "date", ("YYYY-MM-DD",)),
    ("ana,1,x,care,2026-02-30", "date", ("calendar",)),
    ("ana,1,x,care,", "date", ("required",)),
    (",1,x,care,2026-11-01", "member", ("required",)),
    ("ana,1,x\x07y,care,2026-11-01", "task", ("control",)),
    ("ana,1,\"x\ny\",care,2026-11-01", "task", ("line break",)),
    ("ana,1,x,care,2026-11-01,maybe", "paid", ("true or false",)),
])
def test_a_bad_cell_is_named_by_row_and_column(row: str, column: str,
                                               words: tuple[str, ...]) -> None:
    p = one_problem(f"{LABOR_HEADER}\nbo,1,y,care,2026-11-01,,\n\n{row}\n")
    assert (p.row, p.column) == (4, column)
    for w in words:
        assert w in p.reason
    assert p.describe("hours.csv").startswith(f"hours.csv, row 4, column {column}: ")


def test_rows_are_counted_as_a_spreadsheet_shows_them() -> None:
    # A quoted note with line breaks is one spreadsheet row, however many lines.
    data = f"{LABOR_HEADER}\nana,1,x,care,2026-11-01,,\"a\nb\nc\"\nbo,x,y,care,2026-11-01,,\n"
    assert one_problem(data).row == 3


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    data = f"{LABOR_HEADER}\n" + "".join(f"ana,{h},x,care,2026-11-01,,\n"
                                         for h in ("1", "x", "2", "0", "3"))
    assert [(p.row, p.column) for p in rejected(data)] == [(3, "hours"), (5, "hours")]


def test_at_most_max_problems_are_listed_and_the_rest_counted() -> None:
    data = f"{LABOR_HEADER}\n" + "ana,x,x,care,2026-11-01,,\n" * 25
    with pytest.raises(CsvRejected) as info:
        parse_csv(data.encode(), "labor")
    assert len(info.value.problems) == _tabular.MAX_PROBLEMS
    assert info.value.more == 25 - _tabular.MAX_PROBLEMS


@pytest.mark.parametrize("header,column,words", [
    ("member,hours,task,category,date,colour", "colour", ("not a column", LABOR_HEADER)),
    ("member,hours,task,category,date,hours", "hours", ("twice",)),
    ("member,hours,task,category", None, ("lacks the required column date",)),
    ("member,hours,,task,category,date", None, ("column 3 has no name",)),
    ("", None, ("first row must be the header",)),
])
def test_header_problems_are_row_1(header: str, column: str | None,
                                   words: tuple[str, ...]) -> None:
    p = one_problem(f"{header}\nana,1,x,care,2026-11-01\n")
    assert (p.row, p.column) == (1, column)
    for w in words:
        assert w in p.reason


def test_extra_cells_are_refused_unless_empty() -> None:
    p = one_problem("member,hours,task,category,date\nana,1,5,x,care,2026-11-01\n")
    assert (p.row, p.column) == (2, None)
    assert "6 cells" in p.reason and "1,5" in p.reason
    rows = parse_csv(b"member,hours,task,category,date\nana,1,x,care,2026-11-01,,\n", "labor")
    assert rows[0].body["hours"] == "1"


def test_goods_distributed_needs_to() -> None:
    p = one_problem("item,quantity,unit,flow,to\nbread,4,loaf,distributed,\n", "goods")
    assert (p.row, p.column) == (2, "to")


def test_a_file_that_is_not_utf8() -> None:
    p = one_problem(f"{LABOR_HEADER}\nana,1,x,care,2026-11-01,,\n".encode() + b"Jos\xe9,1\n")
    assert p.row == 0 and "line 3 is not UTF-8" in p.reason


def test_an_unclosed_quote_is_reported() -> None:
    p = one_problem(f"{LABOR_HEADER}\nana,1,x,care,2026-11-01,,\"never closed\n")
    assert p.row == 2 and "CSV" in p.reason


def test_row_and_byte_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tabular, "MAX_CSV_ROWS", 3)
    ok = f"{LABOR_HEADER}\n" + "ana,1,x,care,2026-11-01,,\n" * 3
    assert len(parse_csv(ok.encode(), "labor")) == 3
    p = one_problem(ok + "ana,1,x,care,2026-11-01,,\n")
    assert p.row == 5 and "more than 3 rows" in p.reason
    monkeypatch.setattr(_tabular, "MAX_CSV_BYTES", 100)
    p = one_problem(ok)
    assert "larger than" in p.reason


def test_the_real_limits_are_what_the_docs_say() -> None:
    assert _tabular.MAX_CSV_ROWS == 50_000
    assert _tabular.MAX_CSV_BYTES == 16 * 1024 * 1024


def test_an_unknown_kind_is_our_bug() -> None:
    with pytest.raises(ValueError):
        parse_csv(b"x\n", "genesis")


# -- round trip: format_csv then parse_csv gives the same bodies --------------------

_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1,
    max_size=12).map(lambda s: s.strip()).filter(
    lambda s: bool(s) and s == s.strip())
_decimal = st.builds(lambda w, f: f"{w}.{f}".rstrip("0").rstrip(".") if f else str(w),
                     st.integers(1, 23), st.sampled_from(["", "5", "25", "125", "05"]))
_date = st.dates().map(lambda d: d.isoformat())
_note = st.one_of(st.none(), st.builds(lambda a, b: f"{a}\n{b}", _text, _text), _text)


def _labor() -> st.SearchStrategy[dict[str, object]]:
    return st.builds(
        lambda m, h, t, c, d, p, n: {k: v for k, v in {
            "member": m, "hours": h, "task": t, "category": c, "date": d, "paid": p,
            "note": n}.items() if v is not None},
        _text, _decimal, _text, st.sampled_from(LABOR_CATEGORIES), _date,
        st.sampled_from([None, True, False]), _note)


def _goods() -> st.SearchStrategy[dict[str, object]]:
    return st.builds(
        lambda i, q, u, to, d: {k: v for k, v in {
            "item": i, "quantity": q, "unit": u, "flow": "distributed" if to else "produced",
            "to": to, "date": d}.items() if v is not None},
        _text, _decimal, _text, st.one_of(st.none(), _text), st.one_of(st.none(), _date))


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.tuples(st.just("labor"), st.lists(_labor(), max_size=5)),
                 st.tuples(st.just("goods"), st.lists(_goods(), max_size=5))))
def test_format_then_parse_gives_the_same_bodies(case: tuple[str, list[dict[str, object]]]
                                                 ) -> None:
    kind, bodies = case
    bodies = [b for b in bodies if _valid(kind, b)]
    text = format_csv(kind, bodies)
    assert text.startswith(",".join(columns(kind)) + "\r\n")
    assert [r.body for r in parse_csv(text.encode(), kind)] == bodies


def _valid(kind: str, body: dict[str, object]) -> bool:
    # The strategies can draw text the schema refuses (not NFC, say): such bodies
    # could never be in an entry, so they are not part of the round trip.
    try:
        validate_body(kind, body)
    except ValidationError:
        return False
    return True


def test_every_csv_kind_has_a_format() -> None:
    assert set(CSV_KINDS) == {"labor", "material", "energy", "goods"}


_cells = st.one_of(st.sampled_from(["ana", "1.5", "1,5", "care", "2026-11-01", "yes", "",
                                    "\"", "a\nb", "\x00", "\ufeff", ";", " x "]),
                   st.text(max_size=6))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CSV_KINDS),
       st.lists(st.lists(_cells, max_size=8), max_size=6),
       st.sampled_from([",", ";", "\t"]), st.sampled_from(["\n", "\r\n", "\r"]),
       st.booleans(), st.binary(max_size=4))
def test_any_input_gives_rows_or_a_csv_rejection(kind: str, rows: list[list[str]],
                                                 sep: str, eol: str, header: bool,
                                                 tail: bytes) -> None:
    lines = ([",".join(columns(kind))] if header else []) + [sep.join(r) for r in rows]
    data = eol.join(lines).encode() + tail
    try:
        parsed = parse_csv(data, kind)
    except CsvRejected as exc:
        assert exc.problems and all(p.reason for p in exc.problems)
        return
    for r in parsed:  # whatever was accepted passes the kind's schema
        validate_body(kind, r.body)
