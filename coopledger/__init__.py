"""coopledger: a peer-to-peer federated ledger for cooperatives.

The code lives in four packages, imported in one direction only:
``coopledger.cli`` → ``coopledger.node`` → ``coopledger.protocol`` → ``coopledger.crypto``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coopledger")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"
