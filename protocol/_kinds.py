"""Entry kinds and their body schemas.

A kind is a short dotted name (``labor``, ``transfer.offer``). The kinds this version
knows have strict schemas: every field is checked on decode, unknown fields are
rejected, and an entry that fails is never stored. Changing a known kind's schema
therefore means a new kind name. Kinds this version does not know are kept and relayed
(their body must still be a map) but not folded: a newer node's entries survive
passing through an older one.

The kinds of SPEC §12 (federations and the co-op economy) add field types: entry ids
(which must also be listed in the entry's refs, so the fold applies an entry only after
the entry it names), co-op keys, bounded integers, months, shares, unit names, in-kind
item lists and a federation's rules map. A rejection names the field, nested fields by
their path (``rules.units[2].decimals``, ``items[0].quantity``).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import cast

from coopledger import crypto

from ._codec import Value
from ._decimal import ZERO, DecimalFormatError, Quantity
from ._errors import BadBody, BadEnvelope

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}")
MAX_KIND_LEN = 64

LABOR_CATEGORIES = ("production", "care", "facilitation", "maintenance", "learning", "other")
MATERIAL_DIRECTIONS = ("in", "out", "used")
ENERGY_FLOWS = ("consumed", "generated")
ENERGY_SOURCES = ("local", "grid")
GOODS_FLOWS = ("produced", "distributed")

# The enums of SPEC §12. They are the schema's, so they live here; protocol/_economy.py
# declares the same tuples under the same names (it may import them from here: _kinds
# must not import _economy, which imports _entry, which imports _kinds). A test checks
# that both modules agree.
UNIT_KINDS = ("time", "energy", "mass", "count", "credit")
NEED_CATEGORIES = ("food", "repair", "energy", "housing", "care", "tools", "other")
SURPLUS_WHAT = ("goods", "tool", "labour")
GRANT_OUTCOMES = ("succeeded", "failed", "mixed", "abandoned")
NEED_WHERE = ("inside", "outside")
# Units whose balances may go negative against a credit limit (SPEC §12.1).
CREDIT_UNIT_KINDS = ("time", "credit")

# The enums of SPEC §13 (self-government).
KEY_POWERS = ("node", "recovery", "delegate")
REVOKE_REASONS = ("rotated", "lost", "compromised", "left", "other")
MANDATE_ACTIONS = ("vote", "propose", "allocate", "transfer", "surplus", "lottery")
VERDICTS = ("kept", "exceeded")
LOTTERY_MODES = ("draw", "groups")
STANCES = ("agree", "disagree", "block", "abstain")
OUTCOMES = ("adopted", "rejected", "withdrawn")
METHODS = ("consensus", "consent", "majority", "dowdall")
# key.add's proof: the added key signs this context followed by the identity's 32 bytes,
# so a key joins an identity only with its holder's consent (SPEC §13).
KEY_PROOF_CONTEXT = b"coopledger/key/v1\x00"

# The enums of SPEC §14 (audit, misconduct, solidarity alerts).
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
            _check_field(Field(f"{at}.proposal", "id"), m["proposal"], refs)
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


def key_proof_message(identity: bytes) -> bytes:
    """What a key signs to consent to joining ``identity`` (key.add's ``proof``)."""
    return KEY_PROOF_CONTEXT + identity


def _check_field(f: Field, value: object, refs: Collection[bytes]) -> None:
    name = f.name
    if f.type in ("text", "long_text"):
        _text(name, value, f.max_len, long=f.type == "long_text")
    elif f.type == "enum":
        if value not in f.choices:
            raise BadBody(f"must be one of {', '.join(f.choices)}", field=name)
    elif f.type == "bool":
        if not isinstance(value, bool):
            raise BadBody("must be true or false", field=name)
    elif f.type == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value,
                                                          re.ASCII):
            raise BadBody("must be a date YYYY-MM-DD", field=name)
        try:
            datetime.date.fromisoformat(value)
        except ValueError as exc:
            raise BadBody("is not a calendar date", field=name) from exc
    elif f.type == "decimal":
        _decimal(name, value, zero_ok=f.zero_ok, max_value=f.max_value)
    elif f.type == "id":
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise BadBody("must be an entry id: 64 lower-case hex characters", field=name)
        if bytes.fromhex(value) not in refs:
            raise BadBody("the entry id must also be listed in refs", field=name)
    elif f.type == "coop":
        _hex_key(name, value)
    elif f.type == "digest":
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise BadBody("must be a SHA-256 hash: 64 lower-case hex characters", field=name)
    elif f.type == "entry":
        if not isinstance(value, bytes):
            raise BadBody("must be an entry's bytes (msgpack bin)", field=name)
        if not 0 < len(value) <= MAX_EMBEDDED_ENTRY:
            raise BadBody(f"must be 1 to {MAX_EMBEDDED_ENTRY} bytes", field=name)
    elif f.type == "quarter":
        _quarter(name, value)
    elif f.type == "needs":
        _needs(name, value)
    elif f.type == "checks":
        _checks(name, value)
    elif f.type == "texts":
        _texts(name, value)
    elif f.type == "sig":
        if not isinstance(value, str) or not _HEX128.fullmatch(value):
            raise BadBody("must be a signature: 128 lower-case hex characters", field=name)
    elif f.type == "names":
        _names(name, value)
    elif f.type == "pool":
        _pool(name, value)
    elif f.type == "actions":
        _actions(name, value, refs)
    elif f.type == "policy":
        _policy(name, value)
    elif f.type == "ranking":
        _ranking(name, value)
    elif f.type == "coops":
        _coops(name, value)
    elif f.type == "int":
        _int(name, value, f.low, f.high)
    elif f.type == "period":
        _period(name, value)
    elif f.type == "share":
        _share(name, value)
    elif f.type == "unit_name":
        _unit_name(name, value)
    elif f.type == "items":
        _items(name, value)
    elif f.type == "rules":
        _rules(name, value)
    else:  # pragma: no cover - a schema typo is our bug
        raise AssertionError(f"unknown field type {f.type}")


