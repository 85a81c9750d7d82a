"""A signature-verification worker process: ``python -m coopledger.node._verify_worker``.

Reads requests from stdin and writes answers to stdout, until stdin closes:

    request  = length:u32be  msgpack([[author, signature, signed bytes], …])
    answer   = length:u32be  one byte per item, 1 = verifies, 0 = does not
"""

from __future__ import annotations

import signal
import struct
import sys

import msgpack

from coopledger import crypto

_LEN = struct.Struct(">I")


def _read_exact(stream: object, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))  # type: ignore[attr-defined]
        if not chunk:
            return None
        buf += chunk
    return buf


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the daemon decides when
    # to stop, and closes our stdin then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = _read_exact(stdin, _LEN.size)
        if head is None:
            return
        body = _read_exact(stdin, _LEN.unpack(head)[0])
        if body is None:
            return
        items = msgpack.unpackb(body, raw=False)
        answer = bytes(1 if crypto.verify(a, s, m) else 0 for a, s, m in items)
        stdout.write(_LEN.pack(len(answer)) + answer)
        stdout.flush()


if __name__ == "__main__":
    main()
