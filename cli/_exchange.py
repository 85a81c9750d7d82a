"""Spreadsheets and other tools (issue 4): CSV import and export, ValueFlows JSON-LD
export, and the printable monthly posting."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
