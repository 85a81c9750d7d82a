"""`coop alert raise|list|show|pledge|delivered|bundle`, run as a user would (main()
in-process), between homes that swap bundles: a federation's co-op raises an alert and
a drill, the others acknowledge (here written straight into their stores, as their
daemons would), pledge and deliver; an alert bundle carries the alert to a node no
network reaches and its ack back."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from cli_support import BuildOnce, Run, ok, user_error
from fake_node import serving

from coopledger.node import Home, now_ms
from coopledger.protocol import Entry


def sync(run: Run, *homes: Path) -> None:
    """Every home ends up holding everything the others hold."""
    for src, dst in itertools.permutations(homes, 2):
        file = src.parent / f"{src.name}-to-{dst.name}.coopbundle"
        file.unlink(missing_ok=True)
        ok(run("bundle", "export", file, "--home", src))
        ok(run("bundle", "import", file, "--home", dst))


def ack(home: Path, alert: str) -> Entry:
    """What a home's daemon does when it holds an alert that targets its co-op."""
    h = Home.open(home)
    with h.open_store() as store:
        return store.append(h.secret_key(None), kind="alert.ack", body={"alert": alert},
                            refs=[bytes.fromhex(alert)], ts=now_ms())


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

    return once("test_alerts_cli.fed", build)


def raise_(run: Run, home: Path, *args: object) -> Any:
    return run("alert", "raise", "--what", "The river is over the lower field.",
               "--need", "people", *args, "--home", home)


def shared(doc: dict[str, Any]) -> dict[str, Any]:
    """An alert document without what depends on the node and the clock."""
    out = {k: v for k, v in doc.items() if k not in ("as_of", "time_left_ms")}
    if "unreached" in out:
        out["unreached"] = [{k: v for k, v in u.items() if k != "last_seen"}
                            for u in out["unreached"]]
    return out


def test_raise_writes_the_body(run: Run, fed: dict[str, Path]) -> None:
    garden = fed["garden"]
    r = ok(raise_(run, garden, "--need", "material", "--need", "people", "--where",
                  "Mill Lane 4", "--json"))
    e = r.json()
    assert e["kind"] == "alert.raise" and e["refs"] == []
    assert e["body"] == {"what": "The river is over the lower field.",
                         "needs": ["people", "material"], "drill": False,
                         "where": "Mill Lane 4"}
    r = ok(raise_(run, garden, "--federation", "Riverside", "--drill"))
    assert "Recorded alert.raise" in r.out
    assert "Drill to 2 co-op(s) of Riverside; answer due by" in r.out
    shown = ok(run("alert", "list", "--json", "--home", garden)).json()["alerts"]
    assert [a["drill"] for a in shown] == [True, False]
    assert shown[0]["federations"][0]["name"] == "Riverside"


def test_raise_refuses_what_the_fold_would_not_count(run: Run, fed: dict[str, Path],
                                                     tmp_path: Path) -> None:
    garden = fed["garden"]
    user_error(raise_(run, garden, "--need", "cash"), 1, "--need", "cash")
    user_error(run("alert", "raise", "--what", "  ", "--need", "people", "--home", garden),
               1, "--what")
    user_error(raise_(run, garden, "--federation", "Nowhere"), 1, "--federation")
    user_error(raise_(run, garden, "--where", "x" * 201), 1, "--where")
    loner = tmp_path / "loner"
    ok(run("init", "--name", "Lone Farm", "--home", loner))
    user_error(raise_(run, loner), 1, "member of no federation")
    sync(run, garden, loner)
    user_error(raise_(run, loner, "--federation", "Riverside"), 1, "not a member")


