"""The entry test vectors in tests/vectors/entries.json (data, not code), and their
agreement with protocol/SPEC.md and with the script that writes them."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

import coopledger.protocol as protocol
from coopledger.crypto import SecretKey
from coopledger.protocol import (
    Entry,
    ValidationError,
    decode_entry,
    fold,
    open_entry,
    validate_chain,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "tests" / "vectors"
DATA: dict[str, Any] = json.loads((VECTORS_DIR / "entries.json").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = DATA["entries"]
VALID = [v for v in ENTRIES if v["valid"]]
INVALID = [v for v in ENTRIES if not v["valid"]]
SPEC = ROOT / "protocol" / "SPEC.md"


def test_the_file_has_both_kinds_of_vector() -> None:
    assert len(VALID) >= 6 and len(INVALID) >= 20
    names = [v["name"] for v in ENTRIES]
    assert len(set(names)) == len(names)
    for v in ENTRIES:
        assert set(v) == {"name", "hex", "id", "valid", "error", "note"}
        assert (v["id"] is None) != v["valid"]
        assert (v["error"] is None) == v["valid"]


def test_keys_are_the_rfc_8032_ones() -> None:
    for k in DATA["keys"].values():
        assert SecretKey(bytes.fromhex(k["secret"])).public.hex() == k["public"]
    assert DATA["keys"]["author"]["secret"].startswith("9d61b19d")


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    entry = open_entry(data)
    assert entry.id.hex() == vector["id"]
    assert entry.raw == data
    assert entry.author.hex() == DATA["keys"]["author"]["public"]


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_vector(vector: dict[str, Any]) -> None:
    expected = getattr(protocol, vector["error"])
    assert issubclass(expected, ValidationError)
    with pytest.raises(ValidationError) as info:
        open_entry(bytes.fromhex(vector["hex"]))
    assert type(info.value) is expected, info.value
    assert info.value.reason == expected.reason_code


def _valid_entries() -> dict[str, Entry]:
    return {v["name"]: decode_entry(bytes.fromhex(v["hex"])) for v in VALID}


def test_valid_vectors_form_one_chain() -> None:
    chain = list(_valid_entries().values())
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    for prev, entry in itertools.pairwise(chain):
        validate_chain(entry, prev)


@pytest.mark.parametrize("state", DATA["states"], ids=[s["name"] for s in DATA["states"]])
def test_state_vector(state: dict[str, Any]) -> None:
    entries = _valid_entries()
    folded = fold([entries[n] for n in state["entries"]], as_of=state["as_of"])
    assert folded.encode().hex() == state["state_hex"]
    assert folded.state_hash() == state["state_hash"]


def test_the_script_reproduces_the_file() -> None:
    # The vectors are generated, so a wire change shows up here as well as above.
    spec = importlib.util.spec_from_file_location(
        "make_vectors", VECTORS_DIR / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == (VECTORS_DIR / "entries.json").read_text(encoding="utf-8")


def test_spec_quotes_the_vectors() -> None:
    text = SPEC.read_text(encoding="utf-8")
    compact = re.sub(r"\s+", "", text)
    by_name = {v["name"]: v for v in ENTRIES}
    for name in ("genesis", "labor"):
        assert by_name[name]["hex"] in compact, name
        assert by_name[name]["id"] in compact, name
    assert DATA["states"][0]["state_hash"] in compact
    assert DATA["keys"]["author"]["secret"] in compact


def test_spec_reason_codes_match_the_code() -> None:
    text = SPEC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` +\| `(invalid:[a-z-]+)` ", text, re.MULTILINE))
    classes = {name: getattr(protocol, name) for name in dir(protocol)
               if isinstance(getattr(protocol, name), type)
               and issubclass(getattr(protocol, name), ValidationError)}
    assert rows == {name: cls.reason_code for name, cls in classes.items()}


def test_spec_signature_context() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert protocol.SIGNATURE_CONTEXT.hex() in text
    assert len(protocol.SIGNATURE_CONTEXT) == 20


def test_spec_patterns_match_the_code() -> None:
    from coopledger.protocol._decimal import _CANONICAL
    from coopledger.protocol._kinds import KIND_PATTERN

    text = SPEC.read_text(encoding="utf-8")
    assert _CANONICAL.pattern in text
    assert KIND_PATTERN.pattern in text
