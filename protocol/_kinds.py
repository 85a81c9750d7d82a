"""Entry kinds and their body schemas.

A kind is a short dotted name (``labor``, ``transfer.offer``). The kinds this version
knows have strict schemas: every field is checked on decode, unknown fields are
rejected, and an entry that fails is never stored. Changing a known kind's schema
therefore means a new kind name. Kinds this version does not know are kept and relayed
(their body must still be a map) but not folded: a newer node's entries survive
passing through an older one.

This module is the table of the known kinds (SCHEMAS: each kind's fields and their
types), the enums its fields choose from, and the rules across the fields of one body.
What each field type accepts is protocol/_fields.py's; its names (Field, the bounds, the
enums a compound type checks) are re-exported here, so ``_kinds`` stays the one place
to import the schemas' names from.

The kinds of SPEC §12 (federations and the co-op economy) add field types: entry ids
(which must also be listed in the entry's refs, so the fold applies an entry only after
the entry it names), co-op keys, bounded integers, months, shares, unit names, in-kind
item lists and a federation's rules map. A rejection names the field, nested fields by
their path (``rules.units[2].decimals``, ``items[0].quantity``).

One rule is not here: a ``checkpoint.cosign`` embeds the checkpoint entry it cosigns,
and opening that entry is protocol/_entry.py's work. _entry imports this module (to
check the body of each entry it decodes), so the dependency runs one way only: _entry
registers its rule with ``register_body_check`` when it loads (SPEC §14.3).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import cast

from coopledger import crypto

from ._codec import Value
from ._errors import BadBody, BadEnvelope
from ._fields import ALERT_NEEDS as ALERT_NEEDS
from ._fields import CREDIT_UNIT_KINDS as CREDIT_UNIT_KINDS
from ._fields import MANDATE_ACTIONS as MANDATE_ACTIONS
from ._fields import MAX_CHECKS as MAX_CHECKS
from ._fields import MAX_DECIMALS as MAX_DECIMALS
from ._fields import MAX_EMBEDDED_ENTRY as MAX_EMBEDDED_ENTRY
from ._fields import MAX_FINDINGS as MAX_FINDINGS
from ._fields import MAX_ITEMS as MAX_ITEMS
from ._fields import MAX_NAMES as MAX_NAMES
from ._fields import MAX_POOL as MAX_POOL
from ._fields import MAX_SAFE_INT as MAX_SAFE_INT
from ._fields import MAX_UNITS as MAX_UNITS
from ._fields import METHODS as METHODS
from ._fields import UNIT_KINDS as UNIT_KINDS
from ._fields import UNIT_NAME_PATTERN as UNIT_NAME_PATTERN
from ._fields import Field as Field
from ._fields import check_field

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}")
MAX_KIND_LEN = 64

LABOR_CATEGORIES = ("production", "care", "facilitation", "maintenance", "learning", "other")
MATERIAL_DIRECTIONS = ("in", "out", "used")
ENERGY_FLOWS = ("consumed", "generated")
ENERGY_SOURCES = ("local", "grid")
GOODS_FLOWS = ("produced", "distributed")

# The enums of SPEC §12. They are the schema's, so they live here (UNIT_KINDS and
# CREDIT_UNIT_KINDS, which the rules field type checks, in _fields);
# protocol/commons/_economy.py declares the same tuples under the same names (it may
# import them from here; _kinds imports nothing of the commons). A test checks
# that both modules agree.
NEED_CATEGORIES = ("food", "repair", "energy", "housing", "care", "tools", "other")
SURPLUS_WHAT = ("goods", "tool", "labour")
GRANT_OUTCOMES = ("succeeded", "failed", "mixed", "abandoned")
NEED_WHERE = ("inside", "outside")

# The enums of SPEC §13 (self-government); MANDATE_ACTIONS and METHODS are checked by
# the actions and policy field types (_fields).
KEY_POWERS = ("node", "recovery", "delegate")
REVOKE_REASONS = ("rotated", "lost", "compromised", "left", "other")
VERDICTS = ("kept", "exceeded")
LOTTERY_MODES = ("draw", "groups")
STANCES = ("agree", "disagree", "block", "abstain")
OUTCOMES = ("adopted", "rejected", "withdrawn")
# key.add's proof: the added key signs this context followed by the identity's 32 bytes,
# so a key joins an identity only with its holder's consent (SPEC §13).
KEY_PROOF_CONTEXT = b"coopledger/key/v1\x00"

# The enums and bounds of SPEC §14 (audit, misconduct, solidarity alerts) are those of
# the field types (_fields): ALERT_NEEDS, MAX_CHECKS, MAX_FINDINGS, MAX_EMBEDDED_ENTRY.


def key_proof_message(identity: bytes) -> bytes:
    """What a key signs to consent to joining ``identity`` (key.add's ``proof``)."""
    return KEY_PROOF_CONTEXT + identity


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


# A rule across the fields of one body, run once every field has passed.
BodyCheck = Callable[[Mapping[str, object]], None]


def validate_body(kind: str, body: Mapping[str, object],
                  refs: Collection[bytes] = ()) -> None:
    """Check ``body`` against the schema of ``kind``; ``refs`` are the entry's refs
    (every entry id a body names must be among them).

    Raises BadBody naming the field. Unknown kinds are not checked beyond being a map.
    Cross-field rules live here too (goods distributed must say to whom; an offer's
    amount and unit come together, and it moves an amount or items or both), except
    checkpoint.cosign's, which protocol/_entry.py registers (see register_body_check).
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
        check_field(f, body[f.name], refs)
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
    elif kind in _BODY_CHECKS:
        _BODY_CHECKS[kind](body)
    elif kind in _REGISTERED_KINDS:  # pragma: no cover - the package imports _entry
        raise AssertionError(f"no rule registered for kind {kind}: protocol/_entry.py "
                             "registers it when it is imported")


def register_body_check(kind: str, check: BodyCheck) -> None:
    """Install the cross-field rule of ``kind``, one of the kinds whose rule needs a
    module that imports this one (checkpoint.cosign's: protocol/_entry.py, which opens
    the embedded checkpoint entry). Each is registered once."""
    if kind not in _REGISTERED_KINDS or kind in _BODY_CHECKS:
        raise AssertionError(f"the rule of kind {kind} is not registered from outside, "
                             "or is registered already")
    _BODY_CHECKS[kind] = check


def _check_key_add(body: Mapping[str, object]) -> None:
    if body["key"] == body["identity"]:
        raise BadBody("a co-op's root key is already its key", field="key")
    # The fields are checked hex above; the added key's consent must verify.
    key = bytes.fromhex(str(body["key"]))
    proof = bytes.fromhex(str(body["proof"]))
    if not crypto.verify(key, proof, key_proof_message(bytes.fromhex(str(body["identity"])))):
        raise BadBody("does not verify: the added key did not sign its consent to join "
                      "this identity", field="proof")


def _check_window(low: str, high: str) -> BodyCheck:
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


def _check_proposal(body: Mapping[str, object]) -> None:
    if ("cascade" in body) != ("group" in body):
        raise BadBody("a cascade draft names both its cascade and its group",
                      field="group" if "cascade" in body else "cascade")
    if "options" in body and len(cast(list[object], body["options"])) < 2:
        raise BadBody("a choice needs at least two options", field="options")


_BODY_CHECKS: dict[str, BodyCheck] = {
    "key.add": _check_key_add,
    "mandate.issue": _check_window("start", "expires"),
    "role.assign": _check_window("from", "until"),
    "lottery.announce": _check_lottery,
    "proposal.create": _check_proposal,
}
# The kinds whose rule another module registers (register_body_check).
_REGISTERED_KINDS = frozenset((COSIGN_KIND,))


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
