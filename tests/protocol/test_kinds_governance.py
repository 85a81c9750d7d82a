"""Body schemas of the self-government kinds (SPEC §13.1, §13.8).

Every kind has a full and a minimal example that decode; every required field is
required, unknown fields are refused, and every field's bad values are rejected naming
the field (nested fields by their path: ``pool[0].coop``, ``actions[1].max``,
``policy.method``). Then the cross-field rules: key.add's proof (the added key's
consent, for this identity), a key is not its own identity's key, actions' unit and
maximum, a cascade draft's group, a lottery split into groups, windows that end after
they start, a choice of at least two options.
"""

from __future__ import annotations

from typing import Any

import pytest
from schemakit import Schemas, drop, put

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    decode_entry,
)
from coopledger.protocol._kinds import (
    GOVERNANCE_KINDS,
    KEY_KINDS,
    KEY_PROOF_CONTEXT,
    SCHEMAS,
    key_proof_message,
)

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
NEW = SecretKey(bytes([0x42]) * 32)           # the key being added
H1 = bytes([1]) * 32
FED, MANDATE, ASSIGN, LOTTERY, PROPOSAL, CASCADE = (bytes([i]) * 32 for i in range(0xB1, 0xB7))
REFS = sorted([FED, MANDATE, ASSIGN, LOTTERY, PROPOSAL, CASCADE])
raw, reject = (schemas := Schemas(REFS)).raw, schemas.reject
IDENTITY = KEY.public.raw.hex()
COOP = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
OTHER = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"
MAX_MS = 2**53 - 1
T = 1_767_225_600_000
PROOF = NEW.sign(key_proof_message(KEY.public.raw)).hex()
POLICY = {"max_mandate_days": 365, "max_consecutive_terms": 2, "method": "consent"}
POOL = [{"name": "Ana", "coop": COOP}, {"name": "Bo", "coop": OTHER},
        {"name": "Cy", "coop": COOP}]
ACTIONS = [{"do": "vote", "proposal": PROPOSAL.hex()},
           {"do": "transfer", "unit": "hour", "max": "10"},
           {"do": "allocate"}]

FULL: dict[str, dict[str, Any]] = {
    "key.add": {"identity": IDENTITY, "key": NEW.public.raw.hex(), "power": "node",
                "label": "Ana's laptop", "proof": PROOF, "note": "the new office\nlaptop"},
    "key.revoke": {"identity": IDENTITY, "key": COOP, "reason": "compromised",
                   "through": 41, "note": "stolen on the train"},
    "policy.set": {"federation": FED.hex(), "policy": POLICY, "note": "as agreed"},
    "mandate.issue": {"federation": FED.hex(), "title": "Delegate to the assembly",
                      "delegate": "Ana", "key": COOP, "scope": "Vote on the budget.\nNo more.",
                      "actions": ACTIONS, "start": T, "expires": T + 86_400_000,
                      "sunset": "Hand the notes to the next delegate.", "note": "n"},
    "mandate.renew": {"mandate": MANDATE.hex(), "expires": T + 2 * 86_400_000, "note": "n"},
    "mandate.recall": {"mandate": MANDATE.hex(), "reason": "She voted against the mandate."},
    "mandate.report": {"mandate": MANDATE.hex(), "report": "I voted yes.\nThe budget passed."},
    "mandate.verdict": {"mandate": MANDATE.hex(), "verdict": "kept", "note": "thanks"},
    "role.assign": {"federation": FED.hex(), "role": "treasurer", "holder": "Bo",
                    "key": COOP, "from": T, "until": T + 1, "note": "n"},
    "role.renew": {"assignment": ASSIGN.hex(), "until": T + 5, "note": "n"},
    "role.end": {"assignment": ASSIGN.hex(), "note": "moved away"},
    "lottery.announce": {"federation": FED.hex(), "purpose": "facilitation",
                         "pool": POOL, "seats": 1, "beacons": 3, "mode": "draw",
                         "roles": ["facilitator", "process guardian"],
                         "exclude": [OTHER], "distinct_coops": True, "note": "n"},
    "lottery.beacon": {"lottery": LOTTERY.hex()},
    "proposal.create": {"federation": FED.hex(), "title": "Shared van",
                        "text": "Buy a van.\nShare it.", "options": ["yes", "no", "later"],
                        "cascade": CASCADE.hex(), "group": 2, "note": "n"},
    "proposal.amend": {"proposal": PROPOSAL.hex(), "text": "Buy an electric van.",
                       "note": "n"},
    "position": {"proposal": PROPOSAL.hex(), "stance": "block", "member": "Ana",
                 "ranking": [2, 0, 1], "reason": "Not before the roof is fixed."},
    "decision": {"proposal": PROPOSAL.hex(), "outcome": "adopted",
                 "summary": "We buy the van in spring.", "option": 0, "note": "n"},
    "minutes": {"federation": FED.hex(), "date": "2026-11-23", "title": "Assembly",
                "text": "Present: 12.\nDecided: the van."},
}
MINIMAL: dict[str, dict[str, Any]] = {
    k: {f.name: b[f.name] for f in SCHEMAS[k] if f.required} for k, b in FULL.items()}


