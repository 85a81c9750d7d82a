"""Merkle trees of RFC 9162 §2.1 (Certificate Transparency v2) over SHA-256.

Pure: bytes in, bytes or bool out. Every function here works on *leaf hashes*
(``leaf_hash(data)``), never on raw entries, so a log can keep 32 bytes per entry.

    leaf_hash(d)       = SHA-256(0x00 || d)
    node_hash(l, r)    = SHA-256(0x01 || l || r)
    MTH({})            = SHA-256("")                        (EMPTY_ROOT)
    MTH(D[n]), n > 1   = node_hash(MTH(D[0:k]), MTH(D[k:n])) with k the largest power
                         of two smaller than n

A tree of n leaves is the perfect subtrees named by the set bits of n, largest first,
joined from the right: for n = 6 = 4 + 2 the root is node_hash(P4, P2); for
n = 7 = 4 + 2 + 1 it is node_hash(P4, node_hash(P2, P1)). Everything below leans on
that picture:

* ``root()`` hashes level by level and lifts an odd last node to the next level
  unchanged (the same tree; n - 1 hashes, no recursion).
* ``Frontier`` keeps only the perfect-subtree roots (one per set bit of the size): an
  append-only log can extend its root in O(1) amortised hashes and store it in
  9 + 32·popcount(n) bytes.
* ``Tree`` keeps every perfect subtree once (about 2n hashes of memory). Any subtree the
  RFC's proof recursion asks for starts at a multiple of a power of two at least as big
  as itself, so it is at most log n stored perfect subtrees joined from the right; a
  proof costs O(log² n) slices and hashes, never O(n).

Proof generation follows PATH (§2.1.3.1) and PROOF/SUBPROOF (§2.1.4.1); verification is
the bit-walking algorithm of §2.1.3.2 and §2.1.4.2, which needs no tree.

Decisions the RFC leaves to us:

* Consistency from the empty tree (old size 0) is proved by the empty proof, and only
  by it; the old root must then be EMPTY_ROOT (a claim that "the empty tree had root X"
  for any other X is false, so we do not call it consistent).
* old size == new size: the proof must be empty and the roots equal.

Errors (whose fault each is):

* Verification never raises on hostile input. A proof of the wrong length, an index not
  below the size, sizes out of order, negative sizes, or a hash that is not exactly 32
  bytes all give False. It raises TypeError only for our own misuse: a size that is not
  an int, a hash that is not bytes.
* Generation and ``Frontier``/``Tree`` raise MerkleError for an index or size out of
  range or a leaf hash that is not 32 bytes (the caller's bug), and
  ``Frontier.from_bytes`` raises MerkleError for damaged bytes (whoever stored or sent
  them).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence

from ._errors import MerkleError
from ._keys import HASH_SIZE

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_PAIR = 2 * HASH_SIZE

# Serialized frontier: version byte, size as u64 big-endian, then the perfect-subtree
# roots, largest first. A u64 size is far more than a log can hold (2^64 entries).
FRONTIER_VERSION = 1
_FRONTIER_HEADER = struct.Struct(">BQ")

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 leaf hash of ``data``: SHA-256(0x00 || data), 32 bytes."""
    return _sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 interior node hash: SHA-256(0x01 || left || right), 32 bytes.

    Any lengths are hashed as given; callers that take hashes from outside check that
    they are 32 bytes first (the verifiers here do).
    """
    return _sha256(_NODE_PREFIX + bytes(left) + bytes(right)).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _parents(level: bytes | bytearray) -> bytes:
    """node_hash of each adjacent pair of a packed level; an odd last node is dropped."""
    sha = _sha256
    prefix = _NODE_PREFIX
    return b"".join([sha(prefix + level[i:i + _PAIR]).digest()
                     for i in range(0, len(level) - _PAIR + 1, _PAIR)])


def _pack(leaves: Iterable[bytes]) -> bytes:
    """The leaf hashes as one bytes string, after checking each is 32 bytes."""
    items = leaves if isinstance(leaves, (list, tuple)) else list(leaves)
    for i, h in enumerate(items):
        if not isinstance(h, (bytes, bytearray)):
            raise TypeError(f"leaf hash {i} must be bytes, not {type(h).__name__}")
        if len(h) != HASH_SIZE:
            raise MerkleError(f"leaf hash {i} is {len(h)} bytes, expected {HASH_SIZE}")
    return b"".join(items)


def _check_int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _is_hash(value: object, name: str) -> bool:
    """True for 32 bytes, False for other bytes; TypeError for anything else."""
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    return len(value) == HASH_SIZE


def _proof_ok(proof: Sequence[bytes], max_len: int) -> bool:
    """Shape check shared by both verifiers: not too long, every element 32 bytes."""
    if isinstance(proof, (bytes, bytearray, str)):
        raise TypeError("proof must be a sequence of hashes, not a single bytes/str value")
    if len(proof) > max_len:
        return False
    ok = True
    for i, p in enumerate(proof):
        ok = _is_hash(p, f"proof[{i}]") and ok
    return ok


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over ``leaves``, which are leaf hashes (32 bytes each), in order.

    n - 1 hashes, level by level; memory is about twice the packed leaves. Raises
    MerkleError if a leaf hash is not 32 bytes.
    """
    level = _pack(leaves)
    if not level:
        return EMPTY_ROOT
    while len(level) > HASH_SIZE:
        up = _parents(level)
        if len(level) % _PAIR:  # odd count: the last node moves up unchanged
            up += level[-HASH_SIZE:]
        level = up
    return bytes(level)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves) of RFC 9162 §2.1.3.1: sibling hashes, deepest first.

    Builds a Tree (O(n)); keep a Tree for many proofs over one log. Raises MerkleError
    unless 0 <= index < len(leaves).
    """
    return Tree(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, leaves) of RFC 9162 §2.1.4.1, for the tree of all ``leaves``.

    Empty when old_size is 0 or len(leaves). Raises MerkleError unless
    0 <= old_size <= len(leaves).
    """
    return Tree(leaves).consistency_proof(old_size)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash at ``index`` in the tree of ``size`` leaves
    whose root is ``root`` (RFC 9162 §2.1.3.2).

    Returns False for every bad or hostile input (see the module docstring); raises
    TypeError only for wrong argument types.
    """
    _check_int(index, "index")
    _check_int(size, "size")
    good = _is_hash(leaf_hash, "leaf_hash") & _is_hash(root, "root")
    if not good or not 0 <= index < size:
        return False
    # The path has one hash per level below the root on the leaf's side, so never more
    # than ceil(log2 size) of them.
    if not _proof_ok(proof, (size - 1).bit_length()):
        return False
    sha, one = _sha256, _NODE_PREFIX  # node_hash inlined: a third faster here
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            # We are a right child, or the last node of a level with no right sibling:
            # the proof hash goes on the left. Climb past levels where we are lifted
            # unchanged (no sibling on the right edge).
            r = sha(one + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(one + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows that the tree of ``old_size`` leaves with ``old_root`` is a
    prefix of the tree of ``new_size`` leaves with ``new_root`` (RFC 9162 §2.1.4.2).

    old_size 0: true only for an empty proof and old_root == EMPTY_ROOT.
    old_size == new_size: true only for an empty proof and equal roots.
    Returns False for every bad or hostile input; raises TypeError only for wrong types.
    """
    _check_int(old_size, "old_size")
    _check_int(new_size, "new_size")
    good = _is_hash(old_root, "old_root") & _is_hash(new_root, "new_root")
    if not good or not 0 <= old_size <= new_size:
        return False
    # SUBPROOF adds one hash per level on the way down plus at most one seed hash.
    if not _proof_ok(proof, (new_size - 1).bit_length() + 1):
        return False
    if old_size == 0:
        return (len(proof) == 0 and old_root == EMPTY_ROOT
                and (new_size > 0 or new_root == EMPTY_ROOT))
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if len(proof) == 0:
        return False
    path = list(proof)
    if _is_power_of_two(old_size):
        # The old tree is a single perfect subtree of the new one, so the proof leaves
        # it out: the verifier already holds it.
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:  # skip the levels where the old tree's last node is a right child
        fn >>= 1
        sn >>= 1
    sha, one = _sha256, _NODE_PREFIX
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = sha(one + c + fr).digest()
            sr = sha(one + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # A node only the new tree has: it joins the new root, not the old one.
            sr = sha(one + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Frontier:
    """The right edge of an append-only tree: its size and the roots of its perfect
    subtrees (one per set bit of the size, largest first).

    ``root()`` always equals ``root(all leaf hashes appended so far)``.
    """

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @property
    def size(self) -> int:
        """How many leaf hashes have been appended."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash (32 bytes) on the right. O(1) hashes amortised,
        at most log2(size) in one call. Raises MerkleError if it is not 32 bytes."""
        if not _is_hash(leaf_hash, "leaf_hash"):
            raise MerkleError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
        h = bytes(leaf_hash)
        n = self._size
        while n & 1:  # like adding one to a binary counter: equal subtrees merge
            h = _sha256(_NODE_PREFIX + self._peaks.pop() + h).digest()
            n >>= 1
        self._peaks.append(h)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append each of ``leaf_hashes`` in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the leaves appended so far (EMPTY_ROOT when there are none)."""
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            r = node_hash(peak, r)
        return r

    def peaks(self) -> list[bytes]:
        """The perfect-subtree roots, largest (leftmost) first."""
        return list(self._peaks)

    def copy(self) -> Frontier:
        """An independent frontier at the same size."""
        return Frontier._make(self._size, list(self._peaks))

    def to_bytes(self) -> bytes:
        """Version byte 1, size (u64 big-endian), then the peaks: 9 + 32·popcount bytes."""
        return _FRONTIER_HEADER.pack(FRONTIER_VERSION, self._size) + b"".join(self._peaks)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Read what ``to_bytes`` wrote. Raises MerkleError for an unknown version, or a
        length that does not match the size (truncated or trailing bytes)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"frontier bytes must be bytes, not {type(data).__name__}")
        data = bytes(data)
        header = _FRONTIER_HEADER.size
        if len(data) < header:
            raise MerkleError(f"frontier is {len(data)} bytes, shorter than its "
                              f"{header}-byte header")
        version, size = _FRONTIER_HEADER.unpack_from(data)
        if version != FRONTIER_VERSION:
            raise MerkleError(f"frontier has format version {version}, expected "
                              f"{FRONTIER_VERSION}")
        count = size.bit_count()
        if len(data) != header + count * HASH_SIZE:
            raise MerkleError(f"frontier of size {size} needs {count} subtree roots "
                              f"({header + count * HASH_SIZE} bytes), got {len(data)} bytes")
        peaks = [data[i:i + HASH_SIZE] for i in range(header, len(data), HASH_SIZE)]
        return cls._make(size, peaks)

    @classmethod
    def _make(cls, size: int, peaks: list[bytes]) -> Frontier:
        f = cls()
        f._size = size
        f._peaks = peaks
        return f

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self._size == other._size and self._peaks == other._peaks

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"<Frontier size={self._size} root={self.root().hex()[:8]}…>"


class Tree:
    """All perfect subtrees of a log, kept once, for fast proofs at any past size.

    Level k holds the roots of the aligned perfect subtrees of 2^k leaves, packed
    32 bytes each (level 0 is the leaf hashes). That is under 2n hashes of memory
    (64 MB for a million leaves) and n - popcount(n) hashes to build. Then ``root(m)``
    costs O(log m), a proof O(log² n), for any m <= size.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        """Raises MerkleError if a leaf hash is not 32 bytes."""
        level = _pack(leaves)
        self._levels: list[bytearray] = [bytearray(level)]
        while len(level) >= _PAIR:
            level = _parents(level)
            self._levels.append(bytearray(level))

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash on the right: O(1) hashes amortised. Raises MerkleError if
        it is not 32 bytes."""
        if not _is_hash(leaf_hash, "leaf_hash"):
            raise MerkleError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
        levels = self._levels
        levels[0] += leaf_hash
        k = 0
        # A level that just reached an even count completes a parent on the level above.
        while len(levels[k]) % _PAIR == 0:
            parent = _sha256(_NODE_PREFIX + levels[k][-_PAIR:]).digest()
            if k + 1 == len(levels):
                levels.append(bytearray())
            levels[k + 1] += parent
            k += 1

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``. Raises MerkleError unless 0 <= index < size."""
        _check_int(index, "index")
        if not 0 <= index < self.size:
            raise MerkleError(f"leaf index {index} is outside a tree of {self.size} leaves")
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start:start + HASH_SIZE])

    def _range_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= size, where ``start`` is a multiple
        of the smallest power of two >= end - start (true of every subtree that RFC
        9162's recursion visits). Joins at most log n stored perfect subtrees."""
        peaks: list[bytes] = []
        pos = start
        while pos < end:
            k = (end - pos).bit_length() - 1
            if pos & ((1 << k) - 1):  # pragma: no cover - a bug in our callers
                raise AssertionError(f"unaligned subtree [{start}, {end})")
            peaks.append(self._node(k, pos >> k))
            pos += 1 << k
        r = peaks[-1]
        for peak in reversed(peaks[:-1]):
            r = node_hash(peak, r)
        return r

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        _check_int(size, "size")
        if not 0 <= size <= self.size:
            raise MerkleError(f"tree size {size} is outside 0..{self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all). Raises MerkleError unless
        0 <= size <= self.size."""
        size = self._size_arg(size)
        return self._range_root(0, size) if size else EMPTY_ROOT

    def frontier(self, size: int | None = None) -> Frontier:
        """The Frontier of the first ``size`` leaves (default: all)."""
        size = self._size_arg(size)
        peaks: list[bytes] = []
        pos = 0
        for k in range(size.bit_length() - 1, -1, -1):
            if size >> k & 1:
                peaks.append(self._node(k, pos >> k))
                pos += 1 << k
        return Frontier._make(size, peaks)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, deepest sibling first.

        Raises MerkleError unless 0 <= index < size <= self.size.
        """
        size = self._size_arg(size)
        _check_int(index, "index")
        if not 0 <= index < size:
            raise MerkleError(f"leaf index {index} is outside a tree of {size} leaves")
        # Walk down from the root; each step's sibling subtree is one proof hash. The RFC
        # lists them from the leaf up, so collect and reverse.
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            mid = lo + _split(hi - lo)
            if index < mid:
                path.append(self._range_root(mid, hi))
                hi = mid
            else:
                path.append(self._range_root(lo, mid))
                lo = mid
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1.

        Empty when old_size is 0 or equals new_size. Raises MerkleError unless
        0 <= old_size <= new_size <= self.size.
        """
        new_size = self._size_arg(new_size)
        _check_int(old_size, "old_size")
        if not 0 <= old_size <= new_size:
            raise MerkleError(f"old size {old_size} is outside 0..{new_size}")
        if old_size in (0, new_size):
            return []
        # SUBPROOF(m, D[lo:hi], whole) walked down iteratively. The old tree always ends
        # at old_size; ``whole`` stays true while the old tree is a left part of the
        # current subtree starting at 0, whose root the verifier already knows.
        tails: list[bytes] = []
        lo, hi, whole = 0, new_size, True
        while hi != old_size:
            mid = lo + _split(hi - lo)
            if old_size <= mid:
                tails.append(self._range_root(mid, hi))
                hi = mid
            else:
                tails.append(self._range_root(lo, mid))
                lo = mid
                whole = False
        proof = [] if whole else [self._range_root(lo, hi)]
        proof.extend(reversed(tails))
        return proof

    def __repr__(self) -> str:
        return f"<Tree size={self.size}>"
