"""Mandates and recall, roles with terms (SPEC §13.4, §13.5). STUB: helper MANDATES
replaces this module.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._codec import Value
from ._entry import Entry
from ._judge import Body, Reject, short

if TYPE_CHECKING:
    from ._economy import _Machine
    from ._identity import Identities


@dataclass(slots=True)
class Mandates:
    def prepare(self, entries: Sequence[Entry], ids: Identities) -> None:
        """Pre-pass over the whole set: recalls and renewals."""

    def to_value(self) -> list[Value]:
        return []


@dataclass(slots=True)
class Roles:
    def to_value(self) -> list[Value]:
        return []


def authorize_delegate(m: _Machine, e: Entry, identity: bytes) -> None:
    raise Reject("not-mandated", f"key {short(e.author)} is a delegate key and the entry "
                 "refs no mandate that allows it")


HANDLERS: dict[str, Callable[[_Machine, Entry, Body], None]] = {}
