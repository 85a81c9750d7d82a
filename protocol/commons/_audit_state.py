"""What the audit kinds derive (SPEC §14.3–§14.5): cosignatures of checkpoints, audit
circles and their reports, complaints, findings and sanctions, and the quarters
circles are for. The records; the rules are the audit area's (``_audit``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from .._codec import Value
from .._entry import Entry, decode_entry
from .._errors import ValidationError
from .._kinds import CHECKPOINT_KIND

if TYPE_CHECKING:
    from ._identity_state import Identities
    from ._lottery_state import Lotteries

_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)


# ------------------------------------------------------------------------- quarters

def quarter_of_month(month: str) -> str:
    """The quarter (``YYYY-Qn``) a month (``YYYY-MM``) is in. ValueError otherwise."""
    m = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if m is None:
        raise ValueError("expected a month YYYY-MM")
    return f"{m.group(1)}-Q{(int(m.group(2)) - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str | None:
    """The quarter before ``quarter`` (None before 0001-Q1). ValueError if not one."""
    m = _QUARTER.fullmatch(quarter) if isinstance(quarter, str) else None
    if m is None:
        raise ValueError("expected a quarter YYYY-Qn")
    year, n = int(m.group(1)), int(m.group(2))
    if n > 1:
        return f"{year:04d}-Q{n - 1}"
    return None if year <= 1 else f"{year - 1:04d}-Q4"


def recent_quarters(month: str) -> tuple[str, ...]:
    """The quarter of ``month`` and the one before: the audits that count for it."""
    q = quarter_of_month(month)
    prev = previous_quarter(q)
    return (q,) if prev is None else (q, prev)


# --------------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint entry (SPEC §14.1): its log (the key that wrote it) had ``size``
    entries before it, with Merkle root ``root``."""

    id: bytes
    log: bytes          # the author key: one key, one log
    seq: int
    size: int
    root: bytes
    ts: int

    @classmethod
    def of(cls, e: Entry) -> Checkpoint | None:
        size, root = e.body.get("size"), e.body.get("root")
        if e.kind != CHECKPOINT_KIND or type(size) is not int or not isinstance(root, str):
            return None
        try:
            raw = bytes.fromhex(root)
        except ValueError:
            return None
        return cls(e.id, e.author, e.seq, size, raw, e.ts) if len(raw) == 32 else None


@dataclass(frozen=True, slots=True)
class Cosign:
    """A witness's cosignature of one checkpoint."""

    id: bytes
    witness: bytes      # the co-op (identity) that cosigned
    key: bytes          # the key it signed with
    checkpoint: Checkpoint
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        cp = self.checkpoint
        return [cp.log.hex(), self.witness.hex(), cp.size, cp.root.hex(), cp.id.hex(),
                self.id.hex(), self.ts]


@dataclass(frozen=True, slots=True)
class Circle:
    id: bytes
    federation: bytes
    coop: bytes         # the audited co-op (identity)
    period: str         # YYYY-Qn
    lottery: bytes
    author: bytes       # the co-op (identity) that wrote it
    key: bytes
    eff: int
    ts: int
    note: str | None

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.coop.hex(), self.period,
                self.lottery.hex(), self.author.hex()]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class Report:
    id: bytes
    circle: bytes
    auditor: bytes      # the drawn co-op (identity) that signed it
    key: bytes
    checkpoint: Checkpoint
    checks: tuple[Check, ...]
    findings: tuple[str, ...]
    summary: str
    eff: int
    ts: int

    @property
    def passed(self) -> bool:
        """Every automated check passed (ok true)."""
        return all(c.ok for c in self.checks)

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.circle.hex(), self.auditor.hex(),
                self.checkpoint.id.hex(), self.passed]


@dataclass(frozen=True, slots=True)
class Complaint:
    id: bytes
    federation: bytes
    by: bytes
    against: bytes
    text: str
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.against.hex()]


@dataclass(frozen=True, slots=True)
class Finding:
    id: bytes
    federation: bytes
    by: bytes
    about: bytes
    text: str
    complaint: bytes | None
    circle: bytes | None
    eff: int
    ts: int

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.about.hex(),
                None if self.complaint is None else self.complaint.hex(),
                None if self.circle is None else self.circle.hex()]


@dataclass(frozen=True, slots=True)
class Sanction:
    id: bytes
    federation: bytes
    by: bytes
    against: bytes
    finding: bytes
    measure: str
    expires: int
    note: str | None
    eff: int
    ts: int

    def in_force(self, at: int) -> bool:
        """In force at ``at`` (ms): from its ts until (not including) ``expires``."""
        return self.ts <= at < self.expires

    def to_row(self) -> list[Value]:
        return [self.id.hex(), self.federation.hex(), self.by.hex(), self.against.hex(),
                self.finding.hex(), self.expires]


# ---------------------------------------------------------------------------- state

