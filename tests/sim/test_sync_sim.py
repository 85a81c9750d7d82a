"""A seeded simulation of the sync machines (STYLE F30): N peers append to their own
logs (one of them sometimes forks), random pairs sync over an in-memory link that may
be cut mid-session (both sessions are discarded; stores keep what they stored), with
the driver's reads, stores and the two directions interleaved at random. After a final
round in which every pair syncs without faults, all stores hold the same entries and
fold to the same state hash. A failing seed is in the assertion message: add it to
REGRESSION_SEEDS."""

from __future__ import annotations

import random

import pytest
from synckit import KEYS, Side, Store

from coopledger.protocol import WINDOW, PeerMemory, SyncSession, SyncState, create_entry

SEEDS = list(range(50))
REGRESSION_SEEDS: list[int] = []


class Link:
    """One session between peers i and j, stepped at random by ``rng``."""

    def __init__(self, rng: random.Random, a: Store, b: Store,
                 mem_a: PeerMemory | None, mem_b: PeerMemory | None) -> None:
        self.rng = rng
        self.a = Side(a, SyncSession(a.heads(), mem_a, initiator=True),
                      auto_read=False, auto_store=False)
        self.b = Side(b, SyncSession(b.heads(), mem_b, initiator=False),
                      auto_read=False, auto_store=False)

    def moves(self) -> list[tuple[str, Side, Side]]:
        out = []
        for me, peer in ((self.a, self.b), (self.b, self.a)):
            out.append(("pump", me, peer))
            if me.outbox:
                out.append(("send", me, peer))
            if me.reads:
                out.append(("read", me, peer))
            if me.stores:
                out.append(("store", me, peer))
        return out

    def run(self, budget: int | None) -> bool:
        """Run until quiet (True) or until ``budget`` moves are spent (a cut: False)."""
        moves = 0
        idle = 0
        while budget is None or moves < budget:
            kind, me, peer = self.rng.choice(self.moves())
            moves += 1
            if kind == "pump":
                idle = idle + 1 if not me.pump() else 0
                if idle > 4 and not any(k != "pump" for k, _, _ in self.moves()):
                    if not (self.a.pump() or self.b.pump()):
                        return True
                continue
            idle = 0
            if kind == "send":
                peer.session.receive(me.outbox.pop(0))
            elif kind == "read":
                me.answer_reads()
            else:
                me.apply_stores(limit=1)
        return False


def simulate(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(4, 6)
    stores = [Store() for _ in range(n)]
    memory: dict[tuple[int, int], PeerMemory | None] = {}
    forked = False
    completed = cut = 0

    def session(i: int, j: int, budget: int | None) -> None:
        nonlocal completed, cut
        link = Link(rng, stores[i], stores[j], memory.get((i, j)), memory.get((j, i)))
        finished = link.run(budget)
        for side in (link.a, link.b):
            assert side.max_outstanding_batches <= WINDOW, f"seed {seed}: window exceeded"
        if finished:
            assert link.a.session.state is SyncState.DONE, f"seed {seed}: {i}-{j} stuck"
            assert link.b.session.state is SyncState.DONE, f"seed {seed}: {i}-{j} stuck"
            completed += 1
        else:
            cut += 1
        # Each side keeps its memory only if its own session reached DONE (a cut can
        # fall between the two Ends: then the memories disagree and rule 3 must cope).
        for side, key in ((link.a, (i, j)), (link.b, (j, i))):
            if side.memory is not None:
                memory[key] = side.memory

    for _ in range(rng.randint(20, 40)):
        r = rng.random()
        if r < 0.45:
            i = rng.randrange(n)
            # now and then a burst of several batches, so the window fills up
            burst = rng.random() < 0.1
            stores[i].append(KEYS[i], rng.randint(300, 700) if burst else rng.randint(1, 30))
        elif r < 0.5 and not forked:
            # Misconduct: peer i signs a second entry at an existing seq of its log.
            i = rng.randrange(n)
            log = sorted((e for e in stores[i].entries() if e.author == KEYS[i].public.raw),
                         key=lambda e: e.seq)
            if len(log) >= 2:
                at = rng.randrange(1, len(log))
                fork = create_entry(KEYS[i], seq=at + 1, prev=log[at - 1].id,
                                    ts=log[at - 1].ts + 7, kind="x.note", body={"fork": at})
                stores[i].add([fork])
                forked = True
        else:
            i, j = rng.sample(range(n), 2)
            session(i, j, rng.randint(1, 120) if rng.random() < 0.4 else None)

    for i in range(n):
        for j in range(i + 1, n):
            session(i, j, None)
    ids = stores[0].ids()
    for k, s in enumerate(stores):
        assert s.ids() == ids, f"seed {seed}: store {k} differs after the final round"
    hashes = {s.state_hash() for s in stores}
    assert len(hashes) == 1, f"seed {seed}: state hashes differ"


@pytest.mark.parametrize("seed", SEEDS + REGRESSION_SEEDS)
def test_random_schedules_converge(seed: int) -> None:
    try:
        simulate(seed)
    except AssertionError:
        raise
    except Exception as exc:  # a machine error: still say which seed
        raise AssertionError(f"seed {seed}: {type(exc).__name__}: {exc}") from exc
