"""Write docs/sync-states.md, a Mermaid state diagram of the sync session, from the
TRANSITIONS table in protocol/_sync.py (a generated picture stays true to the code).

    python scripts/sync_diagram.py           # rewrite the file
    python scripts/sync_diagram.py --check   # exit 1 if the file is out of date

The table holds the transitions a peer's message triggers. The steps the session
takes by itself (``_advance`` and the last heads) are listed in STATE_TRIGGERED below;
tests/protocol/test_sync_diagram.py drives real sessions and checks that every state
change they make is an edge of the diagram.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coopledger.protocol._sync import TRANSITIONS, SyncState

OUT = Path(__file__).resolve().parent.parent / "docs" / "sync-states.md"

# (from, to, what makes the session move) for moves not keyed by a message type.
STATE_TRIGGERED: list[tuple[SyncState, SyncState, str]] = [
    (SyncState.EXCHANGING_HEADS, SyncState.STREAMING, "heads with last=true"),
    (SyncState.STREAMING, SyncState.DONE,
     "End sent and received, every batch received is stored"),
]


def edges() -> list[tuple[SyncState, SyncState, str]]:
    """Every edge of the diagram (FAILED, reachable from every state, is left out)."""
    grouped: dict[tuple[SyncState, SyncState], list[str]] = {}
    for (src, msg), dst in TRANSITIONS.items():
        grouped.setdefault((src, dst), []).append(msg.__name__.lower())
    out = [(src, dst, " / ".join(names)) for (src, dst), names in grouped.items()]
    return out + STATE_TRIGGERED


def render() -> str:
    order = list(SyncState)
    lines = [
        "# Sync session states",
        "",
        "Generated from `TRANSITIONS` in `protocol/_sync.py` by "
        "`python scripts/sync_diagram.py`;",
        "do not edit by hand. Labels name the peer's message that moves the session, or",
        "(for the steps the session takes by itself) the condition. Any message not shown",
        "for a state, any illegal message, and anything after DONE moves the session to",
        "FAILED (a `Disconnect` action; every later call raises). See SPEC.md §10.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        f"    [*] --> {SyncState.IDLE.name}: both sides send hello",
    ]
    for src, dst, label in sorted(edges(), key=lambda e: (order.index(e[0]),
                                                          order.index(e[1]), e[2])):
        lines.append(f"    {src.name} --> {dst.name}: {label}")
    lines += [
        f"    {SyncState.DONE.name} --> [*]: persist the peer memory",
        f"    {SyncState.FAILED.name} --> [*]",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python scripts/sync_diagram.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
