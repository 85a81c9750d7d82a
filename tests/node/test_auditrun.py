"""The automated checks of an audit circle (node/_auditrun.py) on real stores: a world
where Hillside Garden passes every check, and for each check a world where something
that really happens (a fork, an offer never answered, an overdue grant report, a
mandate judged exceeded, a credit limit passed…) makes exactly that check fail."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodekit import bad_signature

from coopledger import crypto
from coopledger.crypto import SecretKey
from coopledger.node import Store
from coopledger.node import _auditrun as auditrun
from coopledger.node._auditrun import CHECK_NAMES, AuditError, AuditRun, run_audit
from coopledger.protocol import Entry, create_entry
from coopledger.protocol import _auditchecks as auditchecks
from coopledger.protocol._kinds import MAX_CHECKS, key_proof_message, validate_body
from coopledger.protocol.commons import Economy

DAY = 86_400_000
T0 = int(datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC).timestamp() * 1000)
AS_OF = T0 + 10 * DAY   # 2026-01-15, in 2026-Q1
RULES: dict[str, Any] = {"units": [
    {"name": "hour", "symbol": "h", "decimals": 2, "kind": "time", "credit_limit": "40"},
    {"name": "kg", "symbol": "kg", "decimals": 3, "kind": "mass"},
], "fund_share": "0.1", "offer_expiry_days": 14}


@dataclass
class World:
    store: Store
    clock: list[int] = field(default_factory=lambda: [T0])

    def tick(self) -> int:
        self.clock[0] += 1_000
        return self.clock[0]


class Coop:
    def __init__(self, world: World, seed: int, name: str) -> None:
        self.world, self.key = world, SecretKey(bytes([seed]) * 32)
        self.id = self.key.public.raw
        self.hex = self.id.hex()
        self.add("genesis", {"name": name}, ts=T0)

    def add(self, kind: str, body: dict[str, Any], *refs: Entry, ts: int | None = None
            ) -> Entry:
        return self.world.store.append(self.key, kind=kind, body=body,
                                       ts=self.world.tick() if ts is None else ts,
                                       refs=[r.id for r in refs])

    def next_raw(self, kind: str, body: dict[str, Any], *, skip: int = 0) -> Entry:
        """The next entry of this log (``skip`` seqs further), signed but not stored."""
        rows = list(self.world.store.iter_raw(authors=[self.id]))
        head = self.world.store.get(rows[-1][0])
        assert head is not None
        return create_entry(self.key, seq=head.seq + 1 + skip, prev=head.id,
                            ts=self.world.tick(), kind=kind, body=body)

    def checkpoint(self) -> Entry:
        """A checkpoint of this log (the store fills in its size and root)."""
        return self.add("checkpoint", {})

    def false_checkpoint(self) -> Entry:
        """A checkpoint whose size is right and whose root is not (a rewritten history
        would give one): signed, and stored without the store's help."""
        ids = [rid for rid, _ in self.world.store.iter_raw(authors=[self.id])]
        real = crypto.root([crypto.leaf_hash(i) for i in ids])
        e = self.next_raw("checkpoint", {"size": len(ids), "root": bytes(32).hex()})
        assert real != bytes(32)
        self.world.store.add_entries([e])
        return e


def offer(payer: Coop, fed: Entry, to: Coop, amount: str, *refs: Entry,
          expires_in: int = 5 * DAY) -> Entry:
    ts = payer.world.tick()
    return payer.add("transfer.offer", {
        "federation": fed.id.hex(), "to": to.hex, "amount": amount, "unit": "hour",
        "purpose": "oven repair", "expires": ts + expires_in}, fed, *refs, ts=ts)


def accept(receiver: Coop, o: Entry) -> Entry:
    return receiver.add("transfer.accept", {"offer": o.id.hex()}, o)


@dataclass
class Clean:
    world: World
    garden: Coop
    bakery: Coop
    repair: Coop
    ana: Coop          # a delegate key of the Garden
    fed: Entry
    mandate: Entry

    @property
    def store(self) -> Store:
        return self.world.store


def labor(c: Coop, hours: str, day: str, paid: bool = True) -> Entry:
    return c.add("labor", {"member": "Ana", "hours": hours, "task": "weeding",
                           "category": "production", "date": day, "paid": paid})


