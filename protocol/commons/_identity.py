"""The identity area (SPEC §13.2): keys that write for a co-op.

The key kinds are never on the walk's timeline: the pre-pass (``compute_identities``,
``_identity_state``) judges them all on their own timeline first, and the walk then
judges every entry's author key against that final table (``Walk.acting``). So "an
entry after the revocation is invalid" holds whatever the order entries sort in.

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._entry import Entry
from .._kinds import KEY_KINDS
from ._area import Area, Machine
from ._economy_state import Invalid
from ._identity_state import compute_identities

# Reason codes of SPEC §13.2 (invalid key entries; any entry by an inactive key).
REASON_CODES = frozenset((
    "not-a-key", "key-revoked", "key-not-active", "not-allowed-for-key", "key-in-use",
    "already-revoked", "bad-through",
))


def _prepare(m: Machine, entries: Sequence[Entry]) -> None:
    """The key table, and the key entries it found invalid (recorded first)."""
    ids = m.gov.ids = compute_identities(entries)
    for entry_id, (code, detail) in ids.invalid.items():
        e = ids.entries[entry_id]
        m.econ.invalid[entry_id] = Invalid(entry_id, e.kind, e.author, code, detail)


AREA = Area(
    name="identity",
    kinds=KEY_KINDS,
    handlers={},
    reason_codes=REASON_CODES,
    prepare=_prepare,
)
