"""Sync (pull) messages, their limits, their codec, and the sync errors.

Every message is one canonical msgpack map (see _codec) with a ``"t"`` type tag:

    hello    {"t": "hello", "v": 1, "network": str, "full": bool,
              "memory": bin32, ["want": [author bin32, …]]}   (want optional)
    heads    {"t": "heads", "heads": [[author bin32, seq, head bin32, held], …],
              "last": bool}
    entries  {"t": "entries", "n": int, "entries": [entry bytes, …]}
    ack      {"t": "ack", "n": int}
    end      {"t": "end"}

``decode_message`` is strict: unknown type, a missing or extra field, a wrong type, a
value out of range or an oversize message raise RemoteProtocolError with an
``invalid:sync-…`` reason code. Messages never echo the payload they reject.

Errors (defined in _errors.py with the rest of the package's hierarchy)::

    LedgerError
     └── ProtocolError
          ├── LocalProtocolError     we misused a SyncSession: a bug in the driver
          └── RemoteProtocolError    the peer sent something illegal: drop it, log
                                     ``reason_code``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from ._codec import decode, encode
from ._entry import MAX_ENTRY_SIZE, MAX_SAFE_INT
from ._errors import BadEncoding, LocalProtocolError, RemoteProtocolError

SYNC_VERSION = 1
# The stream protocol id node/ registers with libp2p.
SYNC_PROTOCOL_ID = "/coopledger/sync/1"
# Network names are config values like "default" or a federation slug.
MAX_NETWORK_NAME = 64
# One head is ~85 bytes on the wire: 1024 keep a heads message under ~90 KiB, well
# inside MAX_MESSAGE_SIZE, while 100 authors still fit in one message.
MAX_HEADS_PER_MESSAGE = 1024
# Distinct authors one side may announce in a session: a federation has hundreds of
# co-ops, each with a few keys; 100,000 bounds a hostile peer's heads at ~15 MB here.
MAX_AUTHORS = 100_000
# Authors a side may list in ``want`` (its replication scope): the hello must fit in one
# frame (34 bytes per author: 7,000 make ~238 KB < MAX_MESSAGE_SIZE). A federation has
# hundreds of co-ops; a node whose scope is larger sends no ``want`` (everything).
MAX_WANT = 7_000
# Entries per batch: ledger entries are ~300 bytes, so a full batch is ~80 KB, large
# enough to amortise one ack round trip, small enough to store in one transaction.
MAX_BATCH = 256
# Bytes of entries per batch: must hold at least one entry of MAX_ENTRY_SIZE; 256 KiB
# bounds what one message can make the receiver buffer.
MAX_BATCH_BYTES = 256 * 1024
# Un-acked batches a sender may have in flight. With MAX_BATCH_BYTES this bounds the
# receiver's buffer at 1 MiB per peer, and keeps the pipe full over one round trip.
WINDOW = 4
# The largest encoded message: a full batch plus msgpack framing (5 bytes per entry at
# most, and the map around it). Drivers SHOULD refuse longer frames before reading them.
MAX_MESSAGE_SIZE = MAX_BATCH_BYTES + 8 * 1024

ZERO_ID = bytes(32)

assert MAX_BATCH_BYTES >= MAX_ENTRY_SIZE, "a batch must be able to hold any valid entry"


class Head(NamedTuple):
    """One author's head as a side announces it.

    ``seq`` is the longest contiguous prefix held (every seq 1..seq has an entry),
    ``head`` the smallest entry id held at ``seq``, ``held`` the number of entries held
    at seqs 1..seq (more than ``seq`` means the prefix holds a fork). ``NO_HEAD``
    (seq 0) says "I hold nothing of this author" (used in incremental heads only).
    """

    seq: int
    head: bytes
    held: int


NO_HEAD = Head(0, ZERO_ID, 0)


@dataclass(frozen=True, slots=True)
class Hello:
    """First message of each side. ``full`` asks for full heads (no usable memory);
    ``memory`` is the digest of the PeerMemory for this peer (zero without one); equal
    digests on both sides allow incremental heads. ``want`` is the sorted authors whose
    logs the sender replicates (None: every author, the field is then absent)."""

    network: str
    full: bool
    memory: bytes = ZERO_ID
    want: tuple[bytes, ...] | None = None


@dataclass(frozen=True, slots=True)
class Heads:
    """Part of a side's heads; ``last`` marks the final part."""

    heads: tuple[tuple[bytes, Head], ...]
    last: bool