def build_clean(store: Store) -> Clean:
    """Riverside: Hillside Garden (founder), Corner Bakery, Repair Collective. The
    Garden's books are in order: transfers both ways accepted (one by its delegate
    key under a mandate), one declined, a grant reported on, labor recorded, and a
    fresh checkpoint of each of its two logs."""
    w = World(store)
    garden, bakery = Coop(w, 1, "Hillside Garden"), Coop(w, 2, "Corner Bakery")
    repair, ana = Coop(w, 3, "Repair Collective"), Coop(w, 4, "Ana")
    fed = garden.add("federation.create", {"name": "Riverside", "charter": "We share.",
                                           "rules": RULES})
    for c in (bakery, repair):
        inv = garden.add("federation.invite", {"federation": fed.id.hex(),
                                               "invitee": c.hex}, fed)
        c.add("federation.join", {"federation": fed.id.hex(), "invite": inv.id.hex()},
              fed, inv)
    accept(bakery, offer(garden, fed, bakery, "5"))
    accept(garden, offer(bakery, fed, garden, "2"))
    accept(garden, offer(repair, fed, garden, "1.5"))
    declined = offer(bakery, fed, garden, "9")
    garden.add("transfer.decline", {"offer": declined.id.hex()}, declined)
    # Ana's key, a delegate key of the Garden, offers under a mandate.
    proof = ana.key.sign(key_proof_message(garden.id)).hex()
    garden.add("key.add", {"identity": garden.hex, "key": ana.hex, "power": "delegate",
                           "label": "Ana's phone", "proof": proof})
    start = w.tick()
    mandate = garden.add("mandate.issue", {
        "federation": fed.id.hex(), "title": "Delegate to Riverside", "delegate": "Ana",
        "key": ana.hex, "scope": "Offer hours for us.",
        "actions": [{"do": "transfer", "unit": "hour", "max": "5"}], "start": start,
        "expires": start + 60 * DAY, "sunset": "Hand over the notes."}, fed, ts=start)
    accept(bakery, offer(ana, fed, bakery, "1", mandate))
    # The fund: the Bakery contributes, grants the Garden, the Garden reports.
    bakery.add("fund.contribute", {"federation": fed.id.hex(), "period": "2026-01",
                                   "amount": "10", "unit": "hour"}, fed)
    grant = bakery.add("fund.grant", {"federation": fed.id.hex(), "to": garden.hex,
                                      "experiment": "solar dryer", "amount": "4",
                                      "unit": "hour", "report_due": "2026-01-12"}, fed)
    garden.add("fund.report", {"grant": grant.id.hex(), "outcome": "succeeded",
                               "report": "It dried the apples."}, grant)
    labor(garden, "6", "2026-01-06")
    labor(garden, "2.5", "2026-01-07", paid=False)
    ana.checkpoint()
    garden.checkpoint()
    return Clean(w, garden, bakery, repair, ana, fed, mandate)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite", create=True) as s:
        yield s


@pytest.fixture
def clean(store: Store) -> Clean:
    return build_clean(store)


def audit(c: Clean, coop: Coop | None = None, **kw: Any) -> AuditRun:
    kw.setdefault("as_of", AS_OF)
    return run_audit(c.store, (coop or c.garden).id, **kw)


def check(run: AuditRun, name: str) -> auditrun.Check:
    return next(c for c in run.checks if c.name == name)


def failed(run: AuditRun) -> list[str]:
    return [c.name for c in run.checks if not c.ok]


# -------------------------------------------------------------------- the clean world


def test_the_clean_world_passes_every_check(clean: Clean) -> None:
    run = audit(clean)
    assert failed(run) == [], [c.detail for c in run.failed()]
    assert [c.name for c in run.checks] == list(CHECK_NAMES)
    assert run.ok and run.coop == clean.garden.id and run.name == "Hillside Garden"
    assert run.keys == (clean.garden.id, clean.ana.id)
    assert run.quarter == "2026-Q1" and run.as_of == AS_OF
    assert [n for _, n in run.federations] == ["Riverside"]
    held = clean.store.held_counts()
    assert run.entries_checked == held[clean.garden.id] + held[clean.ana.id]
    # The latest checkpoint is the Garden's own (written after Ana's).
    assert run.checkpoint is not None and run.checkpoint.key == clean.garden.id
    assert run.checkpoint.size == held[clean.garden.id] - 1


