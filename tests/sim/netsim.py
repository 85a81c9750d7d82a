"""A seeded network simulator for the sync machines (docs/sync-states.md).

One ``random.Random(seed)`` drives everything; there is no wall clock, only a step
counter. N nodes (3-8) each hold a durable entry store (synckit ``Store``: real signed
entries, folded by protocol's ``fold``) and a durable ``PeerMemory`` per peer, written
only when that node's side of a session yields ``Done``. What happens, step by step:

* **Authors append.** Node i is the home device of co-op ``KEYS[i]``: it signs the next
  entry of its own chain, stores it and publishes it by gossip. Now and then an entry
  refs an entry of another co-op the node holds. A *late* append signs two entries and
  publishes the second at once and the first later (a gap in everyone's view, the
  author's own store included, until it is published). A *second device* of a co-op
  (another node holding the same key) signs on top of what that node holds of the log:
  if the home device signed there too, the two are a fork; the second device may go on
  signing on its branch.
* **Gossip.** Each published entry goes as a datagram to every peer reachable at that
  moment, with drop, duplicate, corrupt (one byte flipped) and delay (0..max_delay
  steps; datagrams due together are delivered in random order, so they reorder). A
  received datagram is ingested as the daemon does: ``open_entry`` (decode and verify
  the signature) into a per-node ingest buffer, stored when the buffer is flushed (a
  crash loses the buffer); an entry new to the store is relayed to the reachable peers
  (GossipSub forwards what it has not seen).
* **Pull sync.** A session between two reachable nodes with no session between them
  runs the real ``SyncSession`` on both sides over a reliable ordered stream, one move
  at a time, interleaved with every other event: deliver the next message one way,
  answer one ``ReadEntries`` (from the store as it is *now*), store one batch. A node
  may be in several sessions with different peers at once. Each session takes its
  heads snapshot when it starts.
* **Faults.** A link cut abandons both sides of one session (batches received but not
  stored are lost; memory is kept only by a side that reached Done before the cut).
  A partition splits the nodes into 2-3 groups that cannot reach each other (sessions
  and datagrams across groups are lost) until it heals. A crash takes a node down
  (every session it was in is cut, its ingest buffer is lost, datagrams to it are lost)
  until it restarts with its store, its peer memories and its devices' outboxes.

At the end everything heals (partitions end, nodes restart, withheld entries are
published, ingest buffers are flushed, in-flight datagrams and sessions are dropped),
then *rounds* run: every pair syncs once, in random order, without faults, until a
round moves no entry (at most ``MAX_ROUNDS``; not quiescing is a failure). Then all
stores must hold the same entries and fold to the same ``state_hash``, and one more
round between the same peers, with the memories they persisted, must be incremental
and send no heads and no entries.

Run one seed from the command line with a trace::

    .venv/bin/python tests/sim/netsim.py 1234 --trace
    .venv/bin/python tests/sim/netsim.py 0:5000        # a range, with totals
"""

from __future__ import annotations

import random
import sys
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":  # pragma: no cover - command line use
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from synckit import KEYS, Side, Store

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    WINDOW,
    Entry,
    PeerMemory,
    SyncSession,
    SyncState,
    ValidationError,
    create_entry,
    open_entry,
)

T0 = 1_700_000_000_000
MAX_ROUNDS = 6
RERUN = "SIM_SEED={seed} .venv/bin/pytest tests/sim -k seeded  (trace: " \
        ".venv/bin/python tests/sim/netsim.py {seed} --trace)"


class SimFailure(AssertionError):
    pass


@dataclass(frozen=True)
class Params:
    """The shape of one seed's run, drawn from the seed."""

    nodes: int
    steps: int
    drop: float
    dup: float
    corrupt: float
    max_delay: int
    second_device: bool     # one co-op has a second device on another node

    @classmethod
    def draw(cls, rng: random.Random) -> Params:
        return cls(nodes=rng.randint(3, 8), steps=rng.randint(150, 500),
                   drop=rng.choice((0.0, 0.1, 0.3, 0.6)), dup=rng.choice((0.0, 0.1, 0.3)),
                   corrupt=rng.choice((0.0, 0.02)), max_delay=rng.choice((0, 5, 40)),
                   second_device=rng.random() < 0.5)


