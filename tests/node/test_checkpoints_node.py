"""Checkpoints and proofs over a real store (node/_checkpoints.py, node/_witness.py):
the store fills a checkpoint's body from the log and embeds a cosigned checkpoint; a
cosign alone reveals a second history as a fork; the views answer the same through the
API; each proof they make checks offline; bad parameters get a specific error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from govapi import api_client

from coopledger import crypto
from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node import _views_table as views_table
from coopledger.node._econview import LookupFailed
from coopledger.node._errors import AppendError
from coopledger.node._witness import checkpoint_due
from coopledger.protocol import Entry, check_proof, create_entry
from coopledger.protocol._proofs import dumps

T0 = 1_800_000_000_000
TOKEN = "cd" * 32
MILL, WITNESS = SecretKey(bytes([31]) * 32), SecretKey(bytes([32]) * 32)


class Log:
    def __init__(self, store: Store, key: SecretKey, name: str) -> None:
        self.store, self.key, self.ts = store, key, T0
        self.add("genesis", {"name": name})

    def add(self, kind: str, body: dict[str, Any], refs: list[bytes] | None = None
            ) -> Entry:
        self.ts += 1000
        return self.store.append(self.key, kind=kind, body=body, ts=self.ts,
                                 refs=refs or [])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "ledger.db", create=True)


def ask(store: Store, view: str, **params: str) -> dict[str, Any]:
    return views_table.answer(store, view, params, me=MILL.public.raw)


def test_the_store_fills_a_checkpoint_from_the_log(store: Store) -> None:
    mill = Log(store, MILL, "Mill")
    for i in range(4):
        mill.add("x.note", {"i": i})
    assert checkpoint_due(store, MILL.public.raw)
    cp = mill.add("checkpoint", {"size": 999, "root": "00" * 32})  # a person's guess
    ids = store.log_ids(MILL.public.raw, 5)
    assert cp.body == {"size": 5, "root": crypto.root([crypto.leaf_hash(i) for i in ids]).hex()}
    assert store.state().authors[MILL.public.raw].length == 6
    assert not checkpoint_due(store, MILL.public.raw), "nothing new since the checkpoint"
    mill.add("x.note", {})
    assert checkpoint_due(store, MILL.public.raw)


def test_a_cosign_embeds_the_checkpoint_it_names(store: Store) -> None:
    mill, witness = Log(store, MILL, "Mill"), Log(store, WITNESS, "Witness")
    note = mill.add("x.note", {})
    cp = mill.add("checkpoint", {})
    c = witness.add("checkpoint.cosign", {"checkpoint": cp.id.hex()})
    assert c.body["entry"] == cp.raw and cp.id in c.refs
    with pytest.raises(AppendError, match="not a checkpoint held here"):
        witness.add("checkpoint.cosign", {"checkpoint": note.id.hex()})
    with pytest.raises(AppendError, match="64 hex"):
        witness.add("checkpoint.cosign", {"checkpoint": "12"})


def test_a_cosign_alone_turns_a_second_history_into_a_fork(store: Store) -> None:
    # This node holds one history of the mill's log (seqs 1-3).
    g = create_entry(MILL, seq=1, prev=None, ts=T0, kind="genesis", body={"name": "Mill"})
    mine = [g, create_entry(MILL, seq=2, prev=g.id, ts=T0 + 1, kind="x.note", body={"h": 2})]
    mine.append(create_entry(MILL, seq=3, prev=mine[1].id, ts=T0 + 2, kind="x.note",
                             body={}))
    store.add_entries(mine)
    # A witness elsewhere was shown another: seq 2 differs, and it cosigned seq 3.
    other2 = create_entry(MILL, seq=2, prev=g.id, ts=T0 + 1, kind="x.note", body={"h": 1})
    tree = crypto.Frontier()
    tree.extend(crypto.leaf_hash(e.id) for e in (g, other2))
    cp = create_entry(MILL, seq=3, prev=other2.id, ts=T0 + 2, kind="checkpoint",
                      body={"size": 2, "root": tree.root().hex()})
    wg = create_entry(WITNESS, seq=1, prev=None, ts=T0, kind="genesis",
                      body={"name": "Witness"})
    cosign = create_entry(WITNESS, seq=2, prev=wg.id, ts=T0 + 5, kind="checkpoint.cosign",
                          refs=[cp.id], body={"checkpoint": cp.id.hex(), "entry": cp.raw})
    store.add_entries([wg, cosign])  # not the other history: only the cosign
    st = store.state().authors[MILL.public.raw]
    assert st.fork is not None and st.fork.seq == 3 and st.length == 2
    doc = ask(store, "proof-fork", coop=MILL.public.hex()[:10])
    got = check_proof(dumps(doc))
    assert got.misconduct and got.author == MILL.public.raw


def test_proofs_from_the_views_check_offline(store: Store) -> None:
    mill, witness = Log(store, MILL, "Mill"), Log(store, WITNESS, "Witness")
    notes = [mill.add("x.note", {"i": i}) for i in range(5)]
    with pytest.raises(LookupFailed, match="no checkpoint of its log covers"):
        ask(store, "proof-entry", entry=notes[0].id.hex())
    cp1 = mill.add("checkpoint", {})
    more = [mill.add("x.note", {"i": i}) for i in range(3)]
    cp2 = mill.add("checkpoint", {})
    witness.add("checkpoint.cosign", {"checkpoint": cp2.id.hex()})
    listed = ask(store, "checkpoints", coop="Mill")
    assert [(c["id"], c["size"], [w["name"] for w in c["witnesses"]])
            for c in listed["checkpoints"]] == [(cp2.id.hex(), 10, ["Witness"]),
                                                (cp1.id.hex(), 6, [])]
    for e in [*notes, cp1, *more]:
        doc = ask(store, "proof-entry", entry=e.id.hex()[:12])
        got = check_proof(dumps(doc))
        assert got.type == "inclusion" and got.witnesses == [WITNESS.public.raw]
    doc = ask(store, "proof-entry", entry=notes[1].id.hex(), checkpoint=cp1.id.hex())
    assert check_proof(dumps(doc)).witnesses == []
    with pytest.raises(LookupFailed, match="does not cover"):
        ask(store, "proof-entry", entry=more[0].id.hex(), checkpoint=cp1.id.hex())
    # Either order of the two checkpoints.
    for old, new in ((cp1, cp2), (cp2, cp1)):
        doc = ask(store, "proof-consistency", old=old.id.hex(), new=new.id.hex())
        assert check_proof(dumps(doc)).type == "consistency"
    with pytest.raises(LookupFailed, match="not a checkpoint"):
        ask(store, "proof-consistency", old=notes[0].id.hex(), new=cp2.id.hex())
    with pytest.raises(LookupFailed, match="no fork"):
        ask(store, "proof-fork", coop="Mill")


@pytest.mark.parametrize(("text", "why"), [
    ("abc", "8 to 64 hex"), ("zz" * 8, "8 to 64 hex"), ("abcdefabc", "even number"),
    ("00" * 32, "not held here"),
])
def test_bad_entry_ids_get_a_specific_error(store: Store, text: str, why: str) -> None:
    Log(store, MILL, "Mill")
    with pytest.raises(LookupFailed, match=why) as info:
        ask(store, "proof-entry", entry=text)
    assert info.value.field == "entry"


async def test_the_api_serves_the_same_documents(store: Store) -> None:
    mill = Log(store, MILL, "Mill")
    note = mill.add("x.note", {})
    mill.add("checkpoint", {})
    async with api_client(store, MILL.public.raw, TOKEN) as client:
        r = await client.get(f"/v1/proofs/entry/{note.id.hex()}")
        assert r.status_code == 200 and r.json() == ask(store, "proof-entry",
                                                        entry=note.id.hex())
        r = await client.get("/v1/checkpoints", params={"coop": "Mill"})
        assert r.status_code == 200 and r.json() == ask(store, "checkpoints", coop="Mill")
        r = await client.get("/v1/proofs/entry/xyz")
        assert r.status_code == 400 and "hex" in r.text
        r = await client.get("/v1/proofs/consistency", params={"old": note.id.hex()})
        assert r.status_code == 400 and "new" in r.text
