"""The store's side of sync (issue 3 groundwork): ``Store.sync_heads`` and
``Store.read_range`` agree with the in-memory model the sync machine is tested with,
and two real SQLite stores converge through ``SyncSession``.

The driver here is the test's (tests/protocol/synckit.py); node/ gets its own with the
daemon. Entries received by sync go through the same checks as bundle entries."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import synckit
from test_convergence import build, step

from coopledger.node import Ingest, Store, Verifier
from coopledger.protocol import LocalHeads


class SqliteSide(synckit.Store):
    """synckit's Store interface over a real node Store."""

    def __init__(self, store: Store) -> None:
        self.real = store

    def heads(self, network: str = "default") -> LocalHeads:
        return LocalHeads(network, self.real.sync_heads())

    def read(self, author: bytes, after: int, up_to: int) -> list[bytes]:
        return self.real.read_range(author, after, up_to)

    def store(self, entries: tuple[bytes, ...]) -> None:
        # The path the daemon will take: the same Ingest as bundle import.
        with Ingest(self.real, verifier=Verifier(workers=1)) as ingest:
            for i, raw in enumerate(entries):
                ingest.add(i, raw)
            ingest.flush()
        assert ingest.counts.rejected == 0, ingest.counts.problems

    def ids(self) -> set[bytes]:
        return {i for i, _ in self.real.iter_raw()}

    def state_hash(self) -> str:
        return self.real.state().state_hash()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(script=st.lists(step, min_size=3, max_size=30), drop=st.sets(st.integers(0, 30),
                                                                    max_size=4))
def test_heads_and_ranges_match_the_model(script, drop) -> None:
    made = build(script)
    held = [e for i, e in enumerate(made) if i not in drop] or made[:1]
    model = synckit.Store(held)
    with Store.open(":memory:") as real:
        real.add_entries(held)
        assert real.sync_heads() == dict(model.heads().heads)
        for author in {e.author for e in held}:
            for after, up_to in ((0, 40), (1, 3), (2, 2)):
                assert real.read_range(author, after, up_to) == model.read(author, after,
                                                                             up_to)


def test_two_sqlite_stores_converge_through_sync(tmp_path: Path) -> None:
    a_store = Store.open(tmp_path / "a.db", create=True)
    b_store = Store.open(tmp_path / "b.db", create=True)
    a, b = SqliteSide(a_store), SqliteSide(b_store)
    # Each holds its own co-op's log; both hold part of a third co-op's, B with a gap.
    mine, theirs, shared = synckit.Store(), synckit.Store(), synckit.Store()
    a_log = mine.append(synckit.KEYS[0], 600)  # several batches and reads
    b_log = theirs.append(synckit.KEYS[1], 40)
    c_log = shared.append(synckit.KEYS[2], 30)
    a_store.add_entries(a_log + c_log[:20])
    b_store.add_entries(b_log + c_log[:10] + [c_log[25]])  # a gap: 26 waits

    pair = synckit.sync(a, b)
    assert pair.a.disconnected is None and pair.b.disconnected is None
    # Everything applied travelled; an entry past a gap is not announced (Rule 1 of
    # protocol/_sync.py) until the gap is filled, so only B still holds it.
    assert b.ids() - a.ids() == {c_log[25].id}
    assert a.ids() - b.ids() == set()
    assert a.state_hash() == b.state_hash()
    # Both remember the same baseline: the next session sends no heads and no entries.
    assert pair.a.memory is not None and pair.a.memory == pair.b.memory
    again = synckit.sync(a, b, pair.a.memory, pair.b.memory)
    assert again.a.session.statistics().entries_sent == 0
    assert again.b.session.statistics().entries_sent == 0
    assert again.a.session.statistics().heads_sent == 0
    a_store.close()
    b_store.close()


def test_ingest_judges_each_entry_and_commits_on_flush(tmp_path: Path) -> None:
    log = synckit.Store().append(synckit.KEYS[3], 6)
    forged = bytearray(log[4].raw)
    forged[-1] ^= 0x01  # last signature byte
    with Store.open(tmp_path / "l.db", create=True) as store:
        store.add_entries(log[:2])
        with Ingest(store, verifier=Verifier(workers=1), batch_size=2) as ingest:
            for i, raw in enumerate([log[0].raw, log[1].raw, log[2].raw, b"\x00junk",
                                     bytes(forged), log[3].raw, log[5].raw, log[2].raw]):
                ingest.add(i, raw)
            ingest.flush()
        c = ingest.counts
        assert (c.new, c.held, c.rejected) == (3, 3, 2)
        assert sorted((p.offset, p.reason) for p in c.problems) == [
            (3, "invalid:trailing-bytes"), (4, "invalid:signature")]
        # Seq 5 was forged, so seq 6 waits: four entries apply.
        assert store.count() == 5 and store.state().authors[log[0].author].length == 4
