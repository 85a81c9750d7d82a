"""Sync benchmark: real daemons (separate processes, libp2p on loopback).

    python bench/sync.py [--entries 100000] [--authors 100] [--daemons 10] [--live 200]

Measures, in one run on one machine:

  (a) the bound: raw Ed25519 verify rate of the ``cryptography`` package, one core,
      over the same entries (as bench/ingest.py);
  (b) bulk sync: a daemon holding the entries and an empty daemon started with it as
      bootstrap; time from the empty daemon answering its API to it holding every
      entry, as entries/s and as a ratio to (a): ``sync_ratio``;
  (c) reconnect in sync: the (now full) second daemon restarts; the session that
      follows is read from its status: send rounds and bytes both ways;
  (d) live propagation: ``--daemons`` daemons, each bootstrapping from two earlier
      ones; ``--live`` entries posted one at a time to a random daemon's API (what
      `coop log` does, minus the CLI's start-up); for each, the time until the last
      daemon holds it (arrival times are recorded by each daemon in ms; one clock);
      p50 and p99;
  (e) peak RSS (VmHWM) of each daemon process, and the largest event-loop stall any
      daemon saw (its stall monitor).

The last line is ``sync_ratio=<x.xx>`` for scripts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import build, raw_verify_rate, write_bundle

from coopledger.node.testing import Daemon, converged, wait_for


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pid_of(d: Daemon) -> int:
    assert d.proc is not None
    return d.proc.pid


def bulk(root: Path, n: int, n_authors: int
         ) -> tuple[float, float, dict[str, object], list[Daemon]]:
    print(f"building {n:,} entries from {n_authors} co-ops …", flush=True)
    entries = build(n, n_authors)
    bundle = root / "bench.coopbundle"
    write_bundle(entries, bundle)
    raw = raw_verify_rate(entries)
    print(f"(a) raw verify, cryptography, 1 core: {raw:,.0f}/s", flush=True)
    del entries

    full = Daemon(root, "full")
    full.init()
    full.coop("bundle", "import", str(bundle), timeout=600)
    full.start()
    target = full.status()["entries_held"] + 1          # + the newcomer's genesis
    empty = Daemon(root, "empty")
    empty.init()
    empty.start([full.addr])
    t0 = time.monotonic()
    wait_for("the empty daemon to hold every entry",
             lambda: empty.status()["entries_held"] >= target, 1800)
    seconds = time.monotonic() - t0
    rate = (target - 2) / seconds
    print(f"(b) bulk sync: {target - 2:,} entries in {seconds:.1f} s = {rate:,.0f}/s "
          f"= {rate / raw:.2f} x raw verify", flush=True)

    # (c) the second daemon restarts; both hold the same entries.
    empty.stop()
    restarted_ms = time.time() * 1000
    empty.start([full.addr])

    def fresh_session() -> dict[str, object] | None:
        for s in empty.status()["sync"]:
            if s["last_sync_ms"] and s["last_sync_ms"] > restarted_ms and s["last_session"]:
                return s["last_session"]  # type: ignore[no-any-return]
        return None

    session = wait_for("the reconnect session", fresh_session, 60)
    print(f"(c) reconnect in sync: {session['rounds']} send rounds, "
          f"{session['bytes_sent']} B sent + {session['bytes_received']} B received, "
          f"incremental={session['incremental']}, {session['seconds']} s", flush=True)
    return rate, raw, session, [full, empty]


def live(root: Path, n_daemons: int, n_entries: int, seed: int = 7
         ) -> tuple[list[float], list[Daemon]]:
    rnd = random.Random(seed)
    ds: list[Daemon] = []
    for i in range(n_daemons):
        d = Daemon(root, f"coop{i:02d}")
        d.init()
        earlier = rnd.sample(ds, min(2, len(ds)))
        d.start([e.addr for e in earlier])
        ds.append(d)
    wait_for("the live daemons to converge", converged(ds, entries=n_daemons), 120)
    lat: list[float] = []
    for i in range(n_entries):
        origin = rnd.choice(ds)
        made = origin.api("POST", "/v1/entries", {
            "kind": "labor",
            "body": {"member": "ana", "hours": "1", "task": f"live {i}",
                     "category": "production", "date": "2026-11-23"}})
        eid = made["id"]

        def arrived(eid: str = eid) -> list[int] | None:
            times = []
            for d in ds:
                got = d.api("GET", f"/v1/entries/{eid}")
                if got.get("arrived_ms") is None:
                    return None
                times.append(got["arrived_ms"])
            return times

        times = wait_for(f"entry {i} to reach every daemon", arrived, 30)
        lat.append((max(times) - min(times)) / 1000)
    return lat, ds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--authors", type=int, default=100)
    ap.add_argument("--daemons", type=int, default=10)
    ap.add_argument("--live", type=int, default=200)
    ap.add_argument("--keep", type=Path, help="keep homes and logs in this directory")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="coop-bench-sync-"))
    root.mkdir(parents=True, exist_ok=True)
    everyone: list[Daemon] = []
    try:
        rate, raw, _, pair = bulk(root, args.entries, args.authors)
        everyone += pair
        rss = {d.name: vm_hwm_mib(pid_of(d)) for d in pair}
        stalls = {d.name: d.status()["loop_stall_max_ms"] for d in pair}
        for d in pair:
            d.stop()
        lat, ds = live(root, args.daemons, args.live)
        everyone += ds
        lat.sort()
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
        print(f"(d) live propagation, {args.daemons} daemons, {len(lat)} entries: "
              f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms",
              flush=True)
        rss.update({d.name: vm_hwm_mib(pid_of(d)) for d in ds})
        stalls.update({d.name: d.status()["loop_stall_max_ms"] for d in ds})
        for d in ds:
            d.stop()
        print("(e) peak RSS per daemon (MiB): " + ", ".join(
            f"{k} {v:.0f}" for k, v in rss.items()))
        worst = max(stalls, key=lambda k: stalls[k])
        print(f"(e) largest event-loop stall: {stalls[worst]:.0f} ms ({worst})")
        print(f"sync_entries_per_s={rate:.0f}")
        print(f"sync_ratio={rate / raw:.2f}")
    finally:
        for d in everyone:
            d.close()


if __name__ == "__main__":
    main()