@dataclass(frozen=True, slots=True)
class Entries:
    """Batch ``n`` (1, 2, 3 … per direction) of entry bytes."""

    n: int
    entries: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Ack:
    """Batch ``n`` and every batch before it are durably stored."""

    n: int


@dataclass(frozen=True, slots=True)
class End:
    """I have sent everything I will send, and all of it was acked."""


Message: TypeAlias = Hello | Heads | Entries | Ack | End

MESSAGE_TYPES: dict[str, type[Message]] = {
    "hello": Hello, "heads": Heads, "entries": Entries, "ack": Ack, "end": End,
}
_TAGS: dict[type[Message], str] = {v: k for k, v in MESSAGE_TYPES.items()}
# Fields a message may carry besides _FIELDS (absent means the default).
_OPTIONAL: dict[str, frozenset[str]] = {"hello": frozenset({"want"})}
_FIELDS: dict[str, frozenset[str]] = {
    "hello": frozenset({"t", "v", "network", "full", "memory"}),
    "heads": frozenset({"t", "heads", "last"}),
    "entries": frozenset({"t", "n", "entries"}),
    "ack": frozenset({"t", "n"}),
    "end": frozenset({"t"}),
}


def _bad(message: str, field: str | None = None, code: str = "invalid:sync-field",
         ) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason_code=code, field=field)


def _int(value: object, field: str, low: int) -> int:
    if type(value) is not int:
        raise _bad("must be an integer", field)
    if not low <= value <= MAX_SAFE_INT:
        raise _bad(f"must be between {low} and 2**53-1", field)
    return value


def _bin32(value: object, field: str) -> bytes:
    if type(value) is not bytes or len(value) != 32:
        raise _bad("must be 32 bytes", field)
    return value


def _bool(value: object, field: str) -> bool:
    if type(value) is not bool:
        raise _bad("must be a bool", field)
    return value


def _want(value: object) -> tuple[bytes, ...]:
    """A hello's ``want``: at most MAX_WANT authors, strictly increasing."""
    if type(value) is not list:
        raise _bad("must be a list", "want")
    if len(value) > MAX_WANT:
        raise _bad(f"more than {MAX_WANT} authors", "want", "invalid:sync-too-large")
    prev = b""
    for a in value:
        _bin32(a, "want")
        if a <= prev:
            raise _bad("authors must be sorted and unique", "want")
        prev = a
    return tuple(value)


def check_head(author: object, head: Head | tuple[object, object, object]) -> Head:
    """Validate one head (also used for memory and local heads). Raises
    RemoteProtocolError (callers re-raise as local errors for their own data)."""
    _bin32(author, "heads.author")
    seq = _int(head[0], "heads.seq", 0)
    hid = _bin32(head[1], "heads.head")
    held = _int(head[2], "heads.held", 0)
    if seq == 0 and (hid != ZERO_ID or held != 0):
        raise _bad("seq 0 needs a zero head and held 0", "heads.seq")
    if seq > 0 and held < seq:
        raise _bad("held is below seq", "heads.held")
    return Head(seq, hid, held)


def heads_to_value(heads: tuple[tuple[bytes, Head], ...] | list[tuple[bytes, Head]],
                   ) -> list[list[bytes | int]]:
    return [[a, h.seq, h.head, h.held] for a, h in heads]


def heads_from_value(value: object, *, limit: int | None = MAX_HEADS_PER_MESSAGE,
                     ) -> tuple[tuple[bytes, Head], ...]:
    """Decode a list of heads; authors must be strictly increasing (so unique).
    ``limit`` is None for our own stored memory, which may hold any number of authors."""
    if type(value) is not list:
        raise _bad("must be a list", "heads")
    if limit is not None and len(value) > limit:
        raise _bad(f"more than {MAX_HEADS_PER_MESSAGE} heads", "heads",
                   "invalid:sync-too-large")
    out: list[tuple[bytes, Head]] = []
    prev = b""
    for item in value:
        if type(item) is not list or len(item) != 4:
            raise _bad("each head must be [author, seq, head, held]", "heads")
        author = _bin32(item[0], "heads.author")
        if author <= prev:
            raise _bad("authors must be sorted and unique", "heads.author")
        prev = author
        out.append((author, check_head(author, (item[1], item[2], item[3]))))
    return tuple(out)


