"""Errors raised by coopledger.node.

    NodeError
     ├── HomeError          a home directory that cannot be created or opened
     │    └── KeyLocked     the home's key is sealed and no (right) passphrase was given
     ├── StoreError         the SQLite store is unusable (damaged, wrong schema, locked)
     ├── AppendError        our own log cannot take a new entry (forked or broken)
     └── PushError          a peer broke the alert push exchange (node/_alerts_wire.py)
"""

from __future__ import annotations


class NodeError(Exception):
    """Base class of errors raised by coopledger.node; the message is for people."""


class HomeError(NodeError):
    pass


class KeyLocked(HomeError):
    pass


class StoreError(NodeError):
    pass


class AppendError(NodeError):
    pass
