"""The automated checks of an audit circle (SPEC §14.4), over books already read.

An auditing co-op runs these over its own store, which holds the audited co-op's logs
(every key of it, SPEC §13.2) and the federations' entries. Each check gives a name, a
verdict and one readable sentence: exactly the ``checks`` of an ``audit.report``.
node/_auditrun.py reads the store (the fold as of the audit's time, every held entry of
the co-op's keys, the cosigns and the metric entries) and verifies the signatures; this
module judges what it read:

    ctx = audit_context(state, coop, held, as_of=…, quarter=…, federation=…)
    scan = ChainScan(ctx)        # fed each held entry of each key, in the store's order
    audit_checks(ctx, scan, cosigns=…, metric_entries=…) -> AuditRun

The checks, in order (CHECK_NAMES):

1. ``chains-and-signatures``: every held entry of the co-op's keys is re-read from the
   store: its id is the hash of its bytes, its signature verifies, and it links to an
   entry held at the seq below it (prev hash, ts not earlier). A gap (an entry held
   above a seq that is not) fails too: the audit cannot vouch for what it cannot see.
2. ``no-forks``: no key of the co-op has a fork (two entries at one seq) or a broken
   log (as the fold reports them; a false checkpoint breaks a log too).
3. ``checkpoint``: the co-op's latest checkpoint at the as-of time exists, is at most
   MAX_CHECKPOINT_AGE_DAYS old, and the size and Merkle root of every checkpoint of
   every key recompute from the entries before it. The sentence names the witnesses
   that cosigned the latest one (a missing cosign does not fail the check).
4. ``balances-reconcile``: in each federation and unit, the co-op's balance equals
   what its accepted transfers add up to, recomputed from the accept and offer entries
   themselves rather than from the economy's records; and each federation's balances
   sum to zero in every unit.
5. ``transfers-confirmed``: every transfer the co-op took part in was answered by its
   receiver: each accepted one has a valid accept by the receiver, stamped before the
   offer expired; none lapsed without an answer; no transfer entry of the co-op is
   invalid.
6. ``mandates``: the co-op's mandates in force are counted; it fails on a mandate whose
   verdict is "exceeded", an invalid entry of a delegate key or with a mandate reason
   code, or a term limit flagged.
7. ``fund-reports``: no grant to the co-op is past its report_due day without a
   ``fund.report``.
8. ``metrics``: the sovereignty metrics (SPEC §12.7) of the co-op for each month of the
   quarter that has begun. It only informs: it fails only if they cannot be computed.
9. ``exceptions``: nothing the economy flagged concerns the co-op (over-credit-limit,
   offer-over-available, grant-over-fund), and no other entry of the co-op is invalid.

Time: everything is judged as the books stood at ``as_of`` (a full fold of the held
entries with ts <= as_of), so a run is repeatable: the same store and as-of give the
same checks. Forks are the exception: a fork is misconduct whenever it is seen.

Pure: no store, no file, no clock. What the checks judge and what they find (the
context, the result types, quarters, AuditError) are protocol/_auditbooks.py's, and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from coopledger import crypto

from ._auditbooks import DAY_MS, LIST_LIMIT, clip, listing, month_start, plural, short
from ._auditbooks import MAX_DETAIL as MAX_DETAIL
from ._auditbooks import AuditContext as AuditContext
from ._auditbooks import AuditError as AuditError
from ._auditbooks import AuditRun as AuditRun
from ._auditbooks import Check as Check
from ._auditbooks import CheckpointInfo as CheckpointInfo
from ._auditbooks import audit_context as audit_context
from ._auditbooks import default_as_of as default_as_of
from ._auditbooks import quarter_bounds as quarter_bounds
from ._auditbooks import quarter_months as quarter_months
from ._auditbooks import quarter_of as quarter_of
from ._decimal import Quantity
from ._entry import Entry, decode_entry, entry_id, validate_chain
from ._errors import BrokenChain, ValidationError
from ._kinds import CHECKPOINT_KIND, MAX_CHECKS
from .commons import (
    MANDATE_REASON_CODES,
    Economy,
    Invalid,
    Metrics,
    compute_metrics,
    drawn_coops,
    utc_date,
)

CHECK_NAMES = ("chains-and-signatures", "no-forks", "checkpoint", "balances-reconcile",
               "transfers-confirmed", "mandates", "fund-reports", "metrics", "exceptions")
assert len(CHECK_NAMES) <= MAX_CHECKS
# A checkpoint older than this at the as-of time fails the check: nodes publish one
# at least monthly (SPEC §14.2), so an older one means the log is not being published.
MAX_CHECKPOINT_AGE_DAYS = 31
TRANSFER_KINDS = frozenset(("transfer.offer", "transfer.accept", "transfer.decline",
                            "sprint.allocate"))
# The kinds the metrics check reads (the caller passes the co-op's entries of these).
METRIC_KINDS = ("labor", "energy", "labor.outside")


def audit_checks(ctx: AuditContext, scan: ChainScan, *, cosigns: Iterable[Entry],
                 metric_entries: Iterable[Entry],
                 max_checkpoint_age_days: int = MAX_CHECKPOINT_AGE_DAYS) -> AuditRun:
    """Every check, in CHECK_NAMES' order, once ``scan`` has read every held entry of
    the co-op's keys. ``cosigns`` are the held checkpoint.cosign entries (of anyone: read
    once, and only if the co-op has a checkpoint); ``metric_entries`` the held entries
    of the co-op's keys of METRIC_KINDS (applied or not: the unapplied are skipped)."""
    cp_check, latest = _checkpoint(ctx, scan.checkpoints, scan.bad_roots,
                                   max_checkpoint_age_days, cosigns)
    checks = (
        scan.check(),
        _forks(ctx),
        cp_check,
        _balances(ctx),
        _transfers(ctx),
        _mandates(ctx),
        _fund_reports(ctx),
        _metrics(ctx, metric_entries),
        _exceptions(ctx),
    )
    assert tuple(c.name for c in checks) == CHECK_NAMES
    state, identity = ctx.state, ctx.identity
    name = state.authors[identity].name if identity in state.authors else None
    return AuditRun(identity, name, ctx.keys, ctx.as_of, ctx.quarter,
                    tuple((f.id, f.name) for f in ctx.feds), latest, scan.done,
                    tuple(Check(c.name, c.ok, clip(c.detail)) for c in checks))


