"""Signed entries of the proposal kinds (SPEC §13.7) for tests, on econkit's ``Coop``.

    a = Coop(KEYS[0], "Garden")
    p = propose(a, title="Buy a cargo bike")
    position(a, p, "agree", member="Ana")
    decide(a, p, "adopted")
    gov(a).proposals.get(p.id).decision

Ids a body names are put in refs (as the kind schemas require); ``refs=`` adds more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from econkit import Coop, all_entries

from coopledger.protocol import Entry
from coopledger.protocol.commons import Economy, Governance, compute_economy


def _add(c: Coop, kind: str, body: dict[str, Any], ids: Iterable[Entry],
         refs: Iterable[bytes] = (), ts: int | None = None, note: str | None = None
         ) -> Entry:
    if note is not None:
        body["note"] = note
    return c.add(kind, body, ts=ts, refs=[*(e.id for e in ids), *refs])


def propose(c: Coop, *, fed: Entry | None = None, title: str = "Buy a cargo bike",
            text: str = "We buy one cargo bike for deliveries.",
            options: Sequence[str] | None = None, cascade: Entry | None = None,
            group: int | None = None, refs: Iterable[bytes] = (), ts: int | None = None,
            note: str | None = None) -> Entry:
    body: dict[str, Any] = {"title": title, "text": text}
    ids = []
    if fed is not None:
        body["federation"] = fed.id.hex()
        ids.append(fed)
    if options is not None:
        body["options"] = list(options)
    if cascade is not None:
        body["cascade"] = cascade.id.hex()
        ids.append(cascade)
    if group is not None:
        body["group"] = group
    return _add(c, "proposal.create", body, ids, refs, ts, note)


def amend(c: Coop, p: Entry, text: str = "We buy two cargo bikes.", *,
          refs: Iterable[bytes] = (), ts: int | None = None) -> Entry:
    return _add(c, "proposal.amend", {"proposal": p.id.hex(), "text": text}, [p], refs, ts)


def position(c: Coop, p: Entry, stance: str, *, member: str | None = None,
             ranking: Sequence[int] | None = None, reason: str | None = None,
             refs: Iterable[bytes] = (), ts: int | None = None) -> Entry:
    body: dict[str, Any] = {"proposal": p.id.hex(), "stance": stance}
    if member is not None:
        body["member"] = member
    if ranking is not None:
        body["ranking"] = list(ranking)
    if reason is not None:
        body["reason"] = reason
    return _add(c, "position", body, [p], refs, ts)


def decide(c: Coop, p: Entry, outcome: str = "adopted", *,
           summary: str = "We agreed.", option: int | None = None,
           refs: Iterable[bytes] = (), ts: int | None = None) -> Entry:
    body: dict[str, Any] = {"proposal": p.id.hex(), "outcome": outcome, "summary": summary}
    if option is not None:
        body["option"] = option
    return _add(c, "decision", body, [p], refs, ts)


def minutes(c: Coop, *, fed: Entry | None = None, date: str = "2023-11-15",
            title: str = "General assembly", text: str = "Present: 7. We chose a bike.",
            ts: int | None = None) -> Entry:
    body: dict[str, Any] = {"date": date, "title": title, "text": text}
    ids = []
    if fed is not None:
        body["federation"] = fed.id.hex()
        ids.append(fed)
    return _add(c, "minutes", body, ids, (), ts)


def set_policy(c: Coop, method: str, *, fed: Entry | None = None,
               ts: int | None = None) -> Entry:
    body: dict[str, Any] = {"policy": {"max_mandate_days": 365, "max_consecutive_terms": 0,
                                       "method": method}}
    ids = []
    if fed is not None:
        body["federation"] = fed.id.hex()
        ids.append(fed)
    return _add(c, "policy.set", body, ids, (), ts)


def announce_groups(c: Coop, people: Sequence[tuple[str, Coop]], *, fed: Entry | None = None,
                    beacons: int = 1, mode: str = "groups") -> Entry:
    """A lottery.announce (groups mode by default) over ``people``."""
    body: dict[str, Any] = {"purpose": "cascade on the bike", "seats": 1,
                            "beacons": beacons, "mode": mode,
                            "pool": [{"name": n, "coop": who.hex} for n, who in people]}
    ids = []
    if fed is not None:
        body["federation"] = fed.id.hex()
        ids.append(fed)
    return _add(c, "lottery.announce", body, ids)


def beacon(c: Coop, lottery: Entry) -> Entry:
    return _add(c, "lottery.beacon", {"lottery": lottery.id.hex()}, [lottery])


def economy_of(*coops: Coop) -> Economy:
    return compute_economy(all_entries(*coops))


def gov(*coops: Coop) -> Governance:
    return economy_of(*coops).gov


def code(eco: Economy, e: Entry) -> str | None:
    """The reason code if ``e`` is invalid, else None."""
    bad = eco.invalid.get(e.id)
    return None if bad is None else bad.code
