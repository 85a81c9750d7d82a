"""What policies derive (SPEC §13.3): how a body governs itself. The record; the rule
is the policy area's (``_policy``), and ``Governance.policy_at`` answers which policy
was in force when.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from .._codec import Value
from .._kinds import METHODS


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
