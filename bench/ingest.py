"""Ingest benchmark: how close does importing a bundle come to raw Ed25519 verification?

    python bench/ingest.py [--entries 100000] [--authors 100] [--workers N] [--keep DIR]

Builds a bundle of N signed entries from A co-ops (labour, material, energy and goods
entries of about 250 bytes, mixed, about one in twenty with a ref to another co-op's
entry), then measures, in the same run on the same machine:

  (a) raw Ed25519 verify rate of the ``cryptography`` package, one core, over the same
      entries (each entry's signature over its signing_input(); one key object per
      author) — the bound every other rate is compared with;
  (b) ingest: ``node.import_bundle`` into a fresh store file with the default
      Verifier (worker processes on every core, or --workers N);
  (c) the same with Verifier(workers=1): everything in one process;
  (d) store size per entry (database file + WAL after close);
  (e) peak RSS of the ingest (measured in a child process, so it is the ingest's own);
  (f) PyNaCl (libsodium) verify rate: the library the node verifies with.

Absolute times on shared machines drift; the ratios measured in one run do not drift
as much (bench/RESULTS.md). The last line is ``ingest_ratio=<x.xx>`` for (b), for scripts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coopledger.crypto import SecretKey
from coopledger.node import Store, Verifier, import_bundle
from coopledger.protocol import (
    Entry,
    Value,
    bundle_header,
    bundle_record,
    bundle_trailer,
    create_entry,
)

MEMBERS = ["ana", "ben", "chidi", "dana", "emil", "fatou", "gustavo", "hana", "ines",
           "jonas", "kemal", "lea", "mira", "noor", "oskar", "priya"]
TASKS = ["weeding", "assembly minutes", "repair café", "baking", "accounts",
         "solar inverter", "childcare", "seed sorting", "cleaning"]
ITEMS = [("compost", "kg"), ("flour", "kg"), ("bicycle tyre", "item"), ("seedlings", "tray"),
         ("plywood", "sheet"), ("bread", "loaf"), ("jam", "jar"), ("apples", "kg")]
HOURS = ["0.5", "1", "1.5", "2", "2.5", "3", "4", "6", "7.75"]
CATEGORIES = ["production", "care", "facilitation", "maintenance", "learning", "other"]


def body_for(rnd: random.Random) -> tuple[str, dict[str, Value]]:
    day = f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    r = rnd.random()
    if r < 0.45:
        body: dict[str, Value] = {
            "member": rnd.choice(MEMBERS), "hours": rnd.choice(HOURS),
            "task": rnd.choice(TASKS), "category": rnd.choice(CATEGORIES), "date": day}
        if rnd.random() < 0.4:
            body["paid"] = rnd.random() < 0.5
        return "labor", body
    if r < 0.65:
        item, unit = rnd.choice(ITEMS)
        return "material", {"item": item, "quantity": str(rnd.randint(1, 400)), "unit": unit,
                            "direction": rnd.choice(["in", "out", "used"]), "date": day}
    if r < 0.8:
        return "energy", {"kwh": f"{rnd.randint(1, 90)}.{rnd.randint(1, 9)}",
                          "flow": rnd.choice(["consumed", "generated"]),
                          "source": rnd.choice(["local", "grid"]), "date": day}
    item, unit = rnd.choice(ITEMS)
    body = {"item": item, "quantity": str(rnd.randint(1, 60)), "unit": unit,
            "flow": rnd.choice(["produced", "distributed"]), "date": day}
    if body["flow"] == "distributed":
        body["to"] = "the kitchen"
    return "goods", body


def build(n: int, n_authors: int, seed: int = 1) -> list[Entry]:
    rnd = random.Random(seed)
    keys = [SecretKey(hashlib.sha256(b"bench author %d" % i).digest()) for i in range(n_authors)]
    heads: list[Entry] = []
    out: list[Entry] = []
    t0 = time.perf_counter()

    def progress(final: bool = False) -> None:
        rate = len(out) / max(time.perf_counter() - t0, 1e-9)
        sys.stderr.write(f"\r  signing entries: {len(out):>9,} / {n:,}  ({rate:,.0f}/s)")
        sys.stderr.write("\n" if final else "")
        sys.stderr.flush()

    for i, key in enumerate(keys[:n]):
        heads.append(create_entry(key, seq=1, prev=None, ts=1_767_225_600_000 + i,
                                  kind="genesis", body={"name": f"Co-op {i:03d}"}))
        out.append(heads[-1])
    while len(out) < n:
        a = rnd.randrange(len(heads))
        kind, body = body_for(rnd)
        prev = heads[a]
        refs = []
        if len(heads) > 1 and rnd.random() < 0.05:
            refs = [heads[(a + rnd.randrange(1, len(heads))) % len(heads)].id]
        heads[a] = create_entry(keys[a], seq=prev.seq + 1, prev=prev.id,
                                ts=prev.ts + rnd.randint(1_000, 3_600_000), kind=kind,
                                body=body, refs=refs)
        out.append(heads[a])
        if len(out) % 2_000 == 0 and len(out) < n:
            progress()
    progress(final=True)
    return out


def write_bundle(entries: list[Entry], path: Path) -> None:
    with path.open("wb") as f:
        f.write(bundle_header())
        for e in entries:
            f.write(bundle_record(e.raw))
        f.write(bundle_trailer(len(entries)))


def raw_verify_rate(entries: list[Entry]) -> float:
    keys = {a: Ed25519PublicKey.from_public_bytes(a) for a in {e.author for e in entries}}
    items = [(keys[e.author], e.signature, e.signing_input()) for e in entries]
    t = time.perf_counter()
    for key, sig, msg in items:
        key.verify(sig, msg)  # raises InvalidSignature: every entry here is valid
    return len(items) / (time.perf_counter() - t)


def nacl_verify_rate(entries: list[Entry]) -> float | None:
    try:
        from nacl.signing import VerifyKey
    except ImportError:
        return None
    keys = {a: VerifyKey(a) for a in {e.author for e in entries}}
    items = [(keys[e.author], e.signature, e.signing_input()) for e in entries]
    t = time.perf_counter()
    for key, sig, msg in items:
        key.verify(msg, sig)
    return len(items) / (time.perf_counter() - t)


def peak_rss_kb(pid: int | str = "self") -> int:
    """Peak RSS of a process in KiB.

    On Linux this is VmHWM, the peak of the process's own memory map. getrusage's
    ru_maxrss is not used there: exec() carries the *parent's* RSS at fork time into
    the child's ru_maxrss, so a child started by a big parent reports the parent's size.
    """
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if pid == "self" else 0


def child_ingest(bundle: str, db: str, workers: int) -> None:
    """Run in a fresh process: import ``bundle`` into a new store ``db``; print JSON."""
    t = time.perf_counter()
    with Store.open(db, create=True) as store, Verifier(workers=workers) as verifier, \
            open(bundle, "rb") as f:
        report = import_bundle(store, f, verifier=verifier)
        # Read the workers' peaks while they still run (a private attribute: fine here).
        workers_kb = max((peak_rss_kb(w.proc.pid) for w in verifier._procs), default=0)
    elapsed = time.perf_counter() - t
    print(json.dumps({"elapsed": elapsed, "new": report.new, "ok": report.ok,
                      "rss_kb": peak_rss_kb(), "worker_rss_kb": workers_kb}))


def ingest(bundle: Path, db: Path, workers: int) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(bundle), str(db), str(workers)],
        check=True, capture_output=True, text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal")
               if Path(f"{db}{s}").exists())
    result["size"] = size
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--authors", type=int, default=100)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="verifier workers for the default ingest (default: all cores)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the bundle and stores here instead of a temp dir")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.child:
        bundle, db, workers = args.child
        child_ingest(bundle, db, int(workers))
        return
    n, n_authors = args.entries, min(args.authors, args.entries)
    if n < 1 or n_authors < 1:
        ap.error("--entries and --authors must be at least 1")

    print(f"coopledger ingest benchmark: {n:,} entries from {n_authors} co-ops, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    entries = build(n, n_authors)
    mean_size = statistics.fmean(len(e.raw) for e in entries)
    kinds: dict[str, int] = {}
    for e in entries:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    mix = ", ".join(f"{k} {v / n:.0%}" for k, v in sorted(kinds.items()))
    print(f"  entries: {mean_size:.0f} bytes on average ({mix}); "
          f"{sum(1 for e in entries if e.refs):,} with a ref")

    with tempfile.TemporaryDirectory(prefix="coop-bench-") as tmp:
        d = args.keep or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        bundle = d / "bench.bundle"
        write_bundle(entries, bundle)
        raw = raw_verify_rate(entries)
        nacl = nacl_verify_rate(entries)
        del entries  # the children read the bundle; keep this process small
        multi = ingest(bundle, d / "multi.db", args.workers)
        single = ingest(bundle, d / "single.db", 1)

    for r in (multi, single):
        if not r["ok"] or r["new"] != n:
            sys.exit(f"ingest did not import every entry: {r}")
    multi_rate, single_rate = n / multi["elapsed"], n / single["elapsed"]

    def line(label: str, value: str, ratio: str) -> None:
        # "=" before a ratio to the raw verify rate; notes follow without one.
        sep = "= " if "×" in ratio.split("(")[0] else ""
        print(f"{label:<38} {value:>18} {sep}{ratio}")

    print()
    line("(a) raw verify (cryptography, 1 core)", f"{raw:,.0f} entries/s", "1.00 × raw verify")
    w = args.workers
    line(f"(b) ingest ({w} worker{'s' if w != 1 else ''})", f"{multi_rate:,.0f} entries/s",
         f"{multi_rate / raw:.2f} × raw verify")
    line("(c) ingest (workers=1, one process)", f"{single_rate:,.0f} entries/s",
         f"{single_rate / raw:.2f} × raw verify  (target ≥ 0.70: "
         f"{'met' if single_rate / raw >= 0.7 else 'NOT met'})")
    line("(d) store size", f"{multi['size'] / n:,.0f} bytes/entry",
         f"{multi['size'] / n / mean_size:.2f} × entry bytes "
         f"({multi['size'] / 2**20:,.1f} MiB in all)")
    line("(e) peak RSS of the ingest", f"{multi['rss_kb'] / 1024:,.0f} MiB",
         f"(each verify worker {multi['worker_rss_kb'] / 1024:,.0f} MiB; "
         f"workers=1: {single['rss_kb'] / 1024:,.0f} MiB)")
    if nacl is None:
        line("(f) PyNaCl verify (1 core)", "not installed", "(pip install pynacl to measure)")
    else:
        line("(f) PyNaCl verify (1 core)", f"{nacl:,.0f} entries/s",
             f"{nacl / raw:.2f} × raw verify")
    print(f"ingest_ratio={multi_rate / raw:.2f}")


if __name__ == "__main__":
    main()
