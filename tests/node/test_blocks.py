"""The block list (node/_blocks.py) without a network: parsing the operator's input,
the file, identities expanded to their keys, the checks the gossip validator, the
sync driver and the store call, and the store refusing a blocked author's entries
(from a bundle too). Real daemons: tests/integration/test_blocking.py."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from nodekit import KEYS, bundle, make_log

from coopledger.crypto import SecretKey
from coopledger.node import Store, import_bundle
from coopledger.node._blocks import (
    BLOCKS_FILE,
    BadBlock,
    Block,
    BlockList,
    Blocks,
    BlocksFileError,
    canonical_id,
    effective_keys,
    parse_author_key,
    parse_peer_id,
    parse_reason,
    peer_id_of_key,
    refuse_blocked,
)
from coopledger.protocol import Entry
from coopledger.protocol._kinds import key_proof_message

# Real peer ids, as libp2p prints them (an Ed25519 key, an RSA key's sha2-256).
ED25519_PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
RSA_PEER = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"


# -- the operator's input ------------------------------------------------------------------


def b58(raw: bytes) -> str:
    """Base58btc, written here independently of the module under test."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    num, text = int.from_bytes(raw, "big"), ""
    while num:
        num, r = divmod(num, 58)
        text = alphabet[r] + text
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + text


# An Ed25519 peer id's bytes: the identity multihash of the protobuf public key.
ED25519_BYTES = bytes.fromhex("002408011220") + bytes(range(32))


def test_real_peer_ids_are_accepted() -> None:
    assert b58(ED25519_BYTES).startswith("12D3KooW")
    assert parse_peer_id(ED25519_PEER) == ED25519_PEER
    assert parse_peer_id(f"  {RSA_PEER}\n") == RSA_PEER


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_every_ed25519_peer_id_is_accepted(seed: bytes) -> None:
    from coopledger.node._p2p import peer_id_of  # libp2p's own encoding

    pid = peer_id_of(SecretKey(seed).public.raw)
    assert parse_peer_id(pid) == pid
    assert peer_id_of_key(SecretKey(seed).public.raw) == pid


@pytest.mark.parametrize("text,message", [
    ("", "peer id: empty; expected a libp2p peer id such as 12D3KooW…"),
    ("12D3KooW0OIl", "peer id '12D3KooW0OIl': not base58 (libp2p peer ids use the "
                     "characters 1-9, A-Z and a-z without 0, O, I and l)"),
    ("x" * 200, "peer id: 200 characters; a libp2p peer id has at most 128"),
    ("2", "peer id '2': not a multihash (too short)"),
    (ED25519_PEER[:-1], "peer id '12D3KooWD3ec'…: not a multihash (its length byte is "
                        "out of range)"),
    # the Ed25519 id's bytes without the last one: the length byte says 36
    (b58(ED25519_BYTES[:-1]), "peer id '1GsNUph8tWvL'…: not a whole peer id (its "
                              "multihash announces 36 bytes, 35 follow)"),
    ("12D3KooWnope", "peer id '12D3KooWnope': its inline key is not an Ed25519 or "
                     "secp256k1 public key (too short, or the wrong key type)"),
    (b58(bytes([0x00, 0x24, 0x08, 0x03, 0x12, 0x20]) + bytes(32)), None),
    (b58(bytes([0x12, 0x10]) + b"\x07" * 16), "peer id 'kTFdAMi1Vxns'…: a sha2-256 "
                                              "multihash of 16 bytes, not 32"),
])
def test_bad_peer_ids_are_refused_with_a_specific_message(text: str,
                                                          message: str | None) -> None:
    with pytest.raises(BadBlock) as info:
        parse_peer_id(text)
    assert info.value.field == "id"
    assert message is None or str(info.value) == message


def test_a_secp256k1_peer_id_is_accepted() -> None:
    pid = b58(bytes([0x00, 0x25, 0x08, 0x02, 0x12, 0x21, 0x02]) + bytes(range(32)))
    assert pid.startswith("16Uiu2") and parse_peer_id(pid) == pid


@given(st.text(max_size=300))
def test_any_text_is_a_peer_id_or_a_badblock(text: str) -> None:
    try:
        pid = parse_peer_id(text)
    except BadBlock as exc:
        assert exc.field == "id" and len(str(exc)) < 200  # never echoes the whole input
    else:
        assert pid == text.strip()


