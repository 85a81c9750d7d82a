"""Audit and misconduct on the commons' timeline (SPEC §14.3–§14.5): witnesses'
cosignatures of checkpoints, audit circles and their reports, complaints, findings and
sanctions.

Pure: no clock, no I/O. (Being built: see SPEC §14.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._codec import Value
from ._entry import Entry
from ._judge import Body

if TYPE_CHECKING:
    from ._economy import _Machine

REASON_CODES: frozenset[str] = frozenset()
FLAG_CODES: tuple[str, ...] = ()


@dataclass(slots=True)
class Audits:
    seen: bool = False  # an entry of an audit kind applied (the value is shown only then)

    def to_value(self) -> dict[str, Value]:
        return {}


HANDLERS: dict[str, Callable[[_Machine, Entry, Body], None]] = {}
