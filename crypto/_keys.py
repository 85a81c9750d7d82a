"""Ed25519 keys, signatures and SHA-256 hashes.

Bytes in, bytes or bool out: no files, no clock.

Keys and signing use the ``cryptography`` package (OpenSSL). Verification uses
libsodium (through PyNaCl) on every path, for two reasons:

* it is strict where RFC 8032 leaves room: besides S >= L it rejects public keys and
  R points of small order and non-canonical encodings. OpenSSL accepts a small-order
  public key, and for the identity point it accepts the all-zero signature on *any*
  message: anyone could write entries "signed" by such a key;
* it verifies about 1.6 times faster here, and verification is the CPU bound of ingest.

Every node must accept exactly the same signatures, so there is one verify function,
``verify``, and nothing else in the code base verifies Ed25519.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from ._errors import BadKey, BadSignature

PUBLIC_KEY_SIZE = 32
SECRET_KEY_SIZE = 32
SIGNATURE_SIZE = 64
HASH_SIZE = 32


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of ``data`` (32 bytes)."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key. ``raw`` is its 32-byte encoding."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise BadKey(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(self.raw)}")

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check ``signature`` over ``message``.

        Raises BadSignature if it does not verify, or if the 32 bytes are not a point
        on the curve (then no signature can verify: the signer's fault, not ours).
        """
        if len(signature) != SIGNATURE_SIZE:
            raise BadSignature(f"signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}")
        if not verify(self.raw, signature, message):
            raise BadSignature("signature does not verify")

    def hex(self) -> str:
        return self.raw.hex()

    def short(self) -> str:
        """The first 8 hex characters, for logs and tables."""
        return self.raw[:4].hex()


class SecretKey:
    """An Ed25519 secret key. ``raw`` is its 32-byte seed; keep it out of logs."""

    __slots__ = ("_key", "public")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SECRET_KEY_SIZE:
            raise BadKey(f"secret key must be {SECRET_KEY_SIZE} bytes, got {len(seed)}")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = PublicKey(
            self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )

    @classmethod
    def generate(cls) -> SecretKey:
        """A new random key (from the operating system's random source)."""
        from cryptography.hazmat.primitives.serialization import (
            NoEncryption,
            PrivateFormat,
        )

        seed = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        return cls(seed)

    @property
    def raw(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import (
            NoEncryption,
            PrivateFormat,
        )

        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (deterministic, RFC 8032)."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SecretKey(public={self.public.short()}…)"


def verify(pubkey_raw: bytes, signature: bytes, message: bytes) -> bool:
    """True if ``signature`` over ``message`` verifies for the 32-byte ``pubkey_raw``.

    The one Ed25519 verification of the code base (see the module docstring); no
    exception on failure, so that bulk ingest stays cheap.
    """
    if len(pubkey_raw) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        crypto_sign_open(signature + message, pubkey_raw)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True
