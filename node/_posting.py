"""The printable monthly posting of a co-op's books, for the notice board.

``build_posting`` gathers a month's figures from the store; ``render_html`` turns them
into one self-contained HTML page (inline CSS with a print stylesheet for A4, an inline
SVG QR code, no scripts, no external files). Everything that comes from entries (names,
items, tasks, purposes) is HTML-escaped: entries are written by other co-ops too.

Which entries count for a month: those with a body ``date`` in the month, or, for
material, energy and goods entries without a date, whose timestamp (UTC) falls in it.
The page shows the log's head (seq and entry id) at the time of printing, so anyone can
compare the paper with `coop state` on a screen; the same entries always give the same
page byte for byte (there is no "printed at" clock in it).

Federation sections (transfers, balances) come from the economy of SPEC §12. They are
left out when the co-op is in no federation, and the page says "no federation" rather
than failing if this version cannot compute the economy.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from coopledger.protocol import Entry, LedgerState, Quantity

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

Totals = dict[tuple[str, ...], Quantity]


@dataclass(slots=True)
class TransferLine:
    date: str
    direction: str          # "paid to" or "received from"
    other: str              # the other co-op's name (or short id)
    what: str               # "12.5 hour" or "3 kg flour; …"
    purpose: str
    status: str


@dataclass(slots=True)
class FederationSection:
    name: str
    transfers: list[TransferLine]
    balances: list[tuple[str, str, Quantity, bool]]  # (unit, co-op, balance, is_us)


@dataclass(slots=True)
class Posting:
    coop_name: str
    author: bytes
    month: str
    head_seq: int
    head: bytes | None
    entries: int = 0
    labor: Totals = field(default_factory=dict)          # (category, paid) -> hours
    labor_members: Totals = field(default_factory=dict)  # (member, paid) -> hours
    material: Totals = field(default_factory=dict)       # (item, unit, direction)
    energy: Totals = field(default_factory=dict)         # (flow, source)
    goods: Totals = field(default_factory=dict)          # (item, unit, flow)
    federations: list[FederationSection] = field(default_factory=list)
    economy_note: str | None = None

    @property
    def head_text(self) -> str:
        """What the QR code holds: the head entry id in lowercase hex (or "none")."""
        return self.head.hex() if self.head is not None else "none"


def check_month(text: str) -> str:
    """``text`` if it is a month YYYY-MM, else ValueError with a sentence."""
    if not _MONTH.fullmatch(text):
        raise ValueError("expected a month YYYY-MM, such as 2026-11")
    return text


def entry_month(entry: Entry) -> str:
    date = entry.body.get("date")
    if isinstance(date, str):
        return date[:7]
    return datetime.datetime.fromtimestamp(entry.ts / 1000, datetime.UTC).strftime("%Y-%m")


def _add(table: Totals, key: tuple[str, ...], amount: object) -> None:
    table[key] = table.get(key, Quantity(0, 0)) + Quantity.parse(str(amount))


def build_posting(state: LedgerState, author: bytes, month: str,
                  entries: Iterable[Entry], names: Mapping[bytes, str | None]) -> Posting:
    """The posting of ``author``'s books for ``month`` from its held ``entries``
    (entries past the applied prefix of the log are skipped)."""
    check_month(month)
    st = state.authors.get(author)
    length = st.length if st is not None else 0
    p = Posting(coop_name=(st.name if st is not None and st.name else author[:4].hex()),
                author=author, month=month, head_seq=length,
                head=st.head if st is not None else None)
    for e in entries:
        if e.author != author or e.seq > length or entry_month(e) != month:
            continue
        b = e.body
        if e.kind == "labor":
            paid = "paid" if b.get("paid") else "unpaid"
            _add(p.labor, (str(b["category"]), paid), b["hours"])
            _add(p.labor_members, (str(b["member"]), paid), b["hours"])
        elif e.kind == "material":
            _add(p.material, (str(b["item"]), str(b["unit"]), str(b["direction"])),
                 b["quantity"])
        elif e.kind == "energy":
            _add(p.energy, (str(b["flow"]), str(b["source"])), b["kwh"])
        elif e.kind == "goods":
            _add(p.goods, (str(b["item"]), str(b["unit"]), str(b["flow"])), b["quantity"])
        else:
            continue
        p.entries += 1
    _add_federations(p, state, month, names)
    return p


def _add_federations(p: Posting, state: LedgerState, month: str,
                     names: Mapping[bytes, str | None]) -> None:
    """Transfers offered in the month and balances, per federation the co-op is in."""
    compute = getattr(state, "economy", None)
    if compute is None:
        p.economy_note = "this version does not compute federation balances"
        return
    try:
        economy = compute()
        feds = economy.federations_of(p.author)
    except NotImplementedError:
        p.economy_note = "this version does not compute federation balances"
        return

    def name(coop: bytes) -> str:
        return names.get(coop) or coop[:4].hex()

    for fed in feds:
        lines: list[TransferLine] = []
        for t in sorted(economy.transfers.values(), key=lambda t: (t.ts, t.id)):
            if t.federation != fed.id or p.author not in (t.payer, t.receiver):
                continue
            day = datetime.datetime.fromtimestamp(t.ts / 1000, datetime.UTC)
            if day.strftime("%Y-%m") != month:
                continue
            parts = [f"{t.amount} {t.unit}"] if t.amount is not None else []
            parts += [f"{i.quantity} {i.unit} {i.item}" for i in t.items]
            paying = t.payer == p.author
            lines.append(TransferLine(
                date=day.strftime("%Y-%m-%d"),
                direction="paid to" if paying else "received from",
                other=name(t.receiver if paying else t.payer),
                what="; ".join(parts), purpose=t.purpose, status=t.status))
        balances = [(unit, name(coop), q, coop == p.author)
                    for (unit, coop), q in sorted(economy.balances(fed.id).items())]
        p.federations.append(FederationSection(fed.name, lines, balances))


def qr_svg(text: str) -> str:
    """An inline SVG QR code of exactly ``text`` (error correction M)."""
    import segno  # here, not at the top: every `coop` command imports this module

    return str(segno.make(text, error="m", micro=False).svg_inline(
        omitsize=True, border=4, title=f"QR code of {text}"))


# -- HTML -------------------------------------------------------------------------

_CSS = """
body { font-family: Georgia, 'DejaVu Serif', serif; color: #000; background: #fff;
       max-width: 190mm; margin: 1em auto; line-height: 1.35; }
