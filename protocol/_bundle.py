"""Bundles: entries in a file, for USB sticks and e-mail (blackout transport).

Format (all integers big-endian)::

    bundle  = header record* trailer
    header  = "COOPBNDL" version:u8 (=1) flags:u8 (=0) reserved:u16 (=0)      12 bytes
    record  = type:u8 length:u32 payload[length] crc:u32
    trailer = a record of type END whose payload is encode({"count": n})

``crc`` is CRC-32 (zlib) over type, length and payload: it tells *damage in transit*
(a bad block on a stick) from *forgery* (a valid checksum over an entry whose signature
does not verify), so an importer can say which it was. Record types: ENTRY (payload:
entry bytes) and END; unknown types are skipped, so newer writers can add some.

The parser is sans-I/O: ``feed(chunk)`` bytes in, ``next_event()`` events out.
After damage it resynchronises by scanning forward for the next offset where a whole
record with a valid checksum starts, and reports the damaged span with its byte
offsets. One damaged record costs that record and nothing else.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ._codec import decode, encode
from ._entry import MAX_ENTRY_SIZE
from ._errors import BadEncoding, BundleError

BUNDLE_MAGIC = b"COOPBNDL"
BUNDLE_VERSION = 1
HEADER_SIZE = 12
RECORD_ENTRY = 0x01
RECORD_END = 0x7F
_KNOWN_TYPES = {RECORD_ENTRY, RECORD_END}
# Records of types we do not know may be larger than an entry, but not unboundedly:
# a damaged length field must not make us wait for gigabytes.
MAX_RECORD_PAYLOAD = max(MAX_ENTRY_SIZE, 1 << 20)
_REC_HEAD = struct.Struct(">BI")
_CRC = struct.Struct(">I")
_OVERHEAD = _REC_HEAD.size + _CRC.size


def bundle_header() -> bytes:
    return BUNDLE_MAGIC + bytes([BUNDLE_VERSION, 0, 0, 0])


def bundle_record(payload: bytes, rtype: int = RECORD_ENTRY) -> bytes:
    head = _REC_HEAD.pack(rtype, len(payload))
    return head + payload + _CRC.pack(zlib.crc32(head + payload))


def bundle_trailer(count: int) -> bytes:
    return bundle_record(encode({"count": count}), RECORD_END)


@dataclass(frozen=True, slots=True)
class BundleRecord:
    """A record with a valid checksum. ``offset`` is where it starts in the file."""

    offset: int
    type: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class BundleDamage:
    """Bytes ``[offset, offset + length)`` are not a valid record; ``reason`` says why."""

    offset: int
    length: int
    reason: str


@dataclass(frozen=True, slots=True)
class BundleEnd:
    """The bundle ended. ``complete`` is False if the trailer was missing or the file
    was cut short; ``expected`` is the trailer's entry count (None without one)."""

    offset: int
    complete: bool
    expected: int | None
    seen: int


Event = BundleRecord | BundleDamage | BundleEnd


