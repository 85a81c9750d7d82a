"""protocol/ and crypto/ are pure (docs/architecture.md, "Layers"): importing them pulls in no event
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
                 "json",  # json: proof documents (§14.2) are JSON files people pass around
                 "re", "struct", "typing", "unicodedata", "zlib", "msgpack", "coopledger",
                 "coopledger.crypto"},
    "crypto": {"__future__", "collections.abc", "dataclasses", "hashlib", "os", "struct",
               "cryptography", "nacl"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED_IMPORTS))
def test_sources_import_only_pure_modules(package: str) -> None:
    allowed = ALLOWED_IMPORTS[package]
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
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
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"open", "print", "input", "exec", "eval"}, path.name


def _public(module: types.ModuleType) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_")
                  and not isinstance(getattr(module, n), types.ModuleType))


PROTOCOL_SURFACE = [
    "ALERT_NEEDS", "ALERT_WINDOW_MS", "Ack", "Action", "Alert", "Alerts", "Assignment",
    "AuditContext", "AuditError", "AuditRun", "Audits", "AuthorState", "BUNDLE_MAGIC",
    "BadBody", "BadEncoding", "BadEnvelope", "BadSignature", "Beacon", "BrokenChain",
    "BundleDamage", "BundleEnd", "BundleError", "BundleParser", "BundleRecord",
    "CHECKPOINT_KIND", "CHECK_NAMES", "COMMONS_KINDS", "COSIGN_KIND", "Candidate",
    "ChainScan", "Check", "Checked", "Checkpoint", "CheckpointInfo", "Circle", "Cosign",
    "Count", "DEFAULT_POLICY", "DamagedBundle", "DecimalFormatError", "Decision",
    "Delivery", "Disconnect", "Done", "Draw", "ECONOMY_KINDS", "ENERGY_FLOWS",
    "ENERGY_SOURCES", "ENTRY_VERSION", "Economy", "Entry", "EntrySource", "EntryTooLarge",
    "Federation", "FloatNotAllowed", "Folder", "ForkProof", "GENESIS_KIND", "GOODS_FLOWS",
    "GOVERNANCE_KINDS", "GRANT_OUTCOMES", "Head", "Identities", "Invalid", "KEY_KINDS",
    "KEY_POWERS", "KNOWN_KINDS", "KeyRecord", "LABOR_CATEGORIES", "LOTTERY_CONTEXT",
    "LedgerError", "LedgerState", "LocalHeads", "LocalProtocolError", "Lottery",
    "MANDATE_ACTIONS", "MANDATE_REASON_CODES", "MATERIAL_DIRECTIONS", "MAX_BATCH",
    "MAX_BATCH_BYTES", "MAX_BEACONS", "MAX_CHECKPOINT_AGE_DAYS", "MAX_CHECKS", "MAX_DETAIL",
    "MAX_ENTRY_SIZE", "MAX_FINDINGS", "MAX_MESSAGE_SIZE", "MAX_POOL", "MAX_PROOF_BYTES",
    "MAX_REFS", "MAX_SANCTION_DAYS", "MAX_SEATS", "MAX_WANT", "METHODS", "METRIC_KINDS",
    "Mandate", "MemorySource", "Metrics", "NEED_CATEGORIES", "NEED_WHERE", "NeedsRebuild",
    "NonCanonicalEncoding", "OUTCOMES", "PROOF_FORMAT", "PeerMemory", "Pledge",
    "ProofError", "Proposal", "ProtocolError", "Quantity", "RECORD_ENTRY", "REVOKE_REASONS",
    "ROOT", "ReadEntries", "RemoteProtocolError", "Report", "SCHEMAS", "SIGNATURE_CONTEXT",
    "STANCES", "SURPLUS_WHAT", "SYNC_PROTOCOL_ID", "Sanction", "SendMessage",
    "StoreEntries", "SyncSession", "SyncState", "SyncStatistics", "TOTAL_KEYS",
    "TrailingBytes", "Transfer", "UNIT_KINDS", "UNIT_NAME_PATTERN", "VERDICTS",
    "ValidationError", "Value", "WINDOW", "WrongType", "acks_due", "attributed",
    "audit_checks", "audit_context", "bundle_header", "bundle_record", "bundle_trailer",
    "carried_entries", "check_proof", "checkpoint_body", "checkpoint_holds",
    "checkpoint_of", "compute_economy", "compute_metrics", "counted_positions",
    "create_entry", "decode", "decode_entry", "default_as_of", "default_rules_value",
    "drawn_coops", "dump_proof", "encode", "entry_author", "entry_id", "fold",
    "fold_source", "is_known_kind", "key_proof_message", "make_consistency", "make_fork",
    "make_inclusion", "metrics_of", "open_entry", "quarter_bounds", "quarter_months",
    "quarter_of", "recent_quarters", "signature_ok", "tally", "utc_date", "validate_body",
    "validate_chain", "verify_draw", "verify_signature",
]

CRYPTO_SURFACE = [
    "BadKey", "BadSignature", "CryptoError", "EMPTY_ROOT", "Frontier", "HASH_SIZE",
    "KeyFileError", "MerkleError", "PUBLIC_KEY_SIZE", "PublicKey", "SIGNATURE_SIZE",
    "SecretKey", "Tree", "WrongPassphrase", "consistency_proof", "inclusion_proof",
    "is_sealed", "leaf_hash", "node_hash", "open_secret", "plain_secret", "root",
    "seal_secret", "sha256", "verify", "verify_consistency", "verify_inclusion",
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
                assert owner is not None and owner.startswith(module.__name__ + "."), name
                inside = owner[len(module.__name__) + 1:].split(".")
                assert any(part.startswith("_") for part in inside), name