# ------------------------------------------------------------- 1. chains, signatures

class ChainScan:
    """Check 1, fed the held entries of the co-op's keys one key at a time (``start``,
    then ``read`` for each entry in the store's order: by seq, then id; then ``end``),
    and on the way (one pass over the entries) every checkpoint of the applied prefix
    of each key, with whether its size and root recompute. The caller verifies the
    signatures of the entries ``read`` returns, in batches, and reports each that fails
    with ``bad_signature``."""

    def __init__(self, ctx: AuditContext) -> None:
        self.ctx = ctx
        self.done = 0                                # entries read
        self.problems: list[str] = []
        self.checkpoints: list[CheckpointInfo] = []
        self.bad_roots: list[str] = []
        self._key = b""
        self._length = 0
        self._frontier = crypto.Frontier()
        self._by_seq: dict[int, list[Entry]] = {}

    def start(self, key: bytes) -> None:
        """Begin the entries of ``key`` (one of ``ctx.keys``)."""
        st = self.ctx.state.authors.get(key)
        self._key, self._length = key, 0 if st is None else st.length
        self._frontier = crypto.Frontier()
        self._by_seq = {}

    def read(self, rid: bytes, raw: bytes) -> Entry | None:
        """Take the entry held under id ``rid``; the decoded entry, whose signature the
        caller is to verify, or None when it is already a problem (its id does not
        match its bytes, or it does not decode)."""
        self.done += 1
        key = self._key
        if entry_id(raw) != rid:
            self.problems.append(f"entry {short(rid)} of key {short(key)}: its id "
                                 "does not match its bytes")
            return None
        try:
            e = decode_entry(raw)
        except ValidationError as exc:
            self.problems.append(f"entry {short(rid)} of key {short(key)}: "
                                 f"{exc.reason_code}")
            return None
        self._by_seq.setdefault(e.seq, []).append(e)
        if e.seq <= self._length:
            self._checkpoint_step(e)
        return e

    def bad_signature(self, e: Entry) -> None:
        """Note that the signature of ``e`` (an entry ``read`` returned) does not verify."""
        self.problems.append(f"entry {short(e.id)} (seq {e.seq} of key "
                             f"{short(e.author)}): signature does not verify")

    def end(self) -> None:
        """The entries of the current key are all read: check their chain links."""
        self.problems.extend(_links(self._key, self._by_seq))

    def check(self) -> Check:
        n_keys = plural(len(self.ctx.keys), "key")
        if self.problems:
            return Check(CHECK_NAMES[0], False,
                         f"{plural(len(self.problems), 'problem')} in {self.done} entries "
                         f"of {n_keys}: {listing(self.problems)}.")
        return Check(CHECK_NAMES[0], True,
                     f"{plural(self.done, 'held entry', 'held entries')} of the co-op's "
                     f"{n_keys} re-verified: ids, signatures and chain links hold.")

    def _checkpoint_step(self, e: Entry) -> None:
        """Feed applied entry ``e`` (the next of its key, in seq order) to the key's
        Merkle frontier; a checkpoint is checked against the frontier before it joins."""
        frontier, bad = self._frontier, self.bad_roots
        if e.kind == CHECKPOINT_KIND:
            size, root = e.body.get("size"), e.body.get("root")
            if not isinstance(size, int) or not isinstance(root, str):
                bad.append(f"checkpoint {short(e.id)} has no size or root")
            else:
                self.checkpoints.append(CheckpointInfo(e.id, e.author, e.seq, e.ts, size,
                                                       root))
                if size != frontier.size:
                    bad.append(f"checkpoint {short(e.id)} (seq {e.seq}) claims size "
                               f"{size}, the log before it holds {frontier.size}")
                elif root != (again := _tree_root(frontier).hex()):
                    bad.append(f"checkpoint {short(e.id)} (seq {e.seq}): root {root[:8]}… "
                               f"does not recompute (the entries give {again[:8]}…)")
        frontier.append(crypto.leaf_hash(e.id))


