"""Views of self-government: mandates, roles and the policy of a body (SPEC §13.3-§13.5).

    mandates  /v1/mandates             the mandates of some bodies and their status
    mandate   /v1/mandates/{mandate}   one mandate in full: actions, renewals, recall,
                                       reports, verdict, and what was done under it
    roles     /v1/roles                who holds which role at as_of, until when, and
                                       how many terms each holder has had (rotation)
    policy    /v1/policy               the policy in force for a co-op or a federation

Which mandates and roles: ``federation`` (a name or id prefix) keeps those of that
federation; ``coop`` (a name or key prefix) those that co-op issued or recorded (for
itself or in a federation); both: what that co-op issued for that federation. Neither:
those of the co-op this node writes for and of every federation it is in (offline
without a home: all). Times are ms; ``as_of`` defaults to the node's clock now, and
the document says which time it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coopledger.protocol import DEFAULT_POLICY

from ._econview import coop_names
from ._govview import body_fields as _body
from ._govview import scope as _scope
from ._govview import who as _who
from ._views import (
    AS_OF,
    COOP,
    FEDERATION,
    FLAG,
    MANDATE,
    LookupFailed,
    Param,
    View,
    ViewArgs,
    economy,
    identity_of,
)
from ._views import resolve_id as _resolve_id

if TYPE_CHECKING:
    from coopledger.protocol import Assignment, Economy, Mandate

    from ._store import Store


# -- helpers ------------------------------------------------------------------------------


def _text(store: Store, entry_id: bytes, field: str) -> str | None:
    e = store.get(entry_id)
    v = None if e is None else e.body.get(field)
    return v if isinstance(v, str) else None


def _row(eco: Economy, names: Mapping[bytes, str | None], md: Mandate, at: int
         ) -> dict[str, Any]:
    return {
        "id": md.id.hex(), "title": md.title, "delegate": md.delegate,
        **_who("key", md.key, names), **_who("issuer", md.issuer, names),
        **_body(eco, names, md.body, md.federation),
        "actions": [a.to_value() for a in md.actions],
        "start": md.start, "expires": md.expires_at(at), "final_expires": md.final_expires,
        "status": md.status_at(at), "term": md.term, "renewals": len(md.renewals),
        "recalled": md.recalled, "reports": len(md.reports),
        "verdict": None if md.verdict is None else md.verdict[1],
    }


def resolve_mandate(eco: Economy, text: str) -> bytes:
    """A valid mandate by an id prefix (at least 8 hex characters)."""
    return MANDATE.resolve(eco, text, "mandate")


def resolve_assignment(eco: Economy, text: str) -> bytes:
    """A valid role assignment by an id prefix (at least 8 hex characters)."""
    return _resolve_id(eco.gov.roles.by_id, text, field="assignment", what="assignment")


# -- views --------------------------------------------------------------------------------


def mandates(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The mandates in scope, by start; ``active=true``: only those in force at as_of.
    ``status`` is ``pending`` (not started), ``active``, ``expired`` or ``recalled``;
    ``expires`` is the expiry in force at as_of (``final_expires`` after every
    renewal)."""
    eco, names, at = economy(store), coop_names(store), args.value("as_of")
    scope = _scope(store, eco, args, me, coop_alone_is_body=False)
    active = args.value("active")
    rows = [_row(eco, names, md, at)
            for md in sorted(eco.gov.mandates.by_id.values(), key=lambda m: (m.start, m.id))
            if scope.keeps(md.body, md.issuer)
            and not (active and md.status_at(at) != "active")]
    return {"as_of": at, "active": active, "mandates": rows}


