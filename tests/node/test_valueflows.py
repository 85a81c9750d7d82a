"""ValueFlows JSON-LD export (node/_valueflows.py): one EconomicEvent per economic
entry, traceable to the signed entry, with exact quantities."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nodekit import KEYS, genesis

from coopledger.node._valueflows import VF, Number, document, dumps, unit_iri
from coopledger.protocol import Entry, Value, create_entry

KEY = KEYS[0]
AUTHOR = KEY.public.raw


def log(*bodies: tuple[str, dict[str, Value]]) -> list[Entry]:
    entries = [genesis(KEY, "Hillside Garden")]
    for kind, body in bodies:
        prev = entries[-1]
        entries.append(create_entry(KEY, seq=prev.seq + 1, prev=prev.id, ts=prev.ts + 1000,
                                    kind=kind, body=body))
    return entries


LABOR = ("labor", {"member": "ana", "hours": "2.5", "task": "weeding", "category": "care",
                   "date": "2026-11-03", "paid": True, "note": "beds 3-5"})
MATERIAL_IN = ("material", {"item": "compost", "quantity": "40", "unit": "kg",
                            "direction": "in"})
MATERIAL_OUT = ("material", {"item": "seedlings", "quantity": "12", "unit": "tray",
                             "direction": "out"})
MATERIAL_USED = ("material", {"item": "twine", "quantity": "0.75", "unit": "m",
                              "direction": "used", "date": "2026-11-04"})
ENERGY_USE = ("energy", {"kwh": "12.125", "flow": "consumed", "source": "grid"})
ENERGY_GEN = ("energy", {"kwh": "3.5", "flow": "generated", "source": "local"})
GOODS_MADE = ("goods", {"item": "tomatoes", "quantity": "25", "unit": "kg",
                        "flow": "produced"})
GOODS_GIVEN = ("goods", {"item": "tomatoes", "quantity": "10", "unit": "kg",
                         "flow": "distributed", "to": "food bank"})
ALL = (LABOR, MATERIAL_IN, MATERIAL_OUT, MATERIAL_USED, ENERGY_USE, ENERGY_GEN,
       GOODS_MADE, GOODS_GIVEN)


def events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in doc["@graph"] if n["@type"] == "EconomicEvent"]


def parsed(entries: list[Entry]) -> dict[str, Any]:
    return json.loads(dumps(document(AUTHOR, "Hillside Garden", entries)),
                      parse_float=Decimal)


def test_every_economic_entry_becomes_exactly_one_event_traceable_to_it() -> None:
    entries = log(*ALL, ("zz.future", {"anything": "x"}))
    doc = parsed(entries)
    evs = events(doc)
    economic = [e for e in entries if e.kind in ("labor", "material", "energy", "goods")]
    assert [ev["@id"] for ev in evs] == [f"urn:coopledger:entry:{e.id.hex()}"
                                         for e in economic]
    assert [ev["coop:seq"] for ev in evs] == [e.seq for e in economic]
    assert doc["@context"]["@vocab"] == VF == "https://w3id.org/valueflows/ont/vf#"


def test_actions_providers_and_receivers() -> None:
    coop = f"urn:coopledger:coop:{AUTHOR.hex()}"
    evs = events(parsed(log(*ALL)))
    got = [(ev["action"], ev.get("provider"), ev.get("receiver")) for ev in evs]
    assert got == [
        ("work", f"{coop}:member:ana", coop),
        ("transfer", None, coop),
        ("transfer", coop, None),
        ("consume", coop, coop),
        ("consume", coop, coop),
        ("produce", coop, coop),
        ("produce", coop, coop),
        ("transfer", coop, {"@type": "Agent", "name": "food bank"}),
    ]


def test_labor_is_work_with_effort_in_hours() -> None:
    (ev,) = events(parsed(log(LABOR)))
    assert ev["effortQuantity"] == {"hasNumericalValue": Decimal("2.5"), "hasUnit": "om2:hour"}
    assert "resourceQuantity" not in ev
    assert ev["resourceClassifiedAs"] == ["urn:coopledger:labor-category:care"]
    assert ev["hasPointInTime"] == {"@value": "2026-11-03", "@type": "xsd:date"}
    assert ev["note"] == "weeding\nbeds 3-5"
    assert ev["coop:paid"] is True


def test_resources_units_and_times() -> None:
    entries = log(MATERIAL_IN, MATERIAL_OUT, ENERGY_USE)
    ev_in, ev_out, ev_energy = events(parsed(entries))
    assert ev_in["resourceQuantity"] == {"hasNumericalValue": Decimal("40"),
                                         "hasUnit": "om2:kilogram"}
    assert ev_in["resourceConformsTo"] == {"@type": "ResourceSpecification",
                                           "name": "compost"}
    assert ev_out["resourceQuantity"]["hasUnit"] == "urn:coopledger:unit:tray"
    assert ev_energy["resourceQuantity"] == {"hasNumericalValue": Decimal("12.125"),
                                             "hasUnit": "om2:kilowattHour"}
    # Without a body date, the event's time is the entry's timestamp.
    assert ev_energy["hasPointInTime"]["@type"] == "xsd:dateTime"
    assert ev_energy["hasPointInTime"]["@value"].endswith("Z")


def test_units_are_mapped_or_kept_as_written() -> None:
    assert unit_iri("KWh") == "om2:kilowattHour"
    assert unit_iri("items") == "om2:one"
    assert unit_iri("loaf of bread") == "urn:coopledger:unit:loaf%20of%20bread"


def test_quantities_are_json_numbers_written_digit_for_digit() -> None:
    big = "123456789012345678901.123456789"  # 30 digits: a float would round it
    text = dumps(document(AUTHOR, "G", log(("goods", {
        "item": "seeds", "quantity": big, "unit": "item", "flow": "produced"}))))
    assert f'"hasNumericalValue": {big}' in text
    (ev,) = events(json.loads(text, parse_float=Decimal))
    assert ev["resourceQuantity"]["hasNumericalValue"] == Decimal(big)


def test_text_from_entries_stays_text() -> None:
    doc = parsed(log(("labor", {**LABOR[1], "member": 'a "quoted" \\ name',
                                "task": "</script><b>"})))
    assert events(doc)[0]["coop:task"] == "</script><b>"
    people = [n for n in doc["@graph"] if n["@type"] == "Person"]
    assert people[0]["name"] == 'a "quoted" \\ name'


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
              st.decimals(allow_nan=False, allow_infinity=False, places=3).map(
                  lambda d: Number(format(d.normalize(), "f")))),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20)


def _plain(v: Any) -> Any:
    if isinstance(v, Number):
        return Decimal(v)
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@settings(max_examples=100, deadline=None)
@given(_json)
def test_dumps_is_json_and_numbers_are_exact(value: Any) -> None:
    assert json.loads(dumps(value), parse_float=Decimal,
                      parse_int=Decimal) == _as_decimals(_plain(value))


def _as_decimals(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str | Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, list):
        return [_as_decimals(x) for x in v]
    return {k: _as_decimals(x) for k, x in v.items()}


def test_number_refuses_text_that_is_not_a_json_number() -> None:
    for bad in ("1,5", ".5", "01", "NaN", "1.", "", "1 ", "\"1\""):
        with pytest.raises(ValueError):
            Number(bad)
    assert Number("-0.25") == "-0.25"