def test_the_sentences_say_what_was_found(clean: Clean) -> None:
    run = audit(clean)
    assert check(run, "chains-and-signatures").detail == (
        f"{run.entries_checked} held entries of the co-op's 2 keys re-verified: "
        "ids, signatures and chain links hold.")
    # Garden: -5 +2 +1.5 -1 (Ana's offer counts for the Garden) = -2.5 hours.
    assert "Riverside: -2.5 hour" in check(run, "balances-reconcile").detail
    assert check(run, "transfers-confirmed").detail == (
        "No transfer of the co-op lapsed unanswered, none is invalid: 4 accepted by the "
        "receiver, 1 declined, 0 open and not yet expired.")
    assert check(run, "mandates").detail.startswith("1 mandate issued, 1 in force")
    assert check(run, "fund-reports").detail == (
        "No fund report overdue (1 grant to the co-op, 1 reported).")
    cp = check(run, "checkpoint").detail
    assert cp.startswith(f"Latest checkpoint {run.checkpoint.id[:4].hex()}… of key "  # type: ignore[union-attr]
                         f"{clean.garden.id[:4].hex()}… (size ")
    assert cp.endswith("not cosigned by any witness yet; the size and root of all 2 "
                       "checkpoints recompute.")
    assert check(run, "no-forks").detail == ("No fork and no broken link in the 2 logs "
                                             "of the co-op.")
    assert check(run, "metrics").detail.startswith(
        "Recomputed for 2026-Q1: 2026-01: needs met inside -, co-op work share 1 "
        "(6 h paid, 2.5 h unpaid, 0 h outside)")


def test_the_document_is_a_valid_audit_report_checks_field(clean: Clean) -> None:
    doc = audit(clean).to_value()
    assert doc["ok"] is True and doc["coop"] == clean.garden.hex
    checks = doc["checks"]
    assert isinstance(checks, list) and len(checks) == len(CHECK_NAMES) <= MAX_CHECKS
    # Exactly what an audit.report's ``checks`` must be (SPEC §14.1 schema).
    validate_body("audit.report", {"circle": "ab" * 32, "checkpoint": "cd" * 32,
                                   "checks": checks, "summary": "In order."},
                  refs=[bytes.fromhex("ab" * 32), bytes.fromhex("cd" * 32)])


def test_any_key_of_the_coop_names_it(clean: Clean) -> None:
    assert audit(clean, clean.ana).coop == clean.garden.id


def test_another_coop_is_audited_on_its_own_books(clean: Clean) -> None:
    run = audit(clean, clean.bakery)
    # The Bakery never published a checkpoint; everything else is in order.
    assert failed(run) == ["checkpoint"]
    assert check(run, "checkpoint").detail == "The co-op has published no checkpoint."
    # +5 from the Garden, +1 from Ana (for the Garden), -2 to the Garden.
    assert "Riverside: +4 hour" in check(run, "balances-reconcile").detail


def test_unknown_coop_and_bad_quarter_are_refused(clean: Clean) -> None:
    with pytest.raises(AuditError) as exc:
        run_audit(clean.store, bytes(32), as_of=AS_OF)
    assert exc.value.field == "coop" and "holds no entry" in exc.value.message
    with pytest.raises(AuditError) as exc:
        audit(clean, quarter="2026-Q5")
    assert exc.value.field == "quarter"


def test_progress_is_reported(clean: Clean) -> None:
    seen: list[tuple[str, int, int]] = []
    run = audit(clean, progress=lambda *a: seen.append(a))
    assert seen[0] == ("folding", 0, 0)
    n = run.entries_checked
    assert seen[-1] == ("verifying", n, n)


# ------------------------------------------------------------- one failure per check


def test_a_bad_signature_fails_the_chains(clean: Clean) -> None:
    # A damaged store: the next entry's signature no longer verifies.
    e = bad_signature(clean.garden.next_raw("x.note", {"n": 1}))
    clean.store.add_entries([e])
    run = audit(clean)
    assert "chains-and-signatures" in failed(run)
    assert "signature does not verify" in check(run, "chains-and-signatures").detail


