"""Identities with several keys (SPEC §13.2): which co-op each key writes for, with
which power, and from when until when. The key table and the pre-pass that builds it
(the identity area, ``_identity``, declares it; its reason codes are there).

A co-op is an **identity**: the public key of its genesis log, its *root key*. Other
keys join it by ``key.add`` (a node key per device, a recovery key kept offline, a
delegate's personal key) and leave it by ``key.revoke``. An entry *acts for* the
identity its author key is bound to, provided the key was active for that entry.

The rules (normative text in SPEC §13.2):

Rule 1. A key that no valid ``key.add`` binds is its own identity (its root), with
        power ``root`` (node and recovery at once). Every co-op before §13 is one.
Rule 2. ``key.add`` is valid when its author is an active key of ``identity`` (Rule 5,
        with the revocations judged so far) with power root, recovery or node; adding
        a ``recovery`` key needs root or recovery; ``key`` must not be bound already,
        nor be an identity with keys of its own (``key-in-use``), nor have been revoked
        (``key-revoked``). The proof (the key's consent) is checked at decode (§3).
Rule 3. ``key.revoke`` is valid when its author is an active key of ``identity`` with
        power root, recovery or node; ``key`` is the root of ``identity`` or bound to it
        (``not-a-key``); a node key may revoke node and delegate keys (itself too), only
        root or recovery may revoke a recovery key or the root (``not-allowed-for-key``).
        A key already revoked may be revoked again only with a ``through`` lower than
        every ``through`` before (a stronger cut), else ``already-revoked``. A key that
        revokes itself names ``through`` at or after the revoke's own seq (``bad-through``).
Rule 4. Delegate keys never manage keys (``not-allowed-for-key``).
Rule 5. A key K of identity I is **active for an entry e** by K when: K is I's root, or
        e.ts >= the ts of the add that bound K (else ``key-not-active``); and no valid
        revocation of K *hits* e (else ``key-revoked``). A revocation with ``through``
        hits e when e.seq > through, whatever e's ts (a thief cannot backdate past it);
        one without ``through`` hits e when e.ts > the revocation's ts.

How the key entries are judged. They are put on their own timeline (§12.3 with the key
kinds only) and walked once, each judged against the table the entries before it left
(Rules 2-4; Rule 5 with the revocations known *so far*). That alone would let a stolen
node key win by backdating: its key entries after the cut could sort before the
recovery key's revocation. So the walk is done twice. The second walk judges each
author with the revocations known so far *plus* those of the first walk that a
stronger key made (root or recovery revoking a node or delegate key) or that a key made
of itself. Root and recovery keys are added and revoked only by root and recovery keys,
so the first walk already judged those revocations as the second will: the extra ones
are settled. The table after the second walk is final; every other entry (``acting``)
is judged against it with *all* its valid revocations (Rule 5), so "invalid after the
revocation" holds whatever the order entries arrive or sort in.

What this cannot settle: two keys of equal power that revoke each other (the earlier
on the timeline wins, or both stand when their times are equal), and a stolen root or
recovery key (the co-op's only stronger key is the thief's too). SPEC §13.2 says so.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .._codec import Value
from .._entry import Entry
from .._kinds import KEY_KINDS, KEY_POWERS, REVOKE_REASONS
from ._judge import Body, Reject, short, timeline

ROOT = "root"
# Root and recovery outrank node, which outranks delegate.
_RANK = {ROOT: 2, "recovery": 2, "node": 1, "delegate": 0}
POWERS = (ROOT, *KEY_POWERS)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A valid ``key.revoke``."""

    id: bytes
    key: bytes
    identity: bytes
    by: bytes            # the revoking key
    by_power: str
    key_power: str
    seq: int             # the revoke entry's own seq and ts
    ts: int
    reason: str
    through: int | None

    def hits(self, seq: int, ts: int) -> bool:
        """Whether an entry of the revoked key at (seq, ts) comes after the cut."""
        if self.through is not None:
            return seq > self.through
        return ts > self.ts

    def settled(self) -> bool:
        """Made by a stronger key, or by the key itself: the second walk applies it to
        its key's entries in any timeline order (see the module docstring)."""
        return _RANK[self.by_power] > _RANK[self.key_power] or self.by == self.key


