"""The commons (SPEC §12–§14): what a set of applied entries says about federations,
their economy and their self-government, computed by one walk over one timeline.

Layout (each arrow is "imports"; nothing imports back up):

* ``_judge``: the timeline order (§12.3), ``Reject`` and typed reads of a body.
* ``_<area>_state`` (economy, identity, policy, mandates, lottery, proposals, audit,
  alerts): each area's records and their queries; no rules.
* ``_commons``: ``Economy``, the state of the commons, and ``Governance``
  (``Economy.gov``), which hold every area's records  -> the ``_*_state`` modules.
* ``_area``: ``Machine``, the walk as a handler sees it (a ``typing.Protocol``), and
  ``Area``, what an area declares  -> ``_commons``.
* ``_<area>`` (``_identity``, ``_economy``, ``_policy``, ``_mandates``, ``_lottery``,
  ``_proposals``, ``_audit``, ``_alerts``): each area's rules and, at the end, its
  ``AREA``: kinds, handlers, reason and flag codes, pre-pass and "where", side by
  side  -> ``_area`` and the ``_*_state`` modules, never another area's module (what
  they share, the federation checks of ``_economy``, they reach through ``Machine``).
* ``_walk``: ``Walk``, the one walk (pre-passes, timeline, the actor of each entry,
  "where"), ``AREAS`` and ``compute_economy``  -> every ``_<area>``.
* ``_metrics``: the sovereignty metrics (§12.7), a function of the state.

To add a kind: its schema goes in ``protocol/_kinds.py`` (§3); its rule is a handler
in the area module it belongs to, listed in that module's ``HANDLERS`` (so in its
``AREA``), with any new reason code in the area's ``REASON_CODES`` and, when a delegate
key may write it in a federation's name without a ``federation`` field, a "where" in
``AREA.where``, and, when a delegate key may write it at all, the mandate action that
allows it in ``AREA.actions``. Records it creates go in the area's
``_state`` module. Nothing else changes: the walk reads the areas.

Pure: no clock, no I/O.
"""

from ._alerts import acks_due
from ._alerts_state import ALERT_WINDOW_MS, Ack, Alert, Alerts, Delivery, Pledge
from ._area import Area, Machine, body_of
from ._audit import MAX_SANCTION_DAYS
from ._audit_state import (
    Audits,
    Checkpoint,
    Circle,
    Cosign,
    Report,
    Sanction,
    drawn_coops,
    previous_quarter,
    quarter_of_month,
    recent_quarters,
)
from ._commons import Economy, Governance, GovFlag
from ._economy import ECONOMY_KINDS, FEDERATION_KINDS
from ._economy import FLAG_CODES as ECONOMY_FLAG_CODES
from ._economy import REASON_CODES as ECONOMY_REASON_CODES
from ._economy_state import (
    DEFAULT_RULES,
    Federation,
    Flag,
    Invalid,
    Rules,
    Transfer,
    Unit,
    date_end_ms,
    utc_date,
)
from ._identity_state import ROOT, Identities, KeyRecord, attributed, compute_identities
from ._lottery_state import (
    LOTTERY_CONTEXT,
    MAX_BEACONS,
    MAX_SEATS,
    Beacon,
    Candidate,
    Draw,
    Lottery,
    group_sizes,
    seed_of,
    verify,
)
from ._mandates import REASON_CODES as MANDATE_REASON_CODES
from ._mandates_state import Assignment, Mandate
from ._metrics import Metrics, compute_metrics, period_bounds, share
from ._policy_state import DEFAULT_POLICY, Policy
from ._proposals_state import (
    Count,
    Decision,
    Proposal,
    counted_positions,
    dowdall,
    tally,
)
from ._walk import (
    AREAS,
    COMMONS14_FLAG_CODES,
    COMMONS14_REASON_CODES,
    COMMONS_KINDS,
    GOVERNANCE_FLAG_CODES,
    GOVERNANCE_REASON_CODES,
    Walk,
    compute_economy,
)

__all__ = [
    "ALERT_WINDOW_MS", "AREAS", "COMMONS14_FLAG_CODES", "COMMONS14_REASON_CODES",
    "COMMONS_KINDS", "DEFAULT_POLICY", "DEFAULT_RULES", "ECONOMY_FLAG_CODES",
    "ECONOMY_KINDS", "ECONOMY_REASON_CODES", "FEDERATION_KINDS", "GOVERNANCE_FLAG_CODES",
    "GOVERNANCE_REASON_CODES", "LOTTERY_CONTEXT", "MANDATE_REASON_CODES", "MAX_BEACONS",
    "MAX_SANCTION_DAYS", "MAX_SEATS", "ROOT", "Ack", "Alert", "Alerts", "Area",
    "Assignment", "Audits", "Beacon", "Candidate", "Checkpoint", "Circle", "Cosign",
    "Count", "Decision", "Delivery", "Draw", "Economy", "Federation", "Flag", "GovFlag",
    "Governance", "Identities", "Invalid", "KeyRecord", "Lottery", "Machine", "Mandate",
    "Metrics", "Pledge", "Policy", "Proposal", "Report", "Rules", "Sanction", "Transfer",
    "Unit", "Walk", "acks_due", "attributed", "body_of", "compute_economy",
    "compute_identities", "compute_metrics", "counted_positions", "date_end_ms",
    "dowdall", "drawn_coops", "group_sizes", "period_bounds", "previous_quarter",
    "quarter_of_month", "recent_quarters", "seed_of", "share", "tally", "utc_date",
    "verify",
]