def test_a_gap_fails_the_chains(clean: Clean) -> None:
    clean.store.add_entries([clean.garden.next_raw("x.note", {"n": 1}, skip=1)])
    detail = check(audit(clean), "chains-and-signatures").detail
    assert "not held here, so the entries above cannot be linked" in detail


def test_a_broken_link_fails_chains_and_forks(clean: Clean) -> None:
    good = clean.garden.next_raw("x.note", {"n": 1})
    broken = create_entry(clean.garden.key, seq=good.seq, prev=bytes(32), ts=good.ts,
                          kind="x.note", body={"n": 2})
    clean.store.add_entries([broken])
    run = audit(clean)
    assert failed(run) == ["chains-and-signatures", "no-forks"]
    assert "does not follow seq" in check(run, "chains-and-signatures").detail
    assert f"broken at seq {good.seq} (prev)" in check(run, "no-forks").detail


def test_a_fork_fails(clean: Clean) -> None:
    first = clean.garden.next_raw("x.note", {"n": 1})
    second = create_entry(clean.garden.key, seq=first.seq, prev=first.prev, ts=first.ts,
                          kind="x.note", body={"n": 2})
    clean.store.add_entries([first, second])
    run = audit(clean)
    assert failed(run) == ["no-forks"]
    assert f"forked at seq {first.seq}" in check(run, "no-forks").detail


def test_an_old_checkpoint_fails(clean: Clean) -> None:
    run = audit(clean, as_of=AS_OF + 40 * DAY)
    assert "checkpoint" in failed(run)
    assert "days old (at most 31 allowed)" in check(run, "checkpoint").detail
    assert "checkpoint" not in failed(audit(clean, as_of=AS_OF + 20 * DAY))


def test_a_false_checkpoint_fails(clean: Clean) -> None:
    e = clean.garden.false_checkpoint()
    run = audit(clean)
    # The fold refuses it: the log is broken there (SPEC §14.1).
    assert failed(run) == ["no-forks"]
    assert f"broken at seq {e.seq} (checkpoint)" in check(run, "no-forks").detail


