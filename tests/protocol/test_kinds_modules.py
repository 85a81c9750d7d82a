"""How the schemas are laid out in modules: protocol/_fields.py (the field types),
protocol/_kinds.py (the per-kind table, importable with every public name it had), and
checkpoint.cosign's rule, which protocol/_entry.py registers so that _kinds never
imports _entry (the dependency runs one way)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from coopledger.crypto import SecretKey
from coopledger.protocol import BadBody, _fields, _kinds, create_entry, validate_body

ROOT = Path(__file__).resolve().parents[2]
LOG = SecretKey(bytes([0x62]) * 32)


def _defined(module: str) -> set[str]:
    """The public names a module of protocol/ defines (not those it imports)."""
    tree = ast.parse((ROOT / "protocol" / f"{module}.py").read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign)
              for t in n.targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def test_kinds_re_exports_the_names_of_the_field_types() -> None:
    names = _defined("_fields")
    assert {"Field", "UNIT_KINDS", "MAX_CHECKS", "UNIT_NAME_PATTERN"} <= names
    for name in names:
        assert getattr(_kinds, name) is getattr(_fields, name), name


def test_kinds_and_fields_do_not_import_the_entry_module() -> None:
    for module in ("_kinds", "_fields"):
        tree = ast.parse((ROOT / "protocol" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & {"_entry", "_economy", "_fold"}, module


def test_the_registered_cosign_rule_holds_for_validate_body_alone() -> None:
    # validate_body called directly (as the spreadsheet import does) checks the
    # embedded entry too, not only decode_entry.
    labor = create_entry(LOG, seq=2, prev=bytes([7]) * 32, ts=900, kind="labor.note",
                         body={"text": "not a checkpoint"})
    with pytest.raises(BadBody) as info:
        validate_body("checkpoint.cosign", {"checkpoint": labor.id.hex(), "entry": labor.raw},
                      refs=[labor.id])
    assert info.value.field == "entry" and "checkpoint entry" in info.value.message


def test_a_rule_is_registered_once_and_only_for_its_kinds() -> None:
    with pytest.raises(AssertionError):
        _kinds.register_body_check("checkpoint.cosign", lambda body: None)
    with pytest.raises(AssertionError):
        _kinds.register_body_check("labor", lambda body: None)
