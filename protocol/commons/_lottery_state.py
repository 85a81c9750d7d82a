"""Verifiable lotteries (SPEC §13.6): sortition that anyone can recompute. The draw
and the records; the rules on the timeline are the lottery area's (``_lottery``).

A body (a co-op's assembly, or a federation through one of its members) announces a
draw: a purpose, a pool of candidates ``{name, coop}``, a number of seats, the number k
of beacons, and options. Other co-ops then publish ``lottery.beacon`` entries that ref
the announcement. The ids of the first k beacons by distinct identities (in timeline
order) and the announcement's id make the **seed**; the draw is a pure function of the
seed and the announcement. Nobody knows the seed before the k-th beacon exists, and
an entry id covers its author's signature, so the announcer cannot compute it alone.

Rules, in the order they are checked (each one is a sentence of SPEC §13.6):

1. ``lottery.announce`` speaks for its body (``body_of``): ``not-a-federation``,
   ``not-a-member``. ``distinct_coops`` with mode ``groups`` is ``malformed``.
2. ``lottery.beacon``: ``lottery`` names a valid announcement (``not-a-lottery``); the
   actor is not the announcer (``own-beacon``); for a federation's lottery the actor is
   a member at that point (``not-a-member``). A valid beacon **counts** unless its
   actor already has a counted beacon for this lottery (``repeat``) or k beacons
   already count (``late``). Beacons not counted are valid and recorded with why.
3. When the k-th beacon counts, the draw is made (``Draw``) and never changes.

The draw, step by step (``verify``):

* candidates: the pool without those whose ``coop`` is in ``exclude``, sorted by
  (coop bytes, name code points);
* preimage = ``b"coopledger/lottery/v1\\0"`` || announce id || the k beacon ids sorted
  bytewise; seed = SHA-256(preimage);
* stream: r_i = SHA-256(seed || i as 4 bytes big-endian), i = 0, 1, 2, …;
* a pick in [0, n): take the next r_i, x = its first 8 bytes as a big-endian u64;
  if x ≥ n × floor(2^64 / n) reject it and take the next r_i; else the pick is x mod n;
* mode ``draw``: for seat 1 … seats, for each role in order, pick among the candidates
  still eligible (not yet drawn; with ``distinct_coops`` also not of a co-op already
  drawn) and remove the pick; when none is eligible the draw is **short** and stops
  (the last seat may be incomplete);
* mode ``groups``: pick among the remaining candidates until none remain (a shuffle),
  then cut that order into groups: ``group_sizes(n)`` (4s first, then 3s).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from coopledger.crypto import sha256

from .._codec import Value
from .._entry import Entry
from .._kinds import LOTTERY_MODES

LOTTERY_CONTEXT = b"coopledger/lottery/v1\0"
# Why a valid beacon does not count (recorded, never invalid).
NOT_COUNTED = ("repeat", "late")
_U64 = 1 << 64
# The schema's bounds (protocol/_kinds.py), named for the CLI's messages.
MAX_SEATS = 100
MAX_BEACONS = 16


@dataclass(frozen=True, order=True, slots=True)
class Candidate:
    """One person of a pool. The order of the dataclass is the draw's order: co-op key
    bytewise (the same as its lowercase hex), then name by code point."""

    coop: bytes
    name: str

    def to_value(self) -> list[Value]:
        return [self.coop.hex(), self.name]

    def label(self) -> str:
        return f"{self.name}@{self.coop.hex()[:8]}"


@dataclass(frozen=True, slots=True)
class Pick:
    """One use of the random stream: r_i, its u64, and what it chose (or a rejection)."""

    stream: int                  # i
    r: bytes                     # r_i = SHA-256(seed || i)
    value: int                   # first 8 bytes of r_i, big-endian
    n: int                       # choosing among n
    limit: int                   # n × floor(2^64 / n): values at or above are rejected
    index: int | None            # value mod n, None when rejected
    candidate: Candidate | None  # the candidate at that index (None when rejected)
    seat: int | None             # draw mode: the seat (0-based); groups mode: None
    role: str | None             # draw mode: the role; groups mode: None


@dataclass(frozen=True, slots=True)
class Draw:
    mode: str
    preimage: bytes
    seed: bytes
    beacons: tuple[bytes, ...]            # sorted bytewise
    candidates: tuple[Candidate, ...]     # after exclude, sorted: what index 0… means
    excluded: tuple[Candidate, ...]       # removed by ``exclude`` (pool order)
    picks: tuple[Pick, ...]               # every step, rejections included
    seats: tuple[tuple[Candidate, ...], ...]   # draw mode: one per role (last may be short)
    groups: tuple[tuple[Candidate, ...], ...]  # groups mode
    short: bool                           # fewer people than asked (or a group below 3)

    def people(self) -> list[Candidate]:
        """Everyone drawn, in the order drawn."""
        return [p for s in (self.seats or self.groups) for p in s]

    def to_value(self) -> dict[str, Value]:
        out: dict[str, Value] = {"seed": self.seed.hex(), "short": self.short}
        rows = self.seats if self.mode == "draw" else self.groups
        out["seats" if self.mode == "draw" else "groups"] = [
            [c.to_value() for c in row] for row in rows]
        return out


def group_sizes(n: int) -> list[int]:
    """The sizes a groups-mode draw cuts ``n`` shuffled candidates into: groups of 4
    and 3, as many 4s as possible, 4s first. 0 → none; 1, 2 → one group of n; 5 → 3
    and 2 (two groups, so a cascade still has a group to amend another's draft)."""
    if n <= 0:
        return []
    if n < 3:
        return [n]
    if n == 5:
        return [3, 2]
    groups = -(-n // 4)        # ceil(n / 4); with n ≥ 6 (or 3, 4) n ≥ 3 × groups
    threes = 4 * groups - n
    return [4] * (groups - threes) + [3] * threes


def seed_of(announce_id: bytes, beacon_ids: Sequence[bytes]) -> tuple[bytes, bytes]:
    """(preimage, seed) of a draw: the beacon ids are sorted here, so their order (the
    timeline's) does not matter."""
    preimage = LOTTERY_CONTEXT + announce_id + b"".join(sorted(beacon_ids))
    return preimage, sha256(preimage)


class _Stream:
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.i = 0
        self.picks: list[Pick] = []

    def pick(self, pool: Sequence[Candidate], seat: int | None, role: str | None) -> int:
        n = len(pool)
        limit = n * (_U64 // n)
        while True:
            r = sha256(self.seed + self.i.to_bytes(4, "big"))
            x = int.from_bytes(r[:8], "big")
            index = x % n if x < limit else None
            self.picks.append(Pick(self.i, r, x, n, limit, index,
                                   None if index is None else pool[index], seat, role))
            self.i += 1
            if index is not None:
                return index


@dataclass(frozen=True, slots=True)
class Terms:
    """What an announcement asks for (its body, parsed)."""

    purpose: str
    pool: tuple[Candidate, ...]
    seats: int
    beacons: int
    mode: str
    roles: tuple[str, ...]
    exclude: frozenset[bytes]
    distinct_coops: bool

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> Terms:
        """Parse a lottery.announce body already checked by its schema (ValueError if
        it is not one after all)."""
        purpose, seats, k, mode = (body.get("purpose"), body.get("seats"),
                                   body.get("beacons"), body.get("mode"))
        if not (isinstance(purpose, str) and type(seats) is int and type(k) is int
                and seats >= 1 and k >= 1 and mode in LOTTERY_MODES):
            raise ValueError("purpose, seats, beacons or mode is not as §13.1 says")
        raw_pool, roles = body.get("pool"), body.get("roles", [purpose])
        exclude, distinct = body.get("exclude", []), body.get("distinct_coops", False)
        if not (isinstance(raw_pool, list) and raw_pool and isinstance(roles, list) and roles
                and all(isinstance(r, str) for r in roles) and isinstance(exclude, list)
                and isinstance(distinct, bool)):
            raise ValueError("pool, roles, exclude or distinct_coops is malformed")
        pool = []
        for c in raw_pool:
            name = c.get("name") if isinstance(c, Mapping) else None
            if not isinstance(name, str):
                raise ValueError("a candidate is not a {name, coop} map")
            pool.append(Candidate(_key(c.get("coop")), name))
        return cls(purpose, tuple(pool), seats, k, mode,
                   tuple(cast(list[str], roles)), frozenset(_key(x) for x in exclude),
                   distinct)


def _key(v: object) -> bytes:
    if not isinstance(v, str) or len(v) != 64 or v != v.lower():
        raise ValueError("not a co-op key")
    return bytes.fromhex(v)


def verify(announce_id: bytes, body: Mapping[str, object],
           beacon_ids: Sequence[bytes]) -> Draw:
    """Recompute a draw from the announcement (its id and body) and the ids of the
    beacons that count. Pure; every step is in the result (``Draw.picks``).

    Raises ValueError (the caller's mistake) when the body is not a lottery.announce
    body or ``beacon_ids`` are not exactly ``beacons`` distinct 32-byte ids."""
    terms = Terms.from_body(body)
    if len(set(beacon_ids)) != terms.beacons or any(len(b) != 32 for b in beacon_ids):
        raise ValueError(f"a draw takes exactly {terms.beacons} distinct beacon ids")
    preimage, seed = seed_of(announce_id, beacon_ids)
    excluded = tuple(c for c in terms.pool if c.coop in terms.exclude)
    candidates = tuple(sorted(c for c in terms.pool if c.coop not in terms.exclude))
    stream = _Stream(seed)
    remaining = list(candidates)
    seats: list[tuple[Candidate, ...]] = []
    groups: list[tuple[Candidate, ...]] = []
    is_short = False
    if terms.mode == "draw":
        used: set[bytes] = set()
        for s in range(terms.seats):
            seat: list[Candidate] = []
            for role in terms.roles:
                eligible = [c for c in remaining
                            if not (terms.distinct_coops and c.coop in used)]
                if not eligible:
                    is_short = True
                    break
                chosen = eligible[stream.pick(eligible, s, role)]
                remaining.remove(chosen)
                used.add(chosen.coop)
                seat.append(chosen)
            if seat:
                seats.append(tuple(seat))
            if is_short:
                break
    else:
        order: list[Candidate] = []
        while remaining:
            order.append(remaining.pop(stream.pick(remaining, None, None)))
        at = 0
        for size in group_sizes(len(order)):
            groups.append(tuple(order[at:at + size]))
            at += size
        is_short = not groups or any(len(g) < 3 for g in groups)
    return Draw(terms.mode, preimage, seed, tuple(sorted(beacon_ids)), candidates,
                excluded, tuple(stream.picks), tuple(seats), tuple(groups), is_short)


# ------------------------------------------------------------------ on the timeline

@dataclass(frozen=True, slots=True)
class Beacon:
    id: bytes
    identity: bytes     # the actor (the co-op it counts for)
    author: bytes       # the key that signed it
    eff: int
    ts: int


@dataclass(slots=True)
class Lottery:
    """A valid lottery.announce and what the timeline did with it."""

    id: bytes
    body: bytes                 # the federation's id, or the announcing co-op
    federation: bool            # body is a federation
    announcer: bytes            # the identity that announced it
    terms: Terms
    entry: Entry
    eff: int
    counted: list[Beacon] = field(default_factory=list)          # timeline order
    not_counted: list[tuple[Beacon, str]] = field(default_factory=list)
    draw: Draw | None = None
    drawn_eff: int | None = None    # eff of the beacon that completed the draw

    @property
    def purpose(self) -> str:
        return self.terms.purpose

    @property
    def note(self) -> str | None:
        v = self.entry.body.get("note")
        return v if isinstance(v, str) else None

    def to_value(self) -> dict[str, Value]:
        out: dict[str, Value] = {
            "id": self.id.hex(), "body": self.body.hex(), "announcer": self.announcer.hex(),
            "beacons": [b.id.hex() for b in sorted(self.counted, key=lambda b: b.id)],
            "not_counted": [[b.id.hex(), why] for b, why in
                            sorted(self.not_counted, key=lambda x: x[0].id)],
            "drawn": self.drawn_eff,
        }
        out.update(self.draw.to_value() if self.draw is not None
                   else {"seed": None, "short": False})
        return out


@dataclass(slots=True)
class Lotteries:
    """Every valid announcement (``Economy.gov.lotteries``)."""

    by_id: dict[bytes, Lottery] = field(default_factory=dict)

    def get(self, lottery_id: bytes) -> Lottery | None:
        """The announcement ``lottery_id`` (None: not a valid lottery.announce)."""
        return self.by_id.get(lottery_id)

    def drawn(self, lottery_id: bytes) -> Draw | None:
        """The draw of ``lottery_id``, or None while fewer than k beacons count at this
        point of the timeline (during the walk) or at all (after it)."""
        lot = self.by_id.get(lottery_id)
        return None if lot is None else lot.draw

    def of_body(self, body: bytes) -> list[Lottery]:
        """The lotteries of a body (a federation id or a co-op), in timeline order."""
        return [lot for lot in self.by_id.values() if lot.body == body]

    def to_value(self) -> list[Value]:
        return [self.by_id[i].to_value() for i in sorted(self.by_id)]
