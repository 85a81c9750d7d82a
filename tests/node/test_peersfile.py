"""The peers file (node/_peersfile.py) alone: what a damaged file of each shape does
(the node starts without it, with a warning), and what is written."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from coopledger.node._p2plib import peer_id_of
from coopledger.node._peersfile import (
    MAX_ADDRS_PER_PEER,
    _Known,
    _load_peers_file,
    peers_json,
    remember_addr,
)

PEER = peer_id_of(bytes(range(32)))
ADDR = "/ip4/127.0.0.1/tcp/4140"


def test_a_missing_file_is_no_peers(tmp_path: Path) -> None:
    assert _load_peers_file(tmp_path / "peers.json") == {}


def test_what_was_written_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "peers.json"
    path.write_text(peers_json([(PEER, [ADDR], 1234)]))
    (known,) = _load_peers_file(path).values()
    assert _load_peers_file(path) == {PEER: known}
    assert known.addrs == [ADDR] and known.last_seen_ms == 1234 and known.failures == 0


@pytest.mark.parametrize("data", [
    [],                                              # not a map
    {"version": 1},                                  # no peers
    {"peers": 5},                                    # peers not a list
    {"peers": [5]},                                  # a peer not a map
    {"peers": [["peer_id", PEER]]},                  # a peer not a map
    {"peers": [{"addrs": [ADDR]}]},                  # no peer id
    {"peers": [{"peer_id": 5}]},                     # a peer id not text
    {"peers": [{"peer_id": "0OIl"}]},                # not base58
    {"peers": [{"peer_id": PEER, "addrs": 7}]},      # addresses not a list
    {"peers": [{"peer_id": PEER, "addrs": "/ip4"}]},  # addresses a string
    {"peers": [{"peer_id": PEER, "addrs": [None]}]},  # an address not text
    {"peers": [{"peer_id": PEER, "addrs": ["/ip4/999.0.0.1/tcp/1"]}]},  # bad address
])
def test_a_damaged_file_is_logged_and_ignored(tmp_path: Path, data: object,
                                              caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "peers.json"
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        assert _load_peers_file(path) == {}
    (record,) = caplog.records
    assert record.name == "coopledger.node._p2p"  # the name it always logged under
    assert "damaged, starting without it" in record.getMessage()


def test_the_most_recently_seen_come_first_and_peers_without_addresses_are_left_out(
) -> None:
    doc = json.loads(peers_json([("a", [ADDR], None), ("b", [ADDR], 20), ("c", [], 99),
                                 ("d", [ADDR], 10), ("e", [ADDR], 20)]))
    assert doc["version"] == 1
    assert [p["peer_id"] for p in doc["peers"]] == ["b", "e", "d", "a"]
    assert doc["peers"][0] == {"peer_id": "b", "addrs": [ADDR], "last_seen_ms": 20}


def test_remember_addr_puts_the_newest_first_and_keeps_a_few() -> None:
    known = _Known()
    for port in range(MAX_ADDRS_PER_PEER + 3):
        remember_addr(known, f"/ip4/10.0.0.1/tcp/{port}")
    remember_addr(known, "/ip4/10.0.0.1/tcp/5")
    remember_addr(known, "/ip4/10.0.0.9/tcp/1/p2p-circuit")  # relayed: not kept
    assert len(known.addrs) == MAX_ADDRS_PER_PEER
    assert known.addrs[:2] == ["/ip4/10.0.0.1/tcp/5", f"/ip4/10.0.0.1/tcp/{MAX_ADDRS_PER_PEER + 2}"]
