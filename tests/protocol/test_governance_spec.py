"""SPEC §13 and §14 stay true to the code: every reason code the governance, audit and
alert modules raise is declared (GOVERNANCE_REASON_CODES, COMMONS14_REASON_CODES) and
documented in SPEC.md, and so is every flag."""

from __future__ import annotations

import re
from pathlib import Path

from coopledger.protocol import commons
from coopledger.protocol.commons import _economy

ROOT = Path(__file__).resolve().parents[2]
# The commons' walk and the modules of the areas of §13 and §14 (protocol/commons/).
MODULES = ["_walk", "_judge", "_identity_state", "_policy", "_mandates", "_lottery", "_proposals",
           "_audit", "_alerts"]
SPEC = (ROOT / "protocol" / "SPEC.md").read_text()


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for name in MODULES:
        text = (ROOT / "protocol" / "commons" / f"{name}.py").read_text()
        codes |= set(re.findall(r'Reject\(\s*"([a-z-]+)"', text))
    return codes


def test_every_raised_code_is_declared() -> None:
    codes = raised_codes()
    assert len(codes) > 30  # the regular expression still finds them
    declared = (commons.GOVERNANCE_REASON_CODES | commons.COMMONS14_REASON_CODES
                | _economy.REASON_CODES)
    assert codes - declared == set()


def test_every_declared_code_and_flag_is_in_the_spec() -> None:
    section = SPEC[SPEC.index("## 13. Self-government"):]
    missing = sorted(c for c in (*commons.GOVERNANCE_REASON_CODES,
                                 *commons.GOVERNANCE_FLAG_CODES)
                     if f"`{c}`" not in section)
    assert missing == []


def test_every_code_and_flag_of_section_14_is_in_the_spec() -> None:
    section = SPEC[SPEC.index("## 14. Audit, misconduct and solidarity alerts"):]
    missing = sorted(c for c in (*commons.COMMONS14_REASON_CODES,
                                 *commons.COMMONS14_FLAG_CODES)
                     if f"`{c}`" not in section)
    assert missing == []
