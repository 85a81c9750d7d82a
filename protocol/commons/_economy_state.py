"""What the economy derives (SPEC §12): the rules map, federations and their members,
transfers, the surplus board, the innovation fund and needs; invalid entries and
flags. The records only: the rules that build them are the economy area's
(``_economy``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .._codec import Value
from .._decimal import ZERO, Quantity
from .._kinds import UNIT_KINDS, default_rules_value
from ._judge import short as _short

TransferStatus = Literal["open", "accepted", "declined"]
ViewStatus = Literal["open", "lapsed", "accepted", "declined"]

_DAY_MS = 86_400_000
_EPOCH = datetime.date(1970, 1, 1)


def utc_date(ms: int) -> str:
    """The UTC calendar date (YYYY-MM-DD) of a time in ms: pure arithmetic, no clock."""
    return (_EPOCH + datetime.timedelta(days=ms // _DAY_MS)).isoformat()


def date_end_ms(date: str) -> int:
    """The first ms after the end of ``date`` (UTC): a deadline on that day is past at
    and after this time."""
    days = (datetime.date.fromisoformat(date) - _EPOCH).days
    return (days + 1) * _DAY_MS


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    symbol: str
    decimals: int
    kind: str  # one of UNIT_KINDS
    credit_limit: Quantity | None = None

    def to_value(self) -> dict[str, Value]:
        out: dict[str, Value] = {"name": self.name, "symbol": self.symbol,
                                 "decimals": self.decimals, "kind": self.kind}
        if self.credit_limit is not None:
            out["credit_limit"] = str(self.credit_limit)
        return out


@dataclass(frozen=True, slots=True)
class Rules:
    units: tuple[Unit, ...]
    fund_share: Quantity
    offer_expiry_days: int

    def unit(self, name: str) -> Unit | None:
        for u in self.units:
            if u.name == name:
                return u
        return None

    def to_value(self) -> dict[str, Value]:
        """The rules map as it appears in entry bodies (SPEC §12.1)."""
        return {"units": [u.to_value() for u in self.units],
                "fund_share": str(self.fund_share),
                "offer_expiry_days": self.offer_expiry_days}

    @classmethod
    def from_value(cls, value: object) -> Rules:
        """Parse a rules map (already checked by the kind's schema). Raises ValueError
        (or DecimalFormatError, a ValueError) if it is not one after all."""
        if not isinstance(value, Mapping):
            raise ValueError("rules must be a map")
        units_v = value.get("units")
        if not isinstance(units_v, list) or not units_v:
            raise ValueError("rules.units must be a non-empty array")
        units: list[Unit] = []
        for u in units_v:
            if not isinstance(u, Mapping):
                raise ValueError("each unit must be a map")
            name, symbol, kind = u.get("name"), u.get("symbol"), u.get("kind")
            decimals = u.get("decimals")
            limit = u.get("credit_limit")
            if not (isinstance(name, str) and isinstance(symbol, str)
                    and isinstance(kind, str) and kind in UNIT_KINDS
                    and type(decimals) is int and 0 <= decimals <= 9):
                raise ValueError("a unit needs name, symbol, kind and decimals 0-9")
            if limit is not None and not isinstance(limit, str):
                raise ValueError("credit_limit must be a decimal")
            units.append(Unit(name, symbol, decimals, kind,
                              None if limit is None else Quantity.parse(limit)))
        if len({u.name for u in units}) != len(units):
            raise ValueError("unit names must be unique")
        share, days = value.get("fund_share"), value.get("offer_expiry_days")
        if not isinstance(share, str) or type(days) is not int:
            raise ValueError("rules need fund_share and offer_expiry_days")
        return cls(tuple(units), Quantity.parse(share), days)


DEFAULT_RULES = Rules.from_value(default_rules_value())


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
    # (eff, rules) of the create entry and of each valid federation.rules, in order
    rules_history: list[tuple[int, Rules]] = field(default_factory=list)

    def is_member(self, coop: bytes, at: int | None = None) -> bool:
        """Member at time ``at`` (ms); None means now, i.e. after every applied entry.
        An interval (from, until) holds at t when from <= t < until."""
        spans = self.members.get(coop, [])
        if at is None:
            return bool(spans) and spans[-1][1] is None
        return any(lo <= at and (hi is None or at < hi) for lo, hi in spans)

    def current_members(self) -> list[bytes]:
        """Members now (sorted)."""
        return sorted(c for c in self.members if self.is_member(c))

    def members_during(self, start: int, end: int) -> list[bytes]:
        """Co-ops that were members at some time t with start <= t < end (sorted)."""
        return sorted(c for c, spans in self.members.items()
                      if any(lo < end and (hi is None or hi > start) for lo, hi in spans))

    def rules_at(self, at: int) -> Rules:
        """The rules of the last valid rules entry with eff <= at (the create's rules
        before the federation existed)."""
        out = self.rules_history[0][1] if self.rules_history else self.rules
        for eff, rules in self.rules_history:
            if eff <= at:
                out = rules
        return out


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
        """``lapsed`` when still open and as_of > expires (None: never lapsed)."""
        if self.status == "open" and as_of is not None and as_of > self.expires:
            return "lapsed"
        return self.status

    def holds_at(self, at: int) -> bool:
        """Still counts against the payer at time ``at``: accepted, or open and not
        expired (expires >= at)."""
        return self.status == "accepted" or (self.status == "open" and self.expires >= at)


@dataclass(slots=True)
class Reserved:
    """What one payer's open offers in one federation and unit reserve. The total is
    kept as offers open, close and lapse (the timeline's eff never decreases, so an
    offer that has lapsed stays lapsed), so a check costs O(log n), not a scan."""

    total: Quantity = ZERO
    by_expiry: list[tuple[int, bytes]] = field(default_factory=list)
    counted: dict[bytes, Quantity] = field(default_factory=dict)

    def add(self, transfer_id: bytes, amount: Quantity, expires: int) -> None:
        self.total += amount
        self.counted[transfer_id] = amount
        heapq.heappush(self.by_expiry, (expires, transfer_id))

    def release(self, transfer_id: bytes) -> None:
        amount = self.counted.pop(transfer_id, None)
        if amount is not None:
            self.total -= amount

    def at(self, eff: int) -> Quantity:
        """The total reserved at ``eff``: offers with expires < eff have lapsed."""
        while self.by_expiry and self.by_expiry[0][0] < eff:
            self.release(heapq.heappop(self.by_expiry)[1])
        return self.total


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
        who, fed = _short(self.coop), _short(self.federation)
        at = f"(entry {_short(self.entry_id)}, federation {fed})"
        if self.code == "over-credit-limit":
            return (f"co-op {who} has a balance of {self.value} {self.unit}, below its "
                    f"credit limit of {self.bound} {self.unit} {at}")
        if self.code == "offer-over-available":
            return (f"co-op {who} offered {self.value} {self.unit} with only "
                    f"{self.bound} {self.unit} available {at}")
        if self.code == "grant-over-fund":
            return (f"a grant by co-op {who} leaves the fund at {self.value} {self.unit}, "
                    f"below {self.bound} {at}")
        return f"{self.code}: co-op {who}, {self.value} against {self.bound} {self.unit} {at}"

    def to_row(self) -> list[Value]:
        return [self.code, self.federation.hex(), self.unit, self.coop.hex(),
                self.entry_id.hex(), str(self.value), str(self.bound)]


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
class Books:
    """The economy's working figures during the walk (not part of the state value,
    and emptied when the walk ends): unused invites, balances and reservations as the
    timeline has them so far."""

    # unused invite -> (federation, invitee)
    pending: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    # (federation, unit, co-op) -> balance
    balance: dict[tuple[bytes, str, bytes], Quantity] = field(default_factory=dict)
    # (federation, unit, payer) -> what its open offers reserve
    open: dict[tuple[bytes, str, bytes], Reserved] = field(default_factory=dict)
    # surplus offer or request -> the allocations of it
    alloc_of: dict[bytes, list[bytes]] = field(default_factory=dict)
