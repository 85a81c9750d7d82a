"""What the self-government commands share (SPEC §13): reading a view through the node
when one runs (else from the store), and writing an entry.

    view(home, name, params)   the view ``name`` of the one view table as a dict
                               (cli/_views.fetch); a bad parameter exits with
                               "--option: message"
    write(home, passphrase_file, kind, body, refs, json_, what)
                               append an entry (through the node when it runs)
    economy(home)              (home, store, economy) now, for the early checks
    lookup(fn, option)         fn(), or exit with "option: message" on LookupFailed
    coop_label(store, coop)    "Name (1a2b3c4d)", for messages
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._federation import _economy as economy
from ._federation import _lookup as lookup
from ._federation import _name as coop_label
from ._federation import _write as write
from ._views import fetch, option_name

__all__ = ["coop_label", "economy", "lookup", "option_name", "view", "write"]


def view(home: Path | None, name: str, params: dict[str, str | None]) -> dict[str, Any]:
    """The view ``name`` of the one view table (cli/_views.fetch)."""
    return fetch(home, name, params)
