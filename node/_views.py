"""What every read view shares: its declaration, and the parameters people give it.

A view (the economy's, SPEC §12, docs/federations.md; self-government's, SPEC §13-§14,
docs/governance.md) is one ``View``: its name, the API ``path`` it is served at, its
``params`` (``Param``: name, type, help, required) and the function that computes it.
Each area declares its views in its own module as ``VIEWS: dict[name, View]``;
node/_views_table.py puts them in one table, which the local API (routes and the
OpenAPI document, node/_api.py), the offline CLI (cli/_views.py) and anything else
that shows a view read. docs/api.md lists them.

A view's function gets the store, a ``ViewArgs`` and ``me`` (the key this node writes
with; None offline without a home). ``ViewArgs`` is the query as text (path parameters
merged in), and ``args.value(name)`` that parameter parsed by its type, once, when the
view first asks for it (so a view meets a bad parameter where it reads it). Each type
parses one way everywhere, with one error message:

    AS_OF       ms since 1970 (default: the node's clock now)
    FLAG        true / false (default: false)
    MONTH       YYYY-MM       QUARTER   YYYY-Qn
    FEDERATION  a federation's exact name or an id prefix   -> its id
    COOP        a co-op's name or a key prefix (or a full key) -> that key
    SEARCH      search words (at most 200 characters)        -> case-folded words
    TEXT        the text as given
    ident(...)  an id prefix of one kind of thing (a mandate, a lottery, …) -> its id

Names given by people are resolved here too, so the API and the CLI refuse the same
names alike:

    LookupFailed(NodeError, ValueError)   .field (the parameter), .message,
                                          .status 404 unknown / 400 malformed or ambiguous
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._clock import now_ms
from ._errors import NodeError

if TYPE_CHECKING:
    from coopledger.protocol import Economy

    from ._store import Store

# An id prefix must be at least this long: 8 hex characters are 32 bits, enough that a
# federation's own entries practically never collide, short enough to type.
MIN_PREFIX = 8
PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"\d{4}-Q[1-4]", re.ASCII)
MAX_QUERY = 200  # characters of a search; more is a mistake, not a search


class LookupFailed(NodeError, ValueError):
    """A name, id prefix or parameter given by a person names nothing, more than one
    thing, or is malformed. ``status``: 404 names nothing here, 400 otherwise."""

    def __init__(self, field: str, message: str, *, status: int = 404) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


# -- resolving names ----------------------------------------------------------------------


def economy(store: Store) -> Economy:
    return store.state().economy()


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def resolve_id(candidates: Iterable[bytes], text: str, *, field: str, what: str) -> bytes:
    """The one candidate whose hex id starts with ``text`` (at least MIN_PREFIX hex
    characters). LookupFailed otherwise."""
    low = text.strip().lower()
    if not _is_hex(low) or len(low) < MIN_PREFIX:
        raise LookupFailed(field, f"give at least {MIN_PREFIX} hex characters of the "
                           f"{what}'s id", status=400)
    hits = [c for c in candidates if c.hex().startswith(low)]
    if len(hits) > 1:
        raise LookupFailed(field, f"id prefix {low[:64]} matches {len(hits)} {what}s; "
                           "give more characters", status=400)
    if not hits:
        raise LookupFailed(field, f"no {what} with an id starting {low[:64]} here")
    return hits[0]


def resolve_federation(eco: Economy, text: str, *, field: str = "federation") -> bytes:
    """A federation by its exact name or an id prefix."""
    named = [f.id for f in eco.federations.values() if f.name == text.strip()]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise LookupFailed(field, f"{len(named)} federations are named {text[:100]!r}; "
                           "give an id prefix instead", status=400)
    low = text.strip().lower()
    if _is_hex(low) and len(low) >= MIN_PREFIX:
        return resolve_id(eco.federations, low, field=field, what="federation")
    raise LookupFailed(field, f"no federation named {text[:100]!r} here (give its name "
                       f"or at least {MIN_PREFIX} hex characters of its id)")


def resolve_coop(store: Store, text: str, *, field: str) -> bytes:
    """A co-op by its name or a key prefix (at least MIN_PREFIX hex characters)."""
    authors = store.state().authors
    # A co-op's keys each have a genesis naming it (SPEC §13.2): one name, one co-op.
    identity_of = economy(store).gov.ids.identity_of
    named = sorted({identity_of(a) for a, st in authors.items() if st.name == text.strip()})
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise LookupFailed(field, f"{len(named)} co-ops are named {text[:100]!r}; give "
                           "a key prefix instead", status=400)
    low = text.strip().lower()
    if len(low) == 64 and _is_hex(low):
        return bytes.fromhex(low)  # a full key need not be held here yet
    if _is_hex(low) and len(low) >= MIN_PREFIX:
        return resolve_id(authors, low, field=field, what="co-op")
    raise LookupFailed(field, f"no co-op named {text[:100]!r} here (give its name or at "
                       f"least {MIN_PREFIX} hex characters of its key)")


def check_period(text: str, *, field: str = "period") -> str:
    """A month, YYYY-MM."""
    if not PERIOD.fullmatch(text) or text == "0000-00" or text.startswith("0000"):
        raise LookupFailed(field, "expected a month, YYYY-MM (2026-11)", status=400)
    return text


def check_quarter(text: str, *, field: str = "period") -> str:
    """A quarter, YYYY-Qn."""
    if not (_QUARTER.fullmatch(text) and text[:4] != "0000"):
        raise LookupFailed(field, "expected a quarter, YYYY-Qn (2026-Q4)", status=400)
    return text


def identity_of(store: Store, key: bytes | None) -> bytes | None:
    """The co-op (identity) that ``key`` writes for: its root key (SPEC §13.2)."""
    if key is None:
        return None
    return economy(store).gov.ids.identity_of(key)


# -- parameter types ----------------------------------------------------------------------

Parse = Callable[["Store", str, str], Any]   # (store, text, parameter name) -> value


@dataclass(frozen=True)
class ParamType:
    """How one kind of parameter is read: ``parse`` (LookupFailed naming the
    parameter when the text is wrong), the value when it is absent, whether an empty
    text counts as absent, and its JSON schema for the OpenAPI document."""

    parse: Parse
    schema: Mapping[str, Any]
    absent: Callable[[], Any] = lambda: None
    blank_is_absent: bool = False


def parse_as_of(text: str, field: str = "as_of") -> int:
    """Milliseconds since 1970."""
    if not text.isdigit() or len(text) > 16:
        raise LookupFailed(field, "milliseconds since 1970, an integer", status=400)
    return int(text)


def parse_flag(text: str, field: str) -> bool:
    """true or false."""
    if text not in ("true", "false"):
        raise LookupFailed(field, "true or false", status=400)
    return text == "true"


def parse_search(text: str, field: str = "q") -> list[str]:
    """Search words, case-folded."""
    if len(text) > MAX_QUERY:
        raise LookupFailed(field, f"at most {MAX_QUERY} characters", status=400)
    return text.casefold().split()


_STRING: Mapping[str, Any] = {"type": "string"}

AS_OF = ParamType(lambda store, text, field: parse_as_of(text, field),
                  {"type": "integer", "minimum": 0}, now_ms)
FLAG = ParamType(lambda store, text, field: parse_flag(text, field), {"type": "boolean"},
                 lambda: False)
MONTH = ParamType(lambda store, text, field: check_period(text, field=field),
                  {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})
QUARTER = ParamType(lambda store, text, field: check_quarter(text, field=field),
                    {"type": "string", "pattern": "^[0-9]{4}-Q[1-4]$"})
FEDERATION = ParamType(lambda store, text, field: resolve_federation(economy(store), text,
                                                                     field=field),
                       _STRING, blank_is_absent=True)
COOP = ParamType(lambda store, text, field: resolve_coop(store, text, field=field),
                 _STRING, blank_is_absent=True)
SEARCH = ParamType(lambda store, text, field: parse_search(text, field), _STRING, list)
TEXT = ParamType(lambda store, text, field: text, _STRING)


@dataclass(frozen=True)
class Ident(ParamType):
    """An id prefix of one of ``candidates(economy)`` (each a ``what``) -> its id."""

    what: str = ""
    candidates: Callable[[Economy], Iterable[bytes]] = lambda eco: ()

    def resolve(self, eco: Economy, text: str, field: str) -> bytes:
        return resolve_id(self.candidates(eco), text, field=field, what=self.what)


def ident(what: str, candidates: Callable[[Economy], Iterable[bytes]]) -> Ident:
    def parse(store: Store, text: str, field: str) -> bytes:
        return resolve_id(candidates(economy(store)), text, field=field, what=what)
    return Ident(parse, _STRING, what=what, candidates=candidates)


MANDATE = ident("mandate", lambda eco: eco.gov.mandates.by_id)
LOTTERY = ident("lottery", lambda eco: eco.gov.lotteries.by_id)
# A cascade is a lottery in groups mode (SPEC §13.7).
CASCADE = ident("cascade", lambda eco: [i for i, lot in eco.gov.lotteries.by_id.items()
                                        if lot.terms.mode == "groups"])
PROPOSAL = ident("proposal", lambda eco: eco.gov.proposals.proposals)
CIRCLE = ident("audit circle", lambda eco: eco.gov.audit.circles)
REPORT = ident("audit report", lambda eco: eco.gov.audit.reports)
ALERT = ident("alert", lambda eco: eco.gov.alerts.by_id)

# The type of a parameter whose name says what it is, when its Param names none
# (``period`` is a month in the economy's views and a quarter in the audit's: no
# default).
BY_NAME: Mapping[str, ParamType] = {
    "as_of": AS_OF, "open": FLAG, "active": FLAG, "federation": FEDERATION, "coop": COOP,
    "q": SEARCH, "mandate": MANDATE, "lottery": LOTTERY, "cascade": CASCADE,
    "proposal": PROPOSAL, "circle": CIRCLE, "report": REPORT, "alert": ALERT,
}


# -- views ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a view. A path parameter (``{name}`` in the view's path) is
    always required; ``blank_is_absent`` None takes the type's rule. A path parameter
    not in ``View.params`` is a ``Param(name)``."""

    name: str
    type: ParamType | None = None    # None: BY_NAME's type for this name, else TEXT
    help: str = ""
    required: bool = False
    blank_is_absent: bool | None = None

    @property
    def kind(self) -> ParamType:
        return self.type if self.type is not None else BY_NAME.get(self.name, TEXT)

    def reads_blank_as_absent(self) -> bool:
        return self.kind.blank_is_absent if self.blank_is_absent is None \
            else self.blank_is_absent


