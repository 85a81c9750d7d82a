"""Self-government over the real network (issue 5): a federation of three co-ops issues
a mandate to a delegate who votes with her own key from her own node, runs a
facilitation lottery and a triad cascade, the delegate's co-op recalls her mid-way, and
every node shows the same keys, mandates, draws, proposals and decisions.

Real `coop node start` processes on loopback (four: three co-ops and the delegate's
laptop, a key of the garden); every step is the real `coop` command, which goes through
each home's running node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coopledger.node import Home
from coopledger.node.testing import Daemon, close_all, converged, initialised, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYNC_S = 60


@pytest.fixture
def coops(tmp_path: Path) -> Iterator[dict[str, Daemon]]:
    with initialised(tmp_path, ("garden", "repair", "bakery")) as ds:
        ana = ds["ana"] = Daemon(tmp_path, "ana")  # made by the test: a key of the garden
        try:
            yield ds
        finally:
            close_all([ana])


def cj(d: Daemon, *args: str) -> Any:
    return d.coop_json(*args)


def same_everywhere(ds: list[Daemon], *args: str, drop: tuple[str, ...] = ()) -> Any:
    """One view's JSON, once it is equal at every node (but for the keys ``drop``,
    which say whose node answered)."""
    def check() -> Any:
        views = [{k: v for k, v in cj(d, *args).items() if k not in drop} for d in ds]
        return views[0] if all(v == views[0] for v in views) else None
    return wait_for(f"`coop {' '.join(args)}` to agree at every node", check, SYNC_S)


def seen(d: Daemon, entry_id: str) -> bool:
    return d.coop("entries", "--json").stdout.find(entry_id) >= 0


def test_mandates_lottery_cascade_and_recall_agree_everywhere(
        coops: dict[str, Daemon], tmp_path: Path) -> None:
    garden, repair, bakery = coops["garden"], coops["repair"], coops["bakery"]
    garden.start()
    repair.start([garden.addr])
    bakery.start([repair.addr])
    coop3 = [garden, repair, bakery]
    wait_for("three genesis entries everywhere", converged(coop3, entries=3), SYNC_S)

    fed = cj(garden, "federation", "create", "--name", "Riverside",
             "--charter", "We share tools, hours and decisions.")["id"]
    for name in ("repair", "bakery"):
        garden.coop("federation", "invite", "--federation", "Riverside", "--coop", name)
    for d in (repair, bakery):
        wait_for(f"{d.name} to see its invite", lambda d=d: seen(d, fed), SYNC_S)
        wait_for(f"{d.name} to join", lambda d=d: d.coop(
            "federation", "join", "--federation", "Riverside", check=False).returncode == 0,
            SYNC_S)
    members = same_everywhere(coop3, "federation", "show", "Riverside")
    assert len(members["members"]) == 3

    # Ana's laptop: a key of the garden with delegate power, on its own node.
    ana = coops["ana"]
    ana.coop("init", "--name", "Ana", "--for", garden.status()["author"])
    request = ana.coop("key", "request", "--power", "delegate").stdout
    proof = request.split("--proof ")[1].split()[0]
    ana_key = Home.open(ana.home).author.hex()
    garden.coop("key", "add", ana_key, "--power", "delegate", "--label", "Ana",
                "--proof", proof)
    ana.start([garden.addr])
    everyone = [*coop3, ana]

    # The garden's assembly mandates Ana to vote for it at Riverside for 30 days.
    van = cj(bakery, "proposal", "create", "--federation", "Riverside", "--title",
             "Shared van", "--text", "The van goes round the co-ops on Fridays.")["id"]
    wait_for("garden to see the proposal", lambda: seen(garden, van), SYNC_S)
    mandate = cj(garden, "mandate", "issue", "--federation", "Riverside", "--title",
                 "Delegate to Riverside", "--delegate", "Ana", "--key", ana_key[:12],
                 "--allow", "vote", "--days", "30",
                 "--scope", "Vote for the garden at Riverside's assemblies.",
                 "--sunset", "Hand the notes to the next delegate.")["id"]
    wait_for("Ana's node to hold her mandate and the proposal",
             lambda: seen(ana, mandate) and seen(ana, van), SYNC_S)
    vote = cj(ana, "proposal", "position", van[:12], "--stance", "agree", "--member", "Ana",
              "--mandate", mandate[:12])
    assert vote["author"] == ana_key

    # A facilitation lottery for the next assembly: repair announces, the other two
    # co-ops' beacons make the seed.
    lot = cj(repair, "lottery", "announce", "--federation", "Riverside", "--purpose",
             "facilitation", "--candidate", "Ana@garden", "--candidate", "Bo@repair",
             "--candidate", "Cy@bakery", "--candidate", "Di@bakery", "--seats", "1",
             "--roles", "facilitator,process guardian", "--distinct-coops",
             "--beacons", "2")["id"]
    for d in (garden, bakery):
        wait_for(f"{d.name} to see the lottery", lambda d=d: seen(d, lot), SYNC_S)
        d.coop("lottery", "beacon", lot[:12])
    draw = same_everywhere(everyone, "lottery", "show", lot[:12])
    assert draw["status"] == "drawn", draw
    (seat,) = draw["result"]["seats"]
    assert len(seat) == 2 and seat[0]["coop"] != seat[1]["coop"], seat
    # Anyone re-runs the draw from the entries alone.
    for d in everyone:
        assert cj(d, "lottery", "verify", lot[:12])["result"] == draw["result"]

    # A triad cascade over six participants: groups drawn, a draft per group, a
    # cross-group amendment, then the plenary decides.
    people = [f"{n}@{c}" for n, c in (("Ana", "garden"), ("Eve", "garden"), ("Bo", "repair"),
                                      ("Fay", "repair"), ("Cy", "bakery"), ("Di", "bakery"))]
    cascade = cj(garden, "cascade", "start", "--federation", "Riverside", "--purpose",
                 "Market rules", *[a for p in people for a in ("--candidate", p)],
                 "--beacons", "2")["id"]
    for d in (repair, bakery):
        wait_for(f"{d.name} to see the cascade", lambda d=d: seen(d, cascade), SYNC_S)
        d.coop("lottery", "beacon", cascade[:12])
    status = same_everywhere(everyone, "cascade", "status", cascade[:12])
    assert status["drawn"] and len(status["groups"]) == 2, status
    by_name = {"garden": garden, "repair": repair, "bakery": bakery}
    drafts = []
    for g in status["groups"]:
        author = by_name[g["people"][0]["coop_name"]]
        wait_for(f"{author.name} to know the draw",
                 lambda a=author: cj(a, "cascade", "status", cascade[:12])["drawn"], SYNC_S)
        drafts.append((g, cj(author, "proposal", "create", "--federation", "Riverside",
                             "--cascade", cascade[:12], "--group", str(g["group"]),
                             "--title", f"Rules of group {g['group']}",
                             "--text", "Stalls rotate monthly.")["id"]))
    for g, draft in drafts:
        others = {p["coop_name"] for o in status["groups"] if o["group"] != g["group"]
                  for p in o["people"]}
        amender = by_name[sorted(others)[0]]
        wait_for(f"{amender.name} to see draft {draft[:8]}", lambda a=amender, x=draft:
                 seen(a, x), SYNC_S)
        amender.coop("proposal", "amend", draft[:12], "--text",
                     "Stalls rotate monthly; the first month is drawn by lot.")
    ready = same_everywhere(everyone, "cascade", "status", cascade[:12])
    assert ready["ready"] and ready["amended"] == 2, ready
    plenary = drafts[0][1]
    wait_for("garden to see the amendment", lambda: cj(
        garden, "cascade", "status", cascade[:12])["amended"] == 2, SYNC_S)
    garden.coop("proposal", "decide", plenary[:12], "--summary",
                "Stalls rotate monthly; the first month by lot.")

    # The garden recalls Ana mid-way, while her laptop is cut off (its node stopped):
    # not knowing, she votes again. When the link returns, that vote is refused on
    # every node, whichever entries each node got first.
    assert ana.stop() == 0, ana.log_tail()
    garden.coop("mandate", "recall", mandate[:12], "--reason",
                "The assembly chose another delegate.")
    late = cj(ana, "proposal", "position", van[:12], "--stance", "block", "--member",
              "Ana", "--reason", "Fridays clash with the market.", "--mandate",
              mandate[:12])["id"]
    ana.start([garden.addr])

    wait_for("all four to converge", converged(everyone), SYNC_S)
    assert len({d.status()["state_hash"] for d in everyone}) == 1
    # Status depends on a time: one explicit time, so every node answers alike.
    at = str(max(d.status()["started_ms"] for d in everyone) + 60_000)
    shown = same_everywhere(everyone, "mandate", "show", mandate[:12], "--as-of", at)
    assert shown["status"] == "recalled"
    under = {e["id"]: (e["valid"], e["code"]) for e in shown["entries"]}
    assert under[vote["id"]] == (True, None)
    assert under[late] == (False, "mandate-recalled"), under
    van_doc = same_everywhere(everyone, "proposal", "show", van[:12])
    assert [p["stance"] for p in van_doc["positions"] if p["status"] == "counted"] == [
        "agree"]
    decisions = same_everywhere(everyone, "decision", "list", "--federation", "Riverside")
    assert [d["proposal"] for d in decisions["decisions"]] == [plenary]
    keys = same_everywhere(everyone, "key", "list", "--coop", "garden", drop=("this_key",))
    assert ana_key in {k["key"] for k in keys["keys"]}
    for d in everyone:
        assert d.stop() == 0, d.log_tail()
        d.coop("verify")
