"""`coop audit run COOP`, run as a user would (main() in-process, and once as the
installed script): the table of checks and its exit status, the JSON document and
--out file, the options that pick the co-op, federation, quarter and as-of time, and
the mistakes it refuses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import CoopBin, Run, ok, user_error

from coopledger.crypto import SecretKey
from coopledger.node import Home, Store
from coopledger.node._auditrun import CHECK_NAMES, quarter_of
from coopledger.protocol import Entry

DAY = 86_400_000
RULES: dict[str, Any] = {"units": [
    {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time", "credit_limit": "40"},
], "fund_share": "0.1", "offer_expiry_days": 14}


@dataclass
class Books:
    home: Path
    garden: bytes
    bakery: bytes
    fed: Entry
    t0: int          # after every entry of the clean books

    @property
    def as_of(self) -> str:
        return str(self.t0 + 5 * DAY)


class Writer:
    """Appends entries of several co-ops to one home's store, on one clock that moves
    ``step`` ms per entry."""

    def __init__(self, store: Store, start: int, step: int = 1_000) -> None:
        self.store, self.ts, self.step = store, start, step

    def add(self, key: SecretKey, kind: str, body: dict[str, Any], *refs: Entry) -> Entry:
        self.ts += self.step
        return self.store.append(key, kind=kind, body=body, ts=self.ts,
                                 refs=[r.id for r in refs])


def _offer(w: Writer, payer: SecretKey, fed: Entry, to: bytes, amount: str,
           expires_in: int = 5 * DAY) -> Entry:
    return w.add(payer, "transfer.offer", {
        "federation": fed.id.hex(), "to": to.hex(), "amount": amount, "unit": "hour",
        "purpose": "oven repair", "expires": w.ts + 1_000 + expires_in}, fed)


@pytest.fixture
def books(garden: Path) -> Books:
    """Hillside Garden (this home) founds Riverside with Corner Bakery; hours go both
    ways and are accepted; the Garden publishes a checkpoint."""
    h = Home.open(garden)
    me = h.secret_key(None)
    bakery = SecretKey(bytes([2]) * 32)
    with h.open_store() as store:
        start = max(e.ts for e in store.entries())
        w = Writer(store, start)
        w.add(bakery, "genesis", {"name": "Corner Bakery"})
        fed = w.add(me, "federation.create", {"name": "Riverside", "charter": "We share.",
                                              "rules": RULES})
        inv = w.add(me, "federation.invite", {"federation": fed.id.hex(),
                                              "invitee": bakery.public.raw.hex()}, fed)
        w.add(bakery, "federation.join", {"federation": fed.id.hex(),
                                          "invite": inv.id.hex()}, fed, inv)
        o = _offer(w, me, fed, bakery.public.raw, "5")
        w.add(bakery, "transfer.accept", {"offer": o.id.hex()}, o)
        o = _offer(w, bakery, fed, me.public.raw, "2")
        w.add(me, "transfer.accept", {"offer": o.id.hex()}, o)
        w.add(me, "checkpoint", {})
        return Books(garden, me.public.raw, bakery.public.raw, fed, w.ts)


def lapse_an_offer(b: Books) -> Entry:
    """The Garden offers the Bakery an hour that is never answered (expires in a day)."""
    h = Home.open(b.home)
    with h.open_store() as store:
        w = Writer(store, b.t0)
        return _offer(w, h.secret_key(None), b.fed, b.bakery, "1", expires_in=DAY)


def test_all_checks_pass(run: Run, books: Books) -> None:
    r = ok(run("audit", "run", "Hillside Garden", "--as-of", books.as_of,
               "--home", books.home))
    lines = r.out.splitlines()
    assert lines[0].startswith(f"Audit of Hillside Garden ({books.garden[:4].hex()}) as of ")
    assert f"quarter {quarter_of(int(books.as_of))}:" in lines[0]
    assert lines[-1] == f"All {len(CHECK_NAMES)} checks pass."
    for name in CHECK_NAMES:
        row = next(ln for ln in lines if f" {name} " in ln)
        assert "✓" in row and "✗" not in row
    assert "Riverside: -3 hour" in r.out
    assert r.err == ""


def test_a_failing_check_exits_1(run: Run, books: Books) -> None:
    o = lapse_an_offer(books)
    r = run("audit", "run", books.garden.hex()[:10], "--as-of", books.as_of,
            "--home", books.home)
    assert r.code == 1 and "Traceback" not in r.err and r.err == ""
    row = next(ln for ln in r.out.splitlines() if " transfers-confirmed " in ln)
    assert "✗" in row
    assert f"Offer {o.id[:4].hex()}… (1 hour to Corner Bakery" in r.out
    assert r.out.splitlines()[-1] == (
        f"1 of {len(CHECK_NAMES)} checks fail: transfers-confirmed")


def test_json_and_out_give_the_same_document(run: Run, books: Books,
                                             tmp_path: Path) -> None:
    lapse_an_offer(books)
    file = tmp_path / "checks.json"
    r = run("audit", "run", "Hillside Garden", "--as-of", books.as_of, "--json",
            "--out", file, "--home", books.home)
    assert r.code == 1
    doc = r.json()
    assert json.loads(file.read_text()) == doc
    assert doc["ok"] is False and doc["coop"] == books.garden.hex()
    assert doc["as_of"] == int(books.as_of) and doc["name"] == "Hillside Garden"
    assert [c["name"] for c in doc["checks"]] == list(CHECK_NAMES)
    assert [c["name"] for c in doc["checks"] if not c["ok"]] == ["transfers-confirmed"]
    assert doc["federations"] == [{"id": books.fed.id.hex(), "name": "Riverside"}]
    assert doc["checkpoint"]["key"] == books.garden.hex()


def test_out_with_the_table(run: Run, books: Books, tmp_path: Path) -> None:
    file = tmp_path / "checks.json"
    r = ok(run("audit", "run", "Hillside Garden", "--as-of", books.as_of, "--out", file,
               "--home", books.home))
    assert r.err == f"wrote the checks to {file}\n"
    assert json.loads(file.read_text())["ok"] is True


def test_the_as_of_time_and_federation_options(run: Run, books: Books) -> None:
    lapse_an_offer(books)
    # Before the offer lapsed, everything passes; a date means its end (UTC).
    ok(run("audit", "run", "Hillside Garden", "--as-of", str(books.t0 + 1_000),
           "--home", books.home))
    r = run("audit", "run", "Hillside Garden", "--as-of", books.as_of, "--federation",
            "Riverside", "--json", "--home", books.home)
    assert r.code == 1 and r.json()["federations"][0]["name"] == "Riverside"


def test_a_quarter_long_past_is_judged_at_its_end(run: Run, books: Books) -> None:
    # The books began after 2025-Q1 ended: nothing of the Garden applied then.
    r = run("audit", "run", books.garden.hex(), "--quarter", "2025-Q1", "--json",
            "--home", books.home)
    doc = r.json()
    assert r.code == 1 and doc["quarter"] == "2025-Q1"
    assert doc["as_of"] == 1_743_465_600_000 - 1   # 2025-04-01T00:00Z - 1 ms
    assert doc["federations"] == []


@pytest.mark.parametrize(("args", "code", "words"), [
    (["Nobody At All"], 1, ["COOP:", "no co-op named 'Nobody At All'"]),
    (["Hillside Garden", "--quarter", "2026-Q7"], 1, ["--quarter:", "YYYY-Qn"]),
    (["Hillside Garden", "--federation", "Elsewhere"], 1, ["--federation:"]),
    (["Hillside Garden", "--quarter", "2026-Q1", "--as-of", "2026-02-01"], 2,
     ["--as-of", "cannot be combined"]),
    (["Hillside Garden", "--summary", "Fine."], 2, ["--report CIRCLE"]),
    (["Hillside Garden", "--report", "abcdef12"], 2, ["needs a --summary"]),
    (["Hillside Garden", "--as-of", "yesterday"], 2, ["--as-of", "expected a date"]),
])
def test_mistakes_are_one_line(run: Run, books: Books, args: list[str], code: int,
                               words: list[str]) -> None:
    user_error(run("audit", "run", *args, "--home", books.home), code, *words)


def test_a_coop_known_only_by_key_has_nothing_held(run: Run, books: Books) -> None:
    user_error(run("audit", "run", "ab" * 32, "--home", books.home), 1, "COOP:",
               "holds no entry")


@pytest.mark.slow
def test_the_installed_command(coop_bin: CoopBin, books: Books) -> None:
    r = coop_bin(books.home, "audit", "run", "Hillside Garden", "--as-of", books.as_of,
                 "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["ok"] is True
    lapse_an_offer(books)
    r = coop_bin(books.home, "audit", "run", "Hillside Garden", "--as-of", books.as_of)
    assert r.code == 1 and "✗" in r.out and "Traceback" not in r.err


@dataclass
class Circle:
    home: Path       # Corner Bakery's, the co-op drawn to audit
    garden: bytes
    circle: Entry
    checkpoint: Entry


@pytest.fixture
def drawn(run: Run, tmp_path: Path) -> Circle:
    """Riverside: Hillside Garden (founder), Corner Bakery (this home) and Repair
    Collective. Repair names a lottery drawing the circle that audits the Garden this
    quarter; the Garden's beacon draws it: the Bakery is the circle. Entries are 1 ms
    apart after the home's genesis, so that "now" is after all of them."""
    home = tmp_path / "bakery"
    ok(run("init", "--name", "Corner Bakery", "--home", home))
    h = Home.open(home)
    me = h.secret_key(None)
    garden, repair = SecretKey(bytes([1]) * 32), SecretKey(bytes([3]) * 32)
    with h.open_store() as store:
        w = Writer(store, max(e.ts for e in store.entries()), step=1)
        w.add(garden, "genesis", {"name": "Hillside Garden"})
        w.add(repair, "genesis", {"name": "Repair Collective"})
        fed = w.add(garden, "federation.create", {"name": "Riverside",
                                                  "charter": "We share.", "rules": RULES})
        for k in (me, repair):
            inv = w.add(garden, "federation.invite", {"federation": fed.id.hex(),
                                                      "invitee": k.public.raw.hex()}, fed)
            w.add(k, "federation.join", {"federation": fed.id.hex(),
                                         "invite": inv.id.hex()}, fed, inv)
        o = _offer(w, garden, fed, me.public.raw, "3")
        w.add(me, "transfer.accept", {"offer": o.id.hex()}, o)
        cp = w.add(garden, "checkpoint", {})
        lot = w.add(repair, "lottery.announce", {
            "federation": fed.id.hex(), "purpose": "audit circle of the Garden",
            "pool": [{"name": "Corner Bakery", "coop": me.public.raw.hex()}],
            "seats": 1, "beacons": 1, "mode": "draw"}, fed)
        circle = w.add(repair, "audit.circle", {
            "federation": fed.id.hex(), "coop": garden.public.raw.hex(),
            "period": quarter_of(w.ts), "lottery": lot.id.hex()}, fed, lot)
        w.add(garden, "lottery.beacon", {"lottery": lot.id.hex()}, lot)
    return Circle(home, garden.public.raw, circle, cp)



