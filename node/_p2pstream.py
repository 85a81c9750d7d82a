"""A libp2p stream with trio's stream names and errors (``Stream``), so that the sync
driver and the alert push, which read and write any ``StreamLike``
(node/_framing.py), run over libp2p in the daemon and over trio memory streams in
tests. No libp2p exception leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF, StreamError

DEFAULT_RECEIVE_SIZE = 65536


@contextmanager
def _as_broken() -> Iterator[None]:
    """libp2p's stream errors (of many kinds) as trio.BrokenResourceError."""
    try:
        yield
    except (StreamError, OSError) as exc:
        raise trio.BrokenResourceError(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        # Broad on purpose, and not silent: beneath a stream, Yamux, Noise and the TCP
        # connection raise unrelated types of their own (docs/libp2p.md, "Streams"),
        # and any of them means the stream is gone. It is re-raised as trio's error.
        raise trio.BrokenResourceError(repr(exc)) from exc


class Stream:
    """A libp2p stream with trio's stream names and errors.

    ``receive_some`` returns b"" at a clean end of stream; a stream reset by the
    peer, or cut because the connection went away, raises trio.BrokenResourceError;
    using it after our own ``aclose``/``reset`` raises trio.ClosedResourceError.
    No libp2p exception leaves this class.
    """

    def __init__(self, stream: INetStream, peer_id: str) -> None:
        self._s = stream
        self.peer_id = peer_id
        self._closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        if max_bytes is None:
            max_bytes = DEFAULT_RECEIVE_SIZE
        if max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        try:
            return await self._s.read(max_bytes)
        except StreamEOF:
            # Yamux 0.8.1 reports a reset stream (it drops the stream's bookkeeping
            # before the reader looks) and a dead connection as EOF too; neither is
            # a clean end.
            if getattr(getattr(self._s, "muxed_stream", None), "reset_received", False):
                raise trio.BrokenResourceError("stream reset by peer") from None
            if self._s.muxed_conn.is_closed:
                raise trio.BrokenResourceError("connection lost") from None
            return b""
        except (StreamError, OSError) as exc:
            raise trio.BrokenResourceError(str(exc) or type(exc).__name__) from exc
        except Exception as exc:  # any other library failure is a broken stream too
            raise trio.BrokenResourceError(repr(exc)) from exc

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        with _as_broken():
            await self._s.write(bytes(data))

    async def send_eof(self) -> None:
        """Half-close: the peer reads b"" after our last bytes; we can still read."""
        if self._closed:
            raise trio.ClosedResourceError("stream was closed")
        with _as_broken():
            await self._s.close_write()  # type: ignore[attr-defined]  # NetStream has it

    async def aclose(self) -> None:
        """Close both directions. Idempotent, never raises (trio's contract)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._s.close()
        except Exception:
            # Broad on purpose: trio's aclose never raises, and closing a stream whose
            # connection already went can fail with any of the muxer's or the
            # connection's errors; a closed stream has nothing left to tell.
            pass

    async def reset(self) -> None:
        """Abort: the peer's next read or write fails. Idempotent, never raises."""
        self._closed = True
        try:
            await self._s.reset()
        except Exception:
            # Broad on purpose, as in aclose: an abort that fails leaves the stream
            # as unusable as one that succeeds.
            pass
