"""Identities with several keys (SPEC §13.2): which co-op each key writes for, with
which power, and from when until when. STUB: every author is its own identity with
every power; helper KEYS replaces this module.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ._codec import Value
from ._entry import Entry


@dataclass(slots=True)
class Identities:
    """The key table."""

    # key entries the pre-pass found invalid: id -> (code, detail), and every key entry
    invalid: dict[bytes, tuple[str, str]] = field(default_factory=dict)
    entries: dict[bytes, Entry] = field(default_factory=dict)

    def acting(self, e: Entry) -> tuple[bytes, str]:
        """(identity, power) that ``e`` acts with, or raise Reject."""
        return e.author, "node"

    def identity_of(self, key: bytes) -> bytes:
        """The identity ``key`` is bound to (its root), or ``key`` itself."""
        return key

    def to_value(self) -> list[Value]:
        return []


def compute_identities(entries: Iterable[Entry]) -> Identities:
    return Identities()
