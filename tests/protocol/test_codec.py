"""Canonical msgpack: one byte string per value, and a decoder that accepts nothing else."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopledger.protocol import (
    BadEncoding,
    FloatNotAllowed,
    NonCanonicalEncoding,
    TrailingBytes,
    ValidationError,
    WrongType,
    decode,
    encode,
)
from coopledger.protocol._codec import MAX_DEPTH

INT_MIN, INT_MAX = -(2**63), 2**64 - 1

scalars = (
    st.none()
    | st.booleans()
    | st.integers(INT_MIN, INT_MAX)
    # The boundaries of every msgpack int form, where encoders usually go wrong.
    | st.sampled_from(
        [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, INT_MAX,
         -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, INT_MIN]
    )
    | st.text()
    | st.binary()
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)


@given(values)
@settings(max_examples=400, deadline=None)
def test_round_trip(value: object) -> None:
    data = encode(value)
    assert decode(data) == value
    assert encode(decode(data)) == data


@given(st.dictionaries(st.text(max_size=6), st.integers(0, 9), min_size=2, max_size=8),
       st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_encoding_ignores_dict_insertion_order(d: dict[str, int], rnd: random.Random) -> None:
    items = list(d.items())
    rnd.shuffle(items)
    assert encode(dict(items)) == encode(d)
    assert encode({"x": [dict(items)]}) == encode({"x": [d]})


def test_map_keys_sort_by_utf8_bytes_not_code_points() -> None:
    # Byte order of the UTF-8 encodings (the same as code point order): "B" < "a",
    # not alphabetical; U+FF61 < U+10000, unlike UTF-16 code unit order (JavaScript).
    d = {"é": 1, "a": 2, "B": 3, "\U00010000": 4, "\uff61": 5, "": 6, "aa": 7}
    keys = list(decode(encode(d)))  # type: ignore[arg-type]
    assert keys == sorted(d, key=lambda k: k.encode())
    assert keys == ["", "B", "a", "aa", "é", "\uff61", "\U00010000"]


@pytest.mark.parametrize(
    ("value", "hex_"),
    [
        (None, "c0"),
        (False, "c2"),
        (True, "c3"),
        (0, "00"),
        (127, "7f"),
        (128, "cc80"),
        (256, "cd0100"),
        (65536, "ce00010000"),
        (2**32, "cf0000000100000000"),
        (2**64 - 1, "cfffffffffffffffff"),
        (-1, "ff"),
        (-32, "e0"),
        (-33, "d0df"),
        (-129, "d1ff7f"),
        (-32769, "d2ffff7fff"),
        (-(2**31) - 1, "d3ffffffff7fffffff"),
        ("", "a0"),
        ("a" * 31, "bf" + "61" * 31),
        ("a" * 32, "d920" + "61" * 32),
        ("a" * 256, "da0100" + "61" * 256),
        (b"", "c400"),
        (b"\x01" * 256, "c50100" + "01" * 256),
        ([], "90"),
        ({}, "80"),
        ({"b": 1, "a": [None]}, "82a16191c0a16201"),
    ],
)
def test_exact_bytes(value: object, hex_: str) -> None:
    assert encode(value).hex() == hex_
    assert decode(bytes.fromhex(hex_)) == value


def test_tuples_encode_as_lists() -> None:
    assert encode((1, (2,))) == encode([1, [2]])


@pytest.mark.parametrize(
    "value", [1.5, [0.0], {"a": float("nan")}, {"q": [1, {"r": 2.5}]}]
)
def test_encode_refuses_floats(value: object) -> None:
    with pytest.raises(FloatNotAllowed):
        encode(value)


@pytest.mark.parametrize(
    "value",
    [2**64, INT_MIN - 1, {1: "a"}, {b"k": 1}, {None: 1}, {"a": {2: 3}}, object(), {1, 2},
     bytearray(b"x"), 1j],
)
def test_encode_refuses_values_outside_the_model(value: object) -> None:
    with pytest.raises(WrongType):
        encode(value)


def _nested(depth: int) -> object:
    v: object = 0
    for _ in range(depth):
        v = [v]
    return v


def test_depth_limit() -> None:
    ok = encode(_nested(MAX_DEPTH))
    assert decode(ok) == _nested(MAX_DEPTH)
    with pytest.raises(WrongType):
        encode(_nested(MAX_DEPTH + 1))
    with pytest.raises(WrongType):
        decode(b"\x91" * (MAX_DEPTH + 1) + b"\x00")
    with pytest.raises(BadEncoding):  # far past msgpack's own stack limit
        decode(b"\x91" * 5000 + b"\x00")


@pytest.mark.parametrize("inner", [0, [], {}, "s"], ids=["int", "list", "map", "str"])
def test_encode_and_decode_agree_on_the_depth_limit(inner: object) -> None:
    # Whatever encode accepts, decode accepts and returns; deeper values fail both ways.
    for depth in range(MAX_DEPTH + 3):
        value: object = inner
        for _ in range(depth):
            value = [value]
        try:
            data = encode(value)
        except WrongType:
            assert depth > MAX_DEPTH, depth
            continue
        assert depth <= MAX_DEPTH, depth
        assert decode(data) == value, depth


# --- decode rejects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_", "why"),
    [
        ("cc05", "5 as uint8"),
        ("cd0005", "5 as uint16"),
        ("ce00000005", "5 as uint32"),
        ("cf0000000000000005", "5 as uint64"),
        ("d005", "5 as int8"),
        ("d10080", "128 as int16"),
        ("d3000000000000ffff", "65535 as int64"),
        ("d0ff", "-1 as int8"),
        ("d1ff80", "-128 as int16"),
        ("d2ffffff7f", "-129 as int32"),
        ("cd00ff", "255 as uint16"),
        ("d90161", "1-byte str as str8"),
        ("da000161", "1-byte str as str16"),
        ("db0000000161", "1-byte str as str32"),
        ("c5000161", "1-byte bin as bin16"),
        ("c600000001" + "61", "1-byte bin as bin32"),
        ("dc0000", "empty array as array16"),
        ("dd00000000", "empty array as array32"),
        ("de0000", "empty map as map16"),
        ("df00000000", "empty map as map32"),
        ("82a162c0a161c0", "map keys not sorted"),
        ("82a16100a14200", "map keys sorted alphabetically, not by bytes"),
        ("82a16101a16102", "duplicate map key"),
        ("82a16101a16101", "duplicate map key, same value"),
    ],
)
def test_decode_rejects_non_canonical_forms(hex_: str, why: str) -> None:
    with pytest.raises(NonCanonicalEncoding):
        decode(bytes.fromhex(hex_))


@pytest.mark.parametrize(
    "data",
    [
        b"\xcb" + struct.pack(">d", 1.5),
        b"\xca" + struct.pack(">f", 1.5),
        b"\xcb" + struct.pack(">d", 5.0),  # even a float with an integer value
        b"\x91\xcb" + struct.pack(">d", 0.0),
        b"\x81\xa1q\xca" + struct.pack(">f", 2.5),
    ],
)
def test_decode_rejects_floats(data: bytes) -> None:
    with pytest.raises(FloatNotAllowed):
        decode(data)


@pytest.mark.parametrize(
    "hex_",
    [
        "d40500",  # fixext1, type 5
        "c70305616263",  # ext8, type 5
        "d6ff00000000",  # the msgpack timestamp extension (type -1)
        "91d40100",  # nested
    ],
)
def test_decode_rejects_ext_types(hex_: str) -> None:
    with pytest.raises(WrongType):
        decode(bytes.fromhex(hex_))


@pytest.mark.parametrize(
    "hex_",
    [
        "810102",  # int key
        "81c40161c0",  # bin key
        "81c001",  # nil key
        "81c301",  # bool key
        "8191c001",  # array key
        "818001",  # map key
        "91810102",  # nested
    ],
)
def test_decode_rejects_non_str_map_keys(hex_: str) -> None:
    with pytest.raises(WrongType):
        decode(bytes.fromhex(hex_))


@pytest.mark.parametrize("data", [b"\x00\x00", b"\xc0\xc0", b"\x90\x01", b"\xa1a\xff",
                                  b"\x80" + b"\x00" * 100])
def test_decode_rejects_trailing_bytes(data: bytes) -> None:
    with pytest.raises(TrailingBytes):
        decode(data)


@given(values)
@settings(max_examples=100, deadline=None)
def test_every_truncation_is_rejected(value: object) -> None:
    data = encode(value)
    for n in range(len(data)):
        with pytest.raises(BadEncoding):
            decode(data[:n])


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01", b"\xa5abc", b"\xc4\x05ab", b"\xda\x00", b"\x81\xa1a",
     b"\xcf\x00\x00"],
)
def test_decode_rejects_truncated_and_unparseable_input(data: bytes) -> None:
    with pytest.raises(BadEncoding) as info:
        decode(data)
    # Plain BadEncoding: not canonical-but-different, not a type problem.
    assert type(info.value) is BadEncoding


@pytest.mark.parametrize(
    "data",
    [b"\xa1\xff", b"\xa2\xc3\x28", b"\xa3\xed\xa0\x80",  # a lone surrogate
     b"\xa2\xc0\x80",  # overlong NUL
     b"\x81\xa1\xfe\x00"],  # invalid UTF-8 in a map key
)
def test_decode_rejects_invalid_utf8(data: bytes) -> None:
    with pytest.raises(BadEncoding) as info:
        decode(data)
    assert type(info.value) is BadEncoding
    assert "UTF-8" in str(info.value)


def test_max_size_bounds_declared_lengths() -> None:
    data = encode("x" * 100)
    assert decode(data, max_size=100) == "x" * 100
    with pytest.raises(BadEncoding):
        decode(data, max_size=99)


def test_errors_are_validation_errors_with_reason_codes() -> None:
    for cls, code in [
        (BadEncoding, "invalid:encoding"),
        (NonCanonicalEncoding, "invalid:non-canonical"),
        (FloatNotAllowed, "invalid:float"),
        (TrailingBytes, "invalid:trailing-bytes"),
        (WrongType, "invalid:type"),
    ]:
        assert issubclass(cls, BadEncoding) and issubclass(cls, ValidationError)
        assert cls.reason_code == code
    try:
        decode(b"\xcc\x05")
    except NonCanonicalEncoding as exc:
        assert exc.reason == "invalid:non-canonical"
    else:  # pragma: no cover
        pytest.fail("no error")


def test_error_messages_do_not_echo_the_input() -> None:
    secret = "my-very-private-text"
    data = b"\xd9" + bytes([len(secret)]) + secret.encode()  # str8: non-canonical
    with pytest.raises(NonCanonicalEncoding) as info:
        decode(data, what="envelope")
    assert secret not in str(info.value)
    assert "envelope" in str(info.value)


@given(st.binary(max_size=64))
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_bytes_decode_canonically_or_raise_bad_encoding(data: bytes) -> None:
    try:
        value = decode(data)
    except BadEncoding:
        return
    assert encode(value) == data


@given(values, st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_encodings_decode_canonically_or_raise_bad_encoding(
    value: object, data: st.DataObject
) -> None:
    # Random bytes rarely look like msgpack; mutations of real encodings do, and reach
    # the deeper branches of the decoder.
    raw = bytearray(encode(value))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "insert" or not raw:
            raw.insert(data.draw(st.integers(0, len(raw))), data.draw(st.integers(0, 255)))
        elif op == "delete":
            del raw[data.draw(st.integers(0, len(raw) - 1))]
        else:
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    try:
        out = decode(bytes(raw))
    except BadEncoding:
        return
    assert encode(out) == bytes(raw)
