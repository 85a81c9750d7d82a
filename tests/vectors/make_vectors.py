"""Write tests/vectors/entries.json: entry test vectors for coopledger and other
implementations of protocol/SPEC.md.

Run from the project root: ``.venv/bin/python tests/vectors/make_vectors.py``. The output
is deterministic (RFC 8032 keys, fixed timestamps, deterministic Ed25519), and
tests/protocol/test_vectors.py checks that this script still reproduces the committed
file byte for byte, so a change to the wire format cannot slip in unnoticed.

Every invalid vector is validly signed unless its defect is the signature, so that it
fails for exactly the reason its ``error`` names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgpack

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    MAX_ENTRY_SIZE,
    SIGNATURE_CONTEXT,
    BadBody,
    BadEncoding,
    BadEnvelope,
    BadSignature,
    Entry,
    EntryTooLarge,
    FloatNotAllowed,
    NonCanonicalEncoding,
    TrailingBytes,
    ValidationError,
    WrongType,
    create_entry,
    default_rules_value,
    encode,
    fold,
    open_entry,
)

OUT = Path(__file__).with_name("entries.json")

# RFC 8032 §7.1 TEST 1 and TEST 2 secret keys.
KEY_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
OTHER_HEX = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
KEY = SecretKey(bytes.fromhex(KEY_HEX))
OTHER = SecretKey(bytes.fromhex(OTHER_HEX))
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
HOUR = 3_600_000

LABOR = {"member": "ana", "hours": "3.5", "task": "weeding the north beds",
         "category": "care", "date": "2026-01-01", "paid": False}


def signed(envelope_bytes: bytes, key: SecretKey = KEY) -> bytes:
    """Entry bytes around ``envelope_bytes``, signed as the spec says."""
    return encode([envelope_bytes, key.sign(SIGNATURE_CONTEXT + envelope_bytes)])


def envelope(after: Entry, **over: Any) -> dict[str, Any]:
    """The envelope of a labour entry following ``after``, with fields replaced."""
    env: dict[str, Any] = {"v": 1, "author": KEY.public.raw, "seq": after.seq + 1,
                           "prev": after.id, "ts": after.ts + HOUR, "kind": "labor",
                           "refs": [], "body": dict(LABOR)}
    env.update(over)
    return env


def packed_in_order(value: Any) -> bytes:
    """msgpack as written, without canonical sorting (for non-canonical vectors)."""
    out: bytes = msgpack.packb(value, use_bin_type=True)
    return out


def sorted_dict(d: dict[str, Any]) -> dict[str, Any]:
    return {k: sorted_dict(v) if isinstance(v, dict) else v
            for k, v in sorted(d.items(), key=lambda kv: kv[0].encode())}


def too_large(after: Entry) -> bytes:
    """A signed entry exactly one byte over MAX_ENTRY_SIZE."""
    n = MAX_ENTRY_SIZE
    while True:
        data = signed(encode(envelope(after, kind="x.blob", body={"blob": bytes(n)})))
        if len(data) == MAX_ENTRY_SIZE + 1:
            return data
        n -= max(1, (len(data) - MAX_ENTRY_SIZE - 1) // 2) if len(data) > MAX_ENTRY_SIZE else -1


def valid_entries() -> list[tuple[str, Entry, str]]:
    g = create_entry(KEY, seq=1, prev=None, ts=T0, kind="genesis",
                     body={"name": "Hillside Garden",
                           "note": "Founded at the spring assembly."})
    labor = create_entry(KEY, seq=2, prev=g.id, ts=T0 + HOUR, kind="labor", body=LABOR)
    material = create_entry(KEY, seq=3, prev=labor.id, ts=T0 + 2 * HOUR, kind="material",
                            body={"item": "compost", "quantity": "120.5", "unit": "kg",
                                  "direction": "in", "date": "2026-01-01"})
    energy = create_entry(KEY, seq=4, prev=material.id, ts=T0 + 3 * HOUR, kind="energy",
                          body={"kwh": "12.75", "flow": "generated", "source": "local"})
    goods = create_entry(KEY, seq=5, prev=energy.id, ts=T0 + 4 * HOUR, kind="goods",
                         body={"item": "bread", "quantity": "40", "unit": "loaf",
                               "flow": "distributed", "to": "Night Kitchen"})
    unknown = create_entry(KEY, seq=6, prev=goods.id, ts=T0 + 5 * HOUR,
                           kind="x.offer",
                           body={"amount": "5", "unit": "hour", "expires": T0 + 48 * HOUR},
                           refs=[labor.id, goods.id])
    fed = create_entry(KEY, seq=7, prev=unknown.id, ts=T0 + 6 * HOUR,
                       kind="federation.create",
                       body={"name": "Hillside Federation",
                             "charter": "We trade hours and share our surplus.\n"
                                        "Any member may call an assembly.",
                             "rules": default_rules_value()})
    fed_hex = fed.id.hex()
    invite = create_entry(KEY, seq=8, prev=fed.id, ts=T0 + 7 * HOUR,
                          kind="federation.invite",
                          body={"federation": fed_hex, "invitee": OTHER.public.hex()},
                          refs=[fed.id])
    offer = create_entry(KEY, seq=9, prev=invite.id, ts=T0 + 8 * HOUR,
                         kind="transfer.offer",
                         body={"federation": fed_hex, "to": OTHER.public.hex(),
                               "amount": "2.5", "unit": "hour",
                               "items": [{"item": "pump gasket", "quantity": "2",
                                          "unit": "piece"}],
                               "purpose": "repairing the well pump",
                               "expires": T0 + 14 * 24 * HOUR},
                         refs=[fed.id])
    surplus = create_entry(KEY, seq=10, prev=offer.id, ts=T0 + 9 * HOUR,
                           kind="fund.surplus",
                           body={"federation": fed_hex, "period": "2026-01", "amount": "0",
                                 "unit": "hour"},
                           refs=[fed.id])
    outside = create_entry(KEY, seq=11, prev=surplus.id, ts=T0 + 10 * HOUR,
                           kind="labor.outside",
                           body={"member": "ana", "hours": "120", "period": "2026-01"})
    return [
        ("genesis", g, "seq 1: the first entry of a log is a genesis entry, prev nil"),
        ("labor", labor, "seq 2, prev = id of the genesis vector"),
        ("material", material, "seq 3"),
        ("energy", energy, "seq 4"),
        ("goods", goods, "seq 5: goods distributed, so 'to' is required"),
        ("unknown-kind", unknown, "seq 6: a kind this version does not know (kept, "
         "relayed, counted, not folded); refs two earlier entries, sorted"),
        ("federation-create", fed, "seq 7: a federation with the default rules of "
         "SPEC 12.1; the charter holds a line feed (long text)"),
        ("federation-invite", invite, "seq 8: invites the TEST 2 key; the federation's "
         "id is also in refs, as every id field must be"),
        ("transfer-offer", offer, "seq 9: an amount with its unit, and items in kind"),
        ("fund-surplus", surplus, "seq 10: a surplus of 0 (fund.surplus allows zero)"),
        ("labor-outside", outside, "seq 11: wage work outside co-ops, for the metrics"),
    ]


def invalid_entries(
    chain: list[Entry],
) -> list[tuple[str, bytes, type[ValidationError], str]]:
    g, labor = chain[0], chain[1]
    good_env = encode(envelope(g))
    assert good_env == labor.envelope_bytes
    flipped = bytearray(labor.signature)
    flipped[0] ^= 0x01
    utf8 = good_env.replace(b"\xa3ana", b"\xa3a\xffa")
    assert utf8 != good_env
    seq_uint8 = good_env.replace(b"\xa3seq\x02", b"\xa3seq\xcc\x02")
    assert seq_uint8 != good_env
    return [
        ("non-canonical-int", signed(seq_uint8), NonCanonicalEncoding,
         "the labor vector with seq 2 written as uint8 (cc 02) instead of fixint 02"),
        ("non-canonical-key-order", signed(packed_in_order(envelope(g))),
         NonCanonicalEncoding, "envelope map keys in insertion order, not sorted"),
        ("non-canonical-outer-bin16",
         b"\x92\xc5" + len(good_env).to_bytes(2, "big") + good_env + b"\xc4\x40"
         + labor.signature,
         NonCanonicalEncoding, "the labor vector with its envelope in a bin16 header"),
        ("float",
         signed(packed_in_order(sorted_dict(envelope(g, body={**LABOR, "hours": 3.5})))),
         FloatNotAllowed, "hours as a msgpack float64 instead of the decimal string \"3.5\""),
        ("ext-type", signed(packed_in_order(sorted_dict(
            envelope(g, kind="x.ext", body={"x": msgpack.ExtType(5, b"\x00")})))),
         WrongType, "a msgpack ext value in the body of an unknown kind"),
        ("trailing-bytes", g.raw + b"\xc0", TrailingBytes,
         "the genesis vector followed by one nil byte"),
        ("truncated", g.raw[:-1], BadEncoding, "the genesis vector without its last byte"),
        ("invalid-utf8", signed(utf8), BadEncoding,
         "the labor vector with the member text holding byte ff"),
        ("bad-signature", encode([labor.envelope_bytes, bytes(flipped)]), BadSignature,
         "the labor vector with the lowest bit of its first signature byte flipped"),
        ("signed-by-another-key", signed(good_env, OTHER), BadSignature,
         "the labor envelope signed with the RFC 8032 TEST 2 key"),
        ("signed-without-context",
         encode([good_env, KEY.sign(good_env)]), BadSignature,
         "the labor envelope signed without the SIGNATURE_CONTEXT prefix"),
        ("outer-not-two-bins", encode([good_env]), BadEnvelope,
         "the entry array holds only the envelope"),
        ("version-2", signed(encode(envelope(g, v=2))), BadEnvelope,
         "v is 2; this version reads 1"),
        ("seq-0", signed(encode(envelope(g, seq=0))), BadEnvelope, "seq starts at 1"),
        ("missing-ts", signed(encode({k: v for k, v in envelope(g).items() if k != "ts"})),
         BadEnvelope, "the envelope has no ts"),
        ("extra-field", signed(encode(envelope(g, sig=b""))), BadEnvelope,
         "the envelope has a field 'sig' the spec does not define"),
        ("genesis-at-seq-2", signed(encode(envelope(
            g, kind="genesis", body={"name": "Again"}))), BadEnvelope,
         "a genesis entry at seq 2"),
        ("labor-at-seq-1", signed(encode(envelope(g, seq=1, prev=None))), BadEnvelope,
         "seq 1 that is not a genesis entry"),
        ("refs-unsorted", signed(encode(envelope(g, refs=sorted([g.id, labor.id],
                                                                reverse=True)))),
         BadEnvelope, "refs not in ascending byte order"),
        ("hours-over-24", signed(encode(envelope(g, body={**LABOR, "hours": "25"}))),
         BadBody, "labor hours above 24"),
        ("hours-not-canonical", signed(encode(envelope(g, body={**LABOR, "hours": "3.50"}))),
         BadBody, "decimal with a trailing zero"),
        ("goods-distributed-without-to", signed(encode(envelope(
            g, kind="goods", body={"item": "bread", "quantity": "40", "unit": "loaf",
                                   "flow": "distributed"}))), BadBody,
         "goods distributed must say to whom"),
        ("unknown-body-field", signed(encode(envelope(g, body={**LABOR, "rate": "12"}))),
         BadBody, "a field the labor schema does not define"),
        ("text-not-nfc", signed(encode(envelope(g, body={**LABOR, "member": "Zoe\u0308"}))),
         BadBody, "member text in NFD (e + combining diaeresis) instead of NFC"),
        ("small-order-author", identity_forgery(g), BadSignature,
         "a genesis entry 'signed' by the identity point (01 00…00) with R = identity, "
         "S = 0: cofactorless verification without the small-order check accepts this "
         "for any message (OpenSSL does); the spec requires rejection"),
        ("too-large", too_large(g), EntryTooLarge,
         "a validly signed entry of an unknown kind, 65537 bytes long (one over the limit)"),
    ]


def identity_forgery(g: Entry) -> bytes:
    identity = bytes([1]) + bytes(31)
    env = envelope(g, author=identity, seq=1, prev=None, kind="genesis",
                   body={"name": "Anyone's"})
    return encode([encode(env), identity + bytes(32)])


def build() -> dict[str, Any]:
    valid = valid_entries()
    chain = [e for _, e, _ in valid]
    vectors: list[dict[str, Any]] = []
    for name, e, note in valid:
        assert open_entry(e.raw) == e
        vectors.append({"name": name, "hex": e.raw.hex(), "id": e.id.hex(), "valid": True,
                        "error": None, "note": note})
    for name, data, cls, note in invalid_entries(chain):
        try:
            open_entry(data)
        except ValidationError as exc:
            assert type(exc) is cls, (name, exc)
        else:
            raise AssertionError(f"{name} opened")
        vectors.append({"name": name, "hex": data.hex(), "id": None, "valid": False,
                        "error": cls.__name__, "note": note})
    states = []
    core = valid[:6]  # the entries of SPEC §3: a state without an economy (§5)
    for name, as_of, note in [
        ("all-core", None, "fold of the six valid vectors of seq 1-6 (no economic kind)"),
        ("as-of-seq-3", T0 + 2 * HOUR, "fold of the same six as of the material "
         "vector's ts: seq 1-3 apply"),
    ]:
        state = fold([e for _, e, _ in core], as_of=as_of)
        states.append({"name": name, "entries": [n for n, _, _ in core], "as_of": as_of,
                       "state_hex": state.encode().hex(), "state_hash": state.state_hash(),
                       "note": note})
    return {
        "description": "coopledger entry test vectors; see protocol/SPEC.md. Written by "
                       "tests/vectors/make_vectors.py.",
        "keys": {"author": {"secret": KEY_HEX, "public": KEY.public.hex(),
                            "source": "RFC 8032 section 7.1 TEST 1"},
                 "other": {"secret": OTHER_HEX, "public": OTHER.public.hex(),
                           "source": "RFC 8032 section 7.1 TEST 2"}},
        "entries": vectors,
        "states": states,
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=True) + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
