"""Errors raised by coopledger.crypto.

    CryptoError
     ├── BadSignature      a signature does not verify (the signer's or the sender's fault)
     ├── BadKey            bytes that are not a usable Ed25519 key
     └── KeyFileError      a stored secret key that cannot be opened
          └── WrongPassphrase

No exception type from the ``cryptography`` package crosses this package's boundary.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by coopledger.crypto."""


class BadSignature(CryptoError):
    """A signature does not verify for the given public key and message."""


class BadKey(CryptoError):
    """Bytes that cannot be used as an Ed25519 public or secret key."""


class KeyFileError(CryptoError):
    """A sealed secret key is damaged, truncated or of an unknown format."""


class WrongPassphrase(KeyFileError):
    """The passphrase does not open the sealed secret key."""