def test_an_unused_multihash_code_is_named() -> None:
    with pytest.raises(BadBlock, match="multihash code 0x13 is not one libp2p uses"):
        parse_peer_id(b58(bytes([0x13, 0x20]) + b"\x07" * 32))


def test_author_keys_and_reasons() -> None:
    key = KEYS[0].public.raw
    assert parse_author_key(key.hex().upper()) == key
    with pytest.raises(BadBlock, match=r"expected a key, 64 hex characters \(got 8 "
                                       r"characters\)"):
        parse_author_key("1a2b3c4d")
    with pytest.raises(BadBlock, match="not hex"):
        parse_author_key("z" * 64)
    assert parse_reason(None) == "" and parse_reason("  spam  ") == "spam"
    with pytest.raises(BadBlock, match="reason: 201 characters; at most 200"):
        parse_reason("r" * 201)
    with pytest.raises(BadBlock, match="one line of printable text"):
        parse_reason("two\nlines")
    assert canonical_id("author", key.hex().upper()) == key.hex()


# -- the file ------------------------------------------------------------------------------


def test_the_file_round_trips_and_is_readable(tmp_path: Path) -> None:
    path = tmp_path / BLOCKS_FILE
    assert BlockList.load(path).all() == []
    bl = BlockList()
    assert bl.add(Block("peer", ED25519_PEER, "spam", 1_000))
    assert bl.add(Block("author", KEYS[1].public.raw.hex(), "", 2_000))
    # blocking again keeps the first time, takes a new reason
    assert not bl.add(Block("peer", ED25519_PEER, "flooding", 3_000))
    bl.save(path)
    data = json.loads(path.read_text())
    assert data == {"version": 1,
                    "peers": [{"kind": "peer", "id": ED25519_PEER, "reason": "flooding",
                               "since_ms": 1_000}],
                    "authors": [{"kind": "author", "id": KEYS[1].public.raw.hex(),
                                 "reason": "", "since_ms": 2_000}]}
    again = BlockList.load(path)
    assert again.all() == bl.all()
    assert again.peers() == {ED25519_PEER} and again.authors() == [KEYS[1].public.raw]
    assert again.remove("peer", ED25519_PEER) is not None
    assert again.remove("peer", ED25519_PEER) is None
    assert [p.name for p in tmp_path.iterdir()] == [BLOCKS_FILE]  # no temporary left


@pytest.mark.parametrize("text", [
    "{", '{"version": 2}', '{"version": 1, "peers": [{"id": "0", "since_ms": 1}]}',
    '{"version": 1, "authors": [{"id": "ab", "since_ms": 1}]}',
    '{"version": 1, "peers": [{"id": "' + ED25519_PEER + '", "since_ms": "x"}]}',
    '[]',
])
def test_a_damaged_file_stops_the_node_rather_than_lifting_the_blocks(
        tmp_path: Path, text: str) -> None:
    path = tmp_path / BLOCKS_FILE
    path.write_text(text)
    with pytest.raises(BlocksFileError, match="the node will not run without its block "
                                              "list"):
        BlockList.load(path)


# -- identities: a co-op's keys ----------------------------------------------------------


def _bind(store: Store, identity: SecretKey, new: SecretKey, ts: int) -> Entry:
    return store.append(identity, kind="key.add", ts=ts, body={
        "identity": identity.public.raw.hex(), "key": new.public.raw.hex(),
        "power": "node", "label": "laptop",
        "proof": new.sign(key_proof_message(identity.public.raw)).hex()})


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


def test_an_identity_blocks_every_key_of_its_coop(store: Store) -> None:
    garden, laptop, bakery = KEYS[0], KEYS[1], KEYS[2]
    for k, name in ((garden, "Garden"), (laptop, "Garden"), (bakery, "Bakery")):
        store.append(k, kind="genesis", body={"name": name}, ts=1_000)
    _bind(store, garden, laptop, 2_000)
    ids = store.state().economy().gov.ids
    g, lap, b = garden.public.raw, laptop.public.raw, bakery.public.raw
    assert effective_keys([g], ids) == {g: g, lap: g}
    assert effective_keys([lap], ids) == {lap: lap}      # a device key: only itself
    assert effective_keys([b], ids) == {b: b}
    assert effective_keys([g], None) == {g: g}           # no key table yet

    blocks = Blocks(Path("unused"), BlockList([Block("author", g.hex())]))
    assert blocks.keys == {g}
    blocks.expand(ids)
    assert blocks.keys == {g, lap}


