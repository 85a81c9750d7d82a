"""Entry and bundle builders shared by the tests in tests/node.

Keys are fixed (seeds 0x01…01, 0x02…02, …) so every run signs the same bytes. Not a
test module: pytest collects only ``test_*.py``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable, Sequence

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    BundleEnd,
    BundleParser,
    BundleRecord,
    Entry,
    Value,
    bundle_header,
    bundle_record,
    bundle_trailer,
    create_entry,
    decode_entry,
    encode,
)

KEYS = [SecretKey(bytes([i + 1]) * 32) for i in range(32)]
NAMES = ["Hillside Garden", "Repair Collective", "Bread & Roses Bakery", "Fab Lab Nord",
         "Solar Commons", "Tool Library", "Night Kitchen", "Seed Bank"]
MEMBERS = ["ana", "ben", "chidi", "dana", "emil", "fatou", "gus", "hana"]


def body_for(i: int) -> tuple[str, dict[str, Value]]:
    """A realistic body of one of the four economic kinds, varied by ``i``."""
    r = i % 4
    day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
    if r == 0:
        return "labor", {"member": MEMBERS[i % 8], "hours": f"{1 + i % 7}.5",
                         "task": "weeding the north beds", "category": "care",
                         "date": day, "paid": i % 3 == 0}
    if r == 1:
        return "material", {"item": "compost", "quantity": str(10 + i % 50), "unit": "kg",
                            "direction": "in", "date": day}
    if r == 2:
        return "energy", {"kwh": f"{i % 9}.25", "flow": "generated", "source": "local"}
    return "goods", {"item": "bread", "quantity": str(1 + i % 20), "unit": "loaf",
                     "flow": "distributed", "to": "kitchen", "date": day}


def genesis(key: SecretKey, name: str, ts: int = 1_000) -> Entry:
    return create_entry(key, seq=1, prev=None, ts=ts, kind="genesis", body={"name": name})


def next_entry(key: SecretKey, prev: Entry, i: int, *, ts: int | None = None,
               refs: Iterable[bytes] = (), kind: str | None = None,
               body: dict[str, Value] | None = None) -> Entry:
    k, b = body_for(i)
    return create_entry(key, seq=prev.seq + 1, prev=prev.id,
                        ts=prev.ts + 1_000 if ts is None else ts,
                        kind=kind or k, body=b if body is None else body, refs=refs)


def make_log(key: SecretKey, n: int, *, name: str = "Co-op", start_ts: int = 1_000,
             step_ms: int = 1_000) -> list[Entry]:
    """A valid log of ``n`` entries (genesis first), timestamps ``start_ts + k*step_ms``."""
    log = [genesis(key, name, start_ts)]
    for i in range(1, n):
        log.append(next_entry(key, log[-1], i, ts=start_ts + i * step_ms))
    return log


def ledger(n_authors: int, per_author: int, *, seed: int = 0,
           ref_rate: float = 0.3) -> list[Entry]:
    """Logs of several authors where some entries ref other authors' earlier entries
    (so causal delivery matters). Returned in creation order."""
    rnd = random.Random(seed)
    keys = KEYS[:n_authors]
    heads: dict[int, Entry] = {}
    made: list[Entry] = []
    for a, key in enumerate(keys):
        heads[a] = genesis(key, NAMES[a % len(NAMES)], 1_000 + a)
        made.append(heads[a])
    for i in range(n_authors * (per_author - 1)):
        a = rnd.randrange(n_authors)
        while heads[a].seq >= per_author:
            a = (a + 1) % n_authors
        refs: list[bytes] = []
        if rnd.random() < ref_rate:
            other = [e for e in made if e.author != keys[a].public.raw]
            refs = [rnd.choice(other).id]
        e = next_entry(keys[a], heads[a], i, refs=refs)
        heads[a] = e
        made.append(e)
    return made


def fork_of(key: SecretKey, log: Sequence[Entry], seq: int) -> Entry:
    """A second, validly signed entry at ``seq`` of ``log`` (misconduct)."""
    target = log[seq - 1]
    if seq == 1:
        return genesis(key, "An impostor", target.ts + 1)
    return create_entry(key, seq=seq, prev=target.prev, ts=target.ts + 1, kind="x.fork",
                        body={"n": 1})


def with_signature(entry: Entry, signature: bytes) -> Entry:
    """``entry`` with another signature (decodes fine, does not verify)."""
    return decode_entry(encode([entry.envelope_bytes, signature]))


def bad_signature(entry: Entry) -> Entry:
    sig = bytearray(entry.signature)
    sig[10] ^= 0x40
    return with_signature(entry, bytes(sig))


def bundle(entries: Iterable[Entry] | Iterable[bytes], *, trailer: bool = True) -> bytes:
    """A bundle holding ``entries`` (Entry objects or raw entry bytes) in order."""
    raws = [e.raw if isinstance(e, Entry) else e for e in entries]
    out = bytearray(bundle_header())
    for raw in raws:
        out += bundle_record(raw)
    if trailer:
        out += bundle_trailer(len(raws))
    return bytes(out)


def record_offsets(data: bytes) -> list[int]:
    """File offsets of the ENTRY records of a well-formed bundle, in order."""
    parser = BundleParser()
    parser.feed(data)
    parser.feed_eof()
    offsets = []
    while (ev := parser.next_event()) is not None and not isinstance(ev, BundleEnd):
        assert isinstance(ev, BundleRecord)
        offsets.append(ev.offset)
    return offsets


def read_bundle(data: bytes) -> list[Entry]:
    """The entries of a well-formed bundle, in file order."""
    parser = BundleParser()
    parser.feed(data)
    parser.feed_eof()
    out = []
    while (ev := parser.next_event()) is not None and not isinstance(ev, BundleEnd):
        assert isinstance(ev, BundleRecord)
        out.append(decode_entry(ev.payload))
    return out


def as_file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