def _links(key: bytes, by_seq: dict[int, list[Entry]]) -> list[str]:
    """Chain-link problems of one key's held entries (every entry at a forked seq
    included: each must follow some entry held at the seq below)."""
    out: list[str] = []
    missing: list[int] = []
    for seq in sorted(by_seq):
        if seq == 1:
            continue
        below = by_seq.get(seq - 1)
        if not below:
            missing.append(seq - 1)
            continue
        for e in by_seq[seq]:
            why = ""
            for p in below:
                try:
                    validate_chain(e, p)
                    break
                except BrokenChain as exc:
                    why = str(exc)
            else:
                out.append(f"entry {short(e.id)} (seq {seq} of key {short(key)}) does "
                           f"not follow seq {seq - 1}: {why}")
    if missing:
        out.append(f"key {short(key)}: seq {', '.join(map(str, missing[:LIST_LIMIT]))}"
                   f"{' …' if len(missing) > LIST_LIMIT else ''} not held here, so the "
                   "entries above cannot be linked (sync, then run again)")
    return out


def _tree_root(frontier: crypto.Frontier) -> bytes:
    """The Merkle root the audit recomputes (a seam for tests that fake a fault)."""
    return frontier.root()


# ------------------------------------------------------------------------ 2. forks

def _forks(ctx: AuditContext) -> Check:
    problems = []
    for key in ctx.keys:
        st = ctx.state.authors.get(key)
        if st is None:
            continue
        if st.fork is not None:
            problems.append(f"key {short(key)} forked at seq {st.fork.seq} (entries "
                            f"{short(st.fork.a)} and {short(st.fork.b)}), frozen at seq "
                            f"{st.fork.seq - 1}")
        if st.broken is not None:
            seq, reason = st.broken
            problems.append(f"key {short(key)} broken at seq {seq} ({reason})")
    if problems:
        return Check(CHECK_NAMES[1], False, f"{listing(problems)}.")
    logs = "the co-op's log" if len(ctx.keys) == 1 else f"the {len(ctx.keys)} logs of the co-op"
    return Check(CHECK_NAMES[1], True, f"No fork and no broken link in {logs}.")


# ------------------------------------------------------------------- 3. checkpoints

def _witnesses(ctx: AuditContext, checkpoint: bytes, cosigns: Iterable[Entry]
               ) -> tuple[bytes, ...]:
    """The identities (not the co-op's own) with an applied, valid cosign of
    ``checkpoint`` at the as-of time, among ``cosigns``."""
    out: set[bytes] = set()
    for e in cosigns:
        if (e.body.get("checkpoint") == checkpoint.hex() and ctx.applied(e)
                and e.id not in ctx.econ.invalid):
            who = ctx.identity_of(e.author)
            if who != ctx.identity:
                out.add(who)
    return tuple(sorted(out))