# -- the checks ----------------------------------------------------------------------------


def _blocks_of(*keys: SecretKey, own: SecretKey | None = None) -> Blocks:
    return Blocks(Path("unused"), BlockList(Block("author", k.public.raw.hex())
                                            for k in keys),
                  own_peer="12D3KooWself", own_key=(own or KEYS[9]).public.raw,
                  own_identity=(own or KEYS[9]).public.raw)


def test_keep_drops_blocked_entries_counts_them_and_logs_sparingly(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="coopledger.node._blocks")
    bad, good = make_log(KEYS[3], 5, name="Spam"), make_log(KEYS[4], 3, name="Fine")
    blocks = _blocks_of(KEYS[3])
    mixed = [e.raw for pair in zip(bad, good, strict=False) for e in pair] + \
        [e.raw for e in bad[3:]]
    assert blocks.keep(mixed, "sync", "12D3KooWpeerAAAABBBB") == [e.raw for e in good]
    assert blocks.keep([bad[0].raw], "sync", "12D3KooWpeerAAAABBBB") == []
    assert blocks.gossip_refused(bad[1].raw) and not blocks.gossip_refused(good[1].raw)
    assert not blocks.gossip_refused(b"not an entry")
    st = blocks.statistics()
    assert st.dropped == {"gossip": 1, "sync": 6, "import": 0} and st.authors == 1
    lines = [r.getMessage() for r in caplog.records]
    # one line per (author, source) a minute, whatever the flood
    assert lines == [
        f"blocked:author: 5 entries of author {KEYS[3].public.raw[:4].hex()}… by sync "
        "from AAAABBBB not stored (5 dropped so far; next line for it in 60 s at most)",
        f"blocked:author: an entry of author {KEYS[3].public.raw[:4].hex()}… by gossip "
        "not stored (7 dropped so far; next line for it in 60 s at most)",
    ]
    assert blocks.view()["authors"][0]["dropped"] == 7


def test_nothing_blocked_costs_nothing() -> None:
    blocks = Blocks(Path("unused"), BlockList())
    entries = [b"anything at all"]
    assert blocks.keep(entries, "sync") == entries
    assert not blocks.gossip_refused(b"\x00")
    assert not blocks.withhold(KEYS[0].public.raw)


def test_withhold_counts_reads_of_blocked_authors() -> None:
    blocks = _blocks_of(KEYS[3])
    assert blocks.withhold(KEYS[3].public.raw, "peer")
    assert not blocks.withhold(KEYS[4].public.raw, "peer")
    assert blocks.statistics().withheld == 1


# -- block / unblock (what the API calls) ---------------------------------------------------


async def test_block_persists_then_applies_and_unblock_lifts(tmp_path: Path) -> None:
    blocks = Blocks.load(tmp_path, own_peer="12D3KooWself", own_key=KEYS[9].public.raw,
                         own_identity=KEYS[9].public.raw)
    heard: list[tuple[str, str, bool, bool]] = []
    blocks.subscribe(lambda b, added: heard.append(
        (b.kind, b.id, added, (tmp_path / BLOCKS_FILE).exists())))
    key = KEYS[3].public.raw.hex()
    block, new = await blocks.block("author", key, "spam")
    assert new and block.reason == "spam" and blocks.keys == {KEYS[3].public.raw}
    _, new = await blocks.block("author", key)
    assert not new                       # blocking twice is not an error
    await blocks.block("peer", ED25519_PEER)
    assert blocks.peers == {ED25519_PEER}
    assert heard == [("author", key, True, True), ("author", key, True, True),
                     ("peer", ED25519_PEER, True, True)]
    assert {b.id for b in BlockList.load(tmp_path / BLOCKS_FILE).all()} == {key, ED25519_PEER}

    assert (await blocks.unblock("author", key)) is not None
    assert await blocks.unblock("author", key) is None
    assert blocks.keys == frozenset() and heard[-1] == ("author", key, False, True)
    assert [b.id for b in BlockList.load(tmp_path / BLOCKS_FILE).all()] == [ED25519_PEER]


