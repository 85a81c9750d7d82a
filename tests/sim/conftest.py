"""tests/sim shares the sync test doubles of tests/protocol (synckit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_PROTOCOL_TESTS = str(Path(__file__).resolve().parents[1] / "protocol")
if _PROTOCOL_TESTS not in sys.path:
    sys.path.insert(0, _PROTOCOL_TESTS)
