"""How the `coop` command shows entries and state: JSON on request, tables otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from coopledger.node import jsonable
from coopledger.protocol import AuthorState, Entry, LedgerState, Quantity, is_known_kind

from ._common import err, format_ts, out


def print_json(value: Any) -> None:
    # Plain json, not Rich's highlighter: machine output, and 10-100x faster on a
    # federation's full state.
    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True,
                                indent=2) + "\n")


def entry_json(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "author": e.author,
        "seq": e.seq,
        "prev": e.prev,
        "ts": e.ts,
        "kind": e.kind,
        "known_kind": is_known_kind(e.kind),
        "refs": list(e.refs),
        "body": dict(e.body),
    }


def summary(e: Entry) -> str:
    """One line describing what an entry records, for people."""
    b = {k: str(v) for k, v in e.body.items()}
    if e.kind == "genesis":
        return f"co-op {b['name']} begins its log"
    if e.kind == "labor":
        paid = "paid" if e.body.get("paid") else "unpaid"
        return f"{b['member']}: {b['hours']} h {b['category']} ({paid}), {b['task']}, {b['date']}"
    if e.kind == "material":
        return f"{b['direction']} {b['quantity']} {b['unit']} {b['item']}"
    if e.kind == "energy":
        return f"{b['flow']} {b['kwh']} kWh ({b['source']})"
    if e.kind == "goods":
        to = f" to {b['to']}" if "to" in b else ""
        return f"{b['flow']} {b['quantity']} {b['unit']} {b['item']}{to}"
    if not is_known_kind(e.kind):
        return f"(kind {e.kind} is unknown to this version: kept and relayed, not counted)"
    return ""


def entries_table(entries: list[Entry], names: Mapping[bytes, str | None]) -> Table:
    t = Table(title=f"{len(entries)} entries", title_justify="left")
    for col in ("co-op", "seq", "time (UTC)", "kind", "what", "entry"):
        t.add_column(col, no_wrap=col in ("seq", "entry"))
    for e in entries:
        who = names.get(e.author) or e.author[:4].hex()
        t.add_row(who, str(e.seq), format_ts(e.ts), e.kind, summary(e), e.id[:4].hex())
    return t


def state_json(state: LedgerState, held: Mapping[bytes, int]) -> dict[str, Any]:
    """The state, its hash, and (outside what the hash covers) how many entries this
    node holds per co-op: more than ``length`` means some wait (a gap, a fork…)."""
    value = state.to_value()
    return {"state_hash": state.state_hash(), **value,
            "held": {a.hex(): n for a, n in sorted(held.items())}}


def _sum(rows: dict[tuple[Any, ...], Quantity], pick: int) -> dict[Any, Quantity]:
    acc: dict[Any, Quantity] = {}
    for key, q in rows.items():
        acc[key[pick]] = acc.get(key[pick], Quantity(0, 0)) + q
    return acc


# Above this many co-ops, `coop state` shows one line per co-op; --author shows one
# co-op's books in full.
OVERVIEW_ABOVE = 5


def _hours(st: AuthorState) -> Quantity:
    total = Quantity(0, 0)
    for q in st.totals.get("labor", {}).values():
        total = total + q
    return total


def _flags(st: AuthorState) -> str:
    flags = []
    if st.fork:
        flags.append(f"FORK at seq {st.fork.seq}")
    if st.broken:
        flags.append(f"broken at seq {st.broken[0]}")
    if st.unknown:
        flags.append(f"{sum(st.unknown.values())} of unknown kinds")
    return ", ".join(flags)


def print_overview(state: LedgerState, held: Mapping[bytes, int]) -> None:
    t = Table(title=f"{len(state.authors)} co-ops (coop state --author NAME for one "
              "co-op's books)", title_justify="left")
    for col in ("co-op", "id", "entries apply", "held", "labour hours", "notes"):
        t.add_column(col, justify="right" if col in ("entries apply", "held",
                                                      "labour hours") else "left")
    for author in sorted(state.authors, key=lambda a: (state.authors[a].name or "", a)):
        st = state.authors[author]
        t.add_row(st.name or "(name not yet known)", author[:4].hex(), str(st.length),
                  str(held.get(author, 0)), str(_hours(st)), _flags(st))
    out.print(t)


def print_state(state: LedgerState, held: Mapping[bytes, int],
                only: bytes | None = None) -> None:
    """The books, co-op by co-op (or an overview when there are many), then the
    state_hash, which always covers the whole state."""
    if not state.authors:
        out.print("This store holds no entries yet.")
    authors = [only] if only is not None else sorted(
        state.authors, key=lambda a: (state.authors[a].name or "", a))
    if only is None and len(authors) > OVERVIEW_ABOVE:
        print_overview(state, held)
        authors = []
    for author in authors:
        st = state.authors[author]
        out.print()
        out.print(Text.assemble((st.name or "(name not yet known)", "bold"),
                                f"  {author.hex()}"))
        out.print(f"  log: {st.length} entries apply, head "
                  f"{st.head[:4].hex() + '…' if st.head else '-'} at {format_ts(st.head_ts)}")
        waiting = held.get(author, 0) - st.length
        if waiting > 0 and state.as_of is not None:
            out.print(f"  {waiting} more held but not counted: timestamped after the as-of "
                      "time, or waiting for an earlier entry")
        elif waiting > 0:
            out.print(f"  {waiting} more held but not applied: they wait for an earlier "
                      "entry, or lie past a fork or a broken link")
        if st.fork:
            out.print(Text.assemble(
                "  ", (f"FORK at seq {st.fork.seq}", "red"),
                f": entries {st.fork.a[:4].hex()}… and {st.fork.b[:4].hex()}…; the log is "
                f"frozen at seq {st.fork.seq - 1}"))
        if st.broken:
            out.print(Text.assemble("  ", (f"chain broken at seq {st.broken[0]}", "red"),
                                    f" ({st.broken[1]})"))
        for kind, count in sorted(st.unknown.items()):
            out.print(f"  {count} entries of kind {kind} (unknown to this version, not counted)")
        labor = st.totals.get("labor", {})
        if labor:
            t = Table(title="labour hours", title_justify="left")
            t.add_column("member")
            t.add_column("category")
            t.add_column("paid")
            t.add_column("hours", justify="right")
            for (member, cat, paid), q in sorted(labor.items(), key=lambda kv: str(kv[0])):
                t.add_row(str(member), str(cat), "paid" if paid else "unpaid", str(q))
            by_cat = _sum(labor, 1)
            t.add_section()
            for cat, q in sorted(by_cat.items()):
                t.add_row("all members", str(cat), "", str(q))
            out.print(t)
        for kind, cols, title in (
            ("material", ("item", "unit", "direction"), "materials"),
            ("energy", ("flow", "source"), "energy (kWh)"),
            ("goods", ("item", "unit", "flow"), "goods"),
        ):
            rows = st.totals.get(kind, {})
            if not rows:
                continue
            t = Table(title=title, title_justify="left")
            for c in cols:
                t.add_column(c)
            t.add_column("quantity", justify="right")
            for key, q in sorted(rows.items(), key=lambda kv: str(kv[0])):
                t.add_row(*(str(k) for k in key), str(q))
            out.print(t)
    as_of = "all held entries" if state.as_of is None else f"as of {format_ts(state.as_of)}"
    out.print(f"\nstate_hash {state.state_hash()}  ({as_of})")


def table(title: str, rows: list[dict[str, Any]],
          columns: Sequence[tuple[str, Callable[[dict[str, Any]], object]]],
          right: Sequence[str] = ()) -> None:
    """Print ``rows`` of a view as a table titled ``title`` ("TITLE: none" when there is
    no row): one column per (header, value of a row), None shown as "-"; the headers in
    ``right`` are right-aligned."""
    if not rows:
        out.print(f"{title}: none")
        return
    t = Table(title=title, title_justify="left")
    for header, _ in columns:
        t.add_column(header, justify="right" if header in right else "left")
    for row in rows:
        t.add_row(*("-" if (v := get(row)) is None else str(v) for _, get in columns))
    out.print(t)


def progress(total: int | None, label: str, *, bytes_: bool) -> Progress:
    """A progress bar on stderr (only when it is a terminal): bytes, else items."""
    cols: list[Any] = [TextColumn(label), BarColumn()]
    cols += [DownloadColumn(), TransferSpeedColumn()] if bytes_ else [MofNCompleteColumn()]
    cols.append(TimeRemainingColumn())
    return Progress(*cols, console=err, transient=True, disable=not err.is_terminal)
