"""Everything in coopledger that does I/O: the SQLite store, the home directory,
bundle import/export, bulk verification, and the daemon (libp2p host, sync driver,
local API), which is imported only by `coop node start` (libp2p is slow to import).

``run_node``, ``peer_id_of`` and ``write_alert_bundle`` are loaded on first use
(``__getattr__`` below): the first two would import the daemon and libp2p (~1 s) into
every command, the third trio.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._auditrun import AuditError as AuditError
from ._auditrun import AuditRun as AuditRun
from ._auditrun import run_audit as run_audit
from ._blocks import BLOCKS_FILE as BLOCKS_FILE
from ._blocks import BadBlock as BadBlock
from ._blocks import Block as Block
from ._blocks import BlockList as BlockList
from ._blocks import effective_keys as effective_keys
from ._blocks import parse_peer_id as parse_peer_id
from ._blocks import parse_reason as parse_reason
from ._blocks import peer_id_of_key as peer_id_of_key
from ._blocks import refuse_blocked as refuse_blocked
from ._bundles import ImportReport as ImportReport
from ._bundles import export_bundle as export_bundle
from ._bundles import import_bundle as import_bundle
from ._check import CheckReport as CheckReport
from ._check import check_store as check_store
from ._checkpoints import entry_by_id as entry_by_id
from ._clock import now_ms as now_ms
from ._config import NodeConfig as NodeConfig
from ._config import load_config as load_config
from ._config import parse_api_address as parse_api_address
from ._econview import check_period as check_period
from ._econview import resolve_coop as resolve_coop
from ._econview import resolve_federation as resolve_federation
from ._econview import resolve_id as resolve_id
from ._errors import AppendError as AppendError
from ._errors import HomeError as HomeError
from ._errors import KeyLocked as KeyLocked
from ._errors import NodeError as NodeError
from ._errors import StoreError as StoreError
from ._govview import identity_of as identity_of
from ._govview_audit import resolve_circle as resolve_circle
from ._govview_proposals import resolve_cascade as resolve_cascade
from ._govview_proposals import resolve_proposal as resolve_proposal
from ._home import CONFIG_FILE as CONFIG_FILE
from ._home import Home as Home
from ._home import default_home as default_home
from ._home import read_secret_file as read_secret_file
from ._home import write_secret_file as write_secret_file
from ._ingest import Ingest as Ingest
from ._ingest import IngestCounts as IngestCounts
from ._ingest import Rejection as Rejection
from ._jsonview import jsonable as jsonable
from ._posting import build_posting as build_posting
from ._runfile import RunInfo as RunInfo
from ._runfile import ensure_token as ensure_token
from ._runfile import find_running as find_running
from ._runfile import read_token as read_token
from ._store import AddResult as AddResult
from ._store import Store as Store
from ._tabular import CSV_KINDS as CSV_KINDS
from ._tabular import MAX_CSV_BYTES as MAX_CSV_BYTES
from ._tabular import CsvRejected as CsvRejected
from ._tabular import CsvRow as CsvRow
from ._tabular import csv_rows as csv_rows
from ._tabular import parse_csv as parse_csv
from ._verify import Verifier as Verifier

# The one table of read views (node/_views.py, node/_views_table.py).
from ._views import AS_OF as AS_OF
from ._views import FLAG as FLAG
from ._views import LookupFailed as LookupFailed
from ._views import Param as Param
from ._views import ParamType as ParamType
from ._views import View as View
from ._views import ViewArgs as ViewArgs
from ._views_table import VIEWS as VIEWS
from ._views_table import answer as answer

# Under names that say what they are outside their module.
from . import _auditrun, _blocks, _econview, _posting, _tabular, _valueflows  # isort: skip

audit_default_as_of = _auditrun.default_as_of
BlockKind = _blocks.Kind
applied_entries = _econview.applied
check_posting_month = _posting.check_month
posting_html = _posting.render_html
csv_columns = _tabular.columns
valueflows_document = _valueflows.document
valueflows_dumps = _valueflows.dumps

if TYPE_CHECKING:
    from ._alerts import write_alert_bundle as write_alert_bundle
    from ._daemon import run_node as run_node
    from ._p2p import peer_id_of as peer_id_of

_LAZY = {"run_node": "_daemon", "peer_id_of": "_p2p", "write_alert_bundle": "_alerts"}


def __getattr__(name: str) -> Any:
    """The exports loaded on first use (see the module docstring)."""
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
