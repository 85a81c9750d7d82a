"""The entry: the signed unit of everything.

Wire form (all canonical msgpack, see _codec):

    entry_bytes   = encode([envelope_bytes, signature])          (an array of two bins)
    envelope_bytes = encode({"v": 1, "author": bin32, "seq": int, "prev": bin32 | nil,
                             "ts": int, "kind": str, "refs": [bin32, …], "body": map})
    signature     = Ed25519(author, SIGNATURE_CONTEXT || envelope_bytes)
    entry_id      = SHA-256(entry_bytes)

Validation comes in named tiers, each saying what it does *not* check:

* ``decode_entry``      shape: encoding, envelope fields, kind schema. No signature,
                        no knowledge of other entries.
* ``verify_signature``  the signature over the envelope. No chain.
* ``validate_chain``    this entry follows ``prev_entry`` of the same author. Needs the
                        predecessor; the fold applies it (entries may arrive in any order).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from coopledger import crypto

from ._codec import Value, decode, encode
from ._errors import (
    BadBody,
    BadEnvelope,
    BadSignature,
    BrokenChain,
    EntryTooLarge,
    ValidationError,
)
from ._kinds import (
    CHECKPOINT_KIND,
    COSIGN_KIND,
    check_kind_name,
    register_body_check,
    validate_body,
)

ENTRY_VERSION = 1
# 64 KiB: far above any ledger line a person writes (a labour entry is ~250 bytes),
# small enough that a peer or a bundle cannot make us buffer much per entry.
MAX_ENTRY_SIZE = 64 * 1024
# At most this many refs per entry: a transfer accept refs one offer, a lottery draw a
# handful of beacon entries; 64 leaves room without letting one entry fan out widely.
MAX_REFS = 64
# Integers a JavaScript or JSON consumer can hold exactly.
MAX_SAFE_INT = 2**53 - 1
# Domain separation: an entry signature can never be mistaken for any other signature
# the same key makes (checkpoints, handshakes).
SIGNATURE_CONTEXT = b"coopledger/entry/v1\x00"
GENESIS_KIND = "genesis"

_ENVELOPE_KEYS = frozenset({"v", "author", "seq", "prev", "ts", "kind", "refs", "body"})


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """A decoded entry. Two entries are equal when their ids are equal."""

    raw: bytes
    id: bytes
    envelope_bytes: bytes
    signature: bytes
    author: bytes
    seq: int
    prev: bytes | None
    ts: int
    kind: str
    refs: tuple[bytes, ...]
    body: Mapping[str, Value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return (
            f"Entry({self.id[:4].hex()}… author={self.author[:4].hex()}… "
            f"seq={self.seq} kind={self.kind})"
        )

    def signing_input(self) -> bytes:
        return SIGNATURE_CONTEXT + self.envelope_bytes


def entry_id(entry_bytes: bytes) -> bytes:
    """The id of an entry: SHA-256 of its entry bytes."""
    return crypto.sha256(entry_bytes)


def _bin32(value: object, field: str, *, nullable: bool = False) -> bytes | None:
    if value is None and nullable:
        return None
    if not isinstance(value, bytes) or len(value) != 32:
        raise BadEnvelope("must be 32 bytes", field=field)
    return value


def _uint(value: object, field: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEnvelope("must be an integer", field=field)
    if not low <= value <= MAX_SAFE_INT:
        raise BadEnvelope(f"must be between {low} and 2**53-1", field=field)
    return value


def _check_envelope(env: object) -> tuple[bytes, int, bytes | None, int, str, tuple[bytes, ...],
                                          Mapping[str, Value]]:
    if not isinstance(env, dict):
        raise BadEnvelope("envelope must be a map")
    keys = set(env)
    if keys != _ENVELOPE_KEYS:
        missing = sorted(_ENVELOPE_KEYS - keys)
        if missing:
            raise BadEnvelope("missing", field=missing[0])
        extra = sorted(keys - _ENVELOPE_KEYS)[0]
        raise BadEnvelope("unknown envelope field", field=str(extra)[:32])
    if env["v"] != ENTRY_VERSION or isinstance(env["v"], bool):
        raise BadEnvelope(f"unsupported entry version (this node reads {ENTRY_VERSION})",
                          field="v")
    author = cast(bytes, _bin32(env["author"], "author"))
    seq = _uint(env["seq"], "seq", 1)
    prev = _bin32(env["prev"], "prev", nullable=True)
    ts = _uint(env["ts"], "ts", 0)
    kind = check_kind_name(env["kind"])
    if (seq == 1) != (prev is None):
        raise BadEnvelope("must be nil exactly when seq is 1", field="prev")
    if (seq == 1) != (kind == GENESIS_KIND):
        raise BadEnvelope("the first entry of a log (and only it) is a genesis entry",
                          field="kind")
    refs_value = env["refs"]
    if not isinstance(refs_value, list):
        raise BadEnvelope("must be a list", field="refs")
    if len(refs_value) > MAX_REFS:
        raise BadEnvelope(f"more than {MAX_REFS} refs", field="refs")
    refs = tuple(cast(bytes, _bin32(r, "refs")) for r in refs_value)
    if any(a >= b for a, b in itertools.pairwise(refs)):
        raise BadEnvelope("must be sorted and without duplicates", field="refs")
    body = env["body"]
    if not isinstance(body, dict):
        raise BadBody("body must be a map", field="body")
    return author, seq, prev, ts, kind, refs, body


def decode_entry(entry_bytes: bytes) -> Entry:
    """Decode and shape-check ``entry_bytes`` (tier 1).

    Checks: size, canonical encoding of both layers, envelope fields and ranges, the
    genesis rule, and the body schema of known kinds. Does NOT check the signature or
    anything about other entries. Raises a ValidationError subclass.
    """
    if len(entry_bytes) > MAX_ENTRY_SIZE:
        raise EntryTooLarge(f"entry is {len(entry_bytes)} bytes, the limit is {MAX_ENTRY_SIZE}")
    outer = decode(entry_bytes, what="entry")
    if (
        not isinstance(outer, list)
        or len(outer) != 2
        or not isinstance(outer[0], bytes)
        or not isinstance(outer[1], bytes)
    ):
        raise BadEnvelope("entry must be an array [envelope bytes, signature]")
    envelope_bytes = outer[0]
    signature = outer[1]
    if len(signature) != crypto.SIGNATURE_SIZE:
        raise BadEnvelope(f"must be {crypto.SIGNATURE_SIZE} bytes", field="signature")
    eid = entry_id(entry_bytes)
    try:
        env = decode(envelope_bytes, what="envelope")
        author, seq, prev, ts, kind, refs, body = _check_envelope(env)
        validate_body(kind, body, refs)
    except ValidationError as exc:
        exc.entry_id = eid
        raise
    return Entry(
        raw=entry_bytes,
        id=eid,
        envelope_bytes=envelope_bytes,
        signature=signature,
        author=author,
        seq=seq,
        prev=prev,
        ts=ts,
        kind=kind,
        refs=refs,
        body=body,
    )


def signature_ok(entry: Entry) -> bool:
    """True if the entry's signature verifies for its author (tier 2, no exception)."""
    return crypto.verify(entry.author, entry.signature, entry.signing_input())


