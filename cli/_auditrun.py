"""(Being built for issue 6: ``coop audit run``.)"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``coop audit run`` (to the audit group of cli/_audit.py; none yet)."""
