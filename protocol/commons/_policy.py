"""The policy area (SPEC §13.3): how a body (a co-op's assembly, or a federation)
governs itself: the longest term of a mandate or role, the limit on consecutive terms,
and the method its decisions are counted by. ``Governance.policy_at`` answers "which
policy was in force then" for the other areas.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from .._entry import Entry
from ._area import Area, Machine, body_of
from ._judge import Body, Reject, short
from ._policy_state import Policy


def _policy_set(m: Machine, e: Entry, b: Body) -> None:
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


AREA = Area(
    name="policy",
    kinds=frozenset(("policy.set",)),
    handlers={"policy.set": _policy_set},
    # not-the-founder and malformed are the economy's (SPEC §12.4)
    reason_codes=frozenset(),
)
