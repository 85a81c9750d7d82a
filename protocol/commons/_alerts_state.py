"""What the alert kinds derive (SPEC §14.6): alerts, and the acknowledgements, pledges
and deliveries that answer them. The records; the rules are the alerts area's
(``_alerts``).

Pure: no clock, no I/O. Time comes in as ``now_ms`` where a view needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._codec import Value

# 48 hours: long enough for a node that is only switched on in the evening, or a
# bundle carried across town, to answer; short enough that "not reached" still means
# someone should pick up a phone.
ALERT_WINDOW_MS = 48 * 3_600_000


@dataclass(frozen=True, slots=True)
class Ack:
    """The first valid ``alert.ack`` of one target."""

    coop: bytes     # the target's identity
    entry: bytes    # the ack's id
    ts: int
    late: bool      # ts > the alert's deadline

    def to_value(self) -> list[Value]:
        return [self.coop.hex(), self.entry.hex(), self.ts, self.late]


@dataclass(frozen=True, slots=True)
class Pledge:
    coop: bytes
    entry: bytes
    ts: int
    what: str
    need: str | None

    def to_value(self) -> list[Value]:
        return [self.entry.hex(), self.coop.hex(), self.need]


@dataclass(frozen=True, slots=True)
class Delivery:
    coop: bytes
    entry: bytes
    ts: int
    what: str
    pledge: bytes | None   # the pledge it fulfils (same co-op, same alert)

    def to_value(self) -> list[Value]:
        return [self.entry.hex(), self.coop.hex(),
                None if self.pledge is None else self.pledge.hex()]


@dataclass(slots=True)
class Alert:
    """A valid ``alert.raise`` and what answered it, in timeline order."""

    id: bytes
    raiser: bytes                       # the identity it acts for
    author: bytes                       # the key that signed it
    ts: int
    deadline: int                       # ts + ALERT_WINDOW_MS
    federations: tuple[bytes, ...]      # sorted
    targets: tuple[bytes, ...]          # identities, sorted; never the raiser
    what: str
    needs: tuple[str, ...]              # in ALERT_NEEDS order
    drill: bool
    where: str | None
    acks: dict[bytes, Ack] = field(default_factory=dict)
    pledges: list[Pledge] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def unreached(self) -> list[bytes]:
        """Targets with no valid ack (sorted). A late ack counts as reached."""
        return [t for t in self.targets if t not in self.acks]

    def acked_all(self) -> bool:
        """Every target acknowledged (true for an alert with no targets)."""
        return all(t in self.acks for t in self.targets)

    def time_left(self, now_ms: int) -> int:
        """Milliseconds until the deadline at ``now_ms``; 0 at and after it. An ack
        stamped exactly at the deadline is still on time (see ``Ack.late``)."""
        return max(0, self.deadline - now_ms)

    def late(self) -> list[bytes]:
        """Targets whose ack came after the deadline (sorted)."""
        return [t for t in self.targets if t in self.acks and self.acks[t].late]

    def to_value(self) -> dict[str, Value]:
        return {
            "raiser": self.raiser.hex(), "author": self.author.hex(), "ts": self.ts,
            "deadline": self.deadline, "drill": self.drill,
            "federations": [f.hex() for f in self.federations],
            "needs": list(self.needs),
            "targets": [t.hex() for t in self.targets],
            "acks": [self.acks[t].to_value() for t in sorted(self.acks)],
            "pledges": [p.to_value() for p in sorted(self.pledges, key=lambda p: p.entry)],
            "deliveries": [d.to_value()
                           for d in sorted(self.deliveries, key=lambda d: d.entry)],
            "unreached": [t.hex() for t in self.unreached()],
        }


@dataclass(slots=True)
class Alerts:
    """Every valid raise (``Economy.gov.alerts``), in timeline order."""

    by_id: dict[bytes, Alert] = field(default_factory=dict)
    seen: bool = False  # an entry of an alert kind applied (the value is shown only then)

    def get(self, alert_id: bytes) -> Alert | None:
        return self.by_id.get(alert_id)

    def to_value(self) -> dict[str, Value]:
        """The ``alerts`` part of the economy value (SPEC §14.6): one map per valid
        raise, keyed by its hex id. Free text (what, where) stays in the entries."""
        return {i.hex(): self.by_id[i].to_value() for i in sorted(self.by_id)}
