"""docs/api.md lists every view of self-government with its parameters, and the OpenAPI
description has each at its path."""

from __future__ import annotations

from pathlib import Path

from coopledger.node import _govview as govview
from coopledger.node._api import OPENAPI

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()


def test_every_view_is_documented_with_its_parameters() -> None:
    rows = {line.split("|")[1].strip(): line.split("|")[2] for line in DOC.splitlines()
            if line.startswith("| `GET /v1/")}
    for v in govview.VIEWS.values():
        row = rows.get(f"`GET {v.path}`")
        assert row is not None, v.path
        assert sorted(p.strip(" `") for p in row.split(",") if p.strip(" —")) == sorted(
            v.params), v.path


def test_every_view_is_in_the_openapi_description() -> None:
    for v in govview.VIEWS.values():
        op = OPENAPI["paths"][v.path]["get"]
        assert {p["name"] for p in op["parameters"]} == set(v.params) | set(v.path_params)