def _circle_members(ctx: AuditContext) -> set[bytes]:
    """The co-ops drawn in an audit circle of the co-op for the audited quarter."""
    audit, gov = ctx.econ.gov.audit, ctx.econ.gov
    out: set[bytes] = set()
    for c in audit.circles_of(ctx.identity):
        if c.period == ctx.quarter:
            out.update(drawn_coops(gov.lotteries, gov.ids, c))
    return out


def _witness(ctx: AuditContext, coop: bytes, circle: set[bytes]) -> str:
    return ctx.who(coop) + (" of its audit circle" if coop in circle else "")


def _checkpoint(ctx: AuditContext, found: list[CheckpointInfo], bad: list[str],
                max_age_days: int, cosigns: Iterable[Entry]
                ) -> tuple[Check, CheckpointInfo | None]:
    name = CHECK_NAMES[2]
    if not found:
        problems = ["the co-op has published no checkpoint", *bad]
        return Check(name, False, f"{listing(problems)}."), None
    top = max(found, key=lambda c: (c.ts, c.id))
    latest = CheckpointInfo(top.id, top.key, top.seq, top.ts, top.size, top.root,
                            _witnesses(ctx, top.id, cosigns))
    age = (ctx.as_of - latest.ts) // DAY_MS
    problems = list(bad)
    if ctx.as_of - latest.ts > max_age_days * DAY_MS:
        problems.insert(0, f"the latest checkpoint is {age} days old (at most "
                        f"{max_age_days} allowed)")
    circle = _circle_members(ctx)
    cosigned = (f"cosigned by {', '.join(_witness(ctx, w, circle) for w in latest.witnesses)}"
                if latest.witnesses else "not cosigned by any witness yet")
    about = (f"latest checkpoint {short(latest.id)} of key {short(latest.key)} (size "
             f"{latest.size}, root {latest.root[:16]}…, {utc_date(latest.ts)}, {age} "
             f"days before the as-of time) {cosigned}")
    if problems:
        return Check(name, False, f"{listing(problems)}; {about}."), latest
    every = "its checkpoint" if len(found) == 1 else f"all {len(found)} checkpoints"
    return Check(name, True, f"{about}; the size and root of {every} recompute."), latest


# ---------------------------------------------------------------------- 4. balances

def _recomputed(ctx: AuditContext, fed: bytes) -> dict[tuple[str, bytes], Quantity]:
    """(unit, co-op) -> balance of federation ``fed``, from the applied, valid
    transfer.accept entries and the offers they accept (not from the economy's
    transfer records)."""
    out: dict[tuple[str, bytes], Quantity] = {}
    economic = ctx.state.economic
    for e in economic.values():
        if e.kind != "transfer.accept" or e.id in ctx.econ.invalid:
            continue
        offer_hex = e.body.get("offer")
        offer = economic.get(bytes.fromhex(offer_hex)) if isinstance(offer_hex, str) else None
        if offer is None or offer.kind != "transfer.offer":
            continue  # an accept of an allocation moves goods, not a balance
        b = offer.body
        amount, unit, to = b.get("amount"), b.get("unit"), b.get("to")
        if (b.get("federation") != fed.hex() or not isinstance(amount, str)
                or not isinstance(unit, str) or not isinstance(to, str)):
            continue
        q = Quantity.parse(amount)
        payer = ctx.identity_of(offer.author)
        receiver = bytes.fromhex(to)
        out[(unit, payer)] = out.get((unit, payer), Quantity.parse("0")) - q
        out[(unit, receiver)] = out.get((unit, receiver), Quantity.parse("0")) + q
    return out


def _balances(ctx: AuditContext) -> Check:
    name = CHECK_NAMES[3]
    if not ctx.feds:
        return Check(name, True, "The co-op is in no federation: it has no balances.")
    problems: list[str] = []
    parts: list[str] = []
    zero = Quantity.parse("0")
    for f in ctx.feds:
        booked = ctx.econ.balances(f.id)
        again = _recomputed(ctx, f.id)
        units = sorted({u for u, _ in booked} | {u for u, _ in again})
        mine = []
        for u in units:
            b, r = booked.get((u, ctx.identity), zero), again.get((u, ctx.identity), zero)
            if b != r:
                problems.append(f"{f.name}: the co-op's {u} balance is {b}, its accepted "
                                f"transfers add up to {r}")
            total = sum((q for (uu, _), q in booked.items() if uu == u), zero)
            if total.units:
                problems.append(f"{f.name}: the {u} balances of its members sum to "
                                f"{total}, not 0")
            if (u, ctx.identity) in booked:
                mine.append(f"{_signed(b)} {u}")
        parts.append(f"{f.name}: {', '.join(mine) if mine else 'no completed transfer'}")
    if problems:
        return Check(name, False, f"{listing(problems)}.")
    return Check(name, True, f"Balances recomputed from the accepted transfers match "
                 f"and every federation's balances sum to 0 in each unit ("
                 f"{listing(parts)}).")


