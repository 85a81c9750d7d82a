"""Secret keys sealed with a passphrase for storage at rest.

A sealed key is ``MAGIC || log2(n) || r || p || salt(16) || nonce(12) || ciphertext``,
where the 32-byte key ``scrypt(passphrase, salt, n, r, p)`` encrypts the secret with
ChaCha20-Poly1305 and the header bytes are the associated data (so the parameters
cannot be swapped). An unsealed key is ``PLAIN_MAGIC || secret``.

The defaults (n = 2**15, r = 8, p = 1: 32 MiB, about 0.1 s here) follow the scrypt
paper's interactive-login setting; a key is opened once per command or daemon start.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._errors import KeyFileError, WrongPassphrase

SEALED_MAGIC = b"CLKEY\x01"
PLAIN_MAGIC = b"CLKEY\x00"
DEFAULT_LOG2_N = 15
_SALT = 16
_NONCE = 12
_HEADER = struct.Struct(">BBB")  # log2(n), r, p
# The largest parameters we accept when opening: beyond this a damaged or hostile file
# could make us allocate gigabytes (scrypt memory is 128 * r * n bytes).
_MAX_LOG2_N = 20
_MAX_R = 16
_MAX_P = 4


def _kdf(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase)


def seal_secret(
    secret: bytes,
    passphrase: bytes,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
    log2_n: int = DEFAULT_LOG2_N,
    r: int = 8,
    p: int = 1,
) -> bytes:
    """Encrypt ``secret`` under ``passphrase``. ``salt``/``nonce`` are for test vectors."""
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    if len(secret) != 32:
        raise ValueError("secret must be 32 bytes")
    # The same bounds open_secret enforces: never write a file that cannot be opened.
    if not (1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        raise ValueError("scrypt parameters out of range (log2_n 1-20, r 1-16, p 1-4)")
    salt = os.urandom(_SALT) if salt is None else salt
    nonce = os.urandom(_NONCE) if nonce is None else nonce
    if len(salt) != _SALT or len(nonce) != _NONCE:
        raise ValueError("salt must be 16 bytes and nonce 12 bytes")
    header = SEALED_MAGIC + _HEADER.pack(log2_n, r, p) + salt + nonce
    key = _kdf(passphrase, salt, log2_n, r, p)
    return header + ChaCha20Poly1305(key).encrypt(nonce, secret, header)


def is_sealed(blob: bytes) -> bool:
    """True if ``blob`` needs a passphrase to open."""
    return blob.startswith(SEALED_MAGIC)


def plain_secret(secret: bytes) -> bytes:
    """The unsealed storage form of ``secret`` (no passphrase set)."""
    if len(secret) != 32:
        raise ValueError("secret must be 32 bytes")
    return PLAIN_MAGIC + secret


def open_secret(blob: bytes, passphrase: bytes | None) -> bytes:
    """The secret stored in ``blob``.

    Raises WrongPassphrase if the passphrase does not open it (or none was given for a
    sealed key), KeyFileError if the blob is damaged or of an unknown format.
    """
    if blob.startswith(PLAIN_MAGIC):
        secret = blob[len(PLAIN_MAGIC) :]
        if len(secret) != 32:
            raise KeyFileError(f"key file holds {len(secret)} key bytes, expected 32")
        return secret
    if not blob.startswith(SEALED_MAGIC):
        raise KeyFileError("not a coopledger key file (unknown header)")
    fixed = len(SEALED_MAGIC) + _HEADER.size + _SALT + _NONCE
    if len(blob) != fixed + 32 + 16:
        raise KeyFileError(f"sealed key file is {len(blob)} bytes, expected {fixed + 48}")
    log2_n, r, p = _HEADER.unpack_from(blob, len(SEALED_MAGIC))
    if not (1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        raise KeyFileError("sealed key file has out-of-range scrypt parameters")
    if not passphrase:
        raise WrongPassphrase("this key is sealed with a passphrase; none was given")
    offset = len(SEALED_MAGIC) + _HEADER.size
    salt = blob[offset : offset + _SALT]
    nonce = blob[offset + _SALT : fixed]
    key = _kdf(passphrase, salt, log2_n, r, p)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, blob[fixed:], blob[:fixed])
    except InvalidTag as exc:
        raise WrongPassphrase("wrong passphrase (or a damaged key file)") from exc