ViewFn = Callable[["Store", "ViewArgs", "bytes | None"], dict[str, Any]]


@dataclass(frozen=True)
class View:
    path: str                    # e.g. "/v1/balances", "/v1/lotteries/{lottery}"
    fn: ViewFn
    summary: str                 # one line, for the OpenAPI description
    params: tuple[Param, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return [p[1:-1] for p in self.path.split("/") if p.startswith("{")]

    @property
    def query_params(self) -> list[Param]:
        """The parameters given as ``?name=``, sorted by name."""
        inpath = set(self.path_params)
        return sorted((p for p in self.params if p.name not in inpath),
                      key=lambda p: p.name)

    @property
    def required(self) -> frozenset[str]:
        """Parameters that must be given (path parameters are)."""
        return frozenset({p.name for p in self.params if p.required}
                         | set(self.path_params))

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        if name in self.path_params:
            return Param(name)
        raise KeyError(name)

    def allowed(self) -> list[str]:
        return sorted({p.name for p in self.params} | set(self.path_params))

    def url(self, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """(the path with its path parameters filled in, quoted; the rest)."""
        rest = dict(params)
        path = self.path
        for p in self.path_params:
            path = path.replace("{" + p + "}", urllib.parse.quote(rest.pop(p, ""), safe=""))
        return path, rest


class ViewArgs(Mapping[str, str]):
    """A view's parameters: as text (a Mapping), and ``value(name)`` parsed by the
    parameter's type, once."""

    def __init__(self, store: Store, view: View, raw: Mapping[str, str]) -> None:
        self.store, self.view, self._raw = store, view, dict(raw)
        self._parsed: dict[str, Any] = {}

    def __getitem__(self, name: str) -> str:
        return self._raw[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def value(self, name: str) -> Any:
        if name not in self._parsed:
            p = self.view.param(name)
            text = self._raw.get(name)
            if text is None or (text == "" and p.reads_blank_as_absent()):
                self._parsed[name] = p.kind.absent()
            else:
                self._parsed[name] = p.kind.parse(self.store, text, name)
        return self._parsed[name]


def check(name: str, view: View, params: Mapping[str, str]) -> None:
    """Refuse unknown parameters and missing required ones (LookupFailed, 400)."""
    allowed = view.allowed()
    for given in sorted(params):
        if given not in allowed:
            raise LookupFailed(given, f"unknown parameter; {name} takes "
                               f"{', '.join(allowed) or 'none'}", status=400)
    for needed in sorted(view.required):
        if not params.get(needed):
            raise LookupFailed(needed, "required", status=400)


def run(name: str, view: View, store: Store, params: Mapping[str, str],
        me: bytes | None) -> dict[str, Any]:
    """Check the parameters, then compute the view."""
    check(name, view, params)
    return view.fn(store, ViewArgs(store, view, params), me)
