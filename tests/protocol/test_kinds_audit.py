"""Body schemas of checkpoints, cosigns, audit and misconduct (SPEC §14.1).

Every kind has a full and a minimal example that decode; every required field is
required, unknown fields are refused, and every field's bad values are rejected naming
the field (nested fields by their path: ``checks[1].ok``, ``findings[0]``). Then the
cross-field rule of ``checkpoint.cosign``: its ``entry`` is a valid checkpoint entry
whose id is ``checkpoint``.
"""

from __future__ import annotations

from typing import Any

import pytest
from schemakit import Schemas, put

from coopledger.crypto import SecretKey
from coopledger.protocol import SIGNATURE_CONTEXT, create_entry, decode_entry, encode, entry_id
from coopledger.protocol._kinds import (
    AUDIT_KINDS,
    CHECKPOINT_KIND,
    MAX_CHECKS,
    MAX_EMBEDDED_ENTRY,
    MAX_FINDINGS,
    SCHEMAS,
)

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
LOG = SecretKey(bytes([0x61]) * 32)             # the audited co-op's key
H1 = bytes([1]) * 32
ROOT = "ab" * 32
# A real checkpoint entry of LOG's log (size 2 at seq 3), as a witness embeds it.
CP = create_entry(LOG, seq=3, prev=bytes([7]) * 32, ts=900, kind=CHECKPOINT_KIND,
                  body={"size": 2, "root": ROOT})
NOT_CP = create_entry(LOG, seq=3, prev=bytes([7]) * 32, ts=900, kind="labor.note",
                      body={"text": "not a checkpoint"})
FED, LOTTERY, CIRCLE, COMPLAINT, FINDING = (bytes([i]) * 32 for i in range(0xC1, 0xC6))
REFS = sorted([FED, LOTTERY, CIRCLE, COMPLAINT, FINDING, CP.id, NOT_CP.id])
raw, reject = (schemas := Schemas(REFS)).raw, schemas.reject
COOP = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
MAX_MS = 2**53 - 1
T = 1_767_225_600_000
CHECKS = [{"name": "chains-and-signatures", "ok": True, "detail": "every entry checks"},
          {"name": "balances-reconcile", "ok": False}]

FULL: dict[str, dict[str, Any]] = {
    "checkpoint": {"size": 41, "root": ROOT},
    "checkpoint.cosign": {"checkpoint": CP.id.hex(), "entry": CP.raw},
    "audit.circle": {"federation": FED.hex(), "coop": COOP, "period": "2026-Q4",
                     "lottery": LOTTERY.hex(), "note": "the first circle\nof the year"},
    "audit.report": {"circle": CIRCLE.hex(), "checkpoint": CP.id.hex(), "checks": CHECKS,
                     "findings": ["The fund report is late.", "Line one.\nLine two."],
                     "summary": "The books reconcile.\nOne report is late."},
    "complaint": {"federation": FED.hex(), "against": COOP,
                  "text": "Our ladder was not returned.\nIt has been three months."},
    "finding": {"federation": FED.hex(), "about": COOP, "text": "The ladder was kept.",
                "complaint": COMPLAINT.hex(), "circle": CIRCLE.hex()},
    "sanction": {"federation": FED.hex(), "against": COOP, "finding": FINDING.hex(),
                 "measure": "No tool loans for 30 days.", "expires": T,
                 "note": "agreed at the assembly"},
}
MINIMAL: dict[str, dict[str, Any]] = {
    k: {f.name: b[f.name] for f in SCHEMAS[k] if f.required} for k, b in FULL.items()}


# --- the examples ---------------------------------------------------------------------------


def test_every_audit_kind_has_examples() -> None:
    assert set(FULL) == {*AUDIT_KINDS, CHECKPOINT_KIND}


@pytest.mark.parametrize("kind", sorted(FULL))
@pytest.mark.parametrize("bodies", [FULL, MINIMAL], ids=["full", "minimal"])
def test_valid_bodies_decode(kind: str, bodies: dict[str, dict[str, Any]]) -> None:
    schemas.decodes(kind, bodies[kind])


