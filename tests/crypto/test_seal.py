"""Sealed secret keys: scrypt + ChaCha20-Poly1305, and the unsealed form.

Most tests use log2_n=10 (1 MiB, a few ms) instead of the default 2**15; one test
seals and opens with the defaults so the real setting is exercised too.
"""

from __future__ import annotations

import pytest

from coopledger.crypto import (
    CryptoError,
    KeyFileError,
    WrongPassphrase,
    is_sealed,
    open_secret,
    plain_secret,
    seal_secret,
)
from coopledger.crypto._seal import DEFAULT_LOG2_N, PLAIN_MAGIC, SEALED_MAGIC

SECRET = bytes(range(32))
PASS = b"correct horse battery staple"
FAST = 10
# Where the fields sit in a sealed blob: magic(6) log2n r p salt(16) nonce(12) ct(32) tag(16)
LOG2N_AT = len(SEALED_MAGIC)
R_AT = LOG2N_AT + 1
P_AT = LOG2N_AT + 2
SALT_AT = LOG2N_AT + 3
NONCE_AT = SALT_AT + 16
CT_AT = NONCE_AT + 12
SEALED_SIZE = CT_AT + 32 + 16


def _sealed(**kw: object) -> bytes:
    kw.setdefault("log2_n", FAST)
    return seal_secret(SECRET, PASS, **kw)  # type: ignore[arg-type]


def _with(blob: bytes, at: int, value: int) -> bytes:
    b = bytearray(blob)
    b[at] = value
    return bytes(b)


def test_round_trip() -> None:
    blob = _sealed()
    assert len(blob) == SEALED_SIZE
    assert is_sealed(blob)
    assert SECRET not in blob
    assert open_secret(blob, PASS) == SECRET


def test_round_trip_with_the_default_parameters() -> None:
    blob = seal_secret(SECRET, PASS)
    assert blob[LOG2N_AT] == DEFAULT_LOG2_N
    assert (blob[R_AT], blob[P_AT]) == (8, 1)
    assert open_secret(blob, PASS) == SECRET


def test_layout_is_deterministic_given_salt_and_nonce() -> None:
    salt, nonce = bytes([7]) * 16, bytes([9]) * 12
    a = _sealed(salt=salt, nonce=nonce)
    b = _sealed(salt=salt, nonce=nonce)
    assert a == b
    assert a[:CT_AT] == SEALED_MAGIC + bytes([FAST, 8, 1]) + salt + nonce
    assert open_secret(a, PASS) == SECRET


def test_fresh_salt_and_nonce_each_time() -> None:
    a, b = _sealed(), _sealed()
    assert a[SALT_AT:CT_AT] != b[SALT_AT:CT_AT]
    assert a[CT_AT:] != b[CT_AT:]


@pytest.mark.parametrize("passphrase", [b"wrong", PASS + b" ", PASS[:-1], b"\x00"])
def test_wrong_passphrase(passphrase: bytes) -> None:
    with pytest.raises(WrongPassphrase):
        open_secret(_sealed(), passphrase)


@pytest.mark.parametrize("passphrase", [None, b""])
def test_missing_passphrase_for_a_sealed_key(passphrase: bytes | None) -> None:
    with pytest.raises(WrongPassphrase):
        open_secret(_sealed(), passphrase)


def test_wrong_passphrase_is_a_key_file_error() -> None:
    # Callers that only care "cannot open" catch KeyFileError.
    assert issubclass(WrongPassphrase, KeyFileError)
    assert issubclass(KeyFileError, CryptoError)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"garbage",
        b"CLKEY",
        b"CLKEY\x02" + bytes(80),  # unknown format byte
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        SECRET,  # a raw seed without any header
    ],
)
def test_garbage_is_key_file_error(blob: bytes) -> None:
    with pytest.raises(KeyFileError) as info:
        open_secret(blob, PASS)
    assert not isinstance(info.value, WrongPassphrase)


