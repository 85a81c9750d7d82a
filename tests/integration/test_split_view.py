"""A split view over real daemons (SPEC §14.3): a co-op shows one history to one
witness and another to a second; each witness cosigns the checkpoint it was shown.
When the two witnesses' nodes meet (through a third node), the two histories are a fork:
the proof appears on every node, the liar's log is frozen below it everywhere, and the
fork proof written by `coop prove fork` checks offline with `coop check-proof`.

The liar is not a daemon: its two histories are signed here with its key and carried
to each witness as a bundle, as a node serving different peers different logs would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

from nodekit import bundle

from coopledger import crypto
from coopledger.crypto import SecretKey
from coopledger.node.testing import COOP, converged, env, initialised, wait_for
from coopledger.protocol import Entry, create_entry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LIAR = SecretKey(bytes([0x5A]) * 32)
T0 = 1_767_225_600_000


def _next(log: list[Entry], kind: str = "x.note", body: dict[str, Any] | None = None
          ) -> Entry:
    e = create_entry(LIAR, seq=len(log) + 1, prev=log[-1].id, ts=T0 + 1000 * len(log),
                     kind=kind, body=body if body is not None else {"n": len(log)})
    log.append(e)
    return e


def _checkpoint(log: list[Entry]) -> Entry:
    tree = crypto.Frontier()
    tree.extend(crypto.leaf_hash(e.id) for e in log)
    return _next(log, "checkpoint", {"size": tree.size, "root": tree.root().hex()})


def _histories() -> tuple[list[Entry], list[Entry]]:
    """Two histories sharing seqs 1-3 and differing from seq 4 on, each with a
    checkpoint: the first at seq 6 (size 5), the second at seq 5 (size 4)."""
    common = [create_entry(LIAR, seq=1, prev=None, ts=T0, kind="genesis",
                           body={"name": "Two-Faced Mill"})]
    _next(common)
    _next(common)
    h1, h2 = list(common), list(common)
    _next(h1, body={"branch": "one"})
    _next(h1)
    _checkpoint(h1)
    _next(h2, body={"branch": "two"})
    _checkpoint(h2)
    _next(h2)
    return h1, h2


def check_proof(*args: str) -> subprocess.CompletedProcess[str]:
    """`coop check-proof`: no home, no store, as anyone would run it."""
    return subprocess.run([str(COOP), "check-proof", *args], capture_output=True,
                          text=True, env=env(), timeout=60)


def _liar_in(d: Any) -> dict[str, Any]:
    st = d.coop_json("state")
    coop: dict[str, Any] = st["coops"][LIAR.public.hex()]
    return coop


def test_a_split_view_shown_to_two_witnesses_is_proven_and_frozen_everywhere(
        tmp_path: Path) -> None:
    h1, h2 = _histories()
    (tmp_path / "h1.coopbundle").write_bytes(bundle(h1))
    (tmp_path / "h2.coopbundle").write_bytes(bundle(h2))
    with initialised(tmp_path, ["alder", "birch", "cedar"]) as ds:
        alder, birch, cedar = ds["alder"], ds["birch"], ds["cedar"]
        alder.start()
        birch.start()
        # Each witness is shown one history, and finds it sound.
        alder.coop("bundle", "import", str(tmp_path / "h1.coopbundle"))
        birch.coop("bundle", "import", str(tmp_path / "h2.coopbundle"))
        for d, n in ((alder, 6), (birch, 6)):
            coop = wait_for(f"{d.name} to apply the history it was shown",
                            lambda d=d, n=n: (c := _liar_in(d))["length"] == n and c, 30)
            assert coop["fork"] is None and coop["broken"] is None
        cp1, cp2 = h1[5], h2[4]
        alder.coop("checkpoint", "cosign", cp1.id.hex()[:12])
        birch.coop("checkpoint", "cosign", cp2.id.hex()[:12])
        listed = alder.coop_json("checkpoint", "list", "--coop", LIAR.public.hex()[:12])
        assert [(c["id"], [w["name"] for w in c["witnesses"]])
                for c in listed["checkpoints"]] == [(cp1.id.hex(), ["alder"])]
        # The witnesses' nodes meet through a third; every node sees both histories.
        cedar.start([alder.addr, birch.addr])
        wait_for("all three nodes to hold the same entries",
                 converged([alder, birch, cedar]), 60)
        for d in (alder, birch, cedar):
            coop = _liar_in(d)
            assert coop["fork"] is not None, (d.name, coop)
            assert coop["fork"]["seq"] == 4 and coop["length"] == 3, (d.name, coop)
        # The liar's further entries on either history apply nowhere.
        later = list(h1)
        _next(later)
        (tmp_path / "later.coopbundle").write_bytes(bundle(later[-1:]))
        alder.coop("bundle", "import", str(tmp_path / "later.coopbundle"))
        wait_for("the later entry to reach every node",
                 converged([alder, birch, cedar]), 60)
        assert all(_liar_in(d)["length"] == 3 for d in (alder, birch, cedar))
        # Anyone can check the proof offline.
        proof = tmp_path / "mill-fork.proof"
        cedar.coop("prove", "fork", LIAR.public.hex()[:12], "--out", str(proof))
        r = check_proof(str(proof))
        assert r.returncode == 0 and "MISCONDUCT proven" in r.stdout, r.stdout + r.stderr
        checked = json.loads(check_proof(str(proof), "--json").stdout)
        assert checked["misconduct"] and checked["author"] == LIAR.public.hex()
        # A proof someone edited does not check.
        doc = json.loads(proof.read_text())
        doc["b"] = doc["a"]
        proof.write_text(json.dumps(doc))
        r = check_proof(str(proof))
        assert r.returncode == 1 and "NOT proven" in r.stderr, r.stderr
