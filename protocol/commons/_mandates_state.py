"""What mandates and roles derive (SPEC §13.4, §13.5): the records. The rules (the
recall race, the delegate keys' authority, terms and rotation) are the mandates
area's (``_mandates``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._codec import Value
from .._decimal import Quantity
from .._entry import Entry


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a mandate allows: ``do`` (a MANDATE_ACTIONS name), for a vote
    possibly one ``proposal``, for a transfer possibly a ``unit`` and ``max``."""

    do: str
    proposal: bytes | None = None
    unit: str | None = None
    max: Quantity | None = None

    def to_value(self) -> dict[str, Value]:
        out: dict[str, Value] = {"do": self.do}
        if self.proposal is not None:
            out["proposal"] = self.proposal.hex()
        if self.unit is not None and self.max is not None:
            out["unit"], out["max"] = self.unit, str(self.max)
        return out


@dataclass(frozen=True, slots=True)
class Renewal:
    id: bytes
    ts: int
    expires: int     # the new expiry


@dataclass(slots=True)
class Mandate:
    id: bytes                     # the mandate.issue entry
    issuer: bytes                 # the co-op (identity) that issued it
    body: bytes                   # a federation id, or the issuer (its own assembly)
    federation: bytes | None      # the federation, when the mandate is for one
    title: str
    delegate: str
    key: bytes | None             # the delegate key that acts under it, if any
    scope: str
    actions: tuple[Action, ...]
    start: int
    expires: int                  # as issued
    sunset: str
    ts: int
    term: int = 1                 # consecutive terms of this delegate in this mandate
    max_days: int = 365           # the longest term of the policy it was issued under
    renewals: list[Renewal] = field(default_factory=list)   # valid ones, by (ts, id)
    recall: bytes | None = None   # the recall in force (Rule 4)
    recalled: int | None = None   # its ts
    reports: list[bytes] = field(default_factory=list)
    verdict: tuple[bytes, str] | None = None  # the latest valid verdict

    def expires_at(self, at: int) -> int:
        """The expiry in force at time ``at``: as issued, extended by the renewals
        stamped at or before ``at``."""
        out = self.expires
        for r in self.renewals:
            if r.ts <= at:
                out = r.expires
        return out

    @property
    def final_expires(self) -> int:
        return self.renewals[-1].expires if self.renewals else self.expires

    def status_at(self, at: int) -> str:
        """``recalled`` (recall ts < at), ``pending`` (at < start), ``expired``
        (at >= the expiry in force) or ``active``."""
        if self.recalled is not None and self.recalled < at:
            return "recalled"
        if at < self.start:
            return "pending"
        if at >= self.expires_at(at):
            return "expired"
        return "active"

    def to_value(self) -> list[Value]:
        """``[id, issuer, body, key|nil, start, expires, [[renew_id, ts, expires], …],
        [recall_id, ts]|nil, [report_id, …], [verdict_id, verdict]|nil]``."""
        return [
            self.id.hex(), self.issuer.hex(), self.body.hex(),
            None if self.key is None else self.key.hex(), self.start, self.expires,
            [[r.id.hex(), r.ts, r.expires] for r in self.renewals],
            None if self.recall is None or self.recalled is None
            else [self.recall.hex(), self.recalled],
            [r.hex() for r in sorted(self.reports)],
            None if self.verdict is None else [self.verdict[0].hex(), self.verdict[1]],
        ]


@dataclass(slots=True)
class Claim:
    """A mandate.renew or mandate.recall seen by the pre-pass: the identity it acts
    for (None when its key cannot speak for an issuer) and, for a renewal, the new
    expiry."""

    entry: Entry
    identity: bytes | None
    expires: int | None = None


@dataclass(slots=True)
class Mandates:
    """Every valid mandate, and what the pre-pass found (the mandates area's Rule 1)."""

    by_id: dict[bytes, Mandate] = field(default_factory=dict)
    # mandate id -> renewals / recalls that name it (the whole set)
    renews: dict[bytes, list[Claim]] = field(default_factory=dict)
    recalls: dict[bytes, list[Claim]] = field(default_factory=dict)
    # renew / recall id -> (code, detail) when settled invalid with its mandate
    settled: dict[bytes, tuple[str, str]] = field(default_factory=dict)
    # (issuer, body, casefolded title) -> casefolded delegate per term, timeline order
    terms: dict[tuple[bytes, bytes, str], list[str]] = field(default_factory=dict)

    def active(self, at: int) -> list[Mandate]:
        """The mandates in force at ``at``, by id."""
        return [md for _, md in sorted(self.by_id.items()) if md.status_at(at) == "active"]

    def to_value(self) -> list[Value]:
        return [md.to_value() for _, md in sorted(self.by_id.items())]


# ------------------------------------------------------------------------------- roles

@dataclass(slots=True)
class Assignment:
    id: bytes                     # the role.assign entry
    body: bytes                   # a federation id, or the co-op
    federation: bytes | None
    role: str
    holder: str
    key: bytes | None             # informational: the holder's key, not checked
    start: int                    # the body's `from`
    until: int                    # as assigned
    by: bytes                     # the co-op that recorded it
    term: int = 1                 # consecutive terms of this holder in this role
    renewals: list[Renewal] = field(default_factory=list)
    ended: tuple[bytes, int] | None = None   # (role.end id, its ts)

    def until_at(self, at: int) -> int:
        out = self.until
        for r in self.renewals:
            if r.ts <= at:
                out = r.expires
        return out

    @property
    def end(self) -> int:
        """When the holding ends for good: ``until`` as last renewed, or the role.end's
        ts if earlier."""
        last = self.renewals[-1].expires if self.renewals else self.until
        return last if self.ended is None else min(last, self.ended[1])

    def holds_at(self, at: int) -> bool:
        """``from <= at < until`` (as renewed at ``at``), and not ended at or before."""
        if self.ended is not None and at >= self.ended[1]:
            return False
        return self.start <= at < self.until_at(at)

    def to_value(self) -> list[Value]:
        """``[id, body, role, holder, key|nil, from, until, [[renew_id, ts, until], …],
        [end_id, ts]|nil]``."""
        return [
            self.id.hex(), self.body.hex(), self.role, self.holder,
            None if self.key is None else self.key.hex(), self.start, self.until,
            [[r.id.hex(), r.ts, r.expires] for r in self.renewals],
            None if self.ended is None else [self.ended[0].hex(), self.ended[1]],
        ]


@dataclass(slots=True)
class Roles:
    by_id: dict[bytes, Assignment] = field(default_factory=dict)
    # (body, casefolded role, casefolded holder) -> (consecutive terms, end of the last)
    runs: dict[tuple[bytes, str, str], tuple[int, int]] = field(default_factory=dict)

    def holders(self, at: int) -> list[Assignment]:
        return [a for _, a in sorted(self.by_id.items()) if a.holds_at(at)]

    def terms(self) -> dict[tuple[bytes, str, str], int]:
        """(body, casefolded role, casefolded holder) -> terms held in all (each
        assignment and each renewal is one term): the rotation."""
        out: dict[tuple[bytes, str, str], int] = {}
        for a in self.by_id.values():
            k = (a.body, a.role.casefold(), a.holder.casefold())
            out[k] = out.get(k, 0) + 1 + len(a.renewals)
        return dict(sorted(out.items()))

    def to_value(self) -> list[Value]:
        return [a.to_value() for _, a in sorted(self.by_id.items())]