def test_a_checkpoint_root_is_recomputed_independently(
        clean: Clean, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fold already refuses a false root; the audit recomputes it on its own, so a
    # fault in the fold's check would still show. Forge the audit's Merkle root.
    monkeypatch.setattr(auditchecks, "_tree_root",
                        lambda f: bytes(32) if f.size > 8 else f.root())
    run = audit(clean)
    assert failed(run) == ["checkpoint"]
    assert "does not recompute" in check(run, "checkpoint").detail


def test_balances_that_do_not_reconcile_fail(clean: Clean,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # A forged balance cannot be written (balances are derived); a bug in the
    # derivation is what this check is for, so forge the derivation.
    real = Economy.balances

    def forged(self: Economy, federation: bytes) -> dict[Any, Any]:
        out = real(self, federation)
        key = ("hour", clean.garden.id)
        out[key] = out[key] + out[key]
        return out

    monkeypatch.setattr(Economy, "balances", forged)
    run = audit(clean)
    assert failed(run) == ["balances-reconcile"]
    detail = check(run, "balances-reconcile").detail
    assert "the co-op's hour balance is -5, its accepted transfers add up to -2.5" in detail
    assert "sum to -2.5, not 0" in detail


def test_an_offer_never_answered_fails(clean: Clean) -> None:
    o = offer(clean.garden, clean.fed, clean.repair, "3", expires_in=DAY)
    assert not failed(audit(clean, as_of=o.ts + DAY // 2))  # still open: pending
    run = audit(clean, as_of=o.ts + 2 * DAY)
    assert failed(run) == ["transfers-confirmed"]
    assert (f"Offer {o.id[:4].hex()}… (3 hour to Repair Collective"
            in check(run, "transfers-confirmed").detail)
    assert ("lapsed on 2026-01-06, never accepted or declined by the receiver"
            in check(run, "transfers-confirmed").detail)


def test_an_invalid_accept_fails_the_transfers(clean: Clean) -> None:
    o = offer(clean.bakery, clean.fed, clean.garden, "1", expires_in=1_000)
    clean.world.tick()
    clean.world.tick()
    accept(clean.garden, o)   # stamped after the offer expired
    run = audit(clean)
    assert failed(run) == ["transfers-confirmed"]
    assert "(transfer.accept) is invalid (expired:" in check(run, "transfers-confirmed").detail


def test_a_mandate_judged_exceeded_fails(clean: Clean) -> None:
    md = clean.mandate
    clean.ana.add("mandate.report", {"mandate": md.id.hex(), "report": "I offered more."},
                  md)
    clean.garden.add("mandate.verdict", {"mandate": md.id.hex(), "verdict": "exceeded"},
                     md)
    run = audit(clean)
    assert failed(run) == ["mandates"]
    assert 'has the verdict "exceeded"' in check(run, "mandates").detail


def test_a_delegate_over_its_mandate_fails_the_mandates_only(clean: Clean) -> None:
    o = offer(clean.ana, clean.fed, clean.bakery, "7", clean.mandate)  # max is 5
    run = audit(clean)
    assert failed(run) == ["mandates"]
    assert (f"Entry {o.id[:4].hex()}… (transfer.offer) by key {clean.ana.id[:4].hex()}… "
            "is invalid (outside-mandate:" in check(run, "mandates").detail)


def test_an_overdue_grant_report_fails(clean: Clean) -> None:
    g = clean.bakery.add("fund.grant", {
        "federation": clean.fed.id.hex(), "to": clean.garden.hex, "experiment": "kiln",
        "amount": "2", "unit": "hour", "report_due": "2026-01-14"}, clean.fed)
    run = audit(clean)   # as of 2026-01-15
    assert failed(run) == ["fund-reports"]
    assert check(run, "fund-reports").detail == (
        f"Grant {g.id[:4].hex()}… ('kiln', 2 hour from Riverside) was due a report by "
        "2026-01-14 (2 grants to the co-op, 1 reported).")
    as_of = int(datetime.datetime(2026, 1, 14, 23, tzinfo=datetime.UTC).timestamp() * 1000)
    assert "fund-reports" not in failed(audit(clean, as_of=as_of))


def test_a_credit_limit_passed_fails_the_exceptions(clean: Clean) -> None:
    accept(clean.bakery, offer(clean.garden, clean.fed, clean.bakery, "39"))
    run = audit(clean)
    assert failed(run) == ["exceptions"]
    detail = check(run, "exceptions").detail
    assert "has a balance of -41.5 hour, below its credit limit of -40 hour" in detail
    assert "offered 39 hour with only 37.5 hour available" in detail


def test_another_invalid_entry_fails_the_exceptions(clean: Clean) -> None:
    # A second report on a grant already reported.
    grant = next(e for e in clean.store.entries(kind="fund.grant"))
    clean.garden.add("fund.report", {"grant": grant.id.hex(), "outcome": "mixed",
                                     "report": "Second thoughts."}, grant)
    run = audit(clean)
    assert failed(run) == ["exceptions"]
    assert "(fund.report) is invalid (already-reported:" in check(run, "exceptions").detail


def test_the_federation_option_limits_the_economic_checks(clean: Clean) -> None:
    w = clean.world
    other = clean.bakery.add("federation.create", {"name": "Millers", "charter": "Flour.",
                                                   "rules": RULES})
    inv = clean.bakery.add("federation.invite", {"federation": other.id.hex(),
                                                 "invitee": clean.garden.hex}, other)
    clean.garden.add("federation.join", {"federation": other.id.hex(),
                                         "invite": inv.id.hex()}, other, inv)
    offer(clean.garden, other, clean.bakery, "1", expires_in=DAY)
    late = w.clock[0] + 2 * DAY
    assert failed(audit(clean, as_of=late)) == ["transfers-confirmed"]
    run = audit(clean, as_of=late, federation=clean.fed.id)
    assert failed(run) == [] and [n for _, n in run.federations] == ["Riverside"]
    with pytest.raises(AuditError) as exc:
        audit(clean, federation=bytes(32))
    assert exc.value.field == "federation"


def test_the_quarter_picks_the_metrics_months(clean: Clean) -> None:
    run = audit(clean, quarter="2025-Q4")
    detail = check(run, "metrics").detail
    assert detail == ("Recomputed for 2025-Q4: 2025-10: nothing recorded; 2025-11: "
                      "nothing recorded; 2025-12: nothing recorded.")


def test_as_of_judges_the_books_as_they_stood(clean: Clean) -> None:
    before = audit(clean, as_of=T0 + 1)
    # Only the genesis entries apply then: no federation, no checkpoint yet.
    assert before.federations == () and failed(before) == ["checkpoint"]
    # Ana's key was not yet bound to the Garden: only the Garden's own log is its.
    assert before.keys == (clean.garden.id,)
    assert before.entries_checked == clean.store.held_counts()[clean.garden.id]


def test_a_long_listing_is_cut_to_the_schema_limit(clean: Clean) -> None:
    for n in range(8):
        offer(clean.garden, clean.fed, clean.repair, "0.25", expires_in=1_000 + n)
    run = audit(clean)
    detail = check(run, "transfers-confirmed").detail
    assert "; and 3 more" in detail and len(detail) <= auditrun.MAX_DETAIL


# ---------------------------------------------------------------------- quarters


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_quarter_of_lies_within_its_bounds(ms: int) -> None:
    q = auditrun.quarter_of(ms)
    start, end = auditrun.quarter_bounds(q)
    assert start <= ms < end
    assert auditrun.quarter_of(end) != q and auditrun.quarter_of(start - 1) != q


def test_quarter_helpers() -> None:
    assert auditrun.quarter_months("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    start, end = auditrun.quarter_bounds("2026-Q1")
    assert auditrun.default_as_of("2026-Q1", end + 5) == end - 1
    assert auditrun.default_as_of("2026-Q1", start + 5) == start + 5
    assert auditrun.default_as_of(None, 42) == 42
    for bad in ("2026-Q0", "2026Q1", "0000-Q1", "2026-q1", ""):
        with pytest.raises(AuditError):
            auditrun.quarter_bounds(bad)


def test_the_witnesses_of_the_latest_checkpoint_are_named(clean: Clean) -> None:
    cp = clean.store.get(audit(clean).checkpoint.id)  # type: ignore[union-attr]
    assert cp is not None
    clean.repair.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}, cp)
    clean.bakery.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}, cp)
    run = audit(clean)
    assert run.ok and run.checkpoint is not None
    assert run.checkpoint.witnesses == tuple(sorted((clean.repair.id, clean.bakery.id)))
    assert ("cosigned by Corner Bakery (" in check(run, "checkpoint").detail
            and "Repair Collective (" in check(run, "checkpoint").detail)
    assert "of its audit circle" not in check(run, "checkpoint").detail
    # A cosign by the co-op itself is no witness (and invalid: own-log).
    clean.ana.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}, cp)
    again = audit(clean)
    assert again.checkpoint is not None and clean.garden.id not in again.checkpoint.witnesses