def _signed(q: Quantity) -> str:
    return str(q) if q.units < 0 else f"+{q}"


# --------------------------------------------------------------------- 5. transfers

def _transfers(ctx: AuditContext) -> Check:
    name = CHECK_NAMES[4]
    fed_ids = {f.id for f in ctx.feds}
    counts = {"accepted": 0, "declined": 0, "open": 0}
    problems: list[str] = []
    economic = ctx.state.economic
    for t in sorted(ctx.econ.transfers.values(), key=lambda t: (t.ts, t.id)):
        if t.federation not in fed_ids or ctx.identity not in (t.payer, t.receiver):
            continue
        what = _what(t.amount, t.unit, len(t.items))
        other = t.receiver if t.payer == ctx.identity else t.payer
        role = "to" if t.payer == ctx.identity else "from"
        label = f"{t.origin} {short(t.id)} ({what} {role} {ctx.who(other)})"
        status = t.status_at(ctx.as_of)
        if status == "lapsed":
            by = "the receiver" if t.payer == ctx.identity else "the co-op"
            problems.append(f"{label} lapsed on {utc_date(t.expires)}, never accepted or "
                            f"declined by {by}")
            continue
        counts["open" if status == "open" else t.status] += 1
        if t.status == "accepted":
            acc = economic.get(t.closed_by) if t.closed_by is not None else None
            if acc is None or acc.kind != "transfer.accept":
                problems.append(f"{label} is booked as accepted with no accept entry")
            elif ctx.identity_of(acc.author) != t.receiver:
                problems.append(f"{label} was accepted by {ctx.who(acc.author)}, not its "
                                "receiver")
            elif acc.ts > t.expires:
                problems.append(f"{label} was accepted after it expired")
    for i in sorted(ctx.econ.invalid.values(), key=lambda i: i.entry_id):
        if i.kind in TRANSFER_KINDS and ctx.mine(i.author) and not _mandate_issue(ctx, i):
            problems.append(f"entry {short(i.entry_id)} ({i.kind}) is invalid ({i.code}: "
                            f"{i.detail})")
    summary = (f"{counts['accepted']} accepted by the receiver, {counts['declined']} "
               f"declined, {counts['open']} open and not yet expired")
    if problems:
        return Check(name, False, f"{listing(problems)} ({summary}).")
    return Check(name, True, f"No transfer of the co-op lapsed unanswered, none is invalid: "
                 f"{summary}.")


def _what(amount: Quantity | None, unit: str | None, items: int) -> str:
    if amount is not None and unit is not None:
        return f"{amount} {unit}" + (f" and {plural(items, 'item')}" if items else "")
    return plural(items, "item")


def _mandate_issue(ctx: AuditContext, inv: Invalid) -> bool:
    """An invalid entry that belongs to the mandates check (a delegate key's, or a
    mandate reason code), so that it fails one check, not two."""
    if inv.code in MANDATE_REASON_CODES:
        return True
    rec = ctx.econ.gov.ids.records.get(inv.author)
    return rec is not None and rec.power == "delegate"


# ---------------------------------------------------------------------- 6. mandates

def _mandates(ctx: AuditContext) -> Check:
    name = CHECK_NAMES[5]
    gov = ctx.econ.gov
    mine = [md for _, md in sorted(gov.mandates.by_id.items()) if md.issuer == ctx.identity]
    active = [md for md in mine if md.status_at(ctx.as_of) == "active"]
    problems: list[str] = []
    for md in mine:
        if md.verdict is not None and md.verdict[1] == "exceeded":
            problems.append(f"mandate {short(md.id)} ({md.title!r}, delegate "
                            f"{md.delegate!r}) has the verdict \"exceeded\"")
    for i in sorted(ctx.econ.invalid.values(), key=lambda i: i.entry_id):
        if ctx.mine(i.author) and _mandate_issue(ctx, i):
            problems.append(f"entry {short(i.entry_id)} ({i.kind}) by key "
                            f"{short(i.author)} is invalid ({i.code}: {i.detail})")
    for fl in gov.flags:
        e = ctx.state.economic.get(fl.entry)
        if e is not None and ctx.mine(e.author):
            problems.append(f"flag {fl.code} on entry {short(e.id)} ({e.kind}): "
                            f"{fl.detail}")
    summary = (f"{plural(len(mine), 'mandate')} issued, {len(active)} in force at the "
               "as-of time")
    if problems:
        return Check(name, False, f"{listing(problems)} ({summary}).")
    return Check(name, True, f"{summary}; no verdict \"exceeded\", every delegate "
                 "entry valid, no term limit flagged.")


