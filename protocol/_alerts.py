"""Solidarity alerts on the commons' timeline (SPEC §14.6): an alert, the 48-hour clock
it starts, and the acknowledgements, pledges and deliveries that answer it.

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

ALERT_WINDOW_MS = 48 * 3_600_000
REASON_CODES: frozenset[str] = frozenset()
FLAG_CODES: tuple[str, ...] = ()


@dataclass(slots=True)
class Alerts:
    seen: bool = False  # an entry of an alert kind applied (the value is shown only then)

    def to_value(self) -> dict[str, Value]:
        return {}


HANDLERS: dict[str, Callable[[_Machine, Entry, Body], None]] = {}