def test_truncated_or_extended_sealed_blob_is_key_file_error() -> None:
    blob = _sealed()
    for n in range(len(blob)):
        with pytest.raises(KeyFileError) as info:
            open_secret(blob[:n], PASS)
        # A blob cut inside the magic is "unknown format"; any other cut is "wrong size".
        # Neither may be mistaken for a wrong passphrase.
        assert not isinstance(info.value, WrongPassphrase)
    with pytest.raises(KeyFileError):
        open_secret(blob + b"\x00", PASS)


@pytest.mark.parametrize("at", [LOG2N_AT, R_AT, P_AT])
def test_header_parameter_tampering_is_detected(at: int) -> None:
    # The header is associated data: a changed (in-range) parameter fails the tag.
    blob = _sealed()
    with pytest.raises(KeyFileError):
        open_secret(_with(blob, at, blob[at] + 1), PASS)


def test_every_tampered_byte_after_the_magic_fails() -> None:
    blob = _sealed(log2_n=4)
    for at in range(LOG2N_AT, len(blob)):
        if at in (LOG2N_AT, R_AT, P_AT):
            continue  # changed parameters: the test above (and the range test below)
        with pytest.raises(WrongPassphrase):
            open_secret(_with(blob, at, blob[at] ^ 0x01), PASS)


@pytest.mark.parametrize(
    ("at", "value"),
    [
        (LOG2N_AT, 0),
        (LOG2N_AT, 21),  # 2**21 * 128 * 8 bytes = 2 GiB: refused before scrypt runs
        (LOG2N_AT, 255),
        (R_AT, 0),
        (R_AT, 17),
        (P_AT, 0),
        (P_AT, 5),
    ],
)
def test_out_of_range_parameters_in_a_file_are_refused(at: int, value: int) -> None:
    with pytest.raises(KeyFileError) as info:
        open_secret(_with(_sealed(), at, value), PASS)
    assert not isinstance(info.value, WrongPassphrase)
    assert "out-of-range" in str(info.value)


@pytest.mark.parametrize(
    "params",
    [{"log2_n": 0}, {"log2_n": 21}, {"r": 0}, {"r": 17}, {"p": 0}, {"p": 5}],
)
def test_sealing_with_out_of_range_parameters_is_refused(params: dict[str, int]) -> None:
    # open_secret would refuse the file, so seal_secret must not write it.
    with pytest.raises(ValueError, match="out of range"):
        seal_secret(SECRET, PASS, **params)


def test_sealing_needs_a_passphrase_a_32_byte_secret_and_exact_salt_and_nonce() -> None:
    with pytest.raises(ValueError):
        seal_secret(SECRET, b"", log2_n=FAST)
    with pytest.raises(ValueError):
        seal_secret(SECRET[:31], PASS, log2_n=FAST)
    with pytest.raises(ValueError):
        seal_secret(SECRET, PASS, log2_n=FAST, salt=bytes(15))
    with pytest.raises(ValueError):
        seal_secret(SECRET, PASS, log2_n=FAST, nonce=bytes(13))


def test_boundary_parameters_round_trip() -> None:
    for log2_n, r, p in [(1, 1, 1), (4, 16, 1), (4, 1, 4)]:
        blob = seal_secret(SECRET, PASS, log2_n=log2_n, r=r, p=p)
        assert open_secret(blob, PASS) == SECRET


def test_plain_secret_round_trip() -> None:
    blob = plain_secret(SECRET)
    assert blob == PLAIN_MAGIC + SECRET
    assert not is_sealed(blob)
    assert open_secret(blob, None) == SECRET
    # A passphrase given for an unsealed key is not needed, and not an error.
    assert open_secret(blob, PASS) == SECRET


def test_plain_secret_needs_32_bytes() -> None:
    with pytest.raises(ValueError):
        plain_secret(SECRET[:31])


@pytest.mark.parametrize("size", [0, 31, 33])
def test_plain_blob_of_wrong_size_is_key_file_error(size: int) -> None:
    with pytest.raises(KeyFileError):
        open_secret(PLAIN_MAGIC + bytes(size), None)


def test_is_sealed() -> None:
    assert is_sealed(_sealed())
    assert not is_sealed(plain_secret(SECRET))
    assert not is_sealed(b"")
