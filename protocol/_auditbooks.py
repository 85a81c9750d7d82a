"""What an audit circle's automated checks (SPEC §14.4) judge and what they find.

The books (``AuditContext``: the fold as of the audit's time, the co-op's identity and
keys, the quarter and the federations), made by ``audit_context``; what a run finds
(``Check``, ``CheckpointInfo``, ``AuditRun``: the ``checks`` of an ``audit.report`` and
the document of ``coop audit run --json``); the quarter arithmetic; and the sentence
helpers of the checks. The checks themselves are protocol/_auditchecks.py's; the store
is read by node/_auditrun.py. Pure: no store, no file, no clock.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._entry import Entry
from ._errors import LedgerError
from ._state import LedgerState
from .commons import Economy, Federation, utc_date

# The audit.report schema's limit on a check's detail (characters).
MAX_DETAIL = 2000
# How many items a sentence lists before it says "and N more".
LIST_LIMIT = 5
DAY_MS = 86_400_000
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])", re.ASCII)
_EPOCH = datetime.date(1970, 1, 1)


class AuditError(LedgerError):
    """A parameter names nothing to audit (the caller's mistake): ``field`` is the
    parameter (``coop``, ``quarter``, ``federation``), ``message`` one sentence."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_value(self) -> dict[str, object]:
        """The check as an audit.report lists it (SPEC §14.1 ``checks``)."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """A checkpoint entry of one of the co-op's logs, and who cosigned it."""

    id: bytes
    key: bytes
    seq: int
    ts: int
    size: int
    root: str
    witnesses: tuple[bytes, ...] = ()   # identities, sorted

    def to_value(self) -> dict[str, object]:
        return {"id": self.id.hex(), "key": self.key.hex(), "seq": self.seq,
                "ts": self.ts, "size": self.size, "root": self.root,
                "witnesses": [w.hex() for w in self.witnesses]}


@dataclass(frozen=True, slots=True)
class AuditRun:
    """What an audit found; ``to_value()`` is the JSON document of
    ``coop audit run --json`` (and of ``--out``)."""

    coop: bytes
    name: str | None
    keys: tuple[bytes, ...]
    as_of: int
    quarter: str
    federations: tuple[tuple[bytes, str], ...]
    checkpoint: CheckpointInfo | None
    entries_checked: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_value(self) -> dict[str, object]:
        return {
            "coop": self.coop.hex(), "name": self.name,
            "keys": [k.hex() for k in self.keys],
            "as_of": self.as_of, "quarter": self.quarter,
            "federations": [{"id": f.hex(), "name": n} for f, n in self.federations],
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_value(),
            "entries_checked": self.entries_checked,
            "ok": self.ok,
            "checks": [c.to_value() for c in self.checks],
        }


# ------------------------------------------------------------------------ quarters

def quarter_bounds(quarter: str) -> tuple[int, int]:
    """[start, end) of a calendar quarter YYYY-Qn in ms (UTC). AuditError otherwise."""
    m = _QUARTER.fullmatch(quarter) if isinstance(quarter, str) else None
    if m is None or m.group(1) == "0000":
        raise AuditError("quarter", "expected a quarter YYYY-Qn with n from 1 to 4 "
                         "(2026-Q1)")
    year, n = int(m.group(1)), int(m.group(2))
    first = datetime.date(year, 3 * n - 2, 1)
    after = datetime.date(year + 1, 1, 1) if n == 4 else datetime.date(year, 3 * n + 1, 1)
    return (first - _EPOCH).days * DAY_MS, (after - _EPOCH).days * DAY_MS


def quarter_of(ms: int) -> str:
    """The quarter (YYYY-Qn) holding the UTC date of ``ms``."""
    day = utc_date(ms)
    return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    quarter_bounds(quarter)
    year, n = quarter[:4], int(quarter[-1])
    return [f"{year}-{3 * n - 2 + i:02d}" for i in range(3)]


def month_start(month: str) -> int:
    """The first ms (UTC) of a month YYYY-MM."""
    day = datetime.date(int(month[:4]), int(month[5:]), 1)
    return (day - _EPOCH).days * DAY_MS


def default_as_of(quarter: str | None, now: int) -> int:
    """The as-of time of a run: ``now``, or the last ms of ``quarter`` once it has
    ended (a quarter still running is judged as it stands now)."""
    if quarter is None:
        return now
    _, end = quarter_bounds(quarter)
    return min(now, end - 1)


# ------------------------------------------------------------------------ sentences

def short(raw: bytes) -> str:
    return raw[:4].hex() + "…"


def listing(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    shown = "; ".join(items[:limit])
    if len(items) > limit:
        shown += f"; and {len(items) - limit} more"
    return shown


def clip(text: str) -> str:
    """One sentence, capitalised, within the schema's limit (a long listing is cut,
    never refused)."""
    text = text[:1].upper() + text[1:]
    if len(text) <= MAX_DETAIL:
        return text
    return text[: MAX_DETAIL - 1] + "…"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class AuditContext:
    """The books an audit judges: the fold as of ``as_of``, the co-op (its identity and
    keys), the quarter and the federations of the economic checks."""

    state: LedgerState
    econ: Economy
    identity: bytes
    keys: tuple[bytes, ...]
    as_of: int
    quarter: str
    feds: list[Federation]
    names: dict[bytes, str | None] = field(default_factory=dict)

    def who(self, coop: bytes) -> str:
        """A co-op for a sentence: its name (cut to 40 characters) and short key."""
        name = self.names.get(coop)
        if name is None:
            st = self.state.authors.get(coop)
            name = None if st is None else st.name
        if not name:
            return short(coop)
        name = name if len(name) <= 40 else name[:39] + "…"
        return f"{name} ({coop[:4].hex()})"

    def identity_of(self, key: bytes) -> bytes:
        return self.econ.gov.ids.identity_of(key)

    def applied(self, e: Entry) -> bool:
        st = self.state.authors.get(e.author)
        return st is not None and e.seq <= st.length

    def mine(self, key: bytes) -> bool:
        return key in self.keys or self.identity_of(key) == self.identity


def audit_context(state: LedgerState, coop: bytes, held: Mapping[bytes, int], *,
                  as_of: int, quarter: str, federation: bytes | None = None
                  ) -> AuditContext:
    """The context of an audit of ``coop`` (an identity or any key of one) on ``state``,
    the fold as of ``as_of``; ``held`` counts the entries held per author (applied or
    not). ``federation`` limits the economic checks to one federation (default: every
    federation the co-op has been a member of).

    Raises AuditError when no entry of the co-op is held, or for an unknown federation.
    """
    econ = state.economy()
    ids = econ.gov.ids
    identity = ids.identity_of(coop)
    keys = tuple(r.key for r in ids.keys_of(identity)) or (identity,)
    if not any(held.get(k) for k in keys):
        raise AuditError("coop", f"this store holds no entry of co-op {short(coop)}")
    if federation is not None:
        fed = econ.federations.get(federation)
        if fed is None:
            raise AuditError("federation", f"no federation {short(federation)} as of "
                             "the audit's time")
        feds = [fed]
    else:
        feds = [f for _, f in sorted(econ.federations.items()) if identity in f.members]
    return AuditContext(state, econ, identity, keys, as_of, quarter, feds)
