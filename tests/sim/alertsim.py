"""A seeded simulation of one solidarity alert across a federation (SPEC §14.6).

One ``random.Random(seed)`` draws everything; time is a simulated clock in ms that
moves in steps of ``STEP`` (15 minutes), never the wall clock. What runs is the real
protocol: every co-op node holds a synckit ``Store`` of real signed entries, nodes that
can reach each other run the real ``SyncSession`` (synckit ``sync``, with the peer
memory each kept from their last session), and after every ingest a node folds what it
holds (``fold(...).economy()``) and writes an ``alert.ack`` for each id ``acks_due``
gives it, as the node daemon does.

The cast, drawn from the seed (N = 5-8 co-ops, all members of one federation that was
formed, and synced everywhere, the day before):

* the **raiser** raises the alert (a drill or not; naming the federation or not);
* the **mainland** (the raiser and most others) is split by seeded partitions that
  change every few hours, with nodes switched off for a while, until everything on
  the mainland heals (6-30 h after the raise);
* the **island** (1-2 nodes) is never online with the mainland: it is reached only by
  a bundle (protocol's bundle writer and parser) that a courier copies from a mainland
  node, carries over and imports, and a bundle of the island's entries carried back
  (in one seed in five the courier sets out only after the deadline: late acks);
* sometimes a **lost** node that nothing ever reaches, and sometimes a **mute** node
  that receives and relays but whose auto-ack is broken (it never acks).

After the deadline, a settlement (couriers back and forth, everyone syncing) brings
every node but the lost one to the same entries. Then ``check`` asserts, from the
contact log alone (not from the stores), which nodes the raise could reach by the
deadline, and that:

* every honest node the raise could reach acked at the very step it first could
  (written at that sim time), on time (``late`` false), and its ack counts; one it
  could reach only after the deadline acked too, marked late;
* every node's coverage view (``Alerts.to_value()``, ``unreached()``, the state hash)
  is the same at the end, the lost node's aside (it holds no alert at all);
* the unreached list is exactly the lost and the mute nodes, and nobody else.

Run one seed with a trace::

    .venv/bin/python tests/sim/alertsim.py 7 --trace
    .venv/bin/python tests/sim/alertsim.py 0:200        # a range, with totals
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

if __name__ == "__main__":  # pragma: no cover - command line use
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from synckit import KEYS, Store, sync

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    ALERT_WINDOW_MS,
    RECORD_ENTRY,
    Alert,
    BundleEnd,
    BundleParser,
    BundleRecord,
    Economy,
    Entry,
    PeerMemory,
    acks_due,
    bundle_header,
    bundle_record,
    bundle_trailer,
    create_entry,
    fold,
    open_entry,
)
from coopledger.protocol.commons import DEFAULT_RULES

T0 = 1_700_000_000_000
MINUTE = 60_000
HOUR = 60 * MINUTE
STEP = 15 * MINUTE
MAX_SKEW = 10 * MINUTE        # each node's clock is off by up to this, either way
# An honest node the raise can reach by (deadline - MARGIN) must ack on time whatever
# the two clocks' skews.
MARGIN = 2 * MAX_SKEW + STEP
END = 72 * HOUR               # after the raise: the run's end (settlement follows)
RERUN = ("SIM_SEED={seed} .venv/bin/pytest tests/sim/test_alert_sim.py -k seeded  "
         "(trace: .venv/bin/python tests/sim/alertsim.py {seed} --trace)")
INF = float("inf")


class SimFailure(AssertionError):
    pass


@dataclass(frozen=True)
class Params:
    """The shape of one seed's run, drawn from the seed."""

    nodes: int
    raiser: int
    island: tuple[int, ...]
    lost: int | None
    mute: int | None
    drill: bool
    named: bool              # the raise names the federation
    raise_at: int            # ms after the start
    heal_at: int             # ms after the raise: the mainland is whole again
    courier_out: int         # ms after the raise: the bundle is written on the mainland
    travel: int              # ms each way
    courier_back: int        # ms after the import: the island's bundle is written
    syncs: int               # at most this many random sessions per step

    @classmethod
    def draw(cls, rng: random.Random) -> Params:
        n = rng.randint(5, 8)
        order = list(range(n))
        rng.shuffle(order)
        raiser, rest = order[0], order[1:]
        island = tuple(sorted(rest[:rng.randint(1, 2)]))
        rest = rest[len(island):]
        lost = rest.pop() if rng.random() < 0.6 and len(rest) >= 2 else None
        mute = rest.pop() if rng.random() < 0.3 and len(rest) >= 2 else None
        return cls(nodes=n, raiser=raiser, island=island, lost=lost, mute=mute,
                   drill=rng.random() < 0.3, named=rng.random() < 0.5,
                   raise_at=rng.randint(0, 8) * STEP, heal_at=rng.randint(6, 30) * HOUR,
                   # Now and then the courier only sets out after the deadline.
                   courier_out=(rng.randint(2 * 4, 24 * 4) if rng.random() < 0.8
                                else rng.randint(49 * 4, 52 * 4)) * STEP,
                   travel=rng.randint(2, 12) * STEP,
                   courier_back=rng.randint(4, 24) * STEP, syncs=rng.randint(1, 3))


