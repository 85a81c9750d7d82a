"""Exact decimal quantities.

Hours, kilograms and kWh are never floats. On the wire a quantity is a text string in
one canonical form, so that equal quantities have equal bytes::

    -?(0|[1-9][0-9]*)(\\.[0-9]*[1-9])?

no '+', no exponent, no leading zeros, no trailing zeros after the point, no "-0",
at most MAX_DIGITS digits in all and at most MAX_SCALE after the point. Sums are exact
(Python integers scaled to a common power of ten), never rounded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ._errors import LedgerError

MAX_SCALE = 9  # nanounits: finer than any meter or scale a co-op owns
MAX_DIGITS = 30  # room for sums of many entries without overflow concerns

_CANONICAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")
_LOOSE = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?|([+-]?)\.([0-9]+)")


class DecimalFormatError(LedgerError, ValueError):
    """A string that is not an acceptable decimal quantity (also a ValueError: the
    readers of amounts in node/ and cli/ catch ValueError)."""


@dataclass(frozen=True, slots=True, order=False)
class Quantity:
    """An exact decimal: ``units * 10**-scale``, normalised (no trailing zeros)."""

    units: int
    scale: int

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse the canonical wire form. Raises DecimalFormatError otherwise."""
        if type(text) is not str:
            raise DecimalFormatError("a decimal quantity must be text")
        return _parse_canonical(text)

    @classmethod
    def parse_loose(cls, text: str) -> Quantity:
        """Parse what a person types (``+1.50``, ``.5``, ``007``) into a Quantity."""
        text = text.strip()
        m = _LOOSE.fullmatch(text)
        if not m:
            raise DecimalFormatError(f"{text[:20]!r} is not a decimal number")
        if m.group(2) is not None:
            sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        else:
            sign, whole, frac = m.group(4), "0", m.group(5)
        frac = frac.rstrip("0")
        whole = whole.lstrip("0") or "0"
        body = whole + ("." + frac if frac else "")
        if body == "0":
            return cls(0, 0)
        return cls.parse(("-" if sign == "-" else "") + body)

    @classmethod
    def _parse_total(cls, text: str) -> Quantity:
        """Parse a canonical decimal of any length. A total of many entries can have
        more than MAX_DIGITS digits, and derived state stores totals as text."""
        if not _CANONICAL.fullmatch(text) or text == "-0":
            raise DecimalFormatError("not a canonical decimal (e.g. 12, 0.5, -3.25)")
        whole, _, frac = text.lstrip("-").partition(".")
        units = int(whole + frac)
        return cls(-units if text.startswith("-") else units, len(frac))

    @classmethod
    def _from_parts(cls, text: str) -> Quantity:
        negative = text.startswith("-")
        digits = text.lstrip("-")
        whole, _, frac = digits.partition(".")
        if len(frac) > MAX_SCALE:
            raise DecimalFormatError(f"more than {MAX_SCALE} digits after the point")
        if len(whole) + len(frac) > MAX_DIGITS:
            raise DecimalFormatError(f"more than {MAX_DIGITS} digits")
        units = int(whole + frac)
        return cls(-units if negative else units, len(frac))

    def __str__(self) -> str:
        sign = "-" if self.units < 0 else ""
        digits = str(abs(self.units))
        if self.scale == 0:
            return sign + digits
        digits = digits.rjust(self.scale + 1, "0")
        return f"{sign}{digits[: -self.scale]}.{digits[-self.scale :]}"

    def __add__(self, other: Quantity) -> Quantity:
        scale = max(self.scale, other.scale)
        units = self.units * 10 ** (scale - self.scale) + other.units * 10 ** (
            scale - other.scale
        )
        return Quantity._normalised(units, scale)

    def __neg__(self) -> Quantity:
        return Quantity(-self.units, self.scale)

    def __sub__(self, other: Quantity) -> Quantity:
        return self + (-other)

    def _cmp_key(self, other: Quantity) -> tuple[int, int]:
        scale = max(self.scale, other.scale)
        return (
            self.units * 10 ** (scale - self.scale),
            other.units * 10 ** (scale - other.scale),
        )

    def __lt__(self, other: Quantity) -> bool:
        a, b = self._cmp_key(other)
        return a < b

    def __le__(self, other: Quantity) -> bool:
        a, b = self._cmp_key(other)
        return a <= b

    def __gt__(self, other: Quantity) -> bool:
        a, b = self._cmp_key(other)
        return a > b

    def __ge__(self, other: Quantity) -> bool:
        a, b = self._cmp_key(other)
        return a >= b

    def is_positive(self) -> bool:
        return self.units > 0

    @staticmethod
    def _normalised(units: int, scale: int) -> Quantity:
        while scale > 0 and units % 10 == 0:
            units //= 10
            scale -= 1
        return Quantity(units, scale)


ZERO = Quantity(0, 0)


# Ledgers repeat the same few quantities ("1.5" hours, "12" loaves) endlessly, and a
# Quantity is immutable, so parsed values are cached. Errors are not cached (an
# exception leaves lru_cache empty for that text), so bad input costs each time.
@functools.lru_cache(maxsize=4096)
def _parse_canonical(text: str) -> Quantity:
    if len(text) > MAX_DIGITS + 2 or not _CANONICAL.fullmatch(text):
        raise DecimalFormatError("not a canonical decimal (e.g. 12, 0.5, -3.25)")
    if text == "-0":
        raise DecimalFormatError("not a canonical decimal (-0)")
    return Quantity._from_parts(text)