class BundleParser:
    """Turns bundle bytes into events. Call ``feed`` with chunks, ``feed_eof`` at the
    end, and ``next_event`` until it returns None (needs more data) or a BundleEnd.

    Raises BundleError from ``feed`` if the header is not a bundle header: that is the
    one damage it cannot step over, because nothing says what the file is.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # file offset of _buf[0]
        self._eof = False
        self._header_done = False
        self._ended = False
        self._seen = 0  # entry records delivered, in all sections
        # Concatenated bundles (``cat a b > c``) are sections of one file. Between a
        # trailer and the next header we are not in a section.
        self._in_section = True
        self._section_seen = 0
        self._expected: int | None = 0  # sum of the trailers' counts; None if unknown
        self._all_complete = True
        self._last_trailer: int | None = None
        self._damage_start: int | None = None
        self._damage_reason = ""

    def feed(self, data: bytes) -> None:
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        self._buf += data
        self._check_header()

    def feed_eof(self) -> None:
        self._eof = True
        self._check_header()

    def _check_header(self) -> None:
        if self._header_done:
            return
        if len(self._buf) < HEADER_SIZE and not self._eof:
            return
        head = bytes(self._buf[:HEADER_SIZE])
        if not head.startswith(BUNDLE_MAGIC[: len(head)]) or len(head) < len(BUNDLE_MAGIC):
            raise BundleError("not a coopledger bundle (the file does not start with COOPBNDL)")
        if len(head) < HEADER_SIZE:
            raise BundleError("bundle is cut short inside its 12-byte header")
        if head[8] != BUNDLE_VERSION:
            raise BundleError(
                f"bundle format version {head[8]} is not supported (this node reads "
                f"version {BUNDLE_VERSION})"
            )
        del self._buf[:HEADER_SIZE]
        self._base = HEADER_SIZE
        self._header_done = True

    def _try_record(self, pos: int) -> tuple[str, int, int, bytes] | None:
        """Parse a record at buffer index ``pos``: ("ok", type, size, payload),
        ("bad", 0, 0, reason-bytes) or None if more data is needed to decide."""
        buf = self._buf
        if len(buf) - pos < _REC_HEAD.size:
            return None
        rtype, length = _REC_HEAD.unpack_from(buf, pos)
        if length > MAX_RECORD_PAYLOAD or (rtype == RECORD_ENTRY and length > MAX_ENTRY_SIZE):
            return ("bad", 0, 0, b"record length out of range")
        end = pos + _REC_HEAD.size + length + _CRC.size
        if len(buf) < end:
            return None
        body = bytes(buf[pos : end - _CRC.size])
        (crc,) = _CRC.unpack_from(buf, end - _CRC.size)
        if zlib.crc32(body) != crc:
            return ("bad", 0, 0, b"checksum mismatch")
        return ("ok", rtype, end - pos, body[_REC_HEAD.size :])

    def next_event(self) -> Event | None:
        """The next event, or None if more data (or ``feed_eof``) is needed."""
        if not self._header_done or self._ended:
            return None
        while True:
            if not self._buf:
                if not self._eof:
                    return None
                if self._damage_start is not None:
                    return self._flush_damage(self._base, drop=0)
                return self._finish()
            if not self._in_section:
                # After a trailer: the end of the file, or the header of another bundle
                # appended to this one; anything else is damage up to the next header.
                if len(self._buf) < HEADER_SIZE and not self._eof:
                    return None
                if self._buf[:HEADER_SIZE] == bundle_header():
                    if self._damage_start is not None:
                        return self._flush_damage(self._base, drop=0)
                    del self._buf[:HEADER_SIZE]
                    self._base += HEADER_SIZE
                    self._in_section = True
                    self._section_seen = 0
                    continue
                if self._damage_start is None:
                    self._damage_start = self._base
                    self._damage_reason = "bytes after the end of the bundle"
                del self._buf[:1]
                self._base += 1
                continue
            parsed = self._try_record(0)
            if parsed is None:
                if not self._eof:
                    return None
                # At the end of the file, a record that claims more bytes than remain is
                # not a record here: a file cut short, or a false start while resyncing.
                parsed = ("bad", 0, 0, b"file is cut short inside a record")
            status, rtype, size, payload = parsed
            if status == "bad":
                if self._damage_start is None:
                    self._damage_start = self._base
                    self._damage_reason = payload.decode()
                # Step one byte and try again: resynchronise on the next valid record.
                del self._buf[:1]
                self._base += 1
                continue
            if self._damage_start is not None:
                return self._flush_damage(self._base, drop=0)
            offset = self._base
            del self._buf[:size]
            self._base += size
            if rtype == RECORD_END:
                self._end_section(payload, offset)
                continue
            if rtype == RECORD_ENTRY:
                self._seen += 1
                self._section_seen += 1
            return BundleRecord(offset, rtype, payload)

    def _flush_damage(self, until: int, drop: int) -> BundleDamage:
        assert self._damage_start is not None
        start = self._damage_start
        self._damage_start = None
        if drop:
            del self._buf[:drop]
            self._base += drop
        return BundleDamage(start, until - start, self._damage_reason)

    def _end_section(self, trailer: bytes, offset: int) -> None:
        try:
            value = decode(trailer, what="bundle trailer")
        except BadEncoding:
            value = None
        count = value.get("count") if isinstance(value, dict) else None
        if not isinstance(count, int) or isinstance(count, bool):
            self._expected = None
            self._all_complete = False
        else:
            if self._expected is not None:
                self._expected += count
            self._all_complete &= count == self._section_seen
        self._last_trailer = offset
        self._in_section = False

    def _finish(self) -> BundleEnd:
        self._ended = True
        if self._in_section:  # the file ended before the (last) trailer
            return BundleEnd(self._base, False, None, self._seen)
        assert self._last_trailer is not None
        return BundleEnd(self._last_trailer, self._all_complete, self._expected, self._seen)
