"""Self-government (SPEC §13): the part of the commons that keys, mandates, roles,
lotteries, proposals and decisions derive.

The economy's machine (``_economy._Machine``) walks one timeline holding both the
economic kinds and the kinds of §13. This module gathers what the governance areas
derive into one ``Governance`` object (``Economy.gov``) and hands the machine their
handlers. Each area lives in its own module and offers:

* a state class with a no-argument constructor and ``to_value()`` (its part of the
  ``governance`` value, §13);
* ``HANDLERS``: kind -> ``fn(m, e, b)``, called in timeline order with the machine
  ``m`` (``m.actor`` is the identity the entry acts for, ``m.eff`` its eff, ``m.gov``
  this object, ``m.econ`` the economy so far), the entry and its ``Body``; a handler
  raises ``Reject(code, detail)`` to make the entry invalid.

Before the timeline is walked, ``prepare`` runs the pre-passes that must see the whole
set of entries at once: the key table (``_identity``: who acts for which co-op, and
until when) and the mandates' recalls and renewals (``_mandates``), so that "an action
timestamped after the recall is invalid" holds whatever the timeline order.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ._alerts import FLAG_CODES as ALERT_FLAG_CODES
from ._alerts import HANDLERS as ALERT_HANDLERS
from ._alerts import REASON_CODES as ALERT_REASON_CODES
from ._alerts import Alerts
from ._audit import FLAG_CODES as AUDIT_FLAG_CODES
from ._audit import HANDLERS as AUDIT_HANDLERS
from ._audit import REASON_CODES as AUDIT_REASON_CODES
from ._audit import Audits
from ._codec import Value
from ._entry import Entry
from ._identity import REASON_CODES as IDENTITY_REASON_CODES
from ._identity import Identities, compute_identities
from ._judge import Body, Reject, body_of, short
from ._kinds import ALERT_KINDS, AUDIT_KINDS, GOVERNANCE_KINDS, KEY_KINDS, METHODS
from ._lottery import HANDLERS as LOTTERY_HANDLERS
from ._lottery import REASON_CODES as LOTTERY_REASON_CODES
from ._lottery import Lotteries
from ._mandates import FLAG_CODES as MANDATE_FLAG_CODES
from ._mandates import HANDLERS as MANDATE_HANDLERS
from ._mandates import REASON_CODES as MANDATE_REASON_CODES
from ._mandates import Mandates, Roles, authorize_delegate
from ._proposals import FLAG_CODES as PROPOSAL_FLAG_CODES
from ._proposals import HANDLERS as PROPOSAL_HANDLERS
from ._proposals import REASON_CODES as PROPOSAL_REASON_CODES
from ._proposals import Proposals

if TYPE_CHECKING:
    from ._economy import _Machine

Handler = Callable[["_Machine", Entry, Body], None]

# Reason codes of SPEC §13 (the economy's own are in _economy.REASON_CODES): each area
# declares its own; these are the unions, for docs and tests.
GOVERNANCE_REASON_CODES = frozenset((
    "not-allowed-for-key", "not-the-body",
    *IDENTITY_REASON_CODES, *MANDATE_REASON_CODES, *LOTTERY_REASON_CODES,
    *PROPOSAL_REASON_CODES,
))
GOVERNANCE_FLAG_CODES = (*MANDATE_FLAG_CODES, *PROPOSAL_FLAG_CODES)
# SPEC §14 (audit, misconduct, alerts): judged by the same machine, shown apart.
COMMONS14_REASON_CODES = AUDIT_REASON_CODES | ALERT_REASON_CODES
COMMONS14_FLAG_CODES = (*AUDIT_FLAG_CODES, *ALERT_FLAG_CODES)
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Policy:
    """How a body (a co-op's assembly or a federation) governs itself (policy.set)."""

    max_mandate_days: int = 365
    max_consecutive_terms: int = 0  # 0: no limit
    method: str = "consent"

    @classmethod
    def from_value(cls, value: object) -> Policy:
        """Parse a policy map already checked by the schema (ValueError otherwise)."""
        if not isinstance(value, Mapping):
            raise ValueError("policy must be a map")
        v = cast(Mapping[str, Any], value)
        days, terms, method = (v.get("max_mandate_days"), v.get("max_consecutive_terms"),
                               v.get("method"))
        if type(days) is not int or type(terms) is not int or method not in METHODS:
            raise ValueError("policy is not as §13.1 says")
        return cls(days, terms, cast(str, method))

    def to_value(self) -> dict[str, Value]:
        return {"max_mandate_days": self.max_mandate_days,
                "max_consecutive_terms": self.max_consecutive_terms,
                "method": self.method}


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class GovFlag:
    """Something a rule flags but does not block (e.g. a term limit passed): recorded
    identically on every node, never dropped."""

    code: str
    entry: bytes
    detail: str

    def to_row(self) -> list[Value]:
        return [self.code, self.entry.hex(), self.detail]


@dataclass(slots=True)
class Governance:
    ids: Identities = field(default_factory=Identities)
    mandates: Mandates = field(default_factory=Mandates)
    roles: Roles = field(default_factory=Roles)
    lotteries: Lotteries = field(default_factory=Lotteries)
    proposals: Proposals = field(default_factory=Proposals)
    # body (a federation id, or a co-op's identity) -> [(eff, policy)] in timeline order
    policies: dict[bytes, list[tuple[int, Policy]]] = field(default_factory=dict)
    flags: list[GovFlag] = field(default_factory=list)
    seen: bool = False  # an entry of a §13 kind applied (the value is shown only then)
    # SPEC §14: each shown in the economy value under its own key, only when seen.
    audit: Audits = field(default_factory=Audits)
    alerts: Alerts = field(default_factory=Alerts)

    def policy_at(self, body: bytes, at: int | None = None) -> Policy:
        """The policy of ``body`` in force at eff ``at`` (None: the last one)."""
        out = DEFAULT_POLICY
        for eff, policy in self.policies.get(body, ()):
            if at is None or eff <= at:
                out = policy
        return out

    def flag(self, code: str, entry: Entry, detail: str) -> None:
        self.flags.append(GovFlag(code, entry.id, detail))

    def to_value(self) -> dict[str, Value]:
        """The ``governance`` part of the economy value (SPEC §13)."""
        policies: dict[str, Value] = {
            body.hex(): [[eff, p.to_value()] for eff, p in hist]
            for body, hist in sorted(self.policies.items())}
        rows = sorted(tuple(str(c) for c in f.to_row()) for f in self.flags)
        return {
            "keys": self.ids.to_value(),
            "mandates": self.mandates.to_value(),
            "roles": self.roles.to_value(),
            "lotteries": self.lotteries.to_value(),
            "proposals": self.proposals.to_value(),
            "policies": policies,
            "flags": [list[Value](r) for r in rows],
        }


def _policy_set(m: _Machine, e: Entry, b: Body) -> None:
    if "federation" in b.body:
        fed = m.federation(b)
        if m.actor != fed.founder:
            raise Reject("not-the-founder", f"only the founder {short(fed.founder)} sets "
                         "the federation's policy (for now)")
        body = fed.id
    else:
        body = body_of(m, b)
    try:
        policy = Policy.from_value(b.body.get("policy"))
    except ValueError as exc:
        raise Reject("malformed", "field 'policy' is not a policy map") from exc
    m.gov.policies.setdefault(body, []).append((m.eff, policy))


def handlers() -> dict[str, Handler]:
    out: dict[str, Handler] = {"policy.set": _policy_set}
    for part in (MANDATE_HANDLERS, LOTTERY_HANDLERS, PROPOSAL_HANDLERS, AUDIT_HANDLERS,
                 ALERT_HANDLERS):
        for kind, fn in part.items():
            assert kind not in out, kind
            out[kind] = fn
    return out


def prepare(m: _Machine, entries: Sequence[Entry]) -> None:
    """The pre-passes over the whole set (see the module docstring)."""
    m.gov.ids = compute_identities(entries)
    m.gov.mandates.prepare(entries, m.gov.ids)
    m.gov.seen = any(e.kind in GOVERNANCE_KINDS for e in entries)
    m.gov.audit.seen = any(e.kind in AUDIT_KINDS for e in entries)
    m.gov.audit.prepare(entries)
    m.gov.alerts.seen = any(e.kind in ALERT_KINDS for e in entries)


def acting(m: _Machine, e: Entry) -> bytes:
    """The identity ``e`` acts for, or Reject: a revoked or not yet active key, a
    recovery key doing anything but manage keys, a delegate key outside its mandates."""
    identity, power = m.gov.ids.acting(e)
    if power == "recovery" and e.kind not in KEY_KINDS:
        raise Reject("not-allowed-for-key", f"key {short(e.author)} is a recovery key: "
                     "it may only add and revoke keys")
    if power == "delegate":
        authorize_delegate(m, e, identity)
    return identity
