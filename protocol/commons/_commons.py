"""The state of the commons: ``Economy`` (SPEC §12.6), which holds each area's records,
and ``Governance`` (``Economy.gov``, SPEC §13), which holds those of self-government
and of §14. ``to_value()`` of each is its part of the state value.

Each area's records are in its own ``_<area>_state`` module; the walk (``_walk``)
fills these, and the views read them.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .._codec import Value
from .._decimal import ZERO, Quantity
from .._entry import Entry
from ._alerts_state import Alerts
from ._audit_state import Audits
from ._economy_state import (
    Allocation,
    Board,
    Books,
    Federation,
    Flag,
    FundView,
    Grant,
    Invalid,
    Need,
    SurplusOffer,
    SurplusRequest,
    Transfer,
    date_end_ms,
    utc_date,
)
from ._identity_state import Identities
from ._lottery_state import Lotteries
from ._mandates_state import Mandates, Roles
from ._policy_state import DEFAULT_POLICY, Policy
from ._proposals_state import Proposals


@dataclass(frozen=True, slots=True)
class GovFlag:
    """Something a rule flags but does not block (e.g. a term limit passed): recorded
    identically on every node, never dropped."""

    code: str
    entry: bytes
    detail: str

    def to_row(self) -> list[Value]:
        return [self.code, self.entry.hex(), self.detail]


@dataclass(slots=True)
class Governance:
    ids: Identities = field(default_factory=Identities)
    mandates: Mandates = field(default_factory=Mandates)
    roles: Roles = field(default_factory=Roles)
    lotteries: Lotteries = field(default_factory=Lotteries)
    proposals: Proposals = field(default_factory=Proposals)
    # body (a federation id, or a co-op's identity) -> [(eff, policy)] in timeline order
    policies: dict[bytes, list[tuple[int, Policy]]] = field(default_factory=dict)
    flags: list[GovFlag] = field(default_factory=list)
    seen: bool = False  # an entry of a §13 kind applied (the value is shown only then)
    # SPEC §14: each shown in the economy value under its own key, only when seen.
    audit: Audits = field(default_factory=Audits)
    alerts: Alerts = field(default_factory=Alerts)

    def policy_at(self, body: bytes, at: int | None = None) -> Policy:
        """The policy of ``body`` in force at eff ``at`` (None: the last one)."""
        out = DEFAULT_POLICY
        for eff, policy in self.policies.get(body, ()):
            if at is None or eff <= at:
                out = policy
        return out

    def flag(self, code: str, entry: Entry, detail: str) -> None:
        self.flags.append(GovFlag(code, entry.id, detail))

    def to_value(self) -> dict[str, Value]:
        """The ``governance`` part of the economy value (SPEC §13)."""
        policies: dict[str, Value] = {
            body.hex(): [[eff, p.to_value()] for eff, p in hist]
            for body, hist in sorted(self.policies.items())}
        rows = sorted(tuple(str(c) for c in f.to_row()) for f in self.flags)
        return {
            "keys": self.ids.to_value(),
            "mandates": self.mandates.to_value(),
            "roles": self.roles.to_value(),
            "lotteries": self.lotteries.to_value(),
            "proposals": self.proposals.to_value(),
            "policies": policies,
            "flags": [list[Value](r) for r in rows],
        }


@dataclass(slots=True)
class Economy:
    """The state of the commons (SPEC §12.6): the economy's records, and ``gov``, the
    self-government (§13) with the audit and alerts of §14."""

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
    # the economy area's working figures during the walk (not part of the value)
    books: Books = field(default_factory=Books, compare=False, repr=False)

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