_NOTE = Field("note", "long_text", required=False, max_len=2000)
_DATE_OPT = Field("date", "date", required=False)
_FEDERATION = Field("federation", "id")
_MS = Field("expires", "int")
_POSITIVE = Field("quantity", "decimal")
_FREE_UNIT = Field("unit", "text", max_len=32)
_BODY = Field("federation", "id", required=False)
_MANDATE = Field("mandate", "id")
_PROPOSAL = Field("proposal", "id")

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
    # --- SPEC §12.2: federations and the co-op economy ---------------------------------
    "federation.create": (
        Field("name", "text", max_len=100),
        Field("charter", "long_text", max_len=16000),
        Field("rules", "rules"),
    ),
    "federation.rules": (_FEDERATION, Field("rules", "rules"), _NOTE),
    "federation.invite": (_FEDERATION, Field("invitee", "coop"), _NOTE),
    "federation.join": (_FEDERATION, Field("invite", "id")),
    "federation.leave": (_FEDERATION, _NOTE),
    "transfer.offer": (
        _FEDERATION,
        Field("to", "coop"),
        Field("amount", "decimal", required=False),
        Field("unit", "unit_name", required=False),
        Field("items", "items", required=False),
        Field("purpose", "text", max_len=200),
        _MS,
    ),
    "transfer.accept": (Field("offer", "id"), _NOTE),
    "transfer.decline": (Field("offer", "id"), _NOTE),
    "surplus.offer": (
        _FEDERATION,
        Field("what", "enum", choices=SURPLUS_WHAT),
        Field("item", "text", max_len=200),
        _POSITIVE,
        _FREE_UNIT,
        Field("until", "date"),
    ),
    "surplus.request": (
        _FEDERATION,
        Field("item", "text", max_len=200),
        _POSITIVE,
        _FREE_UNIT,
        Field("until", "date"),
    ),
    "sprint.allocate": (
        Field("offer", "id"),
        Field("request", "id"),
        _POSITIVE,
        Field("sprint", "period"),
        _MS,
    ),
    "fund.surplus": (
        _FEDERATION,
        Field("period", "period"),
        Field("amount", "decimal", zero_ok=True),
        Field("unit", "unit_name"),
    ),
    "fund.contribute": (
        _FEDERATION,
        Field("period", "period"),
        Field("amount", "decimal"),
        Field("unit", "unit_name"),
    ),
    "fund.grant": (
        _FEDERATION,
        Field("to", "coop"),
        Field("experiment", "text", max_len=200),
        Field("amount", "decimal"),
        Field("unit", "unit_name"),
        Field("report_due", "date"),
    ),
    "fund.report": (
        Field("grant", "id"),
        Field("outcome", "enum", choices=GRANT_OUTCOMES),
        Field("report", "long_text", max_len=8000),
    ),
    "need.declare": (
        _FEDERATION,
        Field("category", "enum", choices=NEED_CATEGORIES),
        _POSITIVE,
        _FREE_UNIT,
        Field("period", "period"),
    ),
    "need.met": (
        Field("need", "id"),
        Field("where", "enum", choices=NEED_WHERE),
        _POSITIVE,
    ),
    "labor.outside": (
        Field("member", "text", max_len=100),
        Field("hours", "decimal", max_value="744"),  # 31 days of 24 hours
        Field("period", "period"),
    ),
    # --- SPEC §13: self-government ----------------------------------------------------
    "key.add": (
        Field("identity", "coop"),
        Field("key", "coop"),
        Field("power", "enum", choices=KEY_POWERS),
        Field("label", "text", max_len=100),
        Field("proof", "sig"),
        _NOTE,
    ),
    "key.revoke": (
        Field("identity", "coop"),
        Field("key", "coop"),
        Field("reason", "enum", choices=REVOKE_REASONS),
        Field("through", "int", required=False),
        _NOTE,
    ),
    "policy.set": (_BODY, Field("policy", "policy"), _NOTE),
    "mandate.issue": (
        _BODY,
        Field("title", "text", max_len=100),
        Field("delegate", "text", max_len=100),
        Field("key", "coop", required=False),
        Field("scope", "long_text", max_len=4000),
        Field("actions", "actions"),
        Field("start", "int"),
        Field("expires", "int"),
        Field("sunset", "long_text", max_len=2000),
        _NOTE,
    ),
    "mandate.renew": (_MANDATE, Field("expires", "int"), _NOTE),
    "mandate.recall": (_MANDATE, Field("reason", "long_text", max_len=2000)),
    "mandate.report": (_MANDATE, Field("report", "long_text", max_len=8000)),
    "mandate.verdict": (_MANDATE, Field("verdict", "enum", choices=VERDICTS), _NOTE),
    "role.assign": (
        _BODY,
        Field("role", "text", max_len=100),
        Field("holder", "text", max_len=100),
        Field("key", "coop", required=False),
        Field("from", "int"),
        Field("until", "int"),
        _NOTE,
    ),
    "role.renew": (Field("assignment", "id"), Field("until", "int"), _NOTE),
    "role.end": (Field("assignment", "id"), _NOTE),
    "lottery.announce": (
        _BODY,
        Field("purpose", "text", max_len=200),
        Field("pool", "pool"),
        Field("seats", "int", low=1, high=100),
        Field("beacons", "int", low=1, high=16),
        Field("mode", "enum", choices=LOTTERY_MODES),
        Field("roles", "names", required=False),
        Field("exclude", "coops", required=False),
        Field("distinct_coops", "bool", required=False),
        _NOTE,
    ),
    "lottery.beacon": (Field("lottery", "id"),),
    "proposal.create": (
        _BODY,
        Field("title", "text", max_len=200),
        Field("text", "long_text", max_len=16000),
        Field("options", "names", required=False),
        Field("cascade", "id", required=False),
        Field("group", "int", required=False, high=MAX_POOL - 1),
        _NOTE,
    ),
    "proposal.amend": (_PROPOSAL, Field("text", "long_text", max_len=16000), _NOTE),
    "position": (
        _PROPOSAL,
        Field("stance", "enum", choices=STANCES),
        Field("member", "text", required=False, max_len=100),
        Field("ranking", "ranking", required=False),
        Field("reason", "long_text", required=False, max_len=2000),
    ),
    "decision": (
        _PROPOSAL,
        Field("outcome", "enum", choices=OUTCOMES),
        Field("summary", "long_text", max_len=4000),
        Field("option", "int", required=False, high=MAX_NAMES - 1),
        _NOTE,
    ),
    "minutes": (
        _BODY,
        Field("date", "date"),
        Field("title", "text", max_len=200),
        Field("text", "long_text", max_len=16000),
    ),
    # --- SPEC §14: checkpoints, audit, misconduct, solidarity alerts -----------------
    # ``checkpoint`` is judged by the fold itself (§5: its root must be the Merkle root
    # of the log before it); the others on the commons' timeline.
    "checkpoint": (Field("size", "int"), Field("root", "digest")),
    "checkpoint.cosign": (Field("checkpoint", "id"), Field("entry", "entry")),
    "audit.circle": (
        _FEDERATION,
        Field("coop", "coop"),
        Field("period", "quarter"),
        Field("lottery", "id"),
        _NOTE,
    ),
    "audit.report": (
        Field("circle", "id"),
        Field("checkpoint", "id"),
        Field("checks", "checks"),
        Field("findings", "texts", required=False),
        Field("summary", "long_text", max_len=4000),
    ),
    "complaint": (
        _FEDERATION,
        Field("against", "coop"),
        Field("text", "long_text", max_len=8000),
    ),
    "finding": (
        _FEDERATION,
        Field("about", "coop"),
        Field("text", "long_text", max_len=8000),
        Field("complaint", "id", required=False),
        Field("circle", "id", required=False),
    ),
    "sanction": (
        _FEDERATION,
        Field("against", "coop"),
        Field("finding", "id"),
        Field("measure", "long_text", max_len=2000),
        Field("expires", "int"),
        _NOTE,
    ),
    "alert.raise": (
        Field("federation", "id", required=False),
        Field("what", "long_text", max_len=4000),
        Field("needs", "needs"),
        Field("drill", "bool"),
        Field("where", "text", required=False, max_len=200),
    ),
    "alert.ack": (Field("alert", "id"),),
    "alert.pledge": (
        Field("alert", "id"),
        Field("what", "long_text", max_len=2000),
        Field("need", "enum", required=False, choices=ALERT_NEEDS),
    ),
    "alert.delivered": (
        Field("alert", "id"),
        Field("what", "long_text", max_len=2000),
        Field("pledge", "id", required=False),
    ),
}

