"""`coop lottery announce|beacon|list|show|verify`, run as a user would (main()
in-process), between three homes that swap bundles: a federation draws a facilitator
and a process guardian from a pool file, two other co-ops add beacons, and anyone can
redo the draw by hand from what `verify` prints."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, user_error
from fake_node import serving

from coopledger.node import Home
from coopledger.node import _views_table as views_table
from coopledger.protocol.commons import verify


def sync(run: Run, *homes: Path) -> None:
    """Every home ends up holding everything the others hold."""
    for src, dst in itertools.permutations(homes, 2):
        file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
        file.unlink(missing_ok=True)
        ok(run("bundle", "export", file, "--home", src))
        ok(run("bundle", "import", file, "--home", dst))


@pytest.fixture
def fed(run: Run, garden: Path, tmp_path: Path, once: BuildOnce) -> dict[str, Path]:
    """Riverside: Hillside Garden (founder), Corner Bakery, Old Mill; all hold it all."""
    def build() -> dict[str, Path]:
        bakery, mill = tmp_path / "bakery", tmp_path / "mill"
        ok(run("init", "--name", "Corner Bakery", "--home", bakery))
        ok(run("init", "--name", "Old Mill", "--home", mill))
        sync(run, garden, bakery, mill)
        ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
               "--home", garden))
        for name in ("Corner Bakery", "Old Mill"):
            ok(run("federation", "invite", "--federation", "Riverside", "--coop", name,
                   "--home", garden))
        sync(run, garden, bakery, mill)
        for home in (bakery, mill):
            ok(run("federation", "join", "--federation", "Riverside", "--home", home))
        sync(run, garden, bakery, mill)
        return {"garden": garden, "bakery": bakery, "mill": mill}

    return once("test_lottery_cli.fed", build)


def pool_file(tmp_path: Path) -> Path:
    f = tmp_path / "pool.csv"
    f.write_text("name,coop\nAna,Hillside Garden\nBo,Hillside Garden\n"
                 "\"Chen, the baker\",Corner Bakery\nDee,Corner Bakery\nEli,Old Mill\n",
                 encoding="utf-8")
    return f


def announce(run: Run, home: Path, *args: object) -> Any:
    return run("lottery", "announce", "--purpose", "May assembly", *args, "--home", home)


def drawn_lottery(run: Run, fed: dict[str, Path], tmp_path: Path) -> str:
    lid = str(ok(announce(run, fed["garden"], "--federation", "Riverside", "--pool-file",
                          pool_file(tmp_path), "--roles", "facilitator,process guardian",
                          "--distinct-coops", "--beacons", "2", "--json")).json()["id"])
    sync(run, *fed.values())
    for c in ("bakery", "mill"):
        ok(run("lottery", "beacon", lid[:10], "--home", fed[c]))
    sync(run, *fed.values())
    return lid


def test_announce_writes_the_body(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    garden = fed["garden"]
    entry = ok(announce(run, garden, "--federation", "Riverside", "--pool-file",
                        pool_file(tmp_path), "--roles", "facilitator,process guardian",
                        "--distinct-coops", "--beacons", "2", "--note", "by sortition",
                        "--json")).json()
    keys = {n: Home.open(fed[n]).author.hex() for n in fed}
    assert entry["kind"] == "lottery.announce" and entry["refs"] == [entry["body"]["federation"]]
    assert entry["body"] == {
        "federation": entry["refs"][0], "purpose": "May assembly",
        "pool": [{"name": "Ana", "coop": keys["garden"]}, {"name": "Bo", "coop": keys["garden"]},
                 {"name": "Chen, the baker", "coop": keys["bakery"]},
                 {"name": "Dee", "coop": keys["bakery"]}, {"name": "Eli", "coop": keys["mill"]}],
        "seats": 1, "beacons": 2, "mode": "draw", "roles": ["facilitator", "process guardian"],
        "distinct_coops": True, "note": "by sortition"}
    r = ok(announce(run, garden, "--candidate", "Ana@Hillside Garden", "--candidate",
                    "Eli@Old Mill", "--candidate", "Fa@Old Mill", "--exclude", "Hillside Garden",
                    "--groups", "--beacons", "1", "--json"))
    body = r.json()["body"]
    assert body["mode"] == "groups" and body["exclude"] == [keys["garden"]]
    assert "federation" not in body and r.json()["refs"] == []
    # a pool that cannot fill the seats: written, with a warning
    r = ok(announce(run, garden, "--candidate", "Ana@Hillside Garden", "--seats", "3",
                    "--beacons", "1"))
    assert "Warning: the pool can fill 1 of 3 places" in r.err
    assert "Recorded lottery.announce" in r.out and "coop lottery beacon" in r.out


def test_announce_refuses_what_the_fold_would_not_draw(run: Run, fed: dict[str, Path],
                                                       tmp_path: Path) -> None:
    garden = fed["garden"]
    user_error(announce(run, garden, "--seats", "1"), 1, "--candidate", "--pool-file")
    user_error(announce(run, garden, "--candidate", "Ana"), 1, "--candidate", "NAME@COOP")
    user_error(announce(run, garden, "--candidate", "Ana@Nowhere Co-op"), 1, "--candidate",
               "Nowhere")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--candidate",
                        "Ana@Old Mill"), 1, "given twice")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--groups", "--seats",
                        "2"), 1, "--groups")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--exclude", "Old Mill"),
               1, "--exclude leaves no candidate")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--federation",
                        "Riverside", "--beacons", "3"), 1, "--beacons", "2 other member")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--roles", "a,a"), 1,
               "--roles", "twice")
    user_error(announce(run, garden, "--candidate", "Ana@Old Mill", "--beacons", "17"), 1,
               "--beacons")
    bad = tmp_path / "bad.csv"
    bad.write_text("Ana,Old Mill,extra\n", encoding="utf-8")
    user_error(announce(run, garden, "--pool-file", bad), 1, "--pool-file", "3 columns")
    lines = tmp_path / "lines.txt"
    lines.write_text("# the pool\nAna@Old Mill\n\nBo@Corner Bakery\n", encoding="utf-8")
    body = ok(announce(run, garden, "--pool-file", lines, "--beacons", "1",
                       "--json")).json()["body"]
    assert [p["name"] for p in body["pool"]] == ["Ana", "Bo"]


def test_beacons_draw_and_everyone_sees_the_same(run: Run, fed: dict[str, Path],
                                                 tmp_path: Path) -> None:
    lid = drawn_lottery(run, fed, tmp_path)
    docs = [ok(run("lottery", "show", lid[:8], "--json", "--home", h)).json()
            for h in fed.values()]
    assert docs[0] == docs[1] == docs[2]
    doc = docs[0]
    assert doc["status"] == "drawn" and [b["coop_name"] for b in doc["beacons"]] == [
        "Corner Bakery", "Old Mill"]
    [seat] = doc["result"]["seats"]
    assert len(seat) == 2 and seat[0]["coop"] != seat[1]["coop"]
    listed = ok(run("lottery", "list", "--home", fed["bakery"]))
    assert lid[:8] in listed.out and "drawn" in listed.out
    assert f"facilitator: {seat[0]['name']} of" in listed.out
    shown = ok(run("lottery", "show", lid[:8], "--home", fed["mill"])).out
    assert "counted" in shown and "Chen, the baker of Corner Bakery" in shown
    assert ok(run("lottery", "list", "--federation", "Riverside", "--json", "--home",
                  fed["mill"])).json()["lotteries"][0]["id"] == lid
    # Garden's own assembly's lottery: the other co-ops see it too (they may beacon)
    own = str(ok(announce(run, fed["garden"], "--candidate", "Ana@Hillside Garden",
                          "--purpose", "treasurer oversight", "--json")).json()["id"])
    sync(run, *fed.values())
    listed = ok(run("lottery", "list", "--home", fed["mill"])).out
    assert f"{own[:8]}  treasurer oversight  [Hillside Garden, draw]  waiting (0 of 2 beacons)" \
        in listed
    assert [r["id"] for r in ok(run("lottery", "list", "--coop", "Hillside Garden",
                                     "--json", "--home", fed["mill"])).json()["lotteries"]
            ] == [own]


def test_beacon_refusals(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    lid = str(ok(announce(run, garden, "--federation", "Riverside", "--candidate",
                          "Ana@Old Mill", "--beacons", "2", "--json")).json()["id"])
    sync(run, *fed.values())
    user_error(run("lottery", "beacon", lid[:8], "--home", garden), 1, "announced")
    ok(run("lottery", "beacon", lid[:8], "--home", bakery))
    user_error(run("lottery", "beacon", lid[:8], "--home", bakery), 1, "already counts")
    user_error(run("lottery", "beacon", "0000000000", "--home", bakery), 1, "LOTTERY")
    user_error(run("lottery", "beacon", "abc", "--home", bakery), 1, "LOTTERY", "8 hex")
    ok(run("lottery", "beacon", lid[:8], "--home", fed["mill"]))
    sync(run, *fed.values())
    # drawn now: a third beacon would not count
    outsider = tmp_path / "outsider"
    ok(run("init", "--name", "Far Away", "--home", outsider))
    sync(run, garden, outsider)
    user_error(run("lottery", "beacon", lid[:8], "--home", outsider), 1, "not a member")


def test_verify_prints_every_step(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    lid = drawn_lottery(run, fed, tmp_path)
    r = ok(run("lottery", "verify", lid[:8], "--home", fed["bakery"]))
    text = r.out
    for heading in ("1. The announcement", "2. The beacons", "3. The seed",
                    "4. The candidates", "5. The draws", "6. The result"):
        assert heading in text
    assert "Recomputed here from the announcement entry and the beacon ids: the same seed" \
        in text
    doc = ok(run("lottery", "verify", lid[:8], "--json", "--home", fed["mill"])).json()
    assert doc["recomputed_here"] is True
    # by hand, from the printed lines alone: preimage -> seed -> r_0 -> the first pick
    line = {ln.split("=")[0].strip(): ln.split("=")[-1].strip()
            for ln in text.splitlines() if ln.startswith("  ") and "=" in ln}
    seed = hashlib.sha256(bytes.fromhex(line["preimage"])).hexdigest()
    assert seed == line["seed"] == doc["steps"]["seed"]
    r0 = hashlib.sha256(bytes.fromhex(seed) + bytes(4)).hexdigest()
    assert f"i=0  r_i={r0}" in text
    first = doc["steps"]["picks"][0]
    assert first["index"] == int(r0[:16], 16) % first["n"]
    assert doc["steps"]["candidates"][first["index"]]["name"] == first["pick"]["name"]
    held = doc["candidates"]
    assert len(held) == 5 and doc["result"]["seats"][0][0] == first["pick"]


def test_verify_of_a_waiting_lottery_and_a_tampered_view(
        run: Run, fed: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garden = fed["garden"]
    lid = str(ok(announce(run, garden, "--candidate", "Ana@Old Mill", "--beacons", "1",
                          "--json")).json()["id"])
    r = ok(run("lottery", "verify", lid[:8], "--home", garden))
    assert "Not drawn yet: waiting for 1 more beacon(s)." in r.out
    assert ok(run("lottery", "verify", lid, "--json", "--home", garden)).json()[
        "recomputed_here"] is None
    drawn = drawn_lottery(run, fed, tmp_path)
    # A view that lies about the picks (a node one should not trust) is caught.
    real = views_table.VIEWS["lottery"]

    def lying(store: Any, params: Any, me: Any) -> dict[str, Any]:
        doc = real.fn(store, params, me)
        doc["steps"]["picks"][0]["index"] = (doc["steps"]["picks"][0]["index"] + 1) % 5
        return doc

    monkeypatch.setitem(views_table.VIEWS, "lottery", dataclasses.replace(real, fn=lying))
    r = run("lottery", "verify", drawn[:8], "--home", garden)
    assert r.code == 1 and "DIFFERS" in r.err
    assert run("lottery", "verify", drawn[:8], "--json", "--home", garden).code == 1


def test_through_a_running_node(run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    lid = drawn_lottery(run, fed, tmp_path)
    garden = fed["garden"]
    views = [("list",), ("show", lid[:8]), ("verify", lid[:8])]
    direct = [ok(run("lottery", *v, "--json", "--home", garden)).json() for v in views]
    with serving(garden) as node:
        through = [ok(run("lottery", *v, "--json", "--home", garden)).json() for v in views]
        user_error(run("lottery", "show", "zz", "--home", garden), 1, "--lottery")
        entry = ok(announce(run, garden, "--candidate", "Ana@Old Mill", "--beacons", "1",
                            "--json")).json()
    assert through == direct and "append" in node.calls
    assert entry["kind"] == "lottery.announce"


def test_recomputed_draw_is_the_protocol_s(run: Run, fed: dict[str, Path],
                                           tmp_path: Path) -> None:
    lid = drawn_lottery(run, fed, tmp_path)
    doc = ok(run("lottery", "show", lid, "--json", "--home", fed["garden"])).json()
    h = Home.open(fed["garden"])
    with h.open_store() as store:
        entry = store.get(bytes.fromhex(lid))
    assert entry is not None
    d = verify(entry.id, entry.body, [bytes.fromhex(b["id"]) for b in doc["beacons"]])
    assert [[p.name for p in s] for s in d.seats] == [
        [p["name"] for p in s] for s in doc["result"]["seats"]]
