"""Entry kinds and their body schemas.

A kind is a short dotted name (``labor``, ``transfer.offer``). The kinds this version
knows have strict schemas: every field is checked on decode, unknown fields are
rejected, and an entry that fails is never stored. Changing a known kind's schema
therefore means a new kind name. Kinds this version does not know are kept and relayed
(their body must still be a map) but not folded: a newer node's entries survive
passing through an older one.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from ._decimal import DecimalFormatError, Quantity
from ._errors import BadBody, BadEnvelope

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}")
MAX_KIND_LEN = 64

LABOR_CATEGORIES = ("production", "care", "facilitation", "maintenance", "learning", "other")
MATERIAL_DIRECTIONS = ("in", "out", "used")
ENERGY_FLOWS = ("consumed", "generated")
ENERGY_SOURCES = ("local", "grid")
GOODS_FLOWS = ("produced", "distributed")


@dataclass(frozen=True, slots=True)
class Field:
    """One body field. ``type`` is text, long_text, decimal, enum, date or bool."""

    name: str
    type: str
    required: bool = True
    max_len: int = 200
    choices: tuple[str, ...] = ()
    max_value: str | None = None  # for decimals: an inclusive upper bound


# Unicode's control characters (general category Cc) are exactly these two ranges.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _text(kind: str, f: Field, value: object) -> None:
    if not isinstance(value, str):
        raise BadBody("must be text", field=f.name)
    if not value or not value.strip():
        raise BadBody("must not be empty", field=f.name)
    if len(value) > f.max_len:
        raise BadBody(f"longer than {f.max_len} characters", field=f.name)
    if value != value.strip():
        raise BadBody("must not start or end with white space", field=f.name)
    if not unicodedata.is_normalized("NFC", value):
        raise BadBody("text must be in Unicode NFC form", field=f.name)
    control = _CONTROL_BUT_NEWLINE if f.type == "long_text" else _CONTROL
    if control.search(value):
        raise BadBody("contains a control character", field=f.name)


def _check_field(kind: str, f: Field, value: object) -> None:
    if f.type in ("text", "long_text"):
        _text(kind, f, value)
    elif f.type == "enum":
        if value not in f.choices:
            raise BadBody(f"must be one of {', '.join(f.choices)}", field=f.name)
    elif f.type == "bool":
        if not isinstance(value, bool):
            raise BadBody("must be true or false", field=f.name)
    elif f.type == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise BadBody("must be a date YYYY-MM-DD", field=f.name)
        try:
            datetime.date.fromisoformat(value)
        except ValueError as exc:
            raise BadBody("is not a calendar date", field=f.name) from exc
    elif f.type == "decimal":
        if not isinstance(value, str):
            raise BadBody("must be a decimal string such as \"1.5\"", field=f.name)
        try:
            q = Quantity.parse(value)
        except DecimalFormatError as exc:
            raise BadBody(str(exc), field=f.name) from exc
        if not q.is_positive():
            raise BadBody("must be greater than zero", field=f.name)
        if f.max_value is not None and q > Quantity.parse(f.max_value):  # cached
            raise BadBody(f"must be at most {f.max_value}", field=f.name)
    else:  # pragma: no cover - a schema typo is our bug
        raise AssertionError(f"unknown field type {f.type}")


_NOTE = Field("note", "long_text", required=False, max_len=2000)
_DATE_OPT = Field("date", "date", required=False)

SCHEMAS: dict[str, tuple[Field, ...]] = {
    "genesis": (
        Field("name", "text", max_len=100),
        _NOTE,
    ),
    "labor": (
        Field("member", "text", max_len=100),
        Field("hours", "decimal", max_value="24"),
        Field("task", "text", max_len=200),
        Field("category", "enum", choices=LABOR_CATEGORIES),
        Field("date", "date"),
        Field("paid", "bool", required=False),
        _NOTE,
    ),
    "material": (
        Field("item", "text", max_len=200),
        Field("quantity", "decimal"),
        Field("unit", "text", max_len=32),
        Field("direction", "enum", choices=MATERIAL_DIRECTIONS),
        _DATE_OPT,
        _NOTE,
    ),
    "energy": (
        Field("kwh", "decimal"),
        Field("flow", "enum", choices=ENERGY_FLOWS),
        Field("source", "enum", choices=ENERGY_SOURCES),
        _DATE_OPT,
        _NOTE,
    ),
    "goods": (
        Field("item", "text", max_len=200),
        Field("quantity", "decimal"),
        Field("unit", "text", max_len=32),
        Field("flow", "enum", choices=GOODS_FLOWS),
        Field("to", "text", required=False, max_len=200),
        _DATE_OPT,
        _NOTE,
    ),
}

KNOWN_KINDS = frozenset(SCHEMAS)


def is_known_kind(kind: str) -> bool:
    return kind in SCHEMAS


def check_kind_name(kind: object) -> str:
    """Return ``kind`` if it is a well-formed kind name, else raise BadEnvelope."""
    if not isinstance(kind, str) or len(kind) > MAX_KIND_LEN or not KIND_PATTERN.fullmatch(kind):
        raise BadEnvelope(
            "kind must be a dotted lower-case name such as labor or transfer.offer",
            field="kind")
    return kind


def validate_body(kind: str, body: Mapping[str, object]) -> None:
    """Check ``body`` against the schema of ``kind``.

    Raises BadBody naming the field. Unknown kinds are not checked beyond being a map.
    Cross-field rules live here too (goods distributed must say to whom).
    """
    schema = SCHEMAS.get(kind)
    if schema is None:
        return
    names = {f.name for f in schema}
    for key in body:
        if key not in names:
            raise BadBody(f"unknown field for kind {kind}", field=str(key)[:32])
    for f in schema:
        if f.name not in body:
            if f.required:
                raise BadBody(f"required for kind {kind}", field=f.name)
            continue
        _check_field(kind, f, body[f.name])
    if kind == "goods" and body.get("flow") == "distributed" and "to" not in body:
        raise BadBody("required when goods are distributed", field="to")