async def test_a_node_cannot_block_itself(tmp_path: Path, store: Store) -> None:
    garden, laptop = KEYS[0], KEYS[1]
    for k in (garden, laptop):
        store.append(k, kind="genesis", body={"name": "Garden"}, ts=1_000)
    _bind(store, garden, laptop, 2_000)
    # this node writes with the laptop key for the Garden co-op
    blocks = Blocks.load(tmp_path, own_peer="12D3KooWself", own_key=laptop.public.raw,
                         own_identity=garden.public.raw)
    blocks.expand(store.state().economy().gov.ids)
    for kind, id in (("peer", "12D3KooWself"), ("author", garden.public.raw.hex()),
                     ("author", laptop.public.raw.hex())):
        with pytest.raises(BadBlock, match="own"):
            await blocks.block(kind, id)  # type: ignore[arg-type]
    assert not (tmp_path / BLOCKS_FILE).exists()


async def test_a_failed_write_changes_nothing(tmp_path: Path) -> None:
    blocks = Blocks.load(tmp_path / "gone")  # its directory does not exist
    with pytest.raises(OSError):
        await blocks.block("peer", ED25519_PEER)
    assert blocks.peers == frozenset() and blocks.all() == []


# -- the store ------------------------------------------------------------------------------


def test_the_store_refuses_new_entries_of_refused_authors(store: Store) -> None:
    bad, good = make_log(KEYS[3], 4, name="Spam"), make_log(KEYS[4], 3, name="Fine")
    store.add_entries(bad[:2])                  # held before the block: they stay
    refused: list[Entry] = []
    store.refused_authors = frozenset({KEYS[3].public.raw})
    store.on_refused = refused.extend
    res = store.add_entries(bad + good)
    assert res.refused == 2 and sorted(res.new) == sorted(e.id for e in good)
    assert refused == bad[2:]
    assert store.held_counts() == {KEYS[3].public.raw: 2, KEYS[4].public.raw: 3}
    store.refused_authors = frozenset()         # unblocked: they come in
    res = store.add_entries(bad)
    assert res.refused == 0 and sorted(res.new) == sorted(e.id for e in bad[2:])


def test_an_offline_bundle_import_honours_the_home_s_blocks(tmp_path: Path,
                                                           store: Store) -> None:
    bad, good = make_log(KEYS[3], 4, name="Spam"), make_log(KEYS[4], 3, name="Fine")
    BlockList([Block("author", KEYS[3].public.raw.hex())]).save(tmp_path / BLOCKS_FILE)
    blocks = refuse_blocked(tmp_path, store)
    report = import_bundle(store, io.BytesIO(bundle(bad + good)))
    assert report.new == 3 and report.rejected == 0
    assert store.held_counts() == {KEYS[4].public.raw: 3}
    assert blocks.statistics().dropped["import"] == 4


def test_blocking_is_thread_safe_enough_for_the_store_thread(store: Store) -> None:
    blocks = _blocks_of(KEYS[3])
    store.refused_authors, store.on_refused = blocks.keys, blocks.note_refused

    def work() -> None:
        store.add_entries(make_log(KEYS[3], 3, name="Spam"))

    async def main() -> None:
        await trio.to_thread.run_sync(work)

    trio.run(main)
    assert blocks.statistics().dropped["import"] == 3


# -- the API (in process) -------------------------------------------------------------------

TOKEN = "ab" * 32


@pytest.fixture
async def api(tmp_path: Path, store: Store) -> Any:
    from govapi import ViewNode

    from coopledger.node._api import make_app

    for k, name in ((KEYS[0], "Garden"), (KEYS[2], "Bakery")):
        store.append(k, kind="genesis", body={"name": name}, ts=1_000)
    blocks = Blocks.load(tmp_path, own_peer="12D3KooWself", own_key=KEYS[0].public.raw,
                         own_identity=KEYS[0].public.raw)
    app = make_app(ViewNode(store, KEYS[0].public.raw), TOKEN,  # type: ignore[arg-type]
                   blocks=blocks)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://node",
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        c.blocks = blocks  # type: ignore[attr-defined]
        yield c


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["status"] == status
    return err