@pytest.mark.parametrize("kind", sorted(FULL))
def test_required_fields(kind: str) -> None:
    schemas.each_field_required(kind, MINIMAL[kind])


@pytest.mark.parametrize("kind", sorted(FULL))
def test_unknown_fields(kind: str) -> None:
    reject(kind, {**MINIMAL[kind], "extra": "x"}, "extra")
    reject(kind, {**MINIMAL[kind], "Note": "x"}, "Note")


# --- id fields -------------------------------------------------------------------------------

ID_FIELDS = [(k, f.name) for k, fields in SCHEMAS.items() for f in fields
             if f.type == "id" and k in FULL]


def test_id_fields_are_the_spec_ones() -> None:
    assert sorted(ID_FIELDS) == sorted([
        ("checkpoint.cosign", "checkpoint"), ("audit.circle", "federation"),
        ("audit.circle", "lottery"), ("audit.report", "circle"),
        ("audit.report", "checkpoint"), ("complaint", "federation"),
        ("finding", "federation"), ("finding", "complaint"), ("finding", "circle"),
        ("sanction", "federation"), ("sanction", "finding")])


@pytest.mark.parametrize(("kind", "field"), [x for x in ID_FIELDS
                                             if x != ("checkpoint.cosign", "checkpoint")])
def test_id_fields(kind: str, field: str) -> None:
    base = FULL[kind]
    for bad in ["", FED.hex().upper(), FED.hex()[:-1], "g" * 64, FED, 1, None]:
        reject(kind, {**base, field: bad}, field)
    absent = bytes([0xEE]) * 32
    err = reject(kind, {**base, field: absent.hex()}, field)
    assert "refs" in err.message
    assert decode_entry(raw(kind, {**base, field: absent.hex()}, sorted([*REFS, absent])))


# --- every field, table-driven -----------------------------------------------------------------

MS = [-1, MAX_MS + 1, True, "1767225600000", None]
QUARTERS = ["2026-Q0", "2026-Q5", "2026-q4", "2026Q4", "26-Q4", "2026-Q4 ", "0000-Q1",
            "2026-11", 2026, None]

BAD: list[tuple[str, str, list[Any]]] = [
    ("checkpoint", "size", MS),
    ("checkpoint", "root", ["", ROOT.upper(), ROOT[:-1], ROOT + "0", "g" * 64,
                            bytes.fromhex(ROOT), None]),
    ("checkpoint.cosign", "entry", ["", CP.raw.hex(), b"", b"x" * (MAX_EMBEDDED_ENTRY + 1),
                                    None, 1]),
    ("audit.circle", "coop", ["", COOP.upper(), COOP[:-1], bytes.fromhex(COOP), None]),
    ("audit.circle", "period", QUARTERS),
    ("audit.circle", "note", ["", "n" * 2001, "a\tb"]),
    ("audit.report", "checks", [None, [], {}, "ok", [CHECKS[0]] * 0,
                                [{"name": f"c{i}", "ok": True}
                                 for i in range(MAX_CHECKS + 1)]]),
    ("audit.report", "checks[1]", [None, "balances", [], {"name": "x"}, {"ok": True},
                                   {**CHECKS[1], "extra": 1}]),
    ("audit.report", "checks[1].name", ["", "n" * 101, "a\nb", 1, None,
                                        "chains-and-signatures"]),
    ("audit.report", "checks[1].ok", ["true", 1, 0, None]),
    ("audit.report", "checks[0].detail", ["", "d" * 2001, "a\tb", 1, None]),
    ("audit.report", "findings", [None, [], "late", [f"f{i}" for i in range(MAX_FINDINGS + 1)]]),
    ("audit.report", "findings[1]", ["", " x", "f" * 2001, "a\tb", 1, None]),
    ("audit.report", "summary", ["", "s" * 4001, "a\tb", 1, None]),
    ("complaint", "against", ["", COOP.upper(), None]),
    ("complaint", "text", ["", "t" * 8001, "a\tb", None]),
    ("finding", "about", ["x", None]),
    ("finding", "text", ["", "t" * 8001]),
    ("sanction", "against", ["", None]),
    ("sanction", "measure", ["", "m" * 2001, "a\tb", None]),
    ("sanction", "expires", MS),
    ("sanction", "note", ["", "n" * 2001]),
]


