"""Option aliases and small helpers the `coop` commands share (one copy of each).

    NoteOpt, CsvOpt, MandateOpt     the Annotated options of many commands
    trimmed(value, option, limit)   a stripped, non-empty value (at most ``limit``)
    qty, choice, parse_day, parse_month
                                    option values checked as the fold checks them
    read_text(path, option)         a UTF-8 file given by an option, or one line why not
    as_of_ms(text)                  ``--as-of`` as the ms text a view takes
    opened(home)                    (home, store, economy now, the co-op it writes for)
    lookup(fn, option)              fn(), a LookupFailed told as "OPTION: message"
    member_federation(eco, text, me)  a federation this home's co-op is a member of
    body_of(eco, federation, me)    the co-op's assembly, or a federation it is in
    coop_label(store, coop)         "Name (1a2b3c4d)", for messages
    who(row, prefix)                a view row's co-op or key as "Name (1a2b3c4d)"
    name_or_key(row, prefix)        the same as "Name" (or the key's 8 hex characters)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from coopledger.node import Home, LookupFailed, Store, check_period, identity_of, resolve_federation
from coopledger.protocol import DecimalFormatError, Quantity

from ._common import fail, open_home, parse_time

if TYPE_CHECKING:
    from coopledger.protocol import Economy, Federation

T = TypeVar("T")
DAY_MS = 86_400_000

NoteOpt = Annotated[str | None, typer.Option("--note", help="Free text, kept with the entry.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (for spreadsheets).")]
MandateOpt = Annotated[str | None, typer.Option(
    "--mandate", help="Writing with a delegate's key: the mandate (id prefix) that allows "
    "this entry; it is added to the entry's refs.")]


# -- option values ------------------------------------------------------------------------


def trimmed(value: str, option: str, limit: int | None = None, *, plain: bool = False
            ) -> str:
    """``value`` without surrounding white space, refused when empty or too long.

    Without ``limit``, an empty value is a usage mistake ("must not be empty", exit 2).
    With ``limit``, a refusal is one line (exit 1): "give 1 to LIMIT characters", or
    with ``plain`` "must not be empty" and "at most LIMIT characters" apart."""
    value = value.strip()
    if limit is None:
        if not value:
            raise typer.BadParameter("must not be empty", param_hint=option)
    elif plain:
        if not value:
            fail(f"{option}: must not be empty")
        if len(value) > limit:
            fail(f"{option}: at most {limit} characters")
    elif not value or len(value) > limit:
        fail(f"{option}: give 1 to {limit} characters")
    return value


def qty(value: str, option: str, *, zero_ok: bool = False) -> Quantity:
    """An exact decimal above 0 (``zero_ok``: 0 or more)."""
    try:
        q = Quantity.parse_loose(value)
    except DecimalFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    if q.units < 0 or (q.units == 0 and not zero_ok):
        raise typer.BadParameter("must be more than 0" if not zero_ok else
                                 "must not be negative", param_hint=option)
    return q


def choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"must be one of {', '.join(choices)}", param_hint=option)
    return value


def parse_day(value: str, option: str) -> str:
    """A date YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise typer.BadParameter("expected a date YYYY-MM-DD", param_hint=option) from None


def parse_month(value: str, option: str) -> str:
    """A month YYYY-MM."""
    try:
        return check_period(value.strip())
    except LookupFailed as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


def read_text(path: Path, option: str, *, encoding: str = "utf-8") -> str:
    """The text of the file ``path`` given by ``option``, or exit 1 saying why not."""
    try:
        return path.read_text(encoding=encoding)
    except OSError as exc:
        fail(f"{option}: cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{option}: {path} is not UTF-8 text")


def as_of_ms(value: str | None) -> str | None:
    """``--as-of`` (a date means its end) as the milliseconds text a view takes."""
    return None if value is None else str(parse_time(value, option="--as-of",
                                                     end_of_day=True))


# -- the store, the economy and who is who ------------------------------------------------


@contextmanager
def opened(home: Path | None, *, as_held: bool = False
           ) -> Iterator[tuple[Home, Store, Economy, bytes]]:
    """The home, its store, the economy now, and the co-op this home writes for: as
    coop.toml names it, or (``as_held``) as the store's key table has this home's key."""
    h = open_home(home)
    with h.open_store() as store:
        me = h.identity
        if as_held:
            held = identity_of(store, h.author)
            assert held is not None
            me = held
        yield h, store, store.state().economy(), me


def member_federation(eco: Economy, text: str, me: bytes) -> Federation:
    """The federation ``--federation`` names, if the co-op ``me`` is a member of it now."""
    f = eco.federations[resolve_federation(eco, text, field="--federation")]
    if not f.is_member(me):
        fail(f"your co-op is not a member of federation {f.name!r}")
    return f


def body_of(eco: Economy, federation: str | None, me: bytes
            ) -> tuple[bytes, dict[str, Any], list[bytes]]:
    """(the body: the co-op ``me``'s assembly, or the federation ``--federation`` names,
    the entry's ``federation`` field if any, refs)."""
    if federation is None:
        return me, {}, []
    f = member_federation(eco, federation, me)
    return f.id, {"federation": f.id.hex()}, [f.id]


def lookup(fn: Callable[[], T], option: str) -> T:
    """``fn()``, a resolver that cannot be told its option, with a LookupFailed told as
    "OPTION: message". The others are given the option as their ``field``, and main()
    tells a LookupFailed as "FIELD: message" (cli/_app.py)."""
    try:
        return fn()
    except LookupFailed as exc:
        fail(f"{option}: {exc.message}")


def coop_label(store: Store, coop: bytes) -> str:
    """A co-op for messages: "Name (1a2b3c4d)", or its key's 16 hex characters."""
    st = store.state().authors.get(coop)
    return f"{st.name} ({coop[:4].hex()})" if st and st.name else coop[:8].hex()


def who(row: dict[str, Any], prefix: str) -> str:
    """The co-op or key ``row[prefix]`` of a view as "Name (1a2b3c4d)", or its 8 hex
    characters while its name is unknown here."""
    name = row.get(f"{prefix}_name")
    key = row.get(prefix) or ""
    return f"{name} ({key[:8]})" if name else key[:8]


def name_or_key(row: dict[str, Any], prefix: str) -> str:
    """The co-op or key ``row[prefix]`` of a view as its name, else its 8 hex characters
    ("-" for none)."""
    key = row.get(prefix)
    if key is None:
        return "-"
    name = row.get(f"{prefix}_name")
    return str(name) if name else str(key)[:8]
