"""Views of self-government: verifiable lotteries (SPEC §13.6, docs/lotteries.md).

    lotteries   GET /v1/lotteries?coop=…&federation=…   one row per lottery (all held
                here, or one body's)
    lottery     GET /v1/lotteries/{lottery}             one lottery: the announcement,
                the beacons (counted, not counted and why, invalid), the result, and
                every step of the draw, so a member can redo it by hand

Co-ops appear as hex with their name as the state knows it (None until their genesis
arrives). Nothing here depends on the clock: a draw is fixed once its k-th beacon is
on the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coopledger.protocol import LOTTERY_CONTEXT, Beacon, Candidate, Draw, Lottery

from ._econview import coop_names
from ._views import COOP, FEDERATION, LOTTERY, LookupFailed, Param, View, ViewArgs, economy

if TYPE_CHECKING:
    from coopledger.protocol import Economy

    from ._store import Store


def _coop(prefix: str, key: bytes, names: Mapping[bytes, str | None]) -> dict[str, Any]:
    return {prefix: key.hex(), f"{prefix}_name": names.get(key)}


def _person(c: Candidate, names: Mapping[bytes, str | None]) -> dict[str, Any]:
    return {"name": c.name, **_coop("coop", c.coop, names)}


def _body(eco: Economy, lot: Lottery, names: Mapping[bytes, str | None]) -> dict[str, Any]:
    if lot.federation:
        fed = eco.federations.get(lot.body)
        return {"body": lot.body.hex(), "body_kind": "federation",
                "body_name": None if fed is None else fed.name}
    return {"body": lot.body.hex(), "body_kind": "coop", "body_name": names.get(lot.body)}


def _result(draw: Draw | None, names: Mapping[bytes, str | None]) -> dict[str, Any] | None:
    """None while the draw waits; else the seats (mode draw) or groups (mode groups)."""
    if draw is None:
        return None
    if draw.mode == "draw":
        return {"seats": [[_person(c, names) for c in s] for s in draw.seats],
                "groups": None, "short": draw.short}
    return {"seats": None, "groups": [[_person(c, names) for c in g] for g in draw.groups],
            "short": draw.short}


def _row(eco: Economy, lot: Lottery, names: Mapping[bytes, str | None]) -> dict[str, Any]:
    t = lot.terms
    return {
        "id": lot.id.hex(), **_body(eco, lot, names),
        **_coop("announcer", lot.announcer, names),
        "purpose": t.purpose, "mode": t.mode, "seats": t.seats, "roles": list(t.roles),
        "pool": len(t.pool), "beacons_needed": t.beacons, "beacons_counted": len(lot.counted),
        "announced": lot.eff, "status": "waiting" if lot.draw is None else "drawn",
        "drawn": lot.drawn_eff, "result": _result(lot.draw, names),
    }


def lotteries(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The lotteries of a federation (``federation``), of a co-op's own assembly
    (``coop``), or, with neither, every lottery held here (a node holds the logs of its
    federations, so these are the ones its co-op may be drawn in or beacon for).
    Oldest first."""
    eco, names = economy(store), coop_names(store)
    lots = eco.gov.lotteries
    bodies: set[bytes] | None
    if args.get("federation"):
        bodies = {args.value("federation")}
        if args.get("coop"):
            raise LookupFailed("coop", "give either coop or federation", status=400)
    elif args.get("coop"):
        bodies = {args.value("coop")}
    else:
        bodies = None
    rows = [_row(eco, lot, names) for lot in lots.by_id.values()
            if bodies is None or lot.body in bodies]
    rows.sort(key=lambda r: (r["announced"], r["id"]))
    return {"lotteries": rows}


def steps(eco: Economy, lot: Lottery, names: Mapping[bytes, str | None]) -> dict[str, Any]:
    """How the draw was made, step by step (empty picks while it waits)."""
    draw = lot.draw
    if draw is None:
        return {"context": LOTTERY_CONTEXT.hex(), "preimage": None, "seed": None,
                "candidates": [], "excluded": [], "picks": [],
                "waiting_for": lot.terms.beacons - len(lot.counted)}
    return {
        "context": LOTTERY_CONTEXT.hex(),
        "beacons_sorted": [b.hex() for b in draw.beacons],
        "preimage": draw.preimage.hex(), "seed": draw.seed.hex(),
        "candidates": [{"index": i, **_person(c, names)}
                       for i, c in enumerate(draw.candidates)],
        "excluded": [_person(c, names) for c in draw.excluded],
        "picks": [{"stream": p.stream, "r": p.r.hex(), "value": str(p.value),
                   "n": p.n, "limit": str(p.limit), "accepted": p.index is not None,
                   "index": p.index, "seat": p.seat, "role": p.role,
                   "pick": None if p.candidate is None else _person(p.candidate, names)}
                  for p in draw.picks],
        "waiting_for": 0,
    }


def lottery(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """One lottery by an id prefix: the announcement, the beacons, the result, the
    steps. u64 values are text (JSON numbers lose precision above 2^53)."""
    state = store.state()
    eco, names = state.economy(), coop_names(store)
    lots = eco.gov.lotteries
    lid: bytes = args.value("lottery")
    lot = lots.by_id[lid]
    t = lot.terms
    invalid = []
    for inv in sorted(eco.invalid.values(), key=lambda i: i.entry_id):
        e = state.economic.get(inv.entry_id)
        if inv.kind == "lottery.beacon" and e is not None and \
                e.body.get("lottery") == lid.hex():
            invalid.append({"id": inv.entry_id.hex(), "key": inv.author.hex(),
                            "key_name": names.get(inv.author), "code": inv.code,
                            "detail": inv.detail})

    def beacon(b: Beacon) -> dict[str, Any]:
        return {"id": b.id.hex(), **_coop("coop", b.identity, names), "key": b.author.hex(),
                "eff": b.eff, "ts": b.ts}

    return {
        **_row(eco, lot, names),
        "note": lot.note, "exclude": sorted(x.hex() for x in t.exclude),
        "distinct_coops": t.distinct_coops,
        "candidates": [_person(c, names) for c in t.pool],
        "beacons": [beacon(b) for b in lot.counted],
        "not_counted": [{**beacon(b), "reason": why} for b, why in lot.not_counted],
        "invalid_beacons": invalid,
        "steps": steps(eco, lot, names),
    }


VIEWS: dict[str, View] = {
    "lotteries": View(
        "/v1/lotteries", lotteries,
        "Lotteries held here, or those of one federation or one co-op's assembly",
        (Param("coop", COOP, "a co-op's name or key prefix: its own assembly's lotteries"),
         Param("federation", FEDERATION, "a federation's name or id prefix"))),
    "lottery": View(
        "/v1/lotteries/{lottery}", lottery,
        "One lottery: announcement, beacons, result and every step of the draw",
        (Param("lottery", LOTTERY, "lottery"),)),
}
