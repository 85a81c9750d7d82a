"""Sync scope (SPEC §10 "Scope", rule 5 of protocol/_sync.py): Hello's optional
``want``, the session scope (the intersection of the two wants), what is streamed,
what is refused, and how the peer memory follows a change of scope."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synckit import KEYS, Store, sync

import coopledger.protocol._sync_messages as messages_module
from coopledger.protocol import (
    MAX_MESSAGE_SIZE,
    Head,
    LocalHeads,
    LocalProtocolError,
    PeerMemory,
    RemoteProtocolError,
    SendMessage,
    SyncSession,
    SyncState,
    encode,
)
from coopledger.protocol._sync import entry_author, heads_digest, session_scope
from coopledger.protocol._sync_messages import (
    MAX_WANT,
    Entries,
    Heads,
    Hello,
    decode_message,
    encode_message,
)

A, B, C, D = (k.public.raw for k in KEYS[:4])
KA, KB, KC, KD = KEYS[:4]
ID = bytes([7]) * 32


def authors(store: Store) -> set[bytes]:
    return {a for a, _ in store.by_pos}


def ids_of(store: Store, who: set[bytes]) -> set[bytes]:
    return {e.id for e in store.entries() if e.author in who}


# ---- the message ----------------------------------------------------------------------

@given(st.lists(st.binary(min_size=32, max_size=32), max_size=20, unique=True))
@settings(max_examples=100)
def test_hello_want_round_trips(want: list[bytes]) -> None:
    hello = Hello("default", True, bytes(32), tuple(sorted(want)))
    assert decode_message(encode_message(hello)) == hello


def test_hello_without_want_is_unchanged_on_the_wire() -> None:
    # Absent, not null: a hello without scope is byte for byte what it was before.
    data = encode_message(Hello("default", True))
    assert data == encode({"t": "hello", "v": 1, "network": "default", "full": True,
                           "memory": bytes(32)})
    assert decode_message(data) == Hello("default", True, bytes(32), None)


def test_largest_want_fits_in_one_frame() -> None:
    want = tuple(i.to_bytes(32, "big") for i in range(MAX_WANT))
    data = encode_message(Hello("n" * 64, True, bytes(32), want))
    assert len(data) <= MAX_MESSAGE_SIZE


def _hello(**over: Any) -> bytes:
    return encode({"t": "hello", "v": 1, "network": "default", "full": True,
                   "memory": bytes(32), **over})


@pytest.mark.parametrize(("data", "code"), [
    (_hello(want=b"x" * 32), "invalid:sync-field"),
    (_hello(want=[b"x" * 31]), "invalid:sync-field"),
    (_hello(want=["a" * 32]), "invalid:sync-field"),
    (_hello(want=sorted([A, B], reverse=True)), "invalid:sync-field"),
    (_hello(want=[A, A]), "invalid:sync-field"),
    (_hello(want=None), "invalid:sync-field"),
    (_hello(wants=[A]), "invalid:sync-fields"),
], ids=["not list", "short", "text", "unsorted", "repeated", "nil", "misspelt"])
def test_malformed_want_is_rejected(data: bytes, code: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(data)
    assert info.value.reason_code == code


def test_want_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages_module, "MAX_WANT", 3)
    want = [bytes([i]) * 32 for i in range(1, 5)]
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(_hello(want=want))
    assert info.value.reason_code == "invalid:sync-too-large"
    assert info.value.field == "want" and "more than 3 authors" in str(info.value)
    assert decode_message(_hello(want=want[:3])) == Hello("default", True, bytes(32),
                                                          tuple(want[:3]))


def test_session_refuses_a_want_over_the_limit() -> None:
    want = frozenset(i.to_bytes(32, "big") for i in range(MAX_WANT + 1))
    with pytest.raises(LocalProtocolError, match="over 7000"):
        SyncSession(LocalHeads("default", {}), None, initiator=True, want=want)


def test_hello_carries_the_sorted_want() -> None:
    s = SyncSession(LocalHeads("default", {}), None, initiator=True, want=frozenset({C, A}))
    (act,) = s.next_actions()
    assert isinstance(act, SendMessage)
    hello = decode_message(act.data)
    assert isinstance(hello, Hello) and hello.want == tuple(sorted({A, C}))


def test_session_scope_is_the_intersection() -> None:
    assert session_scope(None, None) is None
    assert session_scope(frozenset({A}), None) == {A}
    assert session_scope(None, frozenset({B})) == {B}
    assert session_scope(frozenset({A, B}), frozenset({B, C})) == {B}


def test_entry_author_reads_the_envelope() -> None:
    e = Store().append(KC)[0]
    assert entry_author(e.raw) == C
    assert entry_author(b"junk") is None
    assert entry_author(encode([b"x", b"y"])) is None
    assert entry_author(encode([encode({"author": b"short"}), b"y"])) is None


# ---- what a session streams -----------------------------------------------------------

def test_only_wanted_authors_are_streamed() -> None:
    a, b = Store(), Store()
    for k in (KA, KB, KC):
        a.append(k, 3)
    b.append(KB, 5)      # b is ahead on B
    b.append(KD, 2)      # and holds D, which it does not replicate (stale copy)
    pair = sync(a, b, want_b=frozenset({A, B}))
    # b gets A and B, not C; a gets b's newer B entries, not D (outside the scope).
    assert authors(b) == {A, B, D} and ids_of(b, {A, B}) == ids_of(a, {A, B})
    assert C not in authors(b) and D not in authors(a)
    sa, sb = pair.a.session.statistics(), pair.b.session.statistics()
    assert (sa.heads_sent, sb.heads_sent) == (2, 1)   # heads of the scope only
    assert sa.entries_sent == 3 and sb.entries_sent == 2
    assert pair.a.session.scope == {A, B} == pair.b.session.scope


def test_two_wants_exchange_only_their_intersection() -> None:
    a, b = Store(), Store()
    a.append(KA, 2)
    a.append(KC, 2)
    b.append(KA, 1)
    b.append(KB, 2)
    b.append(KC, 4)
    sync(a, b, want_a=frozenset({A, C}), want_b=frozenset({A, B}))
    assert ids_of(a, {A}) == ids_of(b, {A})
    assert len(ids_of(a, {C})) == 2 and B not in authors(a)   # C is only in a's want


def test_no_want_on_either_side_is_everything() -> None:
    a, b = Store(), Store()
    a.append(KA, 2)
    b.append(KB, 2)
    pair = sync(a, b)
    assert a.ids() == b.ids() and pair.a.session.scope is None


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_scoped_sessions_converge_on_the_scope_and_leak_nothing(data: st.DataObject) -> None:
    keys = KEYS[:5]
    everyone = [k.public.raw for k in keys]
    a, b = Store(), Store()
    for store in (a, b):
        for k in keys:
            n = data.draw(st.integers(0, 3))
            if n:
                store.append(k, n)
    wants = [data.draw(st.one_of(st.none(), st.frozensets(st.sampled_from(everyone))))
             for _ in "ab"]
    before_a, before_b = a.ids(), b.ids()
    sync(a, b, want_a=wants[0], want_b=wants[1])
    scope = session_scope(wants[0], wants[1])
    inside = set(everyone) if scope is None else set(scope)
    assert ids_of(a, inside) == ids_of(b, inside)
    outside = set(everyone) - inside
    assert {e.id for e in a.entries() if e.author in outside} <= before_a
    assert {e.id for e in b.entries() if e.author in outside} <= before_b


# ---- what a session refuses -----------------------------------------------------------

def _scoped(want: frozenset[bytes]) -> SyncSession:
    s = SyncSession(LocalHeads("default", {}), None, initiator=True, want=want)
    s.next_actions()
    s.receive(encode_message(Hello("default", True)))
    return s


def test_an_entry_outside_the_scope_is_refused() -> None:
    a_entry, c_entry = Store().append(KA)[0], Store().append(KC)[0]
    s = _scoped(frozenset({A}))
    s.receive(encode_message(Heads(((A, Head(1, a_entry.id, 1)),), last=True)))
    s.receive(encode_message(Entries(1, (a_entry.raw,))))
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(encode_message(Entries(2, (c_entry.raw,))))
    assert info.value.reason_code == "invalid:sync-unwanted"
    assert s.state is SyncState.FAILED


def test_an_unreadable_entry_is_left_to_validation() -> None:
    # The session cannot name its author; the driver's validation refuses it.
    s = _scoped(frozenset({A}))
    s.receive(encode_message(Heads((), last=True)))
    s.receive(encode_message(Entries(1, (b"junk",))))
    assert s.state is SyncState.STREAMING


def test_a_head_outside_the_scope_is_refused() -> None:
    s = _scoped(frozenset({A}))
    with pytest.raises(RemoteProtocolError) as info:
        s.receive(encode_message(Heads(((C, Head(1, ID, 1)),), last=True)))
    assert info.value.reason_code == "invalid:sync-unwanted"


def test_without_scope_any_author_is_accepted() -> None:
    c_entry = Store().append(KC)[0]
    s = SyncSession(LocalHeads("default", {}), None, initiator=True)
    s.receive(encode_message(Hello("default", True)))
    s.receive(encode_message(Heads(((C, Head(1, c_entry.id, 1)),), last=True)))
    s.receive(encode_message(Entries(1, (c_entry.raw,))))
    assert s.state is SyncState.STREAMING


# ---- memory and scope changes ---------------------------------------------------------

def test_memory_digest_covers_the_scope() -> None:
    heads = {ID: Head(1, ID, 1)}
    plain = PeerMemory("default", heads)
    assert plain.digest == heads_digest(heads)           # unchanged without a scope
    one, two = PeerMemory("default", heads, frozenset({ID})), \
        PeerMemory("default", heads, frozenset({ID, A}))
    assert len({plain.digest, one.digest, two.digest}) == 3
    for mem in (plain, one, two):
        assert PeerMemory.decode(mem.encode()) == mem
    assert PeerMemory.decode(encode({"v": 1, "network": "default", "heads": [],
                                     "scope": [b"short"]})) is None


def test_a_scope_change_forces_full_heads_once() -> None:
    a, b = Store(), Store()
    for k in (KA, KB, KC):
        a.append(k, 2)
    first = sync(a, b, want_b=frozenset({A, B}))
    assert first.b.memory == first.a.memory and first.a.memory is not None
    assert first.a.memory.scope == {A, B}
    # Same scope: incremental, nothing to say.
    second = sync(a, b, first.a.memory, first.b.memory, want_b=frozenset({A, B}))
    assert second.a.session.statistics().incremental is True
    assert second.a.session.statistics().heads_sent == 0
    # b joins C's federation: the old baseline says nothing about C, so full heads,
    # and C's log comes over.
    third = sync(a, b, second.a.memory, second.b.memory, want_b=frozenset({A, B, C}))
    st3 = third.a.session.statistics()
    assert st3.incremental is False and st3.heads_sent == 3
    assert ids_of(b, {C}) == ids_of(a, {C})
    fourth = sync(a, b, third.a.memory, third.b.memory, want_b=frozenset({A, B, C}))
    assert fourth.a.session.statistics().incremental is True
    # b leaves: the scope shrinks; full again, and nothing of C is exchanged.
    a.append(KC, 1)
    fifth = sync(a, b, fourth.a.memory, fourth.b.memory, want_b=frozenset({A, B}))
    assert fifth.a.session.statistics().incremental is False
    assert len(ids_of(b, {C})) == 2
