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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._econview import LookupFailed, economy

if TYPE_CHECKING:
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


def _views() -> dict[str, GovView]:
    from . import _govview_keys, _govview_lottery, _govview_mandates, _govview_proposals
    out: dict[str, GovView] = {}
    for part in (_govview_keys, _govview_mandates, _govview_lottery, _govview_proposals):
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