def test_acks_pledges_deliveries_and_who_is_missing(run: Run, fed: dict[str, Path]) -> None:
    garden, bakery, mill = fed["garden"], fed["bakery"], fed["mill"]
    alert = str(ok(raise_(run, garden, "--need", "material", "--json")).json()["id"])
    sync(run, *fed.values())
    ack(bakery, alert)
    pledge = ok(run("alert", "pledge", alert[:8], "--what", "sandbags from the yard",
                    "--need", "material", "--json", "--home", bakery)).json()
    assert pledge["refs"] == [alert] and pledge["body"]["need"] == "material"
    done = ok(run("alert", "delivered", alert[:8], "--what", "40 sandbags", "--pledge",
                  pledge["id"][:8], "--json", "--home", bakery)).json()
    assert sorted(done["refs"]) == sorted([alert, pledge["id"]])
    user_error(run("alert", "delivered", alert[:8], "--what", "x", "--pledge",
                   pledge["id"][:8], "--home", mill), 1, "--pledge", "your co-op's")
    sync(run, *fed.values())
    docs = [ok(run("alert", "show", alert[:10], "--json", "--home", h)).json()
            for h in fed.values()]
    assert shared(docs[0]) == shared(docs[1]) == shared(docs[2])
    doc = docs[0]
    assert doc["coverage"] == "1/2 acknowledged" and doc["status"] == "open"
    assert [u["coop_name"] for u in doc["unreached"]] == ["Old Mill"]
    text = ok(run("alert", "show", alert[:8], "--home", garden)).out
    for line in ("raised by Hillside Garden", "needs: people, material",
                 "1/2 acknowledged", "Acknowledged:", "Corner Bakery", "Pledged:",
                 "(material): sandbags from the yard", "Delivered:", "40 sandbags",
                 "Not reached yet:", "Old Mill", f"coop alert bundle {alert[:8]} FILE"):
        assert line in text, line
    assert "h " in text and "left)" in text
    listed = ok(run("alert", "list", "--open", "--home", mill)).out
    assert f"{alert[:8]}  open: 1/2 acknowledged" in listed
    ack(mill, alert)
    sync(run, *fed.values())
    listed = ok(run("alert", "list", "--home", garden)).out
    assert f"{alert[:8]}  every target acknowledged (2/2)" in listed
    assert ok(run("alert", "list", "--open", "--home", garden)).out.strip() == \
        "No open alerts."


def test_answers_are_refused_to_outsiders_and_unknown_alerts(
        run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    garden = fed["garden"]
    alert = str(ok(raise_(run, garden, "--json")).json()["id"])
    outsider = tmp_path / "outsider"
    ok(run("init", "--name", "Far Away", "--home", outsider))
    sync(run, garden, outsider)
    user_error(run("alert", "pledge", alert[:8], "--what", "x", "--home", outsider), 1,
               "targets")
    user_error(run("alert", "pledge", "00000000", "--what", "x", "--home", garden), 1,
               "ALERT")
    user_error(run("alert", "pledge", alert[:8], "--what", "x", "--need", "cash", "--home",
                   garden), 1, "--need")
    user_error(run("alert", "show", "zz", "--home", garden), 1, "--alert", "8 hex")
    # the raiser may pledge to its own alert (what it does itself)
    ok(run("alert", "pledge", alert[:8], "--what", "we stay on site", "--home", garden))


def test_a_bundle_carries_the_alert_to_an_isolated_node_and_its_ack_back(
        run: Run, fed: dict[str, Path], tmp_path: Path) -> None:
    garden, bakery = fed["garden"], fed["bakery"]
    alert = str(ok(raise_(run, garden, "--json")).json()["id"])
    sync(run, garden, bakery)
    ack(bakery, alert)
    sync(run, garden, bakery)
    # Old Mill's node has seen nothing since it joined.
    out = tmp_path / "to-mill.coopbundle"
    r = ok(run("alert", "bundle", alert[:8], out, "--json", "--home", garden)).json()
    assert r["entries"] > 0 and out.stat().st_size == r["bytes"]
    user_error(run("alert", "bundle", alert[:8], out, "--home", garden), 1, "exists")
    mill = fed["mill"]
    ok(run("bundle", "import", out, "--home", mill))
    doc = ok(run("alert", "show", alert[:8], "--json", "--home", mill)).json()
    assert doc["coverage"] == "1/2 acknowledged"
    ack(mill, alert)      # Old Mill's daemon acks as soon as it holds the alert
    back = tmp_path / "from-mill.coopbundle"
    ok(run("alert", "bundle", alert[:8], back, "--home", mill))
    ok(run("bundle", "import", back, "--home", garden))
    assert ok(run("alert", "show", alert[:8], "--json", "--home", garden)).json()[
        "coverage"] == "2/2 acknowledged"


def test_through_a_running_node(run: Run, fed: dict[str, Path]) -> None:
    garden = fed["garden"]
    alert = str(ok(raise_(run, garden, "--json")).json()["id"])
    views = [("list",), ("show", alert[:8])]
    direct = [shared(ok(run("alert", *v, "--json", "--home", garden)).json())
              for v in views]
    with serving(garden) as node:
        through = [shared(ok(run("alert", *v, "--json", "--home", garden)).json())
                   for v in views]
        user_error(run("alert", "show", "zz", "--home", garden), 1, "--alert")
        entry = ok(raise_(run, garden, "--drill", "--json")).json()
    assert [{**d, "alerts": [shared(a) for a in d.get("alerts", [])]} for d in through] == \
        [{**d, "alerts": [shared(a) for a in d.get("alerts", [])]} for d in direct]
    assert "append" in node.calls and entry["body"]["drill"] is True
