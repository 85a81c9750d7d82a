"""The node's block list (issue 6): peers and authors this node will not deal with.

An operator blocks

* a **peer** (a libp2p peer id): every live connection to it is closed at once, its
  dials are refused and the node no longer dials it, and gossip it originated is
  ignored (not delivered, not relayed) even when another peer forwards it;
* an **author** (a key; a co-op's identity stands for every key of the co-op, SPEC
  §13.2): from then on the node stores none of its new entries, whatever brought them
  (gossip, a sync session, a bundle), does not relay its gossip, does not serve its
  entries in sync sessions (already-open ones included), and leaves it out of the
  ``want`` it sends. A dropped entry is counted and logged (``blocked:author``, at most
  one INFO line per author and source a minute); it is not the sender's fault, so no
  peer is penalised for it. Entries already held stay, and ``unblock`` resumes.

Where it lives: ``HOME/blocks.json``, not a store table. It is the operator's policy
for this node, not ledger data: `coop rebuild`, `coop verify` and a store restored
from a backup must not touch it, and the store's schema (shared with every process
that opens it, and versioned with migrations) need not change for it. The daemon needs
the peer list before its libp2p host starts, before it opens anything else; and a
JSON file, like ``peers.json`` next to it, can be read and diffed by a person. It is
written atomically (temporary file, fsync, rename). A damaged file stops the daemon at
start: running with an unreadable block list would silently lift every block.

What this module holds, and who calls it:

    BlockList          the persisted list (load / save / add / remove), no I/O besides
                       the file; the CLI edits it directly when no node runs
    Blocks             the live list of a running node: the effective blocked keys
                       (identities expanded through the key table), the checks the
                       gossip validator, the sync driver and the store call, counters,
                       and ``block``/``unblock`` for the API (persist, then apply)
    parse_peer_id, parse_author_key   the operator's input, checked
    peer_id_of_key     a node's peer id from its key (no libp2p import)
    refuse_blocked     arm a Store opened outside the daemon (an offline import)

Errors (``BadBlock`` is the operator's fault, ``BlocksFileError`` the home's):

    NodeError
     ├── BadBlock(ValueError)     a malformed peer id or key, an over-long reason,
     │                            blocking this node itself; ``field`` names the input
     └── HomeError
          └── BlocksFileError     blocks.json exists but cannot be read or parsed
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from coopledger.protocol import Entry, entry_author

from ._clock import now_ms
from ._errors import HomeError, NodeError

if TYPE_CHECKING:
    import trio

    from coopledger.protocol import Identities

    from ._store import Store

log = logging.getLogger(__name__)

BLOCKS_FILE = "blocks.json"
BLOCKS_FILE_VERSION = 1
KINDS = ("peer", "author")
Kind = Literal["peer", "author"]
# A reason is a note for the operators, not a document.
MAX_REASON = 200
# Longer than any peer id in base58 (an identity multihash of 42 bytes is ~60 chars).
MAX_PEER_ID_TEXT = 128
# At most one log line per (author, source) this often: a flood of a blocked author's
# gossip must not flood the log too. The counters stay exact.
LOG_EVERY_S = 60.0
# Where a dropped entry came from (the counters' keys). "import" is the store's own
# check: bundles, and anything that reached the store past the other two.
SOURCES = ("gossip", "sync", "import")

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_HEX = frozenset("0123456789abcdef")
# Multihash codes a libp2p peer id uses: the key itself inlined (Ed25519, secp256k1:
# at most 42 bytes), or the sha2-256 of a larger key (RSA).
_MH_IDENTITY, _MH_SHA256 = 0x00, 0x12
# An inlined key is a protobuf PublicKey: field 1 the key type, field 2 the key bytes.
# Its first four bytes, and the length that goes with them (type 1 Ed25519, 32 bytes;
# type 2 secp256k1, 33 compressed). Other types are too long to inline.
_INLINE_KEYS = {bytes([0x08, 0x01, 0x12, 32]): 4 + 32, bytes([0x08, 0x02, 0x12, 33]): 4 + 33}


class BadBlock(NodeError, ValueError):
    """The operator's input to block or unblock is not acceptable; ``field`` names it
    (``id``, ``kind`` or ``reason``). The message never echoes more than a few
    characters of the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BlocksFileError(HomeError):
    """HOME/blocks.json exists but cannot be used (unreadable, not our format)."""


# -- the operator's input -------------------------------------------------------------


