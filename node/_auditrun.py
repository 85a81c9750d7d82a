"""The automated checks of an audit circle (SPEC §14.4) on this node's store:
``coop audit run COOP``.

    run_audit(store, coop, as_of=…, quarter=…, federation=…) -> AuditRun

The checks themselves, their order (CHECK_NAMES) and what each judges are
protocol/_auditchecks.py's, and are pure; this module reads what they judge from the
store: the fold of the held entries as of the audit's time, every held entry of the
co-op's keys (their signatures verified here, in batches, by node/_verify.py), the
cosigns of checkpoints and the co-op's entries the metrics count.

Reading only: this module never writes the store and never talks to the network. It
raises ``AuditError`` (with the parameter at fault) for a co-op the store knows nothing
of, or a quarter that is not YYYY-Qn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from coopledger.protocol import (
    CHECK_NAMES,
    COSIGN_KIND,
    MAX_CHECKPOINT_AGE_DAYS,
    MAX_DETAIL,
    METRIC_KINDS,
    AuditContext,
    AuditError,
    AuditRun,
    ChainScan,
    Check,
    CheckpointInfo,
    Entry,
    audit_checks,
    audit_context,
    default_as_of,
    metrics_of,
    quarter_bounds,
    quarter_months,
    quarter_of,
)

from ._store import Store
from ._verify import Verifier

# What cli/_auditrun.py and the tests use: run_audit, and the names of the pure part
# (protocol/_auditchecks.py) they need with it.
__all__ = ["BATCH", "CHECK_NAMES", "MAX_CHECKPOINT_AGE_DAYS", "MAX_DETAIL", "AuditError",
           "AuditRun", "Check", "CheckpointInfo", "Progress", "default_as_of", "metrics_of",
           "quarter_bounds", "quarter_months", "quarter_of", "run_audit"]

# Entries verified per batch (one progress update each).
BATCH = 4096

# progress(stage, done, total): stage is "folding" (done = total = 0 until it ends)
# or "verifying" (entries of the co-op's keys).
Progress = Callable[[str, int, int], None]


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
    held = store.held_counts()
    ctx = audit_context(state, coop, held, as_of=as_of, quarter=quarter,
                        federation=federation)
    if progress:
        progress("folding", 1, 1)
    scan = _scan(store, ctx, held, progress, verifier)
    return audit_checks(ctx, scan, cosigns=store.entries(kind=COSIGN_KIND),
                        metric_entries=_metric_entries(store, ctx),
                        max_checkpoint_age_days=max_checkpoint_age_days)


def _scan(store: Store, ctx: AuditContext, held: dict[bytes, int],
          progress: Progress | None, verifier: Verifier | None) -> ChainScan:
    """Feed every held entry of the co-op's keys to check 1 (protocol/_auditchecks.py),
    verifying their signatures in batches on the way."""
    total = sum(held.get(k, 0) for k in ctx.keys)
    scan = ChainScan(ctx)
    own = verifier is None
    verifier = verifier or Verifier()
    try:
        for key in ctx.keys:
            scan.start(key)
            batch: list[Entry] = []
            for rid, raw in store.iter_raw(authors=[key]):
                e = scan.read(rid, raw)
                if e is None:
                    continue
                batch.append(e)
                if len(batch) >= BATCH:
                    _verify_batch(verifier, batch, scan)
                    if progress:
                        progress("verifying", scan.done, total)
            _verify_batch(verifier, batch, scan)
            scan.end()
            if progress:
                progress("verifying", scan.done, total)
    finally:
        if own:
            verifier.close()
    return scan


def _verify_batch(verifier: Verifier, batch: list[Entry], scan: ChainScan) -> None:
    """Verify the signatures of ``batch`` (then empty it), noting each that fails."""
    for e, ok in zip(batch, verifier.verify(batch), strict=True):
        if not ok:
            scan.bad_signature(e)
    batch.clear()


def _metric_entries(store: Store, ctx: AuditContext) -> Iterator[Entry]:
    """The held entries of the co-op's keys that the metrics check counts, kind by kind
    (it skips those not applied as of the audit's time)."""
    for kind in METRIC_KINDS:
        yield from store.entries(authors=list(ctx.keys), kind=kind)
