"""The economy area (SPEC §12): federations and their members, transfers and
mutual-credit balances, the surplus sprint, the innovation fund and needs.

Each handler below judges one entry against the state the entries before it left
(SPEC §12.4 gives the rules in this order). A rule broken raises ``Reject`` (the
entry is recorded as ``Invalid`` and has no effect); an invariant that partitions
cannot guarantee (credit limits, reservations, the fund) is *flagged* (``Flag``) and
the entry still takes effect. Nothing else is judged: there is no other way for an
entry to be dropped.

``find_federation`` and ``require_member`` are the checks every area makes of a
federation an entry names (the walk offers them as ``Machine.federation`` and
``Machine.member``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._decimal import ZERO, Quantity
from .._entry import Entry

# The enums live with the schemas; re-exported here for the economy's readers.
from .._kinds import GRANT_OUTCOMES as GRANT_OUTCOMES
from .._kinds import NEED_CATEGORIES as NEED_CATEGORIES
from .._kinds import NEED_WHERE as NEED_WHERE
from .._kinds import SURPLUS_WHAT as SURPLUS_WHAT
from .._kinds import UNIT_KINDS as UNIT_KINDS
from ._area import Area, Handler, Machine
from ._commons import Economy
from ._economy_state import (
    Allocation,
    Federation,
    Flag,
    FundView,
    Grant,
    Item,
    Need,
    Reserved,
    Rules,
    SurplusOffer,
    SurplusRequest,
    Transfer,
    Unit,
)
from ._judge import Body, Reject, short

FEDERATION_KINDS = ("federation.create", "federation.rules", "federation.invite",
                    "federation.join", "federation.leave")
ECONOMY_KINDS = frozenset((
    *FEDERATION_KINDS,
    "transfer.offer", "transfer.accept", "transfer.decline",
    "surplus.offer", "surplus.request", "sprint.allocate",
    "fund.surplus", "fund.contribute", "fund.grant", "fund.report",
    "need.declare", "need.met",
))

# Reason codes of invalid entries (SPEC §12.4), one sentence of detail each.
REASON_CODES = frozenset((
    "malformed", "not-a-federation", "not-a-member", "not-the-founder", "not-invited",
    "already-member", "unknown-unit", "too-many-decimals", "not-the-receiver",
    "wrong-target", "expired", "already-accepted", "already-declined", "not-an-offer",
    "not-a-request", "expires-before-offered", "over-offer", "not-a-need",
    "not-the-declarer", "not-a-grant", "not-the-grantee", "already-reported",
))
FLAG_CODES = ("over-credit-limit", "offer-over-available", "grant-over-fund")


def _mul(a: Quantity, b: Quantity) -> Quantity:
    """Exact product (the fund's due share); never rounded."""
    return Quantity._normalised(a.units * b.units, a.scale + b.scale)


def _rules(b: Body, key: str) -> Rules:
    try:
        return Rules.from_value(b.body.get(key))
    except ValueError as exc:
        raise b._bad(key, "a rules map") from exc


def find_federation(econ: Economy, b: Body) -> Federation:
    """The valid federation field ``federation`` names, else Reject."""
    fid = b.ref("federation")
    fed = econ.federations.get(fid)
    if fed is None:
        raise Reject("not-a-federation",
                     f"entry {short(fid)} is not a valid federation.create")
    return fed


def require_member(fed: Federation, coop: bytes, who: str) -> None:
    """Reject unless ``coop`` is a member of ``fed`` at this point of the timeline."""
    if not fed.is_member(coop):
        raise Reject("not-a-member", f"{who} {short(coop)} is not a member of "
                     f"federation {short(fed.id)}")


def _unit(fed: Federation, b: Body, amount: Quantity) -> Unit:
    name = b.text("unit")
    unit = fed.rules.unit(name)
    if unit is None:
        raise Reject("unknown-unit", f"federation {short(fed.id)} defines no unit "
                     "by this name")
    if amount.scale > unit.decimals:
        raise Reject("too-many-decimals", f"unit {unit.name} allows at most "
                     f"{unit.decimals} decimal places")
    return unit


def _flag(m: Machine, code: str, fed: Federation, unit: str, coop: bytes, e: Entry,
          value: Quantity, bound: Quantity) -> None:
    m.econ.exceptions.append(Flag(code, fed.id, unit, coop, e.id, value, bound))


def _book(m: Machine, fed: Federation) -> FundView:
    book = m.econ.funds.get(fed.id)
    if book is None:
        book = m.econ.funds[fed.id] = FundView({}, {}, {}, [], [])
    return book


# -- membership

def _create(m: Machine, e: Entry, b: Body) -> None:
    rules = _rules(b, "rules")
    fed = Federation(e.id, b.text("name"), b.text("charter"), m.actor, m.eff,
                     rules, rules_history=[(m.eff, rules)])
    fed.members[m.actor] = [(m.eff, None)]
    m.econ.federations[e.id] = fed


def _rules_entry(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    rules = _rules(b, "rules")
    if m.actor != fed.founder:
        raise Reject("not-the-founder", "only the founder may amend the rules")
    fed.rules = rules
    fed.rules_history.append((m.eff, rules))


def _invite(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    invitee = b.coop("invitee")
    require_member(fed, m.actor, "the inviter")
    if fed.is_member(invitee):
        raise Reject("already-member", f"co-op {short(invitee)} is already a "
                     "member")
    fed.invited[invitee] = e.id
    m.econ.books.pending[e.id] = (fed.id, invitee)
    m.econ.invites[e.id] = (fed.id, m.actor, invitee)


def _join(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    invite = b.ref("invite")
    if fed.is_member(m.actor):
        raise Reject("already-member", "the co-op is already a member")
    if m.econ.books.pending.get(invite) != (fed.id, m.actor):
        raise Reject("not-invited", f"entry {short(invite)} is not an unused "
                     "invite of this co-op to this federation")
    # A join uses up every pending invite of the co-op to the federation: rejoining
    # after a leave needs an invite made after the leave.
    for i, (f, who) in list(m.econ.books.pending.items()):
        if f == fed.id and who == m.actor:
            del m.econ.books.pending[i]
    del fed.invited[m.actor]
    fed.members.setdefault(m.actor, []).append((m.eff, None))


def _leave(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    require_member(fed, m.actor, "the co-op")
    spans = fed.members[m.actor]
    spans[-1] = (spans[-1][0], m.eff)


# -- transfers

def _items(b: Body) -> tuple[Item, ...]:
    raw = b.body.get("items")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise b._bad("items", "an array of items")
    out = []
    for it in raw:
        if not isinstance(it, dict):
            raise b._bad("items", "an array of item maps")
        sub = Body(b.entry)
        sub.body = it
        out.append(Item(sub.text("item"), sub.dec("quantity"), sub.text("unit")))
    return tuple(out)


def _held(m: Machine, ids: Iterable[bytes]) -> Quantity:
    """What transfers ``ids`` hold at the current eff: accepted ones, and open ones
    not expired (a lapsed offer reserves nothing)."""
    total = ZERO
    for i in ids:
        t = m.econ.transfers[i]
        if t.holds_at(m.eff):
            total += t.amount if t.amount is not None else m.econ.allocations[i].quantity
    return total


def _release(m: Machine, t: Transfer) -> None:
    """``t`` closed: what it reserved is free (or, if accepted, in the balance)."""
    if t.origin == "offer" and t.unit is not None:
        pending = m.econ.books.open.get((t.federation, t.unit, t.payer))
        if pending is not None:
            pending.release(t.id)


def _offer(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    to, purpose, expires = b.coop("to"), b.text("purpose"), b.int("expires")
    if ("amount" in b.body) != ("unit" in b.body):
        raise b._bad("amount", "given together with unit")
    amount = b.dec("amount") if "amount" in b.body else None
    items = _items(b)
    if amount is None and not items:
        raise b._bad("amount", "given, and there are no items")
    require_member(fed, m.actor, "the payer")
    if to == m.actor:
        raise Reject("wrong-target", "a co-op cannot make an offer to itself")
    require_member(fed, to, "the receiver")
    if expires <= e.ts:
        raise Reject("expires-before-offered", "the offer expires before it is made")
    unit = _unit(fed, b, amount) if amount is not None else None
    t = Transfer(e.id, "offer", fed.id, m.actor, to, amount,
                 None if unit is None else unit.name, items, purpose, e.ts, expires)
    if amount is not None and unit is not None:
        key = (fed.id, unit.name, m.actor)
        pending = m.econ.books.open.setdefault(key, Reserved())
        if unit.credit_limit is not None:
            available = (m.econ.books.balance.get(key, ZERO) - pending.at(m.eff)
                         + unit.credit_limit)
            if amount > available:
                _flag(m, "offer-over-available", fed, unit.name, m.actor, e,
                      amount, available)
        pending.add(e.id, amount, expires)
    m.econ.transfers[e.id] = t


def _closing(m: Machine, e: Entry, b: Body) -> Transfer:
    oid = b.ref("offer")
    t = m.econ.transfers.get(oid)
    if t is None:
        raise Reject("not-an-offer", f"entry {short(oid)} is not a valid offer or "
                     "allocation")
    if m.actor != t.receiver:
        raise Reject("not-the-receiver", "only the receiver may accept or decline")
    if t.status != "open":
        raise Reject(f"already-{t.status}", f"the offer was already {t.status}")
    return t


def _accept(m: Machine, e: Entry, b: Body) -> None:
    t = _closing(m, e, b)
    if e.ts > t.expires:
        raise Reject("expired", "the accept is timestamped after the offer expired")
    fed = m.econ.federations[t.federation]
    require_member(fed, m.actor, "the receiver")
    t.status, t.closed_by, t.closed_ts = "accepted", e.id, e.ts
    _release(m, t)
    if t.amount is None or t.unit is None:
        return
    payer, receiver = (t.federation, t.unit, t.payer), (t.federation, t.unit, t.receiver)
    m.econ.books.balance[payer] = after = m.econ.books.balance.get(payer, ZERO) - t.amount
    m.econ.books.balance[receiver] = m.econ.books.balance.get(receiver, ZERO) + t.amount
    unit = fed.rules.unit(t.unit)
    if unit is not None and unit.credit_limit is not None and after < -unit.credit_limit:
        _flag(m, "over-credit-limit", fed, t.unit, t.payer, e, after,
              -unit.credit_limit)


def _decline(m: Machine, e: Entry, b: Body) -> None:
    t = _closing(m, e, b)
    t.status, t.closed_by, t.closed_ts = "declined", e.id, e.ts
    _release(m, t)
    a = m.econ.allocations.get(t.id)
    if a is not None:
        m.econ.surplus_offers[a.offer].allocated -= a.quantity
        m.econ.surplus_requests[a.request].allocated -= a.quantity


# -- surplus sprint

def _surplus_offer(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    what, item, quantity = b.text("what"), b.text("item"), b.dec("quantity")
    unit, until = b.text("unit"), b.text("until")
    require_member(fed, m.actor, "the offering co-op")
    m.econ.surplus_offers[e.id] = SurplusOffer(e.id, fed.id, m.actor, what, item,
                                               quantity, unit, until, ZERO)


def _surplus_request(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    item, quantity = b.text("item"), b.dec("quantity")
    unit, until = b.text("unit"), b.text("until")
    require_member(fed, m.actor, "the requesting co-op")
    m.econ.surplus_requests[e.id] = SurplusRequest(e.id, fed.id, m.actor, item,
                                                   quantity, unit, until, ZERO)


def _allocate(m: Machine, e: Entry, b: Body) -> None:
    oid, rid = b.ref("offer"), b.ref("request")
    quantity, sprint, expires = b.dec("quantity"), b.text("sprint"), b.int("expires")
    so = m.econ.surplus_offers.get(oid)
    if so is None:
        raise Reject("not-an-offer", f"entry {short(oid)} is not a valid "
                     "surplus.offer")
    sr = m.econ.surplus_requests.get(rid)
    if sr is None:
        raise Reject("not-a-request", f"entry {short(rid)} is not a valid "
                     "surplus.request")
    fed = m.econ.federations[so.federation]
    if sr.federation != so.federation:
        raise Reject("wrong-target", "the request is in another federation")
    require_member(fed, m.actor, "the allocating co-op")
    if so.author == sr.author:
        raise Reject("wrong-target", "the offer and the request are the same co-op's")
    if so.unit.casefold() != sr.unit.casefold():
        raise Reject("wrong-target", "the request counts in another unit")
    require_member(fed, so.author, "the offering co-op")
    require_member(fed, sr.author, "the requesting co-op")
    if expires <= e.ts:
        raise Reject("expires-before-offered", "the allocation expires before it is "
                     "made")
    for name, q, ids in (("offer", so.quantity, m.econ.books.alloc_of.get(oid, [])),
                         ("request", sr.quantity, m.econ.books.alloc_of.get(rid, []))):
        left = q - _held(m, ids)
        if quantity > left:
            raise Reject("over-offer", f"only {left} {so.unit} of the {name} is "
                         "left unallocated")
    m.econ.transfers[e.id] = Transfer(
        e.id, "allocation", fed.id, so.author, sr.author, None, None,
        (Item(so.item, quantity, so.unit),), f"surplus sprint {sprint}", e.ts, expires)
    m.econ.allocations[e.id] = Allocation(e.id, sprint, oid, rid, quantity, m.actor)
    m.econ.books.alloc_of.setdefault(oid, []).append(e.id)
    m.econ.books.alloc_of.setdefault(rid, []).append(e.id)
    so.allocated += quantity
    sr.allocated += quantity


# -- innovation fund

def _fund_surplus(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    period, amount = b.text("period"), b.dec("amount", zero_ok=True)
    require_member(fed, m.actor, "the co-op")
    unit = _unit(fed, b, amount)
    # The last surplus on the timeline for a (co-op, period, unit) is in force: a
    # second entry corrects the first.
    _book(m, fed).due[(m.actor, period, unit.name)] = _mul(fed.rules.fund_share,
                                                           amount)


def _fund_contribute(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    period, amount = b.text("period"), b.dec("amount")
    require_member(fed, m.actor, "the co-op")
    unit = _unit(fed, b, amount)
    book = _book(m, fed)
    book.balances[unit.name] = book.balances.get(unit.name, ZERO) + amount
    key = (m.actor, period, unit.name)
    book.contributed[key] = book.contributed.get(key, ZERO) + amount


def _fund_grant(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    to, experiment = b.coop("to"), b.text("experiment")
    amount, due = b.dec("amount"), b.text("report_due")
    require_member(fed, m.actor, "the grantor")
    require_member(fed, to, "the grantee")
    unit = _unit(fed, b, amount)
    book = _book(m, fed)
    book.balances[unit.name] = after = book.balances.get(unit.name, ZERO) - amount
    if after < ZERO:
        _flag(m, "grant-over-fund", fed, unit.name, m.actor, e, after, ZERO)
    m.econ.grants[e.id] = Grant(e.id, fed.id, m.actor, to, experiment, amount,
                                unit.name, due)


def _fund_report(m: Machine, e: Entry, b: Body) -> None:
    gid, outcome = b.ref("grant"), b.text("outcome")
    g = m.econ.grants.get(gid)
    if g is None:
        raise Reject("not-a-grant", f"entry {short(gid)} is not a valid fund.grant")
    if m.actor != g.to:
        raise Reject("not-the-grantee", "only the grantee may report on a grant")
    if g.report is not None:
        raise Reject("already-reported", "the grant already has a report")
    g.report, g.outcome = e.id, outcome


# -- needs

def _need_declare(m: Machine, e: Entry, b: Body) -> None:
    fed = find_federation(m.econ, b)
    category, quantity = b.text("category"), b.dec("quantity")
    unit, period = b.text("unit"), b.text("period")
    require_member(fed, m.actor, "the co-op")
    m.econ.needs[e.id] = Need(e.id, fed.id, m.actor, category, quantity, unit,
                              period, ZERO, ZERO)


def _need_met(m: Machine, e: Entry, b: Body) -> None:
    nid, where, quantity = b.ref("need"), b.text("where"), b.dec("quantity")
    if where not in NEED_WHERE:
        raise b._bad("where", "inside or outside")
    n = m.econ.needs.get(nid)
    if n is None:
        raise Reject("not-a-need", f"entry {short(nid)} is not a valid need.declare")
    if m.actor != n.author:
        raise Reject("not-the-declarer", "only the co-op that declared a need may "
                     "record it met")
    if where == "inside":
        n.met_inside += quantity
    else:
        n.met_outside += quantity


HANDLERS: dict[str, Handler] = {
    "federation.create": _create, "federation.rules": _rules_entry,
    "federation.invite": _invite, "federation.join": _join,
    "federation.leave": _leave, "transfer.offer": _offer,
    "transfer.accept": _accept, "transfer.decline": _decline,
    "surplus.offer": _surplus_offer, "surplus.request": _surplus_request,
    "sprint.allocate": _allocate, "fund.surplus": _fund_surplus,
    "fund.contribute": _fund_contribute, "fund.grant": _fund_grant,
    "fund.report": _fund_report, "need.declare": _need_declare,
    "need.met": _need_met,
}


# -- where (a delegate key's mandate for one federation)

def _ref(b: Body, key: str) -> bytes | None:
    try:
        return b.ref(key)
    except Reject:
        return None


def _where_allocation(m: Machine, e: Entry, b: Body) -> bytes | None:
    """An allocation acts in the federation of the surplus offer it refs."""
    o = _ref(b, "offer")
    so = None if o is None else m.econ.surplus_offers.get(o)
    return None if so is None else so.federation


def _where_closing(m: Machine, e: Entry, b: Body) -> bytes | None:
    """An accept or decline acts in the federation of the offer it refs."""
    o = _ref(b, "offer")
    t = None if o is None else m.econ.transfers.get(o)
    return None if t is None else t.federation


def _where_need(m: Machine, e: Entry, b: Body) -> bytes | None:
    """A need met acts in the federation of the need it refs."""
    n = _ref(b, "need")
    need = None if n is None else m.econ.needs.get(n)
    return None if need is None else need.federation


AREA = Area(
    name="economy",
    kinds=ECONOMY_KINDS,
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    flag_codes=FLAG_CODES,
    where={"sprint.allocate": _where_allocation, "transfer.accept": _where_closing,
           "transfer.decline": _where_closing, "need.met": _where_need},
    actions={"sprint.allocate": "allocate", "transfer.offer": "transfer",
             "transfer.accept": "transfer", "transfer.decline": "transfer",
             "surplus.offer": "surplus", "surplus.request": "surplus",
             "need.declare": "surplus", "need.met": "surplus"},
)
