"""The walk: one pass over the commons' timeline (SPEC §12.3) that builds the state
of the commons (``Economy``) from a set of applied entries.

It owns what no area does:

1. **the pre-passes**: each area's ``prepare``, over the whole set, in the order of
   ``AREAS`` (the identity area first: the others read its key table);
2. **the timeline**: the entries of every kind some area handles, ordered by (eff,
   depth, id), each judged once against the state the entries before it left;
3. **the actor**: the identity an entry acts for (SPEC §13.2), from the key table:
   a revoked or not yet active key, a recovery key doing anything but manage keys,
   or a delegate key outside its mandates (the mandates area's
   ``authorize_delegate``) makes the entry invalid;
4. **"where"** and **actions**: the body an entry acts in, and the mandate action
   that covers its kind, for the mandates' check of a delegate key (what the area of
   the kind declares; for "where", the ``federation`` field first).

A handler that raises ``Reject`` makes its entry invalid (recorded in
``Economy.invalid``, with no effect). ``Walk`` is the concrete ``Machine`` of
``_area``; areas never import this module.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._entry import Entry
from .._kinds import GOVERNANCE_KINDS, KEY_KINDS, MANDATE_ACTIONS
from ._alerts import AREA as ALERTS
from ._area import Area, Handler, Where
from ._audit import AREA as AUDIT
from ._commons import Economy, Governance
from ._economy import AREA as ECONOMY
from ._economy import find_federation, require_member
from ._economy_state import Books, Federation, Invalid
from ._identity import AREA as IDENTITY
from ._judge import Body, Reject, short, timeline
from ._lottery import AREA as LOTTERIES
from ._mandates import AREA as MANDATES
from ._mandates import authorize_delegate
from ._policy import AREA as POLICY
from ._proposals import AREA as PROPOSALS

# Pre-passes run in this order (the identity area's first: the others read its key
# table); handlers and "where"s are looked up by kind.
AREAS: tuple[Area, ...] = (IDENTITY, ECONOMY, POLICY, MANDATES, LOTTERIES, PROPOSALS, AUDIT,
                           ALERTS)


def _one_area_per_kind() -> frozenset[str]:
    kinds: set[str] = set()
    for area in AREAS:
        if kinds & area.kinds:
            raise ValueError(f"kinds {sorted(kinds & area.kinds)} are in two areas")
        kinds |= area.kinds
    return frozenset(kinds)


# What the walk reads (the state keeps the applied entries of these kinds whole).
COMMONS_KINDS = _one_area_per_kind()
HANDLERS: dict[str, Handler] = {k: fn for area in AREAS for k, fn in area.handlers.items()}
WHERE: dict[str, Where] = {k: fn for area in AREAS for k, fn in area.where.items()}
ACTIONS: dict[str, str] = {k: a for area in AREAS for k, a in area.actions.items()}
if set(ACTIONS.values()) != set(MANDATE_ACTIONS):
    raise ValueError("every mandate action (SPEC §13.4) lets a delegate write some kind")
# The kinds on the timeline: every kind with a handler (the key kinds are judged in
# the identity area's pre-pass instead).
TIMELINE_KINDS = frozenset(HANDLERS)

# The reason and flag codes, by the section of the SPEC that lists them.
# "not-the-body" (SPEC §13.5, §13.7: an entry by someone other than the body it speaks
# for) is shared by the roles of the mandates area and the proposals area.
GOVERNANCE_REASON_CODES = frozenset((  # §13
    "not-the-body",
    *(c for a in (IDENTITY, POLICY, MANDATES, LOTTERIES, PROPOSALS) for c in a.reason_codes)))
GOVERNANCE_FLAG_CODES = (*MANDATES.flag_codes, *PROPOSALS.flag_codes)
COMMONS14_REASON_CODES = AUDIT.reason_codes | ALERTS.reason_codes  # §14
COMMONS14_FLAG_CODES = (*AUDIT.flag_codes, *ALERTS.flag_codes)


class Walk:
    """One walk over the timeline (the module docstring); a ``Machine``."""

    def __init__(self) -> None:
        self.econ = Economy()
        self.eff = 0
        self.actor = b""  # the identity the entry being judged acts for

    @property
    def gov(self) -> Governance:
        return self.econ.gov

    def run(self, entries: Iterable[Entry]) -> Economy:
        commons = [e for e in entries if e.kind in COMMONS_KINDS]
        for area in AREAS:
            if area.prepare is not None:
                area.prepare(self, commons)
        # The governance value (SPEC §13) is shown only when an entry of its kinds applied.
        self.gov.seen = any(e.kind in GOVERNANCE_KINDS for e in commons)
        for eff, _depth, e in timeline(commons, TIMELINE_KINDS):
            self.eff = eff
            try:
                self.actor = self.acting(e)
                HANDLERS[e.kind](self, e, Body(e))
            except Reject as r:
                self.econ.invalid[e.id] = Invalid(e.id, e.kind, e.author, r.code, r.detail)
        self.econ.books = Books()  # the economy's working figures are not kept
        return self.econ

    def acting(self, e: Entry) -> bytes:
        """The identity ``e`` acts for, or Reject: a revoked or not yet active key, a
        recovery key doing anything but manage keys, a delegate key outside its
        mandates."""
        identity, power = self.gov.ids.acting(e)
        if power == "recovery" and e.kind not in KEY_KINDS:
            raise Reject("not-allowed-for-key", f"key {short(e.author)} is a recovery key: "
                         "it may only add and revoke keys")
        if power == "delegate":
            authorize_delegate(self, e, identity)
        return identity

    # -- what the areas see (``Machine``)

    def federation(self, b: Body) -> Federation:
        return find_federation(self.econ, b)

    def member(self, fed: Federation, coop: bytes, who: str) -> None:
        require_member(fed, coop, who)

    def where(self, e: Entry, b: Body) -> bytes | None:
        if "federation" in b.body:
            try:
                return b.ref("federation")
            except Reject:
                return None
        fn = WHERE.get(e.kind)
        return None if fn is None else fn(self, e, b)

    def action_of(self, kind: str) -> str | None:
        return ACTIONS.get(kind)


def compute_economy(entries: Iterable[Entry]) -> Economy:
    """The state of the commons of a set of applied entries (any kinds, any order,
    duplicates allowed): a deterministic function of the set of its kinds in it."""
    return Walk().run(entries)
