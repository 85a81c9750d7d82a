"""The `coop` command: one Typer app, noun groups, verb subcommands.

This is the composition root: it imports every command module and registers its
commands and groups on ``app`` (in the order `coop --help` lists them), and ``main()``
turns errors into one line and an exit code. No other module imports it.

Writing commands (``coop log …``, ``coop bundle import``, ``coop rebuild``) go through
the local API when a node runs for the home (node.json names it and it answers), so new
entries are gossiped at once; otherwise they open the store directly, and print the
same either way (cli/_writer.py). SQLite serialises writers, so a command writing
directly while a daemon also writes never corrupts the store. Reading commands always
open the store.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from coopledger import __version__
from coopledger.crypto import CryptoError
from coopledger.node import LookupFailed, NodeError
from coopledger.protocol import LedgerError

from ._alerts import register as register_alerts
from ._audit import register as register_audit
from ._auditrun import register as register_audit_run
from ._balances import register as register_balances
from ._blocks import register as register_blocks
from ._bundle import bundle_app
from ._common import CoopError, err, out
from ._exchange import register as register_exchange
from ._federation import register as register_federation
from ._fund import register as register_fund
from ._keys import register as register_keys
from ._ledger import register as register_ledger
from ._log import log_app
from ._lottery import register as register_lottery
from ._mandates import register as register_mandates
from ._misconduct import register as register_misconduct
from ._need import register as register_need
from ._node import node_app, peers
from ._policy import register as register_policy
from ._proofs import register as register_proofs
from ._proposals import register as register_proposals
from ._surplus import register as register_surplus
from ._transfer import register as register_transfer

app = typer.Typer(
    name="coop",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(log_app, name="log")
app.add_typer(bundle_app, name="bundle")
app.add_typer(node_app, name="node")


def _version(value: bool) -> None:
    if value:
        out.print(f"coop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """coopledger: a signed, verifiable ledger for co-operatives.

    Example:  coop init --name "Hillside Garden" && coop log labor --member ana --hours 2
    --task weeding
    """


register_ledger(app)
app.command("peers")(peers)  # defined with `coop node` (cli/_node.py), listed here
register_federation(app)
register_transfer(app)
register_surplus(app)
register_fund(app)
register_need(app, log_app)
register_balances(app)
register_exchange(app)
register_keys(app)
register_mandates(app)
register_policy(app)
register_lottery(app)
register_proposals(app)
register_audit(app)
register_misconduct(app)
register_audit_run(app)  # after register_audit: adds `run` to its group
register_alerts(app)
register_blocks(app)
register_proofs(app)


# -- entry point --------------------------------------------------------------------


def main() -> None:
    """Console-script entry: user errors are one line on stderr, bugs a traceback.

    The one place errors become exit codes: CoopError (its code), a LookupFailed
    ("OPTION: message"), NodeError, LedgerError, CryptoError and OSError (exit 1), a
    usage mistake (exit 2). Commands raise them, and catch one only to add what this
    cannot know (which file, which kind, how far an import went)."""
    # Warnings from node/ (a fork found during an import, say) reach the user on
    # stderr as "warning: …"; set COOP_LOG=DEBUG or INFO for more.
    level = os.environ.get("COOP_LOG", "WARNING").upper()
    if level not in logging.getLevelNamesMapping():
        err.print(f"error: COOP_LOG={level[:20]!r} is not a log level "
                  "(DEBUG, INFO, WARNING or ERROR)")
        sys.exit(2)
    logging.basicConfig(
        level=level,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")
    try:
        code = app(standalone_mode=False)
    except CoopError as exc:
        if str(exc):
            err.print(f"error: {exc}")
        sys.exit(exc.code)
    except LookupFailed as exc:
        # A name or id prefix given on the command line names nothing (or several
        # things): the commands give the resolvers the option or argument as ``field``.
        err.print(f"error: {exc.field}: {exc.message}")
        sys.exit(1)
    except (NodeError, LedgerError, CryptoError) as exc:
        err.print(f"error: {exc}")
        sys.exit(1)
    except OSError as exc:  # the machine's fault, not ours: disk full, permissions …
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"error: {exc.strerror or exc}{where}")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except _click_exceptions() as exc:
        # A usage mistake (bad value, missing option): one line, like every other error.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err.print(f"error: {exc.format_message()}{hint}",  # type: ignore[attr-defined]
                  markup=False)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    # Without standalone mode Typer *returns* the code of an Exit it raised itself:
    # 130 after Ctrl-C (KeyboardInterrupt), 0 after --help or --version.
    if isinstance(code, int) and code:
        sys.exit(code)


def _click_exceptions() -> type[Exception]:
    # Typer 0.2x vendors click as ``typer._click``; older Typer uses the click package.
    # Either way, click's ClickException is a base of typer.BadParameter.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
