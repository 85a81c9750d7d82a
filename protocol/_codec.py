"""Canonical msgpack: exactly one byte string per value.

The value model is: nil, bool, int (-2**63 … 2**64-1), str (UTF-8), bytes (bin), list
(array) and dict with str keys (map). Floats and ext types do not exist in it.
Canonical means:

* integers in their shortest msgpack form (positive fixint, uint8 … int64);
* str as fixstr/str8/str16/str32, bytes as bin8/bin16/bin32, both shortest;
* map keys are str, unique, and sorted by their UTF-8 bytes (byte-wise);
* exactly one value, with nothing after it.

``encode`` produces canonical bytes. ``decode`` accepts only canonical bytes: it
decodes and then re-encodes, and any difference is NonCanonicalEncoding. This is the
property every signature and id in the system relies on: the bytes are the value.
"""

from __future__ import annotations

from typing import TypeAlias

import msgpack

from ._errors import (
    BadEncoding,
    FloatNotAllowed,
    NonCanonicalEncoding,
    TrailingBytes,
    WrongType,
)

Value: TypeAlias = (
    bool | int | str | bytes | list["Value"] | dict[str, "Value"] | None
)

# Nesting deeper than this is never needed by any entry kind; the limit keeps a
# hostile input from exhausting the stack.
MAX_DEPTH = 16

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def _canonical(value: object, depth: int) -> object:
    """Check the value model and return ``value`` with every dict key-sorted."""
    if depth > MAX_DEPTH:
        raise WrongType(f"nesting deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | str | bytes):
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise WrongType("integer out of the 64-bit range")
        return value
    if isinstance(value, float):
        raise FloatNotAllowed("floats are not allowed; quantities are decimal strings")
    if isinstance(value, list | tuple):
        return [_canonical(v, depth + 1) for v in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise WrongType("map keys must be strings")
        ordered = sorted(value, key=lambda k: k.encode("utf-8"))
        return {k: _canonical(value[k], depth + 1) for k in ordered}
    raise WrongType(f"type {type(value).__name__} is not part of the value model")


def encode(value: object) -> bytes:
    """The canonical msgpack bytes of ``value``.

    Raises FloatNotAllowed or WrongType for values outside the model (our own bug if
    the value came from our code).
    """
    packed: bytes = msgpack.packb(
        _canonical(value, 0), use_bin_type=True, strict_types=False
    )
    return packed


def _ext_hook(code: int, data: bytes) -> object:
    raise WrongType("msgpack ext types are not allowed")


def decode(data: bytes, *, max_size: int | None = None, what: str = "value") -> Value:
    """Decode canonical msgpack ``data`` into one value.

    Raises (all subclasses of BadEncoding): TrailingBytes if bytes follow the value,
    FloatNotAllowed for floats, WrongType for ext types or non-str map keys,
    NonCanonicalEncoding if the bytes are not the canonical encoding of what they hold,
    and BadEncoding for anything msgpack cannot parse (truncation, invalid UTF-8).
    """
    limit = len(data) if max_size is None else max_size
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,
            ext_hook=_ext_hook,
            max_str_len=limit,
            max_bin_len=limit,
            max_array_len=limit,
            max_map_len=limit,
            max_ext_len=limit,
        )
    except msgpack.ExtraData as exc:
        raise TrailingBytes(f"{what} is followed by {len(exc.extra)} extra bytes") from exc
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"{what} holds text that is not valid UTF-8") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        if isinstance(exc, WrongType):
            raise
        raise BadEncoding(f"{what} is not valid msgpack ({type(exc).__name__})") from exc
    except RecursionError as exc:
        raise WrongType(f"{what} is nested too deeply") from exc
    if isinstance(value, float):
        raise FloatNotAllowed(f"{what}: floats are not allowed")
    if encode(value) != data:
        raise NonCanonicalEncoding(f"{what} is not in canonical msgpack form")
    return value  # type: ignore[no-any-return]
