"""Bundle files: the writer functions and the sans-I/O parser, including damage.

The contract under test: one damaged record costs that record and nothing else, the
damage is reported at its exact byte offset, a file cut short yields what precedes the
cut, and only a file that is not a bundle at all raises.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    BUNDLE_MAGIC,
    RECORD_ENTRY,
    BundleDamage,
    BundleEnd,
    BundleError,
    BundleParser,
    BundleRecord,
    Entry,
    LedgerError,
    bundle_header,
    bundle_record,
    bundle_trailer,
    create_entry,
    decode_entry,
    encode,
)
from coopledger.protocol._bundle import (
    HEADER_SIZE,
    MAX_RECORD_PAYLOAD,
    RECORD_END,
)

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
Event = BundleRecord | BundleDamage | BundleEnd


def _entries() -> list[Entry]:
    g = create_entry(KEY, seq=1, prev=None, ts=1000, kind="genesis", body={"name": "Garden"})
    e2 = create_entry(KEY, seq=2, prev=g.id, ts=2000, kind="labor",
                      body={"member": "ana", "hours": "2.5", "task": "weeding",
                            "category": "care", "date": "2026-03-01"})
    e3 = create_entry(KEY, seq=3, prev=e2.id, ts=3000, kind="x.note", body={"t": "hi"})
    return [g, e2, e3]


ENTRIES = _entries()


def build(payloads: Sequence[bytes], count: int | None = None,
          types: Sequence[int] | None = None) -> tuple[bytes, list[tuple[int, int]]]:
    """A bundle of ``payloads`` and the (offset, size) of every record, trailer last."""
    out = bytearray(bundle_header())
    spans = []
    for i, p in enumerate(payloads):
        rec = bundle_record(p, RECORD_ENTRY if types is None else types[i])
        spans.append((len(out), len(rec)))
        out += rec
    trailer = bundle_trailer(len(payloads) if count is None else count)
    spans.append((len(out), len(trailer)))
    out += trailer
    return bytes(out), spans


DATA, SPANS = build([e.raw for e in ENTRIES])


def parse(data: bytes, chunks: Sequence[int] = ()) -> list[Event]:
    """Feed ``data`` in chunks of the given sizes (the rest in one go), then EOF, and
    collect every event. Checks that BundleEnd comes last and exactly once."""
    parser = BundleParser()
    events: list[Event] = []

    def drain() -> None:
        while (ev := parser.next_event()) is not None:
            events.append(ev)
            if isinstance(ev, BundleEnd):
                break

    pos = 0
    for n in chunks:
        parser.feed(data[pos : pos + n])
        pos += n
        drain()
    parser.feed(data[pos:])
    drain()
    parser.feed_eof()
    drain()
    assert isinstance(events[-1], BundleEnd)
    assert sum(isinstance(e, BundleEnd) for e in events) == 1
    assert parser.next_event() is None  # nothing after the end
    return events


def good_events(skip: int | None = None) -> list[Event]:
    return [BundleRecord(off, RECORD_ENTRY, ENTRIES[i].raw)
            for i, (off, _) in enumerate(SPANS[:-1]) if i != skip]


# --- writing and reading ---------------------------------------------------------------------


def test_layout() -> None:
    assert bundle_header() == b"COOPBNDL\x01\x00\x00\x00"
    assert len(bundle_header()) == HEADER_SIZE
    assert BUNDLE_MAGIC == b"COOPBNDL"
    rec = bundle_record(b"abc")
    assert rec[:5] == b"\x01\x00\x00\x00\x03"
    assert rec[5:8] == b"abc"
    assert rec[8:] == struct.pack(">I", zlib.crc32(b"\x01\x00\x00\x00\x03abc"))
    trailer = bundle_trailer(7)
    assert trailer[0] == RECORD_END == 0x7F
    assert trailer[5:-4] == encode({"count": 7})


def test_round_trip() -> None:
    events = parse(DATA)
    assert events == [*good_events(), BundleEnd(SPANS[-1][0], True, 3, 3)]
    assert [decode_entry(e.payload) for e in events[:-1]] == ENTRIES  # type: ignore[union-attr]


def test_empty_bundle() -> None:
    data, _spans = build([])
    assert parse(data) == [BundleEnd(HEADER_SIZE, True, 0, 0)]


@given(st.lists(st.integers(0, 64), max_size=40))
@settings(max_examples=200, deadline=None)
def test_any_chunking_gives_the_same_events(chunks: list[int]) -> None:
    assert parse(DATA, chunks) == parse(DATA)


def test_byte_by_byte() -> None:
    assert parse(DATA, [1] * len(DATA)) == parse(DATA)


def test_records_come_out_before_the_end_of_the_file() -> None:
    parser = BundleParser()
    first_end = SPANS[0][0] + SPANS[0][1]
    parser.feed(DATA[: first_end - 1])
    assert parser.next_event() is None  # one byte short of the first record
    parser.feed(DATA[first_end - 1 : first_end])
    assert parser.next_event() == good_events()[0]
    assert parser.next_event() is None


def test_feed_after_eof_is_a_usage_error() -> None:
    parser = BundleParser()
    parser.feed(DATA)
    parser.feed_eof()
    with pytest.raises(RuntimeError):
        parser.feed(b"x")


def test_unknown_record_types_are_delivered_with_their_type() -> None:
    payloads = [ENTRIES[0].raw, b"future stuff", ENTRIES[1].raw, b""]
    data, spans = build(payloads, count=2, types=[RECORD_ENTRY, 0x42, RECORD_ENTRY, 0x02])
    events = parse(data)
    assert events == [
        BundleRecord(spans[0][0], RECORD_ENTRY, ENTRIES[0].raw),
        BundleRecord(spans[1][0], 0x42, b"future stuff"),
        BundleRecord(spans[2][0], RECORD_ENTRY, ENTRIES[1].raw),
        BundleRecord(spans[3][0], 0x02, b""),
        BundleEnd(spans[4][0], True, 2, 2),  # only entry records count
    ]


def test_unknown_record_types_may_be_larger_than_an_entry() -> None:
    big = bytes(200_000)
    data, spans = build([big, ENTRIES[0].raw], count=1, types=[0x42, RECORD_ENTRY])
    assert parse(data)[0] == BundleRecord(HEADER_SIZE, 0x42, big)
    assert parse(data)[-1] == BundleEnd(spans[-1][0], True, 1, 1)


@pytest.mark.parametrize(("count", "expected"), [(2, 2), (4, 4), (0, 0)])
def test_trailer_count_mismatch_is_incomplete(count: int, expected: int) -> None:
    data, spans = build([e.raw for e in ENTRIES], count=count)
    assert parse(data)[-1] == BundleEnd(spans[-1][0], False, expected, 3)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", encode({"n": 3}), encode({"count": True}), encode({"count": "3"}),
     encode([3]), b"\x81\xa5count\xcc\x03"],  # the last: 3 in a non-canonical form
)
def test_unreadable_trailer_is_incomplete(payload: bytes) -> None:
    data, spans = build([e.raw for e in ENTRIES])
    data = data[: spans[-1][0]] + bundle_record(payload, RECORD_END)
    assert parse(data)[-1] == BundleEnd(spans[-1][0], False, None, 3)


def test_missing_trailer_is_incomplete() -> None:
    data = DATA[: SPANS[-1][0]]
    assert parse(data) == [*good_events(), BundleEnd(len(data), False, None, 3)]


def test_bytes_after_the_trailer_are_damage_not_silence() -> None:
    junk = bundle_record(ENTRIES[0].raw) + b"junk"
    events = parse(DATA + junk)
    assert events[:-2] == parse(DATA)[:-1]
    assert events[-2] == BundleDamage(len(DATA), len(junk), "bytes after the end of the bundle")
    assert events[-1] == parse(DATA)[-1]  # the bundle itself is still complete


def test_concatenated_bundles_are_read_as_one() -> None:
    # `cat a.coopbundle b.coopbundle > both.coopbundle` on a USB stick.
    events = parse(DATA + DATA, chunks=[5, 100, 7])
    records = [e for e in events if isinstance(e, BundleRecord)]
    assert [r.payload for r in records] == [e.raw for e in ENTRIES] * 2
    assert [r.offset for r in records[3:]] == [len(DATA) + r.offset for r in records[:3]]
    assert events[-1] == BundleEnd(len(DATA) + SPANS[-1][0], True, 6, 6)


def test_concatenated_bundles_with_junk_between_them() -> None:
    events = parse(DATA + b"\x00junk\n" + DATA)
    damage = [e for e in events if isinstance(e, BundleDamage)]
    assert damage == [BundleDamage(len(DATA), 6, "bytes after the end of the bundle")]
    assert sum(isinstance(e, BundleRecord) for e in events) == 6
    assert isinstance(events[-1], BundleEnd) and events[-1].complete


def test_a_cut_second_bundle_makes_the_file_incomplete() -> None:
    events = parse(DATA + DATA[: SPANS[1][0]])
    assert sum(isinstance(e, BundleRecord) for e in events) == 4
    end = events[-1]
    assert isinstance(end, BundleEnd) and not end.complete and end.seen == 4


# --- the header ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"C",
        b"COOP",
        b"COOPBND",
        b"GARBAGE!",
        b"PK\x03\x04" + bytes(60),  # a zip file
        b"coopbndl\x01\x00\x00\x00",
        b"COOPBNDX\x01\x00\x00\x00" + DATA[HEADER_SIZE:],
        b"COOPBNDL",  # magic only
        b"COOPBNDL\x01\x00\x00",  # one byte short
        b"COOPBNDL\x02\x00\x00\x00" + DATA[HEADER_SIZE:],  # a newer version
        b"COOPBNDL\x00\x00\x00\x00" + DATA[HEADER_SIZE:],
        b"COOPBNDL\xff\x00\x00\x00",
    ],
)
def test_header_errors(data: bytes) -> None:
    parser = BundleParser()
    with pytest.raises(BundleError) as info:
        parser.feed(data)
        parser.feed_eof()
    assert isinstance(info.value, LedgerError)


def test_wrong_magic_is_refused_as_soon_as_the_header_is_in() -> None:
    parser = BundleParser()
    parser.feed(b"GARBAGE")  # not yet 12 bytes: undecided
    assert parser.next_event() is None
    with pytest.raises(BundleError, match="not a coopledger bundle"):
        parser.feed(b"!!!!!")


def test_wrong_version_names_the_version() -> None:
    with pytest.raises(BundleError, match="version 2"):
        BundleParser().feed(b"COOPBNDL\x02\x00\x00\x00")


# --- damage --------------------------------------------------------------------------------


def _expected_after_damage(at: int) -> list[Event]:
    """The events for DATA with byte ``at`` (past the header) damaged."""
    idx = next(i for i, (off, size) in enumerate(SPANS) if off <= at < off + size)
    off, size = SPANS[idx]
    if idx == len(SPANS) - 1:  # the trailer: every entry survives, the end is unknown
        return [*good_events(), BundleDamage(off, size, "checksum mismatch"),
                BundleEnd(len(DATA), False, None, 3)]
    events: list[Event] = good_events()
    events[idx] = BundleDamage(off, size, "checksum mismatch")
    events.append(BundleEnd(SPANS[-1][0], False, 3, 2))
    return events


def _same(got: list[Event], want: list[Event]) -> None:
    # Reasons depend on which header byte was hit; compare them separately.
    reasons = {"checksum mismatch", "record length out of range",
               "file is cut short inside a record"}
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if isinstance(w, BundleDamage):
            assert isinstance(g, BundleDamage)
            assert (g.offset, g.length) == (w.offset, w.length)
            assert g.reason in reasons
        else:
            assert g == w


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_a_damaged_byte_costs_exactly_its_record(mask: int) -> None:
    # Every byte of every record (type, length, payload, checksum) and of the trailer.
    for at in range(HEADER_SIZE, len(DATA)):
        damaged = bytearray(DATA)
        damaged[at] ^= mask
        _same(parse(bytes(damaged)), _expected_after_damage(at))


def test_damage_reason_for_a_payload_byte_is_a_checksum_mismatch() -> None:
    off, size = SPANS[1]
    damaged = bytearray(DATA)
    damaged[off + 20] ^= 0x01
    dmg = [e for e in parse(bytes(damaged)) if isinstance(e, BundleDamage)]
    assert dmg == [BundleDamage(off, size, "checksum mismatch")]


def test_a_huge_length_field_is_out_of_range() -> None:
    off, size = SPANS[0]
    damaged = bytearray(DATA)
    damaged[off + 1] = 0xFF  # the length's top byte: ~4 GiB
    dmg = [e for e in parse(bytes(damaged)) if isinstance(e, BundleDamage)]
    assert dmg == [BundleDamage(off, size, "record length out of range")]


def test_an_entry_record_longer_than_an_entry_is_out_of_range() -> None:
    data, spans = build([bytes(MAX_RECORD_PAYLOAD + 1)], count=0, types=[0x42])
    assert parse(data)[0] == BundleDamage(HEADER_SIZE, spans[0][1], "record length out of range")
    data, spans = build([bytes(70_000), ENTRIES[0].raw], count=2)  # > MAX_ENTRY_SIZE
    assert parse(data) == [
        BundleDamage(HEADER_SIZE, spans[0][1], "record length out of range"),
        BundleRecord(spans[1][0], RECORD_ENTRY, ENTRIES[0].raw),
        BundleEnd(spans[2][0], False, 2, 1),
    ]


def test_adjacent_damaged_records_are_one_span() -> None:
    damaged = bytearray(DATA)
    damaged[SPANS[0][0] + 30] ^= 0x10
    damaged[SPANS[1][0] + 30] ^= 0x10
    events = parse(bytes(damaged))
    assert events == [
        BundleDamage(SPANS[0][0], SPANS[0][1] + SPANS[1][1], "checksum mismatch"),
        good_events()[2],
        BundleEnd(SPANS[-1][0], False, 3, 1),
    ]


def test_garbage_between_records_is_stepped_over() -> None:
    junk = b"\x00\x01\x02 junk from a bad block \xff" * 3
    cut = SPANS[1][0]
    data = DATA[:cut] + junk + DATA[cut:]
    shift = len(junk)
    assert parse(data) == [
        good_events()[0],
        BundleDamage(cut, shift, "record length out of range"),
        BundleRecord(SPANS[1][0] + shift, RECORD_ENTRY, ENTRIES[1].raw),
        BundleRecord(SPANS[2][0] + shift, RECORD_ENTRY, ENTRIES[2].raw),
        BundleEnd(SPANS[3][0] + shift, True, 3, 3),
    ]


def test_truncated_file() -> None:
    for n in range(HEADER_SIZE, len(DATA)):
        whole = [i for i, (off, size) in enumerate(SPANS[:-1]) if off + size <= n]
        events: list[Event] = [e for i, e in enumerate(good_events()) if i in whole]
        cut = next(((off, size) for off, size in SPANS if off < n < off + size), None)
        if cut is not None:
            events.append(BundleDamage(cut[0], n - cut[0], "file is cut short inside a record"))
        events.append(BundleEnd(n, False, None, len(whole)))
        assert parse(DATA[:n]) == events, n


@given(st.integers(HEADER_SIZE, len(DATA) - 1), st.integers(1, 255),
       st.lists(st.integers(0, 80), max_size=20))
@settings(max_examples=200, deadline=None)
def test_damage_is_reported_the_same_whatever_the_chunking(
    at: int, mask: int, chunks: list[int]
) -> None:
    damaged = bytearray(DATA)
    damaged[at] ^= mask
    assert parse(bytes(damaged), chunks) == parse(bytes(damaged))
    assert parse(DATA[:at], chunks) == parse(DATA[:at])
