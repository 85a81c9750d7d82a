"""Views of self-government: keys (SPEC §13). STUB: its helper fills this module."""

from __future__ import annotations

from ._govview import GovView

VIEWS: dict[str, GovView] = {}
