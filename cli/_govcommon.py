"""What the self-government commands share (SPEC §13): reading a view through the node
when one runs (else from the store), and writing an entry.

    view(home, name, params)   the view ``name`` of node/_govview.py as a dict; a bad
                               parameter exits with "--option: message"
    write(home, passphrase_file, kind, body, refs, json_, what)
                               append an entry (through the node when it runs)
    economy(home)              (home, store, economy) now, for the early checks
    lookup(fn, option)         fn(), or exit with "option: message" on LookupFailed
    coop_label(store, coop)    "Name (1a2b3c4d)", for messages
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from coopledger.node import _govview as govview
from coopledger.node._econview import LookupFailed

from ._client import ApiFailure, running_node
from ._common import fail, open_home
from ._federation import _economy as economy
from ._federation import _lookup as lookup
from ._federation import _name as coop_label
from ._federation import _write as write

__all__ = ["coop_label", "economy", "lookup", "option_name", "view", "write"]


def option_name(param: str) -> str:
    """The command-line option of a view parameter (``as_of`` -> ``--as-of``)."""
    return "--" + param.replace("_", "-")


def view(home: Path | None, name: str, params: dict[str, str | None]) -> dict[str, Any]:
    query = {k: v for k, v in params.items() if v is not None}
    v = govview.VIEWS[name]
    h = open_home(home)
    client = running_node(h.path)
    if client is not None:
        path = v.path
        for p in v.path_params:
            path = path.replace("{" + p + "}", urllib.parse.quote(query.pop(p, ""), safe=""))
        if query:
            path += "?" + urllib.parse.urlencode(query)
        try:
            data: dict[str, Any] = client.get(path)
        except ApiFailure as exc:
            if exc.field:
                msg = exc.message.removeprefix(f"{exc.field}: ")
                fail(f"{option_name(exc.field)}: {msg}")
            raise
        return data
    with h.open_store() as store:
        try:
            return govview.answer(store, name, query, me=h.author)
        except LookupFailed as exc:
            fail(f"{option_name(exc.field)}: {exc.message}")
