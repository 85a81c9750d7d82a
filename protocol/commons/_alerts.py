"""The alerts area: solidarity alerts on the commons' timeline (SPEC §14.6): an alert,
the 48-hour clock it starts, and the acknowledgements, pledges and deliveries that
answer it.

A co-op in trouble (a flood, an eviction, a broken press the week before the harvest)
raises an alert to the co-ops of its federations. Every node that holds the raise and
is one of its **targets** writes an ``alert.ack`` at once (the node does it, through
``acks_due``): a signed receipt, so the raiser and everyone else can see who the alert
reached and who it did not, within the window and after. Pledges say what a co-op will
bring; deliveries say what it brought. A **drill** is an alert with ``drill`` true: it
takes exactly the same path (that is what it tests) and every view marks it.

Rules, in the order they are checked (each one is a sentence of SPEC §14.6):

1. ``alert.raise``: with ``federation``, it MUST name a valid federation
   (``not-a-federation``) of which the actor is a member at that point
   (``not-a-member``); without it, the actor MUST be a member of at least one
   federation (``not-a-member``). The alert's federations are the one named, or every
   federation the actor is a member of, sorted by id. Its **targets** are the co-ops
   (identities) that are members of any of them at that point, the actor excepted (the
   raiser counts as acknowledged at the raise), sorted. Its **deadline** is its ``ts``
   + ``ALERT_WINDOW_MS``. Targets never change afterwards: a co-op that joins later is
   not one, a co-op that leaves later still is.
2. ``alert.ack``: ``alert`` MUST name a valid raise (``not-an-alert``); the actor MUST
   be a target (``not-a-target``; the raiser is not one); the actor MUST NOT already
   have a valid ack of this alert (``already-acked``: only the first one on the
   timeline counts). An ack is **late** iff its ``ts`` > the deadline; a late ack is
   valid and counts.
3. ``alert.pledge``: ``alert`` as in 2; the actor MUST be a target or the raiser
   (``not-a-target``). ``need``, when given, need not be one the alert asked for
   (help nobody asked for is still recorded).
4. ``alert.delivered``: ``alert`` and the actor as in 3; ``pledge``, when given, MUST
   name a valid pledge of the same actor for the same alert (``not-a-pledge``).

A worked example (keys ``a``, ``b``, ``c`` of co-ops in one federation; ``a`` raises,
``b`` acks in time, ``c`` never does)::

    raise  a  ts 0            -> targets (b, c), deadline 172_800_000
    ack    b  ts 3_600_000    -> acks {b: on time}; unreached() == [c]
    ack    b  ts 7_200_000    -> invalid: already-acked
    ack    a  ts 60_000       -> invalid: not-a-target (the raiser)

Pure: no clock, no I/O. Time comes in as ``now_ms`` where a view needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._entry import Entry
from .._kinds import ALERT_KINDS, ALERT_NEEDS
from ._alerts_state import ALERT_WINDOW_MS, Ack, Alert, Delivery, Pledge
from ._area import Area, Handler, Machine
from ._commons import Economy
from ._judge import Body, Reject, short

# Codes new in this module; ``not-a-federation``, ``not-a-member`` and ``malformed``
# are the economy's (SPEC §12.4).
REASON_CODES: frozenset[str] = frozenset(
    ("not-an-alert", "not-a-target", "already-acked", "not-a-pledge"))
FLAG_CODES: tuple[str, ...] = ()


def acks_due(econ: Economy, me: bytes) -> list[bytes]:
    """Ids of the alerts that target ``me`` (an identity, or any key bound to one) and
    have no valid ack of it yet, late ones included (a receipt is always worth
    writing), in timeline order. The node writes an ``alert.ack`` for each.

    An ack ``me`` wrote that turned out invalid (a key revoked in between, say) leaves
    its alert in this list: the caller should not write a second one for an alert its
    own log already acks, or it would write one at every ingest."""
    me = econ.gov.ids.identity_of(me)
    return [a.id for a in econ.gov.alerts.by_id.values()
            if me in a.targets and me not in a.acks]


# ----------------------------------------------------------------------- handlers

def _needs(b: Body) -> tuple[str, ...]:
    v = b.body.get("needs")
    if (not isinstance(v, list) or not v or len(set(map(str, v))) != len(v)
            or any(n not in ALERT_NEEDS for n in v)):
        raise b._bad("needs", "a list of distinct needs")
    return tuple(n for n in ALERT_NEEDS if n in v)


def _optional_text(b: Body, key: str) -> str | None:
    return b.text(key) if key in b.body else None


def _raise(m: Machine, e: Entry, b: Body) -> None:
    what, needs = b.text("what"), _needs(b)
    drill, where = b.body.get("drill"), _optional_text(b, "where")
    if not isinstance(drill, bool):
        raise b._bad("drill", "true or false")
    if "federation" in b.body:
        fed = m.federation(b)
        m.member(fed, m.actor, "the raising co-op")
        feds = [fed]
    else:
        feds = [f for _, f in sorted(m.econ.federations.items()) if f.is_member(m.actor)]
        if not feds:
            raise Reject("not-a-member", f"co-op {short(m.actor)} is a member of no "
                         "federation: there is nobody to alert")
    # is_member() without a time is "at this point of the timeline": who joins later
    # is not a target, who leaves later stays one.
    targets = sorted({c for f in feds for c in f.members if f.is_member(c)} - {m.actor})
    m.gov.alerts.by_id[e.id] = Alert(
        e.id, m.actor, e.author, e.ts, e.ts + ALERT_WINDOW_MS, tuple(f.id for f in feds),
        tuple(targets), what, needs, drill, where)


def _alert(m: Machine, b: Body) -> Alert:
    aid = b.ref("alert")
    alert = m.gov.alerts.by_id.get(aid)
    if alert is None:
        raise Reject("not-an-alert", f"entry {short(aid)} is not a valid alert.raise")
    return alert


def _ack(m: Machine, e: Entry, b: Body) -> None:
    alert = _alert(m, b)
    if m.actor == alert.raiser:
        raise Reject("not-a-target", "the raiser counts as acknowledged at the raise")
    if m.actor not in alert.targets:
        raise Reject("not-a-target", f"co-op {short(m.actor)} was not a member of the "
                     f"alert's federations when alert {short(alert.id)} was raised")
    done = alert.acks.get(m.actor)
    if done is not None:
        raise Reject("already-acked", f"co-op {short(m.actor)} acknowledged alert "
                     f"{short(alert.id)} already (entry {short(done.entry)})")
    alert.acks[m.actor] = Ack(m.actor, e.id, e.ts, e.ts > alert.deadline)


def _answering(m: Machine, b: Body) -> Alert:
    """The alert a pledge or delivery answers; its actor must be a target or the
    raiser."""
    alert = _alert(m, b)
    if m.actor != alert.raiser and m.actor not in alert.targets:
        raise Reject("not-a-target", f"co-op {short(m.actor)} is neither the raiser nor "
                     f"a target of alert {short(alert.id)}")
    return alert


def _pledge(m: Machine, e: Entry, b: Body) -> None:
    alert = _answering(m, b)
    what, raw = b.text("what"), b.body.get("need")
    need = raw if isinstance(raw, str) and raw in ALERT_NEEDS else None
    if raw is not None and need is None:
        raise b._bad("need", "one of " + ", ".join(ALERT_NEEDS))
    alert.pledges.append(Pledge(m.actor, e.id, e.ts, what, need))


def _delivered(m: Machine, e: Entry, b: Body) -> None:
    alert = _answering(m, b)
    what = b.text("what")
    pledge = None
    if "pledge" in b.body:
        pledge = b.ref("pledge")
        if not any(p.entry == pledge and p.coop == m.actor for p in alert.pledges):
            raise Reject("not-a-pledge", f"entry {short(pledge)} is not a valid pledge "
                         f"of co-op {short(m.actor)} for alert {short(alert.id)}")
    alert.deliveries.append(Delivery(m.actor, e.id, e.ts, what, pledge))


HANDLERS: dict[str, Handler] = {
    "alert.raise": _raise,
    "alert.ack": _ack,
    "alert.pledge": _pledge,
    "alert.delivered": _delivered,
}


def _prepare(m: Machine, entries: Sequence[Entry]) -> None:
    """Whether the alerts value is shown (SPEC §14.6)."""
    m.gov.alerts.seen = any(e.kind in ALERT_KINDS for e in entries)


AREA = Area(
    name="alerts",
    kinds=frozenset(HANDLERS),
    handlers=HANDLERS,
    reason_codes=REASON_CODES,
    flag_codes=FLAG_CODES,
    prepare=_prepare,
)