# ------------------------------------------------------------------ 7. fund reports

def _fund_reports(ctx: AuditContext) -> Check:
    name = CHECK_NAMES[6]
    grants, overdue = 0, []
    reported = 0
    for f in ctx.feds:
        view = ctx.econ.fund(f.id, ctx.as_of)
        for g in view.grants:
            if g.to != ctx.identity:
                continue
            grants += 1
            reported += g.report is not None
        for g in view.overdue:
            if g.to == ctx.identity:
                overdue.append(f"grant {short(g.id)} ({g.experiment!r}, {g.amount} "
                               f"{g.unit} from {f.name}) was due a report by "
                               f"{g.report_due}")
    if overdue:
        return Check(name, False, f"{listing(overdue)} ({plural(grants, 'grant')} to "
                     f"the co-op, {reported} reported).")
    return Check(name, True, f"No fund report overdue ({plural(grants, 'grant')} to the "
                 f"co-op, {reported} reported).")


# ----------------------------------------------------------------------- 8. metrics

def _metric_entries(ctx: AuditContext, held: Iterable[Entry]) -> list[Entry]:
    return [e for e in held if ctx.applied(e)]


def _month_sentence(m: Metrics) -> str:
    if not (m.needs or m.coop_hours_paid.units or m.coop_hours_unpaid.units
            or m.outside_hours.units or m.energy_generated_local.units
            or m.energy_consumed.units):
        return f"{m.period}: nothing recorded"
    parts = [f"needs met inside {m.needs_met_inside_share or '-'}",
             f"co-op work share {m.coop_work_share or '-'} ({m.coop_hours_paid} h paid, "
             f"{m.coop_hours_unpaid} h unpaid, {m.outside_hours} h outside)",
             f"local energy share {m.energy_local_share or '-'} "
             f"({m.energy_generated_local} of {m.energy_consumed} kWh)"]
    return f"{m.period}: {', '.join(parts)}"


def metrics_of(econ: Economy, entries: Iterable[Entry], coop: bytes,
               months: Sequence[str]) -> list[Metrics]:
    """The metrics of ``coop`` for each of ``months``."""
    listed = list(entries)
    return [compute_metrics(econ, listed, period=m, coop=coop) for m in months]


def _metrics(ctx: AuditContext, held: Iterable[Entry]) -> Check:
    name = CHECK_NAMES[7]
    # The months of the quarter that have begun at the as-of time (at least its first).
    months = [m for m in quarter_months(ctx.quarter)
              if month_start(m) <= ctx.as_of] or quarter_months(ctx.quarter)[:1]
    try:
        found = metrics_of(ctx.econ, _metric_entries(ctx, held), ctx.identity, months)
    except ValueError as exc:
        return Check(name, False, f"The metrics of {ctx.quarter} could not be computed: "
                     f"{exc}.")
    return Check(name, True, f"Recomputed for {ctx.quarter}: "
                 f"{'; '.join(_month_sentence(m) for m in found)}.")


# -------------------------------------------------------------------- 9. exceptions

def _exceptions(ctx: AuditContext) -> Check:
    name = CHECK_NAMES[8]
    fed_ids = {f.id for f in ctx.feds}
    problems = [x.describe() for x in ctx.econ.exceptions
                if x.coop == ctx.identity and x.federation in fed_ids]
    for i in sorted(ctx.econ.invalid.values(), key=lambda i: i.entry_id):
        if (ctx.mine(i.author) and i.kind not in TRANSFER_KINDS
                and not _mandate_issue(ctx, i)):
            problems.append(f"entry {short(i.entry_id)} ({i.kind}) is invalid ({i.code}: "
                            f"{i.detail})")
    if problems:
        return Check(name, False, f"{listing(problems)}.")
    return Check(name, True, "Nothing flagged concerns the co-op and none of its other "
                 "entries is invalid.")
