"""What every stage of the commons (SPEC §12, §13) shares: the timeline that orders
entries across logs, the rejection that makes an entry invalid, and typed reads of a body.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .._decimal import DecimalFormatError, Quantity
from .._entry import Entry
from .._errors import LedgerError


def short(raw: bytes) -> str:
    """The first 8 hex characters of an id or key, for one-sentence details."""
    return raw[:4].hex() + "…"


# --------------------------------------------------------------------------- timeline

def timeline(entries: Iterable[Entry], kinds: Collection[str]) -> list[tuple[int, int, Entry]]:
    """The entries of ``kinds`` as (eff, depth, entry) in timeline order (SPEC §12.3).

    Only those entries are looked at: an entry's *predecessor* is the entry of the same
    author with the next lower seq among them, and refs to anything that is not one of
    them are ignored. So the result is the same whether or not the caller also passes
    entries of other kinds."""
    by_id: dict[bytes, Entry] = {}
    for e in entries:
        if e.kind in kinds:
            by_id[e.id] = e
    logs: dict[bytes, list[Entry]] = {}
    for e in by_id.values():
        logs.setdefault(e.author, []).append(e)
    parents: dict[bytes, list[bytes]] = {}
    for log in logs.values():
        log.sort(key=lambda e: (e.seq, e.id))
        for n, e in enumerate(log):
            ps = [r for r in e.refs if r in by_id]
            if n:
                ps.append(log[n - 1].id)
            parents[e.id] = ps
    eff: dict[bytes, int] = {}
    depth: dict[bytes, int] = {}
    visiting: set[bytes] = set()
    # Iterative depth-first walk: logs can be far longer than Python's recursion limit.
    for root in sorted(by_id):
        stack: list[tuple[bytes, bool]] = [(root, False)]
        while stack:
            i, ready = stack.pop()
            if ready:
                ps = [p for p in parents[i] if p in eff]
                eff[i] = max([by_id[i].ts, *(eff[p] for p in ps)])
                depth[i] = 1 + max((depth[p] for p in ps), default=0)
                continue
            if i in eff or i in visiting:
                continue  # done, or (impossible with hash ids) a cycle
            visiting.add(i)
            stack.append((i, True))
            stack.extend((p, False) for p in parents[i] if p not in eff)
    order = sorted(by_id, key=lambda i: (eff[i], depth[i], i))
    return [(eff[i], depth[i], by_id[i]) for i in order]


# ----------------------------------------------------------------------- body access

class Reject(LedgerError):
    """An entry breaks a rule of §12.4: it is recorded as invalid, with no effect."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Body:
    """Typed reads of a body. The kind schemas (§12.2) already guarantee the shapes;
    a body that is not as promised (an entry decoded by a build without the schemas)
    is rejected as ``malformed`` rather than crashing the fold."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.body = entry.body

    def _bad(self, key: str, what: str) -> Reject:
        return Reject("malformed", f"field {key!r} is not {what}")

    def text(self, key: str) -> str:
        v = self.body.get(key)
        if not isinstance(v, str) or not v:
            raise self._bad(key, "text")
        return v

    def int(self, key: str) -> int:
        v = self.body.get(key)
        if type(v) is not int:
            raise self._bad(key, "an integer")
        return v

    def ref(self, key: str) -> bytes:
        v = self.body.get(key)
        try:
            raw = bytes.fromhex(v) if isinstance(v, str) and v == v.lower() else b""
        except ValueError:
            raw = b""
        if len(raw) != 32 or raw not in self.entry.refs:
            raise self._bad(key, "the hex id of an entry listed in refs")
        return raw

    def coop(self, key: str) -> bytes:
        v = self.body.get(key)
        try:
            raw = bytes.fromhex(v) if isinstance(v, str) and v == v.lower() else b""
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise self._bad(key, "the hex key of a co-op")
        return raw

    def dec(self, key: str, *, zero_ok: bool = False) -> Quantity:
        v = self.body.get(key)
        try:
            q = Quantity.parse(v) if isinstance(v, str) else None
        except DecimalFormatError:
            q = None
        if q is None or q.units < 0 or (q.units == 0 and not zero_ok):
            raise self._bad(key, "a positive decimal")
        return q
