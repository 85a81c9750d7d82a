"""The views of self-government through the real API app, in process: a stand-in for
the node service that answers from one store (what ``NodeService.query`` does in the
store's thread), and an httpx client on the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx

from coopledger.node import Store
from coopledger.node._api import make_app

T = TypeVar("T")


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
