"""The economy's read views as JSON-ready dicts (SPEC.md §12, docs/federations.md).

One function per view, Store in, plain dict out (text, ints, bools, None, lists and
dicts; quantities as canonical decimal text, ids and keys as lower-case hex). The local
API (``GET /v1/federations`` …) runs them in the store's thread through
``NodeService.query``, and the offline CLI calls them on the store it opened, so
``coop balance --json`` prints the same document either way.

Every view that depends on time takes ``as_of`` (ms); None means the node's clock now,
and the document says which time it used. Co-ops appear as hex with their name as the
state knows it (None until their genesis entry arrives).

Names given by people (a federation's name or an id prefix, a co-op's name or key
prefix) are resolved by node/_views.py, whose ``LookupFailed``, ``resolve_*`` and
``check_period`` are importable from here too. ``VIEWS`` declares these views for the
one view table (node/_views_table.py); ``answer`` runs one of them.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from coopledger.protocol import Entry, Quantity, compute_metrics

from ._clock import now_ms
from ._views import (
    AS_OF,
    COOP,
    FEDERATION,
    FLAG,
    MIN_PREFIX,
    MONTH,
    PERIOD,
    LookupFailed,
    Param,
    View,
    ViewArgs,
    check_period,
    economy,
    resolve_coop,
    resolve_federation,
    resolve_id,
    run,
)

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Federation, Transfer

    from ._store import Store

# Kinds the metrics read besides the economy's own.
METRIC_KINDS = ("labor", "energy", "labor.outside")


# -- helpers ----------------------------------------------------------------------------


def coop_names(store: Store) -> dict[bytes, str | None]:
    return {a: st.name for a, st in store.state().authors.items()}


def q(value: Quantity | None) -> str | None:
    return None if value is None else str(value)


def applied(store: Store, kinds: Iterable[str]) -> Iterator[Entry]:
    """The applied entries of these kinds (an author's contiguous applied prefix)."""
    authors = store.state().authors
    for kind in kinds:
        for e in store.entries(kind=kind):
            st = authors.get(e.author)
            if st is not None and e.seq <= st.length:
                yield e


def _when(as_of: int | None) -> int:
    return now_ms() if as_of is None else as_of


def _coop(prefix: str, key: bytes | None, names: Mapping[bytes, str | None]
          ) -> dict[str, Any]:
    return {prefix: None if key is None else key.hex(),
            f"{prefix}_name": None if key is None else names.get(key)}


def _fed(f: Federation) -> dict[str, Any]:
    return {"federation": f.id.hex(), "federation_name": f.name}


def _rules(f: Federation) -> dict[str, Any]:
    r = f.rules
    return {"units": [{"name": u.name, "symbol": u.symbol, "decimals": u.decimals,
                       "kind": u.kind, "credit_limit": q(u.credit_limit)} for u in r.units],
            "fund_share": str(r.fund_share), "offer_expiry_days": r.offer_expiry_days}


def _federations_for(eco: Economy, me: bytes | None, federation: bytes | None
                     ) -> list[Federation]:
    if federation is not None:
        return [eco.federations[federation]]
    if me is None:
        return sorted(eco.federations.values(), key=lambda f: (f.name, f.id))
    return sorted(eco.federations_of(me), key=lambda f: (f.name, f.id))


# -- views ------------------------------------------------------------------------------


def federations(store: Store, me: bytes | None) -> dict[str, Any]:
    """The federations ``me`` is a member of or invited to (all known ones when
    ``me`` is None), one row each."""
    eco, names = economy(store), coop_names(store)
    rows = []
    for f in _federations_for(eco, me, None):
        member = me is not None and f.is_member(me)
        rows.append({
            **_fed(f), "name": f.name, **_coop("founder", f.founder, names),
            "created": f.created, "members": len(f.current_members()),
            "role": None if me is None else "member" if member else "invited",
            "invite": None if me is None or member or me not in f.invited
            else f.invited[me].hex(),
        })
    return {"coop": None if me is None else me.hex(), "federations": rows}


def federation(store: Store, federation_id: bytes) -> dict[str, Any]:
    """One federation: name, charter, founder, rules, members now with the time they
    joined, past members, pending invites."""
    eco, names = economy(store), coop_names(store)
    f = eco.federations[federation_id]
    now, past = [], []
    for coop, spans in sorted(f.members.items()):
        last_from, last_until = spans[-1]
        row = {**_coop("coop", coop, names), "since": last_from}
        if last_until is None:
            now.append(row)
        else:
            past.append({**row, "until": last_until})
    return {
        "id": f.id.hex(), "name": f.name, "charter": f.charter,
        **_coop("founder", f.founder, names), "created": f.created, "rules": _rules(f),
        "members": now, "past_members": past,
        "invites": [{"invite": inv.hex(), **_coop("coop", coop, names)}
                    for coop, inv in sorted(f.invited.items())],
    }


def balances(store: Store, me: bytes | None, federation: bytes | None = None,
             as_of: int | None = None) -> dict[str, Any]:
    """Per federation, unit and co-op: balance, reserved by open offers, credit limit,
    and available = balance − reserved + limit (None when the unit has no limit)."""
    eco, names, at = economy(store), coop_names(store), _when(as_of)
    rows = []
    for f in _federations_for(eco, me, federation):
        bal = eco.balances(f.id)
        res = eco.reserved(f.id, at)
        keys = set(bal) | set(res)
        for coop in f.current_members():
            for u in f.rules.units:
                if u.kind in ("time", "credit"):
                    keys.add((u.name, coop))
        for unit_name, coop in sorted(keys):
            unit = f.rules.unit(unit_name)
            zero = Quantity(0, 0)
            b, r = bal.get((unit_name, coop), zero), res.get((unit_name, coop), zero)
            limit = None if unit is None else unit.credit_limit
            rows.append({**_fed(f), "unit": unit_name, **_coop("coop", coop, names),
                         "balance": str(b), "reserved": str(r), "limit": q(limit),
                         "available": None if limit is None else str(b - r + limit)})
    return {"as_of": at, "coop": None if me is None else me.hex(), "balances": rows}


def _items(t: Transfer) -> list[dict[str, str]]:
    return [{"item": i.item, "quantity": str(i.quantity), "unit": i.unit} for i in t.items]


def transfers(store: Store, me: bytes | None, federation: bytes | None = None,
              as_of: int | None = None, *, open_only: bool = False) -> dict[str, Any]:
    """Transfers (offers and sprint allocations) with their status at ``as_of``
    (open, lapsed, accepted, declined) and, for ``me``, their direction (in/out)."""
    eco, names, at = economy(store), coop_names(store), _when(as_of)
    feds = {f.id for f in _federations_for(eco, me, federation)}
    rows = []
    for t in sorted(eco.transfers.values(), key=lambda t: (t.ts, t.id)):
        if t.federation not in feds:
            continue
        status = t.status_at(at)
        if open_only and status != "open":
            continue
        f = eco.federations[t.federation]
        rows.append({
            "id": t.id.hex(), **_fed(f), "origin": t.origin,
            **_coop("from", t.payer, names), **_coop("to", t.receiver, names),
            "direction": "out" if me == t.payer else "in" if me == t.receiver else None,
            "amount": q(t.amount), "unit": t.unit, "items": _items(t),
            "purpose": t.purpose, "ts": t.ts, "expires": t.expires, "status": status,
            "closed_by": None if t.closed_by is None else t.closed_by.hex(),
        })
    return {"as_of": at, "coop": None if me is None else me.hex(), "transfers": rows}


def board(store: Store, federation: bytes, as_of: int | None = None) -> dict[str, Any]:
    """The surplus board of one federation: open offers and requests, what matches,
    and the sprints' allocations."""
    eco, names, at = economy(store), coop_names(store), _when(as_of)
    f = eco.federations[federation]
    b = eco.board(federation, at)
    return {
        "as_of": at, **_fed(f),
        "offers": [{"id": o.id.hex(), **_coop("coop", o.author, names), "what": o.what,
                    "item": o.item, "quantity": str(o.quantity), "unit": o.unit,
                    "until": o.until, "allocated": str(o.allocated),
                    "left": str(o.quantity - o.allocated)} for o in b.offers],
        "requests": [{"id": r.id.hex(), **_coop("coop", r.author, names), "item": r.item,
                      "quantity": str(r.quantity), "unit": r.unit, "until": r.until,
                      "allocated": str(r.allocated), "left": str(r.quantity - r.allocated)}
                     for r in b.requests],
        "matches": [{"offer": o.hex(), "request": r.hex()} for o, r in b.matches],
        "sprints": {sprint: [{
            "id": a.id.hex(), "offer": a.offer.hex(), "request": a.request.hex(),
            "quantity": str(a.quantity), **_coop("by", a.by, names),
            "status": eco.transfers[a.id].status_at(at) if a.id in eco.transfers else None,
        } for a in allocs] for sprint, allocs in sorted(b.sprints.items())},
    }


def fund(store: Store, federation: bytes, as_of: int | None = None) -> dict[str, Any]:
    """The innovation fund of one federation: balances, due vs contributed per co-op
    and period, grants (with their reports) and the overdue ones."""
    eco, names, at = economy(store), coop_names(store), _when(as_of)
    f = eco.federations[federation]
    v = eco.fund(federation, at)
    zero = Quantity(0, 0)
    dues = []
    for coop, period, unit in sorted(set(v.due) | set(v.contributed)):
        due = v.due.get((coop, period, unit), zero)
        given = v.contributed.get((coop, period, unit), zero)
        dues.append({**_coop("coop", coop, names), "period": period, "unit": unit,
                     "due": str(due), "contributed": str(given),
                     "outstanding": str(due - given) if due > given else "0"})
    overdue = {g.id for g in v.overdue}
    return {
        "as_of": at, **_fed(f),
        "balances": [{"unit": u, "balance": str(b)} for u, b in sorted(v.balances.items())],
        "contributions": dues,
        "grants": [{"id": g.id.hex(), **_coop("to", g.to, names),
                    **_coop("by", g.grantor, names), "experiment": g.experiment,
                    "amount": str(g.amount), "unit": g.unit, "report_due": g.report_due,
                    "report": None if g.report is None else g.report.hex(),
                    "outcome": g.outcome, "overdue": g.id in overdue} for g in v.grants],
    }


def exceptions(store: Store, federation: bytes | None = None) -> dict[str, Any]:
    """What the fold flagged (over-credit-limit, offer-over-available, grant-over-fund)
    and the economic entries it found invalid, with their reason codes."""
    eco, names = economy(store), coop_names(store)
    flags = []
    for x in eco.exceptions:
        if federation is not None and x.federation != federation:
            continue
        f = eco.federations.get(x.federation)
        flags.append({"code": x.code, "federation": x.federation.hex(),
                      "federation_name": None if f is None else f.name, "unit": x.unit,
                      **_coop("coop", x.coop, names), "entry": x.entry_id.hex(),
                      "value": str(x.value), "bound": str(x.bound),
                      "message": x.describe()})
    invalid = [{"entry": i.entry_id.hex(), "kind": i.kind, **_coop("coop", i.author, names),
                "code": i.code, "detail": i.detail}
               for i in sorted(eco.invalid.values(), key=lambda i: i.entry_id)]
    if federation is not None:
        # An invalid entry names its federation in its body, if at all; keep those
        # whose entry is held and names this one (directly or through what it refs).
        invalid = [i for i in invalid if _names_federation(store, eco, i["entry"], federation)]
    return {"exceptions": flags, "invalid": invalid}


def _names_federation(store: Store, eco: Economy, entry_hex: str, federation: bytes) -> bool:
    e = store.get(bytes.fromhex(entry_hex))
    if e is None:
        return False
    fed = e.body.get("federation")
    if isinstance(fed, str):
        return fed == federation.hex()
    for ref in e.refs:
        t = eco.transfers.get(ref)
        if t is not None:
            return t.federation == federation
        if ref == federation:
            return True
    return False


def metrics(store: Store, *, federation: bytes | None = None, period: str | None = None,
            coop: bytes | None = None, as_of: int | None = None) -> dict[str, Any]:
    """The sovereignty metrics (protocol/commons/_metrics.py) of one month (default: the month
    of ``as_of``, i.e. this month) over the applied entries."""
    if period is None:
        moment = datetime.datetime.fromtimestamp(_when(as_of) / 1000, datetime.UTC)
        period = f"{moment.year:04d}-{moment.month:02d}"
    result = compute_metrics(economy(store), list(applied(store, METRIC_KINDS)),
                             period=period, federation=federation, coop=coop)
    value = result.to_value() if hasattr(result, "to_value") else plain(result)
    return dict(value) if isinstance(value, dict) else {"metrics": value}


def plain(value: Any) -> Any:
    """Dataclasses, quantities, bytes and tuple keys as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else k.hex() if isinstance(k, bytes)
                 else "/".join(plain(p) if not isinstance(p, str) else p for p in k)
                 if isinstance(k, tuple) else str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


# -- the views' declarations (node/_views.py) ---------------------------------------------

_DOC = {
    "federation": "A federation: its exact name, or at least 8 hex characters of its id",
    "as_of": "The time to judge expiry and overdue at (ms since 1970). Default: now",
    "coop": "A co-op (name or at least 8 hex characters of its key): whose point of "
            "view (for metrics: whose figures). Default: this node's co-op",
    "period": "A month, YYYY-MM",
    "open": "true: only offers still open",
}
_FED = Param("federation", FEDERATION, _DOC["federation"])
_FED_NEEDED = Param("federation", FEDERATION, _DOC["federation"], required=True)
_AS_OF = Param("as_of", AS_OF, _DOC["as_of"])
# ?coop= (empty) names no co-op here, unlike in the views of self-government.
_COOP = Param("coop", COOP, _DOC["coop"], blank_is_absent=False)
_PERIOD = Param("period", MONTH, _DOC["period"])
_OPEN = Param("open", FLAG, _DOC["open"])
# The order the parameters are checked in, whichever a view takes.
_ORDER = ("as_of", "open", "period", "coop", "federation")


def _args(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The view's parameters parsed (in _ORDER), and ``who``: the co-op whose point of
    view it is: ``coop``, else this node's co-op."""
    taken = {p.name for p in args.view.params}
    got = {name: args.value(name) for name in _ORDER if name in taken}
    # A key speaks for the co-op it is bound to (SPEC §13.2): this node's key, or a
    # co-op given by one of its keys, is seen as that co-op's identity.
    ids = economy(store).gov.ids
    coop = got.get("coop")
    got["who"] = ids.identity_of(coop) if coop is not None else (
        None if me is None else ids.identity_of(me))
    return got


def _federations(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    return federations(store, _args(store, args, me)["who"])


def _federation(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    return federation(store, _args(store, args, me)["federation"])


def _balances(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    a = _args(store, args, me)
    return balances(store, a["who"], a["federation"], a["as_of"])


def _transfers(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    a = _args(store, args, me)
    return transfers(store, a["who"], a["federation"], a["as_of"], open_only=a["open"])


def _board(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    a = _args(store, args, me)
    return board(store, a["federation"], a["as_of"])


def _fund(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    a = _args(store, args, me)
    return fund(store, a["federation"], a["as_of"])


def _exceptions(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    return exceptions(store, _args(store, args, me)["federation"])


def _metrics(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    a = _args(store, args, me)
    return metrics(store, federation=a["federation"], period=a["period"], coop=a["coop"])


VIEWS: dict[str, View] = {
    "federations": View("/v1/federations", _federations,
                        "The federations a co-op is a member of or invited to", (_COOP,)),
    "federation": View("/v1/federations/{federation}", _federation,
                       "One federation: charter, founder, rules, members, invites",
                       (_FED_NEEDED,)),
    "balances": View("/v1/balances", _balances,
                     "Mutual-credit balances, reserved, limit and available per unit",
                     (_FED, _AS_OF, _COOP)),
    "transfers": View("/v1/transfers", _transfers,
                      "Transfers and their status (open, lapsed, accepted, declined)",
                      (_FED, _AS_OF, _COOP, _OPEN)),
    "board": View("/v1/board", _board, "A federation's surplus board and sprints",
                  (_FED_NEEDED, _AS_OF)),
    "fund": View("/v1/fund", _fund, "A federation's innovation fund", (_FED_NEEDED, _AS_OF)),
    "exceptions": View("/v1/exceptions", _exceptions,
                       "Exceptions the fold flagged, and invalid economic entries", (_FED,)),
    "metrics": View("/v1/metrics", _metrics, "Sovereignty metrics",
                    (_FED, _PERIOD, _COOP)),
}

# view -> (the query parameters it takes, the required ones); kept for old callers.
PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (frozenset(v.allowed()), v.required) for name, v in VIEWS.items()}


def answer(store: Store, view: str, params: Mapping[str, str], *,
           me: bytes | None) -> dict[str, Any]:
    """The view ``view`` for query parameters as text (as node/_views_table.answer):
    ``federation`` (name or id prefix), ``as_of`` (ms), ``coop`` (name or key prefix:
    whose point of view; for metrics, whose figures), ``period`` (YYYY-MM), ``open``
    (true/false). ``me`` (this node's key; the co-op it writes for, SPEC §13.2) is the
    point of view when no ``coop`` is given. Raises LookupFailed naming the parameter."""
    return run(view, VIEWS[view], store, params, me)


__all__ = [
    "MIN_PREFIX",
    "PARAMS",
    "PERIOD",
    "VIEWS",
    "LookupFailed",
    "answer",
    "applied",
    "balances",
    "board",
    "check_period",
    "coop_names",
    "economy",
    "exceptions",
    "federation",
    "federations",
    "fund",
    "metrics",
    "plain",
    "q",
    "resolve_coop",
    "resolve_federation",
    "resolve_id",
    "transfers",
]
