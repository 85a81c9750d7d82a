"""The derived state of a set of entries, and its canonical form.

``LedgerState`` is what the fold produces: per co-op (author), its name, how much of its
log applies, its head, a fork proof or a broken link if any, entries of kinds this
version does not fold, and totals per kind. ``to_value()`` is the canonical value whose
encoding's SHA-256 is the ``state_hash`` two nodes compare.

Totals are stored as lists of rows sorted by their key columns, so the encoding does
not depend on the order in which entries were applied.

The applied entries of the economic kinds (SPEC §12) are kept whole in
``LedgerState.economic``: the economy is a function of all of them at once (its
timeline orders them across logs), so it is computed from that set, on demand, and
cached until the next economic entry applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from coopledger import crypto

from ._codec import Value, encode
from ._decimal import ZERO, Quantity
from ._entry import GENESIS_KIND, Entry
from ._kinds import is_known_kind
from .commons import COMMONS_KINDS, Economy, compute_economy

STATE_VERSION = 1

# kind → the body fields that key its totals, and the field that is summed.
TOTAL_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "labor": (("member", "category", "paid"), "hours"),
    "material": (("item", "unit", "direction"), "quantity"),
    "energy": (("flow", "source"), "kwh"),
    "goods": (("item", "unit", "flow"), "quantity"),
}

TotalKey = tuple[str | bool, ...]


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two different entries by one author at one seq: ``a`` < ``b`` are their ids,
    the two smallest ids held at the lowest forked seq (so every node picks the same)."""

    seq: int
    a: bytes
    b: bytes


@dataclass(slots=True)
class AuthorState:
    """What the fold knows about one author's log."""

    name: str | None = None
    length: int = 0
    head: bytes | None = None
    head_ts: int | None = None
    fork: ForkProof | None = None
    broken: tuple[int, str] | None = None  # (seq, reason) where the chain breaks
    unknown: dict[str, int] = field(default_factory=dict)
    totals: dict[str, dict[TotalKey, Quantity]] = field(default_factory=dict)
    # Totals changed since the owner last saved them (``take_dirty``): a store writes
    # only these rows, so its cost per batch follows the change, not the state's size.
    dirty: set[tuple[str, TotalKey]] = field(default_factory=set, compare=False, repr=False)
    # The log's Merkle tree (SPEC §14.1) over the applied prefix: its right edge, from
    # which checkpoints are checked and made. Not part of the state value (it follows
    # from the applied entries), but kept with the derived rows (``stored_value``).
    tree: crypto.Frontier = field(default_factory=crypto.Frontier, compare=False,
                                  repr=False)

    def apply(self, entry: Entry) -> None:
        """Apply ``entry``, the next entry of this log (the fold checked that it is)."""
        self.tree.append(crypto.leaf_hash(entry.id))
        self.length = entry.seq
        self.head = entry.id
        self.head_ts = entry.ts
        self.broken = None
        kind = entry.kind
        if kind == GENESIS_KIND:
            self.name = cast(str, entry.body["name"])
        elif kind in TOTAL_KEYS:
            key_fields, amount_field = TOTAL_KEYS[kind]
            key: TotalKey = tuple(
                _key_part(kind, f, entry.body.get(f)) for f in key_fields
            )
            table = self.totals.setdefault(kind, {})
            table[key] = table.get(key, ZERO) + Quantity.parse(
                cast(str, entry.body[amount_field])
            )
            self.dirty.add((kind, key))
        elif not is_known_kind(kind):
            self.unknown[kind] = self.unknown.get(kind, 0) + 1

    def to_value(self) -> dict[str, Value]:
        totals: dict[str, Value] = {}
        for kind in sorted(self.totals):
            # Each key column holds one type per kind (text, or the bool "paid"), so
            # plain tuple order is total and the same on every node; keys are unique,
            # so quantities are never compared.
            rows = sorted(self.totals[kind].items())
            totals[kind] = [[*k, str(q)] for k, q in rows]
        value = self.header_value()
        value["totals"] = totals
        return value

    def header_value(self) -> dict[str, Value]:
        """``to_value()`` without the totals (stored apart from them, row by row)."""
        return {
            "name": self.name,
            "length": self.length,
            "head": self.head,
            "head_ts": self.head_ts,
            "fork": None
            if self.fork is None
            else {"seq": self.fork.seq, "a": self.fork.a, "b": self.fork.b},
            "broken": None
            if self.broken is None
            else {"seq": self.broken[0], "reason": self.broken[1]},
            "unknown": dict(sorted(self.unknown.items())),
            "totals": {},
        }

    def take_dirty(self) -> list[tuple[str, TotalKey, Quantity]]:
        """The totals changed since the last call, as (kind, key, amount); clears them."""
        rows = [(kind, key, self.totals[kind][key]) for kind, key in sorted(self.dirty)]
        self.dirty.clear()
        return rows

    def load_total(self, kind: str, key: TotalKey, amount: Quantity) -> None:
        """Restore one saved total (the counterpart of ``take_dirty``)."""
        self.totals.setdefault(kind, {})[key] = amount

    def stored_value(self) -> dict[str, Value]:
        """What a store keeps per author: ``header_value()`` and the tree's edge."""
        value = self.header_value()
        value["tree"] = self.tree.to_bytes()
        return value

    @classmethod
    def from_value(cls, value: Mapping[str, Value]) -> AuthorState:
        """Rebuild an AuthorState from ``stored_value()`` or ``to_value()`` output (a
        stored derived row). Without a ``tree`` the log's tree is unknown: KeyError,
        unless the log is empty."""
        st = cls()
        tree = value.get("tree")
        if tree is not None:
            st.tree = crypto.Frontier.from_bytes(cast(bytes, tree))
        elif value["length"] != 0:
            raise KeyError("tree")
        st.name = cast("str | None", value["name"])
        st.length = cast(int, value["length"])
        if st.tree.size != st.length:
            raise ValueError(f"tree of {st.tree.size} leaves for a log of {st.length}")
        st.head = cast("bytes | None", value["head"])
        st.head_ts = cast("int | None", value["head_ts"])
        fork = cast("dict[str, Value] | None", value["fork"])
        if fork is not None:
            st.fork = ForkProof(cast(int, fork["seq"]), cast(bytes, fork["a"]),
                                cast(bytes, fork["b"]))
        broken = cast("dict[str, Value] | None", value["broken"])
        if broken is not None:
            st.broken = (cast(int, broken["seq"]), cast(str, broken["reason"]))
        st.unknown = dict(cast("dict[str, int]", value["unknown"]))
        for kind, rows in cast("dict[str, list[list[Value]]]", value["totals"]).items():
            st.totals[kind] = {
                tuple(cast("list[str | bool]", row[:-1])): Quantity._parse_total(
                    cast(str, row[-1])
                )
                for row in rows
            }
        return st