def _b58decode(text: str) -> bytes | None:
    num = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            return None
        num = num * 58 + i
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def parse_peer_id(text: str) -> str:
    """``text`` as a libp2p peer id (base58btc of a multihash: ``12D3KooW…`` for an
    Ed25519 key, ``16Uiu2…`` for secp256k1, ``Qm…`` for RSA), surrounding blanks
    removed. Raises BadBlock (field ``id``) naming what is wrong. CID-form peer ids
    (``bafz…``) are not accepted: libp2p prints the base58 form."""
    t = text.strip()
    what = f"peer id {t[:12]!r}{'…' if len(t) > 12 else ''}"
    if not t:
        raise BadBlock("id", "peer id: empty; expected a libp2p peer id such as 12D3KooW…")
    if len(t) > MAX_PEER_ID_TEXT:
        raise BadBlock("id", f"peer id: {len(t)} characters; a libp2p peer id has at "
                             f"most {MAX_PEER_ID_TEXT}")
    raw = _b58decode(t)
    if raw is None:
        raise BadBlock("id", f"{what}: not base58 (libp2p peer ids use the characters "
                             "1-9, A-Z and a-z without 0, O, I and l)")
    if len(raw) < 3:
        raise BadBlock("id", f"{what}: not a multihash (too short)")
    if raw[1] >= 0x80:
        raise BadBlock("id", f"{what}: not a multihash (its length byte is out of range)")
    code, size, digest = raw[0], raw[1], raw[2:]
    if len(digest) != size:
        raise BadBlock("id", f"{what}: not a whole peer id (its multihash announces "
                             f"{size} bytes, {len(digest)} follow)")
    if code == _MH_IDENTITY and _INLINE_KEYS.get(digest[:4]) != len(digest):
        raise BadBlock("id", f"{what}: its inline key is not an Ed25519 or secp256k1 "
                             "public key (too short, or the wrong key type)")
    if code == _MH_SHA256 and size != 32:
        raise BadBlock("id", f"{what}: a sha2-256 multihash of {size} bytes, not 32")
    if code not in (_MH_IDENTITY, _MH_SHA256):
        raise BadBlock("id", f"{what}: multihash code 0x{code:02x} is not one libp2p "
                             "uses for peer ids (0x00 or 0x12)")
    return t


def _b58encode(raw: bytes) -> str:
    num, out = int.from_bytes(raw, "big"), ""
    while num:
        num, r = divmod(num, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


def peer_id_of_key(key: bytes) -> str:
    """The libp2p peer id of the node whose identity is the Ed25519 key ``key`` (the
    identity multihash of its protobuf encoding), without importing libp2p (~1 s)."""
    if len(key) != 32:
        raise ValueError("an Ed25519 key is 32 bytes")
    return _b58encode(bytes([_MH_IDENTITY, 36, 0x08, 0x01, 0x12, 0x20]) + key)


def parse_author_key(text: str) -> bytes:
    """A key: 64 hexadecimal characters (either case). Raises BadBlock (``id``).
    Names and prefixes are resolved against a store by the caller first."""
    t = text.strip().lower()
    if len(t) != 64 or not set(t) <= _HEX:
        raise BadBlock("id", f"author: expected a key, 64 hex characters (got "
                             f"{len(t)} characters{'' if set(t) <= _HEX else ', not hex'})")
    return bytes.fromhex(t)


def parse_reason(text: str | None) -> str:
    """The reason note: at most MAX_REASON characters of printable text ('' if None)."""
    if text is None:
        return ""
    t = text.strip()
    if len(t) > MAX_REASON:
        raise BadBlock("reason", f"reason: {len(t)} characters; at most {MAX_REASON}")
    if not t.isprintable():
        raise BadBlock("reason", "reason: one line of printable text (no control "
                                 "characters or line breaks)")
    return t


def parse_kind(text: str) -> Kind:
    if text == "peer":
        return "peer"
    if text == "author":
        return "author"
    raise BadBlock("kind", f"kind: expected peer or author (got {text[:12]!r})")


def canonical_id(kind: Kind, text: str) -> str:
    """The stored form of a block's id: the peer id, or the key as lower-case hex."""
    return parse_peer_id(text) if kind == "peer" else parse_author_key(text).hex()


# -- the persisted list ---------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    kind: Kind
    id: str           # a peer id, or a key as 64 lower-case hex characters
    reason: str = ""
    since_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "reason": self.reason,
                "since_ms": self.since_ms}


