"""The field types of the entry body schemas, and the check of one field's value.

protocol/_kinds.py holds the table of the known kinds (which fields each body has, of
which type); this module knows what each type accepts. The types: text, long_text,
decimal, enum, date, bool (SPEC §3); id, coop, int, period, share, unit_name, items and
rules (SPEC §12.1); sig, names, pool, actions, policy, ranking and coops (SPEC §13.1);
digest, entry, quarter, needs, checks and texts (SPEC §14.1). An entry id must also be
listed in the entry's refs, so the fold applies an entry only after the entry it names.
A rejection names the field, nested fields by their path (``rules.units[2].decimals``,
``items[0].quantity``).

The enums and bounds a compound type checks (a unit's kind, a mandate action, a policy's
method, an alert's needs) are defined here, next to the check; protocol/_kinds.py
re-exports them with the other enums of the schemas.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from ._decimal import ZERO, DecimalFormatError, Quantity
from ._errors import BadBody

# SPEC §12.1: the kinds of a federation's units; those whose balances may go negative
# against a credit limit.
UNIT_KINDS = ("time", "energy", "mass", "count", "credit")
CREDIT_UNIT_KINDS = ("time", "credit")
# SPEC §13.1: what a mandate may allow; how a body decides.
MANDATE_ACTIONS = ("vote", "propose", "allocate", "transfer", "surplus", "lottery")
METHODS = ("consensus", "consent", "majority", "dowdall")
# SPEC §14.1: what an alert asks for; an audit report's bounds.
ALERT_NEEDS = ("people", "material", "amplification")
MAX_CHECKS = 64
MAX_FINDINGS = 50
# An embedded checkpoint entry (checkpoint.cosign's ``entry``) is a few hundred bytes.
MAX_EMBEDDED_ENTRY = 2048

MAX_SAFE_INT = 2**53 - 1  # the largest ms; equal to _entry.MAX_SAFE_INT
MAX_ITEMS = 50
MAX_UNITS = 32
MAX_DECIMALS = 9
UNIT_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_POLICY_KEYS = ("max_consecutive_terms", "max_mandate_days", "method")
_ACTION_KEYS = ("do", "max", "proposal", "unit")
_POOL_KEYS = ("coop", "name")
MAX_POOL = 500
MAX_NAMES = 20
_RULES_KEYS = ("fund_share", "offer_expiry_days", "units")
_UNIT_KEYS = ("credit_limit", "decimals", "kind", "name", "symbol")
_ITEM_KEYS = ("item", "quantity", "unit")


@dataclass(frozen=True, slots=True)
class Field:
    """One body field. ``type`` is one of text, long_text, decimal, enum, date, bool,
    id, coop, int, period, share, unit_name, items or rules (SPEC §3, §12.1), sig,
    names, pool, actions, policy, ranking or coops (SPEC §13.1), or digest, entry,
    quarter, needs, checks or texts (SPEC §14.1)."""

    name: str
    type: str
    required: bool = True
    max_len: int = 200
    choices: tuple[str, ...] = ()
    max_value: str | None = None  # for decimals: an inclusive upper bound
    zero_ok: bool = False         # for decimals: 0 is allowed (never negatives)
    low: int = 0                  # for ints: inclusive bounds
    high: int = MAX_SAFE_INT


# Unicode's control characters (general category Cc) are exactly these two ranges.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _text(name: str, value: object, max_len: int, *, long: bool = False) -> None:
    if not isinstance(value, str):
        raise BadBody("must be text", field=name)
    if not value or not value.strip():
        raise BadBody("must not be empty", field=name)
    if len(value) > max_len:
        raise BadBody(f"longer than {max_len} characters", field=name)
    if value != value.strip():
        raise BadBody("must not start or end with white space", field=name)
    if not unicodedata.is_normalized("NFC", value):
        raise BadBody("text must be in Unicode NFC form", field=name)
    control = _CONTROL_BUT_NEWLINE if long else _CONTROL
    if control.search(value):
        raise BadBody("contains a control character", field=name)


def _decimal(name: str, value: object, *, zero_ok: bool = False,
             max_value: str | None = None) -> Quantity:
    if not isinstance(value, str):
        raise BadBody("must be a decimal string such as \"1.5\"", field=name)
    try:
        q = Quantity.parse(value)
    except DecimalFormatError as exc:
        raise BadBody(str(exc), field=name) from exc
    if zero_ok:
        if q < ZERO:
            raise BadBody("must not be negative", field=name)
    elif not q.is_positive():
        raise BadBody("must be greater than zero", field=name)
    if max_value is not None and q > Quantity.parse(max_value):  # cached
        raise BadBody(f"must be at most {max_value}", field=name)
    return q


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadBody("must be an integer", field=name)
    if not low <= value <= high:
        raise BadBody(f"must be between {low} and {high}", field=name)
    return value


def _map(name: str, value: object, keys: tuple[str, ...],
         required: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise BadBody("must be a map", field=name)
    for key in value:
        if key not in keys:
            raise BadBody("unknown field", field=f"{name}.{str(key)[:32]}")
    for key in required:
        if key not in value:
            raise BadBody("required", field=f"{name}.{key}")
    return value


def _list(name: str, value: object, low: int, high: int, what: str) -> list[object]:
    if not isinstance(value, list):
        raise BadBody(f"must be a list of {what}", field=name)
    if not low <= len(value) <= high:
        raise BadBody(f"must hold {low} to {high} {what}", field=name)
    return value


def _items(name: str, value: object) -> None:
    for i, item in enumerate(_list(name, value, 1, MAX_ITEMS, "items")):
        at = f"{name}[{i}]"
        m = _map(at, item, _ITEM_KEYS, _ITEM_KEYS)
        _text(f"{at}.item", m["item"], 200)
        _decimal(f"{at}.quantity", m["quantity"])
        _text(f"{at}.unit", m["unit"], 32)


def _unit_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not UNIT_NAME_PATTERN.fullmatch(value):
        raise BadBody("must be a unit name: a lower-case letter, then up to 31 of "
                      "a-z 0-9 _ -", field=name)


def _share(name: str, value: object) -> None:
    q = _decimal(name, value, zero_ok=True)
    if q > Quantity(1, 0):
        raise BadBody("must be between 0 and 1", field=name)


def _rules(name: str, value: object) -> None:
    m = _map(name, value, _RULES_KEYS, _RULES_KEYS)
    seen: set[str] = set()
    units = _list(f"{name}.units", m["units"], 1, MAX_UNITS, "units")
    for i, unit in enumerate(units):
        at = f"{name}.units[{i}]"
        u = _map(at, unit, _UNIT_KEYS, ("decimals", "kind", "name", "symbol"))
        _unit_name(f"{at}.name", u["name"])
        if u["name"] in seen:
            raise BadBody("names a unit already defined above", field=f"{at}.name")
        seen.add(str(u["name"]))
        _text(f"{at}.symbol", u["symbol"], 16)
        _int(f"{at}.decimals", u["decimals"], 0, MAX_DECIMALS)
        if u["kind"] not in UNIT_KINDS:
            raise BadBody(f"must be one of {', '.join(UNIT_KINDS)}", field=f"{at}.kind")
        if "credit_limit" in u:
            if u["kind"] not in CREDIT_UNIT_KINDS:
                raise BadBody("only units of kind time or credit have a credit limit",
                              field=f"{at}.credit_limit")
            _decimal(f"{at}.credit_limit", u["credit_limit"], zero_ok=True)
    _share(f"{name}.fund_share", m["fund_share"])
    _int(f"{name}.offer_expiry_days", m["offer_expiry_days"], 1, 365)


def _period(name: str, value: object) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}", value, re.ASCII):
        raise BadBody("must be a month YYYY-MM", field=name)
    if value[:4] == "0000" or not "01" <= value[5:] <= "12":
        raise BadBody("is not a month of the calendar (0001-01 to 9999-12)", field=name)


def _hex_key(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BadBody("must be a co-op's public key: 64 lower-case hex characters",
                      field=name)


def _names(name: str, value: object) -> None:
    seen: set[str] = set()
    for i, v in enumerate(_list(name, value, 1, MAX_NAMES, "names")):
        _text(f"{name}[{i}]", v, 100)
        if v in seen:
            raise BadBody("is listed twice", field=f"{name}[{i}]")
        seen.add(str(v))


def _pool(name: str, value: object) -> None:
    seen: set[tuple[str, str]] = set()
    for i, v in enumerate(_list(name, value, 1, MAX_POOL, "candidates")):
        at = f"{name}[{i}]"
        m = _map(at, v, _POOL_KEYS, _POOL_KEYS)
        _text(f"{at}.name", m["name"], 100)
        _hex_key(f"{at}.coop", m["coop"])
        pair = (str(m["coop"]), str(m["name"]))
        if pair in seen:
            raise BadBody("names the same candidate twice", field=at)
        seen.add(pair)


def _actions(name: str, value: object, refs: Collection[bytes]) -> None:
    for i, v in enumerate(_list(name, value, 0, 16, "actions")):
        at = f"{name}[{i}]"
        m = _map(at, v, _ACTION_KEYS, ("do",))
        if m["do"] not in MANDATE_ACTIONS:
            raise BadBody(f"must be one of {', '.join(MANDATE_ACTIONS)}", field=f"{at}.do")
        if "proposal" in m:
            if m["do"] != "vote":
                raise BadBody("only a vote action names a proposal", field=f"{at}.proposal")
            check_field(Field(f"{at}.proposal", "id"), m["proposal"], refs)
        if ("unit" in m or "max" in m) and m["do"] != "transfer":
            raise BadBody("only a transfer action has a unit and a maximum",
                          field=f"{at}.unit" if "unit" in m else f"{at}.max")
        if "max" in m and "unit" not in m:
            raise BadBody("required when a maximum is given", field=f"{at}.unit")
        if "unit" in m and "max" not in m:
            raise BadBody("required when a unit is given", field=f"{at}.max")
        if "unit" in m:
            _unit_name(f"{at}.unit", m["unit"])
            _decimal(f"{at}.max", m["max"])


def _policy(name: str, value: object) -> None:
    m = _map(name, value, _POLICY_KEYS, _POLICY_KEYS)
    _int(f"{name}.max_mandate_days", m["max_mandate_days"], 1, 1830)
    _int(f"{name}.max_consecutive_terms", m["max_consecutive_terms"], 0, 20)
    if m["method"] not in METHODS:
        raise BadBody(f"must be one of {', '.join(METHODS)}", field=f"{name}.method")


def _ranking(name: str, value: object) -> None:
    seen: set[int] = set()
    for i, v in enumerate(_list(name, value, 1, MAX_NAMES, "option numbers")):
        n = _int(f"{name}[{i}]", v, 0, MAX_NAMES - 1)
        if n in seen:
            raise BadBody("ranks the same option twice", field=f"{name}[{i}]")
        seen.add(n)


def _coops(name: str, value: object) -> None:
    seen: set[str] = set()
    for i, v in enumerate(_list(name, value, 1, 100, "co-op keys")):
        _hex_key(f"{name}[{i}]", v)
        if v in seen:
            raise BadBody("is listed twice", field=f"{name}[{i}]")
        seen.add(str(v))


def _quarter(name: str, value: object) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-Q[1-4]", value, re.ASCII):
        raise BadBody("must be a quarter YYYY-Qn, n from 1 to 4", field=name)
    if value[:4] == "0000":
        raise BadBody("is not a quarter of the calendar (0001-Q1 to 9999-Q4)", field=name)


def _needs(name: str, value: object) -> None:
    seen: set[object] = set()
    for i, v in enumerate(_list(name, value, 1, len(ALERT_NEEDS), "needs")):
        if v not in ALERT_NEEDS:
            raise BadBody(f"must be one of {', '.join(ALERT_NEEDS)}", field=f"{name}[{i}]")
        if v in seen:
            raise BadBody("is listed twice", field=f"{name}[{i}]")
        seen.add(v)


def _checks(name: str, value: object) -> None:
    seen: set[str] = set()
    for i, item in enumerate(_list(name, value, 1, MAX_CHECKS, "checks")):
        at = f"{name}[{i}]"
        m = _map(at, item, ("detail", "name", "ok"), ("name", "ok"))
        _text(f"{at}.name", m["name"], 100)
        if m["name"] in seen:
            raise BadBody("names a check already listed above", field=f"{at}.name")
        seen.add(str(m["name"]))
        if not isinstance(m["ok"], bool):
            raise BadBody("must be true or false", field=f"{at}.ok")
        if "detail" in m:
            _text(f"{at}.detail", m["detail"], 2000, long=True)


def _texts(name: str, value: object) -> None:
    for i, v in enumerate(_list(name, value, 1, MAX_FINDINGS, "texts")):
        _text(f"{name}[{i}]", v, 2000, long=True)


def _enum(f: Field, value: object) -> None:
    if value not in f.choices:
        raise BadBody(f"must be one of {', '.join(f.choices)}", field=f.name)


def _bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise BadBody("must be true or false", field=name)


def _date(name: str, value: object) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        raise BadBody("must be a date YYYY-MM-DD", field=name)
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise BadBody("is not a calendar date", field=name) from exc


def _entry_id(name: str, value: object, refs: Collection[bytes]) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BadBody("must be an entry id: 64 lower-case hex characters", field=name)
    if bytes.fromhex(value) not in refs:
        raise BadBody("the entry id must also be listed in refs", field=name)


def _digest(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BadBody("must be a SHA-256 hash: 64 lower-case hex characters", field=name)


def _embedded(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise BadBody("must be an entry's bytes (msgpack bin)", field=name)
    if not 0 < len(value) <= MAX_EMBEDDED_ENTRY:
        raise BadBody(f"must be 1 to {MAX_EMBEDDED_ENTRY} bytes", field=name)


def _sig(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX128.fullmatch(value):
        raise BadBody("must be a signature: 128 lower-case hex characters", field=name)


# Field type -> its check, called as check(field, value, refs). Most types need only
# the field's name and the value; the others read the field's bounds or the refs.
_Check = Callable[[Field, object, Collection[bytes]], object]  # what a check returns is unused


def _by_name(check: Callable[[str, object], object]) -> _Check:
    return lambda f, value, refs: check(f.name, value)


FIELD_CHECKS: dict[str, _Check] = {
    "text": lambda f, v, refs: _text(f.name, v, f.max_len, long=False),
    "long_text": lambda f, v, refs: _text(f.name, v, f.max_len, long=True),
    "enum": lambda f, v, refs: _enum(f, v),
    "decimal": lambda f, v, refs: _decimal(f.name, v, zero_ok=f.zero_ok,
                                           max_value=f.max_value),
    "id": lambda f, v, refs: _entry_id(f.name, v, refs),
    "actions": lambda f, v, refs: _actions(f.name, v, refs),
    "int": lambda f, v, refs: _int(f.name, v, f.low, f.high),
    **{t: _by_name(check) for t, check in (
        ("bool", _bool), ("date", _date), ("coop", _hex_key), ("digest", _digest),
        ("entry", _embedded), ("quarter", _quarter), ("needs", _needs),
        ("checks", _checks), ("texts", _texts), ("sig", _sig), ("names", _names),
        ("pool", _pool), ("policy", _policy), ("ranking", _ranking), ("coops", _coops),
        ("period", _period), ("share", _share), ("unit_name", _unit_name),
        ("items", _items), ("rules", _rules))},
}


def check_field(f: Field, value: object, refs: Collection[bytes]) -> None:
    """Raise BadBody (naming ``f.name``) unless ``value`` is of ``f``'s type; ``refs``
    are the entry's refs, which every entry id of the body must be among."""
    check = FIELD_CHECKS.get(f.type)
    if check is None:  # pragma: no cover - a schema typo is our bug
        raise AssertionError(f"unknown field type {f.type}")
    check(f, value, refs)