@dataclass
class Device:
    """A signing device of one co-op: its own chain, and entries signed but not yet
    published (``withheld``, oldest first). Durable: it survives its node's crash."""

    key: SecretKey
    node: int
    primary: bool = True
    chain: list[Entry] = field(default_factory=list)
    withheld: list[Entry] = field(default_factory=list)

    def sign(self, on: Entry | None, body: dict[str, object],
             refs: tuple[bytes, ...] = ()) -> Entry:
        if on is None:
            e = create_entry(self.key, seq=1, prev=None, ts=T0, kind="genesis",
                             body={"name": f"co-op {self.key.public.raw[:2].hex()}"})
        else:
            e = create_entry(self.key, seq=on.seq + 1, prev=on.id, ts=on.ts + 1000,
                             kind="x.note", body=body, refs=refs)  # type: ignore[arg-type]
        self.chain.append(e)
        return e


@dataclass
class Node:
    store: Store = field(default_factory=Store)
    memory: dict[int, PeerMemory] = field(default_factory=dict)
    up: bool = True
    group: int = 0
    ingest: list[Entry] = field(default_factory=list)  # lost on crash


@dataclass
class Datagram:
    due: int
    src: int
    dst: int
    data: bytes


class Session:
    """Both sides of one pull session between nodes i (initiator) and j."""

    def __init__(self, sim: Sim, i: int, j: int) -> None:
        self.sim, self.i, self.j = sim, i, j
        ni, nj = sim.nodes[i], sim.nodes[j]
        self.a = Side(ni.store, SyncSession(ni.store.heads(), ni.memory.get(j),
                                            initiator=True), auto_read=False,
                      auto_store=False)
        self.b = Side(nj.store, SyncSession(nj.store.heads(), nj.memory.get(i),
                                            initiator=False), auto_read=False,
                      auto_store=False)
        self.saved = {i: False, j: False}
        self.pump()

    def sides(self) -> tuple[tuple[int, Side, int, Side], ...]:
        return ((self.i, self.a, self.j, self.b), (self.j, self.b, self.i, self.a))

    def pump(self) -> None:
        for me, side, peer, _ in self.sides():
            side.pump()
            if side.disconnected is not None:
                raise SimFailure(f"{me}-{peer}: session failed ({side.disconnected})")
            if side.memory is not None and not self.saved[me]:
                # Done: the driver persists the memory before anything else happens.
                self.sim.nodes[me].memory[peer] = side.memory
                self.saved[me] = True
            if side.max_outstanding_batches > WINDOW:
                raise SimFailure(f"{me}-{peer}: more than WINDOW batches un-acked")

    @property
    def finished(self) -> bool:
        return (self.a.session.state is SyncState.DONE
                and self.b.session.state is SyncState.DONE)

    def moves(self) -> list[Callable[[], None]]:
        out: list[Callable[[], None]] = []
        for _, side, _, peer in self.sides():
            if side.outbox:
                out.append(lambda s=side, p=peer: p.session.receive(s.outbox.pop(0)))
            if side.reads:
                out.append(lambda s=side: s.answer_reads())
            if side.stores:
                out.append(lambda s=side: s.apply_stores(limit=1))
        return out

    def step(self, rng: random.Random) -> None:
        moves = self.moves()
        if not moves:
            raise SimFailure(f"{self.i}-{self.j}: session stuck in "
                             f"{self.a.session.state.name}/{self.b.session.state.name}")
        rng.choice(moves)()
        self.pump()

    def run(self, rng: random.Random) -> None:
        while not self.finished:
            self.step(rng)


