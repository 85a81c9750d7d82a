"""`coop block peer|author`, `coop unblock peer|author` and `coop blocks`: offline (they
edit HOME/blocks.json and say it takes effect at the next start) and through a running
node's API (the real API app with a real block list, over a fake node service)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_support import Run, ok, user_error
from fake_node import FakeNode

from coopledger.node import Home
from coopledger.node._api import serve_api
from coopledger.node._blocks import BLOCKS_FILE, BlockList, Blocks, peer_id_of_key
from coopledger.node._runfile import ensure_token, remove_runfile, write_runfile

PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"


@pytest.fixture
def homes(run: Run, tmp_path: Path, garden: Path) -> tuple[Path, str]:
    """Garden holds the Bakery's log too (imported from a bundle): (garden, bakery key)."""
    bakery = tmp_path / "bakery"
    ok(run("init", "--name", "Bread & Roses Bakery", "--home", bakery))
    ok(run("bundle", "export", tmp_path / "b.coopbundle", "--home", bakery))
    ok(run("bundle", "import", tmp_path / "b.coopbundle", "--home", garden))
    return garden, Home.open(bakery).author.hex()


def listed(home: Path) -> dict[str, list[str]]:
    data = json.loads((home / BLOCKS_FILE).read_text())
    return {k: [b["id"] for b in data[k]] for k in ("peers", "authors")}


# -- offline ----------------------------------------------------------------------------------


def test_offline_blocks_go_to_the_file_and_wait_for_the_next_start(
        run: Run, homes: tuple[Path, str]) -> None:
    garden, bakery = homes
    r = ok(run("block", "peer", PEER, "--reason", "floods us", "--home", garden))
    assert r.out == f"blocked peer {PEER}\n"
    assert r.err == (f"no node is running for {garden}: written to blocks.json; it takes "
                     "effect when the node starts\n")
    r = ok(run("block", "author", "Bread & Roses Bakery", "--home", garden))
    assert r.out == f"blocked author Bread & Roses Bakery ({bakery[:8]}…)\n"
    assert listed(garden) == {"peers": [PEER], "authors": [bakery]}
    r = ok(run("block", "author", bakery[:10], "--reason", "again", "--home", garden))
    assert r.out.startswith("author Bread & Roses Bakery") and "blocked already" in r.out

    data = ok(run("blocks", "--json", "--home", garden)).json()
    assert [(b["kind"], b["id"], b["reason"]) for b in data["peers"] + data["authors"]] == [
        ("peer", PEER, "floods us"), ("author", bakery, "again")]
    table = ok(run("blocks", "--home", garden))
    assert "1 peers and 1 authors blocked" in table.out and "floods us" in table.out

    r = ok(run("unblock", "author", "Bread & Roses Bakery", "--json", "--home", garden))
    assert r.json()["block"]["id"] == bakery and r.json()["in_effect"] == "at the next start"
    assert listed(garden) == {"peers": [PEER], "authors": []}
    user_error(run("unblock", "author", bakery, "--home", garden), 1,
               "COOP_OR_KEY: that author is not blocked")


@pytest.mark.parametrize("args,words", [
    (("block", "peer", "12D3KooW0OIl"), ("PEER_ID:", "not base58")),
    (("block", "peer", "x" * 300), ("PEER_ID:", "300 characters")),
    (("block", "author", "Nobody Here"), ("COOP_OR_KEY:", "no co-op named 'Nobody Here'")),
    (("block", "author", "Hillside Garden"), ("COOP_OR_KEY:", "this node's own co-op")),
    (("block", "peer", PEER, "--reason", "r" * 201), ("--reason", "at most 200")),
])
def test_bad_input_is_one_specific_line(run: Run, homes: tuple[Path, str],
                                        args: tuple[str, ...], words: tuple[str, ...]) -> None:
    garden, _ = homes
    user_error(run(*args, "--home", garden), 1 if words[0] != "--reason" else 2, *words)
    assert not (garden / BLOCKS_FILE).exists()