def test_witnesses_drawn_in_the_quarters_circle_are_marked(clean: Clean) -> None:
    fed = clean.fed
    lot = clean.bakery.add("lottery.announce", {
        "federation": fed.id.hex(), "purpose": "audit circle of the Garden",
        "pool": [{"name": "Repair", "coop": clean.repair.hex}], "seats": 1,
        "beacons": 1, "mode": "draw"}, fed)
    clean.bakery.add("audit.circle", {"federation": fed.id.hex(), "coop": clean.garden.hex,
                                      "period": "2026-Q1", "lottery": lot.id.hex()},
                     fed, lot)
    clean.garden.add("lottery.beacon", {"lottery": lot.id.hex()}, lot)
    cp = clean.store.get(audit(clean).checkpoint.id)  # type: ignore[union-attr]
    assert cp is not None
    clean.repair.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}, cp)
    clean.bakery.add("checkpoint.cosign", {"checkpoint": cp.id.hex()}, cp)
    detail = check(audit(clean), "checkpoint").detail
    assert (f"Repair Collective ({clean.repair.id[:4].hex()}) of its audit circle"
            in detail)
    bakery = f"Corner Bakery ({clean.bakery.id[:4].hex()})"
    assert bakery in detail and f"{bakery} of its audit circle" not in detail
    # Another quarter's circle is not this one.
    assert "of its audit circle" not in check(audit(clean, quarter="2026-Q2"),
                                              "checkpoint").detail
