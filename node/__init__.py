"""Everything in coopledger that does I/O: the SQLite store, the home directory,
bundle import/export, bulk verification, and the daemon (libp2p host, sync driver,
local API), which is imported only by `coop node start` (libp2p is slow to import)."""

from ._bundles import ImportReport as ImportReport
from ._bundles import export_bundle as export_bundle
from ._bundles import import_bundle as import_bundle
from ._check import CheckReport as CheckReport
from ._check import check_store as check_store
from ._clock import now_ms as now_ms
from ._config import NodeConfig as NodeConfig
from ._config import load_config as load_config
from ._config import parse_api_address as parse_api_address
from ._errors import AppendError as AppendError
from ._errors import HomeError as HomeError
from ._errors import KeyLocked as KeyLocked
from ._errors import NodeError as NodeError
from ._errors import StoreError as StoreError
from ._home import CONFIG_FILE as CONFIG_FILE
from ._home import Home as Home
from ._home import default_home as default_home
from ._ingest import Ingest as Ingest
from ._ingest import IngestCounts as IngestCounts
from ._ingest import Rejection as Rejection
from ._jsonview import jsonable as jsonable
from ._runfile import RunInfo as RunInfo
from ._runfile import ensure_token as ensure_token
from ._runfile import find_running as find_running
from ._runfile import read_token as read_token
from ._store import AddResult as AddResult
from ._store import Store as Store
from ._verify import Verifier as Verifier

# The one table of read views (node/_views.py, node/_views_table.py).
from ._views import LookupFailed as LookupFailed
from ._views import Param as Param
from ._views import ParamType as ParamType
from ._views import View as View
from ._views import ViewArgs as ViewArgs
from ._views_table import VIEWS as VIEWS
from ._views_table import answer as answer