def mandate(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """One mandate in full. ``entries`` lists every held entry that refs it (what the
    delegate did under it, reports, renewals, recalls…) with the fold's verdict: valid,
    or the reason code it was refused with."""
    eco, names, at = economy(store), coop_names(store), args.value("as_of")
    md = eco.gov.mandates.by_id[args.value("mandate")]
    under = []
    for e in sorted(store.state().economic.values(), key=lambda e: (e.ts, e.id)):
        if md.id not in e.refs:
            continue
        bad = eco.invalid.get(e.id)
        under.append({"id": e.id.hex(), "kind": e.kind, "ts": e.ts,
                      **_who("key", e.author, names),
                      "valid": bad is None, "code": None if bad is None else bad.code,
                      "detail": None if bad is None else bad.detail})
    entry_ids = {md.id, *(r.id for r in md.renewals), *md.reports,
                 *(() if md.verdict is None else (md.verdict[0],))}
    return {
        "as_of": at, **_row(eco, names, md, at), "scope": md.scope, "sunset": md.sunset,
        "issued": md.ts, "issued_expires": md.expires,
        "renewals": [{"id": r.id.hex(), "ts": r.ts, "expires": r.expires}
                     for r in md.renewals],
        "recall": None if md.recall is None else {
            "id": md.recall.hex(), "ts": md.recalled,
            "reason": _text(store, md.recall, "reason")},
        "reports": [{"id": r.hex(), "ts": _ts(store, r), "report": _text(store, r, "report")}
                    for r in md.reports],
        "verdict": None if md.verdict is None else {
            "id": md.verdict[0].hex(), "verdict": md.verdict[1],
            "note": _text(store, md.verdict[0], "note")},
        "flags": [{"code": f.code, "entry": f.entry.hex(), "detail": f.detail}
                  for f in eco.gov.flags if f.entry in entry_ids],
        "entries": under,
    }


def _ts(store: Store, entry_id: bytes) -> int | None:
    e = store.get(entry_id)
    return None if e is None else e.ts


def _holding(eco: Economy, names: Mapping[bytes, str | None], a: Assignment, at: int
             ) -> dict[str, Any]:
    return {
        "id": a.id.hex(), "role": a.role, "holder": a.holder, **_who("key", a.key, names),
        **_body(eco, names, a.body, a.federation), **_who("by", a.by, names),
        "from": a.start, "until": a.until_at(at), "end": a.end, "term": a.term,
        "renewals": len(a.renewals), "holds": a.holds_at(at),
        "ended": None if a.ended is None else {"id": a.ended[0].hex(), "ts": a.ended[1]},
    }


def roles(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """Who holds which role at as_of (``holders``, by body and role), every assignment
    in scope (``assignments``, by start) and the rotation: per body, role and holder
    (case-folded), how many terms (an assignment or a renewal is one term)."""
    eco, names, at = economy(store), coop_names(store), args.value("as_of")
    scope = _scope(store, eco, args, me, coop_alone_is_body=False)
    kept = sorted((a for a in eco.gov.roles.by_id.values() if scope.keeps(a.body, a.by)),
                  key=lambda a: (a.start, a.id))
    rows = [_holding(eco, names, a, at) for a in kept]
    holders = sorted((r for r in rows if r["holds"]),
                     key=lambda r: (r["body"], r["role"].casefold(), r["holder"].casefold()))
    rotation: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a in kept:
        k = (a.body.hex(), a.role.casefold(), a.holder.casefold())
        row = rotation.setdefault(k, {**_body(eco, names, a.body, a.federation),
                                      "role": a.role, "holder": a.holder, "terms": 0,
                                      "last_until": a.end})
        row["terms"] += 1 + len(a.renewals)
        row["last_until"] = max(row["last_until"], a.end)
    return {"as_of": at, "holders": holders, "assignments": rows,
            "rotation": [rotation[k] for k in sorted(rotation)]}


def policy(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The policy in force now for a federation, or a co-op's own assembly (default:
    the co-op this node writes for), with its history (the ``policy.set`` entries in
    timeline order, by their eff). ``default``: no policy.set yet."""
    eco, names = economy(store), coop_names(store)
    if args.get("federation") and args.get("coop"):
        raise LookupFailed("coop", "give coop or federation, not both", status=400)
    if args.get("federation"):
        body = args.value("federation")
        f = eco.federations[body]
        who: dict[str, Any] = {"body": body.hex(), "body_kind": "federation",
                               "body_name": f.name}
    else:
        if args.get("coop"):
            found: bytes | None = eco.gov.ids.identity_of(args.value("coop"))
        else:
            found = identity_of(store, me)
        if found is None:
            raise LookupFailed("coop", "required offline without a home", status=400)
        body = found
        who = {"body": body.hex(), "body_kind": "coop", "body_name": names.get(body)}
    history = eco.gov.policies.get(body, [])
    return {**who, "policy": eco.gov.policy_at(body).to_value(), "default": not history,
            "defaults": DEFAULT_POLICY.to_value(),
            "history": [{"eff": eff, "policy": p.to_value()} for eff, p in history]}


_COOP = Param("coop", COOP, "a co-op (name or key prefix): what it issued or recorded; "
              "with federation, what it issued there")
_FED = Param("federation", FEDERATION, "a federation (name or id prefix)")
_AS_OF = Param("as_of", AS_OF, "the time to judge status at, ms since 1970 (default: now)")

VIEWS: dict[str, View] = {
    "mandates": View("/v1/mandates", mandates, "Mandates of a co-op or a federation, "
                     "with their status at as_of.",
                     (_COOP, _FED, _AS_OF,
                      Param("active", FLAG, "true: only mandates in force at as_of"))),
    "mandate": View("/v1/mandates/{mandate}", mandate, "One mandate: scope, actions, "
                    "renewals, recall, reports, verdict, and the entries made under it.",
                    (Param("mandate", MANDATE, "mandate"), _AS_OF)),
    "roles": View("/v1/roles", roles, "Who holds which role at as_of, until when, and "
                  "how many terms each holder has had.", (_COOP, _FED, _AS_OF)),
    "policy": View("/v1/policy", policy, "The policy in force for a federation or a "
                   "co-op's own assembly (maximum term, term limit, decision method).",
                   (Param("coop", COOP, "a co-op (name or key prefix); default: this "
                          "node's co-op"), _FED)),
}