# --- the examples ---------------------------------------------------------------------------


def test_every_governance_kind_has_examples() -> None:
    assert set(FULL) == set(GOVERNANCE_KINDS)
    assert KEY_KINDS <= GOVERNANCE_KINDS
    assert KEY_PROOF_CONTEXT == b"coopledger/key/v1\x00"
    assert key_proof_message(b"\x01" * 32) == b"coopledger/key/v1\x00" + b"\x01" * 32


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
             if f.type == "id" and k in GOVERNANCE_KINDS]


def test_id_fields_are_the_spec_ones() -> None:
    bodies = ("policy.set", "mandate.issue", "role.assign", "lottery.announce",
              "proposal.create", "minutes")
    assert sorted(ID_FIELDS) == sorted(
        [(k, "federation") for k in bodies]
        + [(k, "mandate") for k in ("mandate.renew", "mandate.recall", "mandate.report",
                                    "mandate.verdict")]
        + [("role.renew", "assignment"), ("role.end", "assignment"),
           ("lottery.beacon", "lottery"), ("proposal.create", "cascade"),
           ("proposal.amend", "proposal"), ("position", "proposal"),
           ("decision", "proposal")])


@pytest.mark.parametrize(("kind", "field"), ID_FIELDS)
def test_id_fields(kind: str, field: str) -> None:
    base = FULL[kind]
    for bad in ["", FED.hex().upper(), FED.hex()[:-1], "g" * 64, FED, 1, None]:
        reject(kind, {**base, field: bad}, field)
    absent = bytes([0xEE]) * 32
    err = reject(kind, {**base, field: absent.hex()}, field)
    assert "refs" in err.message
    assert decode_entry(raw(kind, {**base, field: absent.hex()}, sorted([*REFS, absent])))


# --- every field, table-driven -----------------------------------------------------------------

TEXT_100 = ["", " x", "x" * 101, "a\nb", "e\u0301", 1, None]
MS = [-1, MAX_MS + 1, True, "1767225600000", None]  # floats: refused by the codec

