"""The printable monthly posting (node/_posting.py): the month's figures, the head
hash and its QR code, escaping, and the federation sections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import segno
from nodekit import KEYS, genesis

from coopledger.node._posting import build_posting, check_month, qr_svg, render_html
from coopledger.protocol import Entry, LedgerState, Quantity, Value, create_entry, fold

KEY, OTHER = KEYS[0], KEYS[1]
NOV_1 = 1_793_491_200_000  # 2026-11-01T00:00:00Z


def log(key: Any, name: str, *bodies: tuple[str, dict[str, Value]],
        ts: int = NOV_1) -> list[Entry]:
    entries = [genesis(key, name, ts)]
    for kind, body in bodies:
        prev = entries[-1]
        entries.append(create_entry(key, seq=prev.seq + 1, prev=prev.id, ts=prev.ts + 1000,
                                    kind=kind, body=body))
    return entries


def labor(member: str, hours: str, category: str, date: str, paid: bool = False
          ) -> tuple[str, dict[str, Value]]:
    body: dict[str, Value] = {"member": member, "hours": hours, "task": "t",
                              "category": category, "date": date}
    if paid:
        body["paid"] = True
    return "labor", body


BOOKS = (
    labor("ana", "2.5", "care", "2026-11-03"),
    labor("ana", "1.25", "care", "2026-11-09", paid=True),
    labor("ben", "4", "production", "2026-11-30"),
    labor("ben", "7", "production", "2026-10-31"),     # October: not counted
    labor("ben", "9", "production", "2026-12-01"),     # December: not counted
    ("material", {"item": "compost", "quantity": "40", "unit": "kg", "direction": "in",
                  "date": "2026-11-02"}),
    ("energy", {"kwh": "12.125", "flow": "generated", "source": "local"}),  # ts: Nov
    ("goods", {"item": "tomatoes", "quantity": "25", "unit": "kg", "flow": "produced",
               "date": "2026-11-20"}),
)


def page(entries: list[Entry], month: str = "2026-11", state: Any = None) -> str:
    st = state if state is not None else fold(entries)
    author = entries[0].author
    names = {a: s.name for a, s in st.authors.items()}
    return render_html(build_posting(st, author, month, entries, names))


class Cells(HTMLParser):
    """Table rows as lists of cell texts, and the text of #head-hash."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def cells(html: str) -> Cells:
    c = Cells()
    c.feed(html)
    return c


def test_the_months_figures_and_only_them() -> None:
    entries = log(KEY, "Hillside Garden", *BOOKS)
    rows = cells(page(entries)).rows
    assert ["care", "2.5", "1.25", "3.75"] in rows
    assert ["production", "4", "0", "4"] in rows
    assert ["all", "6.5", "1.25", "7.75"] in rows            # by category
    assert ["ana", "2.5", "1.25", "3.75"] in rows             # by member
    assert ["compost", "kg", "in", "40"] in rows
    assert ["generated", "local", "12.125"] in rows
    assert ["tomatoes", "kg", "produced", "25"] in rows
    assert not any("7" in r or "9" in r for r in rows if r and r[0] == "production")


def test_the_head_hash_seq_and_qr_code() -> None:
    entries = log(KEY, "Hillside Garden", *BOOKS)
    html = page(entries)
    head = entries[-1].id.hex()
    assert f'<span class="hash" id="head-hash">{head}</span>' in html
    assert f"entry <strong>#{len(entries)}</strong>" in html
    # The QR code is the one segno makes from exactly the head's hex text.
    assert qr_svg(head) in html
    assert str(segno.make(head, error="m", micro=False).svg_inline(
        omitsize=True, border=4, title=f"QR code of {head}")) in html
    assert qr_svg(head) != qr_svg(head[:-1] + ("0" if head[-1] != "0" else "1"))


def test_the_qr_code_holds_the_text_in_its_modules() -> None:
    # Decode the SVG path back into modules and compare with the code segno builds: a
    # change of text, error level or border changes the picture.
    head = "ab" * 32
    svg = qr_svg(head)
    qr = segno.make(head, error="m", micro=False)
    dark = _modules(svg)
    width = qr.symbol_size(scale=1, border=4)[0]
    want = {(x + 4, y + 4) for y, row in enumerate(qr.matrix)
            for x, v in enumerate(row) if v}
    assert dark == want
    assert f'viewBox="0 0 {width} {width}"' in svg


def _modules(svg: str) -> set[tuple[int, int]]:
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, num in re.findall(r"([Mmhv])(-?[0-9.]+(?: -?[0-9.]+)?)", path.group(1)):
        parts = [float(n) for n in num.split()]
        if op == "M":
            x, y = parts
        elif op == "m":
            x, y = x + parts[0], y + parts[1]
        elif op == "h":
            for i in range(int(parts[0])):
                dark.add((int(x) + i, int(y)))
            x += parts[0]
    return dark


def test_everything_from_entries_is_escaped() -> None:
    entries = log(KEY, "<script>alert(1)</script>",
                  labor('<img src=x onerror="a">', "1", "care", "2026-11-01"),
                  ("material", {"item": "a & b </td>", "quantity": "1", "unit": "<u>",
                                "direction": "in", "date": "2026-11-01"}))
    html = page(entries)
    assert "<script>" not in html and "<img" not in html and "<u>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    c = cells(html)
    assert c.scripts == 0
    assert ['<img src=x onerror="a">', "1", "0", "1"] in c.rows
    assert ["a & b </td>", "<u>", "in", "1"] in c.rows


