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

How it works: ``_timeline`` orders the economic entries by (eff, depth, id), and
``_Machine`` walks them once, judging each entry against the state the entries before
it left. A rule broken raises ``_Reject`` (the entry is recorded as ``Invalid`` and has
no effect); an invariant that partitions cannot guarantee (credit limits, reservations,
the fund) is *flagged* and the entry still takes effect. Nothing else is judged: there
is no other way for an entry to be dropped.
"""

from __future__ import annotations

import datetime
import functools
import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from . import _governance as governance
from ._codec import Value
from ._decimal import ZERO, Quantity
from ._entry import Entry
from ._governance import Governance
from ._judge import Body, timeline
from ._judge import Reject as _Reject
from ._judge import short as _short
from ._kinds import ALERT_KINDS, AUDIT_KINDS, GOVERNANCE_KINDS, KEY_KINDS, default_rules_value

# The enums live with the schemas (_kinds cannot import this module: _entry imports
# _kinds, and this module imports _entry); re-exported here for the economy's readers.
from ._kinds import GRANT_OUTCOMES as GRANT_OUTCOMES
from ._kinds import NEED_CATEGORIES as NEED_CATEGORIES
from ._kinds import NEED_WHERE as NEED_WHERE
from ._kinds import SURPLUS_WHAT as SURPLUS_WHAT
from ._kinds import UNIT_KINDS as UNIT_KINDS

FEDERATION_KINDS = ("federation.create", "federation.rules", "federation.invite",
                    "federation.join", "federation.leave")
ECONOMY_KINDS = frozenset((
    *FEDERATION_KINDS,
    "transfer.offer", "transfer.accept", "transfer.decline",
    "surplus.offer", "surplus.request", "sprint.allocate",
    "fund.surplus", "fund.contribute", "fund.grant", "fund.report",
    "need.declare", "need.met",
))
# What the commons' machine reads: the economy's kinds and those of self-government
# (SPEC §13); the state keeps the applied entries of these kinds whole.
COMMONS_KINDS = ECONOMY_KINDS | GOVERNANCE_KINDS | AUDIT_KINDS | ALERT_KINDS

# Reason codes of invalid entries (SPEC §12.4), one sentence of detail each.
REASON_CODES = frozenset((
    "malformed", "not-a-federation", "not-a-member", "not-the-founder", "not-invited",
    "already-member", "unknown-unit", "too-many-decimals", "not-the-receiver",
    "wrong-target", "expired", "already-accepted", "already-declined", "not-an-offer",
    "not-a-request", "expires-before-offered", "over-offer", "not-a-need",
    "not-the-declarer", "not-a-grant", "not-the-grantee", "already-reported",
))
FLAG_CODES = ("over-credit-limit", "offer-over-available", "grant-over-fund")

TransferStatus = Literal["open", "accepted", "declined"]
ViewStatus = Literal["open", "lapsed", "accepted", "declined"]

_DAY_MS = 86_400_000
_EPOCH = datetime.date(1970, 1, 1)


def _mul(a: Quantity, b: Quantity) -> Quantity:
    """Exact product (the fund's due share); never rounded."""
    return Quantity._normalised(a.units * b.units, a.scale + b.scale)


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
class _Reserved:
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
    # valid invites: id -> (federation, inviter, invitee)
    invites: dict[bytes, tuple[bytes, bytes, bytes]] = field(default_factory=dict)
    # per federation: fund balances, due and contributed (``overdue`` left empty)
    funds: dict[bytes, FundView] = field(default_factory=dict)
    # self-government (SPEC §13): keys, mandates, roles, lotteries, proposals
    gov: Governance = field(default_factory=Governance)

    def balances(self, federation: bytes) -> dict[tuple[str, bytes], Quantity]:
        """(unit, coop) -> balance, every member that ever had a completed transfer
        (a balance back at zero stays listed)."""
        out: dict[tuple[str, bytes], Quantity] = {}
        for t in self.transfers.values():
            if (t.federation != federation or t.status != "accepted"
                    or t.amount is None or t.unit is None):
                continue
            out[(t.unit, t.payer)] = out.get((t.unit, t.payer), ZERO) - t.amount
            out[(t.unit, t.receiver)] = out.get((t.unit, t.receiver), ZERO) + t.amount
        return dict(sorted(out.items()))

    def reserved(self, federation: bytes, as_of: int | None
                 ) -> dict[tuple[str, bytes], Quantity]:
        """(unit, payer) -> amount reserved by open, not lapsed offers."""
        out: dict[tuple[str, bytes], Quantity] = {}
        for t in self.transfers.values():
            if (t.federation == federation and t.amount is not None and t.unit is not None
                    and t.status_at(as_of) == "open"):
                out[(t.unit, t.payer)] = out.get((t.unit, t.payer), ZERO) + t.amount
        return dict(sorted(out.items()))

    def _allocated_at(self, ids: Iterable[bytes], as_of: int | None) -> Quantity:
        total = ZERO
        for i in ids:
            if self.transfers[i].status_at(as_of) in ("open", "accepted"):
                total += self.allocations[i].quantity
        return total

    def board(self, federation: bytes, as_of: int | None) -> Board:
        """The surplus board at ``as_of``: offers and requests whose ``until`` date is
        not past (UTC date of as_of; None shows every date) with something left after
        the allocations that are accepted or open and not lapsed; matches between
        them; and every valid allocation of the federation by sprint."""
        today = None if as_of is None else utc_date(as_of)
        by_offer: dict[bytes, list[bytes]] = {}
        by_request: dict[bytes, list[bytes]] = {}
        sprints: dict[str, list[Allocation]] = {}
        for a in sorted(self.allocations.values(), key=lambda a: a.id):
            if self.transfers[a.id].federation != federation:
                continue
            by_offer.setdefault(a.offer, []).append(a.id)
            by_request.setdefault(a.request, []).append(a.id)
            sprints.setdefault(a.sprint, []).append(a)
        offers = []
        for o in sorted(self.surplus_offers.values(), key=lambda o: o.id):
            left = o.quantity - self._allocated_at(by_offer.get(o.id, ()), as_of)
            if o.federation == federation and (today is None or o.until >= today) \
                    and left.is_positive():
                offers.append(replace(o, allocated=o.quantity - left))
        requests = []
        for r in sorted(self.surplus_requests.values(), key=lambda r: r.id):
            left = r.quantity - self._allocated_at(by_request.get(r.id, ()), as_of)
            if r.federation == federation and (today is None or r.until >= today) \
                    and left.is_positive():
                requests.append(replace(r, allocated=r.quantity - left))
        matches = [(o.id, r.id) for o in offers for r in requests
                   if o.author != r.author and o.item.casefold() == r.item.casefold()
                   and o.unit.casefold() == r.unit.casefold()]
        return Board(offers, requests, matches, dict(sorted(sprints.items())))

    def fund(self, federation: bytes, as_of: int | None) -> FundView:
        """The innovation fund of ``federation``; ``overdue`` lists grants with no
        report whose ``report_due`` day (UTC) ended at or before ``as_of`` (none when
        as_of is None)."""
        book = self.funds.get(federation)
        grants = sorted((g for g in self.grants.values() if g.federation == federation),
                        key=lambda g: g.id)
        overdue = [g for g in grants if g.report is None and as_of is not None
                   and as_of >= date_end_ms(g.report_due)]
        if book is None:
            return FundView({}, {}, {}, grants, overdue)
        return FundView(dict(book.balances), dict(book.due), dict(book.contributed),
                        grants, overdue)

    def federations_of(self, coop: bytes) -> list[Federation]:
        """Federations ``coop`` is a member of now, or has a pending invite to.
        ``coop`` is an identity or any key of one (SPEC §13.2: a key stands for the
        co-op it is bound to)."""
        coop = self.gov.ids.identity_of(coop)
        return [f for _, f in sorted(self.federations.items())
                if f.is_member(coop) or coop in f.invited]

    def replication_scope(self, me: bytes) -> frozenset[bytes] | None:
        """The keys whose logs ``me`` (a key, or an identity) replicates: every key
        (SPEC §13.2: root and bound keys, revoked ones too, for their history) of its
        own co-op and of the founder, members (past and present), pending invitees and
        inviters of every federation it is in or invited to. None when it is in no
        federation and has no invite: then a node replicates every log of its network
        (the issue-3 behaviour)."""
        ids = self.gov.ids
        me = ids.identity_of(me)
        feds = self.federations_of(me)
        if not feds:
            return None
        scope = {me}
        for f in feds:
            scope.add(f.founder)
            scope.update(f.members)
            scope.update(f.invited)
            scope.update(inviter for fed, inviter, _ in self.invites.values()
                         if fed == f.id)
        keys = set(scope)
        for identity in scope:
            keys.update(r.key for r in ids.keys_of(identity))
        return frozenset(keys)

    def to_value(self) -> dict[str, Value]:
        """The ``economy`` part of the state value (SPEC §12.6): ids and keys as
        lowercase hex, decimals as canonical text, every list sorted; nothing in it
        depends on an as-of time."""
        feds: dict[str, Value] = {}
        for fid, f in sorted(self.federations.items()):
            feds[fid.hex()] = self._federation_value(f)
        invalid: list[Value] = [[i.hex(), self.invalid[i].code] for i in sorted(self.invalid)]
        # Every column of a flag row is text, so sorting the rows as tuples of text is
        # the column-by-column order of §5.
        rows = sorted(tuple(str(c) for c in x.to_row()) for x in self.exceptions)
        exceptions: list[Value] = [list[Value](r) for r in rows]
        value: dict[str, Value] = {"federations": feds, "invalid": invalid,
                                   "exceptions": exceptions}
        # Only when a §13 kind applied, so economies without them hash as before.
        if self.gov.seen:
            value["governance"] = self.gov.to_value()
        # SPEC §14: likewise only when an entry of their kinds applied.
        if self.gov.audit.seen:
            value["audit"] = self.gov.audit.to_value()
        if self.gov.alerts.seen:
            value["alerts"] = self.gov.alerts.to_value()
        return value

    def _federation_value(self, f: Federation) -> dict[str, Value]:
        fid = f.id
        members: list[Value] = []
        for coop, spans in sorted(f.members.items()):
            row: list[Value] = [coop.hex()]
            row.extend([lo, hi] for lo, hi in spans)
            members.append(row)
        balances: list[Value] = [[u, c.hex(), str(q)]
                                 for (u, c), q in self.balances(fid).items() if q.units]
        transfers: list[Value] = [
            [t.id.hex(), t.status, None if t.closed_by is None else t.closed_by.hex()]
            for t in sorted(self.transfers.values(), key=lambda t: t.id)
            if t.federation == fid]
        offers: list[Value] = [[o.id.hex(), str(o.allocated)]
                               for o in sorted(self.surplus_offers.values(),
                                               key=lambda o: o.id) if o.federation == fid]
        requests: list[Value] = [[r.id.hex(), str(r.allocated)]
                                 for r in sorted(self.surplus_requests.values(),
                                                 key=lambda r: r.id) if r.federation == fid]
        allocations: list[Value] = [
            [a.id.hex(), a.sprint, a.offer.hex(), a.request.hex(), str(a.quantity)]
            for a in sorted(self.allocations.values(), key=lambda a: a.id)
            if self.transfers[a.id].federation == fid]
        view = self.fund(fid, None)
        fund: dict[str, Value] = {
            "balances": [[u, str(q)] for u, q in sorted(view.balances.items())],
            "due": [[c.hex(), p, u, str(q)] for (c, p, u), q in sorted(view.due.items())],
            "contributed": [[c.hex(), p, u, str(q)]
                            for (c, p, u), q in sorted(view.contributed.items())],
            "grants": [[g.id.hex(), None if g.report is None else g.report.hex()]
                       for g in view.grants],
        }
        needs: list[Value] = [[n.id.hex(), str(n.met_inside), str(n.met_outside)]
                              for n in sorted(self.needs.values(), key=lambda n: n.id)
                              if n.federation == fid]
        return {
            "name": f.name, "founder": f.founder.hex(), "created": f.created,
            "rules": f.rules.to_value(), "members": members, "balances": balances,
            "transfers": transfers,
            "board": {"offers": offers, "requests": requests, "allocations": allocations},
            "fund": fund, "needs": needs,
        }


# ------------------------------------------------------------------------ the rules

class _Body(Body):
    def rules(self, key: str) -> Rules:
        try:
            return Rules.from_value(self.body.get(key))
        except ValueError as exc:
            raise self._bad(key, "a rules map") from exc


class _Machine:
    """Walks the timeline once; each ``_<kind>`` method judges one entry against the
    state left by the entries before it and applies it, or raises _Reject."""

    def __init__(self) -> None:
        self.econ = Economy()
        self.gov = self.econ.gov
        self.eff = 0
        # The identity the entry being judged acts for (SPEC §13.2): its author's co-op.
        self.actor = b""
        self.pending: dict[bytes, tuple[bytes, bytes]] = {}  # unused invite -> (fed, invitee)
        self.balance: dict[tuple[bytes, str, bytes], Quantity] = {}  # (fed, unit, coop)
        self.open: dict[tuple[bytes, str, bytes], _Reserved] = {}  # offers by payer
        self.alloc_of: dict[bytes, list[bytes]] = {}  # surplus offer/request -> allocations

    def run(self, entries: Iterable[Entry]) -> Economy:
        commons = [e for e in entries if e.kind in COMMONS_KINDS]
        governance.prepare(self, commons)
        for entry_id, (code, detail) in self.gov.ids.invalid.items():
            e = self.gov.ids.entries[entry_id]
            self.econ.invalid[entry_id] = Invalid(entry_id, e.kind, e.author, code, detail)
        handlers: dict[str, Callable[[Entry, _Body], None]] = {
            "federation.create": self._create, "federation.rules": self._rules,
            "federation.invite": self._invite, "federation.join": self._join,
            "federation.leave": self._leave, "transfer.offer": self._offer,
            "transfer.accept": self._accept, "transfer.decline": self._decline,
            "surplus.offer": self._surplus_offer, "surplus.request": self._surplus_request,
            "sprint.allocate": self._allocate, "fund.surplus": self._fund_surplus,
            "fund.contribute": self._fund_contribute, "fund.grant": self._fund_grant,
            "fund.report": self._fund_report, "need.declare": self._need_declare,
            "need.met": self._need_met,
        }
        for kind, fn in governance.handlers().items():
            handlers[kind] = functools.partial(fn, self)
        for eff, _depth, e in timeline(commons, COMMONS_KINDS - KEY_KINDS):
            self.eff = eff
            try:
                self.actor = governance.acting(self, e)
                handlers[e.kind](e, _Body(e))
            except _Reject as r:
                self.econ.invalid[e.id] = Invalid(e.id, e.kind, e.author, r.code, r.detail)
        return self.econ

    # -- helpers (also used by the governance areas: ``federation``, ``member``)

    def federation(self, b: Body) -> Federation:
        return self._fed(b)

    def member(self, fed: Federation, coop: bytes, who: str) -> None:
        self._member(fed, coop, who)

    def _fed(self, b: Body) -> Federation:
        fid = b.ref("federation")
        fed = self.econ.federations.get(fid)
        if fed is None:
            raise _Reject("not-a-federation",
                          f"entry {_short(fid)} is not a valid federation.create")
        return fed

    def _member(self, fed: Federation, coop: bytes, who: str) -> None:
        if not fed.is_member(coop):
            raise _Reject("not-a-member", f"{who} {_short(coop)} is not a member of "
                          f"federation {_short(fed.id)}")

    def _unit(self, fed: Federation, b: _Body, amount: Quantity) -> Unit:
        name = b.text("unit")
        unit = fed.rules.unit(name)
        if unit is None:
            raise _Reject("unknown-unit", f"federation {_short(fed.id)} defines no unit "
                          "by this name")
        if amount.scale > unit.decimals:
            raise _Reject("too-many-decimals", f"unit {unit.name} allows at most "
                          f"{unit.decimals} decimal places")
        return unit

    def _flag(self, code: str, fed: Federation, unit: str, coop: bytes, e: Entry,
              value: Quantity, bound: Quantity) -> None:
        self.econ.exceptions.append(Flag(code, fed.id, unit, coop, e.id, value, bound))

    def _book(self, fed: Federation) -> FundView:
        book = self.econ.funds.get(fed.id)
        if book is None:
            book = self.econ.funds[fed.id] = FundView({}, {}, {}, [], [])
        return book

    # -- membership

    def _create(self, e: Entry, b: _Body) -> None:
        rules = b.rules("rules")
        fed = Federation(e.id, b.text("name"), b.text("charter"), self.actor, self.eff,
                         rules, rules_history=[(self.eff, rules)])
        fed.members[self.actor] = [(self.eff, None)]
        self.econ.federations[e.id] = fed

    def _rules(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        rules = b.rules("rules")
        if self.actor != fed.founder:
            raise _Reject("not-the-founder", "only the founder may amend the rules")
        fed.rules = rules
        fed.rules_history.append((self.eff, rules))

    def _invite(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        invitee = b.coop("invitee")
        self._member(fed, self.actor, "the inviter")
        if fed.is_member(invitee):
            raise _Reject("already-member", f"co-op {_short(invitee)} is already a "
                          "member")
        fed.invited[invitee] = e.id
        self.pending[e.id] = (fed.id, invitee)
        self.econ.invites[e.id] = (fed.id, self.actor, invitee)

    def _join(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        invite = b.ref("invite")
        if fed.is_member(self.actor):
            raise _Reject("already-member", "the co-op is already a member")
        if self.pending.get(invite) != (fed.id, self.actor):
            raise _Reject("not-invited", f"entry {_short(invite)} is not an unused "
                          "invite of this co-op to this federation")
        # A join uses up every pending invite of the co-op to the federation: rejoining
        # after a leave needs an invite made after the leave.
        for i, (f, who) in list(self.pending.items()):
            if f == fed.id and who == self.actor:
                del self.pending[i]
        del fed.invited[self.actor]
        fed.members.setdefault(self.actor, []).append((self.eff, None))

    def _leave(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        self._member(fed, self.actor, "the co-op")
        spans = fed.members[self.actor]
        spans[-1] = (spans[-1][0], self.eff)

    # -- transfers

    def _items(self, b: _Body) -> tuple[Item, ...]:
        raw = b.body.get("items")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw:
            raise b._bad("items", "an array of items")
        out = []
        for it in raw:
            if not isinstance(it, dict):
                raise b._bad("items", "an array of item maps")
            sub = _Body(b.entry)
            sub.body = it
            out.append(Item(sub.text("item"), sub.dec("quantity"), sub.text("unit")))
        return tuple(out)

    def _held(self, ids: Iterable[bytes]) -> Quantity:
        """What transfers ``ids`` hold at the current eff: accepted ones, and open ones
        not expired (a lapsed offer reserves nothing)."""
        total = ZERO
        for i in ids:
            t = self.econ.transfers[i]
            if t.holds_at(self.eff):
                total += t.amount if t.amount is not None else self.econ.allocations[i].quantity
        return total

    def _release(self, t: Transfer) -> None:
        """``t`` closed: what it reserved is free (or, if accepted, in the balance)."""
        if t.origin == "offer" and t.unit is not None:
            pending = self.open.get((t.federation, t.unit, t.payer))
            if pending is not None:
                pending.release(t.id)

    def _offer(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        to, purpose, expires = b.coop("to"), b.text("purpose"), b.int("expires")
        if ("amount" in b.body) != ("unit" in b.body):
            raise b._bad("amount", "given together with unit")
        amount = b.dec("amount") if "amount" in b.body else None
        items = self._items(b)
        if amount is None and not items:
            raise b._bad("amount", "given, and there are no items")
        self._member(fed, self.actor, "the payer")
        if to == self.actor:
            raise _Reject("wrong-target", "a co-op cannot make an offer to itself")
        self._member(fed, to, "the receiver")
        if expires <= e.ts:
            raise _Reject("expires-before-offered", "the offer expires before it is made")
        unit = self._unit(fed, b, amount) if amount is not None else None
        t = Transfer(e.id, "offer", fed.id, self.actor, to, amount,
                     None if unit is None else unit.name, items, purpose, e.ts, expires)
        if amount is not None and unit is not None:
            key = (fed.id, unit.name, self.actor)
            pending = self.open.setdefault(key, _Reserved())
            if unit.credit_limit is not None:
                available = (self.balance.get(key, ZERO) - pending.at(self.eff)
                             + unit.credit_limit)
                if amount > available:
                    self._flag("offer-over-available", fed, unit.name, self.actor, e,
                               amount, available)
            pending.add(e.id, amount, expires)
        self.econ.transfers[e.id] = t

    def _closing(self, e: Entry, b: _Body) -> Transfer:
        oid = b.ref("offer")
        t = self.econ.transfers.get(oid)
        if t is None:
            raise _Reject("not-an-offer", f"entry {_short(oid)} is not a valid offer or "
                          "allocation")
        if self.actor != t.receiver:
            raise _Reject("not-the-receiver", "only the receiver may accept or decline")
        if t.status != "open":
            raise _Reject(f"already-{t.status}", f"the offer was already {t.status}")
        return t

    def _accept(self, e: Entry, b: _Body) -> None:
        t = self._closing(e, b)
        if e.ts > t.expires:
            raise _Reject("expired", "the accept is timestamped after the offer expired")
        fed = self.econ.federations[t.federation]
        self._member(fed, self.actor, "the receiver")
        t.status, t.closed_by, t.closed_ts = "accepted", e.id, e.ts
        self._release(t)
        if t.amount is None or t.unit is None:
            return
        payer, receiver = (t.federation, t.unit, t.payer), (t.federation, t.unit, t.receiver)
        self.balance[payer] = after = self.balance.get(payer, ZERO) - t.amount
        self.balance[receiver] = self.balance.get(receiver, ZERO) + t.amount
        unit = fed.rules.unit(t.unit)
        if unit is not None and unit.credit_limit is not None and after < -unit.credit_limit:
            self._flag("over-credit-limit", fed, t.unit, t.payer, e, after,
                       -unit.credit_limit)

    def _decline(self, e: Entry, b: _Body) -> None:
        t = self._closing(e, b)
        t.status, t.closed_by, t.closed_ts = "declined", e.id, e.ts
        self._release(t)
        a = self.econ.allocations.get(t.id)
        if a is not None:
            self.econ.surplus_offers[a.offer].allocated -= a.quantity
            self.econ.surplus_requests[a.request].allocated -= a.quantity

    # -- surplus sprint

    def _surplus_offer(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        what, item, quantity = b.text("what"), b.text("item"), b.dec("quantity")
        unit, until = b.text("unit"), b.text("until")
        self._member(fed, self.actor, "the offering co-op")
        self.econ.surplus_offers[e.id] = SurplusOffer(e.id, fed.id, self.actor, what, item,
                                                      quantity, unit, until, ZERO)

    def _surplus_request(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        item, quantity = b.text("item"), b.dec("quantity")
        unit, until = b.text("unit"), b.text("until")
        self._member(fed, self.actor, "the requesting co-op")
        self.econ.surplus_requests[e.id] = SurplusRequest(e.id, fed.id, self.actor, item,
                                                          quantity, unit, until, ZERO)

    def _allocate(self, e: Entry, b: _Body) -> None:
        oid, rid = b.ref("offer"), b.ref("request")
        quantity, sprint, expires = b.dec("quantity"), b.text("sprint"), b.int("expires")
        so = self.econ.surplus_offers.get(oid)
        if so is None:
            raise _Reject("not-an-offer", f"entry {_short(oid)} is not a valid "
                          "surplus.offer")
        sr = self.econ.surplus_requests.get(rid)
        if sr is None:
            raise _Reject("not-a-request", f"entry {_short(rid)} is not a valid "
                          "surplus.request")
        fed = self.econ.federations[so.federation]
        if sr.federation != so.federation:
            raise _Reject("wrong-target", "the request is in another federation")
        self._member(fed, self.actor, "the allocating co-op")
        if so.author == sr.author:
            raise _Reject("wrong-target", "the offer and the request are the same co-op's")
        if so.unit.casefold() != sr.unit.casefold():
            raise _Reject("wrong-target", "the request counts in another unit")
        self._member(fed, so.author, "the offering co-op")
        self._member(fed, sr.author, "the requesting co-op")
        if expires <= e.ts:
            raise _Reject("expires-before-offered", "the allocation expires before it is "
                          "made")
        for name, q, ids in (("offer", so.quantity, self.alloc_of.get(oid, [])),
                             ("request", sr.quantity, self.alloc_of.get(rid, []))):
            left = q - self._held(ids)
            if quantity > left:
                raise _Reject("over-offer", f"only {left} {so.unit} of the {name} is "
                              "left unallocated")
        self.econ.transfers[e.id] = Transfer(
            e.id, "allocation", fed.id, so.author, sr.author, None, None,
            (Item(so.item, quantity, so.unit),), f"surplus sprint {sprint}", e.ts, expires)
        self.econ.allocations[e.id] = Allocation(e.id, sprint, oid, rid, quantity, self.actor)
        self.alloc_of.setdefault(oid, []).append(e.id)
        self.alloc_of.setdefault(rid, []).append(e.id)
        so.allocated += quantity
        sr.allocated += quantity

    # -- innovation fund

    def _fund_surplus(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        period, amount = b.text("period"), b.dec("amount", zero_ok=True)
        self._member(fed, self.actor, "the co-op")
        unit = self._unit(fed, b, amount)
        # The last surplus on the timeline for a (co-op, period, unit) is in force: a
        # second entry corrects the first.
        self._book(fed).due[(self.actor, period, unit.name)] = _mul(fed.rules.fund_share,
                                                                  amount)

    def _fund_contribute(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        period, amount = b.text("period"), b.dec("amount")
        self._member(fed, self.actor, "the co-op")
        unit = self._unit(fed, b, amount)
        book = self._book(fed)
        book.balances[unit.name] = book.balances.get(unit.name, ZERO) + amount
        key = (self.actor, period, unit.name)
        book.contributed[key] = book.contributed.get(key, ZERO) + amount

    def _fund_grant(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        to, experiment = b.coop("to"), b.text("experiment")
        amount, due = b.dec("amount"), b.text("report_due")
        self._member(fed, self.actor, "the grantor")
        self._member(fed, to, "the grantee")
        unit = self._unit(fed, b, amount)
        book = self._book(fed)
        book.balances[unit.name] = after = book.balances.get(unit.name, ZERO) - amount
        if after < ZERO:
            self._flag("grant-over-fund", fed, unit.name, self.actor, e, after, ZERO)
        self.econ.grants[e.id] = Grant(e.id, fed.id, self.actor, to, experiment, amount,
                                       unit.name, due)

    def _fund_report(self, e: Entry, b: _Body) -> None:
        gid, outcome = b.ref("grant"), b.text("outcome")
        g = self.econ.grants.get(gid)
        if g is None:
            raise _Reject("not-a-grant", f"entry {_short(gid)} is not a valid fund.grant")
        if self.actor != g.to:
            raise _Reject("not-the-grantee", "only the grantee may report on a grant")
        if g.report is not None:
            raise _Reject("already-reported", "the grant already has a report")
        g.report, g.outcome = e.id, outcome

    # -- needs

    def _need_declare(self, e: Entry, b: _Body) -> None:
        fed = self._fed(b)
        category, quantity = b.text("category"), b.dec("quantity")
        unit, period = b.text("unit"), b.text("period")
        self._member(fed, self.actor, "the co-op")
        self.econ.needs[e.id] = Need(e.id, fed.id, self.actor, category, quantity, unit,
                                     period, ZERO, ZERO)

    def _need_met(self, e: Entry, b: _Body) -> None:
        nid, where, quantity = b.ref("need"), b.text("where"), b.dec("quantity")
        if where not in NEED_WHERE:
            raise b._bad("where", "inside or outside")
        n = self.econ.needs.get(nid)
        if n is None:
            raise _Reject("not-a-need", f"entry {_short(nid)} is not a valid need.declare")
        if self.actor != n.author:
            raise _Reject("not-the-declarer", "only the co-op that declared a need may "
                          "record it met")
        if where == "inside":
            n.met_inside += quantity
        else:
            n.met_outside += quantity


def compute_economy(entries: Iterable[Entry]) -> Economy:
    """The economy of a set of applied entries (any kinds, any order, duplicates
    allowed): a deterministic function of the set of economic entries in it."""
    return _Machine().run(entries)