BAD: list[tuple[str, str, list[Any]]] = [
    # key.add / key.revoke
    ("key.add", "identity", ["", IDENTITY.upper(), IDENTITY[:-1], bytes(32), None]),
    ("key.add", "key", [COOP.upper(), COOP + "0", 5]),
    ("key.add", "power", ["root", "Node", "", None]),
    ("key.add", "label", TEXT_100),
    ("key.add", "proof", ["", PROOF.upper(), PROOF[:-1], PROOF + "0", "x" * 128,
                          bytes.fromhex(PROOF), None]),
    ("key.add", "note", ["n" * 2001, "\n", "a\tb"]),
    ("key.revoke", "identity", ["x" * 64]),
    ("key.revoke", "key", ["", None]),
    ("key.revoke", "reason", ["stolen", "Lost", "", None]),
    ("key.revoke", "through", [-1, MAX_MS + 1, True, "4", None]),
    # policy
    ("policy.set", "policy", [None, [], "consent", {}]),
    ("policy.set", "policy.max_mandate_days", [0, 1831, "365", True, None]),
    ("policy.set", "policy.max_consecutive_terms", [-1, 21, "2", False]),
    ("policy.set", "policy.method", ["vote", "Consent", "", None]),
    # mandates
    ("mandate.issue", "title", TEXT_100),
    ("mandate.issue", "delegate", TEXT_100),
    ("mandate.issue", "key", [COOP[:62], "", 1]),
    ("mandate.issue", "scope", ["", "s" * 4001, "\ttab"]),
    ("mandate.issue", "sunset", ["", "s" * 2001]),
    ("mandate.issue", "start", MS),
    ("mandate.issue", "expires", MS),
    ("mandate.issue", "actions", [None, {}, "vote", [ACTIONS[2]] * 17]),
    ("mandate.issue", "actions[0]", ["vote", None, [], {"proposal": PROPOSAL.hex()}]),
    ("mandate.issue", "actions[2].do", ["sign", "Vote", "", None]),
    ("mandate.issue", "actions[0].proposal", ["", "g" * 64, 1]),
    ("mandate.issue", "actions[1].unit", ["Hour", "", "h" * 33, 1]),
    ("mandate.issue", "actions[1].max", ["0", "-1", "1.50", 10, ""]),
    ("mandate.renew", "expires", MS),
    ("mandate.recall", "reason", ["", "r" * 2001]),
    ("mandate.report", "report", ["", "r" * 8001]),
    ("mandate.verdict", "verdict", ["good", "Kept", "", None]),
    # roles
    ("role.assign", "role", TEXT_100),
    ("role.assign", "holder", TEXT_100),
    ("role.assign", "key", ["x"]),
    ("role.assign", "from", MS),
    ("role.assign", "until", MS),
    ("role.renew", "until", MS),
    # lotteries
    ("lottery.announce", "purpose", ["", "p" * 201, "a\nb"]),
    ("lottery.announce", "pool", [None, [], {}, "Ana",
                                  [{"name": f"n{i}", "coop": COOP} for i in range(501)]]),
    ("lottery.announce", "pool[1]", ["Bo", None, {"name": "Bo"}, {**POOL[1], "x": 1}]),
    ("lottery.announce", "pool[1].name", ["", "n" * 101, 1]),
    ("lottery.announce", "pool[1].coop", [OTHER.upper(), "", None]),
    ("lottery.announce", "seats", [0, 101, "1", True, None]),
    ("lottery.announce", "beacons", [0, 17, "3", None]),
    ("lottery.announce", "mode", ["triads", "Draw", "", None]),
    ("lottery.announce", "roles", [[], "facilitator", [f"r{i}" for i in range(21)], None]),
    ("lottery.announce", "roles[1]", ["", "r" * 101, 1, "facilitator"]),
    ("lottery.announce", "exclude", [[], OTHER, None,
                                     [f"{i:064x}" for i in range(101)]]),
    ("lottery.announce", "exclude[0]", [OTHER.upper(), "", 1]),
    ("lottery.announce", "distinct_coops", [1, "true", None]),
    # proposals
    ("proposal.create", "title", ["", "t" * 201]),
    ("proposal.create", "text", ["", "t" * 16001]),
    ("proposal.create", "options", [[], "yes", None, [f"o{i}" for i in range(21)]]),
    ("proposal.create", "options[1]", ["", "o" * 101, "yes", 2]),
    ("proposal.create", "group", [-1, 500, "2", True, None]),
    ("proposal.amend", "text", ["", "t" * 16001]),
    ("position", "stance", ["yes", "Agree", "", None]),
    ("position", "member", TEXT_100),
    ("position", "reason", ["", "r" * 2001]),
    ("position", "ranking", [[], "0", None, list(range(21))]),
    ("position", "ranking[1]", [-1, 20, "0", True, 2]),
    ("decision", "outcome", ["passed", "", None]),
    ("decision", "summary", ["", "s" * 4001]),
    ("decision", "option", [-1, 20, "0", None]),
    ("minutes", "date", ["2026-02-30", "2026-11", "23.11.2026", 20261123, None]),
    ("minutes", "title", ["", "t" * 201]),
    ("minutes", "text", ["", "t" * 16001]),
]


