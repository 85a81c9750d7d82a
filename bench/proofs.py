"""Merkle proof benchmark: how far is each operation from the SHA-256 calls it needs?

    python bench/proofs.py [--leaves 1000000] [--proofs 1000] [--seed 1]

Builds the RFC 9162 tree of N leaves (leaf hashes of 32-byte ids), then measures in the
same run on the same machine:

  (h) one SHA-256 of 64 bytes through hashlib, Python call included: the unit every
      other figure is divided by;
  (a) Tree build (every perfect subtree kept), against 2N hashes and per node hash
      (it does N - popcount(N) of them);
  (b) root(leaves) (level by level, nothing kept) and Frontier appends, against N hashes;
  (c) inclusion proofs at size N for random leaves: size, generation and verification
      time, verification against (proof length + 1) hashes;
  (d) consistency proofs from a random older size to N: the same figures.

Absolute times drift on shared machines; the ratios to (h) measured in one run drift
less (bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable

from coopledger.crypto import (
    Frontier,
    Tree,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn``, best of three rounds (least disturbed by neighbours)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n, count = args.leaves, args.proofs
    rng = random.Random(args.seed)

    block = bytes(range(64))
    sha256 = hashlib.sha256
    t_hash = per_call(lambda: sha256(block).digest(), 200_000)

    t0 = time.perf_counter()
    leaves = [leaf_hash(sha256(i.to_bytes(8, "big")).digest()) for i in range(n)]
    t_leaves = time.perf_counter() - t0

    t0 = time.perf_counter()
    tree = Tree(leaves)
    t_build = time.perf_counter() - t0
    tree_bytes = sum(len(level) for level in tree._levels)
    node_hashes = n - n.bit_count()  # one per perfect subtree above the leaves

    t0 = time.perf_counter()
    top = root(leaves)
    t_root = time.perf_counter() - t0
    assert top == tree.root()

    frontier = Frontier()
    t0 = time.perf_counter()
    for h in leaves:
        frontier.append(h)
    t_frontier = time.perf_counter() - t0
    assert frontier.root() == top

    # Inclusion at the full size, random leaves.
    indexes = [rng.randrange(n) for _ in range(count)]
    t0 = time.perf_counter()
    incl = [tree.inclusion_proof(i) for i in indexes]
    t_incl_gen = (time.perf_counter() - t0) / count
    t0 = time.perf_counter()
    for i, proof in zip(indexes, incl, strict=True):
        if not verify_inclusion(leaves[i], i, n, proof, top):
            sys.exit(f"inclusion proof for leaf {i} does not verify")
    t_incl_ver = (time.perf_counter() - t0) / count
    incl_len = statistics.mean(len(p) for p in incl)

    # Consistency from a random older size to the full size.
    olds = [rng.randrange(1, n) for _ in range(count)]
    old_roots = [tree.root(m) for m in olds]
    t0 = time.perf_counter()
    cons = [tree.consistency_proof(m) for m in olds]
    t_cons_gen = (time.perf_counter() - t0) / count
    t0 = time.perf_counter()
    for m, r1, proof in zip(olds, old_roots, cons, strict=True):
        if not verify_consistency(m, n, r1, top, proof):
            sys.exit(f"consistency proof from size {m} does not verify")
    t_cons_ver = (time.perf_counter() - t0) / count
    cons_len = statistics.mean(len(p) for p in cons)
    cons_max = max(len(p) for p in cons)

    us = 1e6
    rows = [
        ("one SHA-256 of 64 bytes (h)", f"{t_hash * us:.3f} µs", "1", "the unit"),
        ("ids and their leaf hashes", f"{t_leaves:.2f} s",
         f"{t_leaves / (2 * n * t_hash):.2f}", "2N h"),
        ("Tree build", f"{t_build:.2f} s", f"{t_build / (2 * n * t_hash):.2f}", "2N h"),
        ("Tree build, per node hash", f"{t_build / node_hashes * us:.3f} µs",
         f"{t_build / (node_hashes * t_hash):.2f}", "h"),
        ("root(leaves)", f"{t_root:.2f} s", f"{t_root / (n * t_hash):.2f}", "N h"),
        ("Frontier.append x N", f"{t_frontier:.2f} s", f"{t_frontier / (n * t_hash):.2f}",
         "N h"),
        ("inclusion proof size", f"{incl_len:.1f} hashes, {incl_len * 32:.0f} B",
         f"{incl_len / (n - 1).bit_length():.2f}", "ceil(log2 N)"),
        ("inclusion proof generation", f"{t_incl_gen * us:.1f} µs",
         f"{t_incl_gen / t_hash:.1f}", "h"),
        ("inclusion verify", f"{t_incl_ver * us:.1f} µs",
         f"{t_incl_ver / ((incl_len + 1) * t_hash):.2f}", "(len+1) h"),
        ("consistency proof size", f"{cons_len:.1f} hashes, {cons_len * 32:.0f} B"
         f" (max {cons_max})", f"{cons_len / ((n - 1).bit_length() + 1):.2f}",
         "ceil(log2 N)+1"),
        ("consistency proof generation", f"{t_cons_gen * us:.1f} µs",
         f"{t_cons_gen / t_hash:.1f}", "h"),
        ("consistency verify", f"{t_cons_ver * us:.1f} µs",
         f"{t_cons_ver / ((cons_len + 1) * t_hash):.2f}", "(len+1) h"),
    ]
    print(f"N = {n:,} leaves, {count} random proofs each, Python {sys.version.split()[0]}")
    print(f"Tree keeps {tree_bytes / 2**20:.1f} MiB of packed hashes "
          f"({tree_bytes / (32 * n):.2f} hashes per leaf)")
    print()
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("measure", "value", "ratio", "to")
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    print("  ".join("-" * w[i] for i in range(4)))
    for r in rows:
        print("  ".join(c.ljust(w[i]) if i != 2 else c.rjust(w[i]) for i, c in enumerate(r)))
    print(f"verify_ratio={t_incl_ver / ((incl_len + 1) * t_hash):.2f}")


if __name__ == "__main__":
    main()
