"""Entries: the envelope, its validation tiers, and the body schema of each known kind.

Every rejection is checked for its class *and* the field it names, because peers, logs
and the HTTP API show both.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from coopledger.crypto import SecretKey, sha256
from coopledger.protocol import (
    ENTRY_VERSION,
    GENESIS_KIND,
    KNOWN_KINDS,
    MAX_ENTRY_SIZE,
    SIGNATURE_CONTEXT,
    BadBody,
    BadEncoding,
    BadEnvelope,
    BadSignature,
    BrokenChain,
    Entry,
    EntryTooLarge,
    FloatNotAllowed,
    NonCanonicalEncoding,
    TrailingBytes,
    ValidationError,
    WrongType,
    create_entry,
    decode_entry,
    encode,
    entry_id,
    open_entry,
    signature_ok,
    validate_chain,
    verify_signature,
)
from coopledger.protocol._entry import MAX_REFS, MAX_SAFE_INT
from coopledger.protocol._kinds import (
    ALERT_KINDS,
    AUDIT_KINDS,
    CHECKPOINT_KIND,
    GOVERNANCE_KINDS,
)

# RFC 8032 §7.1 TEST 1 and TEST 2 secret keys.
KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
OTHER = SecretKey(bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
H1, H2, H3 = (bytes([i]) * 32 for i in (1, 2, 3))

BODIES: dict[str, dict[str, Any]] = {
    "genesis": {"name": "Hillside Garden", "note": "Founded at the\nspring assembly."},
    "labor": {"member": "ana", "hours": "3.5", "task": "weeding", "category": "care",
              "date": "2026-03-01", "paid": False, "note": "north beds"},
    "material": {"item": "compost", "quantity": "120", "unit": "kg", "direction": "in",
                 "date": "2026-03-02"},
    "energy": {"kwh": "12.75", "flow": "generated", "source": "local"},
    "goods": {"item": "bread", "quantity": "40", "unit": "loaf", "flow": "distributed",
              "to": "night kitchen"},
}
MINIMAL: dict[str, dict[str, Any]] = {
    "genesis": {"name": "G"},
    "labor": {"member": "a", "hours": "1", "task": "t", "category": "other",
              "date": "2026-01-01"},
    "material": {"item": "i", "quantity": "1", "unit": "u", "direction": "used"},
    "energy": {"kwh": "1", "flow": "consumed", "source": "grid"},
    "goods": {"item": "i", "quantity": "1", "unit": "u", "flow": "produced"},
}


def envelope(**over: Any) -> dict[str, Any]:
    """A valid seq-2 labour envelope by KEY, with fields replaced by ``over``."""
    env: dict[str, Any] = {"v": 1, "author": KEY.public.raw, "seq": 2, "prev": H1, "ts": 1000,
                           "kind": "labor", "refs": [], "body": dict(BODIES["labor"])}
    env.update(over)
    return env


def sign_raw(env_bytes: bytes, key: SecretKey = KEY) -> bytes:
    """Entry bytes around arbitrary envelope bytes, validly signed."""
    return encode([env_bytes, key.sign(SIGNATURE_CONTEXT + env_bytes)])


def raw(**over: Any) -> bytes:
    return sign_raw(encode(envelope(**over)))


def without(key: str, **over: Any) -> bytes:
    env = envelope(**over)
    del env[key]
    return sign_raw(encode(env))


def reject(data: bytes, cls: type[ValidationError], field: str | None) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        decode_entry(data)
    assert type(info.value) is cls, info.value
    assert info.value.field == field, info.value
    assert info.value.reason == cls.reason_code
    return info.value


def body_reject(kind: str, body: dict[str, Any], field: str) -> None:
    seq, prev = (1, None) if kind == GENESIS_KIND else (2, H1)
    err = reject(raw(kind=kind, body=body, seq=seq, prev=prev), BadBody, field)
    assert err.entry_id is not None


def make(kind: str, key: SecretKey = KEY, **kw: Any) -> Entry:
    if kind == GENESIS_KIND:
        kw.setdefault("seq", 1)
        kw.setdefault("prev", None)
    else:
        kw.setdefault("seq", 2)
        kw.setdefault("prev", H1)
    kw.setdefault("ts", 1_700_000_000_000)
    kw.setdefault("body", BODIES.get(kind, {}))
    return create_entry(key, kind=kind, **kw)


# --- round trips --------------------------------------------------------------------------


def test_every_known_kind_has_example_bodies() -> None:
    # The kinds of SPEC §3; the dotted kinds of §12 are tested in test_kinds_economy.py,
    # those of §13 in test_kinds_governance.py, those of §14 in test_kinds_commons14.py.
    assert set(BODIES) == set(MINIMAL) == {
        k for k in KNOWN_KINDS if "." not in k and k not in GOVERNANCE_KINDS
        and k not in AUDIT_KINDS | ALERT_KINDS | {CHECKPOINT_KIND}}


@pytest.mark.parametrize("kind", sorted(BODIES))
@pytest.mark.parametrize("bodies", [BODIES, MINIMAL], ids=["full", "minimal"])
def test_create_decode_round_trip(kind: str, bodies: dict[str, dict[str, Any]]) -> None:
    e = make(kind, body=bodies[kind], refs=[H3, H2, H3])
    again = open_entry(e.raw)
    for attr in ("raw", "id", "envelope_bytes", "signature", "author", "seq", "prev", "ts",
                 "kind", "refs", "body"):
        assert getattr(again, attr) == getattr(e, attr), attr
    assert e.refs == (H2, H3)  # sorted, duplicates dropped
    assert e.body == bodies[kind]
    assert e.author == KEY.public.raw
    assert e.id == sha256(e.raw) == entry_id(e.raw)
    assert e.signing_input() == SIGNATURE_CONTEXT + e.envelope_bytes
    assert encode([e.envelope_bytes, e.signature]) == e.raw
    assert signature_ok(e)


def test_wire_layout() -> None:
    e = make("labor")
    outer = msgpack.unpackb(e.raw)
    assert outer == [e.envelope_bytes, e.signature]
    env = msgpack.unpackb(e.envelope_bytes)
    assert list(env) == ["author", "body", "kind", "prev", "refs", "seq", "ts", "v"]
    assert env == {"v": ENTRY_VERSION, "author": KEY.public.raw, "seq": 2, "prev": H1,
                   "ts": 1_700_000_000_000, "kind": "labor", "refs": [],
                   "body": BODIES["labor"]}
    assert KEY.public.verify(e.signature, SIGNATURE_CONTEXT + e.envelope_bytes) is None


def test_signing_is_deterministic() -> None:
    assert make("energy").raw == make("energy").raw


def test_entry_equality_is_by_id() -> None:
    a, b, c = make("energy"), decode_entry(make("energy").raw), make("energy", ts=5)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert a != a.raw
    assert len({a, b, c}) == 2
    assert a.id[:4].hex() in repr(a) and "seq=2" in repr(a)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("x.offer", {"amount": "5", "nested": {"deep": [1, b"\x00", None, True]}}),
        ("x", {}),
        ("a_b.c1.d2.e3", {"n": -5}),
        ("zz.future", {"scope": "x" * 1000}),
    ],
)
def test_unknown_kinds_decode_with_any_map_body(kind: str, body: dict[str, Any]) -> None:
    e = open_entry(raw(kind=kind, body=body))
    assert e.kind == kind and e.body == body


# --- size -----------------------------------------------------------------------------------


def test_entry_too_large() -> None:
    # An unknown kind can carry a big body; find the size that lands just past the limit.
    e = make("x.blob", body={"data": b""})
    overhead = len(e.raw)
    pad = MAX_ENTRY_SIZE - overhead - 2  # two bin8 headers become bin16: 2 bytes more
    at_limit = make("x.blob", body={"data": bytes(pad)})
    assert len(at_limit.raw) == MAX_ENTRY_SIZE
    assert open_entry(at_limit.raw) == at_limit
    with pytest.raises(EntryTooLarge):
        make("x.blob", body={"data": bytes(pad + 1)})
    big = raw(kind="x.blob", body={"data": bytes(pad + 1)}, ts=1_700_000_000_000)
    assert len(big) == MAX_ENTRY_SIZE + 1
    err = reject(big, EntryTooLarge, None)
    assert err.reason == "invalid:too-large"


# --- the outer layer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        (b"", BadEncoding),
        (b"\xc1", BadEncoding),
        (encode([b"x", bytes(64)])[:-1], BadEncoding),
        (encode([b"x", bytes(64)]) + b"\x00", TrailingBytes),
        (b"\x92\xd9\x01x\xc4\x40" + bytes(64), NonCanonicalEncoding),
        (b"\x92\xcb" + bytes(8) + b"\xc4\x40" + bytes(64), FloatNotAllowed),
        (b"\x92\xd4\x01\x00\xc4\x40" + bytes(64), WrongType),
    ],
)
def test_outer_encoding_errors(data: bytes, cls: type[ValidationError]) -> None:
    with pytest.raises(ValidationError) as info:
        decode_entry(data)
    assert type(info.value) is cls
    assert info.value.entry_id is None  # bytes that do not decode have no id


@pytest.mark.parametrize(
    "value",
    [
        {"envelope": b"", "signature": b""},
        [b"x"],
        [b"x", bytes(64), b""],
        ["x", bytes(64)],
        [b"x", "s" * 64],
        b"x",
        None,
    ],
)
def test_outer_must_be_two_bins(value: Any) -> None:
    reject(encode(value), BadEnvelope, None)


@pytest.mark.parametrize("size", [0, 63, 65])
def test_signature_must_be_64_bytes(size: int) -> None:
    reject(encode([encode(envelope()), bytes(size)]), BadEnvelope, "signature")


# --- the envelope -------------------------------------------------------------------------


def test_envelope_encoding_errors_carry_the_entry_id() -> None:
    non_canonical = msgpack.packb(envelope(), use_bin_type=True)  # keys in insertion order
    data = sign_raw(non_canonical)
    with pytest.raises(NonCanonicalEncoding) as info:
        decode_entry(data)
    assert info.value.entry_id == sha256(data)
    assert "envelope" in str(info.value)
    assert sha256(data)[:4].hex() in str(info.value)
    with pytest.raises(TrailingBytes):
        decode_entry(sign_raw(encode(envelope()) + b"\xc0"))
    with pytest.raises(FloatNotAllowed):
        decode_entry(sign_raw(msgpack.packb(1.5)))


@pytest.mark.parametrize("value", [[], 1, "map", b"map", None])
def test_envelope_must_be_a_map(value: Any) -> None:
    reject(sign_raw(encode(value)), BadEnvelope, None)


@pytest.mark.parametrize("key", ["v", "author", "seq", "prev", "ts", "kind", "refs", "body"])
def test_envelope_missing_field(key: str) -> None:
    reject(without(key), BadEnvelope, key)


def test_envelope_missing_fields_name_the_first_in_sorted_order() -> None:
    env = envelope()
    del env["ts"], env["body"]
    reject(sign_raw(encode(env)), BadEnvelope, "body")


@pytest.mark.parametrize("key", ["sig", "V", "zzz", "", "x" * 100])
def test_envelope_unknown_field(key: str) -> None:
    err = reject(raw(**{key: 1}), BadEnvelope, key[:32])
    assert len(err.field or "") <= 32


@pytest.mark.parametrize("v", [0, 2, True, "1", None, b"\x01"])
def test_version(v: Any) -> None:
    reject(raw(v=v), BadEnvelope, "v")


@pytest.mark.parametrize("author", [b"", bytes(31), bytes(33), "a" * 32, None, 1])
def test_author_must_be_32_bytes(author: Any) -> None:
    reject(raw(author=author), BadEnvelope, "author")


@pytest.mark.parametrize("seq", [0, -1, MAX_SAFE_INT + 1, 2**64 - 1, True, "2", None, b"\x02"])
def test_seq_range(seq: Any) -> None:
    reject(raw(seq=seq), BadEnvelope, "seq")


def test_seq_and_ts_limits_are_inclusive() -> None:
    assert decode_entry(raw(seq=MAX_SAFE_INT, ts=MAX_SAFE_INT)).seq == MAX_SAFE_INT
    assert decode_entry(raw(ts=0)).ts == 0


@pytest.mark.parametrize("ts", [-1, MAX_SAFE_INT + 1, False, "0", None])
def test_ts_range(ts: Any) -> None:
    reject(raw(ts=ts), BadEnvelope, "ts")


@pytest.mark.parametrize("prev", [b"", bytes(31), bytes(33), "h" * 32, 0])
def test_prev_must_be_32_bytes(prev: Any) -> None:
    reject(raw(prev=prev), BadEnvelope, "prev")


def test_prev_is_nil_exactly_at_seq_1() -> None:
    reject(raw(prev=None), BadEnvelope, "prev")  # seq 2 without prev
    reject(raw(seq=1, kind="genesis", body={"name": "G"}), BadEnvelope, "prev")  # with prev


def test_genesis_rule() -> None:
    # seq 1 must be genesis, and genesis only at seq 1.
    reject(raw(seq=1, prev=None), BadEnvelope, "kind")
    reject(raw(seq=1, prev=None, kind="x.note", body={}), BadEnvelope, "kind")
    reject(raw(kind="genesis", body={"name": "G"}), BadEnvelope, "kind")
    assert decode_entry(raw(seq=1, prev=None, kind="genesis", body={"name": "G"})).seq == 1


@pytest.mark.parametrize(
    "kind",
    ["", "Labor", "labor-x", "1abc", "_x", "a.", ".a", "a..b", "a.b.c.d.e", "a" * 33,
     "a.B", "lab or", "labör", None, 1, b"labor"],
)
def test_kind_name(kind: Any) -> None:
    # ``kind`` is an envelope field: a malformed name is a BadEnvelope.
    reject(raw(kind=kind), BadEnvelope, "kind")


def test_kind_name_length() -> None:
    longest = "a" * 32 + "." + "b" * 31  # MAX_KIND_LEN = 64 characters in all
    assert decode_entry(raw(kind=longest, body={})).kind == longest
    reject(raw(kind=longest + "b", body={}), BadEnvelope, "kind")
    four_parts = "a.b.c.d"
    assert decode_entry(raw(kind=four_parts, body={})).kind == four_parts


@pytest.mark.parametrize("refs", [None, b"", {}, H1])
def test_refs_must_be_a_list(refs: Any) -> None:
    reject(raw(refs=refs), BadEnvelope, "refs")


@pytest.mark.parametrize("refs", [[H2, H1], [H1, H1], [H1, H3, H2], [b"x"], [H1, None],
                                  [bytes(33)], ["a" * 32]])
def test_refs_sorted_unique_32_bytes(refs: list[Any]) -> None:
    reject(raw(refs=refs), BadEnvelope, "refs")


def test_refs_limit() -> None:
    refs = [i.to_bytes(32, "big") for i in range(MAX_REFS + 1)]
    assert len(decode_entry(raw(refs=refs[:MAX_REFS])).refs) == MAX_REFS
    reject(raw(refs=refs), BadEnvelope, "refs")


@pytest.mark.parametrize("body", [None, [], "body", b"", 1])
def test_body_must_be_a_map(body: Any) -> None:
    reject(raw(body=body), BadBody, "body")
    reject(raw(body=body, kind="x.unknown"), BadBody, "body")


# --- body schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_required_fields(kind: str) -> None:
    for field in MINIMAL[kind]:
        body = dict(MINIMAL[kind])
        del body[field]
        body_reject(kind, body, field)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_unknown_body_field(kind: str) -> None:
    body_reject(kind, {**MINIMAL[kind], "extra": "x"}, "extra")
    body_reject(kind, {**MINIMAL[kind], "Note": "x"}, "Note")


TEXT_FIELDS = [("genesis", "name", 100), ("labor", "member", 100), ("labor", "task", 200),
               ("material", "item", 200), ("material", "unit", 32), ("goods", "item", 200),
               ("goods", "unit", 32), ("goods", "to", 200)]


@pytest.mark.parametrize(("kind", "field", "max_len"), TEXT_FIELDS)
def test_text_fields(kind: str, field: str, max_len: int) -> None:
    base = dict(MINIMAL[kind])
    ok = "é" * max_len  # characters, not bytes
    assert decode_entry(_with_body(kind, {**base, field: ok})).body[field] == ok
    for bad in ["", " ", "\t", " x", "x ", "x\n", "a\nb", "a\tb", "a\x00b", "a\x7fb",
                "a\x85b", "e\u0301", "\u212b", "x" * (max_len + 1), 1, None, b"x", ["x"]]:
        body_reject(kind, {**base, field: bad}, field)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_note_is_long_text(kind: str) -> None:
    base = dict(MINIMAL[kind])
    note = "line one\nline two — ünïcode, emoji 🌱\nend"
    assert decode_entry(_with_body(kind, {**base, "note": note})).body["note"] == note
    assert decode_entry(_with_body(kind, {**base, "note": "n" * 2000})).body["note"]
    for bad in ["n" * 2001, "", "\n", "a\tb", "a\rb", "a\x00b", "e\u0301", "trailing\n"]:
        body_reject(kind, {**base, "note": bad}, "note")


def test_nfc_text_is_accepted() -> None:
    body = {**MINIMAL["labor"], "member": "Zoë Ångström"}
    assert decode_entry(_with_body("labor", body)).body["member"] == "Zoë Ångström"


def _with_body(kind: str, body: dict[str, Any]) -> bytes:
    seq, prev = (1, None) if kind == GENESIS_KIND else (2, H1)
    return raw(kind=kind, body=body, seq=seq, prev=prev)


DECIMAL_FIELDS = [("labor", "hours"), ("material", "quantity"), ("energy", "kwh"),
                  ("goods", "quantity")]


@pytest.mark.parametrize(("kind", "field"), DECIMAL_FIELDS)
def test_decimal_fields(kind: str, field: str) -> None:
    base = dict(MINIMAL[kind])
    for ok in ["0.000000001", "1", "2.5", "24"]:
        assert decode_entry(_with_body(kind, {**base, field: ok})).body[field] == ok
    for bad in ["0", "-1", "-0.5", "1.50", "01", "+1", "1e3", ".5", "", "0.0000000001",
                1, None, True, b"1", ["1"]]:
        body_reject(kind, {**base, field: bad}, field)
    with pytest.raises(FloatNotAllowed):  # a float is an encoding error, before any schema
        decode_entry(_with_body(kind, {**base, field: 1.5}))


def test_hours_at_most_24() -> None:
    base = dict(MINIMAL["labor"])
    for ok in ["24", "23.999999999", "0.25"]:
        assert decode_entry(_with_body("labor", {**base, "hours": ok}))
    for bad in ["24.000000001", "24.5", "25", "100", "0"]:
        body_reject("labor", {**base, "hours": bad}, "hours")


def test_other_quantities_have_no_upper_bound() -> None:
    big = "9" * 30
    assert decode_entry(_with_body("material", {**MINIMAL["material"], "quantity": big}))


ENUM_FIELDS = [("labor", "category"), ("material", "direction"), ("energy", "flow"),
               ("energy", "source"), ("goods", "flow")]


@pytest.mark.parametrize(("kind", "field"), ENUM_FIELDS)
def test_enum_fields(kind: str, field: str) -> None:
    base = dict(MINIMAL[kind])
    for bad in ["", "x", "Care", "care ", 1, None, True, b"in"]:
        if bad == base[field]:
            continue
        body_reject(kind, {**base, field: bad}, field)


@pytest.mark.parametrize(
    ("kind", "field", "choices"),
    [("labor", "category", ["production", "care", "facilitation", "maintenance",
                            "learning", "other"]),
     ("material", "direction", ["in", "out", "used"]),
     ("energy", "flow", ["consumed", "generated"]),
     ("energy", "source", ["local", "grid"]),
     ("goods", "flow", ["produced", "distributed"])],
)
def test_enum_choices(kind: str, field: str, choices: list[str]) -> None:
    for c in choices:
        body = {**MINIMAL[kind], field: c, "to": "x"} if kind == "goods" else \
            {**MINIMAL[kind], field: c}
        assert decode_entry(_with_body(kind, body)).body[field] == c


@pytest.mark.parametrize(("kind", "required"), [("labor", True), ("material", False),
                                                ("energy", False), ("goods", False)])
def test_date_fields(kind: str, required: bool) -> None:
    base = dict(MINIMAL[kind])
    for ok in ["2026-02-28", "2024-02-29", "0001-01-01", "9999-12-31"]:
        assert decode_entry(_with_body(kind, {**base, "date": ok})).body["date"] == ok
    for bad in ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-1-1",
                "26-01-01", "2026/01/01", "20260101", "2026-01-01T00:00", " 2026-01-01",
                "２０２６-01-01", "", 20260101, None]:
        body_reject(kind, {**base, "date": bad}, "date")
    if not required:
        body = {k: v for k, v in base.items() if k != "date"}
        assert "date" not in decode_entry(_with_body(kind, body)).body


def test_paid_is_a_bool() -> None:
    for ok in [True, False]:
        assert decode_entry(_with_body("labor", {**MINIMAL["labor"], "paid": ok}))
    for bad in [0, 1, "true", None]:
        body_reject("labor", {**MINIMAL["labor"], "paid": bad}, "paid")


def test_goods_distributed_must_say_to_whom() -> None:
    body = {**MINIMAL["goods"], "flow": "distributed"}
    body_reject("goods", body, "to")
    assert decode_entry(_with_body("goods", {**body, "to": "kitchen"}))
    # "to" is allowed, not required, for produced goods.
    assert decode_entry(_with_body("goods", {**MINIMAL["goods"], "to": "store"}))


def test_body_errors_do_not_echo_the_input() -> None:
    secret = "very-private-" + "x" * 300
    with pytest.raises(BadBody) as info:
        decode_entry(_with_body("labor", {**MINIMAL["labor"], "member": secret}))
    assert "very-private" not in str(info.value)
    assert "member" in str(info.value)
    with pytest.raises(BadBody) as info:
        decode_entry(_with_body("labor", {**MINIMAL["labor"], secret: 1}))
    assert secret not in str(info.value)
    assert len(info.value.field or "") <= 32


def test_create_entry_refuses_invalid_input() -> None:
    with pytest.raises(BadBody):
        create_entry(KEY, seq=2, prev=H1, ts=0, kind="labor", body={})
    with pytest.raises(BadEnvelope):
        create_entry(KEY, seq=1, prev=H1, ts=0, kind="genesis", body={"name": "G"})
    with pytest.raises(FloatNotAllowed):
        create_entry(KEY, seq=2, prev=H1, ts=0, kind="x.y", body={"f": 0.5})


# --- tier 2: signatures -----------------------------------------------------------------


def test_verify_signature_rejects_every_flipped_signature_byte() -> None:
    e = make("labor")
    for i in range(64):
        sig = bytearray(e.signature)
        sig[i] ^= 0x01
        bad = decode_entry(encode([e.envelope_bytes, bytes(sig)]))  # shape is fine
        assert not signature_ok(bad)
        with pytest.raises(BadSignature) as info:
            verify_signature(bad)
        assert info.value.field == "signature"
        assert info.value.entry_id == bad.id
        assert info.value.author == bad.author
        assert info.value.reason == "invalid:signature"
        with pytest.raises(BadSignature):
            open_entry(bad.raw)


def test_signature_by_another_key_is_rejected() -> None:
    data = sign_raw(encode(envelope()), key=OTHER)  # author says KEY, OTHER signed
    assert not signature_ok(decode_entry(data))
    with pytest.raises(BadSignature):
        open_entry(data)


def test_signature_covers_the_context_prefix() -> None:
    env = encode(envelope())
    data = encode([env, KEY.sign(env)])  # signed without SIGNATURE_CONTEXT
    with pytest.raises(BadSignature):
        open_entry(data)


def test_tampering_any_byte_is_rejected() -> None:
    for e in [make("genesis"), make("goods", refs=[H1, H2]), make("x.custom", body={"k": 1})]:
        for i in range(len(e.raw)):
            for mask in (0x01, 0xFF):
                b = bytearray(e.raw)
                b[i] ^= mask
                with pytest.raises(ValidationError):
                    open_entry(bytes(b))


# --- tier 3: the chain ----------------------------------------------------------------------


def _chain() -> tuple[Entry, Entry]:
    first = make("genesis", ts=1000)
    second = make("labor", seq=2, prev=first.id, ts=1000)  # equal ts is allowed
    return first, second


def test_validate_chain_accepts_a_successor() -> None:
    first, second = _chain()
    validate_chain(second, first)
    third = make("energy", seq=3, prev=second.id, ts=2000)
    validate_chain(third, second)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"key": OTHER}, "author"),
        ({"seq": 3}, "seq"),
        ({"prev": H2}, "prev"),
        ({"ts": 999}, "ts"),
    ],
)
def test_validate_chain_failures(over: dict[str, Any], field: str) -> None:
    first, _second = _chain()
    kw: dict[str, Any] = {"seq": 2, "prev": first.id, "ts": 1000}
    kw.update(over)
    bad = make("labor", **kw)
    with pytest.raises(BrokenChain) as info:
        validate_chain(bad, first)
    assert info.value.field == field
    assert info.value.entry_id == bad.id
    assert info.value.author == bad.author
    assert info.value.reason == "invalid:chain"


def test_validate_chain_checks_author_before_the_rest() -> None:
    first, _ = _chain()
    bad = make("labor", key=OTHER, seq=5, prev=H2, ts=0)
    with pytest.raises(BrokenChain) as info:
        validate_chain(bad, first)
    assert info.value.field == "author"


def test_every_validation_error_is_a_validation_error() -> None:
    for cls in [BadEncoding, NonCanonicalEncoding, FloatNotAllowed, TrailingBytes, WrongType,
                EntryTooLarge, BadEnvelope, BadBody, BadSignature, BrokenChain]:
        assert issubclass(cls, ValidationError)
        assert cls.reason_code.startswith("invalid:")


def test_an_entry_under_a_small_order_key_is_rejected() -> None:
    # Anyone could produce this "signature" for any envelope of the identity-point key.
    identity = bytes([1]) + bytes(31)
    env = encode({"v": 1, "author": identity, "seq": 1, "prev": None, "ts": 0,
                  "kind": "genesis", "refs": [], "body": {"name": "Nobody's"}})
    forged = encode([env, identity + bytes(32)])
    decode_entry(forged)  # well-formed …
    with pytest.raises(BadSignature):  # … but the signature is refused
        open_entry(forged)
