"""The node's local HTTP JSON API (Starlette, served by hypercorn on trio).

It listens on loopback by default and trusts nobody without the home's token
(``Authorization: Bearer <HOME/api-token>``); only ``GET /v1/health`` and
``GET /openapi.json`` are open. Handlers only call the ``NodeService`` interface
(docs/architecture.md, "The view table"): they never reach into the libp2p host or
the sync machines.

Every error, whatever raised it, leaves as one JSON shape, rendered in one place
(``_error_response``)::

    {"error": {"status": 422, "reason": "invalid:body", "message": "...", "field": "hours"}}

``field`` appears only on validation errors. ``reason`` reuses the ledger's NIP-01 style
codes (``invalid:``, ``blocked:``, ``error:``), so logs, peers and the API share one
vocabulary. Errors of this module:

    ApiError(NodeError)      an HTTP error reply; status, reason, message
    NodeStopping(NodeError)  raised by a NodeService method while the node shuts down
                             (rendered as 503 error:stopping)

How errors from below are rendered (``_map_error``):

    ValidationError   422  its own reason code (invalid:body, invalid:float, …); the
                           client's fault, nothing was stored
    BundleError       422  invalid:bundle (not a bundle at all)
    AppendError       409  blocked:append (bad refs, or our own log is forked)
    BadBlock          400  invalid:request (a malformed peer id or key, or this node)
    StoreError        500  error:store (the node's disk or database)
    anything else     500  error:internal, logged with its traceback (our bug)

Bad input never changes the store: requests are parsed and checked before the service
is called, and the service validates before it writes.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from coopledger import __version__
from coopledger.protocol import BundleError, Entry, ValidationError

from . import _views_table as views
from ._blocks import BadBlock, Blocks, parse_kind, parse_peer_id, parse_reason
from ._bundles import ImportReport
from ._errors import AppendError, NodeError, StoreError
from ._jsonview import jsonable
from ._service import NodeService
from ._views import LookupFailed, resolve_coop

if TYPE_CHECKING:
    # trio-typing (installed with libp2p) ships stubs for trio that shadow trio's own
    # inline types and lack trio.TaskStatus; its own TaskStatus is the same thing.
    from trio_typing import TaskStatus

logger = logging.getLogger(__name__)

# An encoded entry is at most 64 KiB (MAX_ENTRY_SIZE); as JSON, with refs in hex and
# escaped strings, it can be up to ~4x that. Anything larger is not an entry.
MAX_JSON_BODY = 256 * 1024
# A bundle upload is spooled to disk, so memory is not the limit, the home's disk is.
# 1 GiB is ~3 million entries, far beyond a federation's yearly traffic; a bigger
# file is a mistake (or an attack) to stop before it fills the disk.
MAX_BUNDLE_BYTES = 1 << 30
# Spool uploads in writes of this size (one thread hop each).
SPOOL_CHUNK = 1 << 20

JSON_API = "application/json"


class NodeStopping(NodeError):
    """Raised by a NodeService method called while the node shuts down (HTTP 503)."""


class ApiError(NodeError):
    """An HTTP error reply with the canonical JSON body."""

    def __init__(self, status: int, reason: str, message: str,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.field = field


def _error_response(exc: ApiError) -> JSONResponse:
    err: dict[str, Any] = {"status": exc.status, "reason": exc.reason, "message": exc.message}
    if exc.field is not None:
        err["field"] = exc.field
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": err}, status_code=exc.status, headers=headers)


def _map_error(exc: Exception) -> ApiError | None:
    """Our errors from below as API errors; None for anything else (a bug)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        # exc.message never echoes the input (protocol/_errors.py), so it can go back.
        return ApiError(422, exc.reason, exc.message, exc.field)
    if isinstance(exc, BundleError):
        return ApiError(422, "invalid:bundle", str(exc))
    if isinstance(exc, BadBlock):
        return ApiError(400, "invalid:request", exc.message, exc.field)
    if isinstance(exc, AppendError):
        return ApiError(409, "blocked:append", str(exc))
    if isinstance(exc, NodeStopping):
        return ApiError(503, "error:stopping", "the node is stopping; try again later")
    if isinstance(exc, StoreError):
        return ApiError(500, "error:store", str(exc))
    if isinstance(exc, LookupFailed):
        # A name or parameter of the request: 400 when malformed or ambiguous, 404
        # when it names nothing here.
        reason = "invalid:request" if exc.status == 400 else "invalid:unknown"
        return ApiError(exc.status, reason, f"{exc.field}: {exc.message}", exc.field)
    return None


