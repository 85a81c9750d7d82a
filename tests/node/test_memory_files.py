"""The per-peer sync memory files (node/_syncsched.MemoryFiles).

CI found a daemon killed by two sessions with one peer (one each way) saving their
memory at the same moment through one temporary file name."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from coopledger.node._syncsched import MemoryFiles
from coopledger.protocol._sync import Head, PeerMemory

PEER = "12D3KooWNV7jsuqguZuJtK2dyHkiYZkNkzKDxKRm9CVzJ37odZP8"


def memory(seq: int) -> PeerMemory:
    author = bytes([seq % 256]) * 32
    return PeerMemory("default", {author: Head(seq, bytes(32), seq)})


def test_concurrent_saves_for_one_peer_all_succeed(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    files = MemoryFiles(tmp_path)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        start.wait()
        try:
            for i in range(200):
                files.save(PEER, memory(k * 1000 + i + 1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with caplog.at_level(logging.WARNING):
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert "not saved" not in caplog.text
    loaded = files.load(PEER)
    assert loaded is not None
    # The survivor is the last write of one of the writers, whole.
    (head,) = loaded.heads.values()
    assert head.seq % 1000 == 200
    assert [p.name for p in tmp_path.iterdir()] == [f"{PEER}.mem"]


def test_save_failure_is_logged_not_raised(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    files = MemoryFiles(tmp_path / "missing")
    with caplog.at_level(logging.WARNING):
        files.save(PEER, memory(1))
    assert "sync memory for" in caplog.text and "not saved" in caplog.text
    assert files.load(PEER) is None


def test_damaged_or_missing_memory_loads_as_none(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path)
    assert files.load(PEER) is None
    files.path(PEER).write_bytes(b"\xc1 not msgpack")
    assert files.load(PEER) is None
    files.save(PEER, memory(3))
    assert files.load(PEER) == memory(3)


async def test_a_bug_in_one_session_is_logged_and_the_node_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    """The race above killed the whole daemon; a session's bug now drops that session."""
    from coopledger.node._daemon import Node
    from coopledger.node._syncsched import INTERNAL_ERROR, PeerSync

    node = Node.__new__(Node)  # only the session guard is exercised: no libp2p host
    node._syncs = {PEER: PeerSync()}

    async def broken(stream: object, peer: str, direction: str) -> None:
        raise FileNotFoundError("a bug")

    class Stream:
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    node._run_session = broken  # type: ignore[method-assign]
    stream = Stream()
    with caplog.at_level(logging.ERROR):
        await node._guarded_session(stream, PEER, "out")  # type: ignore[arg-type]
    assert INTERNAL_ERROR in caplog.text and "FileNotFoundError: a bug" in caplog.text
    assert stream.closed
    assert node._syncs[PEER].last_result == "internal-error"
