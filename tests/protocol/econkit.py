"""Signed entries of the economic kinds (SPEC §12.2) for tests.

Every body follows §12.2 exactly: ids as lowercase hex that are also in refs, co-op
keys as lowercase hex, decimals as canonical text, times as integer ms. A ``Coop``
keeps its own log (seq, prev, a clock that moves 1 s per entry unless told)::

    a, b = Coop(KEYS[0], "Garden"), Coop(KEYS[1], "Repair")
    fed = a.create_federation()
    b.join(fed, a.invite(fed, b))
    offer = a.offer(fed, b, "3")
    b.accept(offer)
    economy(a, b).balances(fed.id)

Without an explicit ``ts``, an entry is stamped 1 s after the latest entry any Coop
made (one shared clock, so "later in the test" means later on the timeline);
``reset_clock()`` starts it again at T0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from coopledger.crypto import SecretKey
from coopledger.protocol import Entry, create_entry, fold
from coopledger.protocol.commons import DEFAULT_RULES, Economy, Rules, compute_economy

KEYS = [SecretKey(bytes([0xA0 + i]) * 32) for i in range(8)]
T0 = 1_700_000_000_000          # 2023-11-14T22:13:20Z
SECOND = 1000
DAY = 86_400_000
ID_FIELDS = ("federation", "invite", "offer", "request", "grant", "need")
_clock = [T0]


def reset_clock(ts: int = T0) -> None:
    _clock[0] = ts


def tick() -> int:
    """The next default timestamp (without using it up)."""
    return _clock[0] + SECOND


class Coop:
    def __init__(self, key: SecretKey, name: str = "Co-op", ts: int = T0) -> None:
        self.key = key
        self.raw = key.public.raw
        self.hex = self.raw.hex()
        self.entries: list[Entry] = [create_entry(key, seq=1, prev=None, ts=ts,
                                                  kind="genesis", body={"name": name})]

    def __repr__(self) -> str:
        return f"Coop({self.hex[:8]})"

    @property
    def now(self) -> int:
        return self.entries[-1].ts

    def add(self, kind: str, body: dict[str, Any], *, ts: int | None = None,
            refs: Iterable[bytes] = ()) -> Entry:
        """Append an entry; ``ts`` defaults to 1 s after the last one. Ids named in the
        body's id fields go into refs automatically."""
        last = self.entries[-1]
        if ts is None:
            ts = max(last.ts, _clock[0]) + SECOND
        _clock[0] = max(_clock[0], ts)
        auto = [bytes.fromhex(body[f]) for f in ID_FIELDS if f in body]
        e = create_entry(self.key, seq=last.seq + 1, prev=last.id,
                         ts=ts, kind=kind,
                         body=body, refs=[*auto, *refs])
        self.entries.append(e)
        return e

    # -- federations

    def create_federation(self, name: str = "Neighbourhood", rules: Rules = DEFAULT_RULES,
                          charter: str = "We share.", **kw: Any) -> Entry:
        return self.add("federation.create",
                        {"name": name, "charter": charter, "rules": rules.to_value()}, **kw)

    def set_rules(self, fed: Entry, rules: Rules, **kw: Any) -> Entry:
        return self.add("federation.rules",
                        {"federation": fed.id.hex(), "rules": rules.to_value()}, **kw)

    def invite(self, fed: Entry, who: Coop, **kw: Any) -> Entry:
        return self.add("federation.invite",
                        {"federation": fed.id.hex(), "invitee": who.hex}, **kw)

    def join(self, fed: Entry, invite: Entry, **kw: Any) -> Entry:
        return self.add("federation.join",
                        {"federation": fed.id.hex(), "invite": invite.id.hex()}, **kw)

    def leave(self, fed: Entry, **kw: Any) -> Entry:
        return self.add("federation.leave", {"federation": fed.id.hex()}, **kw)

    # -- transfers

    def offer(self, fed: Entry, to: Coop, amount: str | None = "1", unit: str | None = "hour",
              *, expires: int | None = None, items: list[dict[str, str]] | None = None,
              purpose: str = "help with the harvest", ts: int | None = None,
              **kw: Any) -> Entry:
        ts = max(self.now, _clock[0]) + SECOND if ts is None else ts
        body: dict[str, Any] = {"federation": fed.id.hex(), "to": to.hex, "purpose": purpose,
                                "expires": ts + 14 * DAY if expires is None else expires}
        if amount is not None:
            body["amount"] = amount
        if unit is not None:
            body["unit"] = unit
        if items is not None:
            body["items"] = items
        return self.add("transfer.offer", body, ts=ts, **kw)

    def accept(self, offer: Entry, **kw: Any) -> Entry:
        return self.add("transfer.accept", {"offer": offer.id.hex()}, **kw)

    def decline(self, offer: Entry, **kw: Any) -> Entry:
        return self.add("transfer.decline", {"offer": offer.id.hex()}, **kw)

    # -- surplus sprint

    def surplus_offer(self, fed: Entry, item: str, quantity: str, unit: str,
                      until: str = "2023-12-31", what: str = "goods", **kw: Any) -> Entry:
        return self.add("surplus.offer", {"federation": fed.id.hex(), "what": what,
                                          "item": item, "quantity": quantity, "unit": unit,
                                          "until": until}, **kw)

    def surplus_request(self, fed: Entry, item: str, quantity: str, unit: str,
                        until: str = "2023-12-31", **kw: Any) -> Entry:
        return self.add("surplus.request", {"federation": fed.id.hex(), "item": item,
                                            "quantity": quantity, "unit": unit,
                                            "until": until}, **kw)

    def allocate(self, offer: Entry, request: Entry, quantity: str, sprint: str = "2023-11",
                 *, expires: int | None = None, **kw: Any) -> Entry:
        ts = kw.pop("ts", None)
        ts = max(self.now, _clock[0]) + SECOND if ts is None else ts
        return self.add("sprint.allocate", {
            "offer": offer.id.hex(), "request": request.id.hex(), "quantity": quantity,
            "sprint": sprint, "expires": ts + 7 * DAY if expires is None else expires},
            ts=ts, **kw)

    # -- innovation fund

    def fund_surplus(self, fed: Entry, amount: str, unit: str = "hour",
                     period: str = "2023-11", **kw: Any) -> Entry:
        return self.add("fund.surplus", {"federation": fed.id.hex(), "period": period,
                                         "amount": amount, "unit": unit}, **kw)

    def contribute(self, fed: Entry, amount: str, unit: str = "hour",
                   period: str = "2023-11", **kw: Any) -> Entry:
        return self.add("fund.contribute", {"federation": fed.id.hex(), "period": period,
                                            "amount": amount, "unit": unit}, **kw)

    def grant(self, fed: Entry, to: Coop, amount: str, unit: str = "hour",
              report_due: str = "2024-01-31", experiment: str = "solar dryer",
              **kw: Any) -> Entry:
        return self.add("fund.grant", {"federation": fed.id.hex(), "to": to.hex,
                                       "experiment": experiment, "amount": amount,
                                       "unit": unit, "report_due": report_due}, **kw)

    def report(self, grant: Entry, outcome: str = "succeeded",
               report: str = "It dried the apples.", **kw: Any) -> Entry:
        return self.add("fund.report", {"grant": grant.id.hex(), "outcome": outcome,
                                        "report": report}, **kw)

    # -- needs and the metrics' own kinds

    def need(self, fed: Entry, category: str, quantity: str, unit: str,
             period: str = "2023-11", **kw: Any) -> Entry:
        return self.add("need.declare", {"federation": fed.id.hex(), "category": category,
                                         "quantity": quantity, "unit": unit,
                                         "period": period}, **kw)

    def need_met(self, need: Entry, where: str, quantity: str, **kw: Any) -> Entry:
        return self.add("need.met", {"need": need.id.hex(), "where": where,
                                     "quantity": quantity}, **kw)

    def labor(self, hours: str, date: str = "2023-11-15", paid: bool = False,
              member: str = "Ana", **kw: Any) -> Entry:
        return self.add("labor", {"member": member, "hours": hours, "task": "weeding",
                                  "category": "production", "date": date, "paid": paid},
                        **kw)

    def outside(self, hours: str, period: str = "2023-11", member: str = "Ana",
                **kw: Any) -> Entry:
        return self.add("labor.outside", {"member": member, "hours": hours,
                                          "period": period}, **kw)

    def energy(self, kwh: str, flow: str, source: str = "local", date: str | None = None,
               **kw: Any) -> Entry:
        body: dict[str, Any] = {"kwh": kwh, "flow": flow, "source": source}
        if date is not None:
            body["date"] = date
        return self.add("energy", body, **kw)


def all_entries(*coops: Coop) -> list[Entry]:
    return [e for c in coops for e in c.entries]


def economy(*coops: Coop) -> Economy:
    return compute_economy(all_entries(*coops))


def federation(founder: Coop, *others: Coop, **kw: Any) -> Entry:
    """A federation of ``founder`` and ``others`` (each invited by the founder, then
    joining). Returns the federation.create entry."""
    fed = founder.create_federation(**kw)
    for o in others:
        inv = founder.invite(fed, o)
        o.join(fed, inv)
    return fed


def applied(entries: Iterable[Entry], as_of: int | None = None) -> list[Entry]:
    """The entries of ``entries`` that apply (stage one, SPEC §5)."""
    entries = list({e.id: e for e in entries}.values())
    state = fold(entries, as_of=as_of)
    return [e for e in entries if e.seq <= state.authors[e.author].length]
