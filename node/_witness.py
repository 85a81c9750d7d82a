"""The daemon's checkpoint and witness duties (SPEC §14.1, §14.3).

* ``checkpoint_loop``: every ``checkpoint_interval`` seconds, if this co-op's log grew
  since its last checkpoint, sign a new one (size and Merkle root of the log so far).
* ``witness_loop``: a co-op drawn in a current audit circle (the quarter now or the one
  before) of another co-op witnesses that co-op's logs: it cosigns the newest checkpoint
  of each, once it applies here. Applying here means it agrees with everything this node
  holds of that log, so a witness never cosigns two inconsistent checkpoints: a second
  history would be a fork, and the fold freezes the log at it.

``cosigns_due`` and ``checkpoint_due`` are plain functions of a store (tested alone);
the loops run them off the event loop and write through ``Node.append`` (``DutyNode``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

import trio

from coopledger.protocol import (
    CHECKPOINT_KIND,
    COSIGN_KIND,
    Entry,
    Value,
    drawn_coops,
    recent_quarters,
    utc_date,
)

from ._clock import now_ms
from ._econview import economy

if TYPE_CHECKING:
    from coopledger.crypto import SecretKey

    from ._astore import AsyncStore
    from ._config import NodeConfig
    from ._home import Home
    from ._store import Store

log = logging.getLogger(__name__)

WITNESS_POLL_S = 1.0   # how often a witness looks for new checkpoints to cosign


class DutyNode(Protocol):
    """What the loops need of the daemon (``_daemon.Node``), declared here so that this
    module does not import the daemon, which imports it."""

    config: NodeConfig
    key: SecretKey
    home: Home
    store: AsyncStore

    async def append(self, kind: str, body: dict[str, Value], *,
                     refs: list[bytes] | None = None, ts: int | None = None) -> Entry: ...


def checkpoint_due(store: Store, author: bytes) -> bool:
    """Whether ``author``'s log has grown since its last checkpoint (and can take one:
    every held entry of it applies)."""
    st = store.state().authors.get(author)
    if st is None or st.head is None:
        return False
    held = store.own_head(author)  # the highest seq held: nothing waits past it
    head = store.get(st.head)
    return (head is not None and head.kind != CHECKPOINT_KIND and held is not None
            and held[0] == st.length)


def cosigns_due(store: Store, me: bytes, now: int) -> list[bytes]:
    """Ids of the checkpoints this co-op (identity ``me``) should cosign now: the newest
    applied checkpoint of each log of every co-op whose audit circle for the quarter of
    ``now`` or the one before drew ``me``, that no key of ``me`` has cosigned yet."""
    eco = economy(store)
    ids, audit = eco.gov.ids, eco.gov.audit
    quarters = recent_quarters(utc_date(now)[:7])
    audited = {c.coop for c in audit.circles.values()
               if c.period in quarters and c.coop != me
               and me in drawn_coops(eco.gov.lotteries, ids, c)}
    if not audited:
        return []
    mine = {r.key for r in ids.keys_of(me)} | {me}
    done = {c.checkpoint.id for c in audit.cosigns.values() if c.witness == me}
    pending = {bytes.fromhex(str(e.body["checkpoint"]))
               for e in store.entries(authors=sorted(mine), kind=COSIGN_KIND)}
    authors = store.state().authors
    out = []
    for coop in sorted(audited):
        for key in sorted({r.key for r in ids.keys_of(coop)} | {coop}):
            st = authors.get(key)
            if st is None:
                continue
            newest = None
            for e in store.entries(authors=[key], kind=CHECKPOINT_KIND):
                if e.seq <= st.length and (newest is None or e.seq > newest.seq):
                    newest = e
            if newest is not None and newest.id not in done | pending:
                out.append(newest.id)
    return out


async def checkpoint_loop(node: DutyNode) -> None:
    interval = node.config.checkpoint_interval
    if interval <= 0:
        return
    me = node.key.public.raw
    while True:
        await trio.sleep(interval)
        if await node.store.call(lambda: checkpoint_due(node.store.store, me)):
            entry = await node.append(CHECKPOINT_KIND, {})
            log.info("published checkpoint %s (%d entries)", entry.id.hex()[:8],
                     entry.seq - 1)


async def witness_loop(node: DutyNode) -> None:
    while True:
        await trio.sleep(WITNESS_POLL_S)
        try:
            due = await node.store.call(
                lambda: cosigns_due(node.store.store, node.home.identity, now_ms()))
        except Exception:  # a view error must not stop the node; said, retried
            log.exception("could not work out which checkpoints to cosign")
            continue
        for cp in due:
            try:
                await node.append(COSIGN_KIND, {"checkpoint": cp.hex()}, refs=[cp])
            except Exception as exc:  # e.g. it stopped applying under a new fork
                log.warning("could not cosign checkpoint %s: %s", cp.hex()[:8], exc)
                continue
            log.info("cosigned checkpoint %s as a witness", cp.hex()[:8])
