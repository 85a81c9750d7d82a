"""Checkpoints and proofs over a store (SPEC §14.1–§14.3), as JSON-ready documents.

* ``checkpoints(store, coop)``   the applied checkpoints of a co-op's logs (every key
                                 of it), newest first, with the witnesses that cosigned
* ``proveentry_by_id(store, id)``     an inclusion proof of an entry in the newest checkpoint
                                 of its log that covers it (or a named one)
* ``prove_consistency(store, old, new)``   a consistency proof between two checkpoints
* ``prove_fork(store, coop)``    the fork proof of a log (misconduct), if any

The documents are those of ``protocol._proofs`` (``coop check-proof`` reads them with no
store). The views are registered with the governance views' registry, so the API and
the offline CLI answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coopledger import crypto
from coopledger.protocol import (
    CHECKPOINT_KIND,
    COSIGN_KIND,
    Entry,
    checkpoint_of,
    make_consistency,
    make_fork,
    make_inclusion,
)

from ._econview import MIN_PREFIX, LookupFailed, economy, resolve_coop
from ._views import Param, View

if TYPE_CHECKING:
    from ._store import Store


def entry_by_id(store: Store, text: str, field: str, *, kind: str | None = None) -> Entry:
    """A held entry by its id or an id prefix of at least MIN_PREFIX hex characters."""
    low = text.strip().lower()
    if (not MIN_PREFIX <= len(low) <= 64 or len(low) % 2
            or not all(c in "0123456789abcdef" for c in low)):
        raise LookupFailed(field, f"an entry id: {MIN_PREFIX} to 64 hex characters (an "
                           "even number)", status=400)
    hits = store.ids_with_prefix(bytes.fromhex(low))
    if len(hits) > 1:
        raise LookupFailed(field, f"id prefix {low} matches several entries; give more "
                           "characters", status=400)
    e = store.get(hits[0]) if hits else None
    if e is None:
        raise LookupFailed(field, f"entry {low[:8]}… is not held here")
    if kind is not None and e.kind != kind:
        raise LookupFailed(field, f"entry {low[:8]}… is a {e.kind} entry, not a {kind}",
                           status=400)
    return e


def _applies(store: Store, e: Entry) -> bool:
    st = store.state().authors.get(e.author)
    # An applied prefix holds exactly one entry per seq: e is the one at its seq.
    return st is not None and e.seq <= st.length


def cosigns_of(store: Store, checkpoint_ids: set[bytes]) -> dict[bytes, list[Entry]]:
    """Held cosign entries of each of ``checkpoint_ids``, by checkpoint."""
    out: dict[bytes, list[Entry]] = {}
    for e in store.entries(kind=COSIGN_KIND):
        cp = bytes.fromhex(str(e.body["checkpoint"]))
        if cp in checkpoint_ids:
            out.setdefault(cp, []).append(e)
    return out


def _tree(store: Store, author: bytes, size: int) -> crypto.Tree:
    return crypto.Tree(crypto.leaf_hash(i) for i in store.log_ids(author, size))


def checkpoints(store: Store, params: Mapping[str, str], me: bytes | None) -> dict[str, Any]:
    """GET /v1/checkpoints?coop=: the applied checkpoints of a co-op (default: ours)."""
    eco = economy(store)
    text = params.get("coop")
    if text:
        coop = eco.gov.ids.identity_of(resolve_coop(store, text, field="coop"))
    elif me is not None:
        coop = eco.gov.ids.identity_of(me)
    else:
        raise LookupFailed("coop", "required offline without a home", status=400)
    keys = {r.key for r in eco.gov.ids.keys_of(coop)} | {coop}
    authors = store.state().authors
    rows = []
    for e in store.entries(kind=CHECKPOINT_KIND):
        st = authors.get(e.author)
        if e.author in keys and st is not None and e.seq <= st.length:
            rows.append(e)
    rows.sort(key=lambda e: (e.ts, e.seq), reverse=True)
    signed = cosigns_of(store, {e.id for e in rows})
    names = {a: st.name for a, st in authors.items()}
    out = []
    for e in rows:
        size, root = checkpoint_of(e)
        witnesses = sorted({eco.gov.ids.identity_of(c.author) for c in signed.get(e.id, [])})
        out.append({"id": e.id.hex(), "log": e.author.hex(), "seq": e.seq, "ts": e.ts,
                    "size": size, "root": root.hex(),
                    "witnesses": [{"coop": w.hex(), "name": names.get(w)}
                                  for w in witnesses]})
    return {"coop": coop.hex(), "name": names.get(coop), "checkpoints": out}


def prove_entry(store: Store, params: Mapping[str, str], me: bytes | None
                ) -> dict[str, Any]:
    """GET /v1/proofs/entry/{entry}?checkpoint=: an inclusion proof document."""
    e = entry_by_id(store, params["entry"], "entry")
    if not _applies(store, e):
        raise LookupFailed("entry", "the entry does not apply here (waiting, forked or "
                           "broken log): nothing to prove", status=409)
    if params.get("checkpoint"):
        cp = entry_by_id(store, params["checkpoint"], "checkpoint", kind=CHECKPOINT_KIND)
        if cp.author != e.author or not e.seq < cp.seq or not _applies(store, cp):
            raise LookupFailed("checkpoint", "that checkpoint does not cover the entry "
                               "(another log, an earlier seq, or it does not apply here)",
                               status=400)
    else:
        st = store.state().authors[e.author]
        covering = [c for c in store.entries(authors=[e.author], kind=CHECKPOINT_KIND)
                    if e.seq < c.seq <= st.length]
        if not covering:
            raise LookupFailed("entry", "no checkpoint of its log covers this entry yet "
                               "(a node publishes one every hour; `coop checkpoint "
                               "publish` makes one now)", status=409)
        cp = max(covering, key=lambda c: c.seq)
    size, _ = checkpoint_of(cp)
    return make_inclusion(e, cp, _tree(store, e.author, size),
                          cosigns_of(store, {cp.id}).get(cp.id, []))


def prove_consistency(store: Store, params: Mapping[str, str], me: bytes | None
                      ) -> dict[str, Any]:
    """GET /v1/proofs/consistency?old=&new=: a consistency proof document."""
    old = entry_by_id(store, params["old"], "old", kind=CHECKPOINT_KIND)
    new = entry_by_id(store, params["new"], "new", kind=CHECKPOINT_KIND)
    if old.author != new.author:
        raise LookupFailed("new", "the two checkpoints are of different logs", status=400)
    if old.seq > new.seq:
        old, new = new, old
    for e, field in ((old, "old"), (new, "new")):
        if not _applies(store, e):
            raise LookupFailed(field, "that checkpoint does not apply here", status=409)
    size, _ = checkpoint_of(new)
    signed = cosigns_of(store, {old.id, new.id})
    return make_consistency(old, new, _tree(store, new.author, size),
                            [*signed.get(old.id, []), *signed.get(new.id, [])])


def prove_fork(store: Store, params: Mapping[str, str], me: bytes | None
               ) -> dict[str, Any]:
    """GET /v1/proofs/fork/{coop}: the fork proof of a log (two entries at one seq)."""
    author = resolve_coop(store, params["coop"], field="coop")
    eco = economy(store)
    keys = sorted({r.key for r in eco.gov.ids.keys_of(eco.gov.ids.identity_of(author))} | {author})
    for key in keys:
        st = store.state().authors.get(key)
        if st is not None and st.fork is not None:
            a, b = store.get(st.fork.a), store.get(st.fork.b)
            assert a is not None and b is not None, "a fork's entries are held"
            return make_fork(a, b)
    raise LookupFailed("coop", "no fork is known in that co-op's logs", status=404)


VIEWS: dict[str, View] = {
    "checkpoints": View("/v1/checkpoints", checkpoints,
                        "A co-op's checkpoints (size, root) and who cosigned them",
                        (Param("coop", None, "a co-op's name or key prefix (default: this "
                                             "node's)"),)),
    "proof-entry": View("/v1/proofs/entry/{entry}", prove_entry,
                        "An inclusion proof: this entry is in that checkpoint's log",
                        (Param("checkpoint", None, "a checkpoint's id (default: the newest "
                                                   "covering the entry)"),)),
    "proof-consistency": View("/v1/proofs/consistency", prove_consistency,
                              "A consistency proof: the newer checkpoint extends the older",
                              (Param("old", None, "a checkpoint's id", True),
                               Param("new", None, "a later checkpoint's id", True))),
    "proof-fork": View("/v1/proofs/fork/{coop}", prove_fork,
                       "A fork proof: two entries one log signed at one seq"),
}
