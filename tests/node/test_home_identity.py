"""A home's identity (SPEC §13.2): a home for a new device of an existing co-op, and
key rotation (the store gains the add, the revoke and the new key's genesis; the key
file and coop.toml switch; an interrupted rotation finishes on the next try)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from coopledger.crypto import SecretKey, plain_secret
from coopledger.node import Home, HomeError, KeyLocked, Store
from coopledger.node._home import CONFIG_FILE, KEY_FILE, NEXT, read_secret_file
from coopledger.node._replication import replication_of
from coopledger.protocol import default_rules_value

T = 1_800_000_000_000


def _after_genesis(h: Home) -> int:
    """T, or just after the home's entries when the real clock is past T: Home.init
    stamps the genesis with the clock, and a rotation must come after it on any day the
    suite runs (at equal times the key entries would sort by id, a coin toss)."""
    with Store.open(h.store_path) as store:
        return max(T, max(e.ts for e in store.entries()) + 1)


def test_init_with_identity_writes_it_to_coop_toml(tmp_path: Path) -> None:
    garden, _ = Home.init(tmp_path / "garden", "Garden")
    assert garden.identity == garden.author
    assert "identity" not in tomllib.loads((garden.path / CONFIG_FILE).read_text())
    laptop, genesis = Home.init(tmp_path / "laptop", "Garden", identity=garden.author)
    cfg = tomllib.loads((laptop.path / CONFIG_FILE).read_text())
    assert cfg == {"name": "Garden", "author": laptop.author.hex(),
                   "identity": garden.author.hex()}
    assert genesis.author == laptop.author != garden.author
    again = Home.open(laptop.path)
    assert (again.author, again.identity) == (laptop.author, garden.author)


def test_a_damaged_identity_is_refused(tmp_path: Path) -> None:
    h, _ = Home.init(tmp_path / "h", "Garden")
    cfg = h.path / CONFIG_FILE
    cfg.write_text(cfg.read_text() + 'identity = "abcd"\n')
    with pytest.raises(HomeError, match="damaged"):
        Home.open(h.path)


def _log(h: Home, author: bytes) -> list[tuple[str, int]]:
    with h.open_store() as store:
        return [(e.kind, e.seq) for e in store.entries(authors=[author])]


@pytest.mark.parametrize("sealed", [False, True])
def test_rotate_key_switches_the_home_to_a_new_key(tmp_path: Path, sealed: bool) -> None:
    pw = b"correct horse" if sealed else None
    h, _ = Home.init(tmp_path / "garden", "Garden", pw)
    old = h.author
    r = h.rotate_key(pw, _after_genesis(h))
    assert (r.old, r.identity) == (old, old)
    assert h.author == r.new != old and h.identity == old
    assert _log(h, old) == [("genesis", 1), ("key.add", 2), ("key.revoke", 3)]
    assert _log(h, r.new) == [("genesis", 1)]
    assert r.revoke.body["through"] == r.revoke.seq == 3
    assert r.add.body["key"] == r.new.hex() and r.add.body["power"] == "node"
    assert r.genesis.ts >= r.add.ts and r.genesis.body == {"name": "Garden"}
    opened = Home.open(h.path)
    assert (opened.author, opened.identity) == (r.new, old)
    assert opened.key_is_sealed() is sealed
    assert opened.secret_key(pw).public.raw == r.new
    assert not (h.path / (KEY_FILE + NEXT)).exists()
    assert not (h.path / (CONFIG_FILE + NEXT)).exists()
    if sealed:
        with pytest.raises(KeyLocked):
            opened.secret_key(b"wrong")
    # The economy sees one co-op with two keys; the old key is revoked after seq 3.
    with Store.open(h.store_path) as store:
        eco = store.state().economy()
        ids = eco.gov.ids
        assert ids.invalid == {}
        assert ids.identity_of(r.new) == old
        assert [(k.key, k.power, k.revoked) for k in ids.keys_of(old)] == [
            (old, "root", True), (r.new, "node", False)]
    # Writing on with the new key acts for the co-op.
    key = opened.secret_key(pw)
    with Store.open(h.store_path) as store:
        e = store.append(key, kind="labor", ts=T, body={
            "member": "Ana", "hours": "1", "task": "weeding", "category": "care",
            "date": "2027-01-15"})
        assert store.state().economy().gov.ids.acting(e) == (old, "node")


def test_rotating_twice_keeps_the_identity(tmp_path: Path) -> None:
    h, _ = Home.init(tmp_path / "garden", "Garden")
    root = h.author
    t = _after_genesis(h)
    first = h.rotate_key(None, t)
    second = h.rotate_key(None, t + 1000)
    assert second.old == first.new and second.identity == root
    assert Home.open(h.path).identity == root
    with Store.open(h.store_path) as store:
        ids = store.state().economy().gov.ids
        assert ids.invalid == {}
        assert [k.revoked for k in ids.keys_of(root)] == [True, True, False]


def test_an_interrupted_rotation_finishes_on_the_next_try(tmp_path: Path) -> None:
    h, _ = Home.init(tmp_path / "garden", "Garden")
    old = h.author
    # Crash after key.next was written (step 1): the next rotation reuses it.
    nxt = SecretKey.generate()
    (h.path / (KEY_FILE + NEXT)).write_bytes(plain_secret(nxt.raw))
    os.chmod(h.path / (KEY_FILE + NEXT), 0o600)
    r = h.rotate_key(None, _after_genesis(h))
    assert r.new == nxt.public.raw
    assert _log(h, old) == [("genesis", 1), ("key.add", 2), ("key.revoke", 3)]


def test_a_switch_stopped_between_the_renames_completes_on_unlock(tmp_path: Path) -> None:
    h, _ = Home.init(tmp_path / "garden", "Garden")
    r = h.rotate_key(None, _after_genesis(h))
    # Simulate the crash: coop.toml names the new key, but key still holds the old one
    # and the new one waits in key.next.
    new_blob = (h.path / KEY_FILE).read_bytes()
    (h.path / (KEY_FILE + NEXT)).write_bytes(new_blob)
    old_key = SecretKey.generate()  # any other key in the key file
    (h.path / KEY_FILE).write_bytes(plain_secret(old_key.raw))
    opened = Home.open(h.path)
    assert opened.secret_key(None).public.raw == r.new
    assert not (h.path / (KEY_FILE + NEXT)).exists()
    assert read_secret_file(h.path / KEY_FILE, None).public.raw == r.new


def test_a_mismatched_key_file_is_still_refused(tmp_path: Path) -> None:
    h, _ = Home.init(tmp_path / "garden", "Garden")
    other = SecretKey.generate()
    (h.path / KEY_FILE).write_bytes(plain_secret(other.raw))
    with pytest.raises(HomeError, match="does not match"):
        h.secret_key(None)


def test_replication_of_a_rotated_home_covers_both_keys(tmp_path: Path) -> None:
    garden, _ = Home.init(tmp_path / "garden", "Garden")
    repair, _ = Home.init(tmp_path / "repair", "Repair")
    gkey, rkey = garden.secret_key(None), repair.secret_key(None)
    with Store.open(repair.store_path) as rs:
        fed = rs.append(rkey, kind="federation.create", ts=T, body={
            "name": "Hillside", "charter": "We share.", "rules": default_rules_value()})
        inv = rs.append(rkey, kind="federation.invite", ts=T, refs=[fed.id], body={
            "federation": fed.id.hex(), "invitee": garden.author.hex()})
        theirs = list(rs.entries())
    with Store.open(garden.store_path) as gs:
        gs.add_entries(theirs)
        gs.append(gkey, kind="federation.join", ts=T, refs=[fed.id, inv.id], body={
            "federation": fed.id.hex(), "invite": inv.id.hex()})
    old = garden.author
    r = garden.rotate_key(None, _after_genesis(garden) + 1000)
    with Store.open(garden.store_path) as gs:
        state = gs.state()
    for me in (r.new, old):
        rep = replication_of(state, me)
        assert rep.authors == frozenset({old, r.new, repair.author})
        assert rep.federations == (fed.id,)
    # A key nothing binds yet (a new device before its add arrives) syncs everything.
    stranger = SecretKey.generate().public.raw
    assert replication_of(state, stranger).authors is None
