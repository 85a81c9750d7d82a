"""What proposals derive (SPEC §13.7): proposals with their amendments, positions and
decision, the count, and minutes. The records; the rules are the proposals area's
(``_proposals``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .._codec import Value

# ---------------------------------------------------------------------------- the records

@dataclass(slots=True)
class Amendment:
    id: bytes
    by: bytes            # the actor (a co-op)
    author: bytes        # the key that signed it
    ts: int
    text: str
    group: int | None    # a draft's amendment: the lowest other group of the amender


@dataclass(slots=True)
class Position:
    id: bytes
    voter: tuple[bytes, str | None]  # (the co-op, the member case-folded or None)
    by: bytes                        # the actor
    author: bytes                    # the key that signed it (a delegate's, perhaps)
    member: str | None               # as written
    stance: str
    ranking: tuple[int, ...]
    reason: str | None
    ts: int
    order: int                       # place on the timeline among proposal entries
    late: bool = False               # after the decision: recorded, never counted


@dataclass(frozen=True, slots=True)
class Count:
    """The tally of one proposal's counted positions under one method."""

    method: str
    agree: int
    disagree: int
    block: int
    abstain: int
    scores: tuple[Fraction, ...]     # Dowdall per option (empty without options)
    outcome: str                     # adopted | rejected
    option: int | None               # the Dowdall winner, when adopted with options
    positions: tuple[bytes, ...]     # ids of the counted positions, sorted

    def to_value(self) -> list[Value]:
        return [self.method, self.agree, self.disagree, self.block, self.abstain,
                self.outcome, self.option]


@dataclass(slots=True)
class Decision:
    id: bytes
    by: bytes
    author: bytes
    outcome: str
    summary: str
    option: int | None
    ts: int
    count: Count | None              # None when withdrawn
    differs: bool


@dataclass(slots=True)
class Proposal:
    id: bytes
    body: bytes                      # the federation id, or the co-op (its assembly)
    federation: bytes | None         # the federation id, or None for a co-op's assembly
    proposer: bytes                  # the actor
    author: bytes
    title: str
    text: str                        # as first written
    options: tuple[str, ...]
    ts: int
    cascade: bytes | None
    group: int | None
    amendments: list[Amendment] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def current_text(self) -> str:
        """The text as last amended."""
        return self.amendments[-1].text if self.amendments else self.text

    def statuses(self) -> dict[bytes, str]:
        """Each position's status: ``late`` (after the decision), ``counted`` (in the
        decision's count, or in the count now while undecided) or ``superseded`` (the
        same voter's later position counts instead)."""
        at = None if self.decision is None else self.decision.ts
        counted = {pos.id for pos in counted_positions(self, at)}
        return {pos.id: "late" if pos.late else "counted" if pos.id in counted
                else "superseded" for pos in self.positions}


@dataclass(slots=True)
class Minutes:
    id: bytes
    body: bytes
    federation: bytes | None
    by: bytes
    author: bytes
    date: str
    title: str
    text: str
    ts: int


# ------------------------------------------------------------------------------ the count

def dowdall(options: int, rankings: Sequence[Sequence[int]]) -> tuple[Fraction, ...]:
    """Σ 1/rank per option (rank 1 = first listed), exact fractions; numbers outside
    ``range(options)`` are ignored (the handlers never let them in)."""
    scores = [Fraction(0)] * options
    for ranking in rankings:
        for rank, option in enumerate(ranking, start=1):
            if 0 <= option < options:
                scores[option] += Fraction(1, rank)
    return tuple(scores)


def counted_positions(p: Proposal, at: int | None = None) -> list[Position]:
    """Per voter the latest position (greatest ts, then later on the timeline) that is
    not late and has ts ≤ ``at`` (None: any ts)."""
    best: dict[tuple[bytes, str | None], Position] = {}
    for pos in p.positions:
        if pos.late or (at is not None and pos.ts > at):
            continue
        old = best.get(pos.voter)
        if old is None or (pos.ts, pos.order) > (old.ts, old.order):
            best[pos.voter] = pos
    return sorted(best.values(), key=lambda pos: pos.id)


def tally(p: Proposal, method: str, at: int | None = None) -> Count:
    """The count of ``p`` under ``method`` (SPEC §13.7, rule 4) from its counted
    positions (``counted_positions(p, at)``)."""
    counted = counted_positions(p, at)
    n = {s: sum(1 for pos in counted if pos.stance == s)
         for s in ("agree", "disagree", "block", "abstain")}
    rankings = [pos.ranking for pos in counted if pos.ranking]
    scores = dowdall(len(p.options), rankings) if p.options else ()
    winner = None
    if p.options and rankings:
        winner = min(range(len(scores)), key=lambda i: (-scores[i], i))
    if method == "consensus":
        adopted = n["agree"] >= 1 and n["disagree"] == 0 and n["block"] == 0
    elif method == "consent":
        adopted = n["block"] == 0
    elif method == "dowdall" and p.options:
        adopted = winner is not None
    else:  # majority, and dowdall without options
        adopted = n["agree"] > n["disagree"] + n["block"]
    return Count(method, n["agree"], n["disagree"], n["block"], n["abstain"], scores,
                 "adopted" if adopted else "rejected", winner if adopted else None,
                 tuple(pos.id for pos in counted))


# ----------------------------------------------------------------------------- the state

@dataclass(slots=True)
class Proposals:
    proposals: dict[bytes, Proposal] = field(default_factory=dict)
    minutes: dict[bytes, Minutes] = field(default_factory=dict)
    order: int = 0  # proposal entries seen so far (a position's place on the timeline)

    def body_of(self, proposal_id: bytes) -> bytes | None:
        """The body (federation id, or co-op) of a valid proposal; None otherwise."""
        p = self.proposals.get(proposal_id)
        return None if p is None else p.body

    def get(self, proposal_id: bytes) -> Proposal | None:
        return self.proposals.get(proposal_id)

    def of_body(self, body: bytes) -> list[Proposal]:
        """The valid proposals of ``body``, oldest first (ts, then id)."""
        return sorted((p for p in self.proposals.values() if p.body == body),
                      key=lambda p: (p.ts, p.id))

    def drafts(self, cascade: bytes) -> list[Proposal]:
        """The valid drafts of a cascade, by group then ts."""
        return sorted((p for p in self.proposals.values() if p.cascade == cascade),
                      key=lambda p: (p.group or 0, p.ts, p.id))

    def to_value(self) -> dict[str, Value]:
        """The ``proposals`` part of the governance value (SPEC §13.7)."""
        rows: list[Value] = []
        for pid, p in sorted(self.proposals.items()):
            d = p.decision
            positions: list[Value] = [[i.hex(), status]
                                      for i, status in sorted(p.statuses().items())]
            rows.append([
                pid.hex(), p.body.hex(), p.proposer.hex(),
                None if p.cascade is None else p.cascade.hex(), p.group,
                [a.id.hex() for a in sorted(p.amendments, key=lambda a: a.id)], positions,
                None if d is None else d.id.hex(),
                None if d is None or d.count is None else d.count.to_value()])
        minutes: list[Value] = [[i.hex(), mi.body.hex()]
                                for i, mi in sorted(self.minutes.items())]
        return {"proposals": rows, "minutes": minutes}