@dataclass(slots=True)
class KeyRecord:
    """One key of an identity: its root (power ``root``, no add) or a bound key."""

    key: bytes
    identity: bytes
    power: str                      # root, node, recovery or delegate
    label: str | None = None        # None for the root
    added: bytes | None = None      # the key.add entry (None for the root)
    added_ts: int | None = None
    added_by: bytes | None = None
    revocations: list[Revocation] = field(default_factory=list)

    @property
    def revoked(self) -> bool:
        return bool(self.revocations)

    def hit_by(self, seq: int, ts: int) -> Revocation | None:
        """The first valid revocation that hits an entry of this key at (seq, ts)."""
        for r in self.revocations:
            if r.hits(seq, ts):
                return r
        return None

    def active_at(self, ts: int) -> bool:
        """Active at time ``ts`` (a revocation counts from its own ts on, ``through``
        or not: the time-only view for questions such as "was this a delegate key when
        the mandate started")."""
        if self.added_ts is not None and ts < self.added_ts:
            return False
        return not any(ts > r.ts for r in self.revocations)

    def to_row(self) -> list[Value]:
        revs: list[Value] = [[r.id.hex(), r.through] for r in self.revocations]
        return [self.key.hex(), self.identity.hex(), self.power, self.label,
                None if self.added is None else self.added.hex(), revs]


@dataclass(slots=True)
class Identities:
    """The key table, final after ``compute_identities``."""

    # key entries the pre-pass found invalid: id -> (code, detail), and every key entry
    invalid: dict[bytes, tuple[str, str]] = field(default_factory=dict)
    entries: dict[bytes, Entry] = field(default_factory=dict)
    # every key that is bound, and every root that has keys or was revoked
    records: dict[bytes, KeyRecord] = field(default_factory=dict)

    def identity_of(self, key: bytes) -> bytes:
        """The identity ``key`` is bound to (its root), or ``key`` itself (Rule 1)."""
        rec = self.records.get(key)
        return key if rec is None else rec.identity

    def record(self, key: bytes) -> KeyRecord:
        """The record of ``key`` (a fresh root record for a key the table never saw)."""
        rec = self.records.get(key)
        return KeyRecord(key, key, ROOT) if rec is None else rec

    def acting(self, e: Entry) -> tuple[bytes, str]:
        """(identity, power) that ``e`` acts with (Rule 5, all valid revocations).
        Raises Reject ``key-not-active`` or ``key-revoked``."""
        rec = self.records.get(e.author)
        if rec is None:
            return e.author, ROOT
        if rec.added_ts is not None and e.ts < rec.added_ts:
            raise Reject("key-not-active", f"key {short(e.author)} was added to co-op "
                         f"{short(rec.identity)} only after this entry's time")
        r = rec.hit_by(e.seq, e.ts)
        if r is not None:
            raise Reject("key-revoked", _revoked_detail(e.author, r))
        return rec.identity, rec.power

    def power_at(self, key: bytes, identity: bytes, ts: int) -> str | None:
        """The power ``key`` has for ``identity`` at time ``ts`` (``root``, ``node``,
        ``recovery`` or ``delegate``), None if it is not an active key of it then. A
        revocation counts from its own ts (see ``KeyRecord.active_at``)."""
        rec = self.record(key)
        if rec.identity != identity or not rec.active_at(ts):
            return None
        return rec.power

    def keys_of(self, identity: bytes) -> list[KeyRecord]:
        """The keys of ``identity``: its root first, then bound keys in the order they
        were added (revoked ones included). A key bound elsewhere has none."""
        root = self.records.get(identity)
        if root is not None and root.identity != identity:
            return []
        out = [self.record(identity)]
        out.extend(sorted((r for r in self.records.values()
                           if r.identity == identity and r.key != identity),
                          key=lambda r: (r.added_ts or 0, r.key)))
        return out

    def to_value(self) -> list[Value]:
        """The ``keys`` part of the governance value (SPEC §13.2): one row per key
        record, ``[key, identity, power, label|nil, add_id|nil, [[revoke_id,
        through|nil], …]]``, sorted by key."""
        return [rec.to_row() for _, rec in sorted(self.records.items())]


def _revoked_detail(key: bytes, r: Revocation) -> str:
    if r.through is not None:
        return (f"key {short(key)} was revoked (entry {short(r.id)}) for entries after "
                f"its seq {r.through}")
    return (f"key {short(key)} was revoked (entry {short(r.id)}) before this entry's "
            "time")


