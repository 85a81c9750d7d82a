"""Signature verification in bulk, on every core.

Ed25519 verification is the CPU bound of ingest (docs/libp2p.md, "Throughput"). For large
batches the work is split over worker processes (one per core, ``node/_verify_worker.py``) that
talk over pipes; small batches are verified inline, where a round trip would cost more
than it saves. Our own small workers rather than ``multiprocessing``: its spawn mode
re-imports the caller's ``__main__`` and its fork mode is unsafe in a threaded daemon.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import msgpack

from coopledger import crypto
from coopledger.protocol import Entry

from ._errors import NodeError

# Below this many entries a batch is verified in this process.
INLINE_LIMIT = 256

_LEN = struct.Struct(">I")
_Item = tuple[bytes, bytes, bytes]  # (author, signature, signed bytes)


def _items(entries: Sequence[Entry]) -> list[_Item]:
    return [(e.author, e.signature, e.signing_input()) for e in entries]


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coopledger.node._verify_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self.lock = threading.Lock()

    def verify(self, items: list[_Item]) -> list[bool]:
        body = msgpack.packb(items, use_bin_type=True)
        with self.lock:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            try:
                self.proc.stdin.write(_LEN.pack(len(body)) + body)
                self.proc.stdin.flush()
                head = self.proc.stdout.read(_LEN.size)
                answer = self.proc.stdout.read(_LEN.unpack(head)[0]) if len(head) == 4 else b""
            except (BrokenPipeError, OSError) as exc:
                raise NodeError("a signature-verification worker died") from exc
        if len(answer) != len(items):
            raise NodeError("a signature-verification worker died")
        return [b == 1 for b in answer]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


class Verifier:
    """Verifies entries' signatures, in worker processes when ``workers`` > 1.

    Use as a context manager; workers start on first large batch and stop on exit.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._procs: list[_Worker] = []
        self._threads: ThreadPoolExecutor | None = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        for w in self._procs:
            w.close()
        self._procs = []

    def _start(self) -> None:
        if not self._procs:
            self._procs = [_Worker() for _ in range(self.workers)]
            self._threads = ThreadPoolExecutor(max_workers=self.workers,
                                               thread_name_prefix="coop-verify")

    def submit(self, entries: Sequence[Entry]) -> Future[list[bool]] | list[bool]:
        """Start verifying ``entries``; returns a future of per-entry results, or the
        results themselves when the batch is small or one worker is configured."""
        items = _items(entries)
        if self.workers <= 1 or len(items) < INLINE_LIMIT:
            return [crypto.verify(a, s, m) for a, s, m in items]
        self._start()
        assert self._threads is not None
        n = len(self._procs)
        size = -(-len(items) // n)
        parts = [self._threads.submit(w.verify, items[i * size : (i + 1) * size])
                 for i, w in enumerate(self._procs)]
        combined: Future[list[bool]] = Future()
        remaining = [len(parts)]
        guard = threading.Lock()

        def done(_: object) -> None:
            with guard:
                remaining[0] -= 1
                if remaining[0]:
                    return
            try:
                combined.set_result([ok for p in parts for ok in p.result()])
            except BaseException as exc:
                combined.set_exception(exc)

        for p in parts:
            p.add_done_callback(done)
        return combined

    def verify(self, entries: Sequence[Entry]) -> list[bool]:
        res = self.submit(entries)
        return res if isinstance(res, list) else res.result()
