"""Proofs anyone can check offline (SPEC §14.2): that an entry is in a log, that one
checkpoint of a log extends another, and that an author signed two histories (a fork).

A proof is a small JSON document; every entry in it travels whole (its bytes, in hex),
so checking needs no store, no network and no trust in whoever made the file: the
signatures are checked, and the Merkle paths are recomputed against the roots that the
log's author signed in its checkpoints. Witnesses' cosignatures (``checkpoint.cosign``
entries) may ride along: each shows a co-op that held the same checkpoint.

``make_*`` build documents from entries and a tree; ``check_proof`` reads one and says
what it proves, or raises ProofError naming what is wrong. Pure: no clock, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from coopledger import crypto

from ._entry import Entry, open_entry
from ._errors import LedgerError, ValidationError
from ._kinds import CHECKPOINT_KIND

PROOF_FORMAT = "coopledger-proof/1"
PROOF_TYPES = ("inclusion", "consistency", "fork")
MAX_PROOF_BYTES = 1 << 20      # a proof of a 2^53-entry log is a few KiB; cosigns add more
MAX_COSIGNS = 64
MAX_PATH = 128                 # hashes in a path: 2·log2(2^53) is far less


class ProofError(LedgerError):
    """A proof document that is malformed or does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class Checked:
    """What a proof proved: its type, the log (author key), one line per fact checked,
    and the witnesses (keys of cosigning entries) that held the same checkpoint."""

    type: str
    author: bytes
    lines: list[str] = field(default_factory=list)
    witnesses: list[bytes] = field(default_factory=list)
    misconduct: bool = False


def checkpoint_body(tree: crypto.Frontier) -> dict[str, Any]:
    """The body of the checkpoint that follows a log whose tree is ``tree``."""
    return {"size": tree.size, "root": tree.root().hex()}


def checkpoint_of(entry: Entry) -> tuple[int, bytes]:
    """(size, root) of a checkpoint entry (its schema has been checked)."""
    return cast(int, entry.body["size"]), bytes.fromhex(str(entry.body["root"]))


def carried_entries(entry: Entry) -> list[Entry]:
    """Entries another entry carries whole: a cosign's checkpoint (already shape- and
    signature-checked when the cosign was decoded). Stores keep them as held entries,
    so a checkpoint a witness saw meets any other history of the same log (§14.3)."""
    if entry.kind == "checkpoint.cosign":
        return [open_entry(cast(bytes, entry.body["entry"]))]
    return []


# -------------------------------------------------------------------------- making


def _hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def make_inclusion(entry: Entry, checkpoint: Entry, tree: crypto.Tree,
                   cosigns: Sequence[Entry] = ()) -> dict[str, Any]:
    """The proof that ``entry`` is in ``checkpoint``'s log; ``tree`` is the tree of
    that log (at least as large as the checkpoint)."""
    size, _ = checkpoint_of(checkpoint)
    if entry.author != checkpoint.author or not entry.seq <= size:
        raise ProofError(f"entry at seq {entry.seq} is not covered by the checkpoint of "
                         f"size {size} of that log")
    return {"format": PROOF_FORMAT, "type": "inclusion", "entry": entry.raw.hex(),
            "checkpoint": checkpoint.raw.hex(), "index": entry.seq - 1,
            "path": _hexes(tree.inclusion_proof(entry.seq - 1, size)),
            "cosigns": [c.raw.hex() for c in cosigns]}


def make_consistency(old: Entry, new: Entry, tree: crypto.Tree,
                     cosigns: Sequence[Entry] = ()) -> dict[str, Any]:
    """The proof that checkpoint ``new`` extends checkpoint ``old`` of the same log."""
    old_size, _ = checkpoint_of(old)
    new_size, _ = checkpoint_of(new)
    if old.author != new.author or old_size > new_size:
        raise ProofError("the old checkpoint must be of the same log and not larger")
    return {"format": PROOF_FORMAT, "type": "consistency", "old": old.raw.hex(),
            "new": new.raw.hex(), "path": _hexes(tree.consistency_proof(old_size, new_size)),
            "cosigns": [c.raw.hex() for c in cosigns]}


def make_fork(a: Entry, b: Entry) -> dict[str, Any]:
    """The proof that one author signed two different entries at one seq."""
    a, b = sorted((a, b), key=lambda e: e.id)
    return {"format": PROOF_FORMAT, "type": "fork", "a": a.raw.hex(), "b": b.raw.hex()}


def dumps(doc: Mapping[str, Any]) -> str:
    """A proof document as the text of its file."""
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


# ------------------------------------------------------------------------ checking


