"""Signed entries of audit and misconduct (SPEC §14.3–§14.5) for tests, on econkit's
``Coop``: checkpoints with their true Merkle root, witnesses' cosigns, lotteries that
draw audit circles, circles, reports, complaints, findings and sanctions.

    a, b, c, d = (Coop(k, n) for k, n in zip(KEYS, "ABCD"))
    fed = federation(a, b, c, d)
    lot = announce(a, fed, pool(b, c, d))
    circ = circle(a, fed, a, lot)
    draw(lot, b, c)                       # two beacons: the lottery is drawn
    cp = checkpoint(a)
    cosign(b, cp); report(b, circ, cp)
    eco = econ(a, b, c, d)                # the economy of what applies (the fold first)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from econkit import Coop, all_entries, applied

from coopledger import crypto
from coopledger.protocol import Entry
from coopledger.protocol.commons import Economy, compute_economy

PERIOD = "2023-Q4"           # econkit's T0 is 2023-11-14
OK_CHECKS = [{"name": "chains", "ok": True}, {"name": "balances", "ok": True,
                                              "detail": "reconcile"}]


def econ(*coops: Coop, extra: Iterable[Entry] = ()) -> Economy:
    """The economy of the entries of ``coops`` that apply (stage one first)."""
    return compute_economy(applied([*all_entries(*coops), *extra]))


def code(eco: Economy, entry: Entry) -> str | None:
    """The reason code ``entry`` was found invalid with, None if it is valid."""
    inv = eco.invalid.get(entry.id)
    return None if inv is None else inv.code


def checkpoint(c: Coop, **kw: Any) -> Entry:
    """A true checkpoint of ``c``'s log as it is now (size and Merkle root)."""
    leaves = [crypto.leaf_hash(e.id) for e in c.entries]
    return c.add("checkpoint", {"size": len(leaves), "root": crypto.root(leaves).hex()},
                 **kw)


def cosign(w: Coop, cp: Entry, **kw: Any) -> Entry:
    return w.add("checkpoint.cosign", {"checkpoint": cp.id.hex(), "entry": cp.raw},
                 refs=[cp.id], **kw)


def pool(*coops: Coop, per: int = 1) -> list[dict[str, str]]:
    return [{"name": f"{c.hex[:4]}-{i}", "coop": c.hex} for c in coops for i in range(per)]


def announce(c: Coop, fed: Entry | None, candidates: Sequence[dict[str, str]], *,
             seats: int = 2, beacons: int = 2, **options: Any) -> Entry:
    body: dict[str, Any] = {"purpose": "audit circle", "pool": list(candidates),
                            "seats": seats, "beacons": beacons, "mode": "draw",
                            "distinct_coops": True, **options}
    if fed is not None:
        body["federation"] = fed.id.hex()
    return c.add("lottery.announce", body)


def draw(lot: Entry, *beaconers: Coop) -> list[Entry]:
    """One beacon from each of ``beaconers``."""
    return [b.add("lottery.beacon", {"lottery": lot.id.hex()}, refs=[lot.id])
            for b in beaconers]


def circle(c: Coop, fed: Entry, audited: Coop | bytes, lot: Entry, period: str = PERIOD,
           **kw: Any) -> Entry:
    coop = audited.hex if isinstance(audited, Coop) else audited.hex()
    return c.add("audit.circle", {"federation": fed.id.hex(), "coop": coop,
                                  "period": period, "lottery": lot.id.hex()},
                 refs=[lot.id, *kw.pop("refs", ())], **kw)


def report(c: Coop, circ: Entry, cp: Entry, checks: list[dict[str, Any]] | None = None,
           findings: list[str] | None = None, summary: str = "All in order.",
           **kw: Any) -> Entry:
    body: dict[str, Any] = {"circle": circ.id.hex(), "checkpoint": cp.id.hex(),
                            "checks": OK_CHECKS if checks is None else checks,
                            "summary": summary}
    if findings is not None:
        body["findings"] = findings
    return c.add("audit.report", body, refs=[circ.id, cp.id, *kw.pop("refs", ())], **kw)


def complaint(c: Coop, fed: Entry, against: Coop, text: str = "They kept our tools.",
              **kw: Any) -> Entry:
    return c.add("complaint", {"federation": fed.id.hex(), "against": against.hex,
                               "text": text}, **kw)


def finding(c: Coop, fed: Entry, about: Coop, text: str = "The tools were kept 3 months.",
            *, complaint: Entry | None = None, circle: Entry | None = None,
            **kw: Any) -> Entry:
    body: dict[str, Any] = {"federation": fed.id.hex(), "about": about.hex, "text": text}
    refs = list(kw.pop("refs", ()))
    if complaint is not None:
        body["complaint"] = complaint.id.hex()
        refs.append(complaint.id)
    if circle is not None:
        body["circle"] = circle.id.hex()
        refs.append(circle.id)
    return c.add("finding", body, refs=refs, **kw)


def sanction(c: Coop, fed: Entry, against: Coop, found: Entry, *, expires: int | None = None,
             days: int = 90, measure: str = "No new transfers for 90 days.",
             **kw: Any) -> Entry:
    ts = kw.pop("ts", None)
    ts = max(c.now, _now()) + 1000 if ts is None else ts
    return c.add("sanction", {"federation": fed.id.hex(), "against": against.hex,
                              "finding": found.id.hex(), "measure": measure,
                              "expires": ts + days * 86_400_000 if expires is None
                              else expires}, refs=[found.id], ts=ts, **kw)


def _now() -> int:
    from econkit import _clock  # the kit's shared clock (the last default ts)
    return _clock[0]


