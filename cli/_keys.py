"""A co-op's keys on the command line (SPEC §13.2, docs/keys.md): `coop key list`,
`coop key request`, `coop key add`, `coop key spare`, `coop key revoke`,
`coop key rotate`.

`list` prints node/_govview_keys.py's document (through the running node, else from
the store). Writing commands check first what the key table would refuse (a key of
another co-op, a proof for another co-op, a node key adding a recovery key, a key
already revoked) and refuse early with one line. Entries signed by this home's key go
through the running node when there is one; entries signed by a spare key, and a
rotation, need the node stopped (they write to the store and switch the key files).
"""

from __future__ import annotations

import getpass
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coopledger.crypto import SecretKey, is_sealed, verify
from coopledger.node import (
    AppendError,
    Home,
    HomeError,
    KeyLocked,
    now_ms,
    read_secret_file,
    write_secret_file,
)
from coopledger.protocol import (
    GENESIS_KIND,
    KEY_POWERS,
    REVOKE_REASONS,
    ROOT,
    ValidationError,
    key_proof_message,
)

from ._client import running_node
from ._common import (
    HomeOpt,
    JsonOpt,
    PassFileOpt,
    err,
    fail,
    format_ts,
    open_home,
    out,
    read_passphrase_file,
    unlock,
)
from ._options import opened
from ._render import entry_json, print_json, table
from ._views import fetch as view
from ._writer import write

if TYPE_CHECKING:
    from coopledger.protocol import Identities, KeyRecord

key_app = typer.Typer(
    help="A co-op's keys: one per device, a spare kept offline, delegates' keys.\n\n"
         "Example:  coop key list", no_args_is_help=True)

MIN_PREFIX = 8


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(key_app, name="key")


# -- helpers ------------------------------------------------------------------------------


def parse_key(text: str, option: str) -> bytes:
    """A full key: 64 hex characters (upper case accepted)."""
    low = text.strip().lower()
    if len(low) != 64 or any(c not in "0123456789abcdef" for c in low):
        raise typer.BadParameter("expected a key: 64 hex characters", param_hint=option)
    return bytes.fromhex(low)


def request_command(key: SecretKey, identity: bytes, power: str, label: str) -> str:
    """The command the co-op ``identity`` runs to add ``key`` (with its proof)."""
    sig = key.sign(key_proof_message(identity)).hex()
    return (f"coop key add {key.public.raw.hex()} --power {power} "
            f"--label {shlex.quote(label)} --proof {sig}")


def print_request(h: Home, key: SecretKey, power: str, label: str) -> None:
    out.print("")
    out.print(f"Ask co-op {h.identity.hex()[:8]} to add this key. On one of its nodes, run:")
    out.print(f"  {request_command(key, h.identity, power, label)}")
    out.print("Until then, entries written with this key do not count for the co-op.")


def _power_now(ids: Identities, key: bytes, identity: bytes) -> str | None:
    """The power ``key`` has for ``identity`` now (None: no active key of it)."""
    rec = ids.record(key)
    if rec.identity != identity or rec.revoked:
        return None
    return rec.power


def _require_power(ids: Identities, h: Home, *, what: str, strong: bool) -> str:
    """This home's key's power for its co-op, or fail: not (yet) a key of it, revoked,
    a delegate key, or (``strong``) a node key."""
    power = _power_now(ids, h.author, h.identity)
    if power is None:
        rec = ids.record(h.author)
        why = ("was revoked" if rec.identity == h.identity and rec.revoked else
               f"is not (yet) a key of co-op {h.identity.hex()[:8]}")
        fail(f"this node's key {h.author.hex()[:8]} {why}; it cannot {what}")
    if power == "delegate":
        fail(f"this node's key is a delegate key; it cannot {what}")
    if strong and power == "node":
        fail(f"this node's key is a node key; only the co-op's root key or a spare "
             f"(recovery) key may {what} (give --with-spare FILE where offered)")
    return power