class _Walk:
    """One walk over the key timeline (see the module docstring)."""

    def __init__(self, extra: Mapping[tuple[bytes, bytes], list[Revocation]]) -> None:
        self.ids = Identities()
        self.extra = extra
        self.applied: list[Revocation] = []

    def run(self, ordered: Iterable[Entry]) -> None:
        handlers = {"key.add": self._add, "key.revoke": self._revoke}
        for e in ordered:
            self.ids.entries[e.id] = e
            try:
                handlers[e.kind](e, Body(e))
            except Reject as r:
                self.ids.invalid[e.id] = (r.code, r.detail)

    def _author(self, e: Entry, identity: bytes) -> str:
        """The power of ``e``'s author for ``identity`` (Rule 5, revocations so far
        and the settled ones of the first walk), or Reject."""
        recs = self.ids.records
        rec = recs.get(e.author)
        if rec is None and e.author == identity:
            power = ROOT
            revs: list[Revocation] = []
        elif rec is not None and rec.identity == identity:
            if rec.added_ts is not None and e.ts < rec.added_ts:
                raise Reject("key-not-active", f"key {short(e.author)} was added to "
                             f"co-op {short(identity)} only after this entry's time")
            power, revs = rec.power, rec.revocations
        else:
            raise Reject("not-a-key", f"key {short(e.author)} is not a key of co-op "
                         f"{short(identity)}")
        for r in (*revs, *self.extra.get((e.author, identity), ())):
            if r.hits(e.seq, e.ts):
                raise Reject("key-revoked", _revoked_detail(e.author, r))
        if power == "delegate":
            raise Reject("not-allowed-for-key", f"key {short(e.author)} is a delegate "
                         "key: it cannot add or revoke keys")
        return power

    def _root(self, identity: bytes) -> KeyRecord:
        rec = self.ids.records.get(identity)
        if rec is None:
            rec = self.ids.records[identity] = KeyRecord(identity, identity, ROOT)
        return rec

    def _add(self, e: Entry, b: Body) -> None:
        identity, key = b.coop("identity"), b.coop("key")
        power, label = b.text("power"), b.text("label")
        if power not in KEY_POWERS or key == identity:
            raise Reject("malformed", "field 'power' or 'key' is not as §13.1 says")
        by = self._author(e, identity)
        if power == "recovery" and _RANK[by] < _RANK["recovery"]:
            raise Reject("not-allowed-for-key", f"key {short(e.author)} is a node key: "
                         "only the root or a recovery key may add a recovery key")
        rec = self.ids.records.get(key)
        if rec is not None and rec.revoked:
            raise Reject("key-revoked", f"key {short(key)} was revoked; a revoked key "
                         "never comes back")
        if rec is not None:
            what = ("a key of co-op " + short(rec.identity) if rec.identity != key
                    else "a co-op with keys of its own")
            raise Reject("key-in-use", f"key {short(key)} is already {what}")
        self._root(identity)
        self.ids.records[key] = KeyRecord(key, identity, power, label, e.id, e.ts, e.author)

    def _revoke(self, e: Entry, b: Body) -> None:
        identity, key, reason = b.coop("identity"), b.coop("key"), b.text("reason")
        through = b.int("through") if "through" in b.body else None
        if reason not in REVOKE_REASONS:
            raise Reject("malformed", "field 'reason' is not as §13.1 says")
        by = self._author(e, identity)
        rec = self.ids.records.get(key)
        if key == identity and (rec is None or rec.identity == identity):
            # A root gets its record only once the revocation applies (below).
            target = KeyRecord(identity, identity, ROOT) if rec is None else rec
        elif rec is not None and rec.identity == identity and rec.key != identity:
            target = rec
        else:
            raise Reject("not-a-key", f"key {short(key)} is not a key of co-op "
                         f"{short(identity)}")
        if _RANK[target.power] > _RANK[by]:
            raise Reject("not-allowed-for-key", f"key {short(e.author)} is a node key: "
                         "only the root or a recovery key may revoke the root or a "
                         "recovery key")
        if key == e.author and through is not None and through < e.seq:
            raise Reject("bad-through", "a key that revokes itself names a through at "
                         "or after the revoke's own seq")
        cuts = [r.through for r in target.revocations if r.through is not None]
        if target.revoked and (through is None or (cuts and through >= min(cuts))):
            raise Reject("already-revoked", f"key {short(key)} is already revoked "
                         "(only a lower through cuts more)")
        r = Revocation(e.id, key, identity, e.author, by, target.power, e.seq, e.ts,
                       reason, through)
        target.revocations.append(r)
        self.ids.records.setdefault(key, target)
        self.applied.append(r)


def compute_identities(entries: Iterable[Entry]) -> Identities:
    """The key table of a set of applied entries (any kinds, any order; only the key
    kinds are read): two walks over the key timeline (module docstring)."""
    ordered = [e for _, _, e in timeline(entries, KEY_KINDS)]
    first = _Walk({})
    first.run(ordered)
    extra: dict[tuple[bytes, bytes], list[Revocation]] = {}
    for r in first.applied:
        if r.settled():
            extra.setdefault((r.key, r.identity), []).append(r)
    second = _Walk(extra)
    second.run(ordered)
    return second.ids


def attributed(ids: Identities, entries: Iterable[Entry]) -> dict[bytes, list[Entry]]:
    """The entries each identity's keys made while active (Rule 5): identity -> its
    entries in the order given. An entry by a key not active for it (revoked, or not
    yet added) counts for no one. Ordinary entries stay in their key's log (§5); this
    is for views that total a co-op across its keys."""
    out: dict[bytes, list[Entry]] = {}
    for e in entries:
        try:
            identity, _power = ids.acting(e)
        except Reject:
            continue
        out.setdefault(identity, []).append(e)
    return out
