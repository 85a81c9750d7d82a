"""A co-op's economic entries as ValueFlows economic events, in JSON-LD.

ValueFlows (https://w3id.org/valueflows/ont/vf#) is the REA vocabulary other
co-operative software speaks; numbers and units follow the Ontology of units of
Measure (OM 2). Each applied entry of kind labor, material, energy or goods becomes
exactly one ``EconomicEvent``, whose ``@id`` is ``urn:coopledger:entry:<entry id hex>``
so that anyone can look up the signed entry behind it (``coop entries --json``).

How kinds map (docs/spreadsheets.md has the table for members):

=========================  ==========  ==============================================
entry                      action      provider → receiver
=========================  ==========  ==============================================
labor                      work        the member → the co-op; ``effortQuantity`` h
material in                transfer    (not recorded) → the co-op
material out               transfer    the co-op → (not recorded)
material used              consume     the co-op → the co-op
energy consumed/generated  consume /   the co-op → the co-op
                           produce
goods produced             produce     the co-op → the co-op
goods distributed          transfer    the co-op → an agent named by ``to``
=========================  ==========  ==============================================

Quantities stay exact: they are written as JSON *numbers* (ValueFlows' examples use
numbers for ``hasNumericalValue``), copied digit for digit from the entry's canonical
decimal text, never through a float. A reader that parses JSON numbers as doubles may
round a quantity of more than 15 significant digits; that is the reader's choice.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from coopledger.protocol import Entry

VF = "https://w3id.org/valueflows/ont/vf#"
OM = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
# Our own terms (paid, task, sequence number) have no ValueFlows equivalent; a URN
# namespace keeps them apart without claiming a web address we do not run.
COOP_TERMS = "urn:coopledger:term:"
KINDS = ("labor", "material", "energy", "goods")

CONTEXT: dict[str, Any] = {
    "@vocab": VF,
    "vf": VF,
    "om2": OM,
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "coop": COOP_TERMS,
    "action": {"@type": "@vocab"},
    "provider": {"@type": "@id"},
    "receiver": {"@type": "@id"},
    "resourceClassifiedAs": {"@type": "@id", "@container": "@set"},
    "hasNumericalValue": {"@id": "om2:hasNumericalValue"},
    "hasUnit": {"@id": "om2:hasUnit", "@type": "@id"},
}

# Units members write (case-insensitive) → OM 2 units. Anything else becomes
# urn:coopledger:unit:<the unit as written>, so no unit is guessed.
_OM_UNITS = {
    "h": "hour", "hour": "hour", "hours": "hour",
    "kwh": "kilowattHour",
    "kg": "kilogram", "g": "gram", "t": "tonne", "tonne": "tonne",
    "l": "litre", "litre": "litre", "liter": "litre",
    "m": "metre", "m2": "squareMetre", "m3": "cubicMetre",
    "item": "one", "items": "one", "piece": "one", "pieces": "one", "pcs": "one",
}


class Number(str):
    """An exact decimal to be written as a bare JSON number (see ``dumps``). Only text
    that is a JSON number is accepted, so ``dumps`` can never write broken JSON."""

    def __new__(cls, text: str) -> Number:
        if not _JSON_NUMBER.fullmatch(text):
            raise ValueError(f"not a JSON number: {text[:40]!r}")
        return super().__new__(cls, text)


_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def coop_iri(author: bytes) -> str:
    return f"urn:coopledger:coop:{author.hex()}"


def entry_iri(entry_id: bytes) -> str:
    return f"urn:coopledger:entry:{entry_id.hex()}"


def member_iri(author: bytes, member: str) -> str:
    return f"{coop_iri(author)}:member:{urllib.parse.quote(member, safe='')}"


def unit_iri(unit: str) -> str:
    om = _OM_UNITS.get(unit.lower())
    if om is not None:
        return f"om2:{om}"
    return f"urn:coopledger:unit:{urllib.parse.quote(unit, safe='')}"


def _measure(value: object, unit: str) -> dict[str, Any]:
    return {"hasNumericalValue": Number(str(value)), "hasUnit": unit_iri(unit)}


def _when(entry: Entry) -> dict[str, str]:
    date = entry.body.get("date")
    if isinstance(date, str):
        return {"@value": date, "@type": "xsd:date"}
    return {"@value": _iso(entry.ts), "@type": "xsd:dateTime"}


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(entry: Entry) -> dict[str, Any]:
    """The EconomicEvent of one entry of a kind in KINDS."""
    b: Mapping[str, object] = entry.body
    coop = coop_iri(entry.author)
    ev: dict[str, Any] = {"@id": entry_iri(entry.id), "@type": "EconomicEvent"}
    note = b.get("note")
    if entry.kind == "labor":
        ev.update(action="work", provider=member_iri(entry.author, str(b["member"])),
                  receiver=coop, effortQuantity=_measure(b["hours"], "hour"),
                  resourceClassifiedAs=[f"urn:coopledger:labor-category:{b['category']}"])
        ev["coop:task"] = b["task"]
        ev["coop:paid"] = bool(b.get("paid"))
        note = f"{b['task']}\n{note}" if note else b["task"]
    elif entry.kind == "material":
        direction = b["direction"]
        ev["action"] = "consume" if direction == "used" else "transfer"
        if direction in ("out", "used"):
            ev["provider"] = coop
        if direction in ("in", "used"):
            ev["receiver"] = coop
        ev["resourceConformsTo"] = {"@type": "ResourceSpecification", "name": b["item"]}
        ev["resourceQuantity"] = _measure(b["quantity"], str(b["unit"]))
        ev["coop:direction"] = direction
    elif entry.kind == "energy":
        ev.update(action="consume" if b["flow"] == "consumed" else "produce",
                  provider=coop, receiver=coop,
                  resourceConformsTo={"@type": "ResourceSpecification",
                                      "name": f"electricity ({b['source']})"},
                  resourceClassifiedAs=[f"urn:coopledger:energy-source:{b['source']}"],
                  resourceQuantity=_measure(b["kwh"], "kwh"))
    elif entry.kind == "goods":
        ev["action"] = "produce" if b["flow"] == "produced" else "transfer"
        ev["provider"] = coop
        ev["receiver"] = coop if b["flow"] == "produced" else {
            "@type": "Agent", "name": b["to"]}
        ev["resourceConformsTo"] = {"@type": "ResourceSpecification", "name": b["item"]}
        ev["resourceQuantity"] = _measure(b["quantity"], str(b["unit"]))
    else:
        raise ValueError(f"kind {entry.kind} has no ValueFlows event")  # caller's bug
    ev["hasPointInTime"] = _when(entry)
    if note:
        ev["note"] = note
    ev["coop:seq"] = entry.seq
    ev["coop:recorded"] = {"@value": _iso(entry.ts), "@type": "xsd:dateTime"}
    return ev


def document(author: bytes, name: str | None, entries: Iterable[Entry]) -> dict[str, Any]:
    """The JSON-LD document: the co-op, its members as people, and one EconomicEvent per
    entry of a kind in KINDS (others are skipped), in the order given."""
    events: list[dict[str, Any]] = []
    members: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.kind not in KINDS:
            continue
        if e.kind == "labor":
            m = str(e.body["member"])
            members.setdefault(m, {"@id": member_iri(e.author, m), "@type": "Person",
                                   "name": m})
        events.append(event(e))
    coop: dict[str, Any] = {"@id": coop_iri(author), "@type": "Organization"}
    if name is not None:
        coop["name"] = name
    return {"@context": CONTEXT,
            "@graph": [coop, *(members[m] for m in sorted(members)), *events]}


def dumps(value: Any, indent: int = 2) -> str:
    """JSON text of ``value`` in which every ``Number`` is a bare JSON number written
    exactly as its decimal text. Other values go through ``json.dumps``."""
    out: list[str] = []
    _write(value, out, indent, 0)
    return "".join(out) + "\n"


def _write(value: Any, out: list[str], indent: int, depth: int) -> None:
    pad = "\n" + " " * (indent * (depth + 1))
    end = "\n" + " " * (indent * depth)
    if isinstance(value, Number):
        out.append(str.__str__(value))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            out.append(("," if i else "") + pad + json.dumps(k, ensure_ascii=False) + ": ")
            _write(v, out, indent, depth + 1)
        out.append(end + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, v in enumerate(value):
            out.append(("," if i else "") + pad)
            _write(v, out, indent, depth + 1)
        out.append(end + "]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))