h1 { font-size: 1.6em; margin: 0 0 .2em 0; }
h2 { font-size: 1.15em; margin: 1.2em 0 .3em 0; border-bottom: 1px solid #000; }
table { border-collapse: collapse; width: 100%; margin: .3em 0 .8em 0; }
th, td { border: 1px solid #000; padding: .15em .4em; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
tr.us td { font-weight: bold; }
.head { display: flex; gap: 1em; align-items: flex-start; margin: 1em 0;
        border: 1px solid #000; padding: .5em; }
.head svg { width: 35mm; height: 35mm; flex: none; }
.hash { font-family: 'DejaVu Sans Mono', monospace; word-break: break-all; }
.none { font-style: italic; }
section { break-inside: avoid; page-break-inside: avoid; }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .head { break-inside: avoid; page-break-inside: avoid; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_N = ' class="n"'


def _table(headers: list[str], rows: list[list[object]], numeric: set[int],
           total: list[object] | None = None, marked: set[int] | None = None) -> str:
    out = ["<table><thead><tr>"]
    out += [f"<th{_N if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for r_i, row in enumerate(rows):
        cls = ' class="us"' if marked and r_i in marked else ""
        out.append(f"<tr{cls}>" + "".join(
            f"<td{_N if i in numeric else ''}>{_e(c)}</td>"
            for i, c in enumerate(row)) + "</tr>")
    if total is not None:
        out.append('<tr class="total">' + "".join(
            f"<td{_N if i in numeric else ''}>{_e(c)}</td>"
            for i, c in enumerate(total)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _none(text: str) -> str:
    return f'<p class="none">{_e(text)}</p>'


def _paid_table(first: str, table: Totals) -> str:
    keys = sorted({k[0] for k in table})
    zero = Quantity(0, 0)
    rows: list[list[object]] = []
    sums = [zero, zero, zero]
    for k in keys:
        unpaid = table.get((k, "unpaid"), zero)
        paid = table.get((k, "paid"), zero)
        rows.append([k, unpaid, paid, unpaid + paid])
        sums = [sums[0] + unpaid, sums[1] + paid, sums[2] + unpaid + paid]
    return _table([first, "unpaid hours", "paid hours", "all hours"], rows, {1, 2, 3},
                  ["all", *sums])


def render_html(p: Posting) -> str:
    """The posting as one HTML page (UTF-8, self-contained)."""
    title = f"{p.coop_name}: books for {p.month}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(p.coop_name)}</h1>",
        f"<p>Books for <strong>{_e(p.month)}</strong>: {p.entries} entries dated in "
        "this month. Every figure is an exact sum of signed entries; check it with "
        "<code>coop state</code> or <code>coop posting</code> on any node.</p>",
        '<div class="head">', qr_svg(p.head_text), "<div>",
        f"<div>Co-op id: <span class=\"hash\">{_e(p.author.hex())}</span></div>",
        f"<div>Log head: entry <strong>#{p.head_seq}</strong></div>",
        f"<div>Head hash: <span class=\"hash\" id=\"head-hash\">{_e(p.head_text)}"
        "</span></div>",
        "<div>Compare it with <code>coop state --author …</code> on a screen: the same "
        "head means the same books.</div>",
        "</div></div>",
    ]
    parts.append("<section><h2>Labour</h2>")
    if p.labor:
        parts.append(_paid_table("category", p.labor))
        parts.append(_paid_table("member", p.labor_members))
    else:
        parts.append(_none("No hours recorded for this month."))
    parts.append("</section><section><h2>Materials</h2>")
    parts.append(_table(["item", "unit", "direction", "quantity"],
                        [[*k, q] for k, q in sorted(p.material.items())], {3})
                 if p.material else _none("No materials recorded for this month."))
    parts.append("</section><section><h2>Energy</h2>")
    parts.append(_table(["flow", "source", "kWh"],
                        [[*k, q] for k, q in sorted(p.energy.items())], {2})
                 if p.energy else _none("No energy recorded for this month."))
    parts.append("</section><section><h2>Goods</h2>")
    parts.append(_table(["item", "unit", "flow", "quantity"],
                        [[*k, q] for k, q in sorted(p.goods.items())], {3})
                 if p.goods else _none("No goods recorded for this month."))
    parts.append("</section>")
    parts.append(_federation_html(p))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _federation_html(p: Posting) -> str:
    if not p.federations:
        note = p.economy_note or "this co-op is in no federation"
        return f"<section><h2>Federations</h2>{_none(f'No transfers or balances: {note}.')}" \
               "</section>"
    out: list[str] = []
    for fed in p.federations:
        out.append(f"<section><h2>Federation {_e(fed.name)}</h2>")
        out.append("<h3>Transfers offered this month</h3>")
        rows: list[list[Any]] = [[t.date, t.direction, t.other, t.what, t.purpose, t.status]
                                 for t in fed.transfers]
        heads = ["date", "direction", "co-op", "amount", "purpose", "status"]
        out.append(_table(heads, rows, set()) if rows else _none("No transfers this month."))
        out.append(f"<h3>Balances at entry #{p.head_seq}</h3>")
        marked = {i for i, b in enumerate(fed.balances) if b[3]}
        out.append(_table(["unit", "co-op", "balance"],
                          [[u, c, q] for u, c, q, _ in fed.balances], {2}, marked=marked)
                   if fed.balances else _none("No completed transfers yet."))
        out.append("</section>")
    return "\n".join(out)