def _field(doc: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in doc:
        raise ProofError(f"the proof has no field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProofError(f"field {name!r} must be {kind.__name__}")
    return value


def _unhex(name: str, text: object, limit: int = 70000) -> bytes:
    if not isinstance(text, str) or len(text) > 2 * limit:
        raise ProofError(f"field {name!r} must be hex text")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise ProofError(f"field {name!r} is not hex") from exc


def _entry(doc: Mapping[str, Any], name: str) -> Entry:
    raw = _unhex(name, _field(doc, name, str))
    try:
        return open_entry(raw)
    except ValidationError as exc:
        raise ProofError(f"field {name!r} is not a valid signed entry "
                         f"({exc.reason_code}: {exc})") from exc


def _checkpoint(doc: Mapping[str, Any], name: str) -> Entry:
    e = _entry(doc, name)
    if e.kind != CHECKPOINT_KIND:
        raise ProofError(f"field {name!r} is a {e.kind} entry, not a checkpoint")
    size, _ = checkpoint_of(e)
    if size != e.seq - 1:
        raise ProofError(f"field {name!r}: a checkpoint at seq {e.seq} must cover "
                         f"{e.seq - 1} entries, not {size} (a false checkpoint)")
    return e


def _path(doc: Mapping[str, Any]) -> list[bytes]:
    path = _field(doc, "path", list)
    if len(path) > MAX_PATH:
        raise ProofError(f"the path holds {len(path)} hashes, more than {MAX_PATH}")
    out = []
    for i, h in enumerate(path):
        b = _unhex(f"path[{i}]", h, 32)
        if len(b) != 32:
            raise ProofError(f"path[{i}] is not a 32-byte hash")
        out.append(b)
    return out


def _cosigns(doc: Mapping[str, Any], checkpoints: Sequence[Entry]) -> list[bytes]:
    raw = doc.get("cosigns", [])
    if not isinstance(raw, list) or len(raw) > MAX_COSIGNS:
        raise ProofError(f"field 'cosigns' must be a list of at most {MAX_COSIGNS} entries")
    ids = {c.id for c in checkpoints}
    witnesses = []
    for i in range(len(raw)):
        c = _entry({"c": raw[i]}, "c")
        if c.kind != "checkpoint.cosign" or bytes.fromhex(str(c.body["checkpoint"])) not in ids:
            raise ProofError(f"cosigns[{i}] is not a cosignature of this proof's checkpoint")
        witnesses.append(c.author)
    return witnesses


def _short(raw: bytes) -> str:
    return raw[:4].hex() + "…"


def check_proof(text: str | bytes) -> Checked:
    """Check a proof document (the text of a proof file). Returns what it proved, or
    raises ProofError naming what is wrong: never True for a forged or altered proof."""
    if len(text) > MAX_PROOF_BYTES:
        raise ProofError(f"a proof file is at most {MAX_PROOF_BYTES} bytes")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProofError(f"not a JSON document ({exc})") from exc
    if not isinstance(doc, dict):
        raise ProofError("a proof is a JSON object")
    if doc.get("format") != PROOF_FORMAT:
        raise ProofError(f"not a coopledger proof (format must be {PROOF_FORMAT!r})")
    kind = doc.get("type")
    if kind == "inclusion":
        return _check_inclusion(doc)
    if kind == "consistency":
        return _check_consistency(doc)
    if kind == "fork":
        return _check_fork(doc)
    raise ProofError(f"unknown proof type {kind!r} (known: {', '.join(PROOF_TYPES)})")


def _check_inclusion(doc: Mapping[str, Any]) -> Checked:
    entry, cp = _entry(doc, "entry"), _checkpoint(doc, "checkpoint")
    if entry.author != cp.author:
        raise ProofError("the entry and the checkpoint are of different logs")
    index = _field(doc, "index", int)
    if index != entry.seq - 1:
        raise ProofError(f"index {index} is not the entry's place (seq {entry.seq} is "
                         f"index {entry.seq - 1})")
    size, root = checkpoint_of(cp)
    if not index < size:
        raise ProofError(f"the checkpoint covers {size} entries; seq {entry.seq} is not "
                         "among them")
    if not crypto.verify_inclusion(crypto.leaf_hash(entry.id), index, size, _path(doc), root):
        raise ProofError("the path does not lead from the entry to the checkpoint's root: "
                         "the entry is NOT proven to be in this log")
    out = Checked("inclusion", cp.author, [
        f"entry {entry.id.hex()} ({entry.kind}, seq {entry.seq}) is signed by {cp.author.hex()}",
        f"checkpoint {cp.id.hex()} (seq {cp.seq}) is signed by the same key: "
        f"{size} entries, root {root.hex()}",
        f"the {len(doc['path'])}-hash path leads from the entry to that root",
    ])
    return _with_witnesses(out, doc, [cp])


def _check_consistency(doc: Mapping[str, Any]) -> Checked:
    old, new = _checkpoint(doc, "old"), _checkpoint(doc, "new")
    if old.author != new.author:
        raise ProofError("the two checkpoints are of different logs")
    (m, r1), (n, r2) = checkpoint_of(old), checkpoint_of(new)
    if m > n:
        raise ProofError(f"the old checkpoint covers {m} entries, more than the new ({n})")
    if not crypto.verify_consistency(m, n, r1, r2, _path(doc)):
        raise ProofError("the path does not show the new tree extending the old one: "
                         "consistency is NOT proven")
    out = Checked("consistency", old.author, [
        f"checkpoint {old.id.hex()} (size {m}) and checkpoint {new.id.hex()} (size {n}) "
        f"are both signed by {old.author.hex()}",
        f"the {len(doc['path'])}-hash path shows the first {m} entries unchanged in the "
        f"tree of {n}",
    ])
    return _with_witnesses(out, doc, [old, new])


def _check_fork(doc: Mapping[str, Any]) -> Checked:
    a, b = _entry(doc, "a"), _entry(doc, "b")
    if a.author != b.author:
        raise ProofError("the two entries are of different authors: no fork")
    if a.seq != b.seq:
        raise ProofError(f"the two entries are at seqs {a.seq} and {b.seq}: no fork")
    if a.id == b.id:
        raise ProofError("the two entries are the same entry: no fork")
    return Checked("fork", a.author, [
        f"entries {a.id.hex()} and {b.id.hex()} are both signed by {a.author.hex()}",
        f"both are seq {a.seq} of its log: the author signed two histories "
        f"(a fork or split view); its log is frozen at seq {a.seq - 1}",
    ], misconduct=True)


def _with_witnesses(out: Checked, doc: Mapping[str, Any], cps: Sequence[Entry]) -> Checked:
    witnesses = _cosigns(doc, cps)
    for w in witnesses:
        out.lines.append(f"cosigned by witness {w.hex()}")
        out.witnesses.append(w)
    return out