def _resolve_key(ids: Identities, identity: bytes, text: str, option: str) -> KeyRecord:
    """A key of co-op ``identity`` by at least 8 hex characters of it."""
    low = text.strip().lower()
    if len(low) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in low):
        raise typer.BadParameter(f"give at least {MIN_PREFIX} hex characters of the key",
                                 param_hint=option)
    hits = [r for r in ids.keys_of(identity) if r.key.hex().startswith(low)]
    if len(hits) > 1:
        raise typer.BadParameter(f"{low[:64]} matches {len(hits)} keys; give more "
                                 "characters", param_hint=option)
    if not hits:
        other = ids.identity_of(bytes.fromhex(low)) if len(low) == 64 else None
        where = (f" (it is a key of co-op {other.hex()[:8]})"
                 if other is not None and other != bytes.fromhex(low) else "")
        fail(f"{option}: {low[:16]}… is not a key of this co-op "
             f"{identity.hex()[:8]}{where}; `coop key list` shows its keys")
    return hits[0]


def _ask_new_passphrase(file: Path | None, what: str) -> bytes:
    """A passphrase from ``file``, else asked twice on the terminal."""
    if file is not None:
        return read_passphrase_file(file)
    if not sys.stdin.isatty():
        fail(f"give --spare-passphrase-file FILE: the {what} is sealed with a passphrase "
             "and there is no terminal to ask")
    first = getpass.getpass(f"Passphrase for the {what}: ").encode()
    if not first:
        fail("the passphrase must not be empty")
    if getpass.getpass("The same passphrase again: ").encode() != first:
        fail("the two passphrases differ; nothing was written")
    return first


def _spare_key(file: Path, pass_file: Path | None) -> SecretKey:
    """The spare key in ``file``, asking for its passphrase if it is sealed."""
    try:
        sealed = is_sealed(file.read_bytes())
    except OSError as exc:
        fail(f"--with-spare: cannot read {file}: {exc.strerror}")
    passphrase = None
    if sealed:
        if pass_file is not None:
            passphrase = read_passphrase_file(pass_file)
        elif sys.stdin.isatty():
            passphrase = getpass.getpass("Passphrase of the spare key: ").encode()
        else:
            fail("the spare key is sealed; give --spare-passphrase-file FILE")
    try:
        return read_secret_file(file, passphrase)
    except (KeyLocked, HomeError) as exc:
        fail(f"--with-spare: {exc}")


def _no_node(h: Home, what: str) -> None:
    if running_node(h.path) is not None:
        fail(f"a node is running for {h.path}; stop it first (`coop node stop`): {what} "
             "writes to the store and the key files directly")


# -- coop key list ------------------------------------------------------------------------


def _revoked_text(row: dict[str, Any]) -> str:
    revs = row["revocations"]
    if not revs:
        return "-"
    parts = []
    for r in revs:
        cut = f"after #{r['through']}" if r["through"] is not None else \
            f"after {format_ts(r['ms'])}"
        parts.append(f"{r['reason']}, {cut}")
    return "; ".join(parts)


@key_app.command("list")
def key_list(
    coop: Annotated[str | None, typer.Option(
        "--coop", help="Whose keys: a co-op's name or key prefix. Default: this co-op.")
    ] = None,
    json_: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List a co-op's keys: power, label, when added, revocations, entries per key.

    "acting" counts the key's entries that count for the co-op (made while the key was
    active); the others stay in the key's log but count for no one.

    Example:  coop key list --coop "Hillside Garden"
    """
    doc = view(home, "keys", {"coop": coop})
    if json_:
        print_json(doc)
        return
    name = doc["coop_name"] or doc["coop"][:8]
    this = doc["this_key"]
    table(f"Keys of co-op {name} ({doc['coop'][:8]})", doc["keys"], [
        ("key", lambda r: r["key"][:16] + (" (this node)" if r["key"] == this else "")),
        ("power", lambda r: r["power"]),
        ("label", lambda r: r["label"]),
        ("added", lambda r: format_ts(r["added_ms"]) if r["added_ms"] else "genesis"),
        ("revoked", _revoked_text),
        ("entries", lambda r: f"{r['entries']['applied']} ({r['entries']['acting']} "
                              "acting)"),
    ], right=("entries",))
    for bad in doc["invalid"]:
        out.print(f"invalid {bad['kind']} {bad['entry'][:8]} by {bad['key'][:8]}: "
                  f"{bad['code']}: {bad['detail']}")


# -- coop key request ---------------------------------------------------------------------


PowerOpt = Annotated[str, typer.Option(
    "--power", help=f"One of: {', '.join(KEY_POWERS)}. node: a device or server that writes "
    "for the co-op; delegate: a delegate's own key (acts only under a mandate); "
    "recovery: a spare kept offline (only adds and revokes keys).")]


@key_app.command("request")
def key_request(
    power: PowerOpt = "node",
    label: Annotated[str | None, typer.Option(
        "--label", help="What the key is, for the co-op's list. Default: this home's name.")
    ] = None,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Print the command the co-op runs to add this home's key (made by `coop init --for`).

    Example:  coop key request --power delegate --label "Ana (delegate)"
    """
    if power not in KEY_POWERS:
        raise typer.BadParameter(f"one of {', '.join(KEY_POWERS)}", param_hint="--power")
    h = open_home(home)
    if h.identity == h.author:
        fail("this home's key is its co-op's root key; there is nothing to request (use "
             "`coop init --name NAME --for CO-OP_ID` on the new device)")
    key = unlock(h, passphrase_file)
    out.print(request_command(key, h.identity, power, (label or h.name).strip()))