# -- request parsing ----------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    _check_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    # aclosing: leaving the loop early (too large) must finalise the generator now.
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _check_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise ApiError(400, "invalid:request", "Content-Length is not a number")
    if int(declared) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "invalid:too-large", f"the request body is over {limit} bytes")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


async def _read_json(request: Request) -> Any:
    raw = await _read_body(request, MAX_JSON_BODY)
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are too
        raise ApiError(400, "invalid:json", "the request body is not a JSON document "
                       "(UTF-8, no duplicate keys)") from None


_HEX = frozenset("0123456789abcdef")


def _parse_entry_request(data: Any) -> tuple[str, dict[str, Any], list[bytes], int | None]:
    """(kind, body, refs, ts) from POST /v1/entries JSON; ApiError 400 names the field."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid:request", "the request body must be a JSON object")
    unknown = set(data) - {"kind", "body", "refs", "ts"}
    if unknown:
        raise ApiError(400, "invalid:request",
                       f"{len(unknown)} unknown field(s); expected kind, body, refs, ts")
    kind, body, refs, ts = data.get("kind"), data.get("body"), data.get("refs"), data.get("ts")
    if not isinstance(kind, str):
        raise ApiError(400, "invalid:request", "kind: required, a string", "kind")
    if not isinstance(body, dict):
        raise ApiError(400, "invalid:request", "body: required, a JSON object", "body")
    if refs is None:
        refs = []
    if not isinstance(refs, list) or not all(
            isinstance(r, str) and len(r) == 64 and set(r) <= _HEX for r in refs):
        raise ApiError(400, "invalid:request",
                       "refs: a list of entry ids, 64 lower-case hex characters each", "refs")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int)
                           or not 0 <= ts < 1 << 63):
        raise ApiError(400, "invalid:request", "ts: milliseconds since 1970, an integer",
                       "ts")
    return kind, body, [bytes.fromhex(r) for r in refs], ts


# -- rendering ------------------------------------------------------------------------


def entry_json(e: Entry) -> dict[str, Any]:
    """An entry as the API shows it; ``raw`` is its canonical msgpack, so a client can
    decode (and check) the very entry that was stored."""
    return {
        "id": e.id.hex(), "author": e.author.hex(), "seq": e.seq,
        "prev": e.prev.hex() if e.prev else None, "ts": e.ts, "kind": e.kind,
        "refs": [r.hex() for r in e.refs], "body": jsonable(dict(e.body)),
        "raw": e.raw.hex(),
    }


def report_json(r: ImportReport) -> dict[str, Any]:
    """A bundle import's outcome (the same object `coop bundle import --json` prints)."""
    return {
        "new": r.new, "held": r.held, "rejected": r.rejected, "damaged": r.damaged,
        "complete": r.complete, "expected": r.expected, "applied": r.applied,
        "problems": [{"offset": p.offset, "entry_id": p.entry_id.hex() if p.entry_id else None,
                      "reason": p.reason, "message": p.message} for p in r.problems],
    }