@dataclass(slots=True)
class Audits:
    """What the audit kinds derive (``Economy.gov.audit``); dicts in timeline order."""

    seen: bool = False  # an entry of an audit kind applied (the value is shown only then)
    # checkpoints a report may name: every one the set holds, whole or inside a cosign
    checkpoints: dict[bytes, Checkpoint] = field(default_factory=dict)
    cosigns: dict[bytes, Cosign] = field(default_factory=dict)
    # (witness, log) -> the largest size it cosigned for that log
    cosigned: dict[tuple[bytes, bytes], int] = field(default_factory=dict)
    circles: dict[bytes, Circle] = field(default_factory=dict)
    circle_of: dict[tuple[bytes, bytes, str], bytes] = field(default_factory=dict)
    reports: dict[bytes, Report] = field(default_factory=dict)
    complaints: dict[bytes, Complaint] = field(default_factory=dict)
    findings: dict[bytes, Finding] = field(default_factory=dict)
    sanctions: dict[bytes, Sanction] = field(default_factory=dict)

    def prepare(self, entries: Iterable[Entry]) -> None:
        """Collect, from the whole set, the checkpoints reports may name: checkpoint
        entries, and the ones embedded in cosigns (signed by the log's author, so as
        good as the entry itself for naming it). Any order; call before the walk."""
        for e in entries:
            cp: Checkpoint | None = None
            if e.kind == CHECKPOINT_KIND:
                cp = Checkpoint.of(e)
            elif e.kind == "checkpoint.cosign":
                cp = embedded_checkpoint(e)
            if cp is not None:
                self.checkpoints[cp.id] = cp

    # -- queries the views use

    def circle_for(self, federation: bytes, coop: bytes, period: str) -> Circle | None:
        """The circle of (federation, audited co-op, quarter), if one is valid."""
        cid = self.circle_of.get((federation, coop, period))
        return None if cid is None else self.circles[cid]

    def circles_of(self, coop: bytes) -> list[Circle]:
        """The circles auditing ``coop`` (an identity), in timeline order."""
        return [c for c in self.circles.values() if c.coop == coop]

    def reports_of(self, circle: bytes) -> list[Report]:
        return [r for r in self.reports.values() if r.circle == circle]

    def cosigns_of(self, logs: Iterable[bytes]) -> list[Cosign]:
        """The cosigns of the logs ``logs`` (keys), in timeline order."""
        wanted = set(logs)
        return [c for c in self.cosigns.values() if c.checkpoint.log in wanted]

    def sanctions_in_force(self, at: int, *, federation: bytes | None = None,
                           against: bytes | None = None) -> list[Sanction]:
        """The sanctions in force at ``at`` (ms), optionally of one federation or
        against one co-op, in timeline order."""
        return [s for s in self.sanctions.values() if s.in_force(at)
                and (federation is None or s.federation == federation)
                and (against is None or s.against == against)]

    def to_value(self) -> dict[str, Value]:
        """The ``audit`` part of the economy value (SPEC §14.5): rows of hex ids and
        keys, each list sorted."""
        def rows(items: Iterable[list[Value]]) -> list[Value]:
            return cast(list[Value], sorted(items, key=lambda r: cast(str, r[0])))
        return {
            # one row per cosign; sorted by (log, witness, cosign id): rows share a log
            "cosigns": cast(list[Value], sorted(
                (c.to_row() for c in self.cosigns.values()),
                key=lambda r: (cast(str, r[0]), cast(str, r[1]), cast(str, r[5])))),
            "circles": rows(c.to_row() for c in self.circles.values()),
            "reports": rows(r.to_row() for r in self.reports.values()),
            "complaints": rows(c.to_row() for c in self.complaints.values()),
            "findings": rows(f.to_row() for f in self.findings.values()),
            "sanctions": rows(s.to_row() for s in self.sanctions.values()),
        }


def drawn_coops(lotteries: Lotteries, ids: Identities, circle: Circle) -> list[bytes]:
    """The co-ops (identities) drawn in ``circle``'s lottery, in the order drawn, each
    once; empty while the lottery waits for its beacons."""
    draw = lotteries.drawn(circle.lottery)
    out: list[bytes] = []
    for c in [] if draw is None else draw.people():
        who = ids.identity_of(c.coop)
        if who not in out:
            out.append(who)
    return out


def embedded_checkpoint(e: Entry) -> Checkpoint | None:
    raw = e.body.get("entry")
    if not isinstance(raw, bytes):
        return None
    # Tier 1 only: decoding the cosign itself already opened this entry, signature
    # included (its schema check, SPEC §14.3); the economy is recomputed often.
    try:
        inner = decode_entry(raw)
    except ValidationError:
        return None
    cp = Checkpoint.of(inner)
    return cp if cp is not None and cp.id.hex() == e.body.get("checkpoint") else None
