"""The reconnect plan (node/_reconnect.py) alone: which peers and bootstrap addresses
the host dials at a given time, when it looks again, and the backoff. No sockets, no
trio: times are plain numbers."""

from __future__ import annotations

import math
import random

import pytest

from coopledger.node._reconnect import (
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    DialState,
    Gate,
    addr_key,
    backoff,
    connected,
    dial_failed,
    plan,
    went_away,
)

ME, A, B, C = "me", "peer-a", "peer-b", "peer-c"
ADDR = "/dns4/garden/tcp/4140"


def anywhere(pid: str) -> bool:
    return True


def test_due_peers_are_dialled_and_the_next_one_sets_the_wake_up() -> None:
    peers = {A: DialState(next_dial=0.0), B: DialState(next_dial=5.0),
             C: DialState(next_dial=3.0)}
    todo = plan(1.0, Gate(own=ME), peers, anywhere, {})
    assert todo.peers == [A] and todo.addrs == []
    assert todo.wake_at == 3.0


def test_nothing_to_wait_for_means_wake_only_when_told() -> None:
    todo = plan(1.0, Gate(own=ME), {}, anywhere, {})
    assert todo.peers == [] and todo.wake_at == math.inf


@pytest.mark.parametrize("gate", [
    Gate(own=A),                                # ourselves
    Gate(own=ME, connected={A}),                 # connected already
    Gate(own=ME, dialing={A}),                   # a dial in flight
    Gate(own=ME, admitted={B}),                  # not admitted (allow list, members)
    Gate(own=ME, blocked={A}),                   # blocked by the operator
    Gate(own=ME, banned={A: 10.0}),              # banned until t=10
])
def test_a_peer_the_gate_stops_is_neither_dialled_nor_waited_for(gate: Gate) -> None:
    todo = plan(1.0, gate, {A: DialState(next_dial=0.0), B: DialState(next_dial=9.0)},
                lambda pid: pid == A, {})
    assert todo.peers == [] and todo.wake_at == math.inf


def test_a_ban_ends() -> None:
    gate = Gate(own=ME, banned={A: 10.0})
    assert plan(10.0, gate, {A: DialState()}, anywhere, {}).peers == [A]


def test_every_peer_is_admitted_without_a_gate_and_admitted_ones_with_it() -> None:
    peers = {A: DialState(), B: DialState()}
    assert plan(0.0, Gate(own=ME), peers, anywhere, {}).peers == [A, B]
    assert plan(0.0, Gate(own=ME, admitted={B}), peers, anywhere, {}).peers == [B]


def test_a_peer_with_no_known_address_is_skipped() -> None:
    todo = plan(0.0, Gate(own=ME), {A: DialState(), B: DialState(next_dial=4.0)},
                lambda pid: False, {})
    assert todo.peers == [] and todo.wake_at == math.inf


def test_bootstrap_addresses_without_a_peer_id() -> None:
    # Never connected yet: dialled when due, whatever the gate says of peers.
    todo = plan(0.0, Gate(own=ME, admitted=set()), {}, anywhere,
                {ADDR: (None, DialState())})
    assert todo.addrs == [ADDR]
    # Its node is connected (by that address or another): not dialled again.
    assert plan(0.0, Gate(own=ME, connected={A}), {}, anywhere,
                {ADDR: (A, DialState())}).addrs == []
    # A dial of it in flight: not started twice.
    assert plan(0.0, Gate(own=ME, dialing={addr_key(ADDR)}), {}, anywhere,
                {ADDR: (None, DialState())}).addrs == []
    # Not due yet: it sets the wake-up.
    todo = plan(0.0, Gate(own=ME), {A: DialState(next_dial=7.0)}, anywhere,
                {ADDR: (None, DialState(next_dial=2.0))})
    assert todo.addrs == [] and todo.wake_at == 2.0


def test_backoff_doubles_from_the_minimum_to_the_maximum_with_jitter() -> None:
    rng = random.Random(1)
    for failures, nominal in [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0),
                              (40, 30.0)]:
        delay = backoff(failures, rng)
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert RECONNECT_MIN_S == 0.5 and RECONNECT_MAX_S == 30.0


def test_a_failed_dial_waits_longer_each_time_and_a_connection_resets_it() -> None:
    state, rng = DialState(), random.Random(2)
    delays = [dial_failed(state, 100.0, rng) for _ in range(4)]
    assert state.failures == 4 and state.next_dial == 100.0 + delays[-1]
    assert delays == sorted(delays) and delays[-1] > 2 * delays[0]
    connected(state)
    assert state.failures == 0
    assert dial_failed(state, 200.0, rng) <= RECONNECT_MIN_S * 1.2


def test_a_peer_that_went_away_is_retried_soon() -> None:
    state = DialState(failures=6, next_dial=500.0)
    went_away(state, 100.0)
    assert state.failures == 0 and state.next_dial == 100.0 + RECONNECT_MIN_S
    assert plan(100.0 + RECONNECT_MIN_S, Gate(own=ME), {A: state}, anywhere,
                {}).peers == [A]
