"""The lottery area (SPEC §13.6): announcements and beacons on the timeline. The
draw itself, and what the rules below refer to by number, are in ``_lottery_state``.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from .._entry import Entry
from ._area import Area, Handler, Machine, body_of
from ._judge import Body, Reject, short
from ._lottery_state import Beacon, Lottery, Terms, verify

REASON_CODES = frozenset(("not-a-lottery", "own-beacon"))


# ----------------------------------------------------------------------- handlers

def _announce(m: Machine, e: Entry, b: Body) -> None:
    body = body_of(m, b)
    try:
        terms = Terms.from_body(b.body)
    except ValueError as exc:
        raise Reject("malformed", "the body is not a lottery.announce body") from exc
    if terms.mode == "groups" and terms.distinct_coops:
        raise Reject("malformed", "field 'distinct_coops' applies to mode draw only")
    m.gov.lotteries.by_id[e.id] = Lottery(e.id, body, "federation" in b.body, m.actor,
                                          terms, e, m.eff)


def _beacon(m: Machine, e: Entry, b: Body) -> None:
    lid = b.ref("lottery")
    lot = m.gov.lotteries.by_id.get(lid)
    if lot is None:
        raise Reject("not-a-lottery", f"entry {short(lid)} is not a valid lottery.announce")
    if m.actor == lot.announcer:
        raise Reject("own-beacon", "the announcer's beacons never count: the seed must "
                     "come from others")
    if lot.federation:
        m.member(m.econ.federations[lot.body], m.actor, "the beacon's co-op")
    beacon = Beacon(e.id, m.actor, e.author, m.eff, e.ts)
    if any(c.identity == m.actor for c in lot.counted):
        lot.not_counted.append((beacon, "repeat"))
    elif len(lot.counted) >= lot.terms.beacons:
        lot.not_counted.append((beacon, "late"))
    else:
        lot.counted.append(beacon)
        if len(lot.counted) == lot.terms.beacons:
            lot.draw = verify(lot.id, lot.entry.body, [c.id for c in lot.counted])
            lot.drawn_eff = m.eff


HANDLERS: dict[str, Handler] = {
    "lottery.announce": _announce,
    "lottery.beacon": _beacon,
}


def _where_beacon(m: Machine, e: Entry, b: Body) -> bytes | None:
    """A beacon acts in the body of the lottery it refs."""
    try:
        lot = m.gov.lotteries.get(b.ref("lottery"))
    except Reject:
        return None
    return None if lot is None else lot.body


AREA = Area(
    name="lotteries",
    kinds=frozenset(HANDLERS),
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    where={"lottery.beacon": _where_beacon},
    actions={"lottery.beacon": "lottery"},
)