# -- the app ----------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def make_app(service: NodeService, token: str, *, spool_dir: Path | None = None,
             blocks: Blocks | None = None) -> Starlette:
    """The API as an ASGI app. ``token`` is the bearer token every request but
    /v1/health and /openapi.json must carry; bundle uploads are spooled to temporary
    files in ``spool_dir`` (the daemon passes its home; default: the system temp dir)."""
    if not token:
        raise ValueError("the API token must not be empty")
    expected = f"Bearer {token}".encode()

    def guarded(handler: Handler, *, public: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if not public:
                    given = request.headers.get("authorization", "").encode()
                    if not hmac.compare_digest(given, expected):
                        raise ApiError(401, "blocked:token",
                                       "missing or wrong token: send Authorization: Bearer "
                                       "<the contents of HOME/api-token>")
                return await handler(request)
            except Exception as exc:  # the request's task boundary: reply, and log bugs
                mapped = _map_error(exc)
                if mapped is None:
                    logger.exception("API %s %s failed", request.method, request.url.path)
                    mapped = ApiError(500, "error:internal",
                                      "internal error; the node's log has the details")
                return _error_response(mapped)
        return endpoint

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "pid": os.getpid(), "version": __version__})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def status(request: Request) -> Response:
        return JSONResponse(service.status())

    async def peers(request: Request) -> Response:
        return JSONResponse({"peers": service.peers()})

    async def post_entry(request: Request) -> Response:
        kind, body, refs, ts = _parse_entry_request(await _read_json(request))
        entry = await service.append(kind, body, refs=refs, ts=ts)
        return JSONResponse(entry_json(entry), status_code=201)

    async def get_entry(request: Request) -> Response:
        text = request.path_params["entry_id"]
        if len(text) != 64 or not set(text) <= _HEX:
            raise ApiError(400, "invalid:request",
                           "an entry id is 64 lower-case hex characters", "entry_id")
        entry_id = bytes.fromhex(text)
        entry = await service.entry(entry_id)
        return JSONResponse({"id": text, "held": entry is not None,
                             "arrived_ms": service.arrival(entry_id),
                             "entry": entry_json(entry) if entry is not None else None})

    async def post_bundle(request: Request) -> Response:
        _check_length(request, MAX_BUNDLE_BYTES)
        fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".coopbundle", dir=spool_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                async with aclosing(request.stream()) as stream:
                    size, buf = 0, bytearray()
                    async for chunk in stream:
                        size += len(chunk)
                        if size > MAX_BUNDLE_BYTES:
                            raise _too_large(MAX_BUNDLE_BYTES)
                        buf += chunk
                        if len(buf) >= SPOOL_CHUNK:
                            await trio.to_thread.run_sync(f.write, bytes(buf))
                            buf.clear()
                await trio.to_thread.run_sync(f.write, bytes(buf))
            report = await service.import_bundle(path)
        finally:
            path.unlink(missing_ok=True)
        return JSONResponse(report_json(report))

    async def rebuild(request: Request) -> Response:
        state_hash = await service.rebuild()
        return JSONResponse({"state_hash": state_hash,
                             "entries_held": service.status().get("entries_held")})

    async def block_id(kind: str, text: str) -> tuple[str, str]:
        """(kind, canonical id); an author may be named as the CLI names co-ops."""
        k = parse_kind(kind)
        if k == "peer":
            return k, parse_peer_id(text)
        key = await service.query(lambda store: resolve_coop(store, text, field="id"))
        return k, key.hex()

    async def blocks_endpoint(request: Request) -> Response:
        """GET the block list, POST a block, DELETE one (?kind=&id=)."""
        if blocks is None:
            raise ApiError(503, "error:unavailable", "this node keeps no block list")
        if request.method == "GET":
            return JSONResponse(blocks.view())
        if request.method == "POST":
            data = await _read_json(request)
            if not isinstance(data, dict) or set(data) - {"kind", "id", "reason"}:
                raise ApiError(400, "invalid:request", "expected an object with kind, id "
                               "and an optional reason")
            fields = {f: data.get(f) for f in ("kind", "id")}
            reason = data.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise ApiError(400, "invalid:request", "reason: a string", "reason")
        else:
            reason = None
            fields = dict(request.query_params)
            if set(fields) != {"kind", "id"} or len(request.query_params.multi_items()) != 2:
                raise ApiError(400, "invalid:request", "expected ?kind=peer|author&id=…")
        for f in ("kind", "id"):
            if not isinstance(fields[f], str):
                raise ApiError(400, "invalid:request", f"{f}: required, a string", f)
        kind, id = await block_id(str(fields["kind"]), str(fields["id"]))
        try:
            if request.method == "POST":
                block, created = await blocks.block(parse_kind(kind), id,
                                                    parse_reason(reason))
                return JSONResponse({"block": block.to_json(), "created": created},
                                    status_code=201 if created else 200)
            removed = await blocks.unblock(parse_kind(kind), id)
        except OSError as exc:
            raise ApiError(500, "error:store", "cannot write the block list: "
                           f"{exc.strerror or exc}") from exc
        if removed is None:
            raise ApiError(404, "invalid:unknown", f"{kind} {id[:16]}… is not blocked", "id")
        return JSONResponse({"block": removed.to_json()})

    def view_handler(name: str) -> Handler:
        """GET handler of one view of the table (node/_views_table.py), run in the
        store's thread; ``me`` is this node's key (the point of view of the views that
        have one, unless ?coop= says otherwise)."""
        async def handler(request: Request) -> Response:
            params = dict(request.query_params)
            if len(params) != len(request.query_params.multi_items()):
                raise ApiError(400, "invalid:request", "a query parameter is repeated")
            params.update(request.path_params)
            author = service.status().get("author")
            me = bytes.fromhex(author) if isinstance(author, str) else None
            result = await service.query(
                lambda store: views.answer(store, name, params, me=me))
            return JSONResponse(result)
        return handler

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's own 404 (no route) and 405 (wrong method), in our shape.
        assert isinstance(exc, HTTPException)
        reason = {404: "error:not-found", 405: "error:method"}.get(exc.status_code,
                                                                    "error:http")
        message = {404: "no such endpoint; see /openapi.json",
                   405: "method not allowed here; see /openapi.json"}.get(
                       exc.status_code, str(exc.detail))
        return _error_response(ApiError(exc.status_code, reason, message))

    routes = [
        Route("/v1/health", guarded(health, public=True), methods=["GET"]),
        Route("/openapi.json", guarded(openapi, public=True), methods=["GET"]),
        Route("/v1/status", guarded(status), methods=["GET"]),
        Route("/v1/peers", guarded(peers), methods=["GET"]),
        Route("/v1/entries", guarded(post_entry), methods=["POST"]),
        Route("/v1/entries/{entry_id}", guarded(get_entry), methods=["GET"]),
        Route("/v1/bundles", guarded(post_bundle), methods=["POST"]),
        Route("/v1/rebuild", guarded(rebuild), methods=["POST"]),
        Route("/v1/blocks", guarded(blocks_endpoint), methods=["GET", "POST", "DELETE"]),
        *(Route(v.path, guarded(view_handler(name)), methods=["GET"])
          for name, v in views.VIEWS.items()),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})


