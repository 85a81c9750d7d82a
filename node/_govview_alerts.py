"""Views of solidarity alerts (SPEC §14.6, docs/alerts.md).

    alerts   GET /v1/alerts?open=…&federation=…   one row per alert held here, newest
             first: who raised it, what, needs, drill, deadline and time left, coverage
    alert    GET /v1/alerts/{alert}                one alert: the row, then who
             acknowledged (when, late or not), pledged and delivered, who has not been
             reached and the last way this node heard from each

Time left depends on the clock: ``as_of`` (ms) fixes it, else it is now. "Last way
seen" is this node's own memory (node/_alerts_seen.py), not ledger state: two nodes
show the same alert identically except for it (and for time left).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coopledger.protocol import Alert

from ._alerts_seen import Sighting, read_last_seen
from ._econview import coop_names
from ._govview import who
from ._views import ALERT, AS_OF, FEDERATION, FLAG, Param, View, ViewArgs, economy

if TYPE_CHECKING:
    from coopledger.protocol import Economy

    from ._store import Store


def status_of(alert: Alert, now: int) -> str:
    """acknowledged (every target), open (before the deadline), or expired."""
    if alert.acked_all():
        return "acknowledged"
    return "open" if now < alert.deadline else "expired"


def _row(eco: Economy, alert: Alert, names: Mapping[bytes, str | None],
         now: int) -> dict[str, Any]:
    acked, targets = len(alert.acks), len(alert.targets)
    return {
        "id": alert.id.hex(), **who("raiser", alert.raiser, names),
        "author": alert.author.hex(), "drill": alert.drill, "what": alert.what,
        "needs": list(alert.needs), "where": alert.where,
        "federations": [{"id": f.hex(), "name": eco.federations[f].name
                         if f in eco.federations else None} for f in alert.federations],
        "raised": alert.ts, "deadline": alert.deadline,
        "time_left_ms": alert.time_left(now), "status": status_of(alert, now),
        "targets": targets, "acked": acked, "late": len(alert.late()),
        "coverage": f"{acked}/{targets} acknowledged",
        "pledges": len(alert.pledges), "deliveries": len(alert.deliveries),
    }


def alerts(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """Every valid alert held here (or one federation's; ``open``: only those before
    their deadline and not acknowledged by every target), newest first."""
    eco, names, now = economy(store), coop_names(store), args.value("as_of")
    fed = args.value("federation")
    only_open = args.value("open")
    rows = [_row(eco, a, names, now) for a in eco.gov.alerts.by_id.values()
            if (fed is None or fed in a.federations)
            and (not only_open or status_of(a, now) == "open")]
    rows.sort(key=lambda r: (-r["raised"], r["id"]))
    return {"alerts": rows, "as_of": now}


def _last_seen(store: Store, eco: Economy, coop: bytes,
               seen: Mapping[bytes, Sighting]) -> dict[str, Any]:
    """How this node last heard from ``coop`` (any of its keys): the latest sighting,
    and the time of the newest entry of it held here."""
    ids = eco.gov.ids
    keys = [k for k in store.state().authors if ids.identity_of(k) == coop] or [coop]
    sightings = [seen[k] for k in keys if k in seen]
    best = max(sightings, key=lambda s: s.ms, default=None)
    newest = None
    for k in keys:
        head = store.own_head(k)
        held = store.get(head[1]) if head is not None else None
        if held is not None and (newest is None or held.ts > newest):
            newest = held.ts
    return {"last_seen": None if best is None else best.to_json(),
            "newest_entry_ts": newest}


def alert(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """One alert by an id prefix, with everyone's answer and who is missing."""
    state = store.state()
    eco, names, now = state.economy(), coop_names(store), args.value("as_of")
    aid = args.value("alert")
    a = eco.gov.alerts.by_id[aid]
    seen = read_last_seen(Path(store.path).parent) if store.path != ":memory:" else {}
    invalid = []
    for inv in sorted(eco.invalid.values(), key=lambda i: i.entry_id):
        e = state.economic.get(inv.entry_id)
        if e is not None and e.kind.startswith("alert.") and aid in e.refs:
            invalid.append({"id": inv.entry_id.hex(), "kind": inv.kind,
                            **who("key", inv.author, names), "code": inv.code,
                            "detail": inv.detail})
    return {
        **_row(eco, a, names, now), "as_of": now,
        "acks": [{**who("coop", k.coop, names), "entry": k.entry.hex(), "ts": k.ts,
                  "late": k.late} for k in sorted(a.acks.values(), key=lambda k: k.ts)],
        "pledges": [{**who("coop", p.coop, names), "entry": p.entry.hex(), "ts": p.ts,
                     "what": p.what, "need": p.need} for p in a.pledges],
        "deliveries": [{**who("coop", d.coop, names), "entry": d.entry.hex(), "ts": d.ts,
                        "what": d.what, "pledge": None if d.pledge is None
                        else d.pledge.hex()} for d in a.deliveries],
        "unreached": [{**who("coop", c, names), **_last_seen(store, eco, c, seen)}
                      for c in a.unreached()],
        "invalid": invalid,
    }


_AS_OF = Param("as_of", AS_OF, "ms since 1970: compute time left at this time "
               "(default: now)")

VIEWS: dict[str, View] = {
    "alerts": View(
        "/v1/alerts", alerts,
        "Solidarity alerts held here: raiser, needs, deadline, time left, coverage",
        (Param("open", FLAG, "true: only alerts before their deadline not acknowledged "
               "by all"),
         Param("federation", FEDERATION, "a federation's name or id prefix"), _AS_OF)),
    "alert": View(
        "/v1/alerts/{alert}", alert,
        "One alert: acknowledgements, pledges, deliveries, who is not reached",
        (Param("alert", ALERT, "alert"), _AS_OF)),
}
