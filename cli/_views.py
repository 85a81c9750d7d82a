"""Any view of the one view table (node/_views_table.py) on the command line.

    fetch(home, name, params, options=)   the view ``name`` as a dict: asked of the
                                          running node (GET its path), else computed
                                          here from the store; a bad parameter exits
                                          with "--option: message" (the same message
                                          either way)
    option_name(param)                    ``as_of`` -> ``--as-of``
    view_command(app, command, name, …)   a list or show command of one view: an option
                                          (or argument) per parameter, ``--json``,
                                          ``--csv`` (list) and a Rich table

A command that shows a view in its own way calls ``fetch`` and renders the dict; one
that shows rows of it is a ``view_command`` with its ``Column``s. Either way ``--json``
prints exactly the document GET /v1/… answers (docs/api.md).
"""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from coopledger.node import AS_OF, FLAG, VIEWS, LookupFailed, View, answer

from ._client import ApiFailure, running_node
from ._common import HomeOpt, JsonOpt, fail, open_home, out, parse_time, print_csv
from ._render import print_json

__all__ = ["Column", "fetch", "option_name", "view_command"]


def option_name(param: str) -> str:
    """The command-line option of a view parameter (``as_of`` -> ``--as-of``)."""
    return "--" + param.replace("_", "-")


def fetch(home: Path | None, name: str, params: Mapping[str, str | None], *,
          options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The view ``name`` for ``params`` (text; None: not given). Through the node when
    one runs (so it is the node's answer), else from the store with this home's key as
    ``me``. A parameter the view refuses exits with "OPTION: message", OPTION being
    ``options[param]`` (e.g. ``{"mandate": "MANDATE"}`` for an argument) or
    ``option_name(param)``."""
    query = {k: v for k, v in params.items() if v is not None}
    spelled = options or {}

    def refuse(field: str, message: str) -> NoReturn:
        fail(f"{spelled.get(field) or option_name(field)}: {message}")

    v = VIEWS[name]
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        path, rest = v.url(query)
        if rest:
            path += "?" + urllib.parse.urlencode(rest)
        try:
            data: dict[str, Any] = client.get(path)
        except ApiFailure as exc:
            if exc.field:
                refuse(exc.field, exc.message.removeprefix(f"{exc.field}: "))
            raise
        return data
    with h.open_store() as store:
        try:
            return answer(store, name, query, me=h.author)
        except LookupFailed as exc:
            refuse(exc.field, exc.message)


# -- a list/show command of one view --------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a view's table: its header, and the row's field (a name) or a
    function of the row; ``right``: right-aligned (numbers)."""

    header: str
    get: str | Callable[[Mapping[str, Any]], object]
    right: bool = False

    def value(self, row: Mapping[str, Any]) -> object:
        return row.get(self.get) if isinstance(self.get, str) else self.get(row)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def print_table(title: str, rows: Sequence[Mapping[str, Any]],
                columns: Sequence[Column]) -> None:
    """``rows`` as a Rich table (or "TITLE: none")."""
    if not rows:
        out.print(f"{title}: none")
        return
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c.header, justify="right" if c.right else "left")
    for row in rows:
        t.add_row(*(_cell(c.value(row)) for c in columns))
    out.print(t)


def _fields(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A document's own fields as rows (field, value) for a show command: scalars as
    they are, lists and objects as how many they hold."""
    rows: list[Mapping[str, Any]] = []
    for k, v in doc.items():
        if isinstance(v, list | dict):
            v = f"({len(v)})"
        rows.append({"field": k, "value": v})
    return rows


_FIELD_COLUMNS = (Column("field", "field"), Column("value", "value"))

CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (for "
                                      "spreadsheets).")]


def _parameter(v: View, name: str, spelled: str | None) -> inspect.Parameter:
    p = v.param(name)
    help_ = p.help or None
    if name in v.path_params:
        ann: Any = Annotated[str, typer.Argument(metavar=spelled or name.upper(), help=help_,
                                                 show_default=False)]
        return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                 annotation=ann)
    option = spelled or option_name(name)
    if p.kind is FLAG:
        ann = Annotated[bool, typer.Option(option, help=help_)]
        default: Any = False
    else:
        ann = Annotated[str | None, typer.Option(option, help=help_, show_default=False)]
        default = None
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                             default=default)


def view_command(app: typer.Typer, command: str, name: str, *, help: str,
                 rows: str | None = None, columns: Sequence[Column] = (),
                 title: str | None = None, options: Mapping[str, str] | None = None,
                 csv_columns: Sequence[str] | None = None,
                 render: Callable[[dict[str, Any]], None] | None = None,
                 ) -> Callable[..., None]:
    """Register ``command`` on ``app``: view ``name`` with an option per parameter
    (a path parameter is an argument; a true/false one a flag; ``as_of`` takes what
    ``--as-of`` takes everywhere, a date or ms), ``--json``, ``--home`` and:

    * ``rows`` given (a list command): ``--csv`` (``csv_columns``, default the named
      ``columns``' fields) and a table of ``doc[rows]`` with ``columns``;
    * else (a show command): ``render(doc)``, or a table of the document's fields.

    ``options`` spells a parameter's option or argument (default ``--as-of`` style)."""
    v = VIEWS[name]
    spelled = dict(options or {})
    csv_cols = list(csv_columns) if csv_columns is not None else [
        c.get for c in columns if isinstance(c.get, str)]

    def run(**kwargs: Any) -> None:
        json_, csv_, home = kwargs.pop("json_"), kwargs.pop("csv_", False), kwargs.pop("home")
        params: dict[str, str | None] = {}
        for k, value in kwargs.items():
            if v.param(k).kind is FLAG:
                params[k] = "true" if value else None
            elif v.param(k).kind is AS_OF and value is not None:
                params[k] = str(parse_time(value, option=spelled.get(k) or option_name(k),
                                           end_of_day=True))
            else:
                params[k] = value
        doc = fetch(home, name, params, options=spelled)
        if json_:
            print_json(doc)
        elif rows is None:
            if render is not None:
                render(doc)
            else:
                print_table(title or name, _fields(doc), _FIELD_COLUMNS)
        elif csv_:
            print_csv(doc[rows], csv_cols)
        else:
            print_table(title or name, doc[rows], columns)

    sig = [_parameter(v, n, spelled.get(n)) for n in v.path_params]
    sig += [_parameter(v, p.name, spelled.get(p.name)) for p in v.query_params]
    kw = inspect.Parameter.KEYWORD_ONLY
    sig.append(inspect.Parameter("json_", kw, annotation=JsonOpt, default=False))
    if rows is not None:
        sig.append(inspect.Parameter("csv_", kw, annotation=CsvOpt, default=False))
    sig.append(inspect.Parameter("home", kw, annotation=HomeOpt, default=None))
    run.__signature__ = inspect.Signature(sig)  # type: ignore[attr-defined]
    run.__doc__ = help
    run.__name__ = f"{name}_{command}".replace("-", "_")
    app.command(command)(run)
    return run
