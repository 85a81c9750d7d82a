"""Body schemas of the solidarity-alert kinds (SPEC §14.1, §14.6).

Every kind has a full and a minimal example that decode; every required field is
required, unknown fields are refused, and every field's bad values are rejected naming
the field (a list's items by their index: ``needs[1]``).
"""

from __future__ import annotations

from typing import Any

import pytest
from schemakit import Schemas, drop, put

from coopledger.crypto import SecretKey
from coopledger.protocol import decode_entry
from coopledger.protocol._kinds import ALERT_KINDS, ALERT_NEEDS, SCHEMAS

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
H1 = bytes([1]) * 32
FED, ALERT, PLEDGE = (bytes([i]) * 32 for i in range(0xC1, 0xC4))
REFS = sorted([FED, ALERT, PLEDGE])
raw, reject = (schemas := Schemas(REFS)).raw, schemas.reject

FULL: dict[str, dict[str, Any]] = {
    "alert.raise": {"federation": FED.hex(),
                    "what": "The river is over the bank.\nThe bakery's cellar is flooding.",
                    "needs": ["people", "material", "amplification"], "drill": False,
                    "where": "Mill Lane 4"},
    "alert.ack": {"alert": ALERT.hex()},
    "alert.pledge": {"alert": ALERT.hex(), "what": "Six people with pumps from 18:00.",
                     "need": "people"},
    "alert.delivered": {"alert": ALERT.hex(), "what": "Two pumps, four people, 5 hours.",
                        "pledge": PLEDGE.hex()},
}
MINIMAL: dict[str, dict[str, Any]] = {
    k: {f.name: b[f.name] for f in SCHEMAS[k] if f.required} for k, b in FULL.items()}


def test_every_alert_kind_has_examples() -> None:
    assert set(FULL) == set(ALERT_KINDS)
    assert ALERT_NEEDS == ("people", "material", "amplification")
    assert MINIMAL["alert.raise"] == drop(FULL["alert.raise"], "federation", "where")
    assert MINIMAL["alert.pledge"] == drop(FULL["alert.pledge"], "need")
    assert MINIMAL["alert.delivered"] == drop(FULL["alert.delivered"], "pledge")


@pytest.mark.parametrize("kind", sorted(FULL))
@pytest.mark.parametrize("bodies", [FULL, MINIMAL], ids=["full", "minimal"])
def test_valid_bodies_decode(kind: str, bodies: dict[str, dict[str, Any]]) -> None:
    schemas.decodes(kind, bodies[kind])


@pytest.mark.parametrize("kind", sorted(FULL))
def test_required_fields(kind: str) -> None:
    for err in schemas.each_field_required(kind, MINIMAL[kind]):
        assert kind in err.message


@pytest.mark.parametrize("kind", sorted(FULL))
def test_unknown_fields(kind: str) -> None:
    reject(kind, {**MINIMAL[kind], "extra": "x"}, "extra")
    reject(kind, {**MINIMAL[kind], "Drill": True}, "Drill")
    reject(kind, {**FULL[kind], "x" * 100: 1}, "x" * 32)  # the name is cut, not echoed


ID_FIELDS = [(k, f.name) for k, fields in SCHEMAS.items() for f in fields
             if f.type == "id" and k in ALERT_KINDS]


def test_id_fields_are_the_spec_ones() -> None:
    assert sorted(ID_FIELDS) == sorted([
        ("alert.raise", "federation"), ("alert.ack", "alert"), ("alert.pledge", "alert"),
        ("alert.delivered", "alert"), ("alert.delivered", "pledge")])


@pytest.mark.parametrize(("kind", "field"), ID_FIELDS)
def test_id_fields(kind: str, field: str) -> None:
    base = FULL[kind]
    for bad in ["", FED.hex().upper(), FED.hex()[:-1], "g" * 64, FED, 1, None]:
        reject(kind, {**base, field: bad}, field)
    absent = bytes([0xEE]) * 32
    err = reject(kind, {**base, field: absent.hex()}, field)
    assert "refs" in err.message
    assert decode_entry(raw(kind, {**base, field: absent.hex()}, sorted([*REFS, absent])))


BAD: list[tuple[str, str, list[Any]]] = [
    ("alert.raise", "what", ["", " x", "w" * 4001, "a\tb", "e\u0301", 1, None]),
    ("alert.raise", "needs", [[], "people", None, {}, ["people"] * 4,
                              ["people", "material", "amplification", "other"]]),
    ("alert.raise", "needs[1]", ["money", "People", "", None, 1, "people"]),
    ("alert.raise", "drill", [1, 0, "true", "false", None]),
    ("alert.raise", "where", ["", " x", "w" * 201, "a\nb", 1, None]),
    ("alert.pledge", "what", ["", "w" * 2001, "\x00", None]),
    ("alert.pledge", "need", ["money", "People", "", None, ["people"]]),
    ("alert.delivered", "what", ["", "w" * 2001, "a\x07b", None]),
]


def _cases() -> list[tuple[str, str, Any]]:
    return [(k, p, v) for k, p, values in BAD for v in values]


@pytest.mark.parametrize(("kind", "path", "value"), _cases(),
                         ids=[f"{k}:{p}:{i}" for i, (k, p, _) in enumerate(_cases())])
def test_bad_values_are_rejected_naming_the_field(kind: str, path: str, value: Any) -> None:
    err = reject(kind, put(FULL[kind], path, value), path)
    assert "www" not in err.message and "\x00" not in err.message  # no payload echoed


GOOD: list[tuple[str, str, list[Any]]] = [
    ("alert.raise", "needs", [[n] for n in ALERT_NEEDS] + [["amplification", "people"]]),
    ("alert.raise", "drill", [True, False]),
    ("alert.raise", "what", ["w" * 4000, "line one\nline two"]),
    ("alert.raise", "where", ["w" * 200]),
    ("alert.pledge", "need", list(ALERT_NEEDS)),
    ("alert.pledge", "what", ["w" * 2000]),
    ("alert.delivered", "what", ["w" * 2000, "a\nb"]),
]


@pytest.mark.parametrize(("kind", "path", "value"),
                         [(k, p, v) for k, p, vs in GOOD for v in vs])
def test_edge_values_are_accepted(kind: str, path: str, value: Any) -> None:
    body = put(FULL[kind], path, value)
    assert decode_entry(raw(kind, body)).body == body
