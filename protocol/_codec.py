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

from typing import TypeAlias, cast

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


_SCALARS = (str, bytes, bool, type(None))


def _canonical(value: object, depth: int) -> object:
    """Check the value model and return ``value`` with every dict key-sorted."""
    if depth > MAX_DEPTH:
        raise WrongType(f"nesting deeper than {MAX_DEPTH} levels")
    t = type(value)
    if t in _SCALARS:
        return value
    if t is int:
        if not _INT_MIN <= value <= _INT_MAX:  # type: ignore[operator]
            raise WrongType("integer out of the 64-bit range")
        return value
    if t is list or t is tuple:
        if value and depth >= MAX_DEPTH:  # its items would be too deep
            raise WrongType(f"nesting deeper than {MAX_DEPTH} levels")
        return [v if type(v) in _SCALARS else _canonical(v, depth + 1)
                for v in value]  # type: ignore[attr-defined]
    if t is dict:
        assert isinstance(value, dict)
        for key in value:
            if type(key) is not str:
                raise WrongType("map keys must be strings")
        # Code-point order of str equals byte order of their UTF-8 encodings.
        return {k: _canonical(value[k], depth + 1) for k in sorted(value)}
    if isinstance(value, float):
        raise FloatNotAllowed("floats are not allowed; quantities are decimal strings")
    # Subclasses (an IntEnum, a str subclass) fall back to the slower checks.
    if isinstance(value, bool | str | bytes):
        return value
    if isinstance(value, int):
        return _canonical(int(value), depth)
    if isinstance(value, list | tuple):
        return _canonical(list(value), depth)
    if isinstance(value, dict):
        return _canonical(dict(value), depth)
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


# The decoder checks canonical form in two halves. msgpack calls these hooks for every
# map and array as it builds them (from C, so this costs one call per container):
# they reject floats, non-str keys and keys that are not strictly increasing (that is,
# unsorted or duplicated). Then re-packing the decoded value *in the order it was read*
# must give back the input bytes, which rejects every non-shortest form.


_NOT_IN_MODEL = frozenset({float, msgpack.Timestamp})


def _reject_scalar(v: object) -> None:
    # msgpack decodes its timestamp extension (type -1) itself, without ext_hook.
    if type(v) is float:
        raise FloatNotAllowed("floats are not allowed; quantities are decimal strings")
    if type(v) is msgpack.Timestamp:
        raise WrongType("msgpack ext types are not allowed")


def _pairs_hook(pairs: list[tuple[object, object]]) -> dict[str, object]:
    prev: str | None = None
    for k, v in pairs:
        if type(k) is not str:
            raise WrongType("map keys must be strings")
        if prev is not None and k <= prev:
            raise NonCanonicalEncoding(
                "map keys are not sorted by their UTF-8 bytes, or repeat")
        prev = k
        if type(v) in _NOT_IN_MODEL:
            _reject_scalar(v)
    return dict(pairs)  # type: ignore[arg-type]


def _list_hook(items: list[object]) -> list[object]:
    for v in items:
        if type(v) in _NOT_IN_MODEL:
            _reject_scalar(v)
    return items


def _check_depth(value: object, depth: int, what: str) -> None:
    """The rule ``encode`` applies: no value (of any type) deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH or (depth == MAX_DEPTH and value):
        raise WrongType(f"{what} is nested deeper than {MAX_DEPTH} levels")
    children = value.values() if isinstance(value, dict) else cast("list[object]", value)
    for v in children:
        if type(v) is list or type(v) is dict:
            _check_depth(v, depth + 1, what)


def decode(data: bytes, *, max_size: int | None = None, what: str = "value") -> Value:
    """Decode canonical msgpack ``data`` into one value.

    Raises (all subclasses of BadEncoding): TrailingBytes if bytes follow the value,
    FloatNotAllowed for floats, WrongType for ext types or non-str map keys,
    NonCanonicalEncoding if the bytes are not the canonical encoding of what they hold,
    and BadEncoding for anything msgpack cannot parse (truncation, invalid UTF-8).
    """
    limit = len(data) if max_size is None else max_size
    # Count containers as they are built: with at most MAX_DEPTH of them no value can
    # be too deep, and the depth walk below (a cost on every entry) can be skipped.
    containers = 0

    def pairs_hook(pairs: list[tuple[object, object]]) -> dict[str, object]:
        nonlocal containers
        containers += 1
        return _pairs_hook(pairs)

    def list_hook(items: list[object]) -> list[object]:
        nonlocal containers
        containers += 1
        return _list_hook(items)

    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=False,
            ext_hook=_ext_hook,
            object_pairs_hook=pairs_hook,
            list_hook=list_hook,
            max_str_len=limit,
            max_bin_len=limit,
            max_array_len=limit,
            max_map_len=limit,
            max_ext_len=limit,
        )
    except BadEncoding as exc:  # from a hook: say what was being decoded
        raise type(exc)(f"{what}: {exc.message}") from exc
    except msgpack.ExtraData as exc:
        raise TrailingBytes(f"{what} is followed by {len(exc.extra)} extra bytes") from exc
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"{what} holds text that is not valid UTF-8") from exc
    except TypeError as exc:  # msgpack's only TypeError here: an unhashable map key
        raise WrongType(f"{what} has a map key that is not a string") from exc
    except (ValueError, msgpack.UnpackException) as exc:
        if isinstance(exc, WrongType):
            raise
        raise BadEncoding(f"{what} is not valid msgpack ({type(exc).__name__})") from exc
    except RecursionError as exc:
        raise WrongType(f"{what} is nested too deeply") from exc
    t = type(value)
    if t is float:
        raise FloatNotAllowed(f"{what}: floats are not allowed")
    if t is msgpack.Timestamp:
        raise WrongType(f"{what}: msgpack ext types are not allowed")
    if containers > MAX_DEPTH:
        _check_depth(value, 0, what)
    if msgpack.packb(value, use_bin_type=True) != data:
        raise NonCanonicalEncoding(f"{what} is not in canonical msgpack form")
    return value  # type: ignore[no-any-return]
