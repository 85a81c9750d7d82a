"""The one table of read views: the economy's (node/_econview.py) and those of
self-government (node/_govview_<area>.py, node/_checkpoints.py), by name.

The local API serves each at its path (node/_api.py) and describes it in its OpenAPI
document from this table (``openapi``); the offline CLI answers from the store with
``answer``, and through a running node at ``View.url`` (cli/_views.py), so a view
reads the same everywhere. docs/api.md lists every view with its parameters (a test
keeps it, the OpenAPI document and this table in step).

To add a view: write its function ``fn(store, args, me) -> dict`` in its area's module,
declare it there in that module's ``VIEWS`` (``View(path, fn, summary, params)``, with
the parameter types of node/_views.py), add its row to docs/api.md, and, for a new
area, import the module below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import (
    _checkpoints,
    _econview,
    _govview_alerts,
    _govview_audit,
    _govview_keys,
    _govview_lottery,
    _govview_mandates,
    _govview_proposals,
)
from ._views import View, run

if TYPE_CHECKING:
    from ._store import Store

# The areas, in the order their views are listed (routes, OpenAPI, docs/api.md).
AREAS: tuple[Mapping[str, View], ...] = (
    _econview.VIEWS,
    _govview_keys.VIEWS,
    _govview_mandates.VIEWS,
    _govview_lottery.VIEWS,
    _govview_proposals.VIEWS,
    _checkpoints.VIEWS,
    _govview_audit.VIEWS,
    _govview_alerts.VIEWS,
)


def _table() -> dict[str, View]:
    out: dict[str, View] = {}
    for area in AREAS:
        for name, view in area.items():
            assert name not in out, name
            out[name] = view
    return out


VIEWS: dict[str, View] = _table()


def answer(store: Store, view: str, params: Mapping[str, str], *,
           me: bytes | None) -> dict[str, Any]:
    """The view named ``view`` for parameters as text (what the API received, or what
    the CLI would have sent; path parameters included). ``me``: the key this node
    writes with (None offline without a home). Raises LookupFailed naming the
    parameter (400: unknown, missing or malformed; 404: it names nothing here), and
    KeyError for an unknown view."""
    return run(view, VIEWS[view], store, params, me)


# -- the OpenAPI description of the views ------------------------------------------------


def _json(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json({"$ref": "#/components/schemas/Error"}, description)


def operation(view: View, errors: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI path item of ``view``: its path parameters (in path order), then its
    query parameters (by name), each with its type's schema; ``errors``: the
    responses every endpoint shares."""
    params = [{"name": n, "in": "path", "required": True,
               "description": view.param(n).help or n,
               "schema": dict(view.param(n).kind.schema)} for n in view.path_params]
    params += [{"name": p.name, "in": "query", "required": p.required,
                "description": p.help, "schema": dict(p.kind.schema)}
               for p in view.query_params]
    responses = {
        "200": _json({"type": "object"}, "The view (docs/api.md shows its fields)"),
        **errors,
        "400": _error("A bad or ambiguous query parameter, or an unknown one (reason "
                      "invalid:request; field names it)"),
        "404": _error("The federation or co-op named is unknown here (reason "
                      "invalid:unknown; field names the parameter)"),
    }
    return {"get": {"summary": view.summary, "parameters": params, "responses": responses}}


def openapi(errors: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``paths`` of every view, in table order."""
    return {v.path: operation(v, errors) for v in VIEWS.values()}
