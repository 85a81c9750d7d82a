"""Length-prefixed frames (node/_framing.py), and how each protocol words their errors:
the sync driver (``_Failed`` reasons) and the alert push (``PushError``)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from coopledger.node._alerts_wire import PushError, read_message
from coopledger.node._alerts_wire import frame as alert_frame
from coopledger.node._errors import NodeError
from coopledger.node._framing import FrameTooLarge, StreamEnded, frame, read_frame
from coopledger.node._syncdriver import _Failed
from coopledger.node._syncdriver import read_frame as read_sync_frame
from coopledger.protocol import MAX_MESSAGE_SIZE, encode


async def reader_of(data: bytes) -> trio.abc.ReceiveStream:
    send, receive = trio.testing.memory_stream_one_way_pair()
    await send.send_all(data)
    await send.aclose()
    return receive


async def test_frames_round_trip_one_byte_at_a_time() -> None:
    send, receive = trio.testing.lockstep_stream_pair()
    async with trio.open_nursery() as n:
        n.start_soon(send.send_all, frame(b"hello") + frame(b"") + frame(b"x" * 300))
        got = [await read_frame(receive, 300) for _ in range(3)]
    assert got == [b"hello", b"", b"x" * 300]


async def test_a_length_over_the_limit_is_refused_before_the_payload() -> None:
    with pytest.raises(FrameTooLarge) as exc:
        await read_frame(await reader_of(frame(b"abcd")), 3)  # payload never read
    assert (exc.value.size, exc.value.limit) == (4, 3)


@pytest.mark.parametrize("data,inside", [(b"", False), (b"\x00\x00", True),
                                         (frame(b"abc")[:4], False),
                                         (frame(b"abc")[:5], True)])
async def test_the_end_of_the_stream_inside_or_between_parts(data: bytes,
                                                             inside: bool) -> None:
    with pytest.raises(StreamEnded) as exc:
        await read_frame(await reader_of(data), 100)
    assert exc.value.inside is inside


@pytest.mark.parametrize("data,reason,message", [
    (b"", "closed:sync-stream", "stream ended"),
    (b"\x00", "closed:sync-stream", "stream ended inside a frame"),
    (frame(b""), "invalid:sync-encoding", "empty frame"),
    ((MAX_MESSAGE_SIZE + 1).to_bytes(4, "big"), "invalid:sync-too-large",
     f"frame of {MAX_MESSAGE_SIZE + 1} bytes exceeds {MAX_MESSAGE_SIZE}"),
])
async def test_the_sync_driver_words_them_as_before(data: bytes, reason: str,
                                                    message: str) -> None:
    with pytest.raises(_Failed) as exc:
        await read_sync_frame(await reader_of(data))  # type: ignore[arg-type]
    assert (exc.value.reason, exc.value.message) == (reason, message)


@pytest.mark.parametrize("data,reason,message", [
    (b"\x00\x00\x00\x09abc", "closed:alert-stream", "the stream ended inside a message"),
    (b"", "closed:alert-stream", "the stream ended inside a message"),
    (frame(b"x" * 11), "invalid:alert-too-large",
     "a message of 11 bytes is over the limit of 10"),
])
async def test_the_alert_push_words_them_as_before(data: bytes, reason: str,
                                                   message: str) -> None:
    with pytest.raises(PushError) as exc:
        await read_message(await reader_of(data), 10)  # type: ignore[arg-type]
    assert (exc.value.reason, exc.value.message) == (reason, message)
    assert isinstance(exc.value, NodeError)


async def test_an_alert_message_is_a_framed_msgpack_map() -> None:
    assert alert_frame({"t": "offer"}) == frame(encode({"t": "offer"}))
    msg = await read_message(await reader_of(alert_frame({"t": "offer"})), 100)
    assert msg == {"t": "offer"}
