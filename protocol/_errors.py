"""Errors raised by coopledger.protocol.

    LedgerError
     ├── ValidationError             an entry (or bundle record) is not acceptable
     │    ├── BadEncoding            not decodable msgpack, or invalid UTF-8
     │    │    ├── NonCanonicalEncoding   decodes, but does not re-encode to the same bytes
     │    │    ├── FloatNotAllowed        a float anywhere (quantities are exact decimals)
     │    │    ├── TrailingBytes          bytes after the one value expected
     │    │    └── WrongType              a value of the wrong msgpack type (ext, non-str key…)
     │    ├── EntryTooLarge          over MAX_ENTRY_SIZE
     │    ├── BadEnvelope            an envelope field is missing, extra or out of range
     │    ├── BadBody                a known kind's body does not match its schema
     │    ├── BadSignature           the signature does not verify for the author
     │    └── BrokenChain            seq / prev / ts do not follow the author's previous entry
     ├── BundleError                 a bundle file is not a bundle, or is damaged
     │    └── DamagedBundle          damage found at a byte offset
     ├── ProtocolError               a sync session cannot go on
     │    ├── LocalProtocolError     we misused the session API (our bug)
     │    └── RemoteProtocolError    the peer sent something illegal (reason_code)
     ├── DecimalFormatError          not a decimal quantity (_decimal.py; also a ValueError)
     ├── ProofError                  a proof document is malformed or proves nothing (_proofs.py)
     ├── AuditError                  an audit parameter names nothing to audit (_auditbooks.py)
     └── NeedsRebuild                a new fork withdraws applied history: fold anew (_fold.py)

Every ValidationError carries a ``reason`` code with a NIP-01 style prefix
(``invalid:…``), the field concerned, and a short message that never echoes the
untrusted input. All of them are the remote side's fault (a peer, a bundle's author):
drop the input, keep the store as it was.

The classes above are defined in this module unless another is named. Every exception
a coopledger package raises on purpose derives from its package's root, so a caller
can catch one package's errors with one class:

    LedgerError    coopledger.protocol   (this module)
    CryptoError    coopledger.crypto     (crypto/_errors.py)
    NodeError      coopledger.node       (node/_errors.py)
    CoopError      coopledger.cli        (cli/_common.py; a one-line message and an exit code)

A second base is kept where callers rely on it (DecimalFormatError is a ValueError).
protocol/commons/_judge.py's Reject carries a rule's verdict inside the commons walk,
which catches it and records the entry as invalid; it is a LedgerError too, so that
even a bug that let one escape would meet the CLI's and the API's mapping of the root.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of all errors raised by coopledger.protocol."""


class ValidationError(LedgerError):
    """An entry or record that must be rejected.

    ``reason`` is a stable machine code (``invalid:signature``); ``field`` names the
    envelope or body field at fault, if any; ``entry_id``/``author`` identify the entry
    when they are known (they are not for bytes that do not decode).
    """

    reason_code = "invalid:entry"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        entry_id: bytes | None = None,
        author: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.entry_id = entry_id
        self.author = author

    @property
    def reason(self) -> str:
        return self.reason_code

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        who = f"entry {self.entry_id[:4].hex()}…: " if self.entry_id else ""
        return f"{who}{where}{self.message}"


class BadEncoding(ValidationError):
    reason_code = "invalid:encoding"


class NonCanonicalEncoding(BadEncoding):
    reason_code = "invalid:non-canonical"


class FloatNotAllowed(BadEncoding):
    reason_code = "invalid:float"


class TrailingBytes(BadEncoding):
    reason_code = "invalid:trailing-bytes"


class WrongType(BadEncoding):
    reason_code = "invalid:type"


class EntryTooLarge(ValidationError):
    reason_code = "invalid:too-large"


class BadEnvelope(ValidationError):
    reason_code = "invalid:envelope"


class BadBody(ValidationError):
    reason_code = "invalid:body"


class BadSignature(ValidationError):
    reason_code = "invalid:signature"


class BrokenChain(ValidationError):
    reason_code = "invalid:chain"


class BundleError(LedgerError):
    """The file is not a coopledger bundle, or of a version we cannot read."""


class DamagedBundle(BundleError):
    """Damage in a bundle file, found at ``offset`` (bytes from the start of the file)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte offset {offset}")
        self.offset = offset


class ProtocolError(LedgerError):
    """Base of the sync protocol errors."""


class LocalProtocolError(ProtocolError):
    """We misused the session API (a bug in our driver), or the session already failed."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal. ``reason_code`` is a stable ``invalid:sync-…``
    (or ``blocked:sync-…``) code; the message names fields, never payload contents."""

    def __init__(self, message: str, *, reason_code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason_code = reason_code
        self.field = field

    @property
    def reason(self) -> str:
        return self.reason_code

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.reason_code}: {where}{self.message}"