def test_the_node_s_own_peer_id_is_refused(run: Run, garden: Path) -> None:
    own = peer_id_of_key(Home.open(garden).author)
    user_error(run("block", "peer", own, "--home", garden), 1,
               "PEER_ID: that is this node's own peer id")


def test_a_damaged_file_is_an_error_not_an_empty_list(run: Run, garden: Path) -> None:
    (garden / BLOCKS_FILE).write_text("{not json")
    user_error(run("blocks", "--home", garden), 1, "is not a block list")
    user_error(run("block", "peer", PEER, "--home", garden), 1, "is not a block list")
    assert (garden / BLOCKS_FILE).read_text() == "{not json"


# -- through a running node ------------------------------------------------------------------


@contextmanager
def serving_with_blocks(home: Path) -> Iterator[Blocks]:
    """The real API (hypercorn, loopback) over a fake node, with the home's real block
    list, and the run file a daemon writes: the CLI takes the API path."""
    node = FakeNode(home)
    blocks = Blocks.load(home, own_peer=peer_id_of_key(node.home.author),
                         own_identity=node.home.identity, own_key=node.home.author)
    token = ensure_token(home)
    started: queue.Queue[Any] = queue.Queue()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await nursery.start(
                lambda task_status: serve_api(node, "127.0.0.1", 0, token, blocks=blocks,
                                              task_status=task_status))
            started.put((port, trio.lowlevel.current_trio_token(), nursery.cancel_scope))

    def thread() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            started.put(exc)
            raise

    t = threading.Thread(target=thread, name="blocks-node", daemon=True)
    t.start()
    got = started.get(timeout=60)
    if isinstance(got, BaseException):
        raise got
    port, trio_token, scope = got
    write_runfile(home, api=f"127.0.0.1:{port}", peer_id=peer_id_of_key(node.home.author))
    try:
        yield blocks
    finally:
        remove_runfile(home)
        trio.from_thread.run_sync(scope.cancel, trio_token=trio_token)
        t.join(10)


def test_with_a_node_running_blocks_take_effect_at_once(
        run: Run, homes: tuple[Path, str]) -> None:
    garden, bakery = homes
    with serving_with_blocks(garden) as blocks:
        r = ok(run("block", "peer", PEER, "--home", garden))
        assert r.out == f"blocked peer {PEER}\n"
        assert r.err == "in effect now: the node cut its connections to it and refuses it\n"
        assert blocks.peers == {PEER}
        r = ok(run("block", "author", "Bread & Roses Bakery", "--reason", "spam",
                   "--home", garden))
        assert r.err.startswith("in effect now: the node no longer stores, relays or "
                                "serves its new entries")
        assert blocks.keys == {bytes.fromhex(bakery)}
        data = ok(run("blocks", "--json", "--home", garden)).json()
        assert data["authors"][0]["keys"] == [bakery]
        assert data["dropped"] == {"gossip": 0, "sync": 0, "import": 0}

        user_error(run("block", "peer", "12D3KooW0OIl", "--home", garden), 1,
                   "PEER_ID: peer id '12D3KooW0OIl': not base58")
        user_error(run("block", "author", "Hillside Garden", "--home", garden), 1,
                   "COOP_OR_KEY:", "this node's own co-op")
        user_error(run("block", "author", "Nobody Here", "--home", garden), 1,
                   "COOP_OR_KEY: no co-op named 'Nobody Here'")

        r = ok(run("unblock", "author", bakery[:12], "--home", garden))
        assert r.out == f"unblocked author Bread & Roses Bakery ({bakery[:8]}…)\n"
        assert r.err.startswith("in effect now: the node syncs with its peers")
        assert blocks.keys == frozenset()
        user_error(run("unblock", "author", bakery, "--home", garden), 1,
                   "COOP_OR_KEY: that author is not blocked")
    # the node persisted what it was told
    assert BlockList.load(garden / BLOCKS_FILE).peers() == {PEER}
