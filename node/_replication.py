"""What a node replicates (SPEC §12): the authors whose logs it syncs and keeps, and
the federations whose gossip topics it joins (SPEC §11). Plain functions of the state;
the daemon (node/_daemon.py) applies them to its sync ``want``, its topics and its
connection gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from coopledger.protocol import LedgerState


@dataclass(frozen=True)
class Replication:
    """What this node replicates: ``authors`` (None: every author of the network) and
    the ids of the federations it is in or invited to (one gossip topic each)."""

    authors: frozenset[bytes] | None = None
    federations: tuple[bytes, ...] = ()


EVERYTHING = Replication()


def replication_of(state: LedgerState, me: bytes) -> Replication:
    """The replication of this node from the economy of ``state`` (SPEC §12). ``me``
    is the key this node writes with; the co-op it acts for comes from the key table
    (SPEC §13.2), and the scope is a set of keys: every key (root, bound, revoked) of
    every co-op in scope, so a co-op's new device or rotated key is synced like its
    first one. A key no ``key.add`` binds yet is its own co-op: in no federation, it
    replicates everything until the add arrives. The seam tests replace is the
    name the daemon calls (``coopledger.node._daemon.replication_of``)."""
    economy = state.economy()
    scope = economy.replication_scope(me)
    return Replication(None if scope is None else scope | {me},
                       tuple(sorted(f.id for f in economy.federations_of(me))))


def federation_topic(network: str, federation: bytes) -> str:
    """The gossip topic of one federation (SPEC §11)."""
    return f"coopledger/{network}/fed/{federation.hex()}"
