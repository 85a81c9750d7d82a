"""Exact decimal quantities: one canonical text form per number, exact sums."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.protocol import DecimalFormatError, Quantity
from coopledger.protocol._decimal import MAX_DIGITS, MAX_SCALE, ZERO


def frac(q: Quantity) -> Fraction:
    return Fraction(q.units, 10**q.scale)


@pytest.mark.parametrize(
    ("text", "units", "scale"),
    [
        ("0", 0, 0),
        ("1", 1, 0),
        ("-1", -1, 0),
        ("10", 10, 0),
        ("24", 24, 0),
        ("0.5", 5, 1),
        ("-0.5", -5, 1),
        ("0.05", 5, 2),
        ("3.25", 325, 2),
        ("100.001", 100001, 3),
        ("0.000000001", 1, 9),  # MAX_SCALE digits after the point
        ("9" * 30, int("9" * 30), 0),  # MAX_DIGITS digits
        ("-" + "9" * 21 + "." + "9" * 9, -int("9" * 30), 9),
    ],
)
def test_parse_accepts_canonical(text: str, units: int, scale: int) -> None:
    q = Quantity.parse(text)
    assert (q.units, q.scale) == (units, scale)
    assert str(q) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        "00",
        "01",
        "007",
        "-01",
        "1.0",
        "1.50",
        "0.0",
        "10.",
        "1.",
        "+1",
        "1e3",
        "1E3",
        "-0",
        "-0.0",
        ".5",
        "-.5",
        " 1",
        "1 ",
        "1,5",
        "1_000",
        "0x10",
        "inf",
        "NaN",
        "١",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to us
        "１",  # FULLWIDTH DIGIT ONE
        "0.0000000001",  # MAX_SCALE + 1 digits after the point
        "1" * 31,  # MAX_DIGITS + 1 digits
        "1" * 22 + "." + "1" * 9,  # 31 digits with a point
        "--1",
        "1-",
    ],
)
def test_parse_rejects_non_canonical(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        Quantity.parse(text)


def test_decimal_format_error_is_a_value_error() -> None:
    assert issubclass(DecimalFormatError, ValueError)


def test_limits() -> None:
    assert MAX_SCALE == 9
    assert MAX_DIGITS == 30


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("1", "1"),
        ("+1", "1"),
        ("+1.50", "1.5"),
        ("1.500", "1.5"),
        (".5", "0.5"),
        ("-.5", "-0.5"),
        ("+.25", "0.25"),
        ("007", "7"),
        ("00.10", "0.1"),
        ("-0", "0"),
        ("-0.000", "0"),
        ("0.", "0"),
        ("1.", "1"),
        ("  2.5\n", "2.5"),
        ("24.000000000000", "24"),  # trailing zeros past MAX_SCALE are fine
    ],
)
def test_parse_loose_normalises(typed: str, canonical: str) -> None:
    q = Quantity.parse_loose(typed)
    assert str(q) == canonical
    assert Quantity.parse(canonical) == q


@pytest.mark.parametrize(
    "typed", ["", " ", ".", "+", "-", "1e3", "1,5", "abc", "1.2.3", "1 000", "0.0000000001",
              "1" * 31, "++1", "NaN"]
)
def test_parse_loose_rejects(typed: str) -> None:
    with pytest.raises(DecimalFormatError):
        Quantity.parse_loose(typed)


def test_parse_loose_error_does_not_echo_long_input() -> None:
    with pytest.raises(DecimalFormatError) as info:
        Quantity.parse_loose("x" * 500)
    assert "x" * 50 not in str(info.value)


# Canonical decimal strings, built from their parts.
canonical_text = st.builds(
    lambda neg, whole, frac_digits: (
        ("-" if neg and (whole or frac_digits.strip("0")) else "")
        + str(whole)
        + ("." + frac_digits.rstrip("0") if frac_digits.rstrip("0") else "")
    ),
    st.booleans(),
    st.integers(0, 10**18),
    st.text("0123456789", max_size=MAX_SCALE),
)
quantities = canonical_text.map(Quantity.parse)


@given(canonical_text)
@settings(max_examples=300, deadline=None)
def test_str_round_trip(text: str) -> None:
    q = Quantity.parse(text)
    assert str(q) == text
    assert Quantity.parse(str(q)) == q
    assert Quantity.parse_loose(text) == q


@given(st.integers(-(10**15), 10**15), st.integers(0, 3), st.booleans())
@settings(max_examples=200, deadline=None)
def test_parse_loose_agrees_with_fraction(n: int, zeros: int, plus: bool) -> None:
    # n thousandths, typed with padding zeros on both sides and maybe a '+'.
    sign = "-" if n < 0 else ("+" if plus else "")
    text = f"{sign}0{abs(n) // 1000}.{abs(n) % 1000:03d}" + "0" * zeros
    assert frac(Quantity.parse_loose(text)) == Fraction(n, 1000)


@given(st.lists(quantities, min_size=1, max_size=20))
@settings(max_examples=300, deadline=None)
def test_addition_is_exact(qs: list[Quantity]) -> None:
    total = ZERO
    for q in qs:
        total = total + q
    assert frac(total) == sum((frac(q) for q in qs), Fraction(0))
    # The result is normalised: its text is canonical and parses back to it.
    assert Quantity._parse_total(str(total)) == total


@given(quantities, quantities)
@settings(max_examples=300, deadline=None)
def test_arithmetic_and_order_agree_with_fraction(a: Quantity, b: Quantity) -> None:
    assert frac(a + b) == frac(a) + frac(b)
    assert frac(a - b) == frac(a) - frac(b)
    assert frac(-a) == -frac(a)
    assert (a + b) == (b + a)
    assert (a < b) == (frac(a) < frac(b))
    assert (a <= b) == (frac(a) <= frac(b))
    assert (a > b) == (frac(a) > frac(b))
    assert (a >= b) == (frac(a) >= frac(b))
    assert a.is_positive() == (frac(a) > 0)
    # Equal numbers are equal objects (normalised), so they can key dicts.
    assert (a == b) == (frac(a) == frac(b))


def test_sums_normalise_trailing_zeros() -> None:
    total = Quantity.parse("0.25") + Quantity.parse("0.75")
    assert total == Quantity(1, 0)
    assert str(total) == "1"
    assert str(Quantity.parse("1.5") - Quantity.parse("1.5")) == "0"
    assert str(Quantity.parse("0.1") + Quantity.parse("0.2")) == "0.3"  # not 0.30000000000000004


def test_totals_may_outgrow_max_digits() -> None:
    big = Quantity.parse("9" * MAX_DIGITS)
    total = big + big
    assert len(str(total)) == MAX_DIGITS + 1
    with pytest.raises(DecimalFormatError):
        Quantity.parse(str(total))  # not an acceptable entry amount...
    assert Quantity._parse_total(str(total)) == total  # ...but a valid stored total


@pytest.mark.parametrize(
    ("units", "scale", "text"),
    [(0, 0, "0"), (5, 3, "0.005"), (-5, 3, "-0.005"), (12345, 2, "123.45"), (-1, 1, "-0.1")],
)
def test_str(units: int, scale: int, text: str) -> None:
    assert str(Quantity(units, scale)) == text
