"""Federations and the co-op economy: the second stage of the fold (SPEC.md §12).

Stage one (``_fold``) decides which entries apply to each log. This module reads the
applied entries of the economic kinds, puts them on one deterministic timeline (§12.3),
and derives federations and their members, transfers and mutual-credit balances, the
surplus board, the innovation fund, invalid entries and flagged exceptions. It is a pure
function of the set of applied entries: no clock (as-of views take an explicit time),
no I/O.

INTERFACE (other modules code against these names; keep them stable):

* ``ECONOMY_KINDS``: the kinds this stage reads.
* ``compute_economy(entries) -> Economy``: entries = applied entries of any kinds
  (others are ignored); order does not matter.
* ``Economy``: ``federations``, ``transfers``, ``invalid``, ``exceptions``, ``needs``,
  ``grants`` and the query methods below; ``to_value()`` for the state value (§12.6).
* ``DEFAULT_RULES``, ``Rules``, ``Unit``: the rules map and its defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ._codec import Value
from ._decimal import Quantity
from ._entry import Entry

UNIT_KINDS = ("time", "energy", "mass", "count", "credit")
NEED_CATEGORIES = ("food", "repair", "energy", "housing", "care", "tools", "other")
SURPLUS_WHAT = ("goods", "tool", "labour")
GRANT_OUTCOMES = ("succeeded", "failed", "mixed", "abandoned")
NEED_WHERE = ("inside", "outside")

FEDERATION_KINDS = ("federation.create", "federation.rules", "federation.invite",
                    "federation.join", "federation.leave")
ECONOMY_KINDS = frozenset((
    *FEDERATION_KINDS,
    "transfer.offer", "transfer.accept", "transfer.decline",
    "surplus.offer", "surplus.request", "sprint.allocate",
    "fund.surplus", "fund.contribute", "fund.grant", "fund.report",
    "need.declare", "need.met",
))

TransferStatus = Literal["open", "accepted", "declined"]
ViewStatus = Literal["open", "lapsed", "accepted", "declined"]


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    symbol: str
    decimals: int
    kind: str  # one of UNIT_KINDS
    credit_limit: Quantity | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    units: tuple[Unit, ...]
    fund_share: Quantity
    offer_expiry_days: int

    def unit(self, name: str) -> Unit | None:
        raise NotImplementedError

    def to_value(self) -> dict[str, Value]:
        """The rules map as it appears in entry bodies (SPEC §12.1)."""
        raise NotImplementedError

    @classmethod
    def from_value(cls, value: object) -> Rules:
        """Parse a rules map (already checked by the kind's schema)."""
        raise NotImplementedError


DEFAULT_RULES: Rules  # hour/kwh/kg/item, fund share 0.1, offers expire in 14 days


@dataclass(slots=True)
class Federation:
    id: bytes                      # id of the federation.create entry
    name: str
    charter: str
    founder: bytes
    created: int                   # eff of the create entry (ms)
    rules: Rules                   # in force last
    # co-op -> list of (from_eff, until_eff or None) membership intervals
    members: dict[bytes, list[tuple[int, int | None]]] = field(default_factory=dict)
    # invitee -> id of the pending (valid, unused) invite
    invited: dict[bytes, bytes] = field(default_factory=dict)

    def is_member(self, coop: bytes, at: int | None = None) -> bool:
        """Member at time ``at`` (ms); None means now, i.e. after every applied entry."""
        raise NotImplementedError

    def current_members(self) -> list[bytes]:
        """Members now (sorted)."""
        raise NotImplementedError

    def rules_at(self, at: int) -> Rules:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Item:
    item: str
    quantity: Quantity
    unit: str


@dataclass(slots=True)
class Transfer:
    """A transfer.offer, or a sprint.allocate (an in-kind offer of surplus)."""

    id: bytes
    origin: Literal["offer", "allocation"]
    federation: bytes
    payer: bytes
    receiver: bytes
    amount: Quantity | None
    unit: str | None
    items: tuple[Item, ...]
    purpose: str
    ts: int
    expires: int
    status: TransferStatus = "open"
    closed_by: bytes | None = None     # the accept or decline entry
    closed_ts: int | None = None

    def status_at(self, as_of: int | None) -> ViewStatus:
        """``lapsed`` when still open and as_of > expires."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Invalid:
    entry_id: bytes
    kind: str
    author: bytes
    code: str        # a reason code of SPEC §12.4
    detail: str      # one sentence for people


@dataclass(frozen=True, slots=True)
class Flag:
    """An exception the fold flags (never undoes): over-credit-limit,
    offer-over-available, grant-over-fund."""

    code: str
    federation: bytes
    unit: str
    coop: bytes
    entry_id: bytes
    value: Quantity      # balance after / amount offered / fund after
    bound: Quantity      # -limit / available / 0

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(slots=True)
class SurplusOffer:
    id: bytes
    federation: bytes
    author: bytes
    what: str
    item: str
    quantity: Quantity
    unit: str
    until: str            # date
    allocated: Quantity   # by valid allocations (open or accepted)


@dataclass(slots=True)
class SurplusRequest:
    id: bytes
    federation: bytes
    author: bytes
    item: str
    quantity: Quantity
    unit: str
    until: str
    allocated: Quantity


@dataclass(slots=True)
class Allocation:
    id: bytes              # the sprint.allocate entry (also a Transfer id)
    sprint: str            # period YYYY-MM
    offer: bytes
    request: bytes
    quantity: Quantity
    by: bytes              # who recorded it


@dataclass(slots=True)
class Board:
    offers: list[SurplusOffer]        # open (until >= as_of date, something left)
    requests: list[SurplusRequest]
    matches: list[tuple[bytes, bytes]]  # (offer id, request id)
    sprints: dict[str, list[Allocation]]


@dataclass(slots=True)
class Grant:
    id: bytes
    federation: bytes
    grantor: bytes
    to: bytes
    experiment: str
    amount: Quantity
    unit: str
    report_due: str        # date
    report: bytes | None = None
    outcome: str | None = None


@dataclass(slots=True)
class FundView:
    balances: dict[str, Quantity]                       # unit -> fund balance
    due: dict[tuple[bytes, str, str], Quantity]         # (coop, period, unit) -> due
    contributed: dict[tuple[bytes, str, str], Quantity]
    grants: list[Grant]
    overdue: list[Grant]                                # no report, past report_due at as_of


@dataclass(slots=True)
class Need:
    id: bytes
    federation: bytes
    author: bytes
    category: str
    quantity: Quantity
    unit: str
    period: str
    met_inside: Quantity
    met_outside: Quantity


@dataclass(slots=True)
class Economy:
    federations: dict[bytes, Federation] = field(default_factory=dict)
    transfers: dict[bytes, Transfer] = field(default_factory=dict)
    invalid: dict[bytes, Invalid] = field(default_factory=dict)
    exceptions: list[Flag] = field(default_factory=list)
    surplus_offers: dict[bytes, SurplusOffer] = field(default_factory=dict)
    surplus_requests: dict[bytes, SurplusRequest] = field(default_factory=dict)
    allocations: dict[bytes, Allocation] = field(default_factory=dict)
    grants: dict[bytes, Grant] = field(default_factory=dict)
    needs: dict[bytes, Need] = field(default_factory=dict)

    def balances(self, federation: bytes) -> dict[tuple[str, bytes], Quantity]:
        """(unit, coop) -> balance, every member that ever had a completed transfer."""
        raise NotImplementedError

    def reserved(self, federation: bytes, as_of: int | None
                 ) -> dict[tuple[str, bytes], Quantity]:
        """(unit, payer) -> amount reserved by open, not lapsed offers."""
        raise NotImplementedError

    def board(self, federation: bytes, as_of: int | None) -> Board:
        raise NotImplementedError

    def fund(self, federation: bytes, as_of: int | None) -> FundView:
        raise NotImplementedError

    def federations_of(self, coop: bytes) -> list[Federation]:
        """Federations ``coop`` is a member of now, or has a pending invite to."""
        raise NotImplementedError

    def replication_scope(self, me: bytes) -> frozenset[bytes] | None:
        """The authors whose logs ``me`` replicates: itself, and the founder, members
        (past and present), pending invitees and inviters of every federation it is in
        or invited to. None when it is in no federation and has no invite: then a node
        replicates every log of its network (the issue-3 behaviour)."""
        raise NotImplementedError

    def to_value(self) -> dict[str, Value]:
        raise NotImplementedError


def compute_economy(entries: Iterable[Entry]) -> Economy:
    raise NotImplementedError