def _cases() -> list[tuple[str, str, Any]]:
    return [(k, p, v) for k, p, values in BAD for v in values]


def _expected_field(kind: str, path: str, value: Any) -> str:
    """The field a rejection names: the path itself, except where a container is fine
    as a whole and the fault is a key inside it (missing or unknown)."""
    if path == "checks[1]" and isinstance(value, dict):
        if "name" not in value:
            return "checks[1].name"
        if "ok" not in value:
            return "checks[1].ok"
        return "checks[1].extra"
    return path


@pytest.mark.parametrize(("kind", "path", "value"), _cases(),
                         ids=[f"{k}:{p}:{i}" for i, (k, p, _) in enumerate(_cases())])
def test_bad_values_are_rejected_naming_the_field(kind: str, path: str, value: Any) -> None:
    reject(kind, put(FULL[kind], path, value), _expected_field(kind, path, value))


GOOD: list[tuple[str, str, list[Any]]] = [
    ("checkpoint", "size", [0, MAX_MS]),
    ("audit.circle", "period", ["0001-Q1", "9999-Q4", "2026-Q1"]),
    ("audit.report", "checks", [[{"name": "x", "ok": False}],
                                [{"name": f"c{i}", "ok": True} for i in range(MAX_CHECKS)]]),
    ("audit.report", "findings", [["f"], [f"f{i}" for i in range(MAX_FINDINGS)]]),
    ("audit.report", "checks[0].detail", ["d" * 2000, "line\nline"]),
    ("audit.report", "summary", ["s" * 4000]),
    ("complaint", "text", ["t" * 8000]),
    ("sanction", "expires", [0, MAX_MS]),
]


@pytest.mark.parametrize(("kind", "path", "value"),
                         [(k, p, v) for k, p, vs in GOOD for v in vs])
def test_edge_values_are_accepted(kind: str, path: str, value: Any) -> None:
    body = put(FULL[kind], path, value)
    assert decode_entry(raw(kind, body)).body == body


def test_two_checks_of_one_name_are_refused() -> None:
    err = reject("audit.report", put(FULL["audit.report"], "checks[1].name",
                                     CHECKS[0]["name"]), "checks[1].name")
    assert "already listed" in err.message


# --- the embedded checkpoint ----------------------------------------------------------------


def test_a_cosign_embeds_the_checkpoint_it_names() -> None:
    body = FULL["checkpoint.cosign"]
    # The bytes of another entry (not a checkpoint), named by its own id.
    err = reject("checkpoint.cosign", {"checkpoint": NOT_CP.id.hex(), "entry": NOT_CP.raw},
                 "entry")
    assert "checkpoint entry" in err.message
    # A checkpoint, but not the one named.
    other = create_entry(LOG, seq=4, prev=CP.id, ts=901, kind=CHECKPOINT_KIND,
                         body={"size": 3, "root": ROOT})
    err = reject("checkpoint.cosign", put(body, "entry", other.raw), "entry")
    assert "named by checkpoint" in err.message
    # Not an entry at all, or one whose signature was tampered with.
    err = reject("checkpoint.cosign", put(body, "entry", encode({"kind": "checkpoint"})),
                 "entry")
    assert "not a valid entry" in err.message
    tampered = bytearray(CP.raw)
    tampered[-1] ^= 1
    err = reject("checkpoint.cosign", put(body, "entry", bytes(tampered)), "entry")
    assert "not a valid entry" in err.message
    # A signed checkpoint entry whose own body breaks the checkpoint schema.
    env = encode({"v": 1, "author": LOG.public.raw, "seq": 3, "prev": bytes([7]) * 32,
                  "ts": 900, "kind": CHECKPOINT_KIND, "refs": [],
                  "body": {"size": -1, "root": ROOT}})
    inner = encode([env, LOG.sign(SIGNATURE_CONTEXT + env)])
    named = entry_id(inner)
    err = reject("checkpoint.cosign", {"checkpoint": named.hex(), "entry": inner}, "entry",
                 sorted([*REFS, named]))
    assert "invalid:body" in err.message