async def test_the_api_blocks_lists_and_unblocks(api: Any, tmp_path: Path) -> None:
    assert (await api.get("/v1/blocks")).json() == {
        "peers": [], "authors": [], "dropped": {"gossip": 0, "sync": 0, "import": 0},
        "withheld": 0}
    r = await api.post("/v1/blocks", json={"kind": "peer", "id": ED25519_PEER,
                                           "reason": "flooding"})
    assert r.status_code == 201 and r.json()["created"] is True
    assert r.json()["block"]["reason"] == "flooding"
    r = await api.post("/v1/blocks", json={"kind": "peer", "id": ED25519_PEER})
    assert r.status_code == 200 and r.json()["block"]["reason"] == "flooding"
    # an author by the co-op's name, as the CLI names co-ops
    r = await api.post("/v1/blocks", json={"kind": "author", "id": "Bakery"})
    assert r.status_code == 201 and r.json()["block"]["id"] == KEYS[2].public.raw.hex()
    listed = (await api.get("/v1/blocks")).json()
    assert [p["id"] for p in listed["peers"]] == [ED25519_PEER]
    assert listed["authors"][0]["keys"] == [KEYS[2].public.raw.hex()]
    assert api.blocks.keys == {KEYS[2].public.raw}
    assert BlockList.load(tmp_path / BLOCKS_FILE).peers() == {ED25519_PEER}

    r = await api.delete("/v1/blocks", params={"kind": "author", "id": "Bakery"})
    assert r.status_code == 200 and r.json()["block"]["id"] == KEYS[2].public.raw.hex()
    err = _error(await api.delete("/v1/blocks", params={"kind": "author", "id": "Bakery"}),
                 404)
    assert (err["reason"], err["field"]) == ("invalid:unknown", "id")
    assert api.blocks.keys == frozenset()


@pytest.mark.parametrize("body,field,message", [
    ({"kind": "peer", "id": "12D3KooW0OIl"}, "id",
     "peer id '12D3KooW0OIl': not base58 (libp2p peer ids use the characters 1-9, A-Z "
     "and a-z without 0, O, I and l)"),
    ({"kind": "peer", "id": "12D3KooWself"}, "id", None),
    ({"kind": "author", "id": "Garden"}, "id",
     f"{KEYS[0].public.raw[:4].hex()}… is this node's own co-op (or one of its keys); a "
     "node cannot block itself"),
    ({"kind": "co-op", "id": "Bakery"}, "kind", "kind: expected peer or author (got 'co-op')"),
    ({"kind": "author"}, "id", "id: required, a string"),
    ({"kind": "author", "id": "Bakery", "reason": 7}, "reason", "reason: a string"),
    ({"kind": "author", "id": "Bakery", "reason": "x" * 201}, "reason",
     "reason: 201 characters; at most 200"),
])
async def test_bad_blocks_get_a_400_naming_the_field(
        api: Any, tmp_path: Path, body: dict[str, Any], field: str,
        message: str | None) -> None:
    err = _error(await api.post("/v1/blocks", json=body), 400)
    assert (err["reason"], err["field"]) == ("invalid:request", field)
    if message is not None:
        assert err["message"] == message
    assert not (tmp_path / BLOCKS_FILE).exists()


async def test_the_api_refuses_malformed_requests(api: Any) -> None:
    _error(await api.post("/v1/blocks", json={"kind": "peer", "id": ED25519_PEER,
                                              "why": "x"}), 400)
    _error(await api.delete("/v1/blocks", params={"kind": "peer"}), 400)
    # an author that is neither a key nor a co-op known here: 404, as the views say
    err = _error(await api.post("/v1/blocks", json={"kind": "author", "id": "zz"}), 404)
    assert err["message"].startswith("id: no co-op named 'zz' here")
    r = await api.get("/v1/blocks", headers={"Authorization": "Bearer nope"})
    assert _error(r, 401)["reason"] == "blocked:token"


async def test_without_a_block_list_the_endpoint_says_so(store: Store) -> None:
    from govapi import api_client

    async with api_client(store, KEYS[0].public.raw, TOKEN) as c:
        err = _error(await c.get("/v1/blocks"), 503)
        assert err["reason"] == "error:unavailable"
