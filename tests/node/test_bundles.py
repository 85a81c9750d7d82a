"""Bundle export and import (sneakernet), damaged bundles, and bulk verification.

The import contract (node/_bundles.py): every entry is judged on its own. One damaged
or forged record costs that record and nothing else; a cut-short file imports what
precedes the cut; only a file that is not a bundle at all raises.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator

import pytest
from nodekit import (
    KEYS,
    as_file,
    bad_signature,
    bundle,
    fork_of,
    ledger,
    make_log,
    read_bundle,
    record_offsets,
)

from coopledger.node import ImportReport, Store, Verifier, export_bundle, import_bundle
from coopledger.node._verify import INLINE_LIMIT
from coopledger.protocol import (
    BundleError,
    Entry,
    bundle_record,
    decode,
    decode_entry,
    encode,
    fold,
)

RECORD_HEAD = 5  # type:u8 length:u32
RECORD_CRC = 4


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


@pytest.fixture(scope="module")
def inline() -> Iterator[Verifier]:
    """A verifier that never starts processes: most bundles here are small."""
    with Verifier(workers=1) as v:
        yield v


def import_bytes(store: Store, data: bytes, **kw: object) -> ImportReport:
    return import_bundle(store, as_file(data), **kw)  # type: ignore[arg-type]


def export_bytes(store: Store, **kw: object) -> tuple[int, bytes]:
    f = io.BytesIO()
    n = export_bundle(store, f, **kw)  # type: ignore[arg-type]
    return n, f.getvalue()


# -- round trips ------------------------------------------------------------------------


def test_export_import_round_trip(store: Store) -> None:
    entries = ledger(4, 15, seed=5)
    fork = fork_of(KEYS[2], [e for e in entries if e.author == KEYS[2].public.raw], 4)
    store.add_entries([*entries, fork])
    n, data = export_bytes(store)
    assert n == len(entries) + 1
    with Store.open(":memory:") as other:
        report = import_bytes(other, data)
        assert report.ok and report.complete and report.expected == n
        assert (report.new, report.held, report.rejected, report.damaged) == (n, 0, 0, 0)
        assert report.problems == []
        assert other.count() == store.count()
        assert other.state().state_hash() == store.state().state_hash()
        assert other.state().state_hash() == fold([*entries, fork]).state_hash()
        # Importing the same bundle again changes nothing.
        again = import_bytes(other, data)
        assert again.ok and (again.new, again.held, again.applied) == (0, n, 0)
        assert other.state().state_hash() == store.state().state_hash()


def test_export_filters_and_fork_proofs_travel(store: Store) -> None:
    a, b, c = KEYS[0], KEYS[1], KEYS[2]
    alog = make_log(a, 6, start_ts=1_000)
    blog = make_log(b, 6, start_ts=1_500)
    clog = make_log(c, 3, start_ts=1_200)
    fork = fork_of(a, alog, 2)  # ts 2001: old
    store.add_entries([*alog, *blog, *clog, fork])

    def ids(data: bytes) -> set[bytes]:
        return {e.id for e in read_bundle(data)}

    n, data = export_bytes(store, authors=[b.public.raw])
    assert ids(data) == {e.id for e in blog} and n == len(blog)
    n, data = export_bytes(store, authors=[b.public.raw, c.public.raw])
    assert ids(data) == {e.id for e in blog + clog} and n == 9

    since = 4_000
    n, data = export_bytes(store, since=since)
    recent = {e.id for e in [*alog, *blog, *clog] if e.ts >= since}
    proof = {alog[1].id, fork.id}
    assert recent and not proof & recent
    assert ids(data) == recent | proof, "fork proofs are included whatever since says"
    assert n == len(recent | proof)
    # Exported files import as a whole, and the proof freezes A's log at the other end.
    with Store.open(":memory:") as other:
        report = import_bytes(other, data)
        assert report.ok and report.new == n
        st = other.state().authors[a.public.raw]
        assert st.fork is not None and st.fork.seq == 2

    n, data = export_bytes(store, authors=[a.public.raw], since=since)
    assert ids(data) == {e.id for e in alog if e.ts >= since} | proof
    n, data = export_bytes(store, authors=[b.public.raw], since=since)
    assert ids(data) == {e.id for e in blog if e.ts >= since}, "only the chosen authors' proofs"


# -- damaged bundles --------------------------------------------------------------------


def small_bundle() -> tuple[list[Entry], bytes, list[int]]:
    a, b = KEYS[0], KEYS[1]
    alog = make_log(a, 3)
    blog = make_log(b, 3)
    entries = [alog[0], blog[0], alog[1], blog[1], alog[2], blog[2]]
    data = bundle(entries)
    return entries, data, record_offsets(data)


def flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def reforge(data: bytes, record_offset: int, payload: bytes) -> bytes:
    """Replace the record at ``record_offset`` by one holding ``payload``, CRC and all
    (what a forger does, as opposed to damage in transit)."""
    old_len = int.from_bytes(data[record_offset + 1 : record_offset + 5], "big")
    end = record_offset + RECORD_HEAD + old_len + RECORD_CRC
    return data[:record_offset] + bundle_record(payload) + data[end:]


def assert_only_lost(store: Store, report: ImportReport, entries: list[Entry],
                     lost: int) -> None:
    assert report.new == len(entries) - 1
    assert report.rejected + report.damaged == 1
    assert not store.has(entries[lost].id)
    assert all(store.has(e.id) for i, e in enumerate(entries) if i != lost)


def test_a_flipped_byte_rejects_exactly_that_entry(store: Store) -> None:
    entries, data, offsets = small_bundle()
    k = 3
    report = import_bytes(store, flip(data, offsets[k] + RECORD_HEAD + 40))
    assert_only_lost(store, report, entries, k)
    assert report.damaged == 1 and not report.ok
    [problem] = report.problems
    assert problem.reason == "invalid:damaged" and problem.offset == offsets[k]
    assert problem.entry_id is None
    assert "checksum" in problem.message
    assert report.expected == len(entries)


def test_a_forged_record_is_rejected_by_signature(store: Store) -> None:
    entries, data, offsets = small_bundle()
    k = 2
    raw = entries[k].raw
    # Flip a byte inside the envelope's body text, keep the record's CRC valid.
    payload = flip(raw, raw.index(b"compost"), 0x20)  # "Compost"
    report = import_bytes(store, reforge(data, offsets[k], payload))
    assert_only_lost(store, report, entries, k)
    [problem] = report.problems
    assert (problem.reason, problem.offset) == ("invalid:signature", offsets[k])
    assert report.rejected == 1 and report.damaged == 0 and report.complete


def test_a_bundle_cut_short_imports_what_precedes_the_cut(store: Store) -> None:
    entries, data, offsets = small_bundle()
    k = 4
    cut = data[: offsets[k] + 30]
    report = import_bytes(store, cut)
    assert not report.complete and report.expected is None
    assert report.new == k and all(store.has(e.id) for e in entries[:k])
    assert store.count() == k
    [problem] = report.problems
    assert (problem.reason, problem.offset) == ("invalid:damaged", offsets[k])
    # Cut exactly between records: nothing damaged, just no trailer.
    report = import_bytes(store, data[: offsets[k]])
    assert not report.complete and report.damaged == 0 and report.held == k


def test_concatenated_bundles_import_whole(store: Store) -> None:
    # Two co-ops' bundles copied into one file (`cat a b > c`): both import, complete.
    a = make_log(KEYS[0], 5, name="Garden")
    b = make_log(KEYS[1], 4, name="Repair")
    report = import_bytes(store, bundle(a) + bundle(b))
    assert (report.new, report.rejected, report.damaged) == (9, 0, 0)
    assert report.complete and report.ok
    assert store.state().state_hash() == fold(a + b).state_hash()


class CountingVerifier(Verifier):
    def __init__(self) -> None:
        super().__init__(workers=1)
        self.submitted = 0

    def submit(self, entries):  # type: ignore[no-untyped-def]
        self.submitted += len(entries)
        return super().submit(entries)


def test_reimport_skips_signature_checks_of_held_entries(store: Store) -> None:
    log = make_log(KEYS[0], 20)
    data = bundle(log)
    first = CountingVerifier()
    assert import_bytes(store, data, verifier=first).new == 20
    assert first.submitted == 20
    again = CountingVerifier()
    report = import_bytes(store, data + bundle([bad_signature(log[3])]), verifier=again)
    # The 20 held entries are the same bytes already verified; only the forgery (whose
    # id differs, since the id covers the signature) is checked, and rejected.
    assert (report.held, report.new, report.rejected) == (20, 0, 1)
    assert again.submitted == 1


def test_a_file_that_is_not_a_bundle_raises(store: Store) -> None:
    for data in (b"", b"COOP", b"PK\x03\x04 a zip file, really" * 10,
                 b"COOPBNDL\x09\x00\x00\x00"):
        with pytest.raises(BundleError):
            import_bytes(store, data)
    assert store.count() == 0


@pytest.mark.parametrize("forge", [False, True], ids=["damage", "forgery"])
def test_tampering_with_any_byte_of_an_entry_costs_that_entry_only(
    forge: bool, inline: Verifier
) -> None:
    """Property, exhaustively: for EVERY byte of one entry's record (its payload, and
    for plain damage its header and checksum too) and two different flips, the import
    rejects that entry and stores every other one."""
    entries, data, offsets = small_bundle()
    k = 2
    start = offsets[k]
    payload_len = len(entries[k].raw)
    if forge:
        positions = range(payload_len)
    else:
        positions = range(RECORD_HEAD + payload_len + RECORD_CRC)
    checked = 0
    for pos in positions:
        for mask in (0x01 << (pos % 8), 0xFF):
            if forge:
                tampered = reforge(data, start, flip(entries[k].raw, pos, mask))
            else:
                tampered = flip(data, start + pos, mask)
            with Store.open(":memory:") as s:
                report = import_bytes(s, tampered, verifier=inline)
                where = f"byte {pos} ^ {mask:#04x}"
                assert report.new == len(entries) - 1, where
                assert report.rejected + report.damaged == 1, where
                assert not s.has(entries[k].id), where
                assert s.count() == len(entries) - 1, where
                [problem] = report.problems
                assert problem.offset == start, where
                if forge:
                    assert problem.reason.startswith("invalid:"), where
                    assert problem.reason != "invalid:damaged", where
                else:
                    assert problem.reason == "invalid:damaged", where
            checked += 1
    assert checked == 2 * len(positions) and checked > 400


# -- bulk verification ------------------------------------------------------------------


def mixed_entries(n: int) -> tuple[list[Entry], list[bool]]:
    """``n`` entries, every 7th with a bad signature and one whose author is not a
    point on the curve (so no signature can verify)."""
    log = make_log(KEYS[3], n)
    entries, truth = [], []
    for i, e in enumerate(log):
        if i % 7 == 3:
            entries.append(bad_signature(e))
            truth.append(False)
        else:
            entries.append(e)
            truth.append(True)
    env = _envelope(log[5])
    env["author"] = b"\xff" * 32
    entries[5], truth[5] = _reenvelope(env, log[5].signature), False
    return entries, truth


def _envelope(e: Entry) -> dict[str, object]:
    value = decode(e.envelope_bytes)
    assert isinstance(value, dict)
    return value


def _reenvelope(env: dict[str, object], signature: bytes) -> Entry:
    return decode_entry(encode([encode(env), signature]))


def test_worker_verifier_answers_like_inline() -> None:
    entries, truth = mixed_entries(3 * INLINE_LIMIT + 11)
    assert len(entries) > INLINE_LIMIT and truth.count(False) > 50
    with Verifier(workers=1) as one:
        assert one.verify(entries) == truth
    v = Verifier(workers=2)
    try:
        fut = v.submit(entries)
        assert not isinstance(fut, list), "a large batch goes to the workers"
        assert fut.result(timeout=60) == truth
        assert v.verify(entries[:10]) == truth[:10]  # small: inline
        procs = [w.proc for w in v._procs]
        assert len(procs) == 2 and all(p.poll() is None for p in procs)
        assert v.verify(list(reversed(entries))) == list(reversed(truth))
    finally:
        v.close()
    for p in procs:
        assert p.returncode is not None, "worker still running after close()"
        with pytest.raises(ProcessLookupError):
            os.kill(p.pid, 0)  # exited and reaped: no zombie left


def test_import_with_workers_equals_inline_import(inline: Verifier) -> None:
    entries, truth = mixed_entries(2 * INLINE_LIMIT + 50)
    data = bundle(entries)
    reports, hashes = [], []
    for verifier in (inline, Verifier(workers=2)):
        with Store.open(":memory:") as s, verifier:
            r = import_bytes(s, data, verifier=verifier, batch_size=INLINE_LIMIT + 20)
            reports.append((r.new, r.rejected, r.damaged, r.complete,
                            [(p.offset, p.entry_id, p.reason) for p in r.problems]))
            hashes.append(s.state().state_hash())
    assert reports[0] == reports[1]
    assert reports[0][0] == truth.count(True) and reports[0][1] == truth.count(False)
    assert hashes[0] == hashes[1]


def test_a_default_import_stops_its_workers(store: Store) -> None:
    """import_bundle without a verifier makes one and closes it: no worker outlives it."""
    entries, truth = mixed_entries(INLINE_LIMIT + 40)
    before = _children()
    report = import_bytes(store, bundle(entries), batch_size=INLINE_LIMIT + 1)
    assert report.new == truth.count(True) and report.rejected == truth.count(False)
    assert _children() == before


def _children() -> set[int]:
    """PIDs of this process's live (non-zombie) children."""
    me = os.getpid()
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != b"Z":
            out.add(int(d))
    return out


def test_crc_helper_matches_the_format() -> None:
    # reforge() relies on the record layout; pin it so a format change fails loudly.
    rec = bundle_record(b"abc")
    assert rec[:5] == b"\x01\x00\x00\x00\x03" and rec[5:8] == b"abc"
    assert int.from_bytes(rec[8:], "big") == zlib.crc32(rec[:8])
