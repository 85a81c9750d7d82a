"""What the schema tests of the economy's and governance's kinds share: an entry's raw
bytes around a body, a rejection that must name its field, and a deep edit of a body by
path (``rules.units[1].kind``, ``pool[2].coop``)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from coopledger.crypto import SecretKey
from coopledger.protocol import (
    SIGNATURE_CONTEXT,
    BadBody,
    ValidationError,
    create_entry,
    decode_entry,
    encode,
)

KEY = SecretKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
H1 = bytes([1]) * 32
STEP = re.compile(r"([a-z_]+)|\[(\d+)\]")  # one step of a path: a name or [index]


class Schemas:
    """``raw`` and ``reject`` for entries whose refs default to ``refs`` (the ids the
    example bodies name, so their id fields pass)."""

    def __init__(self, refs: list[bytes]) -> None:
        self.refs = refs

    def raw(self, kind: str, body: dict[str, Any], refs: list[bytes] | None = None) -> bytes:
        env = {"v": 1, "author": KEY.public.raw, "seq": 2, "prev": H1, "ts": 1000,
               "kind": kind, "refs": self.refs if refs is None else refs, "body": body}
        env_bytes = encode(env)
        return encode([env_bytes, KEY.sign(SIGNATURE_CONTEXT + env_bytes)])

    def decodes(self, kind: str, body: dict[str, Any]) -> None:
        """``body`` decodes unchanged, and signing it anew gives the same bytes."""
        e = decode_entry(self.raw(kind, body))
        assert e.kind == kind and e.body == body
        made = create_entry(KEY, seq=2, prev=H1, ts=1000, kind=kind, body=body,
                            refs=self.refs)
        assert made.raw == e.raw

    def each_field_required(self, kind: str, minimal: dict[str, Any]) -> list[BadBody]:
        """Dropping any field of a minimal body is refused naming that field."""
        return [self.reject(kind, drop(minimal, field), field) for field in minimal]

    def reject(self, kind: str, body: dict[str, Any], field: str,
               refs: list[bytes] | None = None) -> BadBody:
        with pytest.raises(ValidationError) as info:
            decode_entry(self.raw(kind, body, refs))
        assert type(info.value) is BadBody, info.value
        assert info.value.field == field, info.value
        assert info.value.reason == "invalid:body"
        return info.value


def drop(body: dict[str, Any], *fields: str) -> dict[str, Any]:
    """``body`` without ``fields`` (top-level names)."""
    return {k: v for k, v in body.items() if k not in fields}


def put(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the value at ``path`` (``rules.units[1].kind``)
    replaced; a path whose last step is absent is added."""
    out = copy.deepcopy(body)
    steps = [(m.group(1), m.group(2)) for m in STEP.finditer(path)]
    node: Any = out
    for name, index in steps[:-1]:
        node = node[name] if name else node[int(index)]
    name, index = steps[-1]
    node[name if name else int(index)] = value
    return out


def get(body: Any, path: str) -> Any:
    for m in STEP.finditer(path):
        body = body[m.group(1)] if m.group(1) else body[int(m.group(2))]
    return body
