"""The commons' layout (protocol/commons/__init__.py) stays true: only the package
imports the walk (the areas see it through ``Machine``; ``TYPE_CHECKING`` imports
count), and every kind the commons reads belongs to exactly one area. The package-wide
rules (no cycle, no private import across packages) are tests/test_structure.py's."""

from __future__ import annotations

import ast
from pathlib import Path

from coopledger.protocol import commons
from coopledger.protocol._kinds import ALERT_KINDS, AUDIT_KINDS, GOVERNANCE_KINDS, KEY_KINDS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "coopledger.protocol"


def _imports(path: Path, module: str) -> set[str]:
    """The modules ``path`` (module ``module``) imports, as absolute names: for ``from
    X import Y`` both X and X.Y (Y may be a module)."""
    base = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                name = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out


def _protocol_modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "protocol").rglob("*.py")):
        parts = [p for p in path.relative_to(ROOT / "protocol").with_suffix("").parts
                 if p != "__init__"]
        out[".".join([PACKAGE, *parts])] = path
    return out


def test_the_areas_never_import_the_walk() -> None:
    walk = f"{PACKAGE}.commons._walk"
    importers = sorted(m for m, p in _protocol_modules().items()
                       if walk in _imports(p, m))
    assert importers == [f"{PACKAGE}.commons"]


def test_each_kind_of_the_commons_is_in_one_area() -> None:
    assert commons.COMMONS_KINDS == (commons.ECONOMY_KINDS | GOVERNANCE_KINDS | AUDIT_KINDS
                                     | ALERT_KINDS)
    kinds = [k for area in commons.AREAS for k in area.kinds]
    assert len(kinds) == len(set(kinds))
    handled = {k for area in commons.AREAS for k in area.handlers}
    assert handled == commons.COMMONS_KINDS - KEY_KINDS