def test_report_writes_the_audit_report(run: Run, drawn: Circle) -> None:
    r = ok(run("audit", "run", "Hillside Garden", "--report", drawn.circle.id.hex()[:10],
               "--summary", "The books reconcile.", "--finding", "Nothing to add.",
               "--home", drawn.home))
    assert r.out.splitlines()[-5] == f"All {len(CHECK_NAMES)} checks pass."
    assert "Recorded checkpoint.cosign" in r.out and "Recorded audit.report" in r.out
    with Home.open(drawn.home).open_store() as store:
        rep = next(store.entries(kind="audit.report"))
        cosign = next(store.entries(kind="checkpoint.cosign"))
        invalid = store.state().economy().invalid
        assert not invalid, [(i.kind, i.code, i.detail) for i in invalid.values()]
    assert rep.body["circle"] == drawn.circle.id.hex()
    assert rep.body["checkpoint"] == drawn.checkpoint.id.hex()
    assert cosign.body["checkpoint"] == drawn.checkpoint.id.hex()
    assert rep.body["summary"] == "The books reconcile."
    assert rep.body["findings"] == ["Nothing to add."]
    checks = rep.body["checks"]
    assert isinstance(checks, list)
    assert [c["name"] for c in checks] == list(CHECK_NAMES)  # type: ignore[index]
    assert all(c["ok"] is True for c in checks)  # type: ignore[index]


def test_report_names_a_circle_of_the_coop(run: Run, drawn: Circle) -> None:
    user_error(run("audit", "run", "Corner Bakery", "--report",
                   drawn.circle.id.hex()[:10], "--summary", "Fine.", "--home", drawn.home),
               1, "--report:", "audits Hillside Garden", "not Corner Bakery")
    user_error(run("audit", "run", "Hillside Garden", "--report", "0123456789",
                   "--summary", "Fine.", "--home", drawn.home), 1, "--report:")
    user_error(run("audit", "run", "Hillside Garden", "--report", "0123456789",
                   "--summary", "Fine.", "--json", "--home", drawn.home), 2,
               "cannot be combined")
