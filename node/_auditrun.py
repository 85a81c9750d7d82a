"""The automated checks of an audit circle (SPEC §14.4): ``coop audit run COOP``.

An auditing co-op runs these over its own store, which holds the audited co-op's logs
(every key of it, SPEC §13.2) and the federations' entries. Each check gives a name, a
verdict and one readable sentence: exactly the ``checks`` of an ``audit.report``.

    run_audit(store, coop, as_of=…, quarter=…, federation=…) -> AuditRun

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

Reading only: this module never writes the store and never talks to the network. It
raises ``AuditError`` (with the parameter at fault) for a co-op the store knows nothing
of, or a quarter that is not YYYY-Qn.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from coopledger import crypto
from coopledger.protocol import (
    CHECKPOINT_KIND,
    MANDATE_REASON_CODES,
    MAX_CHECKS,
    BrokenChain,
    Economy,
    Entry,
    Federation,
    Invalid,
    LedgerState,
    Metrics,
    Quantity,
    ValidationError,
    compute_metrics,
    decode_entry,
    drawn_coops,
    entry_id,
    utc_date,
    validate_chain,
)

from ._store import Store
from ._verify import Verifier

CHECK_NAMES = ("chains-and-signatures", "no-forks", "checkpoint", "balances-reconcile",
               "transfers-confirmed", "mandates", "fund-reports", "metrics", "exceptions")
assert len(CHECK_NAMES) <= MAX_CHECKS
# A checkpoint older than this at the as-of time fails the check: nodes publish one
# at least monthly (SPEC §14.2), so an older one means the log is not being published.
MAX_CHECKPOINT_AGE_DAYS = 31
# The audit.report schema's limit on a check's detail (characters).
MAX_DETAIL = 2000
# How many items a sentence lists before it says "and N more".
LIST_LIMIT = 5
# Entries verified per batch (one progress update each).
BATCH = 4096
DAY_MS = 86_400_000
TRANSFER_KINDS = frozenset(("transfer.offer", "transfer.accept", "transfer.decline",
                            "sprint.allocate"))
METRIC_KINDS = ("labor", "energy", "labor.outside")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])", re.ASCII)
_EPOCH = datetime.date(1970, 1, 1)

# progress(stage, done, total): stage is "folding" (done = total = 0 until it ends)
# or "verifying" (entries of the co-op's keys).
Progress = Callable[[str, int, int], None]


class AuditError(ValueError):
    """A parameter names nothing to audit (the caller's mistake): ``field`` is the
    parameter (``coop``, ``quarter``), ``message`` one sentence."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_value(self) -> dict[str, object]:
        """The check as an audit.report lists it (SPEC §14.1 ``checks``)."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """A checkpoint entry of one of the co-op's logs, and who cosigned it."""

    id: bytes
    key: bytes
    seq: int
    ts: int
    size: int
    root: str
    witnesses: tuple[bytes, ...] = ()   # identities, sorted

    def to_value(self) -> dict[str, object]:
        return {"id": self.id.hex(), "key": self.key.hex(), "seq": self.seq,
                "ts": self.ts, "size": self.size, "root": self.root,
                "witnesses": [w.hex() for w in self.witnesses]}


@dataclass(frozen=True, slots=True)
class AuditRun:
    """What ``run_audit`` found; ``to_value()`` is the JSON document of
    ``coop audit run --json`` (and of ``--out``)."""

    coop: bytes
    name: str | None
    keys: tuple[bytes, ...]
    as_of: int
    quarter: str
    federations: tuple[tuple[bytes, str], ...]
    checkpoint: CheckpointInfo | None
    entries_checked: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_value(self) -> dict[str, object]:
        return {
            "coop": self.coop.hex(), "name": self.name,
            "keys": [k.hex() for k in self.keys],
            "as_of": self.as_of, "quarter": self.quarter,
            "federations": [{"id": f.hex(), "name": n} for f, n in self.federations],
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_value(),
            "entries_checked": self.entries_checked,
            "ok": self.ok,
            "checks": [c.to_value() for c in self.checks],
        }


# ------------------------------------------------------------------------ quarters

def quarter_bounds(quarter: str) -> tuple[int, int]:
    """[start, end) of a calendar quarter YYYY-Qn in ms (UTC). AuditError otherwise."""
    m = _QUARTER.fullmatch(quarter) if isinstance(quarter, str) else None
    if m is None or m.group(1) == "0000":
        raise AuditError("quarter", "expected a quarter YYYY-Qn with n from 1 to 4 "
                         "(2026-Q1)")
    year, n = int(m.group(1)), int(m.group(2))
    first = datetime.date(year, 3 * n - 2, 1)
    after = datetime.date(year + 1, 1, 1) if n == 4 else datetime.date(year, 3 * n + 1, 1)
    return (first - _EPOCH).days * DAY_MS, (after - _EPOCH).days * DAY_MS


def quarter_of(ms: int) -> str:
    """The quarter (YYYY-Qn) holding the UTC date of ``ms``."""
    day = utc_date(ms)
    return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    quarter_bounds(quarter)
    year, n = quarter[:4], int(quarter[-1])
    return [f"{year}-{3 * n - 2 + i:02d}" for i in range(3)]


def default_as_of(quarter: str | None, now: int) -> int:
    """The as-of time of a run: ``now``, or the last ms of ``quarter`` once it has
    ended (a quarter still running is judged as it stands now)."""
    if quarter is None:
        return now
    _, end = quarter_bounds(quarter)
    return min(now, end - 1)


# ------------------------------------------------------------------------ sentences

def _short(raw: bytes) -> str:
    return raw[:4].hex() + "…"


def _listing(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    shown = "; ".join(items[:limit])
    if len(items) > limit:
        shown += f"; and {len(items) - limit} more"
    return shown


def _clip(text: str) -> str:
    """One sentence, capitalised, within the schema's limit (a long listing is cut,
    never refused)."""
    text = text[:1].upper() + text[1:]
    if len(text) <= MAX_DETAIL:
        return text
    return text[: MAX_DETAIL - 1] + "…"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class _Context:
    store: Store
    state: LedgerState
    econ: Economy
    identity: bytes
    keys: tuple[bytes, ...]
    as_of: int
    quarter: str
    feds: list[Federation]
    names: dict[bytes, str | None] = field(default_factory=dict)

    def who(self, coop: bytes) -> str:
        """A co-op for a sentence: its name (cut to 40 characters) and short key."""
        name = self.names.get(coop)
        if name is None:
            st = self.state.authors.get(coop)
            name = None if st is None else st.name
        if not name:
            return _short(coop)
        name = name if len(name) <= 40 else name[:39] + "…"
        return f"{name} ({coop[:4].hex()})"

    def identity_of(self, key: bytes) -> bytes:
        return self.econ.gov.ids.identity_of(key)

    def applied(self, e: Entry) -> bool:
        st = self.state.authors.get(e.author)
        return st is not None and e.seq <= st.length

    def mine(self, key: bytes) -> bool:
        return key in self.keys or self.identity_of(key) == self.identity


# ---------------------------------------------------------------------------- run

def run_audit(store: Store, coop: bytes, *, as_of: int, quarter: str | None = None,
              federation: bytes | None = None,
              max_checkpoint_age_days: int = MAX_CHECKPOINT_AGE_DAYS,
              progress: Progress | None = None,
              verifier: Verifier | None = None) -> AuditRun:
    """Run every check on ``coop`` (an identity or any key of one) as the books stood
    at ``as_of`` (ms). ``quarter`` (YYYY-Qn) picks the months of the metrics (default:
    the quarter of ``as_of``); ``federation`` limits the economic checks to one
    federation (default: every federation the co-op has been a member of).

    Raises AuditError when the store holds no entry of the co-op, or for a bad quarter.
    """
    quarter = quarter_of(as_of) if quarter is None else quarter
    quarter_bounds(quarter)
    if progress:
        progress("folding", 0, 0)
    state = store.state_as_of(as_of)
    econ = state.economy()
    ids = econ.gov.ids
    identity = ids.identity_of(coop)
    keys = tuple(r.key for r in ids.keys_of(identity)) or (identity,)
    held = store.held_counts()
    if not any(held.get(k) for k in keys):
        raise AuditError("coop", f"this store holds no entry of co-op {_short(coop)}")
    if federation is not None:
        fed = econ.federations.get(federation)
        if fed is None:
            raise AuditError("federation", f"no federation {_short(federation)} as of "
                             "the audit's time")
        feds = [fed]
    else:
        feds = [f for _, f in sorted(econ.federations.items()) if identity in f.members]
    ctx = _Context(store, state, econ, identity, keys, as_of, quarter, feds)
    if progress:
        progress("folding", 1, 1)

    chains, checked, checkpoints, bad_roots = _chains(ctx, held, progress, verifier)
    cp_check, latest = _checkpoint(ctx, checkpoints, bad_roots, max_checkpoint_age_days)
    checks = (
        chains,
        _forks(ctx),
        cp_check,
        _balances(ctx),
        _transfers(ctx),
        _mandates(ctx),
        _fund_reports(ctx),
        _metrics(ctx),
        _exceptions(ctx),
    )
    assert tuple(c.name for c in checks) == CHECK_NAMES
    name = state.authors[identity].name if identity in state.authors else None
    return AuditRun(identity, name, keys, as_of, quarter,
                    tuple((f.id, f.name) for f in feds), latest, checked,
                    tuple(Check(c.name, c.ok, _clip(c.detail)) for c in checks))


# ------------------------------------------------------------- 1. chains, signatures

def _chains(ctx: _Context, held: dict[bytes, int], progress: Progress | None,
            verifier: Verifier | None
            ) -> tuple[Check, int, list[CheckpointInfo], list[str]]:
    """Check 1, and on the way (one pass over the entries) every checkpoint of the
    applied prefix of each key with whether its size and root recompute."""
    total = sum(held.get(k, 0) for k in ctx.keys)
    problems: list[str] = []
    checkpoints: list[CheckpointInfo] = []
    bad_roots: list[str] = []
    done = 0
    own = verifier is None
    verifier = verifier or Verifier()
    try:
        for key in ctx.keys:
            length = ctx.state.authors[key].length if key in ctx.state.authors else 0
            frontier = crypto.Frontier()
            by_seq: dict[int, list[Entry]] = {}
            batch: list[Entry] = []

            for rid, raw in ctx.store.iter_raw(authors=[key]):
                done += 1
                if entry_id(raw) != rid:
                    problems.append(f"entry {_short(rid)} of key {_short(key)}: its id "
                                    "does not match its bytes")
                    continue
                try:
                    e = decode_entry(raw)
                except ValidationError as exc:
                    problems.append(f"entry {_short(rid)} of key {_short(key)}: "
                                    f"{exc.reason_code}")
                    continue
                by_seq.setdefault(e.seq, []).append(e)
                batch.append(e)
                if e.seq <= length:
                    _checkpoint_step(ctx, e, frontier, checkpoints, bad_roots)
                if len(batch) >= BATCH:
                    _verify_batch(verifier, batch, problems)
                    if progress:
                        progress("verifying", done, total)
            _verify_batch(verifier, batch, problems)
            problems.extend(_links(key, by_seq))
            if progress:
                progress("verifying", done, total)
    finally:
        if own:
            verifier.close()
    n_keys = _plural(len(ctx.keys), "key")
    if problems:
        return (Check(CHECK_NAMES[0], False,
                      f"{_plural(len(problems), 'problem')} in {done} entries of {n_keys}: "
                      f"{_listing(problems)}."), done, checkpoints, bad_roots)
    return (Check(CHECK_NAMES[0], True,
                  f"{_plural(done, 'held entry', 'held entries')} of the co-op's {n_keys} "
                  "re-verified: ids, signatures and chain links hold."),
            done, checkpoints, bad_roots)


def _verify_batch(verifier: Verifier, batch: list[Entry], problems: list[str]) -> None:
    """Verify the signatures of ``batch`` (then empty it), noting each that fails."""
    for e, ok in zip(batch, verifier.verify(batch), strict=True):
        if not ok:
            problems.append(f"entry {_short(e.id)} (seq {e.seq} of key "
                            f"{_short(e.author)}): signature does not verify")
    batch.clear()


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
                out.append(f"entry {_short(e.id)} (seq {seq} of key {_short(key)}) does "
                           f"not follow seq {seq - 1}: {why}")
    if missing:
        out.append(f"key {_short(key)}: seq {', '.join(map(str, missing[:LIST_LIMIT]))}"
                   f"{' …' if len(missing) > LIST_LIMIT else ''} not held here, so the "
                   "entries above cannot be linked (sync, then run again)")
    return out


def _checkpoint_step(ctx: _Context, e: Entry, frontier: crypto.Frontier,
                     found: list[CheckpointInfo], bad: list[str]) -> None:
    """Feed applied entry ``e`` (the next of its key, in seq order) to the key's
    Merkle frontier; a checkpoint is checked against the frontier before it joins."""
    if e.kind == CHECKPOINT_KIND:
        size, root = e.body.get("size"), e.body.get("root")
        if not isinstance(size, int) or not isinstance(root, str):
            bad.append(f"checkpoint {_short(e.id)} has no size or root")
        else:
            found.append(CheckpointInfo(e.id, e.author, e.seq, e.ts, size, root))
            if size != frontier.size:
                bad.append(f"checkpoint {_short(e.id)} (seq {e.seq}) claims size {size}, "
                           f"the log before it holds {frontier.size}")
            elif root != (again := _tree_root(frontier).hex()):
                bad.append(f"checkpoint {_short(e.id)} (seq {e.seq}): root {root[:8]}… "
                           f"does not recompute (the entries give {again[:8]}…)")
    frontier.append(crypto.leaf_hash(e.id))


def _tree_root(frontier: crypto.Frontier) -> bytes:
    """The Merkle root the audit recomputes (a seam for tests that fake a fault)."""
    return frontier.root()


# ------------------------------------------------------------------------ 2. forks

def _forks(ctx: _Context) -> Check:
    problems = []
    for key in ctx.keys:
        st = ctx.state.authors.get(key)
        if st is None:
            continue
        if st.fork is not None:
            problems.append(f"key {_short(key)} forked at seq {st.fork.seq} (entries "
                            f"{_short(st.fork.a)} and {_short(st.fork.b)}), frozen at seq "
                            f"{st.fork.seq - 1}")
        if st.broken is not None:
            seq, reason = st.broken
            problems.append(f"key {_short(key)} broken at seq {seq} ({reason})")
    if problems:
        return Check(CHECK_NAMES[1], False, f"{_listing(problems)}.")
    logs = "the co-op's log" if len(ctx.keys) == 1 else f"the {len(ctx.keys)} logs of the co-op"
    return Check(CHECK_NAMES[1], True, f"No fork and no broken link in {logs}.")


# ------------------------------------------------------------------- 3. checkpoints

def _witnesses(ctx: _Context, checkpoint: bytes) -> tuple[bytes, ...]:
    """The identities (not the co-op's own) with an applied, valid cosign of
    ``checkpoint`` at the as-of time."""
    out: set[bytes] = set()
    for e in ctx.store.entries(kind="checkpoint.cosign"):
        if (e.body.get("checkpoint") == checkpoint.hex() and ctx.applied(e)
                and e.id not in ctx.econ.invalid):
            who = ctx.identity_of(e.author)
            if who != ctx.identity:
                out.add(who)
    return tuple(sorted(out))


def _circle_members(ctx: _Context) -> set[bytes]:
    """The co-ops drawn in an audit circle of the co-op for the audited quarter."""
    audit, gov = ctx.econ.gov.audit, ctx.econ.gov
    out: set[bytes] = set()
    for c in audit.circles_of(ctx.identity):
        if c.period == ctx.quarter:
            out.update(drawn_coops(gov.lotteries, gov.ids, c))
    return out


def _witness(ctx: _Context, coop: bytes, circle: set[bytes]) -> str:
    return ctx.who(coop) + (" of its audit circle" if coop in circle else "")


def _checkpoint(ctx: _Context, found: list[CheckpointInfo], bad: list[str],
                max_age_days: int) -> tuple[Check, CheckpointInfo | None]:
    name = CHECK_NAMES[2]
    if not found:
        problems = ["the co-op has published no checkpoint", *bad]
        return Check(name, False, f"{_listing(problems)}."), None
    top = max(found, key=lambda c: (c.ts, c.id))
    latest = CheckpointInfo(top.id, top.key, top.seq, top.ts, top.size, top.root,
                            _witnesses(ctx, top.id))
    age = (ctx.as_of - latest.ts) // DAY_MS
    problems = list(bad)
    if ctx.as_of - latest.ts > max_age_days * DAY_MS:
        problems.insert(0, f"the latest checkpoint is {age} days old (at most "
                        f"{max_age_days} allowed)")
    circle = _circle_members(ctx)
    cosigned = (f"cosigned by {', '.join(_witness(ctx, w, circle) for w in latest.witnesses)}"
                if latest.witnesses else "not cosigned by any witness yet")
    about = (f"latest checkpoint {_short(latest.id)} of key {_short(latest.key)} (size "
             f"{latest.size}, root {latest.root[:16]}…, {utc_date(latest.ts)}, {age} "
             f"days before the as-of time) {cosigned}")
    if problems:
        return Check(name, False, f"{_listing(problems)}; {about}."), latest
    every = "its checkpoint" if len(found) == 1 else f"all {len(found)} checkpoints"
    return Check(name, True, f"{about}; the size and root of {every} recompute."), latest


# ---------------------------------------------------------------------- 4. balances

def _recomputed(ctx: _Context, fed: bytes) -> dict[tuple[str, bytes], Quantity]:
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


def _balances(ctx: _Context) -> Check:
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
        return Check(name, False, f"{_listing(problems)}.")
    return Check(name, True, f"Balances recomputed from the accepted transfers match "
                 f"and every federation's balances sum to 0 in each unit ("
                 f"{_listing(parts)}).")


def _signed(q: Quantity) -> str:
    return str(q) if q.units < 0 else f"+{q}"


# --------------------------------------------------------------------- 5. transfers

def _transfers(ctx: _Context) -> Check:
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
        label = f"{t.origin} {_short(t.id)} ({what} {role} {ctx.who(other)})"
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
            problems.append(f"entry {_short(i.entry_id)} ({i.kind}) is invalid ({i.code}: "
                            f"{i.detail})")
    summary = (f"{counts['accepted']} accepted by the receiver, {counts['declined']} "
               f"declined, {counts['open']} open and not yet expired")
    if problems:
        return Check(name, False, f"{_listing(problems)} ({summary}).")
    return Check(name, True, f"No transfer of the co-op lapsed unanswered, none is invalid: "
                 f"{summary}.")


def _what(amount: Quantity | None, unit: str | None, items: int) -> str:
    if amount is not None and unit is not None:
        return f"{amount} {unit}" + (f" and {_plural(items, 'item')}" if items else "")
    return _plural(items, "item")


def _mandate_issue(ctx: _Context, inv: Invalid) -> bool:
    """An invalid entry that belongs to the mandates check (a delegate key's, or a
    mandate reason code), so that it fails one check, not two."""
    if inv.code in MANDATE_REASON_CODES:
        return True
    rec = ctx.econ.gov.ids.records.get(inv.author)
    return rec is not None and rec.power == "delegate"


# ---------------------------------------------------------------------- 6. mandates

def _mandates(ctx: _Context) -> Check:
    name = CHECK_NAMES[5]
    gov = ctx.econ.gov
    mine = [md for _, md in sorted(gov.mandates.by_id.items()) if md.issuer == ctx.identity]
    active = [md for md in mine if md.status_at(ctx.as_of) == "active"]
    problems: list[str] = []
    for md in mine:
        if md.verdict is not None and md.verdict[1] == "exceeded":
            problems.append(f"mandate {_short(md.id)} ({md.title!r}, delegate "
                            f"{md.delegate!r}) has the verdict \"exceeded\"")
    for i in sorted(ctx.econ.invalid.values(), key=lambda i: i.entry_id):
        if ctx.mine(i.author) and _mandate_issue(ctx, i):
            problems.append(f"entry {_short(i.entry_id)} ({i.kind}) by key "
                            f"{_short(i.author)} is invalid ({i.code}: {i.detail})")
    for fl in gov.flags:
        e = ctx.state.economic.get(fl.entry)
        if e is not None and ctx.mine(e.author):
            problems.append(f"flag {fl.code} on entry {_short(e.id)} ({e.kind}): "
                            f"{fl.detail}")
    summary = (f"{_plural(len(mine), 'mandate')} issued, {len(active)} in force at the "
               "as-of time")
    if problems:
        return Check(name, False, f"{_listing(problems)} ({summary}).")
    return Check(name, True, f"{summary}; no verdict \"exceeded\", every delegate "
                 "entry valid, no term limit flagged.")


# ------------------------------------------------------------------ 7. fund reports

def _fund_reports(ctx: _Context) -> Check:
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
                overdue.append(f"grant {_short(g.id)} ({g.experiment!r}, {g.amount} "
                               f"{g.unit} from {f.name}) was due a report by "
                               f"{g.report_due}")
    if overdue:
        return Check(name, False, f"{_listing(overdue)} ({_plural(grants, 'grant')} to "
                     f"the co-op, {reported} reported).")
    return Check(name, True, f"No fund report overdue ({_plural(grants, 'grant')} to the "
                 f"co-op, {reported} reported).")


# ----------------------------------------------------------------------- 8. metrics

def _metric_entries(ctx: _Context) -> list[Entry]:
    out = []
    for kind in METRIC_KINDS:
        for e in ctx.store.entries(authors=list(ctx.keys), kind=kind):
            if ctx.applied(e):
                out.append(e)
    return out


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


def _metrics(ctx: _Context) -> Check:
    name = CHECK_NAMES[7]
    # The months of the quarter that have begun at the as-of time (at least its first).
    months = [m for m in quarter_months(ctx.quarter)
              if _month_start(m) <= ctx.as_of] or quarter_months(ctx.quarter)[:1]
    try:
        found = metrics_of(ctx.econ, _metric_entries(ctx), ctx.identity, months)
    except ValueError as exc:
        return Check(name, False, f"The metrics of {ctx.quarter} could not be computed: "
                     f"{exc}.")
    return Check(name, True, f"Recomputed for {ctx.quarter}: "
                 f"{'; '.join(_month_sentence(m) for m in found)}.")


def _month_start(month: str) -> int:
    day = datetime.date(int(month[:4]), int(month[5:]), 1)
    return (day - _EPOCH).days * DAY_MS


# -------------------------------------------------------------------- 9. exceptions

def _exceptions(ctx: _Context) -> Check:
    name = CHECK_NAMES[8]
    fed_ids = {f.id for f in ctx.feds}
    problems = [x.describe() for x in ctx.econ.exceptions
                if x.coop == ctx.identity and x.federation in fed_ids]
    for i in sorted(ctx.econ.invalid.values(), key=lambda i: i.entry_id):
        if (ctx.mine(i.author) and i.kind not in TRANSFER_KINDS
                and not _mandate_issue(ctx, i)):
            problems.append(f"entry {_short(i.entry_id)} ({i.kind}) is invalid ({i.code}: "
                            f"{i.detail})")
    if problems:
        return Check(name, False, f"{_listing(problems)}.")
    return Check(name, True, "Nothing flagged concerns the co-op and none of its other "
                 "entries is invalid.")
