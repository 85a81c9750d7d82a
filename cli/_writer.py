"""How every `coop` command writes an entry of this co-op (docs/api.md, POST /v1/entries).

    append(home, passphrase_file, kind, body, refs, echo=True)
                               write one entry through the running node, else the
                               store; print "Logged …" (``echo``); returns the Entry
    write(home, passphrase_file, kind, body, refs, json_, what, mandate=None)
                               append and print "Recorded …" (or its JSON), with a
                               delegate's ``--mandate`` added to the refs
    mandate_refs(store, text)  a delegate's ``--mandate ID`` as refs (SPEC §13.4)

Through the node, the daemon holds the unlocked key and gossips the entry at once;
otherwise the store is opened directly (SQLite serialises writers, so a command
writing while a daemon also writes never corrupts it) and prints the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coopledger.node import Store, now_ms, resolve_id
from coopledger.protocol import Entry, ValidationError, decode_entry

from ._client import ApiFailure, running_node
from ._common import fail, open_home, out, unlock
from ._render import entry_json, print_json, summary


def append(home: Path | None, passphrase_file: Path | None, kind: str,
           body: dict[str, Any], refs: list[bytes] | None = None, *,
           echo: bool = True) -> Entry:
    """Write one entry of this co-op (through the running node, else the store) and
    print it; returns the Entry. ``refs``: ids the entry depends on (SPEC §5, §12.1)."""
    h = open_home(home)
    body = {k: v for k, v in body.items() if v is not None}
    client = running_node(h.path)
    if client is not None:
        # The daemon holds the unlocked key; the home's API token stands in for the
        # passphrase here.
        try:
            data = client.post_json("/v1/entries", {"kind": kind, "body": body,
                                                    "refs": [r.hex() for r in refs or ()],
                                                    "ts": now_ms()})
        except ApiFailure as exc:
            if exc.status == 422:  # a ValidationError in the daemon: same line as below
                fail(f"{'--' + exc.field if exc.field else kind}: {exc.message}")
            raise
        entry = decode_entry(bytes.fromhex(data["raw"]))
    else:
        key = unlock(h, passphrase_file)
        with h.open_store() as store:
            try:
                entry = store.append(key, kind=kind, body=body, ts=now_ms(),
                                     refs=refs or ())
            except ValidationError as exc:
                fail(f"{'--' + exc.field if exc.field else kind}: {exc.message}")
    if echo:
        out.print(f"Logged {kind} #{entry.seq}: {summary(entry)}  "
                  f"(entry {entry.id[:4].hex()})")
    return entry


def write(home: Path | None, passphrase_file: Path | None, kind: str,
          body: dict[str, Any], refs: list[bytes], json_: bool, what: str, *,
          mandate: str | None = None) -> None:
    """Append (through the node when it runs). ``mandate``: a delegate's ``--mandate``,
    the mandate the entry acts under, added to its refs (SPEC §13.4)."""
    if mandate is not None:
        with open_home(home).open_store() as store:
            refs = [*refs, *mandate_refs(store, mandate)]

    entry = append(home, passphrase_file, kind, body, refs, echo=False)
    if json_:
        print_json(entry_json(entry))
    else:
        out.print(f"Recorded {kind} #{entry.seq}")
        out.print(f"  {what} id: {entry.id.hex()}")


def mandate_refs(store: Store, text: str | None) -> list[bytes]:
    """The ``--mandate ID`` of a delegate's command as refs: the id of a held
    ``mandate.issue`` (at least 8 hex characters)."""
    if text is None:
        return []
    issued = {i: e for i, e in store.state().economic.items() if e.kind == "mandate.issue"}
    return [resolve_id(issued, text, field="--mandate", what="mandate")]
