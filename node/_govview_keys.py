"""Views of self-government: the keys of a co-op (SPEC §13.2, docs/keys.md).

    keys  /v1/keys   every key of one co-op (its root first, then in the order they were
                     added): power, label, when and by which entry it was added, its
                     revocations (reason, through), whether it is active now, and how
                     many entries its log holds and how many of them act for the co-op;
                     plus the key entries naming the co-op that are invalid, with why

Which co-op: ``coop`` (a name or key prefix; any key of a co-op names the co-op), else
the co-op this node writes for. ``this_key`` is the key this node writes with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coopledger.protocol import attributed

from ._econview import coop_names
from ._views import COOP, LookupFailed, Param, View, ViewArgs, economy

if TYPE_CHECKING:
    from coopledger.protocol import KeyRecord

    from ._store import Store


def _record(rec: KeyRecord, held: int, applied: int, acting: int) -> dict[str, Any]:
    return {
        "key": rec.key.hex(), "power": rec.power, "label": rec.label,
        "added": None if rec.added is None else rec.added.hex(),
        "added_ms": rec.added_ts,
        "added_by": None if rec.added_by is None else rec.added_by.hex(),
        "revocations": [{"id": r.id.hex(), "by": r.by.hex(), "reason": r.reason,
                         "through": r.through, "ms": r.ts} for r in rec.revocations],
        "active": not rec.revoked,
        # entries of its log held here, applied (§5), and acting for the co-op (§13.2)
        "entries": {"held": held, "applied": applied, "acting": acting},
    }


def keys(store: Store, args: ViewArgs, me: bytes | None) -> dict[str, Any]:
    """The keys of one co-op (see the module docstring)."""
    eco = economy(store)
    ids = eco.gov.ids
    named: bytes | None = args.value("coop")
    if named is not None:
        coop = ids.identity_of(named)
    elif me is not None:
        coop = ids.identity_of(me)
    else:
        raise LookupFailed("coop", "required here (no home to take the co-op from)",
                           status=400)
    state = store.state()
    names = coop_names(store)
    rows = []
    for rec in ids.keys_of(coop):
        st = state.authors.get(rec.key)
        applied = 0 if st is None else st.length
        log = list(store.entries(authors=[rec.key]))
        live = [e for e in log if e.seq <= applied]
        acting = len(attributed(ids, live).get(coop, ()))
        rows.append(_record(rec, len(log), applied, acting))
    invalid = [{"entry": i.hex(), "kind": ids.entries[i].kind,
                "key": ids.entries[i].author.hex(), "code": code, "detail": detail}
               for i, (code, detail) in sorted(ids.invalid.items())
               if ids.entries[i].body.get("identity") == coop.hex()]
    return {"coop": coop.hex(), "coop_name": names.get(coop),
            "this_key": None if me is None else me.hex(),
            "keys": rows, "invalid": invalid}


VIEWS: dict[str, View] = {
    "keys": View("/v1/keys", keys, "The keys of a co-op: power, label, added, revoked, "
                 "entries.", (Param("coop", COOP, "A co-op's name or key prefix (default: "
                                    "this node's co-op)."),)),
}
