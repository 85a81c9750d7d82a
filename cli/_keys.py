"""The `coop` commands of self-government: keys (SPEC §13). STUB: its helper fills it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
