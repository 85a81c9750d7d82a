"""The wire of the alert push (``/coopledger/alert/1.0.0``, node/_alerts.py): one
message per frame (node/_framing.py: a 4-byte big-endian length), each a canonical
msgpack map whose ``t`` names its type (``offer``, ``entries``, ``answer``). Parsing
checks every field and raises ``PushError`` (the other side's fault) naming what is
wrong, never echoing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coopledger.protocol import MAX_ENTRY_SIZE, BadEncoding, Value, decode, encode

from ._errors import NodeError
from ._framing import FrameTooLarge, StreamEnded, StreamLike, read_frame
from ._framing import frame as frame_bytes

ALERT_PROTOCOL = "/coopledger/alert/1.0.0"
# A frame holds one entry (offer, answer) plus a little framing...
MAX_SMALL_FRAME = MAX_ENTRY_SIZE + 1024
# ...or the raiser's missing entries: at most this many, in at most this many bytes
# (a log written by hand rarely grows by 256 entries between two syncs; a longer gap
# is left to the pull sync the receiver starts).
MAX_PUSH_ENTRIES = 256
MAX_ENTRIES_FRAME = 4 * 1024 * 1024
STATUSES = ("acked", "need", "pending", "not-a-target", "refused")


# -- the wire ------------------------------------------------------------------------


class PushError(NodeError):
    """The other side broke the push exchange (its fault): ``reason`` is a code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True, slots=True)
class Answer:
    status: str
    ack: bytes | None = None
    after: int | None = None
    reason: str | None = None

    def to_value(self) -> dict[str, Value]:
        v: dict[str, Value] = {"t": "answer", "status": self.status}
        if self.ack is not None:
            v["ack"] = self.ack
        if self.after is not None:
            v["after"] = self.after
        if self.reason is not None:
            v["reason"] = self.reason
        return v


def frame(value: dict[str, Value]) -> bytes:
    """One message, encoded and framed (node/_framing.py)."""
    return frame_bytes(encode(value))


async def read_message(stream: StreamLike, limit: int) -> dict[str, Value]:
    """One message; PushError if it is over ``limit`` bytes or not a msgpack map
    with a string ``t``."""
    try:
        data = await read_frame(stream, limit)
    except StreamEnded:
        raise PushError("closed:alert-stream", "the stream ended inside a message") from None
    except FrameTooLarge as exc:
        raise PushError("invalid:alert-too-large", f"a message of {exc.size} bytes is over "
                        f"the limit of {limit}") from None
    try:
        value = decode(data, what="alert message")
    except BadEncoding as exc:
        raise PushError("invalid:alert-encoding", exc.message) from None
    if not isinstance(value, dict) or not isinstance(value.get("t"), str):
        raise PushError("invalid:alert-message", "a message is a map with a type 't'")
    return value


def _expect(msg: dict[str, Value], t: str, fields: Mapping[str, type]) -> None:
    if msg["t"] != t:
        raise PushError("invalid:alert-message", f"expected a {t!r} message")
    extra = set(msg) - {"t", *fields}
    if extra:
        raise PushError("invalid:alert-message", f"{len(extra)} unknown field(s) in {t!r}")


def parse_offer(msg: dict[str, Value]) -> bytes:
    _expect(msg, "offer", {"raise": bytes})
    raw = msg.get("raise")
    if not isinstance(raw, bytes):
        raise PushError("invalid:alert-message", "offer: 'raise' must be entry bytes")
    return raw


def parse_entries(msg: dict[str, Value]) -> list[bytes]:
    _expect(msg, "entries", {"entries": list})
    items = msg.get("entries")
    if not isinstance(items, list) or len(items) > MAX_PUSH_ENTRIES or not all(
            isinstance(x, bytes) for x in items):
        raise PushError("invalid:alert-message", "entries: a list of at most "
                        f"{MAX_PUSH_ENTRIES} entries (bytes)")
    return [x for x in items if isinstance(x, bytes)]


def parse_answer(msg: dict[str, Value]) -> Answer:
    _expect(msg, "answer", {"status": str, "ack": bytes, "after": int, "reason": str})
    status, ack, after, reason = (msg.get(k) for k in ("status", "ack", "after", "reason"))
    if status not in STATUSES:
        raise PushError("invalid:alert-message", "answer: unknown status")
    if (ack is not None and not isinstance(ack, bytes)) or (status == "acked") != (
            ack is not None):
        raise PushError("invalid:alert-message", "answer: 'ack' (entry bytes) comes "
                        "with status acked, and only then")
    if (after is not None and (isinstance(after, bool) or not isinstance(after, int)
                               or after < 0)) or (status == "need") != (after is not None):
        raise PushError("invalid:alert-message", "answer: 'after' (a seq) comes with "
                        "status need, and only then")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 100):
        raise PushError("invalid:alert-message", "answer: 'reason' is a short code")
    return Answer(str(status), ack, after if isinstance(after, int) else None, reason)


def entry_kind(entry_bytes: bytes) -> str | None:
    """The kind field of ``entry_bytes`` without checking anything else (None if it
    cannot be read: validation refuses such bytes later)."""
    try:
        outer = decode(entry_bytes, what="entry")
        if type(outer) is not list or len(outer) != 2 or type(outer[0]) is not bytes:
            return None
        env = decode(outer[0], what="envelope")
    except BadEncoding:
        return None
    kind = env.get("kind") if isinstance(env, dict) else None
    return kind if isinstance(kind, str) else None