class BlockList:
    """The blocks in HOME/blocks.json; a value (``add``/``remove`` change this object
    only, ``save`` writes it)."""

    def __init__(self, blocks: Iterable[Block] = ()) -> None:
        self._blocks: dict[tuple[Kind, str], Block] = {(b.kind, b.id): b for b in blocks}

    @classmethod
    def load(cls, path: Path) -> BlockList:
        """The list in ``path``; empty if there is no file. Raises BlocksFileError if
        it exists but cannot be read or is not a block list."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise BlocksFileError(f"cannot read {path}: {exc}; the node will not run "
                                  "without its block list (fix or remove the file)") from exc
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError, BadBlock) as exc:
            raise BlocksFileError(f"{path} is not a block list ({exc}); the node will not "
                                  "run without its block list (fix it, or remove it to "
                                  "lift every block)") from exc

    @classmethod
    def from_json(cls, data: Any) -> BlockList:
        if not isinstance(data, dict) or data.get("version") != BLOCKS_FILE_VERSION:
            raise ValueError(f"expected an object with version {BLOCKS_FILE_VERSION}")
        blocks = []
        for kind in KINDS:
            items = data.get(kind + "s", [])
            if not isinstance(items, list):
                raise ValueError(f"{kind}s: expected a list")
            for item in items:
                k = parse_kind(kind)
                since = item["since_ms"]
                if isinstance(since, bool) or not isinstance(since, int):
                    raise ValueError("since_ms: expected an integer")
                blocks.append(Block(k, canonical_id(k, str(item["id"])),
                                    parse_reason(item.get("reason")), since))
        return cls(blocks)

    def to_json(self) -> dict[str, Any]:
        return {"version": BLOCKS_FILE_VERSION,
                "peers": [b.to_json() for b in self.all("peer")],
                "authors": [b.to_json() for b in self.all("author")]}

    def save(self, path: Path) -> None:
        """Write the list to ``path`` atomically (a reader sees the old or the new)."""
        text = json.dumps(self.to_json(), indent=1) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def copy(self) -> BlockList:
        return BlockList(self._blocks.values())

    def all(self, kind: Kind | None = None) -> list[Block]:
        """The blocks (of one kind), oldest first."""
        return sorted((b for b in self._blocks.values() if kind is None or b.kind == kind),
                      key=lambda b: (b.kind, b.since_ms, b.id))

    def get(self, kind: Kind, id: str) -> Block | None:
        return self._blocks.get((kind, id))

    def add(self, block: Block) -> bool:
        """Add ``block``; True if it is new. Blocking again keeps the first time and
        takes the new reason (if one is given)."""
        old = self._blocks.get((block.kind, block.id))
        if old is not None:
            self._blocks[(block.kind, block.id)] = Block(
                old.kind, old.id, block.reason or old.reason, old.since_ms)
            return False
        self._blocks[(block.kind, block.id)] = block
        return True

    def remove(self, kind: Kind, id: str) -> Block | None:
        return self._blocks.pop((kind, id), None)

    def peers(self) -> frozenset[str]:
        return frozenset(b.id for b in self.all("peer"))

    def authors(self) -> list[bytes]:
        return [bytes.fromhex(b.id) for b in self.all("author")]


def effective_keys(authors: Iterable[bytes], ids: Identities | None
                   ) -> dict[bytes, bytes]:
    """Every key blocked by blocking ``authors``: an identity blocks each of its keys
    (root, bound and revoked ones, SPEC §13.2); any other key only itself. Maps each
    key to the blocked author that covers it (for the per-block counters).

    Keys bound to a blocked co-op *after* the block are not known here: the ``key.add``
    that binds one is an entry of the blocked co-op, which this node no longer stores.
    Such a key looks like a co-op of its own; block it too if it shows up."""
    out: dict[bytes, bytes] = {}
    for a in authors:
        if ids is not None and ids.identity_of(a) == a:
            for rec in ids.keys_of(a):
                out.setdefault(rec.key, a)
        out[a] = a
    return out


def _short(key: bytes) -> str:
    return key[:4].hex() + "…"


# -- the live list of a running node ----------------------------------------------------


@dataclass(frozen=True)
class BlockStatistics:
    peers: int
    authors: int
    keys: int                              # blocked keys, identities expanded
    dropped: dict[str, int] = field(default_factory=dict)   # source -> entries
    withheld: int = 0                      # sync reads of a blocked author answered empty


class Blocks:
    """The block list of a running node. Construct with the loaded list; the daemon
    calls ``expand`` whenever the key table may have changed and ``subscribe``s to
    learn of changes (to disconnect peers, re-arm the store, resync on unblock).

    The checks (``author_blocked``, ``keep``, ``gossip_refused``, ``withhold``,
    ``note_refused``) are cheap when nothing is blocked, and safe to call from the
    store's worker thread (counters and the log limiter are behind a lock; the key set
    is replaced, never mutated)."""

    def __init__(self, path: Path, blocks: BlockList, *, own_peer: str = "",
                 own_identity: bytes = b"", own_key: bytes = b"") -> None:
        self.path = path
        self._list = blocks
        self._own_peer = own_peer
        self._own = {own_identity, own_key} - {b""}
        self._ids: Identities | None = None
        self._owner: dict[bytes, bytes] = {}
        self.peers: frozenset[str] = blocks.peers()
        self.keys: frozenset[bytes] = frozenset()
        self._lock = threading.Lock()
        self._dropped = dict.fromkeys(SOURCES, 0)
        self._by_author: dict[bytes, int] = {}
        self._withheld = 0
        self._last_log: dict[tuple[bytes, str], float] = {}
        self._listeners: list[Callable[[Block, bool], None]] = []
        self._write_lock: trio.Lock | None = None
        self._recompute()

    @classmethod
    def load(cls, home_path: Path, **own: Any) -> Blocks:
        """The blocks of the home at ``home_path``. Raises BlocksFileError."""
        path = home_path / BLOCKS_FILE
        return cls(path, BlockList.load(path), **own)

    # -- state

    def _recompute(self) -> None:
        self._owner = effective_keys(self._list.authors(), self._ids)
        self.keys = frozenset(self._owner)
        self.peers = self._list.peers()

    def expand(self, ids: Identities | None) -> None:
        """Use the key table ``ids`` to expand blocked identities to their keys."""
        if ids is self._ids:
            return
        self._ids = ids
        self._recompute()

    def subscribe(self, fn: Callable[[Block, bool], None]) -> None:
        """Call ``fn(block, added)`` after each change took effect here (on the trio
        thread; ``added`` is False for an unblock)."""
        self._listeners.append(fn)

    def all(self) -> list[Block]:
        return self._list.all()

    # -- the checks

    def author_blocked(self, author: bytes | None) -> bool:
        return author is not None and author in self.keys

    def gossip_refused(self, entry_bytes: bytes, peer: str | None = None) -> bool:
        """True if ``entry_bytes`` (gossip) is by a blocked author: counted and logged,
        and the caller neither stores nor relays it."""
        if not self.keys:
            return False
        author = entry_author(entry_bytes)
        if author is None or author not in self.keys:
            return False
        self._note(author, None, "gossip", peer, 1)
        return True

    def keep(self, entries: Sequence[bytes], source: str, peer: str | None = None
             ) -> list[bytes]:
        """``entries`` without those of blocked authors (which are counted and logged)."""
        if not self.keys:
            return list(entries)
        kept: list[bytes] = []
        dropped: dict[bytes, int] = {}
        for e in entries:
            author = entry_author(e)
            if author is not None and author in self.keys:
                dropped[author] = dropped.get(author, 0) + 1
            else:
                kept.append(e)
        for author, n in dropped.items():
            self._note(author, None, source, peer, n)
        return kept

    def note_refused(self, entries: Sequence[Entry]) -> None:
        """The store's hook (``Store.on_refused``): it did not store these."""
        for e in entries:
            self._note(e.author, e.id, "import", None, 1)

    def withhold(self, author: bytes, peer: str | None = None) -> bool:
        """True if a sync session must not serve entries of ``author`` (counted)."""
        if author not in self.keys:
            return False
        with self._lock:
            self._withheld += 1
        log.debug("sync with %s: entries of blocked author %s not served",
                  (peer or "?")[-8:], _short(author))
        return True

    def _note(self, author: bytes, entry_id: bytes | None, source: str,
              peer: str | None, n: int) -> None:
        owner = self._owner.get(author, author)
        now = time.monotonic()
        with self._lock:
            self._dropped[source] = self._dropped.get(source, 0) + n
            total = self._by_author[owner] = self._by_author.get(owner, 0) + n
            last = self._last_log.get((owner, source))
            if last is not None and now - last < LOG_EVERY_S:
                return
            self._last_log[(owner, source)] = now
        which = f"entry {entry_id[:4].hex()}… " if entry_id else ("an entry " if n == 1
                                                                  else f"{n} entries ")
        via = f" from {peer[-8:]}" if peer else ""
        key = "" if owner == author else f" (key {_short(author)})"
        log.info("blocked:author: %sof author %s%s by %s%s not stored (%d dropped so far; "
                 "next line for it in %.0f s at most)", which, _short(owner), key, source,
                 via, total, LOG_EVERY_S)

    def statistics(self) -> BlockStatistics:
        with self._lock:
            return BlockStatistics(len(self._list.all("peer")), len(self._list.all("author")),
                                   len(self.keys), dict(self._dropped), self._withheld)

    def view(self) -> dict[str, Any]:
        """The list as GET /v1/blocks gives it (docs/api.md)."""
        st = self.statistics()
        with self._lock:
            by_author = dict(self._by_author)
        authors = []
        for b in self._list.all("author"):
            key = bytes.fromhex(b.id)
            authors.append({**b.to_json(),
                            "keys": sorted(k.hex() for k, o in self._owner.items()
                                           if o == key),
                            "dropped": by_author.get(key, 0)})
        return {"peers": [b.to_json() for b in self._list.all("peer")],
                "authors": authors, "dropped": st.dropped, "withheld": st.withheld}

    # -- changes (the API)

    def check_not_self(self, kind: Kind, id: str) -> None:
        """Raise BadBlock if ``id`` is this node: its peer id, or a key of its co-op."""
        if kind == "peer":
            if id == self._own_peer:
                raise BadBlock("id", "that is this node's own peer id")
            return
        key = bytes.fromhex(id)
        own = set(self._own)
        if self._ids is not None:
            for k in list(own):
                own.update(effective_keys([self._ids.identity_of(k)], self._ids))
        if key in own:
            raise BadBlock("id", f"{_short(key)} is this node's own co-op (or one of its "
                                 "keys); a node cannot block itself")

    async def block(self, kind: Kind, id: str, reason: str = "") -> tuple[Block, bool]:
        """Block ``id`` (canonical, see ``canonical_id``): write the file, then apply
        (listeners run before this returns). Returns (the block, whether it is new).
        Raises BadBlock for this node itself, OSError if the file cannot be written
        (then nothing changed)."""
        self.check_not_self(kind, id)
        block = Block(kind, id, reason, now_ms())
        async with self._writing():
            new_list = self._list.copy()
            added = new_list.add(block)
            await self._save(new_list)
            self._list = new_list
            self._recompute()
            block = new_list.get(kind, id) or block
        log.info("blocked %s %s%s", kind, id if kind == "peer" else _short(bytes.fromhex(id)),
                 f" ({reason})" if reason else "")
        self._tell(block, True)
        return block, added

    async def unblock(self, kind: Kind, id: str) -> Block | None:
        """Lift the block on ``id``; the removed block, or None if it was not blocked."""
        async with self._writing():
            new_list = self._list.copy()
            removed = new_list.remove(kind, id)
            if removed is None:
                return None
            await self._save(new_list)
            self._list = new_list
            self._recompute()
        log.info("unblocked %s %s", kind, id if kind == "peer" else _short(bytes.fromhex(id)))
        self._tell(removed, False)
        return removed

    def _writing(self) -> trio.Lock:
        import trio

        if self._write_lock is None:
            self._write_lock = trio.Lock()
        return self._write_lock

    async def _save(self, blocks: BlockList) -> None:
        import trio

        await trio.to_thread.run_sync(blocks.save, self.path)

    def _tell(self, block: Block, added: bool) -> None:
        for fn in self._listeners:
            try:
                fn(block, added)
            except Exception:  # one listener's bug must not keep the others from hearing
                log.exception("applying a change of the block list failed")


def refuse_blocked(home_path: Path, store: Store) -> Blocks:
    """Make ``store`` (opened outside the daemon, for an offline bundle import) refuse
    new entries of the home's blocked authors, as the daemon's store does. Raises
    BlocksFileError."""
    blocks = Blocks.load(home_path)
    if blocks.all():
        blocks.expand(store.state().economy().gov.ids)
        store.refused_authors = blocks.keys
        store.on_refused = blocks.note_refused
    return blocks
