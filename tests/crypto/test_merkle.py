"""RFC 9162 Merkle trees: published vectors, an independent reference, and properties.

The reference at the top of this file is the RFC's recursive definitions written out
literally (MTH, PATH, SUBPROOF), slow and obviously right; the module under test is
iterative and cached, so agreement between the two is evidence, not tautology. The
vectors in tests/vectors/merkle.json pin both to what other CT implementations compute.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopledger.crypto import (
    EMPTY_ROOT,
    CryptoError,
    Frontier,
    MerkleError,
    Tree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "merkle.json").read_text("utf-8"))
VECTOR_LEAVES = [leaf_hash(bytes.fromhex(d)) for d in VECTORS["leaves"]]


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


# --- the reference: RFC 9162 §2.1 as written ------------------------------------------

def _ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _ref_k(len(d))
    return _ref_node(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _ref_k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    if m == len(d):
        return [] if whole else [ref_mth(d)]
    k = _ref_k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], whole), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else ref_subproof(m, d, True)


def ceil_log2(n: int) -> int:
    return (n - 1).bit_length()


def make_leaves(n: int, seed: bytes = b"") -> list[bytes]:
    """n distinct leaf hashes."""
    return [leaf_hash(b"leaf:" + seed + i.to_bytes(4, "big")) for i in range(n)]


def flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


# --- published vectors -----------------------------------------------------------------

def test_hasher_vectors() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert root([]) == EMPTY_ROOT == Tree().root() == Frontier().root()
    for case in VECTORS["hasher"]:
        if case["kind"] == "leaf":
            got = leaf_hash(case["data_ascii"].encode())
        else:
            got = node_hash(case["left_ascii"].encode(), case["right_ascii"].encode())
        assert got.hex() == case["hash"]


@pytest.mark.parametrize("size", range(1, 9))
def test_vector_roots(size: int) -> None:
    expected = _h(VECTORS["roots"][str(size)])
    leaves = VECTOR_LEAVES[:size]
    assert root(leaves) == expected
    assert Tree(VECTOR_LEAVES).root(size) == expected
    frontier = Frontier()
    frontier.extend(leaves)
    assert frontier.root() == expected
    assert ref_mth(leaves) == expected


@pytest.mark.parametrize("case", VECTORS["inclusion"],
                         ids=lambda c: f"{c['index']}-of-{c['size']}")
def test_vector_inclusion(case: dict[str, object]) -> None:
    index, size = case["index"], case["size"]
    assert isinstance(index, int) and isinstance(size, int)
    proof = [_h(x) for x in case["proof"]]  # type: ignore[attr-defined]
    r = _h(VECTORS["roots"][str(size)])
    leaf = VECTOR_LEAVES[index]
    assert inclusion_proof(VECTOR_LEAVES[:size], index) == proof
    assert Tree(VECTOR_LEAVES).inclusion_proof(index, size) == proof
    assert verify_inclusion(leaf, index, size, proof, r)
    # The probes other CT implementations run against each vector.
    bad: list[tuple[str, bool]] = [
        ("index-1", index > 0 and verify_inclusion(leaf, index - 1, size, proof, r)),
        ("index+1", verify_inclusion(leaf, index + 1, size, proof, r)),
        ("index^2", verify_inclusion(leaf, index ^ 2, size, proof, r)),
        ("size*2", verify_inclusion(leaf, index, size * 2, proof, r)),
        ("size/2", verify_inclusion(leaf, index, size // 2, proof, r)),
        ("wrong leaf", verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, proof, r)),
        ("empty root", verify_inclusion(leaf, index, size, proof, EMPTY_ROOT)),
        ("trailing root", verify_inclusion(leaf, index, size, [*proof, r], r)),
        ("preceding root", verify_inclusion(leaf, index, size, [r, *proof], r)),
        ("short hash", verify_inclusion(leaf, index, size, [*proof, b""], r)),
    ]
    if proof:
        bad.append(("removed", verify_inclusion(leaf, index, size, proof[:-1], r)))
    if len(proof) > 1:
        bad.append(("inserted", verify_inclusion(
            leaf, index, size, [proof[0], EMPTY_ROOT, *proof[1:]], r)))
    for i, p in enumerate(proof):
        for bit in range(256):
            wrong = [*proof[:i], flip(p, bit), *proof[i + 1:]]
            bad.append((f"proof[{i}] bit {bit}", verify_inclusion(leaf, index, size, wrong, r)))
    assert [name for name, ok in bad if ok] == []


@pytest.mark.parametrize("case", VECTORS["consistency"],
                         ids=lambda c: f"{c['old_size']}-to-{c['new_size']}")
def test_vector_consistency(case: dict[str, object]) -> None:
    m, n = case["old_size"], case["new_size"]
    assert isinstance(m, int) and isinstance(n, int)
    proof = [_h(x) for x in case["proof"]]  # type: ignore[attr-defined]
    r1, r2 = _h(VECTORS["roots"][str(m)]), _h(VECTORS["roots"][str(n)])
    assert consistency_proof(VECTOR_LEAVES[:n], m) == proof
    assert Tree(VECTOR_LEAVES).consistency_proof(m, n) == proof
    assert verify_consistency(m, n, r1, r2, proof)
    if not proof:
        return
    wrong_root = leaf_hash(b"WrongRoot")
    bad: list[tuple[str, bool]] = [
        ("m-1", verify_consistency(m - 1, n, r1, r2, proof)),
        ("m+1", verify_consistency(m + 1, n, r1, r2, proof)),
        ("m^2", verify_consistency(m ^ 2, n, r1, r2, proof)),
        ("n*2", verify_consistency(m, n * 2, r1, r2, proof)),
        ("n/2", verify_consistency(m, n // 2, r1, r2, proof)),
        ("wrong root1", verify_consistency(m, n, wrong_root, r2, proof)),
        ("wrong root2", verify_consistency(m, n, r1, wrong_root, proof)),
        ("swapped roots", verify_consistency(m, n, r2, r1, proof)),
        ("empty proof", verify_consistency(m, n, r1, r2, [])),
        ("truncated", verify_consistency(m, n, r1, r2, proof[:-1])),
        ("trailing root1", verify_consistency(m, n, r1, r2, [*proof, r1])),
        ("trailing root2", verify_consistency(m, n, r1, r2, [*proof, r2])),
        ("preceding root1", verify_consistency(m, n, r1, r2, [r1, *proof])),
        ("preceding root2", verify_consistency(m, n, r1, r2, [r2, *proof])),
        ("preceding proof[0]", verify_consistency(m, n, r1, r2, [proof[0], *proof])),
        ("short hash", verify_consistency(m, n, r1, r2, [*proof[:-1], proof[-1][:31]])),
    ]
    for i, p in enumerate(proof):
        for bit in range(256):
            wrong = [*proof[:i], flip(p, bit), *proof[i + 1:]]
            bad.append((f"proof[{i}] bit {bit}", verify_consistency(m, n, r1, r2, wrong)))
    assert [name for name, ok in bad if ok] == []


# --- exhaustive on small trees against the reference -----------------------------------

def test_small_trees_match_the_reference_exactly() -> None:
    leaves = make_leaves(40, b"small")
    tree = Tree(leaves)
    for n in range(0, 41):
        d = leaves[:n]
        r = ref_mth(d)
        assert root(d) == r == tree.root(n)
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert proof == ref_path(i, d), (i, n)
            assert len(proof) <= ceil_log2(n)
            assert verify_inclusion(d[i], i, n, proof, r)
        for m in range(0, n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_proof(m, d), (m, n)
            # RFC 9162 bounds the consistency proof by ceil(log2 n) + 1 (the extra hash is
            # the seed when m is not a power of two, e.g. 4 hashes for 3 -> 7).
            assert len(proof) <= ceil_log2(n) + 1
            assert verify_consistency(m, n, tree.root(m), r, proof), (m, n)


def test_consistency_bound_is_reached() -> None:
    assert len(Tree(make_leaves(7)).consistency_proof(3, 7)) == ceil_log2(7) + 1


# --- hostile and edge-case input to the verifiers --------------------------------------

def test_inclusion_rejects_malformed_input() -> None:
    leaves = make_leaves(5)
    tree = Tree(leaves)
    r, proof = tree.root(), tree.inclusion_proof(3)
    assert verify_inclusion(leaves[3], 3, 5, proof, r)
    assert not verify_inclusion(leaves[3], 5, 5, proof, r)      # index == size
    assert not verify_inclusion(leaves[3], 9, 5, proof, r)      # index > size
    assert not verify_inclusion(leaves[3], -1, 5, proof, r)
    assert not verify_inclusion(leaves[3], 0, 0, [], EMPTY_ROOT)  # nothing is in an empty tree
    assert not verify_inclusion(leaves[3], 3, -5, proof, r)
    assert not verify_inclusion(leaves[3][:31], 3, 5, proof, r)
    assert not verify_inclusion(leaves[3] + b"\x00", 3, 5, proof, r)
    assert not verify_inclusion(leaves[3], 3, 5, proof, r[:31])
    assert not verify_inclusion(leaves[3], 3, 5, [*proof[:-1], proof[-1] + b"x"], r)
    assert not verify_inclusion(leaves[3], 3, 5, [b""] * 3, r)
    assert not verify_inclusion(leaves[3], 3, 5, proof * 1000, r)  # long: rejected unhashed
    assert not verify_inclusion(leaves[3], 3, 2**200, proof, r)
    assert verify_inclusion(bytearray(leaves[3]), 3, 5, [bytearray(p) for p in proof], r)


def test_inclusion_single_leaf() -> None:
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [h], h)
    assert not verify_inclusion(h, 0, 1, [], EMPTY_ROOT)


def test_verifiers_raise_type_error_only_for_misuse() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(TypeError, match="index must be an int"):
        verify_inclusion(h, "0", 1, [], h)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="size must be an int"):
        verify_inclusion(h, 0, 1.0, [], h)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="leaf_hash must be bytes"):
        verify_inclusion(h.hex(), 0, 1, [], h)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="proof must be a sequence"):
        verify_inclusion(h, 0, 2, h, h)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"proof\[0\] must be bytes, not str"):
        verify_inclusion(h, 0, 2, [h.hex()], h)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="old_size must be an int"):
        verify_consistency(True, 2, h, h, [h])
    with pytest.raises(TypeError, match="new_root must be bytes"):
        verify_consistency(1, 2, h, None, [h])  # type: ignore[arg-type]


def test_consistency_edge_cases() -> None:
    leaves = make_leaves(6)
    tree = Tree(leaves)
    r3, r6 = tree.root(3), tree.root(6)
    p = tree.consistency_proof(3, 6)
    assert verify_consistency(3, 6, r3, r6, p)
    # Same size: only the empty proof, only equal roots.
    assert verify_consistency(6, 6, r6, r6, [])
    assert not verify_consistency(6, 6, r6, r3, [])
    assert not verify_consistency(6, 6, r6, r6, [r6])
    # From the empty tree: only the empty proof, and the old root must be the empty root.
    assert verify_consistency(0, 6, EMPTY_ROOT, r6, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, r3, r3, [])
    assert not verify_consistency(0, 6, r3, r6, [])
    assert not verify_consistency(0, 6, EMPTY_ROOT, r6, [r6])
    assert not verify_consistency(0, 6, EMPTY_ROOT, r6, [EMPTY_ROOT])
    # Sizes out of order or negative.
    assert not verify_consistency(6, 3, r6, r3, p)
    assert not verify_consistency(-3, 6, r3, r6, p)
    assert not verify_consistency(3, -6, r3, r6, p)
    # Bad hash lengths anywhere.
    assert not verify_consistency(3, 6, r3[:31], r6, p)
    assert not verify_consistency(3, 6, r3, r6 + b"\x00", p)
    assert not verify_consistency(3, 6, r3, r6, [p[0][:16], *p[1:]])
    assert not verify_consistency(3, 6, r3, r6, p * 1000)
    assert not verify_consistency(3, 2**300, r3, r6, p)


def test_a_proof_does_not_bind_the_tree_size() -> None:
    # RFC 9162 proofs check the shape of the path, not the size itself: where the
    # sizes n and n + 1 give the leaf the same path, the same proof and root verify
    # for both. Sizes must be bound to roots by a signed checkpoint; this pins that
    # fact so nobody relies on the proof for it.
    leaves = make_leaves(4)
    tree = Tree(leaves)
    proof = tree.inclusion_proof(0, 3)
    assert verify_inclusion(leaves[0], 0, 4, proof, tree.root(3))
    assert not verify_inclusion(leaves[0], 0, 4, proof, tree.root(4))  # honest root: no


# --- generation misuse and Frontier / Tree ---------------------------------------------

def test_generation_rejects_bad_arguments() -> None:
    leaves = make_leaves(5)
    tree = Tree(leaves)
    with pytest.raises(MerkleError, match="leaf index 5 is outside a tree of 5 leaves"):
        tree.inclusion_proof(5)
    with pytest.raises(MerkleError, match="leaf index 0 is outside a tree of 0 leaves"):
        tree.inclusion_proof(0, 0)
    with pytest.raises(MerkleError, match=r"tree size 6 is outside 0\.\.5"):
        tree.root(6)
    with pytest.raises(MerkleError, match=r"old size 4 is outside 0\.\.3"):
        tree.consistency_proof(4, 3)
    with pytest.raises(MerkleError, match="old size -1"):
        consistency_proof(leaves, -1)
    with pytest.raises(MerkleError, match="leaf index -1"):
        inclusion_proof(leaves, -1)
    with pytest.raises(MerkleError, match="leaf hash 2 is 31 bytes, expected 32"):
        root([*leaves[:2], leaves[2][:31]])
    with pytest.raises(MerkleError, match="leaf hash 1 is 33 bytes"):
        Tree([leaves[0], leaves[1] + b"x"])
    with pytest.raises(MerkleError, match="leaf hash is 0 bytes"):
        Frontier().append(b"")
    with pytest.raises(MerkleError, match="leaf hash is 64 bytes"):
        tree.append(leaves[0] * 2)
    with pytest.raises(TypeError, match="leaf hash 0 must be bytes, not str"):
        root(["00" * 32])  # type: ignore[list-item]
    assert issubclass(MerkleError, CryptoError)


def test_frontier_from_bytes_rejects_damage() -> None:
    f = Frontier()
    f.extend(make_leaves(5))  # 5 = 4 + 1: two subtree roots
    good = f.to_bytes()
    assert len(good) == 9 + 2 * 32
    assert Frontier.from_bytes(good) == f
    assert Frontier.from_bytes(bytearray(good)) == f
    cases = {
        b"": "frontier is 0 bytes, shorter than its 9-byte header",
        good[:8]: "frontier is 8 bytes",
        b"\x02" + good[1:]: "format version 2, expected 1",
        good[:-1]: "frontier of size 5 needs 2 subtree roots [(]73 bytes[)], got 72 bytes",
        good + b"\x00": "got 74 bytes",
        good[:1] + (6).to_bytes(8, "big") + good[9:]: "",  # 6 = 4 + 2: also two roots
        good[:1] + (7).to_bytes(8, "big") + good[9:]: "size 7 needs 3 subtree roots",
        good[:1] + (2**64 - 1).to_bytes(8, "big") + good[9:]: "needs 64 subtree roots",
    }
    for data, message in cases.items():
        if not message:
            assert Frontier.from_bytes(data).size == 6  # well formed, just another frontier
            continue
        with pytest.raises(MerkleError, match=message):
            Frontier.from_bytes(data)
    with pytest.raises(TypeError):
        Frontier.from_bytes("00")  # type: ignore[arg-type]


def test_frontier_copy_is_independent() -> None:
    a = Frontier()
    a.extend(make_leaves(3))
    b = a.copy()
    b.append(leaf_hash(b"more"))
    assert (a.size, b.size) == (3, 4)
    assert a.root() == root(make_leaves(3))
    assert a != b and a.copy() == a
    assert repr(a).startswith("<Frontier size=3 root=")


def test_root_of_a_large_log_is_iterative() -> None:
    # 2^17 + 1 leaves: a naive recursion would not blow up here, but a quadratic one
    # would take minutes; the three independent paths must agree.
    leaves = make_leaves(2**17 + 1)
    tree = Tree(leaves)
    frontier = Frontier()
    frontier.extend(leaves)
    assert root(leaves) == tree.root() == frontier.root()
    assert tree.frontier() == frontier
    assert node_hash(tree.root(2**17), leaves[-1]) == tree.root()


# --- properties ------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=300)
seeds = st.binary(max_size=4)


@settings(max_examples=100, deadline=None)
@given(n=sizes, seed=seeds, data=st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(
        n: int, seed: bytes, data: st.DataObject) -> None:
    leaves = make_leaves(n, seed)
    tree = Tree(leaves)
    r = tree.root()
    assert r == ref_mth(leaves) == root(leaves)
    for i in range(n):
        proof = tree.inclusion_proof(i)
        assert len(proof) <= ceil_log2(n)
        assert verify_inclusion(leaves[i], i, n, proof, r)
    i = data.draw(st.integers(0, n - 1), label="index")
    proof = tree.inclusion_proof(i)
    assert proof == ref_path(i, leaves) == inclusion_proof(leaves, i)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        wrong = [*proof[:k], flip(proof[k], bit), *proof[k + 1:]]
        assert not verify_inclusion(leaves[i], i, n, wrong, r)
    other = data.draw(st.integers(0, n - 1).filter(lambda j: j != i) if n > 1
                      else st.just(i + 1), label="other index")
    assert not verify_inclusion(leaves[i], other, n, proof, r)
    assert not verify_inclusion(flip(leaves[i], data.draw(st.integers(0, 255))), i, n, proof, r)
    assert not verify_inclusion(leaves[i], i, n, proof, flip(r, data.draw(st.integers(0, 255))))
    assert not verify_inclusion(leaves[i], i, 2 * n, proof, r)
    assert not verify_inclusion(leaves[i], i, n // 2, proof, r)
    # Any other size, checked against that size's true root, fails unless the proof
    # really is that size's proof.
    n2 = data.draw(st.integers(i + 1, n + 5).filter(lambda s: s != n), label="other size")
    bigger = Tree(make_leaves(n2, seed))
    assert (verify_inclusion(leaves[i], i, n2, proof, bigger.root())
            == (bigger.inclusion_proof(i) == proof))


@settings(max_examples=100, deadline=None)
@given(n=sizes, seed=seeds, data=st.data())
def test_every_consistency_proof_verifies_and_tampering_fails(
        n: int, seed: bytes, data: st.DataObject) -> None:
    leaves = make_leaves(n, seed)
    tree = Tree(leaves)
    r = tree.root()
    for m in range(0, n + 1):
        proof = tree.consistency_proof(m)
        assert len(proof) <= ceil_log2(n) + 1
        assert verify_consistency(m, n, tree.root(m), r, proof)
    m = data.draw(st.integers(1, n), label="old size")
    proof = tree.consistency_proof(m)
    assert proof == ref_proof(m, leaves) == consistency_proof(leaves, m)
    r1 = tree.root(m)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        wrong = [*proof[:k], flip(proof[k], bit), *proof[k + 1:]]
        assert not verify_consistency(m, n, r1, r, wrong)
    bit = data.draw(st.integers(0, 255), label="root bit")
    assert not verify_consistency(m, n, flip(r1, bit), r, proof)
    assert not verify_consistency(m, n, r1, flip(r, bit), proof)
    if m < n:
        assert not verify_consistency(m, n, r1, r, proof[:-1])
        assert not verify_consistency(m, n, r1, r, [*proof, r])
        for m2 in (m - 1, m + 1, m ^ 2):
            if m2 != m:
                assert not verify_consistency(m2, n, r1, r, proof)
        assert not verify_consistency(m, 2 * n, r1, r, proof)
        assert not verify_consistency(m, n // 2, r1, r, proof)
    # Other sizes with their true roots fail unless the proof really is theirs.
    m2 = data.draw(st.integers(1, n), label="other old size")
    n2 = data.draw(st.integers(m2, n + 5), label="other new size")
    if (m2, n2) != (m, n):
        bigger = Tree(make_leaves(max(n, n2), seed))
        honest = bigger.consistency_proof(m2, n2)
        assert (verify_consistency(m2, n2, bigger.root(m2), bigger.root(n2), proof)
                == (honest == proof))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), seed=seeds)
def test_frontier_and_appended_tree_follow_the_log(n: int, seed: bytes) -> None:
    leaves = make_leaves(n, seed)
    tree = Tree(leaves)
    grown = Tree()
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for k, h in enumerate(leaves, start=1):
        frontier.append(h)
        grown.append(h)
        assert frontier.size == grown.size == k
        assert frontier.root() == tree.root(k) == grown.root()
        assert frontier == tree.frontier(k)
        again = Frontier.from_bytes(frontier.to_bytes())
        assert again == frontier and again.root() == frontier.root()
        assert len(frontier.to_bytes()) == 9 + 32 * k.bit_count()
    assert frontier.root() == root(leaves) == ref_mth(leaves)
    for m in range(n + 1):
        assert grown.root(m) == tree.root(m)
    if n:
        rng = random.Random(n)
        i, m = rng.randrange(n), rng.randrange(n + 1)
        assert grown.inclusion_proof(i) == tree.inclusion_proof(i)
        assert grown.consistency_proof(m) == tree.consistency_proof(m)
        assert grown.leaf(i) == leaves[i]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), seed=seeds, data=st.data())
def test_tree_answers_for_past_sizes_equal_the_module_functions(
        n: int, seed: bytes, data: st.DataObject) -> None:
    leaves = make_leaves(n, seed)
    tree = Tree(leaves)
    size = data.draw(st.integers(1, n), label="past size")
    i = data.draw(st.integers(0, size - 1), label="index")
    m = data.draw(st.integers(0, size), label="old size")
    past = leaves[:size]
    assert tree.root(size) == root(past)
    assert tree.inclusion_proof(i, size) == inclusion_proof(past, i)
    assert tree.consistency_proof(m, size) == consistency_proof(past, m)
    frontier = Frontier()
    frontier.extend(past)
    assert tree.frontier(size) == frontier