class Sim:
    def __init__(self, seed: int, params: Params | None = None, *,
                 linked_heads: bool = True) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.p = params or Params.draw(self.rng)
        n = self.p.nodes
        self.nodes = [Node() for _ in range(n)]
        for nd in self.nodes:
            nd.store.linked_heads = linked_heads
        self.devices = [Device(KEYS[i], i) for i in range(n)]
        if self.p.second_device:
            home, other = self.rng.sample(range(n), 2)
            self.devices.append(Device(KEYS[home], other, primary=False))
        self.now = 0
        self.air: list[Datagram] = []
        self.sessions: dict[frozenset[int], Session] = {}
        self.trace: deque[str] = deque(maxlen=80)
        self.keep_trace = False
        self.full_trace: list[str] = []
        self.n: Counter[str] = Counter()
        self.rounds = 0

    # ---- bookkeeping -----------------------------------------------------------------

    def log(self, msg: str) -> None:
        line = f"{self.now:5d} {msg}"
        self.trace.append(line)
        if self.keep_trace:
            self.full_trace.append(line)

    def fail(self, msg: str) -> SimFailure:
        return SimFailure(
            f"seed {self.seed} {self.p}: {msg}\nrerun: {RERUN.format(seed=self.seed)}\n"
            "last events:\n  " + "\n  ".join(self.trace))

    def reachable(self, i: int, j: int) -> bool:
        a, b = self.nodes[i], self.nodes[j]
        return a.up and b.up and a.group == b.group

    # ---- authors and gossip ----------------------------------------------------------

    def publish(self, node: int, entries: list[Entry], *, relay_from: int | None = None,
                ) -> None:
        """Store ``entries`` at ``node`` and gossip the new ones to reachable peers."""
        st = self.nodes[node].store
        new = [e for e in entries if e.id not in st.by_pos.get((e.author, e.seq), {})]
        st.add(new)
        p = self.p
        for e in new:
            for dst in range(len(self.nodes)):
                if dst == node or dst == relay_from or not self.reachable(node, dst):
                    continue
                if self.rng.random() < p.drop:
                    self.n["gossip dropped"] += 1
                    continue
                copies = 2 if self.rng.random() < p.dup else 1
                for _ in range(copies):
                    data = e.raw
                    if self.rng.random() < p.corrupt:
                        k = self.rng.randrange(len(data))
                        data = data[:k] + bytes([data[k] ^ 0x40]) + data[k + 1:]
                    self.air.append(Datagram(self.now + self.rng.randint(0, p.max_delay),
                                             node, dst, data))
                    self.n["gossip sent"] += 1

    def author_step(self) -> None:
        rng = self.rng
        dev = rng.choice(self.devices)
        node = self.nodes[dev.node]
        if not node.up:
            return
        primary = dev.primary
        if primary:
            on = dev.chain[-1] if dev.chain else None
        else:
            # A second device signs on top of what its node holds of the log.
            hd = node.store.heads().heads.get(dev.key.public.raw)
            on = node.store.by_pos[(dev.key.public.raw, hd.seq)][hd.head] if hd else None
        refs: tuple[bytes, ...] = ()
        if on is not None and rng.random() < 0.2:
            others = [e for e in node.store.entries() if e.author != dev.key.public.raw]
            if others:
                refs = (rng.choice(others).id,)
        late = primary and on is not None and rng.random() < 0.08
        e = dev.sign(on, {"i": self.now}, refs)
        if late:
            e2 = dev.sign(e, {"i": self.now, "late": True})
            dev.withheld.append(e)
            self.log(f"dev {dev.node} signs {self.name(e)} (withheld) and {self.name(e2)}")
            e = e2
        else:
            self.log(f"dev {dev.node}{'' if primary else '*'} signs {self.name(e)}")
        self.n["signed"] += 2 if late else 1
        self.publish(dev.node, [e])

    def publish_withheld(self, dev: Device) -> None:
        e = dev.withheld.pop(0)
        self.log(f"dev {dev.node} publishes withheld {self.name(e)}")
        self.publish(dev.node, [e])

    def deliver(self, d: Datagram) -> None:
        self.air.remove(d)
        if not self.reachable(d.src, d.dst):
            self.n["gossip lost"] += 1
            return
        try:
            e = open_entry(d.data)
        except ValidationError:
            self.n["gossip refused"] += 1
            return
        self.nodes[d.dst].ingest.append(e)

    def flush(self, k: int) -> None:
        node = self.nodes[k]
        batch, node.ingest = node.ingest, []
        fresh = [e for e in batch if e.id not in node.store.by_pos.get((e.author, e.seq), {})]
        if fresh:
            self.log(f"node {k} stores gossip {', '.join(self.name(e) for e in fresh)}")
        self.publish(k, fresh, relay_from=None)

    def name(self, e: Entry) -> str:
        return f"{KEYS.index(next(k for k in KEYS if k.public.raw == e.author))}" \
               f"#{e.seq}.{e.id[:2].hex()}"

    # ---- sessions and faults ---------------------------------------------------------

    def cut(self, pair: frozenset[int], why: str) -> None:
        s = self.sessions.pop(pair)
        self.n["sessions cut"] += 1
        self.log(f"cut {s.i}-{s.j} ({why}) in {s.a.session.state.name}/"
                 f"{s.b.session.state.name}")

    def crash(self, k: int) -> None:
        self.log(f"crash {k}")
        self.n["crashes"] += 1
        for pair in [p for p in self.sessions if k in p]:
            self.cut(pair, f"{k} crashed")
        node = self.nodes[k]
        node.up = False
        node.ingest = []

    def partition(self) -> None:
        groups = self.rng.randint(2, 3)
        for node in self.nodes:
            node.group = self.rng.randrange(groups)
        self.log(f"partition {[nd.group for nd in self.nodes]}")
        self.n["partitions"] += 1
        for pair in [p for p in self.sessions if not self.reachable(*p)]:
            self.cut(pair, "partition")

    def step(self) -> None:
        """One event, chosen by weight among those possible now."""
        rng, n = self.rng, len(self.nodes)
        self.now += 1
        choices: list[tuple[float, Callable[[], None]]] = [(6.0, self.author_step)]
        due = [d for d in self.air if d.due <= self.now]
        if due:
            choices.append((8.0, lambda: self.deliver(rng.choice(due))))
        flushable = [k for k, nd in enumerate(self.nodes) if nd.ingest]
        if flushable:
            choices.append((3.0, lambda: self.flush(rng.choice(flushable))))
        late = [d for d in self.devices if d.withheld and self.nodes[d.node].up]
        if late:
            choices.append((0.5, lambda: self.publish_withheld(rng.choice(late))))
        free = [(i, j) for i in range(n) for j in range(n)
                if i != j and self.reachable(i, j) and frozenset((i, j)) not in self.sessions]
        if free:
            choices.append((3.0, lambda: self.start(*rng.choice(free))))
        if self.sessions:
            active = list(self.sessions.values())
            choices.append((30.0, lambda: self.session_step(rng.choice(active))))
            choices.append((0.6, lambda: self.cut(rng.choice(list(self.sessions)), "link")))
        if any(nd.group for nd in self.nodes):
            choices.append((0.4, self.heal_partition))
        else:
            choices.append((0.15, self.partition))
        ups = [k for k, nd in enumerate(self.nodes) if nd.up]
        downs = [k for k, nd in enumerate(self.nodes) if not nd.up]
        if len(ups) > 1:
            choices.append((0.15, lambda: self.crash(rng.choice(ups))))
        if downs:
            choices.append((0.6, lambda: self.restart(rng.choice(downs))))
        total = sum(w for w, _ in choices)
        x = rng.random() * total
        for w, act in choices:
            x -= w
            if x < 0:
                act()
                return
        choices[-1][1]()

    def start(self, i: int, j: int) -> None:
        self.log(f"session {i}-{j} starts")
        self.n["sessions"] += 1
        self.sessions[frozenset((i, j))] = Session(self, i, j)

    def session_step(self, s: Session) -> None:
        s.step(self.rng)
        if s.finished:
            del self.sessions[frozenset((s.i, s.j))]
            self.n["sessions done"] += 1
            self.log(f"session {s.i}-{s.j} done ({s.a.session.statistics().entries_sent}"
                     f"/{s.b.session.statistics().entries_sent} entries)")

    def heal_partition(self) -> None:
        self.log("partition heals")
        for node in self.nodes:
            node.group = 0

    def restart(self, k: int) -> None:
        self.log(f"restart {k}")
        self.nodes[k].up = True

    # ---- the end ---------------------------------------------------------------------

    def heal(self) -> None:
        self.log("heal everything")
        for pair in list(self.sessions):
            self.cut(pair, "end of faults")
        self.air.clear()
        for k in range(len(self.nodes)):
            if not self.nodes[k].up:
                self.restart(k)
        self.heal_partition()
        for dev in self.devices:
            while dev.withheld:
                self.publish_withheld(dev)
        self.air.clear()
        for k in range(len(self.nodes)):
            self.flush(k)
        self.air.clear()

    def round(self) -> tuple[int, int]:
        """Every pair syncs once, in random order. Returns (entries, heads) sent."""
        n = len(self.nodes)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        self.rng.shuffle(pairs)
        entries = heads = 0
        for i, j in pairs:
            if self.rng.random() < 0.5:
                i, j = j, i
            s = Session(self, i, j)
            s.run(self.rng)
            for side in (s.a, s.b):
                st = side.session.statistics()
                entries += st.entries_sent
                heads += st.heads_sent
        return entries, heads

    def check(self) -> None:
        stores = [nd.store for nd in self.nodes]
        ids = stores[0].ids()
        for k, st in enumerate(stores):
            if st.ids() != ids:
                raise self.fail(f"node {k} holds {len(st.ids() - ids)} entries node 0 lacks "
                                f"and lacks {len(ids - st.ids())} of node 0's\n"
                                + self.describe(ids ^ st.ids()))
        hashes = {st.state_hash() for st in stores}
        if len(hashes) != 1:
            raise self.fail(f"state hashes differ: {hashes}")
        signed = {e.id for d in self.devices for e in d.chain}
        if signed != ids:
            raise self.fail(f"{len(signed - ids)} signed entries are held nowhere")

    def describe(self, ids: set[bytes]) -> str:
        """Who holds what of the authors of ``ids`` (for failure messages)."""
        byid = {e.id: e for nd in self.nodes for e in nd.store.entries()}
        lines = []
        for author in sorted({byid[i].author for i in ids}):
            for k, nd in enumerate(self.nodes):
                held = sorted((e.seq, self.name(e)) for e in nd.store.entries()
                              if e.author == author)
                head = nd.store.heads().heads.get(author)
                lines.append(f"node {k}: head {head and head[::2]} holds "
                             + " ".join(x for _, x in held))
        return "\n".join(lines)

    def run(self) -> None:
        try:
            for _ in range(self.p.steps):
                self.step()
            self.heal()
            for r in range(1, MAX_ROUNDS + 1):
                moved, _ = self.round()
                self.log(f"round {r}: {moved} entries moved")
                if moved == 0:
                    self.rounds = r
                    break
            else:
                raise self.fail(f"no quiescence after {MAX_ROUNDS} rounds")
            self.check()
            moved, heads = self.round()
            if moved or heads:
                raise self.fail(f"a round after quiescence sent {heads} heads and "
                                f"{moved} entries")
        except SimFailure as exc:
            if str(exc).startswith(f"seed {self.seed} "):
                raise
            raise self.fail(str(exc)) from exc
        except Exception as exc:  # a machine error: still say which seed
            raise self.fail(f"{type(exc).__name__}: {exc}") from exc


def simulate(seed: int, *, linked_heads: bool = True) -> Sim:
    sim = Sim(seed, linked_heads=linked_heads)
    sim.run()
    return sim


def main(argv: list[str]) -> int:  # pragma: no cover - command line use
    import time
    spec = argv[0] if argv else "0:100"
    lo, _, hi = spec.partition(":")
    seeds = range(int(lo), int(hi)) if hi else [int(lo)]
    total: Counter[str] = Counter()
    failed: list[int] = []
    rounds: Counter[int] = Counter()
    t0 = time.perf_counter()
    for seed in seeds:
        sim = Sim(seed, linked_heads="--old-heads" not in argv)
        sim.keep_trace = "--trace" in argv
        try:
            sim.run()
            rounds[sim.rounds] += 1
        except SimFailure as exc:
            failed.append(seed)
            print(exc if len(seeds) == 1 else str(exc).splitlines()[0])
        if sim.keep_trace:
            print("\n".join(sim.full_trace))
        total.update(sim.n)
    dt = time.perf_counter() - t0
    print(f"{len(seeds)} seeds in {dt:.1f} s, {len(failed)} failed: {failed[:50]}")
    print(f"rounds to quiesce: {dict(sorted(rounds.items()))}")
    print(dict(total))
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
