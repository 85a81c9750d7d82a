"""The package layout of issue 12 stays true: node/ and cli/ import the protocol only
from ``coopledger.protocol``; protocol/ has no import cycle (``TYPE_CHECKING`` imports
count); the commons' areas never import the walk; and every kind the commons reads
belongs to exactly one area."""

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


def test_node_and_cli_import_the_protocol_only_from_the_package() -> None:
    modules = set(_protocol_modules()) - {PACKAGE}
    private = sorted(f"{path.relative_to(ROOT)}: {name}"
                     for d in ("node", "cli") for path in sorted((ROOT / d).rglob("*.py"))
                     for name in _imports(path, f"coopledger.{d}.{path.stem}")
                     if name in modules)
    assert private == []


def _cycles() -> list[set[str]]:
    modules = _protocol_modules()
    edges = {m: {t for t in _imports(p, m) if t in modules and t != m}
             for m, p in modules.items()}
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in modules:
        if v not in index:
            visit(v)
    return out


def test_protocol_has_no_import_cycle() -> None:
    # _entry <-> _kinds is being untied separately (issue 12); no other cycle may appear.
    known = {f"{PACKAGE}._entry", f"{PACKAGE}._kinds"}
    assert [c for c in _cycles() if c != known] == []


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
