"""A small client of the running node's local HTTP API (docs/api.md).

Standard library only (http.client): `coop log` runs it on every call, and importing
an HTTP stack would cost more than the request. Every failure becomes one line for
the user: ``NodeUnreachable`` when the node does not answer, ``ApiFailure`` (with the
API's status, reason code and field) when it answers with an error.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from coopledger.node import HomeError, RunInfo, find_running, read_token

from ._common import CoopError

# Seconds to wait for an answer. Appends are quick; a rebuild refolds every entry and
# a bundle import verifies every signature, so those get longer.
TIMEOUT_S = 30.0
SLOW_TIMEOUT_S = 3600.0
# Upload bundles in blocks of this size (one progress update each).
UPLOAD_BLOCK = 1 << 16


class NodeUnreachable(CoopError):
    """The node named by node.json did not answer (or not in HTTP)."""


class ApiFailure(CoopError):
    """The node answered with an error reply (the canonical error JSON)."""

    def __init__(self, status: int, reason: str, message: str, field: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.field = field


class _Progressed:
    """A file whose reads report how many bytes went out so far."""

    def __init__(self, f: BinaryIO, progress: Callable[[int], None]) -> None:
        self._f, self._progress, self._done = f, progress, 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._done += len(data)
        self._progress(self._done)
        return data


class NodeClient:
    def __init__(self, info: RunInfo, token: str) -> None:
        self.info = info
        self._token = token

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post_json(self, path: str, value: Any = None, *, timeout: float = TIMEOUT_S) -> Any:
        body = b"" if value is None else json.dumps(value).encode()
        return self._request("POST", path, body, "application/json", timeout=timeout)

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def post_file(self, path: str, f: BinaryIO, size: int,
                  progress: Callable[[int], None] | None = None) -> Any:
        body: Any = f if progress is None else _Progressed(f, progress)
        return self._request("POST", path, body, "application/octet-stream", size=size,
                             timeout=SLOW_TIMEOUT_S)

    def _request(self, method: str, path: str, body: Any = None,
                 content_type: str | None = None, *, size: int | None = None,
                 timeout: float = TIMEOUT_S) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if size is not None:
            headers["Content-Length"] = str(size)
        conn = http.client.HTTPConnection(self.info.host, self.info.port, timeout=timeout,
                                          blocksize=UPLOAD_BLOCK)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except TimeoutError:
            raise self._unreachable(f"no answer within {timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise self._unreachable(reason) from exc
        finally:
            conn.close()
        try:
            data = json.loads(raw)
        except ValueError:
            raise self._unreachable(f"HTTP {resp.status} without JSON") from None
        if resp.status >= 400:
            err = data.get("error") if isinstance(data, dict) else None
            if not isinstance(err, dict):
                raise self._unreachable(f"HTTP {resp.status} without an error object")
            raise ApiFailure(resp.status, str(err.get("reason", "")),
                             str(err.get("message", "")), err.get("field"))
        return data

    def _unreachable(self, reason: str) -> NodeUnreachable:
        return NodeUnreachable(f"the node at {self.info.api} did not answer: {reason}")


def running_node(home_path: Path) -> NodeClient | None:
    """A client of the node running for this home, or None if none runs (no node.json,
    or a stale one). Raises CoopError if a node runs but its token cannot be read."""
    info = find_running(home_path)
    if info is None:
        return None
    try:
        token = read_token(home_path)
    except HomeError as exc:
        raise CoopError(f"a node is running for {home_path} (pid {info.pid}), but {exc}") \
            from exc
    return NodeClient(info, token)


def require_node(home_path: Path) -> NodeClient:
    """Like running_node, but "no node is running" is the user's error (exit 1)."""
    client = running_node(home_path)
    if client is None:
        raise CoopError(f"no node is running for {home_path} "
                        "(start one with `coop node start`)")
    return client