def _cases() -> list[tuple[str, str, Any]]:
    return [(k, p, v) for k, p, values in BAD for v in values]


def _expected_field(kind: str, path: str, value: Any) -> str:
    """The field a rejection names: the path itself, except where a container is fine
    as a whole and the fault is a key inside it (missing or unknown)."""
    if path == "policy" and value == {}:
        return "policy.max_consecutive_terms"  # the first missing key, in key order
    if path == "actions[0]" and isinstance(value, dict):
        return "actions[0].do"
    if path == "pool[1]" and isinstance(value, dict):
        return "pool[1].coop" if "coop" not in value else "pool[1].x"
    return path


@pytest.mark.parametrize(("kind", "path", "value"), _cases(),
                         ids=[f"{k}:{p}:{i}" for i, (k, p, _) in enumerate(_cases())])
def test_bad_values_are_rejected_naming_the_field(kind: str, path: str, value: Any) -> None:
    reject(kind, put(FULL[kind], path, value), _expected_field(kind, path, value))


GOOD: list[tuple[str, str, list[Any]]] = [
    ("key.add", "power", ["node", "recovery", "delegate"]),
    ("key.revoke", "through", [0, MAX_MS]),
    ("key.revoke", "reason", ["rotated", "lost", "compromised", "left", "other"]),
    ("policy.set", "policy.max_mandate_days", [1, 1830]),
    ("policy.set", "policy.max_consecutive_terms", [0, 20]),
    ("policy.set", "policy.method", ["consensus", "consent", "majority", "dowdall"]),
    ("mandate.issue", "actions", [[], [{"do": d} for d in ("vote", "propose", "allocate",
                                                           "transfer", "surplus",
                                                           "lottery")],
                                  [{"do": "allocate"}] * 16]),
    ("mandate.issue", "start", [0]),
    ("mandate.issue", "expires", [MAX_MS]),
    ("lottery.announce", "seats", [1, 100]),
    ("lottery.announce", "beacons", [1, 16]),
    ("lottery.announce", "pool", [[POOL[0]], [{"name": f"n{i}", "coop": COOP}
                                              for i in range(500)],
                                  [{"name": "Ana", "coop": COOP},
                                   {"name": "Ana", "coop": OTHER}]]),
    ("lottery.announce", "roles", [[f"r{i}" for i in range(20)]]),
    ("lottery.announce", "exclude", [[f"{i:064x}" for i in range(100)]]),
    ("proposal.create", "group", [0, 499]),
    ("proposal.create", "options", [["a", "b"], [f"o{i}" for i in range(20)]]),
    ("position", "ranking", [[0], list(range(20))]),
    ("decision", "option", [0, 19]),
    ("minutes", "text", ["t" * 16000]),
    ("mandate.report", "report", ["r" * 8000]),
]


@pytest.mark.parametrize(("kind", "path", "value"),
                         [(k, p, v) for k, p, vs in GOOD for v in vs])
def test_edge_values_are_accepted(kind: str, path: str, value: Any) -> None:
    body = put(FULL[kind], path, value)  # lottery.announce in mode draw: any seats
    assert decode_entry(raw(kind, body)).body == body


# --- cross-field rules ---------------------------------------------------------------------


