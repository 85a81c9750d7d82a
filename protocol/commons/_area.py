"""What an area of the commons declares, and what it sees of the walk.

The commons' state (SPEC §12–§14) is built by one walk over one timeline
(``_walk``). The walk holds none of the areas' rules (it only calls the economy's
federation checks and the mandates' delegate check for them); it asks the
**areas** (identity, economy, policy, mandates, lotteries, proposals, audit, alerts),
each of which declares, in one ``Area`` value at the end of its module, side by side:

* ``kinds``: the entry kinds it owns (each kind belongs to exactly one area);
* ``handlers``: kind -> ``fn(m, e, b)``, called in timeline order; it judges the entry
  against the state the entries before it left and applies it, or raises
  ``Reject(code, detail)`` to make it invalid (the kinds of a pre-pass-only area, the
  keys, have none);
* ``reason_codes`` and ``flag_codes``: the codes it adds (SPEC §12.4, §13, §14);
* ``prepare``: a pre-pass over the whole set of entries, run before the walk, for
  the rules that must not depend on timeline order;
* ``where``: kind -> ``fn(m, e, b)``, the body (a federation id, or the actor's own
  co-op) an entry of that kind acts in when its body names no ``federation``: a
  mandate for one federation lets a delegate key act in that federation only;
* ``actions``: kind -> the mandate action (SPEC §13.4: vote, propose, allocate,
  transfer, surplus, lottery) that lets a delegate key write it; a kind with none is
  never a delegate key's to write.

Handlers, pre-passes and "where"s see the walk through ``Machine``, a
``typing.Protocol``: no area imports the walk's class (``_walk.Walk``), so the areas
import nothing that imports them back.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .._entry import Entry
from ._commons import Economy, Governance
from ._economy_state import Federation
from ._judge import Body


class Machine(Protocol):
    """The walk, as a handler sees it while it judges one entry."""

    @property
    def econ(self) -> Economy:
        """The state so far (every area's part of it)."""

    @property
    def gov(self) -> Governance:
        """``econ.gov``: the self-government part (SPEC §13, and §14's audit, alerts)."""

    @property
    def eff(self) -> int:
        """The entry's effective time on the timeline (SPEC §12.3)."""

    @property
    def actor(self) -> bytes:
        """The identity the entry acts for (SPEC §13.2): its author key's co-op."""

    def federation(self, b: Body) -> Federation:
        """The valid federation the body's ``federation`` field names, else Reject
        ``not-a-federation``."""

    def member(self, fed: Federation, coop: bytes, who: str) -> None:
        """Reject ``not-a-member`` unless ``coop`` is a member of ``fed`` now."""

    def where(self, e: Entry, b: Body) -> bytes | None:
        """The body ``e`` acts in (its ``federation`` field, else what the area of its
        kind declares), None when it names nothing valid."""

    def action_of(self, kind: str) -> str | None:
        """The mandate action that lets a delegate key write ``kind`` (its area's
        ``actions``), None when no action does."""


Handler = Callable[[Machine, Entry, Body], None]
Where = Callable[[Machine, Entry, Body], "bytes | None"]
Prepare = Callable[[Machine, Sequence[Entry]], None]


@dataclass(frozen=True, slots=True)
class Area:
    """One area's declarations (see the module docstring)."""

    name: str
    kinds: frozenset[str]
    handlers: Mapping[str, Handler]
    reason_codes: frozenset[str]
    flag_codes: tuple[str, ...] = ()
    prepare: Prepare | None = None
    where: Mapping[str, Where] = field(default_factory=dict)
    actions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        stray = (set(self.handlers) | set(self.where) | set(self.actions)) - self.kinds
        if stray:
            raise ValueError(f"area {self.name} handles kinds it does not own: {stray}")


def body_of(m: Machine, b: Body) -> bytes:
    """The body an entry of SPEC §13 speaks in: the federation its optional
    ``federation`` field names (it must exist, and the actor be a member of it), else
    the actor's own co-op (its assembly)."""
    if "federation" not in b.body:
        return m.actor
    fed = m.federation(b)
    m.member(fed, m.actor, "the co-op")
    return fed.id
