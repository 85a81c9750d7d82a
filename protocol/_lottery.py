"""Verifiable lotteries (SPEC §13.6). STUB: helper LOTTERY replaces this module.

Pure: no clock, no I/O.
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


@dataclass(slots=True)
class Lotteries:
    def to_value(self) -> list[Value]:
        return []


HANDLERS: dict[str, Callable[[_Machine, Entry, Body], None]] = {}
