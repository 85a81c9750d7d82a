"""What the local HTTP API needs from a running node, as a Protocol.

The API (``_api.py``) is written against this interface only, so it can be tested
in-process with a small fake and never reaches into the libp2p host or the sync
machines. ``_daemon.Node`` is the real implementation.

Status and peer views are plain JSON-ready dicts; their shapes are documented in
docs/api.md and by the OpenAPI description the API serves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from coopledger.protocol import Entry, Value

from ._bundles import ImportReport

if TYPE_CHECKING:
    from ._store import Store

T = TypeVar("T")


class NodeService(Protocol):
    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry:
        """Sign, store and gossip a new entry of this co-op.

        Raises AppendError (the caller's fault: bad refs, a forked own log),
        ValidationError (a body the kind's schema refuses) or StoreError."""
        ...

    async def import_bundle(self, path: Path) -> ImportReport:
        """Import the bundle file at ``path`` (the API spools an upload there first);
        new entries are gossiped. Raises BundleError if it is not a bundle at all."""
        ...

    async def query(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` in the store's thread and return its result: the read
        views (federations, balances, board …) are functions of the store that the
        API and the offline CLI share."""
        ...

    async def entry(self, entry_id: bytes) -> Entry | None:
        """The held entry with this id, or None."""
        ...

    def arrival(self, entry_id: bytes) -> int | None:
        """When ``entry_id`` first reached this node (ms since the epoch), if it did
        since the node started and recently enough to be remembered."""
        ...

    def status(self) -> dict[str, Any]:
        """peer_id, listen addresses, network, entries held, state_hash, connected peers,
        sync progress per peer (behind by how many entries)."""
        ...

    def peers(self) -> list[dict[str, Any]]:
        """One dict per known peer: peer_id, addresses, connected, last sync."""
        ...

    async def rebuild(self) -> str:
        """Re-derive the cached state from the entries; returns the new state_hash."""
        ...
