"""Audits and misconduct on the command line (SPEC §14.3–§14.5, docs/auditors.md):
`coop audit circle|report|show|list`, `coop complaint file`, `coop finding add`,
`coop sanction add`, `coop misconduct list`.

(Being built for issue 6.) ``audit_app`` is the shared ``coop audit`` group:
cli/_auditrun.py adds ``run`` to it.
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(
    help="Audit circles and their reports: draw a circle, write a report, show them.\n\n"
         "Example:  coop audit list", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(audit_app, name="audit")
