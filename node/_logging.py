"""Logging glue for the network layer (docs/libp2p.md, "Logging").

``import libp2p`` runs py-libp2p's ``setup_logging()`` at import time: it clears the
``libp2p`` logger's handlers, sets it to WARNING and turns ``propagate`` off, so
nothing the library logs reaches our handlers; with ``LIBP2P_DEBUG`` set it also
installs its own stderr/file handlers and a queue-listener thread. The daemon
configures logging once at startup, so ``restore_libp2p_logging`` undoes that: the
``libp2p`` logger propagates to the root again, has no handlers of its own (lines are
not written twice) and gets the level we choose.

Peer ids are logged short (``short_peer``), as entry ids are.
"""

from __future__ import annotations

import logging

LIBP2P_LOGGER = "libp2p"

# py-libp2p logs per-stream state changes and its connection manager's bookkeeping
# at INFO; WARNING keeps our INFO lines (connect/disconnect) readable.
DEFAULT_LIBP2P_LEVEL = logging.WARNING


def restore_libp2p_logging(level: int = DEFAULT_LIBP2P_LEVEL) -> logging.Logger:
    """Re-attach the ``libp2p`` logger to the root logger; returns it.

    Imports libp2p first (so its import-time setup cannot run *after* us), stops
    the library's queue listener if ``LIBP2P_DEBUG`` started one, drops the
    logger's own handlers, sets ``propagate = True`` and ``level``, and lets the
    ``libp2p.*`` loggers that exist so far inherit that level.
    Idempotent; never raises for a missing library internal.
    """
    import libp2p  # noqa: F401  (its import configures logging; run that first)

    try:
        from libp2p.utils import logging as libp2p_logging

        listener = getattr(libp2p_logging, "_current_listener", None)
        if listener is not None:
            listener.stop()
            libp2p_logging._current_listener = None
        for handler in list(getattr(libp2p_logging, "_current_handlers", [])):
            handler.close()
    except Exception:  # a library internal moved: the logger fix below still applies
        pass

    # Some library modules pin their own logger's level at import (the connection
    # manager's at INFO); let them inherit ours instead.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if name.startswith(LIBP2P_LOGGER + ".") and isinstance(child, logging.Logger):
            child.setLevel(logging.NOTSET)

    logger = logging.getLogger(LIBP2P_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(level)
    return logger


def short_peer(peer_id: object) -> str:
    """8 characters of a peer id, for logs: the *last* 8, because every Ed25519 peer id
    in base58 starts with the same "12D3KooW" (go-libp2p's ShortString also keeps
    the tail)."""
    return str(peer_id)[-8:]