@dataclass
class Node:
    index: int
    key: SecretKey
    skew: int
    store: Store
    chain: list[Entry]
    up: bool = True
    mute: bool = False
    group: str = "main"
    held: int = 0                                  # entries at the last ingest
    acked: dict[bytes, int] = field(default_factory=dict)   # alert -> sim ms written
    memory: dict[int, PeerMemory] = field(default_factory=dict)

    @property
    def identity(self) -> bytes:
        return self.key.public.raw

    def sign(self, now: int, kind: str, body: dict[str, object],
             refs: list[bytes]) -> Entry:
        last = self.chain[-1]
        e = create_entry(self.key, seq=last.seq + 1, prev=last.id,
                         ts=max(now + self.skew, last.ts), kind=kind,
                         body=body, refs=refs)  # type: ignore[arg-type]
        self.chain.append(e)
        self.store.add([e])
        return e

    def economy(self) -> Economy:
        return fold(self.store.entries()).economy()


class AlertSim:
    def __init__(self, seed: int, params: Params | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.p = params or Params.draw(self.rng)
        self.now = T0 + 86_400_000
        self.trace: list[str] = []
        # Who could hold the raise from when, by the contacts alone: ("sync", i, j) and
        # ("bundle", src, written_at, dst) in the order they happened.
        self.contacts: list[tuple[int, str, int, int, int]] = []
        self.received: dict[int, int] = {}       # node -> sim ms it first held the raise
        self.alert: Entry | None = None
        self.bundles = 0
        self.sessions = 0
        self._setup()

    # ---- the federation, the day before -------------------------------------------

    def _setup(self) -> None:
        p, n = self.p, self.p.nodes
        chains = [[create_entry(KEYS[i], seq=1, prev=None, ts=T0, kind="genesis",
                                body={"name": f"co-op {i}"})] for i in range(n)]
        ts = T0

        def add(i: int, kind: str, body: dict[str, object], refs: list[bytes]) -> Entry:
            nonlocal ts
            ts += 1000
            last = chains[i][-1]
            e = create_entry(KEYS[i], seq=last.seq + 1, prev=last.id, ts=ts, kind=kind,
                             body=body, refs=refs)  # type: ignore[arg-type]
            chains[i].append(e)
            return e

        fed = add(0, "federation.create", {"name": "River valley", "charter": "We help.",
                                           "rules": DEFAULT_RULES.to_value()}, [])
        self.federation = fed
        for i in range(1, n):
            inv = add(0, "federation.invite", {"federation": fed.id.hex(),
                                               "invitee": KEYS[i].public.raw.hex()},
                      [fed.id])
            add(i, "federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
                [fed.id, inv.id])
        everything = [e for c in chains for e in c]
        self.nodes = []
        for i in range(n):
            node = Node(i, KEYS[i], self.rng.randint(-MAX_SKEW, MAX_SKEW),
                        Store(everything), chains[i], mute=i == p.mute)
            node.held = len(everything)
            node.group = ("island" if i in p.island else "lost" if i == p.lost
                          else "main")
            self.nodes.append(node)

    # ---- bookkeeping ----------------------------------------------------------------

    def log(self, msg: str) -> None:
        self.trace.append(f"{(self.now - T0 - 86_400_000) / HOUR:7.2f}h {msg}")

    def fail(self, msg: str) -> SimFailure:
        return SimFailure(f"seed {self.seed} {self.p}: {msg}\n"
                          f"rerun: {RERUN.format(seed=self.seed)}\nlast events:\n  "
                          + "\n  ".join(self.trace[-40:]))

    # ---- what a node does -----------------------------------------------------------

    def ingest(self, node: Node) -> None:
        """What the daemon does after storing entries: fold, then ack what is due."""
        count = len(node.store.ids())
        if count == node.held:
            return
        node.held = count
        if self.alert is not None and node.index not in self.received \
                and self.alert.id in node.store.ids():
            self.received[node.index] = self.now
        if node.mute or not node.up:
            return
        for aid in acks_due(node.economy(), node.identity):
            if aid in node.acked:  # written already (an invalid ack stays due)
                continue
            node.sign(self.now, "alert.ack", {"alert": aid.hex()}, [aid])
            node.acked[aid] = self.now
            self.log(f"node {node.index} acks")

    def session(self, i: int, j: int) -> None:
        a, b = self.nodes[i], self.nodes[j]
        pair = sync(a.store, b.store, a.memory.get(j), b.memory.get(i))
        if pair.a.disconnected or pair.b.disconnected:
            raise self.fail(f"session {i}-{j} failed: {pair.a.disconnected} "
                            f"{pair.b.disconnected}")
        if pair.a.memory is not None:
            a.memory[j] = pair.a.memory
        if pair.b.memory is not None:
            b.memory[i] = pair.b.memory
        self.sessions += 1
        self.contacts.append((self.now, "sync", i, j, 0))
        self.ingest(a)
        self.ingest(b)

    def write_bundle(self, node: Node) -> bytes:
        entries = sorted(node.store.entries(), key=lambda e: (e.author, e.seq, e.id))
        return (bundle_header() + b"".join(bundle_record(e.raw) for e in entries)
                + bundle_trailer(len(entries)))

    def import_bundle(self, node: Node, data: bytes, src: int, written: int) -> None:
        parser = BundleParser()
        parser.feed(data)
        parser.feed_eof()
        got: list[Entry] = []
        while True:
            ev = parser.next_event()
            if isinstance(ev, BundleRecord) and ev.type == RECORD_ENTRY:
                got.append(open_entry(ev.payload))
            elif isinstance(ev, BundleEnd):
                if not ev.complete:
                    raise self.fail(f"bundle from node {src} is incomplete")
                break
            elif ev is None:
                raise self.fail("the bundle parser wants more data after EOF")
            else:
                raise self.fail(f"bundle from node {src} is damaged: {ev}")
        node.store.add(got)
        self.bundles += 1
        self.contacts.append((self.now, "bundle", src, node.index, written))
        self.log(f"courier imports node {src}'s bundle ({len(got)} entries) "
                 f"into node {node.index}")
        self.ingest(node)

    # ---- the world ------------------------------------------------------------------

    def reachable(self, i: int, j: int) -> bool:
        a, b = self.nodes[i], self.nodes[j]
        return a.up and b.up and a.group == b.group and a.group != "lost"

    def repartition(self) -> None:
        """The mainland splits anew (or not), and nodes go off or come on."""
        rng = self.rng
        main = [nd for nd in self.nodes if nd.group.startswith("main")]
        parts = rng.choice((1, 2, 2, 3))
        for nd in main:
            nd.group = f"main{rng.randrange(parts)}" if parts > 1 else "main"
            if nd.index != self.p.raiser:
                nd.up = rng.random() > 0.2
        self.log("mainland: " + " ".join(f"{nd.index}:{nd.group}{'' if nd.up else '(off)'}"
                                         for nd in main))

    def heal_mainland(self) -> None:
        for nd in self.nodes:
            if nd.group.startswith("main"):
                nd.group, nd.up = "main", True
        self.log("the mainland heals")

    def random_sessions(self) -> None:
        n = len(self.nodes)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if self.reachable(i, j)]
        for _ in range(self.rng.randint(0, self.p.syncs)):
            if pairs:
                self.session(*self.rng.choice(pairs))

    def raise_alert(self) -> None:
        node = self.nodes[self.p.raiser]
        body: dict[str, object] = {"what": "The river is over the bank at the mill.",
                                   "needs": ["people", "material"], "drill": self.p.drill}
        refs: list[bytes] = []
        if self.p.named:
            body["federation"] = self.federation.id.hex()
            refs.append(self.federation.id)
        self.alert = node.sign(self.now, "alert.raise", body, refs)
        node.held = len(node.store.ids())
        self.received[node.index] = self.now
        self.log(f"node {node.index} raises the alert{' (drill)' if self.p.drill else ''}")

    def run(self) -> None:
        try:
            self._run()
            self.settle()
            self.check()
        except SimFailure as exc:
            if str(exc).startswith(f"seed {self.seed} "):
                raise
            raise self.fail(str(exc)) from exc
        except Exception as exc:  # a machine error: still say which seed
            raise self.fail(f"{type(exc).__name__}: {exc}") from exc

    def _run(self) -> None:
        p = self.p
        start = self.now
        t_raise = start + p.raise_at
        t_heal = t_raise + p.heal_at
        t_out = t_raise + p.courier_out
        t_in = t_out + p.travel
        t_back = t_in + p.courier_back
        t_home = t_back + p.travel
        carried: tuple[bytes, int, int] | None = None      # (bundle, src, written at)
        island_node = self.rng.choice(p.island)
        next_split = start
        while self.now <= t_raise + END:
            if self.now == t_raise:
                self.raise_alert()
            if self.now < t_heal and self.now >= next_split:
                self.repartition()
                next_split = self.now + self.rng.randint(4, 24) * STEP
            if self.now == t_heal:
                self.heal_mainland()
            if self.now == t_out:
                # The courier goes to a node that has heard of the alert, if one is on.
                ups = [nd for nd in self.nodes if nd.group.startswith("main") and nd.up]
                src = self.rng.choice([nd for nd in ups if nd.index in self.received]
                                      or ups)
                carried = (self.write_bundle(src), src.index, self.now)
                self.log(f"courier copies node {src.index}'s entries")
            if self.now == t_in and carried is not None:
                self.import_bundle(self.nodes[island_node], *carried)
            if self.now == t_back:
                carried = (self.write_bundle(self.nodes[island_node]), island_node,
                           self.now)
                self.log(f"courier copies island node {island_node}'s entries")
            if self.now == t_home and carried is not None:
                dst = self.rng.choice([nd for nd in self.nodes
                                       if nd.group.startswith("main") and nd.up])
                self.import_bundle(dst, *carried)
            self.random_sessions()
            self.now += STEP

    def settle(self) -> None:
        """After the run: couriers back and forth and everyone syncing, until every
        node but the lost one holds the same entries (at most a few rounds)."""
        self.log("settlement")
        self.heal_mainland()
        reached = [nd for nd in self.nodes if nd.group != "lost"]
        main = [nd for nd in reached if nd.group == "main"]
        island = [nd for nd in reached if nd.group == "island"]
        for _ in range(6):
            for group in (main, island):
                for a in group:
                    for b in group:
                        if a.index < b.index:
                            self.session(a.index, b.index)
            if len({frozenset(nd.store.ids()) for nd in reached}) == 1:
                return
            for isl in island:
                self.import_bundle(isl, self.write_bundle(main[0]), main[0].index,
                                   self.now)
                self.import_bundle(main[0], self.write_bundle(isl), isl.index, self.now)
            self.now += STEP
        raise self.fail("the settlement does not converge")

    # ---- the verdict ----------------------------------------------------------------

    def could_reach(self) -> dict[int, int]:
        """From the contact log alone: the earliest sim ms each node could have held
        the raise (a sync passes it both ways; a bundle carries what its source held
        when it was written)."""
        assert self.alert is not None
        have: dict[int, int] = {self.p.raiser: self.received[self.p.raiser]}
        for now, kind, i, j, written in self.contacts:
            if kind == "sync":
                if have.get(i, INF) <= now and j not in have:
                    have[j] = now
                elif have.get(j, INF) <= now and i not in have:
                    have[i] = now
            elif have.get(i, INF) <= written and j not in have:
                have[j] = now
        return have

    def check(self) -> None:
        p, alert_entry = self.p, self.alert
        if alert_entry is None:
            raise self.fail("the alert was never raised")
        deadline = alert_entry.ts + ALERT_WINDOW_MS
        have = self.could_reach()
        if have != self.received:
            raise self.fail(f"who held the raise when: the contacts say {have}, the stores "
                            f"{self.received}")
        views: dict[int, Alert] = {}
        hashes = set()
        for nd in self.nodes:
            econ = nd.economy()
            a = econ.gov.alerts.get(alert_entry.id)
            if nd.index == p.lost:
                if a is not None or alert_entry.id in nd.store.ids():
                    raise self.fail(f"the lost node {nd.index} holds the alert")
                continue
            if a is None:
                raise self.fail(f"node {nd.index} has no valid alert: "
                                f"{econ.invalid.get(alert_entry.id)}")
            views[nd.index] = a
            hashes.add(fold(nd.store.entries()).state_hash())
        first = next(iter(views.values()))
        for k, a in views.items():
            if a.to_value() != first.to_value() or a.unreached() != first.unreached():
                raise self.fail(f"node {k}'s coverage view differs from node "
                                f"{next(iter(views))}'s")
        if len(hashes) != 1:
            raise self.fail(f"{len(hashes)} different state hashes at the end")
        ident = [nd.identity for nd in self.nodes]
        if first.targets != tuple(sorted(set(ident) - {ident[p.raiser]})):
            raise self.fail("the targets are not every other member")
        if first.drill is not p.drill:
            raise self.fail("the drill flag is lost")
        for nd in self.nodes:
            k = nd.index
            if k in (p.raiser, p.lost, p.mute):
                continue
            ack = first.acks.get(nd.identity)
            if ack is None:
                raise self.fail(f"node {k} never acked")
            if ack.late != (ack.ts > deadline):
                raise self.fail(f"node {k}'s ack is marked late={ack.late} wrongly")
            if have[k] <= deadline - MARGIN:
                written = nd.acked.get(alert_entry.id)
                if written != have[k]:
                    raise self.fail(f"node {k} could hold the raise at {have[k]} but acked "
                                    f"at {written}")
                if ack.late:
                    raise self.fail(f"node {k} was reached in time but its ack is late")
            elif not ack.late and have[k] > deadline + MAX_SKEW:
                raise self.fail(f"node {k} could hold the raise only after the deadline "
                                "but its ack is on time")
        want_unreached = sorted(ident[k] for k in (p.lost, p.mute) if k is not None)
        if first.unreached() != want_unreached:
            names = {ident[k]: k for k in range(len(ident))}
            raise self.fail(f"unreached: nodes {[names[t] for t in first.unreached()]}, "
                            f"expected {[names[t] for t in want_unreached]}")
        self.log(f"done: {len(first.acks)} of {len(first.targets)} acked, "
                 f"{len(first.late())} late, {self.sessions} sessions, "
                 f"{self.bundles} bundles")


def simulate(seed: int, params: Params | None = None) -> AlertSim:
    sim = AlertSim(seed, params)
    sim.run()
    return sim


def draw(seed: int, **changes: object) -> Params:
    """The params seed ``seed`` draws, with ``changes``."""
    return replace(Params.draw(random.Random(seed)), **changes)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:  # pragma: no cover - command line use
    import time
    spec = argv[0] if argv else "0:30"
    lo, _, hi = spec.partition(":")
    seeds = range(int(lo), int(hi)) if hi else [int(lo)]
    failed: list[int] = []
    t0 = time.perf_counter()
    for seed in seeds:
        sim = AlertSim(seed)
        try:
            sim.run()
        except SimFailure as exc:
            failed.append(seed)
            print(exc if len(seeds) == 1 else str(exc).splitlines()[0])
        if "--trace" in argv:
            print("\n".join(sim.trace))
    dt = time.perf_counter() - t0
    print(f"{len(seeds)} seeds in {dt:.1f} s, {len(failed)} failed: {failed[:50]}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
