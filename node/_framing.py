"""Length-prefixed frames over a byte stream, as both of our stream protocols send them
(``/coopledger/sync/1``, node/_syncdriver.py, and the alert push, node/_alerts_wire.py):
a 4-byte big-endian length, then that many bytes.

``read_frame`` refuses a length over the caller's limit before it reads or buffers the
payload. The two errors it raises carry what the caller needs to word its own reason
code (each protocol has its own vocabulary): ``StreamEnded`` and ``FrameTooLarge``.

The stream is anything with trio's stream methods (``StreamLike``): a libp2p stream
through node/_p2pstream.py, or ``trio.testing.memory_stream_pair`` in tests.
"""

from __future__ import annotations

import struct
from typing import Protocol

from ._errors import NodeError

HEADER = struct.Struct(">I")


class StreamLike(Protocol):
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray: ...
    async def send_all(self, data: bytes | bytearray | memoryview) -> None: ...
    async def aclose(self) -> None: ...


class StreamEnded(NodeError):
    """The stream ended (b"" from ``receive_some``) before a whole frame was read.
    ``inside``: some bytes of the part being read (the length or the payload) had
    arrived already."""

    def __init__(self, inside: bool) -> None:
        super().__init__("stream ended inside a frame" if inside else "stream ended")
        self.inside = inside


class FrameTooLarge(NodeError):
    """A frame's length is over the limit (nothing of its payload was read)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds {limit}")
        self.size, self.limit = size, limit


def frame(payload: bytes) -> bytes:
    """``payload`` with its length in front."""
    return HEADER.pack(len(payload)) + payload


async def read_exactly(stream: StreamLike, n: int) -> bytes:
    """Exactly ``n`` bytes; StreamEnded if the stream ends first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        if not chunk:
            raise StreamEnded(inside=bool(buf))
        buf += chunk
    return bytes(buf)


async def read_frame(stream: StreamLike, limit: int) -> bytes:
    """The payload of the next frame (b"" for an empty one). Raises StreamEnded, or
    FrameTooLarge for a length over ``limit``."""
    (size,) = HEADER.unpack(await read_exactly(stream, HEADER.size))
    if size > limit:
        raise FrameTooLarge(size, limit)
    return await read_exactly(stream, size)
