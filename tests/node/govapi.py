"""What the view tests of self-government share: a co-op writing to a store
(``Coop``), a federation's rules (``RULES``), and the views through the real API app,
in process: a stand-in for the node service that answers from one store (what
``NodeService.query`` does in the store's thread), and an httpx client on the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx

from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node._api import make_app
from coopledger.protocol import Entry

T = TypeVar("T")

T0 = 1_800_000_000_000
RULES: dict[str, Any] = {"units": [
    {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time"}],
    "fund_share": "0.1", "offer_expiry_days": 14}


class Coop:
    """A co-op writing its own log to ``store``, one second per entry from T0."""

    def __init__(self, store: Store, seed: int, name: str) -> None:
        self.store, self.key = store, SecretKey(bytes([seed]) * 32)
        self.id = self.key.public.raw
        self.ts = T0
        self.add("genesis", {"name": name})

    def add(self, kind: str, body: dict[str, Any], *refs: Entry, ts: int | None = None
            ) -> Entry:
        self.ts = self.ts + 1_000 if ts is None else ts
        return self.store.append(self.key, kind=kind, body=body, ts=self.ts,
                                 refs=[r.id for r in refs])

    def later_than(self, *others: Coop) -> Coop:
        """Move this co-op's clock past the others' (its next entry is later)."""
        self.ts = max(self.ts, *(o.ts for o in others))
        return self


class ViewNode:
    def __init__(self, store: Store, author: bytes) -> None:
        self.store, self.author = store, author

    def status(self) -> dict[str, Any]:
        return {"author": self.author.hex()}

    async def query(self, fn: Callable[[Store], T]) -> T:
        return fn(self.store)


@asynccontextmanager
async def api_client(store: Store, me: bytes, token: str
                     ) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API app serving ``store`` as the node whose key is ``me``."""
    app = make_app(ViewNode(store, me), token)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://node",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c