def encode_message(msg: Message) -> bytes:
    """The canonical bytes of ``msg``. Raises LocalProtocolError if ``msg`` breaks a
    limit (our own bug: the session never builds such a message)."""
    value: dict[str, object]
    if isinstance(msg, Hello):
        value = {"v": SYNC_VERSION, "network": msg.network, "full": msg.full,
                 "memory": msg.memory}
        if msg.want is not None:
            value["want"] = list(msg.want)
    elif isinstance(msg, Heads):
        value = {"heads": heads_to_value(msg.heads), "last": msg.last}
    elif isinstance(msg, Entries):
        value = {"n": msg.n, "entries": list(msg.entries)}
    elif isinstance(msg, Ack):
        value = {"n": msg.n}
    else:
        value = {}
    value["t"] = _TAGS[type(msg)]
    data = encode(value)
    try:
        decode_message(data)
    except RemoteProtocolError as exc:
        raise LocalProtocolError(f"refusing to send an invalid message ({exc})") from exc
    return data


def decode_message(data: bytes) -> Message:
    """Decode and validate one message. Raises RemoteProtocolError (the peer's fault)
    with reason codes ``invalid:sync-too-large``, ``-encoding``, ``-type``, ``-fields``,
    ``-version`` or ``-field``. Any other exception is a bug here."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise _bad(f"message over {MAX_MESSAGE_SIZE} bytes", None, "invalid:sync-too-large")
    try:
        value = decode(data, what="sync message")
    except BadEncoding as exc:
        raise _bad(f"not canonical msgpack ({exc.reason_code})", None,
                   "invalid:sync-encoding") from exc
    if type(value) is not dict:
        raise _bad("message must be a map", None, "invalid:sync-encoding")
    tag = value.get("t")
    if type(tag) is not str or tag not in MESSAGE_TYPES:
        raise _bad("unknown message type", "t", "invalid:sync-type")
    keys = set(value)
    if keys != _FIELDS[tag]:
        missing = sorted(_FIELDS[tag] - keys)
        if missing:
            raise _bad("missing", missing[0], "invalid:sync-fields")
        if keys - _FIELDS[tag] - _OPTIONAL.get(tag, frozenset()):
            raise _bad(f"unknown field in {tag}", None, "invalid:sync-fields")
    if tag == "hello":
        if value["v"] != SYNC_VERSION or type(value["v"]) is not int:
            raise _bad(f"unsupported version (this node speaks {SYNC_VERSION})", "v",
                       "invalid:sync-version")
        network = value["network"]
        if type(network) is not str or not 0 < len(network) <= MAX_NETWORK_NAME:
            raise _bad(f"must be text of 1 to {MAX_NETWORK_NAME} characters", "network")
        return Hello(network=network, full=_bool(value["full"], "full"),
                     memory=_bin32(value["memory"], "memory"),
                     want=_want(value["want"]) if "want" in value else None)
    if tag == "heads":
        return Heads(heads=heads_from_value(value["heads"]),
                     last=_bool(value["last"], "last"))
    if tag == "entries":
        n = _int(value["n"], "n", 1)
        items = value["entries"]
        if type(items) is not list or not items:
            raise _bad("must be a non-empty list", "entries")
        if len(items) > MAX_BATCH:
            raise _bad(f"more than {MAX_BATCH} entries", "entries", "invalid:sync-too-large")
        total = 0
        for e in items:
            if type(e) is not bytes or not e:
                raise _bad("each entry must be non-empty bytes", "entries")
            if len(e) > MAX_ENTRY_SIZE:
                raise _bad(f"an entry is over {MAX_ENTRY_SIZE} bytes", "entries",
                           "invalid:sync-too-large")
            total += len(e)
        if total > MAX_BATCH_BYTES:
            raise _bad(f"batch over {MAX_BATCH_BYTES} bytes", "entries",
                       "invalid:sync-too-large")
        return Entries(n=n, entries=tuple(items))  # type: ignore[arg-type]
    if tag == "ack":
        return Ack(n=_int(value["n"], "n", 1))
    return End()
