"""protocol/ and crypto/ are pure (STYLE.md A.1, A.2): importing them pulls in no event
loop, database, network stack or node code, their sources import nothing that does I/O,
and their public surface changes only on purpose."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import coopledger.crypto as crypto
import coopledger.protocol as protocol

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN_MODULES = ["trio", "sqlite3", "_sqlite3", "libp2p", "coopledger.node",
                     "coopledger.cli", "typer", "rich", "asyncio"]


def test_importing_protocol_and_crypto_loads_no_io_stack() -> None:
    code = (
        "import json, sys\n"
        "import coopledger.protocol, coopledger.crypto\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, cwd=ROOT / "tests")
    loaded = set(json.loads(out.stdout))
    assert "coopledger.protocol" in loaded and "coopledger.crypto" in loaded
    bad = sorted(m for m in loaded
                 if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_MODULES))
    assert bad == []


# What the sources may import. Anything else needs a reason and an entry here; the I/O
# modules (socket, sqlite3, time, logging, subprocess, threading…) never get one.
ALLOWED_IMPORTS = {
    "protocol": {"__future__", "collections.abc", "dataclasses", "datetime", "enum",
                 "fractions", "functools", "heapq",  # fractions: exact shares in the metrics
                 "itertools",
                 "re", "struct", "typing", "unicodedata", "zlib", "msgpack", "coopledger",
                 "coopledger.crypto"},
    "crypto": {"__future__", "dataclasses", "hashlib", "os", "struct", "cryptography",
               "nacl"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED_IMPORTS))
def test_sources_import_only_pure_modules(package: str) -> None:
    allowed = ALLOWED_IMPORTS[package]
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if not any(name == a or name.startswith(a + ".") for a in allowed):
                    found.setdefault(path.name, set()).add(name)
    assert found == {}


@pytest.mark.parametrize("package", sorted(ALLOWED_IMPORTS))
def test_sources_do_not_call_open_or_print(package: str) -> None:
    for path in sorted((ROOT / package).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"open", "print", "input", "exec", "eval"}, path.name


def _public(module: types.ModuleType) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_")
                  and not isinstance(getattr(module, n), types.ModuleType))


PROTOCOL_SURFACE = [
    "AuthorState", "BUNDLE_MAGIC", "BadBody", "BadEncoding", "BadEnvelope", "BadSignature",
    "BrokenChain", "BundleDamage", "BundleEnd", "BundleError", "BundleParser", "BundleRecord",
    "DamagedBundle", "DecimalFormatError", "ENERGY_FLOWS", "ENERGY_SOURCES", "ENTRY_VERSION",
    "Entry", "EntrySource", "EntryTooLarge", "FloatNotAllowed", "Folder", "ForkProof",
    "GENESIS_KIND", "GOODS_FLOWS", "KNOWN_KINDS", "LABOR_CATEGORIES", "LedgerError",
    "LedgerState", "MATERIAL_DIRECTIONS", "MAX_ENTRY_SIZE", "MemorySource", "NeedsRebuild",
    "NonCanonicalEncoding", "Quantity", "RECORD_ENTRY", "SIGNATURE_CONTEXT", "TrailingBytes",
    "ValidationError", "Value", "WrongType", "bundle_header", "bundle_record",
    "bundle_trailer", "create_entry", "decode", "decode_entry", "encode", "entry_id", "fold",
    "fold_source", "is_known_kind", "open_entry", "signature_ok", "validate_chain",
    "verify_signature",
    # federations and the economy (SPEC §12), protocol/_kinds.py and _economy.py
    "ECONOMY_KINDS", "Economy", "GRANT_OUTCOMES", "NEED_CATEGORIES", "NEED_WHERE",
    "SURPLUS_WHAT", "UNIT_KINDS", "compute_economy", "default_rules_value", "validate_body",
    # self-government (SPEC §13), protocol/_kinds.py and _governance.py
    "COMMONS_KINDS", "GOVERNANCE_KINDS", "KEY_KINDS",
    # sync (pull), protocol/_sync.py and _sync_messages.py
    "Action", "Disconnect", "Done", "Head", "LocalHeads", "LocalProtocolError", "MAX_BATCH",
    "MAX_BATCH_BYTES", "MAX_MESSAGE_SIZE", "PeerMemory", "ProtocolError", "ReadEntries",
    "RemoteProtocolError", "SYNC_PROTOCOL_ID", "SendMessage", "StoreEntries", "SyncSession",
    "SyncState", "SyncStatistics", "WINDOW",
]

CRYPTO_SURFACE = [
    "HASH_SIZE", "PUBLIC_KEY_SIZE", "SIGNATURE_SIZE", "BadKey", "BadSignature",
    "CryptoError", "KeyFileError", "PublicKey", "SecretKey", "WrongPassphrase", "is_sealed",
    "open_secret", "plain_secret", "seal_secret", "sha256", "verify",
]


def test_protocol_exported_members() -> None:
    # Adding or removing a name here is an API change for node/ and cli/: do it on purpose.
    assert _public(protocol) == sorted(PROTOCOL_SURFACE)


def test_crypto_exported_members() -> None:
    assert _public(crypto) == sorted(CRYPTO_SURFACE)
    assert sorted(crypto.__all__) == sorted(CRYPTO_SURFACE)


def test_exported_members_come_from_the_package() -> None:
    # Everything public is defined in the package's private modules (or is a constant),
    # not re-exported from a dependency.
    for module in (protocol, crypto):
        for name in _public(module):
            obj = getattr(module, name)
            owner = getattr(obj, "__module__", None)
            if isinstance(obj, type) or callable(obj):
                assert owner is not None and owner.startswith(module.__name__ + "._"), name