def _key_part(kind: str, name: str, value: object) -> str | bool:
    if name == "paid":
        return bool(value)
    return cast(str, value)


@dataclass(slots=True)
class LedgerState:
    """The whole derived state: one AuthorState per author with any held entry."""

    as_of: int | None = None
    authors: dict[bytes, AuthorState] = field(default_factory=dict)
    # Every applied entry whose kind is in COMMONS_KINDS (SPEC §12.3, §13), by id.
    economic: dict[bytes, Entry] = field(default_factory=dict)
    # economy() of ``economic``; None when not computed since it last changed.
    _economy: Economy | None = field(default=None, compare=False, repr=False)

    def author(self, author: bytes) -> AuthorState:
        st = self.authors.get(author)
        if st is None:
            st = self.authors[author] = AuthorState()
        return st

    def record_applied(self, entry: Entry) -> None:
        """Note that ``entry`` now applies (after its author's ``AuthorState.apply``):
        an entry of an economic kind joins ``economic`` and drops the cached economy."""
        if entry.kind in COMMONS_KINDS:
            self.record_economic(entry)

    def record_economic(self, entry: Entry) -> None:
        """Add an applied economic entry (also how a store restores them at load)."""
        self.economic[entry.id] = entry
        self._economy = None

    def economy(self) -> Economy:
        """The economy (SPEC §12) of the applied economic entries; computed once and
        cached until another economic entry is recorded."""
        if self._economy is None:
            self._economy = compute_economy(list(self.economic.values()))
        return self._economy

    def to_value(self) -> dict[str, Value]:
        value: dict[str, Value] = {
            "version": STATE_VERSION,
            "as_of": self.as_of,
            "coops": {a.hex(): self.authors[a].to_value() for a in sorted(self.authors)},
        }
        # Only when something economic applies, so that states without federations
        # keep the values and hashes they had before SPEC §12 (§5, §12.6).
        if self.economic:
            value["economy"] = self.economy().to_value()
        return value

    def encode(self) -> bytes:
        return encode(self.to_value())

    def state_hash(self) -> str:
        """SHA-256 (hex) of the canonical encoding of the whole state."""
        return crypto.sha256(self.encode()).hex()
