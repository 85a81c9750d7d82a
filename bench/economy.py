"""Economy benchmark: what the second stage of the fold costs next to the first.

    python bench/economy.py [--transfers 20000] [--coops 8] [--runs 3]

Builds one federation of C co-ops and T transfer offers between random members, four in
five accepted and one in twenty declined (the rest stay open), all signed, then measures
in the same run on the same machine:

  (a) stage one: ``fold()`` of the whole set (which entries apply; the bound);
  (b) stage two: ``compute_economy()`` of the applied economic entries (timeline,
      membership, transfers, balances, reservations, flags);
  (c) the economy's canonical value (``to_value()``, part of the state hash).

Each figure is printed as the median of the runs and as a ratio to (a). The node
recomputes (b) when a new economic entry applies and caches it until then, so (b) is
the pause a node takes per batch that brings one. The last line is
``economy_ratio=<x.xx>`` for scripts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from coopledger.crypto import SecretKey
from coopledger.protocol import Entry, compute_economy, create_entry, default_rules_value, fold

T0 = 1_700_000_000_000


class Log:
    def __init__(self, seed: int, name: str) -> None:
        self.key = SecretKey(bytes([seed]) * 32)
        self.author = self.key.public.raw
        self.entries: list[Entry] = []
        self.ts = T0
        self.add("genesis", {"name": name})

    def add(self, kind: str, body: dict[str, object], refs: tuple[bytes, ...] = ()) -> Entry:
        self.ts += 1000
        prev = self.entries[-1] if self.entries else None
        e = create_entry(self.key, seq=len(self.entries) + 1,
                         prev=None if prev is None else prev.id, ts=self.ts, kind=kind,
                         body=body, refs=list(refs))  # type: ignore[arg-type]
        self.entries.append(e)
        return e


def build(transfers: int, coops: int, seed: int = 1) -> list[Entry]:
    rng = random.Random(seed)
    logs = [Log(i + 1, f"Co-op {i}") for i in range(coops)]
    founder = logs[0]
    fed = founder.add("federation.create", {"name": "Bench", "charter": "Benchmarks.",
                                            "rules": default_rules_value()})
    for other in logs[1:]:
        inv = founder.add("federation.invite", {"federation": fed.id.hex(),
                                                "invitee": other.author.hex()}, (fed.id,))
        other.ts = max(other.ts, inv.ts)
        other.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
                  (fed.id, inv.id))
    for _ in range(transfers):
        payer, receiver = rng.sample(logs, 2)
        offer = payer.add("transfer.offer", {
            "federation": fed.id.hex(), "to": receiver.author.hex(),
            "amount": str(rng.randint(1, 4)), "unit": "hour", "purpose": "work",
            "expires": payer.ts + 14 * 86_400_000}, (fed.id,))
        receiver.ts = max(receiver.ts, offer.ts)
        r = rng.random()
        if r < 0.8:
            receiver.add("transfer.accept", {"offer": offer.id.hex()}, (offer.id,))
        elif r < 0.85:
            receiver.add("transfer.decline", {"offer": offer.id.hex()}, (offer.id,))
    return [e for log in logs for e in log.entries]


def timed(fn: object, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transfers", type=int, default=20_000)
    ap.add_argument("--coops", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    entries = build(args.transfers, args.coops)
    print(f"built {len(entries):,} signed entries ({args.transfers:,} offers, "
          f"{args.coops} co-ops) in {time.perf_counter() - t:.1f} s")
    fold_s, state = timed(lambda: fold(entries), args.runs)
    economic = list(state.economic.values())  # type: ignore[attr-defined]
    econ_s, econ = timed(lambda: compute_economy(economic), args.runs)
    value_s, _ = timed(lambda: econ.to_value(), args.runs)  # type: ignore[attr-defined]
    print(f"(a) stage one, fold():          {fold_s:7.3f} s  (bound)")
    print(f"(b) stage two, economy:         {econ_s:7.3f} s  = {econ_s / fold_s:.2f} x (a)"
          f"  ({len(economic) / econ_s:,.0f} economic entries/s)")
    print(f"(c) economy to_value():         {value_s:7.3f} s  = {value_s / fold_s:.2f} x (a)")
    print(f"economy_ratio={econ_s / fold_s:.2f}")


if __name__ == "__main__":
    main()
