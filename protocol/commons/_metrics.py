"""Sovereignty metrics: how much of a network's needs, work and energy it covers itself
(SPEC §12.7). Pure: a function of the economy, the applied entries and a period.

Every figure is for one calendar month ``period`` (``YYYY-MM``) and one scope:

* ``coop=X``: that co-op only;
* ``federation=F``: the co-ops that were members of F at any time during the month
  (any overlap of a membership interval with the month, UTC), and only F's needs;
* neither: every co-op that authored one of the given entries or a need.

Which month an entry counts in: ``labor`` by its ``date``; ``energy`` by its ``date``,
or else the UTC date of its ts; ``labor.outside`` and needs by their ``period``.

Shares are exact fractions, presented as canonical decimal text (§4) rounded half-even
to 4 places (``"0.6667"``, ``"0.5"``, ``"1"``), or None when the denominator is zero.
Nothing is rounded before the final division.

Transparency (SPEC §12.7): the share of the co-ops in scope (as identities: a co-op's
keys count once) that have at least one valid ``audit.report`` whose every automated
check passed, by a circle auditing that co-op for the quarter of the month or the
quarter before (any federation's circle). ``transparency_note`` says which lack one.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from .._codec import Value
from .._decimal import ZERO, DecimalFormatError, Quantity
from .._entry import Entry
from ._audit_state import recent_quarters
from ._commons import Economy
from ._economy_state import utc_date

SHARE_PLACES = 4
NOTE_LISTS_AT_MOST = 10   # co-ops named in transparency_note; the rest are counted
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_DAY_MS = 86_400_000
_EPOCH = datetime.date(1970, 1, 1)


def _fraction(q: Quantity) -> Fraction:
    return Fraction(q.units, 10**q.scale)


def _rounded(exact: Fraction) -> str:
    scaled = round(exact * 10**SHARE_PLACES)   # Fraction rounds half to even
    return str(Quantity._normalised(scaled, SHARE_PLACES))


def share(num: Quantity, den: Quantity) -> str | None:
    """num/den as canonical decimal text rounded half-even to SHARE_PLACES places, or
    None when den is zero."""
    if den.units == 0:
        return None
    return _rounded(_fraction(num) / _fraction(den))


def period_bounds(period: str) -> tuple[int, int]:
    """[start, end) of a month in ms (UTC). Raises ValueError for anything but YYYY-MM."""
    if not isinstance(period, str) or not _PERIOD.fullmatch(period) or period < "0001":
        raise ValueError("period must be a month YYYY-MM, e.g. 2024-03")
    year, month = int(period[:4]), int(period[5:])
    first = (datetime.date(year, month, 1) - _EPOCH).days
    if month == 12:   # 9999-12 has no next month in datetime, so count its 31 days
        after = first + 31
    else:
        after = (datetime.date(year, month + 1, 1) - _EPOCH).days
    return first * _DAY_MS, after * _DAY_MS


@dataclass(frozen=True, slots=True)
class NeedRow:
    """Needs of one (category, unit): declared, and met inside/outside the network."""

    category: str
    unit: str
    declared: Quantity
    met_inside: Quantity
    met_outside: Quantity


@dataclass(frozen=True, slots=True)
class Metrics:
    period: str
    federation: bytes | None
    coop: bytes | None
    coops: tuple[bytes, ...]          # the co-ops in scope (sorted)
    needs: tuple[NeedRow, ...]        # sorted by (category, unit)
    needs_met_inside_share: str | None
    coop_hours_paid: Quantity
    coop_hours_unpaid: Quantity
    outside_hours: Quantity
    coop_work_share: str | None
    energy_generated_local: Quantity
    energy_consumed: Quantity
    energy_local_share: str | None
    transparency: str | None = None
    transparency_note: str = "no co-op in scope"

    def to_value(self) -> dict[str, Value]:
        """JSON-ready (and msgpack-ready): keys as hex, decimals as canonical text."""
        return {
            "period": self.period,
            "federation": None if self.federation is None else self.federation.hex(),
            "coop": None if self.coop is None else self.coop.hex(),
            "coops": [c.hex() for c in self.coops],
            "needs": [{"category": n.category, "unit": n.unit, "declared": str(n.declared),
                       "met_inside": str(n.met_inside), "met_outside": str(n.met_outside)}
                      for n in self.needs],
            "needs_met_inside_share": self.needs_met_inside_share,
            "coop_hours_paid": str(self.coop_hours_paid),
            "coop_hours_unpaid": str(self.coop_hours_unpaid),
            "outside_hours": str(self.outside_hours),
            "coop_work_share": self.coop_work_share,
            "energy_generated_local": str(self.energy_generated_local),
            "energy_consumed": str(self.energy_consumed),
            "energy_local_share": self.energy_local_share,
            "transparency": self.transparency,
            "transparency_note": self.transparency_note,
        }


def _dec(entry: Entry, key: str) -> Quantity | None:
    v = entry.body.get(key)
    try:
        return Quantity.parse(v) if isinstance(v, str) else None
    except DecimalFormatError:
        return None


def compute_metrics(economy: Economy, entries: Iterable[Entry], *, period: str,
                    federation: bytes | None = None, coop: bytes | None = None) -> Metrics:
    """The metrics of ``period`` for the scope described in the module docstring.
    ``entries`` are applied entries of any kinds (labor, energy and labor.outside are
    read; needs come from ``economy``). Raises ValueError for a malformed period (the
    caller's mistake). A federation the economy does not know has no members."""
    start, end = period_bounds(period)
    entries = list({e.id: e for e in entries}.values())
    needs = [n for n in economy.needs.values() if n.period == period
             and (federation is None or n.federation == federation)]
    scope: set[bytes]
    if coop is not None:
        scope = {coop}
    elif federation is not None:
        fed = economy.federations.get(federation)
        scope = set() if fed is None else set(fed.members_during(start, end))
    else:
        scope = {e.author for e in entries} | {n.author for n in needs}
    needs = [n for n in needs if n.author in scope]

    rows: dict[tuple[str, str], list[Quantity]] = {}
    # Each need counts once, whatever its unit: kilograms of food and hours of care
    # cannot be added, but the share of each need that was met inside can be averaged.
    shares: list[Fraction] = []
    for n in needs:
        row = rows.setdefault((n.category, n.unit), [ZERO, ZERO, ZERO])
        row[0] += n.quantity
        row[1] += n.met_inside
        row[2] += n.met_outside
        shares.append(_fraction(min(n.met_inside, n.quantity)) / _fraction(n.quantity))

    paid, unpaid, outside, generated, consumed = ZERO, ZERO, ZERO, ZERO, ZERO
    identity_of = economy.gov.ids.identity_of  # a co-op's device keys count for it
    for e in entries:
        if e.author not in scope and identity_of(e.author) not in scope:
            continue
        if e.kind == "labor":
            hours, date = _dec(e, "hours"), e.body.get("date")
            if hours is not None and isinstance(date, str) and date[:7] == period:
                if e.body.get("paid") is True:
                    paid += hours
                else:
                    unpaid += hours
        elif e.kind == "labor.outside":
            hours = _dec(e, "hours")
            if hours is not None and e.body.get("period") == period:
                outside += hours
        elif e.kind == "energy":
            kwh, date = _dec(e, "kwh"), e.body.get("date")
            day = date if isinstance(date, str) else utc_date(e.ts)
            if kwh is None or day[:7] != period:
                continue
            flow, source = e.body.get("flow"), e.body.get("source")
            if flow == "generated" and source == "local":
                generated += kwh
            elif flow == "consumed":
                consumed += kwh

    coop_hours = paid + unpaid
    transparency, note = _transparency(economy, scope, period)
    return Metrics(
        period=period, federation=federation, coop=coop, coops=tuple(sorted(scope)),
        needs=tuple(NeedRow(c, u, *q) for (c, u), q in sorted(rows.items())),
        needs_met_inside_share=_rounded(sum(shares, Fraction(0)) / len(shares))
        if shares else None,
        coop_hours_paid=paid, coop_hours_unpaid=unpaid, outside_hours=outside,
        coop_work_share=share(coop_hours, coop_hours + outside),
        energy_generated_local=generated, energy_consumed=consumed,
        energy_local_share=share(min(generated, consumed), consumed),
        transparency=transparency, transparency_note=note,
    )


def _transparency(economy: Economy, scope: set[bytes], period: str) -> tuple[str | None, str]:
    """(share, note): the co-ops of ``scope`` with a passing audit report for the
    quarter of ``period`` or the one before (module docstring)."""
    ids, audit = economy.gov.ids, economy.gov.audit
    coops = sorted({ids.identity_of(c) for c in scope})
    quarters = recent_quarters(period)
    window = " or ".join(quarters)
    if not coops:
        return None, "no co-op in scope"
    passed = {audit.circles[r.circle].coop for r in audit.reports.values()
              if r.passed and audit.circles[r.circle].period in quarters}
    lacking = [c for c in coops if c not in passed]
    figure = _rounded(Fraction(len(coops) - len(lacking), len(coops)))
    if not lacking:
        return figure, (f"every co-op in scope has an audit report for {window} whose "
                        "checks all passed")
    named = ", ".join(c.hex()[:8] for c in lacking[:NOTE_LISTS_AT_MOST])
    more = len(lacking) - NOTE_LISTS_AT_MOST
    tail = f" and {more} more" if more > 0 else ""
    return figure, (f"{len(lacking)} of {len(coops)} co-op(s) have no audit report for "
                    f"{window} whose checks all passed: {named}{tail}")