# -- serving --------------------------------------------------------------------------


async def serve_api(service: NodeService, host: str, port: int, token: str, *,
                    spool_dir: Path | None = None, blocks: Blocks | None = None,
                    task_status: TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
                    ) -> None:
    """Serve the API on ``host:port`` with hypercorn's trio worker until cancelled.

    Calls ``task_status.started((host, bound_port))`` once the socket listens, so
    ``port=0`` works (``await nursery.start(serve_api, …)`` returns the real port).
    Raises OSError if the address cannot be bound (in use, not local)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    # hypercorn's messages go through our logging (one handler, one format), not its own.
    config.errorlog = logging.getLogger(__name__ + ".hypercorn")
    config.accesslog = None
    config.include_server_header = False
    config.graceful_timeout = 2.0  # seconds in-flight requests get once we stop
    app = make_app(service, token, spool_dir=spool_dir, blocks=blocks)
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(partial(serve, app, config))  # type: ignore[arg-type]
        # hypercorn has logged "Running on http://HOST:PORT"; no second line here.
        bound_port = int(binds[0].rpartition(":")[2])
        task_status.started((host, bound_port))


# -- the OpenAPI description --------------------------------------------------------
# Written by hand (Starlette has no schema generator), but for the views, whose part is
# generated from their table (node/_views_table.py); tests/node/test_api.py checks that
# every route is described here and nothing else is.


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON_API: {"schema": schema}}}


_ERRORS = {str(code): _json(_ref("Error"), text) for code, text in [
    (400, "Malformed JSON or a bad field (reason invalid:json / invalid:request)"),
    (401, "Missing or wrong token (reason blocked:token)"),
    (413, "Request body too large (reason invalid:too-large)"),
    (503, "The node is stopping (reason error:stopping)"),
]}
_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

_BLOCK = {"type": "object", "properties": {
    "kind": {"enum": ["peer", "author"]},
    "id": {"type": "string", "description": "a peer id, or a key (64 hex)"},
    "reason": {"type": "string"}, "since_ms": {"type": "integer"}}}
_BLOCK_ERRORS = {
    **_ERRORS,
    "400": _json(_ref("Error"), "A malformed peer id or key, this node itself, or a bad "
                 "field (reason invalid:request; field names it)"),
    "404": _json(_ref("Error"), "The co-op named is unknown here, or (DELETE) it is not "
                 "blocked (reason invalid:unknown)"),
}
_BLOCK_QUERY = [{"name": n, "in": "query", "required": True, "description": d,
                 "schema": {"type": "string"}} for n, d in (
    ("kind", "peer or author"),
    ("id", "a peer id; for an author a key, a key prefix or a co-op's name"))]
_BLOCKS_PATHS: dict[str, Any] = {
    "get": {"summary": "The peers and authors this node blocks, and what it dropped",
            "responses": {"200": _json({"type": "object", "properties": {
                "peers": {"type": "array", "items": _BLOCK},
                "authors": {"type": "array", "items": _BLOCK},
                "dropped": {"type": "object", "additionalProperties": {"type": "integer"}},
                "withheld": {"type": "integer"}}}, "The block list (docs/operators.md)"),
                **_ERRORS}},
    "post": {"summary": "Block a peer or an author, at once (persisted in blocks.json)",
             "requestBody": {"required": True, "content": {JSON_API: {"schema": {
                 "type": "object", "required": ["kind", "id"], "additionalProperties": False,
                 "properties": {"kind": {"enum": ["peer", "author"]},
                                "id": {"type": "string"},
                                "reason": {"type": "string", "maxLength": 200}}}}}},
             "responses": {
                 "201": _json({"type": "object", "properties": {"block": _BLOCK}},
                              "Blocked now"),
                 "200": _json({"type": "object", "properties": {"block": _BLOCK}},
                              "It was blocked already (the reason is updated)"),
                 **_BLOCK_ERRORS}},
    "delete": {"summary": "Lift a block, at once", "parameters": _BLOCK_QUERY,
               "responses": {"200": _json({"type": "object", "properties": {
                   "block": _BLOCK}}, "The block lifted"), **_BLOCK_ERRORS}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "coopledger node API", "version": "1",
             "description": "The local API of a coopledger node. See docs/api.md."},
    "servers": [{"url": "http://127.0.0.1:4141"}],
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                      "description": "The contents of HOME/api-token"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["status", "reason", "message"],
                "properties": {"status": {"type": "integer"}, "reason": {"type": "string"},
                               "message": {"type": "string"},
                               "field": {"type": "string"}}}}},
            "NewEntry": {"type": "object", "required": ["kind", "body"],
                         "additionalProperties": False, "properties": {
                             "kind": {"type": "string"}, "body": {"type": "object"},
                             "refs": {"type": "array", "items": _HEX64},
                             "ts": {"type": "integer", "minimum": 0}}},
            "Entry": {"type": "object", "properties": {
                "id": _HEX64, "author": _HEX64, "seq": {"type": "integer"},
                "prev": {"oneOf": [_HEX64, {"type": "null"}]}, "ts": {"type": "integer"},
                "kind": {"type": "string"}, "refs": {"type": "array", "items": _HEX64},
                "body": {"type": "object"},
                "raw": {"type": "string", "description": "canonical msgpack, hex"}}},
            "ImportReport": {"type": "object", "properties": {
                k: {"type": "integer"} for k in ("new", "held", "rejected", "damaged",
                                                 "applied", "expected")} | {
                "complete": {"type": "boolean"},
                "problems": {"type": "array", "items": {"type": "object", "properties": {
                    "offset": {"type": "integer"},
                    "entry_id": {"oneOf": [_HEX64, {"type": "null"}]},
                    "reason": {"type": "string"}, "message": {"type": "string"}}}}}},
            "Status": {"type": "object", "properties": {
                "peer_id": {"type": "string"}, "name": {"type": "string"},
                "author": _HEX64, "network": {"type": "string"},
                "listen": {"type": "array", "items": {"type": "string"}},
                "api": {"type": "string"}, "pid": {"type": "integer"},
                "started_ms": {"type": "integer"},
                "connected_peers": {"type": "array", "items": {"type": "string"}},
                "entries_held": {"type": "integer"}, "state_hash": {"type": "string"},
                "sync": {"type": "array", "items": {"type": "object", "properties": {
                    "peer_id": {"type": "string"}, "connected": {"type": "boolean"},
                    "syncing": {"type": "boolean"},
                    "behind_by": {"type": ["integer", "null"]},
                    "entries_received": {"type": "integer"},
                    "last_sync_ms": {"type": ["integer", "null"]},
                    "last_result": {"type": ["string", "null"]}}}}}},
            "Peer": {"type": "object", "properties": {
                "peer_id": {"type": "string"},
                "addrs": {"type": "array", "items": {"type": "string"}},
                "connected": {"type": "boolean"},
                "last_seen_ms": {"type": ["integer", "null"]},
                "last_sync_ms": {"type": ["integer", "null"]},
                "last_result": {"type": ["string", "null"]}}},
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/v1/health": {"get": {
            "summary": "Is the node up? (no token needed)", "security": [],
            "responses": {"200": _json({"type": "object", "properties": {
                "status": {"const": "ok"}, "pid": {"type": "integer"},
                "version": {"type": "string"}}}, "The node answers")}}},
        "/openapi.json": {"get": {
            "summary": "This description (no token needed)", "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
        "/v1/status": {"get": {
            "summary": "Peer id, addresses, entries held, state_hash, sync progress",
            "responses": {"200": _json(_ref("Status"), "The node's status"), **_ERRORS}}},
        "/v1/peers": {"get": {
            "summary": "Known peers", "responses": {"200": _json(
                {"type": "object", "properties": {
                    "peers": {"type": "array", "items": _ref("Peer")}}}, "Known peers"),
                **_ERRORS}}},
        "/v1/entries": {"post": {
            "summary": "Sign, store and gossip a new entry of this co-op",
            "requestBody": {"required": True,
                            "content": {JSON_API: {"schema": _ref("NewEntry")}}},
            "responses": {
                "201": _json(_ref("Entry"), "The new entry"), **_ERRORS,
                "409": _json(_ref("Error"), "Our own log cannot take it (blocked:append)"),
                "422": _json(_ref("Error"), "The ledger refuses it (its reason code)")}}},
        "/v1/entries/{entry_id}": {"get": {
            "summary": "One entry by id: is it held here, and when did it arrive",
            "parameters": [{"name": "entry_id", "in": "path", "required": True,
                            "schema": _HEX64}],
            "responses": {"200": _json({"type": "object", "properties": {
                "id": _HEX64, "held": {"type": "boolean"},
                "arrived_ms": {"type": ["integer", "null"], "description":
                               "when it first reached this node, if recent (since start)"},
                "entry": {"oneOf": [_ref("Entry"), {"type": "null"}]}}},
                "held is false when this node does not hold it"), **_ERRORS}}},
        "/v1/bundles": {"post": {
            "summary": "Import a bundle file (the request body is the file)",
            "requestBody": {"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}},
            "responses": {
                "200": _json(_ref("ImportReport"), "What the import did"), **_ERRORS,
                "422": _json(_ref("Error"), "Not a bundle at all (invalid:bundle)")}}},
        "/v1/rebuild": {"post": {
            "summary": "Re-derive the state from every held entry",
            "responses": {"200": _json({"type": "object", "properties": {
                "state_hash": {"type": "string"}, "entries_held": {"type": "integer"}}},
                "The new state_hash"), **_ERRORS}}},
        "/v1/blocks": _BLOCKS_PATHS,
        **views.openapi(_ERRORS),
    },
}
