"""Federations and the co-op economy on the command line (issue 4): `coop federation`,
`coop transfer`, `coop balance`, `coop surplus`, `coop sprint`, `coop fund`,
`coop need`, `coop metrics`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `coop` app."""
