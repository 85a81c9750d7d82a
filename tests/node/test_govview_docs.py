"""docs/api.md lists every view of the one view table (the economy's and those of
self-government) with its query parameters, and the OpenAPI description, generated
from the table, has each at its path with its parameters and their types."""

from __future__ import annotations

from pathlib import Path

from coopledger.node import _views_table as views
from coopledger.node._api import OPENAPI

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()


def _rows() -> dict[str, list[str]]:
    """endpoint -> the parameters its row lists (`name` or `name` (required))."""
    return {line.split("|")[1].strip(): [p.strip() for p in line.split("|")[2].split(",")
                                         if p.strip(" —")]
            for line in DOC.splitlines() if line.startswith("| `GET /v1/")}


def test_every_view_is_documented_with_its_parameters() -> None:
    rows = _rows()
    for v in views.VIEWS.values():
        row = rows.get(f"`GET {v.path}`")
        assert row is not None, v.path
        listed = {p.removesuffix("(required)").strip(" `"): p.endswith("(required)")
                  for p in row}
        assert sorted(listed) == sorted(p.name for p in v.query_params), v.path
        for p in v.query_params:
            assert not listed[p.name] or p.required, (v.path, p.name)


def test_every_view_is_in_the_openapi_description() -> None:
    for v in views.VIEWS.values():
        op = OPENAPI["paths"][v.path]["get"]
        assert {p["name"] for p in op["parameters"]} == set(v.allowed())
        for p in op["parameters"]:
            assert p["schema"] == dict(v.param(p["name"]).kind.schema)
            assert p["required"] == (p["name"] in v.required)


def test_the_old_registries_are_the_table() -> None:
    assert {"balances", "keys", "lottery", "proof-entry"} <= set(views.VIEWS)
