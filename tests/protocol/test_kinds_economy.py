"""Body schemas of the federation and economy kinds (SPEC §12.1, §12.2).

Every rejection is checked for its class and the field it names (nested fields by their
path, ``rules.units[1].decimals``), as in test_entry.py for the kinds of §3.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schemakit import STEP, Schemas, get, put

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    ECONOMY_KINDS,
    KNOWN_KINDS,
    BadBody,
    Quantity,
    ValidationError,
    _kinds,
    create_entry,
    decode_entry,
    default_rules_value,
    validate_body,
)
from coopledger.protocol._kinds import (
    ALERT_KINDS,
    AUDIT_KINDS,
    GOVERNANCE_KINDS,
    SCHEMAS,
    UNIT_NAME_PATTERN,
    Field,
)
from coopledger.protocol.commons import _economy

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
H1 = bytes([1]) * 32
FED, INV, OFFER, REQ, GRANT, NEED = (bytes([i]) * 32 for i in range(0xA1, 0xA7))
IDS = [FED, INV, OFFER, REQ, GRANT, NEED]
REFS = sorted(IDS)
COOP = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
MAX_MS = 2**53 - 1
raw, reject = (schemas := Schemas(REFS)).raw, schemas.reject
ECONOMY_SCHEMA_KINDS = {k for k in KNOWN_KINDS  # the kinds of §12.2
                        if "." in k and k not in GOVERNANCE_KINDS | AUDIT_KINDS | ALERT_KINDS}


def fed() -> dict[str, Any]:
    return {"federation": FED.hex()}


ITEM = {"item": "pump gasket", "quantity": "2", "unit": "piece"}

FULL: dict[str, dict[str, Any]] = {
    "federation.create": {"name": "Hillside Federation",
                          "charter": "We trade hours.\nAnd share surplus.",
                          "rules": default_rules_value()},
    "federation.rules": {**fed(), "rules": default_rules_value(), "note": "more units"},
    "federation.invite": {**fed(), "invitee": COOP, "note": "welcome"},
    "federation.join": {**fed(), "invite": INV.hex()},
    "federation.leave": {**fed(), "note": "we merge with\nanother co-op"},
    "transfer.offer": {**fed(), "to": COOP, "amount": "2.5", "unit": "hour",
                       "items": [ITEM], "purpose": "repairing the pump",
                       "expires": 1_767_225_600_000},
    "transfer.accept": {"offer": OFFER.hex(), "note": "thanks"},
    "transfer.decline": {"offer": OFFER.hex(), "note": "not needed now"},
    "surplus.offer": {**fed(), "what": "tool", "item": "cider press", "quantity": "1",
                      "unit": "press", "until": "2026-10-31"},
    "surplus.request": {**fed(), "item": "apples", "quantity": "200", "unit": "kg",
                        "until": "2026-09-30"},
    "sprint.allocate": {"offer": OFFER.hex(), "request": REQ.hex(), "quantity": "50",
                        "sprint": "2026-09", "expires": 1_767_225_600_000},
    "fund.surplus": {**fed(), "period": "2026-01", "amount": "120.5", "unit": "hour"},
    "fund.contribute": {**fed(), "period": "2026-01", "amount": "12.05", "unit": "hour"},
    "fund.grant": {**fed(), "to": COOP, "experiment": "solar dryer", "amount": "30",
                   "unit": "kwh", "report_due": "2026-12-31"},
    "fund.report": {"grant": GRANT.hex(), "outcome": "mixed",
                    "report": "It dried the apples.\nNot the pears."},
    "need.declare": {**fed(), "category": "repair", "quantity": "10", "unit": "hour",
                     "period": "2026-02"},
    "need.met": {"need": NEED.hex(), "where": "inside", "quantity": "4"},
    "labor.outside": {"member": "ana", "hours": "120", "period": "2026-01"},
}
OPTIONAL = {"note", "items"}
MINIMAL: dict[str, dict[str, Any]] = {
    k: {f: v for f, v in b.items() if f not in OPTIONAL} for k, b in FULL.items()}


def drop(body: dict[str, Any], path: str) -> dict[str, Any]:
    out = put(body, path, None)
    steps = path.rsplit(".", 1)
    parent: Any = out if len(steps) == 1 else get(out, steps[0])
    del parent[steps[-1]]
    return out


# --- the examples ------------------------------------------------------------------------


def test_every_economy_kind_has_examples() -> None:
    assert set(FULL) == set(MINIMAL) == ECONOMY_SCHEMA_KINDS
    # labor.outside is known (for the metrics) but not read by the economy (§12.3).
    assert ECONOMY_KINDS == ECONOMY_SCHEMA_KINDS - {"labor.outside"}


def test_enums_agree_with_the_economy() -> None:
    for name in ("UNIT_KINDS", "NEED_CATEGORIES", "SURPLUS_WHAT", "GRANT_OUTCOMES",
                 "NEED_WHERE"):
        assert getattr(_kinds, name) == getattr(_economy, name), name


@pytest.mark.parametrize("kind", sorted(FULL))
@pytest.mark.parametrize("bodies", [FULL, MINIMAL], ids=["full", "minimal"])
def test_valid_bodies_decode(kind: str, bodies: dict[str, dict[str, Any]]) -> None:
    body = bodies[kind]
    e = decode_entry(raw(kind, body))
    assert e.kind == kind and e.body == body
    made = create_entry(KEY, seq=2, prev=H1, ts=1000, kind=kind, body=body, refs=REFS)
    assert made.raw == e.raw


@pytest.mark.parametrize("kind", sorted(FULL))
def test_required_fields(kind: str) -> None:
    for field in MINIMAL[kind]:
        reject(kind, drop(MINIMAL[kind], field), field)


@pytest.mark.parametrize("kind", sorted(FULL))
def test_unknown_fields(kind: str) -> None:
    reject(kind, {**MINIMAL[kind], "extra": "x"}, "extra")
    reject(kind, {**MINIMAL[kind], "Federation": FED.hex()}, "Federation")


def test_default_rules_are_the_spec_defaults() -> None:
    rules = default_rules_value()
    assert rules == {
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
    rules["units"].clear()  # type: ignore[attr-defined]
    assert len(default_rules_value()["units"]) == 4  # type: ignore[arg-type]


# --- id fields: hex, and listed in refs ---------------------------------------------------

ID_FIELDS = [(k, f.name) for k, fields in SCHEMAS.items() for f in fields
             if f.type == "id" and k in ECONOMY_SCHEMA_KINDS]


def test_id_fields_are_the_spec_ones() -> None:
    assert sorted(ID_FIELDS) == sorted(
        [(k, "federation") for k in FULL if "federation" in FULL[k]]
        + [("federation.join", "invite"), ("transfer.accept", "offer"),
           ("transfer.decline", "offer"), ("sprint.allocate", "offer"),
           ("sprint.allocate", "request"), ("fund.report", "grant"), ("need.met", "need")])


@pytest.mark.parametrize(("kind", "field"), ID_FIELDS)
def test_id_fields(kind: str, field: str) -> None:
    base = MINIMAL[kind]
    for bad in ["", FED.hex().upper(), FED.hex()[:-1], FED.hex() + "0", "g" * 64,
                " " + FED.hex()[1:], FED, 1, None, [FED.hex()]]:
        reject(kind, {**base, field: bad}, field)
    # Well-formed, but the entry does not ref it.
    absent = bytes([0xEE]) * 32
    err = reject(kind, {**base, field: absent.hex()}, field)
    assert "refs" in err.message
    refs = [r for r in REFS if r.hex() != base[field]]
    err = reject(kind, base, field, refs=refs)
    assert "listed in refs" in err.message
    # Listed: fine (and refs may hold more than the body names).
    assert decode_entry(raw(kind, {**base, field: absent.hex()}, sorted([*REFS, absent])))


# --- every other field type, table-driven -------------------------------------------------

BAD: list[tuple[str, str, list[Any]]] = [
    # coop
    ("federation.invite", "invitee", ["", COOP.upper(), COOP[:-1], COOP + "0", "x" * 64,
                                       bytes.fromhex(COOP), 5]),
    ("transfer.offer", "to", [COOP.upper(), COOP[:62], None]),
    ("fund.grant", "to", ["", bytes(32)]),
    # ms
    ("transfer.offer", "expires", [-1, MAX_MS + 1, True, "1767225600000", None, [1]]),
    ("sprint.allocate", "expires", [-5, 2**63, False]),
    # period
    ("fund.surplus", "period", ["2026-1", "2026-13", "2026-00", "0000-05", "2026-01-01",
                                "26-01", "\uff12\uff10\uff12\uff16-01", 202601, "",
                                "2026-01 ", "2026/01"]),
    ("sprint.allocate", "sprint", ["2026-9", "9999-13"]),
    ("need.declare", "period", ["x"]),
    ("labor.outside", "period", ["2026-02-01"]),
    # unit name
    ("fund.surplus", "unit", ["", "Hour", "1h", "-h", "h" * 33, "h our", "h!", "é", 1,
                              None]),
    ("fund.contribute", "unit", ["hour\n"]),
    ("fund.grant", "unit", ["KWH"]),
    ("transfer.offer", "unit", ["_x"]),
    # decimals
    ("fund.surplus", "amount", ["-1", "1.0", "01", ".5", "1e3", 1, "1" * 31,
                                "0.0000000001"]),
    ("fund.contribute", "amount", ["0", "-0.5"]),
    ("fund.grant", "amount", ["0"]),
    ("transfer.offer", "amount", ["0", "-2", "2.50"]),
    ("surplus.offer", "quantity", ["0"]),
    ("surplus.request", "quantity", ["-1"]),
    ("sprint.allocate", "quantity", ["0"]),
    ("need.declare", "quantity", ["0"]),
    ("need.met", "quantity", ["0"]),
    ("labor.outside", "hours", ["0", "744.5", "745", "1000"]),
    # enums
    ("surplus.offer", "what", ["labor", "Goods", "", None]),
    ("fund.report", "outcome", ["success", "MIXED"]),
    ("need.declare", "category", ["water", ""]),
    ("need.met", "where", ["both", "Inside"]),
    # dates
    ("surplus.offer", "until", ["2026-02-30", "2026-9-1", "2026-09", 20260901]),
    ("surplus.request", "until", ["2026-13-01"]),
    ("fund.grant", "report_due", ["31.12.2026"]),
    # text and long text
    ("federation.create", "name", ["", " x", "x" * 101, "a\nb", "e\u0301", 1]),
    ("federation.create", "charter", ["", "c" * 16001, "a\tb", "trailing\n"]),
    ("transfer.offer", "purpose", ["", "p" * 201]),
    ("surplus.offer", "item", ["i" * 201]),
    ("surplus.offer", "unit", ["u" * 33, ""]),
    ("need.declare", "unit", ["u" * 33]),
    ("fund.grant", "experiment", ["x" * 201]),
    ("fund.report", "report", ["r" * 8001, ""]),
    ("labor.outside", "member", ["m" * 101]),
    ("federation.leave", "note", ["n" * 2001, "\n"]),
    # items
    ("transfer.offer", "items", [[], [ITEM] * 51, ITEM, "x", None, [1], [[ITEM]]]),
    ("transfer.offer", "items[0]", [{"item": "x"}, "x", [], {**ITEM, "note": "n"}]),
    ("transfer.offer", "items[0].quantity", ["0", "-1", "1.50", 2]),
    ("transfer.offer", "items[0].item", ["", "i" * 201]),
    ("transfer.offer", "items[0].unit", ["u" * 33, " u"]),
    # rules
    ("federation.create", "rules", [None, [], "default", {}]),
    ("federation.rules", "rules.units", [[], None, {}, [default_rules_value()["units"]] * 33]),
    ("federation.create", "rules.units[1]", ["kwh", None, {"name": "kwh"}]),
    ("federation.create", "rules.units[1].name", ["Kwh", "", "k" * 33, 1]),
    ("federation.create", "rules.units[1].symbol", ["", "s" * 17, " kWh", "k\nW"]),
    ("federation.create", "rules.units[1].decimals", [-1, 10, "3", True, None]),
    ("federation.create", "rules.units[1].kind", ["power", "", None]),
    ("federation.create", "rules.units[0].credit_limit", ["-1", "40.0", 40, ""]),
    ("federation.create", "rules.fund_share", ["1.1", "-0.1", "2", "0.10", 0, ""]),
    ("federation.rules", "rules.offer_expiry_days", [0, 366, -1, "14", True]),
]


def _cases() -> list[tuple[str, str, Any]]:
    return [(k, p, v) for k, p, values in BAD for v in values]


def _expected_field(kind: str, path: str, value: Any) -> str:
    """The field a rejection names: the path itself, except where a container is at
    fault as a whole and names a key inside it (missing, unknown)."""
    if path == "items" and isinstance(value, list) and 1 <= len(value) <= 50:
        return "items[0]"  # the list is fine, its first element is not a map
    if path == "items[0]" and isinstance(value, dict):
        return "items[0].quantity" if "quantity" not in value else "items[0].note"
    if path == "rules.units[1]" and isinstance(value, dict):
        return "rules.units[1].decimals"  # the first missing key, in key order
    if path == "rules" and value == {}:
        return "rules.fund_share"
    if path == "rules.units" and isinstance(value, list) and value and \
            isinstance(value[0], list):
        return "rules.units"
    return path


@pytest.mark.parametrize(("kind", "path", "value"), _cases(),
                         ids=[f"{k}:{p}:{i}" for i, (k, p, _) in enumerate(_cases())])
def test_bad_values_are_rejected_naming_the_field(kind: str, path: str, value: Any) -> None:
    reject(kind, put(FULL[kind], path, value), _expected_field(kind, path, value))


GOOD: list[tuple[str, str, list[Any]]] = [
    ("fund.surplus", "amount", ["0", "0.000000001", "9" * 30]),
    ("transfer.offer", "expires", [0, MAX_MS]),
    ("sprint.allocate", "sprint", ["0001-01", "9999-12"]),
    ("fund.surplus", "unit", ["a", "a" + "-_9z" * 7 + "abc", "kwh-peak"]),
    ("labor.outside", "hours", ["744", "0.5"]),
    ("transfer.offer", "items", [[ITEM] * 50]),
    ("federation.create", "rules.units[0].credit_limit", ["0", "1000000"]),
    ("federation.create", "rules.units[1].decimals", [0, 9]),
    ("federation.create", "rules.units[1].symbol", ["s" * 16, "€"]),
    ("federation.create", "rules.fund_share", ["0", "1", "0.25"]),
    ("federation.create", "rules.offer_expiry_days", [1, 365]),
    ("federation.create", "charter", ["c" * 16000]),
    ("fund.report", "report", ["r" * 8000]),
    ("federation.create", "rules.units[4]",
     [{"name": "credit", "symbol": "cr", "decimals": 2, "kind": "credit",
       "credit_limit": "100"},
      {"name": "hours-b", "symbol": "hb", "decimals": 2, "kind": "time"}]),
]


@pytest.mark.parametrize(("kind", "path", "value"),
                         [(k, p, v) for k, p, vs in GOOD for v in vs])
def test_edge_values_are_accepted(kind: str, path: str, value: Any) -> None:
    if path == "rules.units[4]":
        body = copy.deepcopy(FULL[kind])
        body["rules"]["units"].append(value)
    else:
        body = put(FULL[kind], path, value)
    assert decode_entry(raw(kind, body)).body == body


def test_thirty_two_units_and_no_more() -> None:
    units = [{"name": f"u{i}", "symbol": "u", "decimals": 0, "kind": "count"}
             for i in range(32)]
    body = put(FULL["federation.create"], "rules.units", units)
    assert decode_entry(raw("federation.create", body))
    units.append({"name": "u32", "symbol": "u", "decimals": 0, "kind": "count"})
    reject("federation.create", put(body, "rules.units", units), "rules.units")


def test_unit_names_are_unique() -> None:
    body = put(FULL["federation.create"], "rules.units[2].name", "hour")
    err = reject("federation.create", body, "rules.units[2].name")
    assert "already" in err.message


def test_credit_limit_only_for_time_and_credit() -> None:
    for kind in ("energy", "mass", "count"):
        body = put(FULL["federation.create"], "rules.units[0].kind", kind)
        err = reject("federation.create", body, "rules.units[0].credit_limit")
        assert "time or credit" in err.message
    body = put(FULL["federation.create"], "rules.units[0].kind", "credit")
    assert decode_entry(raw("federation.create", body))


def test_unknown_keys_inside_rules_and_units() -> None:
    rules = {**default_rules_value(), "quorum": 3}
    reject("federation.create", put(FULL["federation.create"], "rules", rules),
           "rules.quorum")
    body = put(FULL["federation.create"], "rules.units[3].limit", "1")
    reject("federation.create", body, "rules.units[3].limit")


# --- cross-field rules --------------------------------------------------------------------


def test_offer_amount_and_unit_come_together() -> None:
    offer = FULL["transfer.offer"]
    err = reject("transfer.offer", drop(offer, "unit"), "unit")
    assert "amount" in err.message
    err = reject("transfer.offer", drop(offer, "amount"), "amount")
    assert "unit" in err.message
    items_only = drop(drop(offer, "amount"), "unit")
    assert decode_entry(raw("transfer.offer", items_only)).body == items_only
    amount_only = drop(offer, "items")
    assert decode_entry(raw("transfer.offer", amount_only)).body == amount_only
    err = reject("transfer.offer", drop(items_only, "items"), "amount")
    assert "items" in err.message


def test_validate_body_is_usable_before_signing() -> None:
    # The CLI checks what a person typed before it signs anything.
    validate_body("fund.report", FULL["fund.report"], [GRANT])
    with pytest.raises(BadBody) as info:
        validate_body("fund.report", FULL["fund.report"])
    assert info.value.field == "grant"


def test_messages_do_not_echo_the_value() -> None:
    secret = "zz-very-private-" + "q" * 40
    err = reject("fund.surplus", put(FULL["fund.surplus"], "period", secret), "period")
    assert "private" not in str(err)


# --- properties ---------------------------------------------------------------------------


def _qty(low: int, high: int) -> st.SearchStrategy[str]:
    """Canonical decimals in [low/1000, high/1000]."""
    return st.integers(low, high).map(lambda u: str(Quantity._normalised(u, 3)))


_WORD = st.from_regex(r"[A-Za-z0-9\u00e9\u00df]([A-Za-z0-9\u00e9 .,-]{0,10}[a-z0-9])?",
                      fullmatch=True)


def _value(f: Field) -> st.SearchStrategy[Any]:
    t = f.type
    if t in ("text", "long_text"):
        words = _WORD.filter(lambda s: len(s) <= f.max_len)
        if t == "long_text":
            return st.lists(words, min_size=1, max_size=3).map("\n".join).filter(
                lambda s: len(s) <= f.max_len)
        return words
    if t == "enum":
        return st.sampled_from(f.choices)
    if t == "bool":
        return st.booleans()
    if t == "date":
        return st.dates().map(lambda d: d.isoformat())
    if t == "decimal":
        high = 10**9 if f.max_value is None else int(f.max_value) * 1000
        return _qty(0 if f.zero_ok else 1, high)
    if t == "id":
        return st.sampled_from(IDS).map(bytes.hex)
    if t == "coop":
        return st.binary(min_size=32, max_size=32).map(bytes.hex)
    if t == "int":
        return st.integers(f.low, f.high)
    if t == "period":
        return st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1, 9999),
                         st.integers(1, 12))
    if t == "share":
        return _qty(0, 1000)
    if t == "unit_name":
        return st.from_regex(UNIT_NAME_PATTERN, fullmatch=True)
    if t == "items":
        return st.lists(st.fixed_dictionaries({
            "item": _WORD, "quantity": _qty(1, 10**6), "unit": _WORD.filter(
                lambda s: len(s) <= 32)}), min_size=1, max_size=4)
    if t == "rules":
        return _RULES
    raise AssertionError(t)


def _unit(name: str) -> st.SearchStrategy[dict[str, Any]]:
    base = {"name": st.just(name), "symbol": _WORD.filter(lambda s: len(s) <= 16),
            "decimals": st.integers(0, 9)}
    plain = st.fixed_dictionaries({**base, "kind": st.sampled_from(
        ("energy", "mass", "count", "time", "credit"))})
    credit = st.fixed_dictionaries({**base, "kind": st.sampled_from(("time", "credit")),
                                    "credit_limit": _qty(0, 10**8)})
    return plain | credit


_RULES = st.lists(st.from_regex(UNIT_NAME_PATTERN, fullmatch=True), min_size=1,
                  max_size=4, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({
        "units": st.tuples(*(_unit(n) for n in names)).map(list),
        "fund_share": _qty(0, 1000),
        "offer_expiry_days": st.integers(1, 365)}))


@st.composite
def valid_bodies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(ECONOMY_SCHEMA_KINDS)))
    body: dict[str, Any] = {}
    for f in SCHEMAS[kind]:
        if f.required or draw(st.booleans()):
            body[f.name] = draw(_value(f))
    if kind == "transfer.offer":
        shape = draw(st.sampled_from(["amount", "items", "both"]))
        if shape == "items":
            body.pop("amount", None)
            body.pop("unit", None)
        else:
            body.setdefault("amount", draw(_qty(1, 10**6)))
            body.setdefault("unit", draw(_value(Field("unit", "unit_name"))))
        if shape == "amount":
            body.pop("items", None)
        else:
            body.setdefault("items", draw(_value(Field("items", "items"))))
    return kind, body


@settings(max_examples=150, deadline=None)
@given(valid_bodies())
def test_valid_bodies_round_trip(kb: tuple[str, dict[str, Any]]) -> None:
    kind, body = kb
    e = create_entry(KEY, seq=2, prev=H1, ts=1000, kind=kind, body=body, refs=IDS)
    again = decode_entry(e.raw)
    assert again.body == body and again.raw == e.raw


def _paths(value: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            out += [p, *_paths(v, p)]
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = f"{prefix}[{i}]"
            out += [p, *_paths(v, p)]
    return out


JUNK = [None, True, False, 0, -1, 1, 2**53, 2**64 - 1, -(2**63), "", "x", " x", "0", "-1",
        "1.5", "1.50", "2026-01", "2026-01-01", "hour", "\x00", "e\u0301", FED.hex(),
        COOP, "Z" * 300, b"", b"\x00" * 32, [], [1], {}, {"item": "x"}]


@settings(max_examples=300, deadline=None)
@given(valid_bodies(), st.data())
def test_mutated_bodies_are_valid_or_bad_body(kb: tuple[str, dict[str, Any]],
                                              data: st.DataObject) -> None:
    kind, body = kb
    paths = _paths(body)
    path = data.draw(st.sampled_from(paths))
    how = data.draw(st.sampled_from(["replace", "drop", "add"]))
    steps = [m.group(0) for m in STEP.finditer(path)]
    if how == "replace":
        mutated = put(body, path, data.draw(st.sampled_from(JUNK)))
    elif how == "drop" and not steps[-1].startswith("["):
        mutated = drop(body, path)
    else:
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        target = get(body, parent) if parent else body
        if not isinstance(target, dict):
            return
        mutated = put(body, f"{parent}.zz" if parent else "zz", "x")
    try:
        e = decode_entry(raw(kind, mutated, IDS_SORTED))
    except ValidationError as exc:
        assert type(exc) is BadBody, exc
        assert exc.field, exc
    else:
        assert e.body == mutated


IDS_SORTED = sorted(IDS)