# The kinds of SPEC §13, judged on the economy's timeline (KEY_KINDS in a pre-pass).
KEY_KINDS = frozenset(("key.add", "key.revoke"))
GOVERNANCE_KINDS = frozenset(k for k in SCHEMAS if k in KEY_KINDS or k.split(".")[0] in (
    "policy", "mandate", "role", "lottery", "proposal", "position", "decision", "minutes"))

# The kinds of SPEC §14 judged on the commons' timeline (``checkpoint`` is the fold's).
AUDIT_KINDS = frozenset(("checkpoint.cosign", "audit.circle", "audit.report",
                         "complaint", "finding", "sanction"))
ALERT_KINDS = frozenset(("alert.raise", "alert.ack", "alert.pledge", "alert.delivered"))
CHECKPOINT_KIND = "checkpoint"
COSIGN_KIND = "checkpoint.cosign"

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


def validate_body(kind: str, body: Mapping[str, object],
                  refs: Collection[bytes] = ()) -> None:
    """Check ``body`` against the schema of ``kind``; ``refs`` are the entry's refs
    (every entry id a body names must be among them).

    Raises BadBody naming the field. Unknown kinds are not checked beyond being a map.
    Cross-field rules live here too (goods distributed must say to whom; an offer's
    amount and unit come together, and it moves an amount or items or both).
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
        _check_field(f, body[f.name], refs)
    if kind == "goods" and body.get("flow") == "distributed" and "to" not in body:
        raise BadBody("required when goods are distributed", field="to")
    if kind == "transfer.offer":
        if "amount" in body and "unit" not in body:
            raise BadBody("required when an amount is given", field="unit")
        if "unit" in body and "amount" not in body:
            raise BadBody("required when a unit is given", field="amount")
        if "amount" not in body and "items" not in body:
            raise BadBody("an offer needs an amount (with its unit), items, or both",
                          field="amount")
    elif kind in _GOVERNANCE_CHECKS:
        _GOVERNANCE_CHECKS[kind](body)


def _check_key_add(body: Mapping[str, object]) -> None:
    if body["key"] == body["identity"]:
        raise BadBody("a co-op's root key is already its key", field="key")
    # The fields are checked hex above; the added key's consent must verify.
    key = bytes.fromhex(str(body["key"]))
    proof = bytes.fromhex(str(body["proof"]))
    if not crypto.verify(key, proof, key_proof_message(bytes.fromhex(str(body["identity"])))):
        raise BadBody("does not verify: the added key did not sign its consent to join "
                      "this identity", field="proof")


def _check_window(low: str, high: str) -> Callable[[Mapping[str, object]], None]:
    def check(body: Mapping[str, object]) -> None:
        if not cast(int, body[low]) < cast(int, body[high]):
            raise BadBody(f"must be later than {low}", field=high)
    return check


def _check_lottery(body: Mapping[str, object]) -> None:
    if body["mode"] == "groups":
        if body["seats"] != 1:
            raise BadBody("must be 1 when the pool is split into groups", field="seats")
        if "roles" in body:
            raise BadBody("a split into groups has no roles", field="roles")
        if "distinct_coops" in body:
            raise BadBody("a split into groups puts everyone in a group; distinct_coops "
                          "applies to a draw only", field="distinct_coops")


def _check_cosign(body: Mapping[str, object]) -> None:
    # The witness embeds the checkpoint it cosigns, signed by the log's author, so the
    # cosign alone shows what the log told the witness (SPEC §14.3). _entry imports this
    # module, hence the late import.
    from ._entry import open_entry
    from ._errors import ValidationError

    try:
        cp = open_entry(cast(bytes, body["entry"]))
    except ValidationError as exc:
        raise BadBody(f"is not a valid entry ({exc.reason_code})", field="entry") from exc
    if cp.kind != CHECKPOINT_KIND:
        raise BadBody("must be a checkpoint entry", field="entry")
    if cp.id.hex() != body["checkpoint"]:
        raise BadBody("is not the entry named by checkpoint", field="entry")


def _check_proposal(body: Mapping[str, object]) -> None:
    if ("cascade" in body) != ("group" in body):
        raise BadBody("a cascade draft names both its cascade and its group",
                      field="group" if "cascade" in body else "cascade")
    if "options" in body and len(cast(list[object], body["options"])) < 2:
        raise BadBody("a choice needs at least two options", field="options")


_GOVERNANCE_CHECKS: dict[str, Callable[[Mapping[str, object]], None]] = {
    "key.add": _check_key_add,
    "mandate.issue": _check_window("start", "expires"),
    "role.assign": _check_window("from", "until"),
    "lottery.announce": _check_lottery,
    "proposal.create": _check_proposal,
    "checkpoint.cosign": _check_cosign,
}

def default_rules_value() -> dict[str, Value]:
    """The rules map of SPEC §12.1's defaults, as written in a ``federation.create``
    body (a fresh value each call: the caller may change it)."""
    return {
        "units": [
            {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time",
             "credit_limit": "40"},
            {"name": "kwh", "symbol": "kWh", "decimals": 3, "kind": "energy"},
            {"name": "kg", "symbol": "kg", "decimals": 3, "kind": "mass"},
            {"name": "item", "symbol": "items", "decimals": 0, "kind": "count"},
        ],
        "fund_share": "0.1",
        "offer_expiry_days": 14,
    }
