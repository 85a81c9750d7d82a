"""Signed entries of mandates, roles and policies (SPEC §13.3–§13.5) for tests, on
econkit's ``Coop``.

    a, b = Coop(KEYS[0], "Garden"), Coop(KEYS[1], "Repair")
    fed = federation(a, b)
    d = delegate_key(a, KEYS[5], ts=T0 + SECOND)      # Ana's key, bound to a
    md = issue(a, d, [{"do": "transfer", "unit": "hour", "max": "5"}], fed=fed)
    offer = d.offer(fed, b, "3", refs=[md.id])          # valid: inside the mandate
    recall(a, md)
    code(economy_of(a, b, d), offer)                    # None, or a reason code

Times are integer ms; ``start`` and ``expires`` default to now and now + 30 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from econkit import DAY, SECOND, Coop, all_entries, tick

from coopledger.crypto import SecretKey
from coopledger.protocol import Entry
from coopledger.protocol._kinds import key_proof_message
from coopledger.protocol.commons import Economy, compute_economy


def delegate_key(issuer: Coop, key: SecretKey, *, power: str = "delegate",
                 label: str = "Ana's phone", ts: int | None = None,
                 name: str = "Ana") -> Coop:
    """A new log for ``key`` (its genesis), bound to ``issuer`` by a key.add."""
    d = Coop(key, name, ts=issuer.now if ts is None else ts)
    proof = key.sign(key_proof_message(issuer.raw)).hex()
    issuer.add("key.add", {"identity": issuer.hex, "key": d.hex, "power": power,
                           "label": label, "proof": proof}, ts=ts)
    return d


def _body(fed: Entry | None) -> tuple[dict[str, Any], list[bytes]]:
    if fed is None:
        return {}, []
    return {"federation": fed.id.hex()}, [fed.id]


def issue(c: Coop, key: Coop | None, actions: Sequence[dict[str, str]], *,
          fed: Entry | None = None, title: str = "Delegate to the federation",
          delegate: str = "Ana", start: int | None = None, expires: int | None = None,
          scope: str = "Speak and vote for us at the federation's assemblies.",
          sunset: str = "Hand the notes to the next delegate.",
          ts: int | None = None, refs: Iterable[bytes] = ()) -> Entry:
    body, ids = _body(fed)
    start = (tick() if ts is None else ts) if start is None else start
    body.update({"title": title, "delegate": delegate, "scope": scope,
                 "actions": [dict(a) for a in actions], "start": start,
                 "expires": start + 30 * DAY if expires is None else expires,
                 "sunset": sunset})
    if key is not None:
        body["key"] = key.hex
    for a in actions:
        if "proposal" in a:
            ids.append(bytes.fromhex(a["proposal"]))
    return c.add("mandate.issue", body, ts=ts, refs=[*ids, *refs])


def renew(c: Coop, mandate: Entry, expires: int, *, ts: int | None = None,
          refs: Iterable[bytes] = ()) -> Entry:
    return c.add("mandate.renew", {"mandate": mandate.id.hex(), "expires": expires},
                 ts=ts, refs=[mandate.id, *refs])


def recall(c: Coop, mandate: Entry, *, reason: str = "The assembly changed its mind.",
           ts: int | None = None, refs: Iterable[bytes] = ()) -> Entry:
    return c.add("mandate.recall", {"mandate": mandate.id.hex(), "reason": reason},
                 ts=ts, refs=[mandate.id, *refs])


def report(c: Coop, mandate: Entry, *, text: str = "I voted as we agreed.",
           ts: int | None = None) -> Entry:
    return c.add("mandate.report", {"mandate": mandate.id.hex(), "report": text}, ts=ts,
                 refs=[mandate.id])


def verdict(c: Coop, mandate: Entry, value: str = "kept", *, ts: int | None = None) -> Entry:
    return c.add("mandate.verdict", {"mandate": mandate.id.hex(), "verdict": value},
                 ts=ts, refs=[mandate.id])


def assign(c: Coop, role: str, holder: str, start: int, until: int, *,
           fed: Entry | None = None, ts: int | None = None) -> Entry:
    body, ids = _body(fed)
    body.update({"role": role, "holder": holder, "from": start, "until": until})
    return c.add("role.assign", body, ts=ts, refs=ids)


def role_renew(c: Coop, assignment: Entry, until: int, *, ts: int | None = None) -> Entry:
    return c.add("role.renew", {"assignment": assignment.id.hex(), "until": until}, ts=ts,
                 refs=[assignment.id])


def role_end(c: Coop, assignment: Entry, *, ts: int | None = None) -> Entry:
    return c.add("role.end", {"assignment": assignment.id.hex()}, ts=ts,
                 refs=[assignment.id])


def policy(c: Coop, *, days: int = 365, terms: int = 0, method: str = "consent",
           fed: Entry | None = None, ts: int | None = None) -> Entry:
    body, ids = _body(fed)
    body["policy"] = {"max_mandate_days": days, "max_consecutive_terms": terms,
                      "method": method}
    return c.add("policy.set", body, ts=ts, refs=ids)


def position(c: Coop, proposal: Entry, stance: str = "agree", *, ts: int | None = None,
             refs: Iterable[bytes] = ()) -> Entry:
    return c.add("position", {"proposal": proposal.id.hex(), "stance": stance}, ts=ts,
                 refs=[proposal.id, *refs])


def propose(c: Coop, *, fed: Entry | None = None, title: str = "Buy a cargo bike",
            ts: int | None = None, refs: Iterable[bytes] = ()) -> Entry:
    body, ids = _body(fed)
    body.update({"title": title, "text": "We buy one cargo bike for deliveries."})
    return c.add("proposal.create", body, ts=ts, refs=[*ids, *refs])


def economy_of(*coops: Coop) -> Economy:
    return compute_economy(all_entries(*coops))


def code(eco: Economy, e: Entry) -> str | None:
    """The reason code if ``e`` is invalid, else None."""
    bad = eco.invalid.get(e.id)
    return None if bad is None else bad.code


__all__ = ["DAY", "SECOND", "assign", "code", "delegate_key", "economy_of", "issue",
           "policy", "position", "propose", "recall", "renew", "report", "role_end",
           "role_renew", "verdict"]
