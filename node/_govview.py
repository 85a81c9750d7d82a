"""The read views of self-government (SPEC §13, docs/governance.md) as JSON-ready dicts.

Each governance area declares its views in its own module (``node/_govview_<area>.py``)
as ``VIEWS: dict[name, GovView]``; this module merges them. The local API serves each at
its ``path`` (``GET``), with the view's query parameters, through ``NodeService.query``;
the offline CLI calls ``answer`` on the store it opened, so ``coop … --json`` prints the
same document either way. Parameter errors are ``econview.LookupFailed`` (400 for a bad
or unknown parameter, 404 for a name that names nothing), as for the economy's views.

A view function gets the store, the query parameters as text (path parameters merged
in) and ``me``, the key this node writes with (None offline without a home); the co-op
``me`` acts for is ``identity_of(store, me)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._econview import LookupFailed, economy, resolve_coop, resolve_federation

if TYPE_CHECKING:
    from coopledger.protocol import Economy

    from ._store import Store

ViewFn = Callable[["Store", Mapping[str, str], "bytes | None"], dict[str, Any]]


@dataclass(frozen=True)
class GovView:
    path: str                   # e.g. "/v1/mandates", "/v1/lotteries/{lottery}"
    fn: ViewFn
    summary: str                # one line, for the OpenAPI description
    # parameter -> one-line description; path parameters are always required
    params: Mapping[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()

    @property
    def path_params(self) -> list[str]:
        return [p[1:-1] for p in self.path.split("/") if p.startswith("{")]


def identity_of(store: Store, key: bytes | None) -> bytes | None:
    """The co-op (identity) that ``key`` writes for: its root key (SPEC §13.2)."""
    if key is None:
        return None
    return economy(store).gov.ids.identity_of(key)


# -- what the area views share --------------------------------------------------------


class Scope:
    """The bodies a view shows (None: all) and, when a co-op is named, whose entries."""

    def __init__(self, bodies: set[bytes] | None, by: bytes | None) -> None:
        self.bodies, self.by = bodies, by

    def keeps(self, body: bytes, by: bytes) -> bool:
        return (self.bodies is None or body in self.bodies) and (
            self.by is None or by == self.by)


def scope(store: Store, eco: Economy, params: Mapping[str, str], me: bytes | None, *,
          coop_alone_is_body: bool) -> Scope:
    """The scope of ``federation`` and ``coop``: a federation (and, with ``coop``, that
    co-op's entries in it); ``coop`` alone: that co-op's own assembly when
    ``coop_alone_is_body``, else everything that co-op wrote; neither: this node's
    co-op and its federations (all, offline without a home)."""
    fed = resolve_federation(eco, params["federation"]) if params.get("federation") else None
    coop = None
    if params.get("coop"):
        coop = eco.gov.ids.identity_of(resolve_coop(store, params["coop"], field="coop"))
    if fed is not None:
        return Scope({fed}, coop)
    if coop is not None:
        return Scope({coop}, None) if coop_alone_is_body else Scope(None, coop)
    mine = identity_of(store, me)
    if mine is None:
        return Scope(None, None)
    return Scope({mine, *(f.id for f in eco.federations_of(mine))}, None)


def flag(params: Mapping[str, str], name: str) -> bool:
    """A true/false parameter (absent: false)."""
    value = params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise LookupFailed(name, "true or false", status=400)
    return value == "true"


def body_fields(eco: Economy, names: Mapping[bytes, str | None], body: bytes,
                federation: bytes | None) -> dict[str, Any]:
    """``body``, ``body_kind`` (federation or coop) and ``body_name`` of a body."""
    if federation is not None:
        f = eco.federations.get(federation)
        return {"body": body.hex(), "body_kind": "federation",
                "body_name": None if f is None else f.name}
    return {"body": body.hex(), "body_kind": "coop", "body_name": names.get(body)}


def who(prefix: str, key: bytes | None, names: Mapping[bytes, str | None]
        ) -> dict[str, Any]:
    """``prefix`` (hex) and ``prefix_name`` of a co-op or key (both None for None)."""
    return {prefix: None if key is None else key.hex(),
            f"{prefix}_name": None if key is None else names.get(key)}


# The modules whose VIEWS make up the registry (one line each: add yours).
VIEW_MODULES = (
    "_govview_keys",
    "_govview_mandates",
    "_govview_lottery",
    "_govview_proposals",
    "_checkpoints",
    "_govview_audit",
    "_govview_alerts",
)


def _views() -> dict[str, GovView]:
    out: dict[str, GovView] = {}
    for module in VIEW_MODULES:
        part = importlib.import_module(f"{__package__}.{module}")
        for name, view in part.VIEWS.items():
            assert name not in out, name
            out[name] = view
    return out


VIEWS: dict[str, GovView] = _views()


def answer(store: Store, view: str, params: Mapping[str, str], *,
           me: bytes | None) -> dict[str, Any]:
    """Run view ``view``: checks the parameters (LookupFailed), then calls it."""
    v = VIEWS[view]
    allowed = set(v.params) | set(v.path_params)
    for name in sorted(params):
        if name not in allowed:
            raise LookupFailed(name, f"unknown parameter; {view} takes "
                               f"{', '.join(sorted(allowed)) or 'none'}", status=400)
    for name in sorted(v.required | set(v.path_params)):
        if not params.get(name):
            raise LookupFailed(name, "required", status=400)
    return v.fn(store, params, me)