def verify_signature(entry: Entry) -> None:
    """Tier 2: raise BadSignature unless the signature verifies for the author."""
    if not signature_ok(entry):
        raise BadSignature(
            f"signature does not verify for author {entry.author[:4].hex()}…",
            field="signature",
            entry_id=entry.id,
            author=entry.author,
        )


def open_entry(entry_bytes: bytes) -> Entry:
    """Tiers 1 and 2: decode, shape-check and verify one entry on its own."""
    entry = decode_entry(entry_bytes)
    verify_signature(entry)
    return entry


def _check_cosign(body: Mapping[str, object]) -> None:
    """checkpoint.cosign's rule across its fields: the witness embeds the checkpoint it
    cosigns, signed by the log's author, so the cosign alone shows what the log told the
    witness (SPEC §14.3). Opening that entry is tiers 1 and 2 of this module, hence the
    rule lives here and is registered with the schemas (protocol/_kinds.py) below."""
    try:
        cp = open_entry(cast(bytes, body["entry"]))
    except ValidationError as exc:
        raise BadBody(f"is not a valid entry ({exc.reason_code})", field="entry") from exc
    if cp.kind != CHECKPOINT_KIND:
        raise BadBody("must be a checkpoint entry", field="entry")
    if cp.id.hex() != body["checkpoint"]:
        raise BadBody("is not the entry named by checkpoint", field="entry")


register_body_check(COSIGN_KIND, _check_cosign)


def validate_chain(entry: Entry, prev_entry: Entry) -> None:
    """Tier 3: raise BrokenChain unless ``entry`` directly follows ``prev_entry``.

    Checks same author, seq = prev seq + 1, prev = id of prev_entry, ts not earlier.
    Does not check signatures (tier 2) or forks (the fold sees all entries at a seq).
    """
    def broken(msg: str, field: str) -> BrokenChain:
        return BrokenChain(msg, field=field, entry_id=entry.id, author=entry.author)

    if entry.author != prev_entry.author:
        raise broken("follows an entry of another author", "author")
    if entry.seq != prev_entry.seq + 1:
        raise broken(f"seq {entry.seq} does not follow seq {prev_entry.seq}", "seq")
    if entry.prev != prev_entry.id:
        raise broken(f"prev does not match the id of seq {prev_entry.seq}", "prev")
    if entry.ts < prev_entry.ts:
        raise broken("timestamp is earlier than the previous entry's", "ts")


def create_entry(
    key: crypto.SecretKey,
    *,
    seq: int,
    prev: bytes | None,
    ts: int,
    kind: str,
    body: Mapping[str, Value],
    refs: Iterable[bytes] = (),
) -> Entry:
    """Sign a new entry. Raises ValidationError if the result would be invalid
    (then it is the caller's bug or the user's input, never a peer's)."""
    envelope = {
        "v": ENTRY_VERSION,
        "author": key.public.raw,
        "seq": seq,
        "prev": prev,
        "ts": ts,
        "kind": kind,
        "refs": sorted(set(refs)),
        "body": dict(body),
    }
    envelope_bytes = encode(envelope)
    signature = key.sign(SIGNATURE_CONTEXT + envelope_bytes)
    return decode_entry(encode([envelope_bytes, signature]))
