"""What the views of self-government share (SPEC §13-§14, docs/governance.md).

Each governance area declares its views in its own module (``node/_govview_<area>.py``,
node/_checkpoints.py) as ``VIEWS: dict[name, View]`` (node/_views.py); the one view
table (node/_views_table.py) imports them by name and serves them with the economy's.
The table and its entry point ``answer`` live there; this module holds only what the
area views share (it imports none of them, so the table's imports run one way).

A view function gets the store, its ``ViewArgs`` (the query parameters as text, path
parameters merged in, and ``args.value(name)`` parsed) and ``me``, the key this node
writes with (None offline without a home); the co-op ``me`` acts for is
``identity_of(store, me)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._views import LookupFailed, ViewArgs, ViewFn, identity_of, parse_flag

if TYPE_CHECKING:
    from coopledger.protocol import Economy

    from ._store import Store

__all__ = ["LookupFailed", "Scope", "ViewFn", "body_fields", "flag", "identity_of",
           "scope", "who"]


# -- what the area views share --------------------------------------------------------


class Scope:
    """The bodies a view shows (None: all) and, when a co-op is named, whose entries."""

    def __init__(self, bodies: set[bytes] | None, by: bytes | None) -> None:
        self.bodies, self.by = bodies, by

    def keeps(self, body: bytes, by: bytes) -> bool:
        return (self.bodies is None or body in self.bodies) and (
            self.by is None or by == self.by)


def scope(store: Store, eco: Economy, args: ViewArgs, me: bytes | None, *,
          coop_alone_is_body: bool) -> Scope:
    """The scope of ``federation`` and ``coop`` (``args``: the view's ViewArgs): a
    federation (and, with ``coop``, that co-op's entries in it); ``coop`` alone: that
    co-op's own assembly when ``coop_alone_is_body``, else everything that co-op wrote;
    neither: this node's co-op and its federations (all, offline without a home)."""
    fed: bytes | None = args.value("federation")
    key: bytes | None = args.value("coop")
    coop = None if key is None else eco.gov.ids.identity_of(key)
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
    return False if value is None else parse_flag(value, name)


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
