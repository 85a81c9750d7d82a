"""Checkpoints in the fold (SPEC §14.1) and the offline proofs (§14.2).

A checkpoint at seq s must cover s-1 entries and carry the Merkle root of the log
before it; a false one breaks the log there, on every node and in every order. Every
inclusion and consistency proof made from a log verifies offline, and any change to a
proof file makes it fail with a reason; a fork proof is two signed entries at one seq.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger import crypto
from coopledger.crypto import SecretKey
from coopledger.protocol import (
    Entry,
    MemorySource,
    ProofError,
    check_proof,
    create_entry,
    fold,
    make_consistency,
    make_fork,
    make_inclusion,
)
from coopledger.protocol._fold import Folder
from coopledger.protocol._proofs import MAX_PROOF_BYTES, dumps
from coopledger.protocol._state import LedgerState

A = SecretKey(bytes([7]) * 32)
W = SecretKey(bytes([8]) * 32)   # a witness
T0 = 1_767_225_600_000


def grow(key: SecretKey, log: list[Entry], kind: str = "x.note",
         body: dict[str, Any] | None = None) -> Entry:
    """Append the next entry to ``log`` (genesis first)."""
    if not log:
        e = create_entry(key, seq=1, prev=None, ts=T0, kind="genesis", body={"name": "Mill"})
    else:
        e = create_entry(key, seq=len(log) + 1, prev=log[-1].id, ts=T0 + len(log),
                         kind=kind, body=body if body is not None else {"n": len(log)})
    log.append(e)
    return e


def tree_of(log: list[Entry]) -> crypto.Frontier:
    f = crypto.Frontier()
    f.extend(crypto.leaf_hash(e.id) for e in log)
    return f


def checkpoint(key: SecretKey, log: list[Entry], *, size: int | None = None,
               root: bytes | None = None) -> Entry:
    f = tree_of(log)
    return grow(key, log, "checkpoint", {"size": f.size if size is None else size,
                                         "root": (root or f.root()).hex()})


def made_log(n: int, every: int = 4, key: SecretKey = A) -> list[Entry]:
    log: list[Entry] = []
    grow(key, log)
    while len(log) < n:
        if len(log) % every == 0:
            checkpoint(key, log)
        else:
            grow(key, log)
    return log


# --- the fold ---------------------------------------------------------------------------


def test_a_true_checkpoint_applies_and_the_tree_follows_the_log() -> None:
    log = made_log(13)
    st_ = fold(log).authors[A.public.raw]
    assert st_.length == 13 and st_.broken is None
    assert st_.tree.size == 13
    assert st_.tree.root() == crypto.root([crypto.leaf_hash(e.id) for e in log])


@pytest.mark.parametrize("lie", ["size-short", "size-long", "root"])
def test_a_false_checkpoint_breaks_the_log_there(lie: str) -> None:
    log = made_log(5)
    f = tree_of(log)
    if lie == "size-short":
        bad = checkpoint(A, log, size=f.size - 1)
    elif lie == "size-long":
        bad = checkpoint(A, log, size=f.size + 1)
    else:
        bad = checkpoint(A, log, root=crypto.leaf_hash(b"another history"))
    grow(A, log)
    st_ = fold(log).authors[A.public.raw]
    assert st_.length == bad.seq - 1
    assert st_.broken == (bad.seq, "checkpoint")
    assert fold(log).to_value()["coops"][A.public.hex()]["broken"] == {  # type: ignore[index]
        "seq": bad.seq, "reason": "checkpoint"}


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.lists(st.integers(1, 39), max_size=6),
       st.one_of(st.none(), st.integers(1, 39)), st.randoms(use_true_random=False))
def test_checkpoints_are_judged_the_same_in_any_order(
        n: int, at: list[int], false_at: int | None, rnd: random.Random) -> None:
    log: list[Entry] = []
    grow(A, log)
    first_false = None
    while len(log) < n:
        if len(log) in at or len(log) == false_at:
            lie = len(log) == false_at
            if lie and first_false is None:
                first_false = len(log) + 1
            checkpoint(A, log, root=crypto.leaf_hash(b"lie") if lie else None)
        else:
            grow(A, log)
    expected = fold(log)
    st_ = expected.authors[A.public.raw]
    if first_false is None:
        assert st_.length == n and st_.broken is None
    else:
        assert st_.length == first_false - 1 and st_.broken == (first_false, "checkpoint")
    # Any order, all at once or in batches through the incremental folder.
    shuffled = log[:]
    rnd.shuffle(shuffled)
    assert fold(shuffled).state_hash() == expected.state_hash()
    src, state = MemorySource(), LedgerState()
    folder = Folder(state, src)
    while shuffled:
        k = rnd.randint(1, len(shuffled))
        batch, shuffled = shuffled[:k], shuffled[k:]
        folder.advance(src.add(batch))
    assert state.state_hash() == expected.state_hash()
    assert state.authors[A.public.raw].tree == st_.tree


# --- proofs -----------------------------------------------------------------------------


def cosign(cp: Entry, seq: int = 2) -> Entry:
    g = create_entry(W, seq=1, prev=None, ts=T0, kind="genesis", body={"name": "Witness"})
    return create_entry(W, seq=seq, prev=g.id, ts=T0 + 5, kind="checkpoint.cosign",
                        refs=[cp.id], body={"checkpoint": cp.id.hex(), "entry": cp.raw})


def test_every_inclusion_proof_verifies_and_names_its_witnesses() -> None:
    log = made_log(23, every=5)
    tree = crypto.Tree(crypto.leaf_hash(e.id) for e in log)
    cps = [e for e in log if e.kind == "checkpoint"]
    last = cps[-1]
    for e in log[: last.seq - 1]:
        doc = make_inclusion(e, last, tree, [cosign(last)])
        got = check_proof(dumps(doc))
        assert got.type == "inclusion" and got.author == A.public.raw
        assert got.witnesses == [W.public.raw]
    with pytest.raises(ProofError, match="not covered"):
        make_inclusion(log[-1], cps[0], tree)


def test_every_consistency_proof_verifies() -> None:
    log = made_log(30, every=3)
    tree = crypto.Tree(crypto.leaf_hash(e.id) for e in log)
    cps = [e for e in log if e.kind == "checkpoint"]
    for i, old in enumerate(cps):
        for new in cps[i:]:
            got = check_proof(dumps(make_consistency(old, new, tree)))
            assert got.type == "consistency" and not got.misconduct


def _tamper(doc: dict[str, Any], rnd: random.Random) -> tuple[str, dict[str, Any]]:
    """One random change to a proof document, with a label for the failure message."""
    out = json.loads(json.dumps(doc))
    keys = [k for k in out if k not in ("format", "type", "cosigns")]
    key = rnd.choice(keys)
    value = out[key]
    if isinstance(value, int):
        out[key] = value + rnd.choice([-1, 1])
    elif isinstance(value, list):
        if not value:
            out[key] = [bytes(32).hex()]
        else:
            i = rnd.randrange(len(value))
            h = bytearray(bytes.fromhex(value[i]))
            h[rnd.randrange(32)] ^= 1 << rnd.randrange(8)
            value[i] = h.hex()
    else:
        b = bytearray(bytes.fromhex(value))
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        out[key] = b.hex()
    return key, out


@settings(max_examples=150, deadline=None)
@given(st.integers(5, 60), st.data())
def test_any_change_to_a_proof_makes_it_fail(n: int, data: st.DataObject) -> None:
    log = made_log(n, every=3)
    tree = crypto.Tree(crypto.leaf_hash(e.id) for e in log)
    cps = [e for e in log if e.kind == "checkpoint"]
    new = cps[-1]
    if data.draw(st.booleans()):
        entry = log[data.draw(st.integers(0, new.seq - 2))]
        doc = make_inclusion(entry, new, tree)
    else:
        old = cps[data.draw(st.integers(0, len(cps) - 1))]
        doc = make_consistency(old, new, tree)
    check_proof(dumps(doc))
    key, bad = _tamper(doc, data.draw(st.randoms(use_true_random=False)))
    if bad == doc:
        return
    with pytest.raises(ProofError):
        check_proof(dumps(bad))
        pytest.fail(f"changed {key} but the proof still verified")


def test_a_fork_proof_is_two_signed_entries_at_one_seq() -> None:
    log = made_log(4)
    other = create_entry(A, seq=4, prev=log[2].id, ts=T0 + 99, kind="x.note", body={"n": "x"})
    got = check_proof(dumps(make_fork(log[3], other)))
    assert got.misconduct and got.type == "fork" and got.author == A.public.raw
    for a, b, why in [(log[3], log[3], "same entry"), (log[2], log[3], "seqs"),
                      (log[3], made_log(4, key=W)[3], "different authors")]:
        with pytest.raises(ProofError, match=why):
            check_proof(dumps({"format": "coopledger-proof/1", "type": "fork",
                               "a": a.raw.hex(), "b": b.raw.hex()}))


@pytest.mark.parametrize(("text", "why"), [
    ("not json", "not a JSON document"),
    ("[1, 2]", "a JSON object"),
    ('{"type": "fork"}', "not a coopledger proof"),
    ('{"format": "coopledger-proof/1", "type": "magic"}', "unknown proof type"),
    ('{"format": "coopledger-proof/1", "type": "fork", "a": "zz", "b": "00"}', "not hex"),
    ('{"format": "coopledger-proof/1", "type": "fork", "a": "00", "b": "00"}',
     "not a valid signed entry"),
    ('{"format": "coopledger-proof/1", "type": "inclusion"}', "no field 'entry'"),
    (" " * (MAX_PROOF_BYTES + 1), "at most"),
])
def test_malformed_proof_files_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(ProofError, match=why):
        check_proof(text)


def test_a_proof_against_a_false_checkpoint_is_refused() -> None:
    log = made_log(5)
    liar = checkpoint(A, log, size=2)
    tree = crypto.Tree(crypto.leaf_hash(e.id) for e in log)
    doc = {"format": "coopledger-proof/1", "type": "inclusion", "entry": log[0].raw.hex(),
           "checkpoint": liar.raw.hex(), "index": 0,
           "path": [h.hex() for h in tree.inclusion_proof(0, 2)]}
    with pytest.raises(ProofError, match="false checkpoint"):
        check_proof(dumps(doc))


def test_a_cosign_of_another_checkpoint_is_refused() -> None:
    log = made_log(9, every=3)
    tree = crypto.Tree(crypto.leaf_hash(e.id) for e in log)
    cps = [e for e in log if e.kind == "checkpoint"]
    doc = make_inclusion(log[0], cps[-1], tree, [cosign(cps[0])])
    with pytest.raises(ProofError, match="cosigns\\[0\\]"):
        check_proof(dumps(doc))