def test_a_print_stylesheet_for_a4() -> None:
    html = page(log(KEY, "G"))
    assert "@media print" in html and "size: A4" in html
    assert "break-inside: avoid" in html


def test_an_empty_month_says_so_and_the_page_is_reproducible() -> None:
    entries = log(KEY, "G", *BOOKS)
    html = page(entries, "2025-01")
    assert "No hours recorded for this month." in html
    assert "0 entries dated in this month" in html
    assert html == page(entries, "2025-01")


def test_entries_past_the_applied_prefix_do_not_count() -> None:
    entries = log(KEY, "G", labor("ana", "2", "care", "2026-11-03"))
    gap = create_entry(KEY, seq=4, prev=entries[-1].id, ts=NOV_1 + 9000, kind="labor",
                       body=labor("ana", "5", "care", "2026-11-04")[1])
    html = page([*entries, gap], state=fold(entries))
    assert ["care", "2", "0", "2"] in cells(html).rows


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-11", "2026-11-01", ""])
def test_check_month(bad: str) -> None:
    assert check_month("2026-11") == "2026-11"
    with pytest.raises(ValueError, match="YYYY-MM"):
        check_month(bad)


def test_no_federation_section_without_an_economy() -> None:
    html = page(log(KEY, "G"))
    assert "No transfers or balances" in html


# -- federation sections, against the economy interface (protocol/_economy.py) -----


@dataclass
class FakeFed:
    id: bytes
    name: str


@dataclass
class FakeTransfer:
    id: bytes
    federation: bytes
    payer: bytes
    receiver: bytes
    amount: Quantity | None
    unit: str | None
    items: tuple[Any, ...]
    purpose: str
    ts: int
    status: str


@dataclass
class FakeEconomy:
    feds: list[FakeFed]
    transfers: dict[bytes, FakeTransfer] = field(default_factory=dict)
    bal: dict[tuple[str, bytes], Quantity] = field(default_factory=dict)

    def federations_of(self, coop: bytes) -> list[FakeFed]:
        return self.feds

    def balances(self, federation: bytes) -> dict[tuple[str, bytes], Quantity]:
        return self.bal


class StateWithEconomy(LedgerState):
    def __init__(self, base: LedgerState, economy: FakeEconomy) -> None:
        super().__init__(as_of=base.as_of, authors=base.authors)
        self._economy = economy

    def economy(self) -> FakeEconomy:
        return self._economy


def test_transfers_of_the_month_and_balances_per_federation() -> None:
    entries = log(KEY, "Hillside Garden") + log(OTHER, "<b>Bakery</b>")
    me, them = KEY.public.raw, OTHER.public.raw
    fed = FakeFed(b"\x01" * 32, "Valley <Federation>")
    t_nov = FakeTransfer(b"\x02" * 32, fed.id, me, them, Quantity.parse("12.5"), "hour",
                         (), "bread <oven>", NOV_1 + 86_400_000, "accepted")
    t_oct = FakeTransfer(b"\x03" * 32, fed.id, them, me, Quantity.parse("3"), "hour",
                         (), "october", NOV_1 - 86_400_000, "accepted")
    economy = FakeEconomy([fed], {t.id: t for t in (t_nov, t_oct)},
                          {("hour", me): Quantity.parse("-9.5"),
                           ("hour", them): Quantity.parse("9.5")})
    html = page(entries[:1] + entries[1:], state=StateWithEconomy(fold(entries), economy))
    assert "Federation Valley &lt;Federation&gt;" in html
    rows = cells(html).rows
    assert ["date", "direction", "co-op", "amount", "purpose", "status"] in rows
    assert ["2026-11-02", "paid to", "<b>Bakery</b>", "12.5 hour", "bread <oven>",
            "accepted"] in rows
    assert not any("october" in r for r in rows)
    assert ["hour", "Hillside Garden", "-9.5"] in rows
    assert ["hour", "<b>Bakery</b>", "9.5"] in rows
    assert '<tr class="us"><td>hour</td><td>Hillside Garden</td>' in html


def test_an_economy_not_yet_implemented_does_not_break_the_posting() -> None:
    class Unfinished(LedgerState):
        def economy(self) -> Any:
            raise NotImplementedError

    entries = log(KEY, "G")
    st = fold(entries)
    html = page(entries, state=Unfinished(as_of=st.as_of, authors=st.authors))
    assert "does not compute federation balances" in html


def test_a_qr_reader_reads_the_head_hash_from_the_svg(tmp_path: Any) -> None:
    """Rasterise the modules drawn by the page's SVG (not segno's own PNG writer) and
    let zbar read them: what a phone sees is the hash."""
    import shutil
    import struct
    import subprocess
    import zlib

    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is missing: `make test` installs it (Debian package "
                    "zbar-tools) when run as root")
    head = log(KEY, "G", *BOOKS)[-1].id.hex()
    dark = _modules(qr_svg(head))
    size, scale = max(max(x, y) for x, y in dark) + 5, 6
    raw = b"".join(
        b"\x00" + bytes(0 if (x // scale, y // scale) in dark else 255
                        for x in range(size * scale))
        for y in range(size * scale))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data))

    png = tmp_path / "qr.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", size * scale, size * scale, 8, 0, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    r = subprocess.run([zbarimg, "-q", "--raw", str(png)], capture_output=True, text=True,
                       timeout=30)
    assert r.stdout.strip() == head