# -- coop key add -------------------------------------------------------------------------


@key_app.command("add")
def key_add(
    key: Annotated[str, typer.Argument(help="The new key: 64 hex characters.",
                                       show_default=False)],
    proof: Annotated[str, typer.Option(
        "--proof", help="The new key's consent: the signature `coop key request` printed "
        "(128 hex characters).")],
    power: PowerOpt = "node",
    label: Annotated[str, typer.Option("--label", help="What the key is (a device, a "
                                       "person), shown in `coop key list`.")] = "device",
    note: Annotated[str | None, typer.Option("--note", help="Free text, kept with the "
                                             "entry.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Add a key to this co-op (a new device, a delegate's key), with the key's proof.

    Run on a node of the co-op the command that `coop init --for` (or `coop key
    request`) printed on the new device.

    Example:  coop key add 9b1c… --power node --label "Ana's laptop" --proof 5e0f…
    """
    if power not in KEY_POWERS:
        raise typer.BadParameter(f"one of {', '.join(KEY_POWERS)}", param_hint="--power")
    raw = parse_key(key, "KEY")
    sig = proof.strip().lower()
    if len(sig) != 128 or any(c not in "0123456789abcdef" for c in sig):
        raise typer.BadParameter("expected a signature: 128 hex characters",
                                 param_hint="--proof")
    with opened(home) as (h, _store, eco, _me):
        ids = eco.gov.ids
        if not verify(raw, bytes.fromhex(sig), key_proof_message(h.identity)):
            fail("--proof: does not verify: it was made by another key, or for another "
                 f"co-op than this one ({h.identity.hex()[:8]}); run `coop key request` "
                 "on the new device again")
        if raw == h.identity:
            fail("KEY: this is the co-op's root key; it is already its key")
        rec = ids.records.get(raw)
        if rec is not None:
            whose = "this co-op" if rec.identity == h.identity else \
                f"co-op {rec.identity.hex()[:8]}"
            state = "was revoked; a revoked key never comes back" if rec.revoked else \
                f"is already a key of {whose}" if rec.key != rec.identity else \
                "is a co-op with keys of its own"
            fail(f"KEY: {raw.hex()[:8]} {state}")
        _require_power(ids, h, what="add a recovery key" if power == "recovery"
                       else "add keys", strong=power == "recovery")
    body = {"identity": h.identity.hex(), "key": raw.hex(), "power": power,
            "label": label.strip(), "proof": sig, "note": note}
    write(home, passphrase_file, "key.add", body, [], json_, "key.add")


# -- coop key spare -----------------------------------------------------------------------


@key_app.command("spare")
def key_spare(
    out_file: Annotated[Path, typer.Option(
        "--out", help="Where to write the spare key (refuses to overwrite a file). Keep it "
        "offline: a USB stick in a safe, a printout.")],
    label: Annotated[str, typer.Option("--label", help="Where the spare is kept.")
                     ] = "spare key",
    spare_passphrase_file: Annotated[Path | None, typer.Option(
        "--spare-passphrase-file", help="File with the passphrase that seals the spare "
        "key. Without it, a terminal is asked twice.", show_default=False)] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Make a spare (recovery) key, write it sealed to a file, and add it to the co-op.

    The spare key can only add and revoke keys: with it the co-op revokes a stolen or
    lost device key (`coop key revoke … --with-spare FILE`), even when no other device
    is left. Only the root key or another recovery key can add one.

    Example:  coop key spare --out /media/usb/garden-spare.key --label "USB stick in the safe"
    """
    with opened(home) as (h, _store, eco, _me):
        ids = eco.gov.ids
        _require_power(ids, h, what="add a recovery key", strong=True)
    if out_file.exists():
        fail(f"--out: {out_file} already exists; refusing to overwrite it")
    passphrase = _ask_new_passphrase(spare_passphrase_file, "spare key")
    spare = SecretKey.generate()
    try:
        write_secret_file(out_file, spare, passphrase)
    except HomeError as exc:
        fail(f"--out: {exc}")
    body = {"identity": h.identity.hex(), "key": spare.public.raw.hex(), "power": "recovery",
            "label": label.strip(),
            "proof": spare.sign(key_proof_message(h.identity)).hex()}
    try:
        write(home, passphrase_file, "key.add", body, [], json_, "key.add")
    except BaseException:
        out_file.unlink(missing_ok=True)  # an unadded spare is no spare
        raise
    err.print(f"wrote the spare key {spare.public.raw.hex()[:8]} to {out_file}: keep it "
              "offline, and its passphrase apart from it")


# -- coop key revoke ----------------------------------------------------------------------


def _write_with(h: Home, key: SecretKey, body: dict[str, Any], json_: bool) -> None:
    """Append a key.revoke signed by ``key`` (a spare) to this home's store: its log
    starts with a genesis naming the co-op if it has none."""
    with h.open_store() as store:
        try:
            if store.own_head(key.public.raw) is None:
                store.append(key, kind=GENESIS_KIND, body={"name": h.name}, ts=now_ms())
            e = store.append(key, kind="key.revoke", body=body, ts=now_ms())
        except (ValidationError, AppendError) as exc:
            fail(f"key.revoke: {exc}")
    if json_:
        print_json(entry_json(e))
    else:
        out.print(f"Recorded key.revoke #{e.seq} (signed by the spare key "
                  f"{key.public.raw.hex()[:8]})")
        out.print(f"  key.revoke id: {e.id.hex()}")
        out.print("  start the node to pass it on (`coop node start`)")


@key_app.command("revoke")
def key_revoke(
    key: Annotated[str, typer.Argument(help="The key to revoke: at least 8 hex characters "
                                       "of it (`coop key list`).", show_default=False)],
    reason: Annotated[str, typer.Option(
        "--reason", help=f"One of: {', '.join(REVOKE_REASONS)}.")],
    through: Annotated[int | None, typer.Option(
        "--through", help="The key's last good entry (its seq): every later entry of the "
        "key is invalid whatever its time (use for a stolen key). Without it, entries "
        "timed after the revocation are invalid.", min=0, show_default=False)] = None,
    with_spare: Annotated[Path | None, typer.Option(
        "--with-spare", help="Sign with the spare key in this file (`coop key spare`); the "
        "node must be stopped.", show_default=False)] = None,
    spare_passphrase_file: Annotated[Path | None, typer.Option(
        "--spare-passphrase-file", help="File with the spare key's passphrase.",
        show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free text, kept with the "
                                             "entry.")] = None,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Revoke a key of this co-op: its later entries no longer count, on every node.

    A node key may revoke node and delegate keys (itself too); the root key and spare
    keys need the root or a spare key (--with-spare).

    Example:  coop key revoke 9b1c0d2e --reason compromised --through 41
              --with-spare /media/usb/garden-spare.key
    """
    if reason not in REVOKE_REASONS:
        raise typer.BadParameter(f"one of {', '.join(REVOKE_REASONS)}", param_hint="--reason")
    with opened(home) as (h, store, eco, _me):
        ids = eco.gov.ids
        target = _resolve_key(ids, h.identity, key, "KEY")
        cuts = [r.through for r in target.revocations if r.through is not None]
        if target.revoked and (through is None or (cuts and through >= min(cuts))):
            fail(f"KEY: {target.key.hex()[:8]} is already revoked (only a lower --through "
                 "than before cuts more)")
        spare = None
        if with_spare is not None:
            _no_node(h, "a revocation signed by the spare key")
            spare = _spare_key(with_spare, spare_passphrase_file)
            power = _power_now(ids, spare.public.raw, h.identity)
            if power not in (ROOT, "recovery"):
                fail(f"--with-spare: {spare.public.raw.hex()[:8]} is not an active spare "
                     f"(recovery) key of this co-op")
        else:
            strong = target.power in (ROOT, "recovery")
            _require_power(ids, h, what=f"revoke a {target.power} key", strong=strong)
        signer = h.author if spare is None else spare.public.raw
        if target.key == signer and through is not None:
            head = store.own_head(signer)
            nxt = 2 if head is None else head[0] + 1  # a new log: genesis, then this
            if through < nxt:
                fail(f"--through: a key that revokes itself names its revocation's own "
                     f"seq or later (#{nxt} or more)")
    body: dict[str, Any] = {"identity": h.identity.hex(), "key": target.key.hex(),
                            "reason": reason, "through": through, "note": note}
    if spare is not None:
        _write_with(h, spare, {k: v for k, v in body.items() if v is not None}, json_)
    else:
        write(home, passphrase_file, "key.revoke", body, [], json_, "key.revoke")
    if target.key == h.author:
        err.print("this node's own key is now revoked: its later entries will not count; "
                  "`coop key rotate` moves a home to a new key instead")


# -- coop key rotate ----------------------------------------------------------------------


@key_app.command("rotate")
def key_rotate(
    without_spare: Annotated[bool, typer.Option(
        "--without-spare", help="Rotate the root key even though the co-op has no spare "
        "key (afterwards no key of it can add one).")] = False,
    json_: JsonOpt = False,
    passphrase_file: PassFileOpt = None,
    home: HomeOpt = None,
) -> None:
    """Move this node to a new key; the co-op, its history and memberships stay.

    The old key adds the new one and revokes itself after that entry; the new key's log
    starts with a genesis; the key file and coop.toml switch to the new key (sealed with
    the same passphrase). The node must be stopped. Its peer id changes with its key.

    Example:  coop key rotate
    """
    h = open_home(home)
    _no_node(h, "a key rotation")
    with h.open_store() as store:
        ids = store.state().economy().gov.ids
        power = _require_power(ids, h, what="rotate", strong=False)
        spares = [r for r in ids.keys_of(h.identity) if r.power == "recovery" and not r.revoked]
    if power == ROOT and not spares and not without_spare:
        fail("this co-op has no spare key, and after rotating its root key no key of it "
             "could add one; make one first (`coop key spare --out FILE`), or give "
             "--without-spare")
    passphrase = None
    if h.key_is_sealed():
        passphrase = _passphrase(passphrase_file)
    try:
        r = h.rotate_key(passphrase, now_ms(), label=f"node key, rotated from "
                         f"{h.author.hex()[:8]}")
    except KeyLocked as exc:
        fail(str(exc))
    except (HomeError, AppendError) as exc:
        fail(f"key rotation: {exc}")
    from coopledger.node import peer_id_of  # loads libp2p: only here

    old_peer, new_peer = peer_id_of(r.old), peer_id_of(r.new)
    if json_:
        print_json({"coop": r.identity.hex(), "old_key": r.old.hex(), "new_key": r.new.hex(),
                    "add": r.add.id.hex(), "revoke": r.revoke.id.hex(),
                    "through": r.revoke.seq, "genesis": r.genesis.id.hex(),
                    "old_peer_id": old_peer, "new_peer_id": new_peer})
        return
    out.print(f"Rotated this node's key (co-op {r.identity.hex()[:8]}).")
    out.print(f"  old key: {r.old.hex()}  (revoked after its entry #{r.revoke.seq})")
    out.print(f"  new key: {r.new.hex()}")
    out.print(f"  key.add {r.add.id.hex()[:8]}, key.revoke {r.revoke.id.hex()[:8]}, "
              f"new genesis {r.genesis.id.hex()[:8]}")
    out.print(f"  coop.toml: author = {r.new.hex()[:8]}…, identity = {r.identity.hex()[:8]}…")
    out.print(f"Peers that list this node by peer id must update: new peer id {new_peer} "
              f"(was {old_peer}).")


def _passphrase(file: Path | None) -> bytes:
    if file is None and os.environ.get("COOP_PASSPHRASE_FILE"):
        file = Path(os.environ["COOP_PASSPHRASE_FILE"])
    if file is not None:
        return read_passphrase_file(file)
    if sys.stdin.isatty():
        return getpass.getpass("Passphrase for this co-op's key: ").encode()
    fail("this home's key is sealed with a passphrase; give --passphrase-file FILE or set "
         "COOP_PASSPHRASE_FILE")


__all__ = ["parse_key", "print_request", "register", "request_command"]
