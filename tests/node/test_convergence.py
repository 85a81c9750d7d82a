"""Convergence: two stores given the same entries in different orders and batchings
derive the same state, equal to the pure fold of the set.

Entry sets are drawn with hypothesis from a small script language: several authors
append entries (some with refs to other authors' entries), some sign a second entry at
an existing seq (a fork), some break their chain (a wrong prev), and the delivered set
drops some entries (gaps) and repeats others (duplicates).
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.protocol import Entry, create_entry, fold

KEYS = [SecretKey(bytes([i + 1]) * 32) for i in range(4)]
BODIES = [
    ("labor", {"member": "ana", "hours": "1.5", "task": "weeding", "category": "care",
               "date": "2026-11-01"}),
    ("labor", {"member": "ben", "hours": "2", "task": "minutes", "category": "facilitation",
               "date": "2026-11-02", "paid": True}),
    ("material", {"item": "compost", "quantity": "40", "unit": "kg", "direction": "in"}),
    ("energy", {"kwh": "3.25", "flow": "generated", "source": "local"}),
    ("goods", {"item": "bread", "quantity": "12", "unit": "loaf", "flow": "distributed",
               "to": "kitchen"}),
    ("x.future", {"anything": [1, 2, 3]}),
]

step = st.tuples(
    st.integers(0, len(KEYS) - 1),            # author
    st.sampled_from(["append", "append", "append", "ref", "fork", "break"]),
    st.integers(0, len(BODIES) - 1),          # body
    st.integers(0, 10_000),                   # picks a target entry / ts jitter
)


def build(script: list[tuple[int, str, int, int]]) -> list[Entry]:
    """Turn a script into signed entries (deterministic for a given script)."""
    logs: dict[int, list[Entry]] = {}
    made: list[Entry] = []
    for i, (a, action, b, pick) in enumerate(script):
        key = KEYS[a]
        log = logs.setdefault(a, [])
        kind, body = BODIES[b]
        refs: list[bytes] = []
        if not log:
            kind, body, seq, prev, ts = "genesis", {"name": f"coop {a}"}, 1, None, i
        elif action == "fork":
            # A second, different entry at an existing seq of this author.
            target = log[pick % len(log)]
            if target.seq == 1:
                kind, body = "genesis", {"name": f"coop {a} again"}
            seq, prev, ts = target.seq, target.prev, target.ts + 1
            made.append(create_entry(key, seq=seq, prev=prev, ts=ts, kind=kind, body=body))
            continue
        else:
            head = log[-1]
            seq, ts = head.seq + 1, head.ts + (pick % 3)
            prev = head.id
            if action == "break":
                prev = bytes(32)  # a validly signed entry that does not link
            elif action == "ref" and made:
                refs = [made[pick % len(made)].id]
        e = create_entry(key, seq=seq, prev=prev, ts=ts, kind=kind, body=body, refs=refs)
        log.append(e)
        made.append(e)
    return made


def deliver(entries: list[Entry], rnd: random.Random) -> list[list[Entry]]:
    """A random order with duplicates, cut into random batches."""
    seq = entries + [rnd.choice(entries) for _ in range(len(entries) // 4)]
    rnd.shuffle(seq)
    batches, i = [], 0
    while i < len(seq):
        n = rnd.randint(1, 8)
        batches.append(seq[i : i + n])
        i += n
    return batches


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    script=st.lists(step, min_size=8, max_size=40),
    drop=st.sets(st.integers(0, 40), max_size=4),
    seeds=st.tuples(st.integers(0, 2**32), st.integers(0, 2**32)),
)
def test_two_stores_converge(script, drop, seeds):
    made = build(script)
    held = [e for i, e in enumerate(made) if i not in drop] or made[:1]
    expected = fold(held).state_hash()
    hashes = []
    for seed in seeds:
        with Store.open(":memory:") as store:
            for batch in deliver(held, random.Random(seed)):
                store.add_entries(batch)
            hashes.append(store.state().state_hash())
            # The incremental cache equals a fresh fold of what the store holds.
            assert store.state_as_of(None).state_hash() == hashes[-1]
    assert hashes[0] == hashes[1] == expected, f"seeds {seeds}"


def test_generator_makes_forks_breaks_and_refs():
    """The property above is only as good as its inputs: show they include each case."""
    script = [(0, "append", 0, 0), (0, "append", 1, 0), (1, "append", 0, 0),
              (1, "ref", 2, 0), (0, "fork", 3, 1), (1, "break", 4, 0), (2, "append", 0, 0),
              (2, "append", 5, 0)]
    state = fold(build(script))
    a0, a1, a2 = (state.authors[k.public.raw] for k in KEYS[:3])
    assert a0.fork is not None and a0.fork.seq == 2 and a0.length == 1
    assert a1.broken is not None and a1.broken[0] == 3 and a1.length == 2
    assert a2.length == 2 and a2.unknown == {"x.future": 1}
