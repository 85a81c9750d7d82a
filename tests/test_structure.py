"""The shape of the code (docs/architecture.md, "Layers"): measured from the sources'
syntax trees, so a change that breaks it fails here rather than in a review.

* no module is over MAX_LINES lines;
* crypto/, protocol/, node/ and cli/ use another package only through its public
  surface (``from coopledger.protocol import Entry``), never a private module
  (``coopledger.protocol._economy``): every import, under ``TYPE_CHECKING`` and inside
  functions too;
* imports flow one way, ``cli → node → protocol → crypto``;
* there is no import cycle between modules (again counting every import).

``python -m tests.test_structure`` prints the same figures (the numbers in the issue 12
note were measured with it).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"crypto": "coopledger.crypto", "protocol": "coopledger.protocol",
            "node": "coopledger.node", "cli": "coopledger.cli", "coopledger": "coopledger"}
LAYER = {"coopledger.crypto": 0, "coopledger.protocol": 1, "coopledger.node": 2,
         "coopledger.cli": 3}
MAX_LINES = 700


@dataclass
class Tree:
    files: dict[str, Path] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # module -> [(imported module, line)]
    imports: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _module_name(folder: str, path: Path) -> str:
    parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts
             if p != "__init__"]
    return ".".join([PACKAGES[folder], *parts])


def read_tree() -> Tree:
    t = Tree()
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = _module_name(folder, path)
            t.files[name] = path
            t.lines[name] = len(path.read_text(encoding="utf-8").splitlines())
    for name, path in t.files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: list[tuple[str, int]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    if node.level > 1:
                        base = base[: -(node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                # ``from pkg import _mod`` imports the module _mod (its package is
                # initialised first in any case); ``from pkg import name`` needs pkg
                submodules = [f"{mod}.{a.name}" for a in node.names
                              if f"{mod}.{a.name}" in t.files]
                found += [(m, node.lineno) for m in submodules]
                if len(submodules) < len(node.names):
                    found.append((mod, node.lineno))
        t.imports[name] = [(m, line) for m, line in found if m in t.files and m != name]
    return t


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def too_long(t: Tree) -> list[str]:
    return sorted(f"{m} ({n} lines)" for m, n in t.lines.items() if n > MAX_LINES)


def private_imports(t: Tree) -> list[str]:
    out = []
    for src, targets in t.imports.items():
        for dst, line in targets:
            private = any(p.startswith("_") for p in dst.split(".")[2:])
            if _package(src) != _package(dst) and private:
                out.append(f"{src}:{line} imports {dst}")
    return sorted(out)


def upward_imports(t: Tree) -> list[str]:
    out = []
    for src, targets in t.imports.items():
        for dst, line in targets:
            a, b = LAYER.get(_package(src)), LAYER.get(_package(dst))
            if a is not None and b is not None and b > a:
                out.append(f"{src}:{line} imports {dst}")
    return sorted(out)


def cycles(t: Tree) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph = {m: sorted({d for d, _ in ts}) for m, ts in t.imports.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on.add(v)
            for j in range(i, len(graph[v])):
                w = graph[v][j]
                if w not in index:
                    work += [(v, j + 1), (w, 0)]
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
    return sorted(out)


TREE = read_tree()


def test_the_tree_is_read() -> None:
    # the checks below would pass vacuously on an empty tree
    assert len(TREE.files) > 50
    assert any(d == "coopledger.protocol" for d, _ in TREE.imports["coopledger.node._store"])


def test_no_module_is_over_700_lines() -> None:
    assert too_long(TREE) == []


def test_packages_use_each_other_only_through_their_public_surface() -> None:
    assert private_imports(TREE) == []


def test_imports_flow_from_cli_to_node_to_protocol_to_crypto() -> None:
    assert upward_imports(TREE) == []


def test_there_is_no_import_cycle() -> None:
    assert cycles(TREE) == []


def test_the_checks_see_what_they_are_meant_to_see() -> None:
    bad = Tree(files={m: Path(m) for m in ("coopledger.node._a", "coopledger.node._b",
                                           "coopledger.protocol._x", "coopledger.cli._c")},
               lines={"coopledger.node._a": MAX_LINES + 1, "coopledger.node._b": MAX_LINES})
    bad.imports = {"coopledger.node._a": [("coopledger.node._b", 1),
                                          ("coopledger.protocol._x", 2)],
                   "coopledger.node._b": [("coopledger.node._a", 3)],
                   "coopledger.protocol._x": [("coopledger.cli._c", 4)],
                   "coopledger.cli._c": []}
    assert too_long(bad) == ["coopledger.node._a (701 lines)"]
    assert private_imports(bad) == [
        "coopledger.node._a:2 imports coopledger.protocol._x",
        "coopledger.protocol._x:4 imports coopledger.cli._c"]
    assert upward_imports(bad) == ["coopledger.protocol._x:4 imports coopledger.cli._c"]
    assert cycles(bad) == [["coopledger.node._a", "coopledger.node._b"]]


if __name__ == "__main__":
    figures = {"modules over 700 lines": too_long(TREE),
               "private cross-package imports": private_imports(TREE),
               "upward imports": upward_imports(TREE),
               "import cycles": [" ".join(c) for c in cycles(TREE)]}
    for title, rows in figures.items():
        print(f"{title}: {len(rows)}")
        if "-v" in sys.argv:
            for r in rows:
                print("   ", r)