def test_key_add_needs_the_added_keys_consent_for_this_identity() -> None:
    body = FULL["key.add"]
    # Signed by another key (the co-op itself cannot consent for the new key).
    forged = put(body, "proof", KEY.sign(key_proof_message(KEY.public.raw)).hex())
    err = reject("key.add", forged, "proof")
    assert "did not sign" in err.message
    # The new key's consent to join another co-op.
    other = put(body, "proof", NEW.sign(key_proof_message(bytes.fromhex(COOP))).hex())
    reject("key.add", other, "proof")
    # Without the context string (a signature made for something else).
    bare = put(body, "proof", NEW.sign(KEY.public.raw).hex())
    reject("key.add", bare, "proof")
    # Another identity in the body: the proof no longer fits.
    reject("key.add", put(body, "identity", COOP), "proof")
    # A different key in the body: its proof is not this one.
    reject("key.add", put(body, "key", COOP), "proof")


def test_a_root_key_is_not_added_to_itself() -> None:
    body = put(FULL["key.add"], "key", IDENTITY)
    err = reject("key.add", body, "key")
    assert "root key" in err.message


def test_action_unit_and_max_come_together_and_only_for_transfers() -> None:
    issue = FULL["mandate.issue"]
    reject("mandate.issue", put(issue, "actions[1]", {"do": "transfer", "unit": "hour"}),
           "actions[1].max")
    reject("mandate.issue", put(issue, "actions[1]", {"do": "transfer", "max": "3"}),
           "actions[1].unit")
    reject("mandate.issue", put(issue, "actions[2]", {"do": "allocate", "unit": "hour",
                                                      "max": "1"}), "actions[2].unit")
    reject("mandate.issue", put(issue, "actions[2]", {"do": "propose",
                                                      "proposal": PROPOSAL.hex()}),
           "actions[2].proposal")
    ok = put(issue, "actions[1]", {"do": "transfer"})
    assert decode_entry(raw("mandate.issue", ok))


@pytest.mark.parametrize(("kind", "low", "high"),
                         [("mandate.issue", "start", "expires"), ("role.assign", "from",
                                                                  "until")])
def test_windows_end_after_they_start(kind: str, low: str, high: str) -> None:
    body = FULL[kind]
    for end in (body[low], body[low] - 1):
        err = reject(kind, put(body, high, end), high)
        assert low in err.message
    assert decode_entry(raw(kind, put(body, high, body[low] + 1)))


def test_a_cascade_draft_names_cascade_and_group_together() -> None:
    body = FULL["proposal.create"]
    reject("proposal.create", drop(body, "group"), "group")
    reject("proposal.create", drop(body, "cascade"), "cascade")
    assert decode_entry(raw("proposal.create", drop(body, "cascade", "group")))


def test_a_choice_has_at_least_two_options() -> None:
    err = reject("proposal.create", put(FULL["proposal.create"], "options", ["only"]),
                 "options")
    assert "two" in err.message


def test_a_lottery_split_into_groups_has_one_seat_and_no_roles() -> None:
    body = put(drop(drop(FULL["lottery.announce"], "roles"), "distinct_coops"), "mode",
               "groups")
    assert decode_entry(raw("lottery.announce", body))
    reject("lottery.announce", put(body, "seats", 2), "seats")
    reject("lottery.announce", {**body, "roles": ["facilitator"]}, "roles")
    reject("lottery.announce", {**body, "distinct_coops": True}, "distinct_coops")


def test_pool_candidates_and_lists_are_unique() -> None:
    ann = FULL["lottery.announce"]
    reject("lottery.announce", put(ann, "pool[2]", dict(POOL[0])), "pool[2]")
    reject("lottery.announce", put(ann, "exclude", [OTHER, OTHER]), "exclude[1]")
    reject("lottery.announce", put(ann, "roles", ["a", "a"]), "roles[1]")
    reject("position", put(FULL["position"], "ranking", [1, 1]), "ranking[1]")
