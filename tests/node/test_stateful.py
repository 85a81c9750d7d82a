"""N nodes, random appends and random bundle exchanges, then everyone meets: identical
derived state (protocol/SPEC.md §5). Each node is a real Store with its own co-op key; entries
move only through export_bundle / import_bundle, the path a USB stick takes."""

from __future__ import annotations

import io

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coopledger.crypto import SecretKey
from coopledger.node import Store, Verifier, export_bundle, import_bundle

N = 3
KEYS = [SecretKey(bytes([0x40 + i]) * 32) for i in range(N)]
BODIES = {
    "labor": {"member": "ana", "hours": "1.25", "task": "weeding", "category": "care",
              "date": "2026-11-02"},
    "material": {"item": "compost", "quantity": "3", "unit": "kg", "direction": "in"},
    "energy": {"kwh": "0.5", "flow": "generated", "source": "local"},
    "goods": {"item": "jam", "quantity": "2", "unit": "jar", "flow": "produced"},
}


class Federation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.verifier = Verifier(workers=1)
        self.nodes = [Store.open(":memory:") for _ in range(N)]
        self.clock = 1_000
        for key, node in zip(KEYS, self.nodes, strict=True):
            node.append(key, kind="genesis", body={"name": f"co-op {key.public.short()}"},
                        ts=self.clock)

    def teardown(self) -> None:
        for node in self.nodes:
            node.close()
        self.verifier.close()

    @rule(i=st.integers(0, N - 1), kind=st.sampled_from(sorted(BODIES)),
          refs_other=st.booleans())
    def append(self, i: int, kind: str, refs_other: bool) -> None:
        self.clock += 7
        refs = []
        if refs_other:  # ref the applied head of another co-op, as a member would
            heads = [st.head for a, st in sorted(self.nodes[i].state().authors.items())
                     if a != KEYS[i].public.raw and st.head is not None]
            if heads:
                refs = [heads[-1]]
        self.nodes[i].append(KEYS[i], kind=kind, body=BODIES[kind], ts=self.clock,
                             refs=refs)

    @rule(a=st.integers(0, N - 1), b=st.integers(0, N - 1), since_recent=st.booleans())
    def carry_bundle(self, a: int, b: int, since_recent: bool) -> None:
        buf = io.BytesIO()
        # Sometimes only recent entries travel: the receiver may then hold gaps.
        export_bundle(self.nodes[a], buf, since=self.clock - 20 if since_recent else None)
        buf.seek(0)
        report = import_bundle(self.nodes[b], buf, verifier=self.verifier)
        assert report.ok, report.problems

    @invariant()
    def cache_equals_a_fresh_fold(self) -> None:
        for node in self.nodes:
            assert node.state().state_hash() == node.state_as_of(None).state_hash()

    @rule()
    def everyone_meets(self) -> None:
        # Full bundles around the ring, twice: every node then holds every entry.
        for _ in range(2):
            for a in range(N):
                self.carry_bundle(a, (a + 1) % N, since_recent=False)
        hashes = {node.state().state_hash() for node in self.nodes}
        assert len(hashes) == 1
        counts = {node.count() for node in self.nodes}
        assert len(counts) == 1


Federation.TestCase.settings = settings(max_examples=100, stateful_step_count=25,
                                        deadline=None)
TestFederation = Federation.TestCase
