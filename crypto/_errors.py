"""Errors raised by coopledger.crypto.

    CryptoError
     ├── BadSignature      a signature does not verify (the signer's or the sender's fault)
     ├── BadKey            bytes that are not a usable Ed25519 key
     ├── KeyFileError      a stored secret key that cannot be opened
     │    └── WrongPassphrase
     └── MerkleError       bad arguments to a Merkle tree, or a damaged serialized frontier

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


class MerkleError(CryptoError):
    """A Merkle tree was asked for something it cannot give (an index or size out of
    range, a leaf hash that is not 32 bytes), or serialized frontier bytes are damaged.

    Proof *verification* never raises this: a bad proof makes it return False.
    """
