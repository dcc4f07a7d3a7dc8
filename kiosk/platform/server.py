"""The reference platform server: protocol v1 (docs/protocol.md) over HTTP with FastAPI.

``create_app(db, public_key)`` builds the ASGI app; ``kiosk platform serve`` runs it with uvicorn.
In front of every route sits ``Gate``, a plain ASGI middleware that, before a byte of the body is
read, refuses oversized requests (Content-Length, then counting while the body streams) and
unauthenticated ones, and writes one access-log line per request (never a token). Every failure,
FastAPI's own included, answers ``{"error": code, "detail": text}``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiosk.platform import service
from kiosk.platform.db import PlatformDB, Principal, fsync_dir
from kiosk.platform.models import (
    MAX_BATCH,
    SHA256_PATTERN,
    ApplicationsIn,
    ApplicationStatusOut,
    AuditAnchorOut,
    CatalogIn,
    CatalogOut,
    DecisionIn,
    DecisionOut,
    EnrollIn,
    EnrollOut,
    ErrorOut,
    EventsIn,
    HealthOut,
    ResultsOut,
    StatusOut,
    TerminalsOut,
    VersionOut,
)
from kiosk.platform.service import ApiError

log = logging.getLogger("kiosk.platform")
access_log = logging.getLogger("kiosk.platform.access")

JSON_LIMIT = 8 * 1024 * 1024
BLOB_LIMIT = 25 * 1024 * 1024
# A full 10,000-item catalog with three-language guides is ~100 MB of JSON; only an admin token
# may send it (the Gate authenticates before reading a byte).
CATALOG_LIMIT = 256 * 1024 * 1024
PRINCIPAL_KEY = "kiosk.principal"
# Reachable without a token: liveness and the protocol description itself.
PUBLIC_PATHS = ("/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/docs/oauth2-redirect")
STALE_UPLOAD_S = 3600

CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
         500: "internal"}


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


def _json_error(status: int, code: str, detail: str, headers: dict[str, str] | None = None
                ) -> JSONResponse:
    return JSONResponse(error_body(code, detail), status_code=status, headers=headers)


class Gate:
    """Size limits, authentication and the access log, before any route reads the body."""

    def __init__(self, app: ASGIApp, db: PlatformDB, json_limit: int = JSON_LIMIT,
                 blob_limit: int = BLOB_LIMIT, catalog_limit: int = CATALOG_LIMIT) -> None:
        self.app = app
        self.db = db
        self.json_limit = json_limit
        self.blob_limit = blob_limit
        self.catalog_limit = catalog_limit

    def limit_for(self, method: str, path: str) -> int:
        if path.startswith("/v1/blobs/"):
            return self.blob_limit
        if path == "/v1/catalog" and method == "POST":
            return self.catalog_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "bytes": 0, "who": "-"}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, logged_send, state)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope["path"] + (f"?{query}" if query else "")
            access_log.info("%s %s %s %.1fms in=%dB %s", scope["method"], path, state["status"],
                            (time.perf_counter() - started) * 1000, state["bytes"], state["who"])

    async def _handle(self, scope: Scope, receive: Receive, send: Send, state: dict) -> None:
        path: str = scope["path"]
        limit = self.limit_for(scope["method"], path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, 413, "too_large",
                               f"the body is {int(length)} bytes; the limit here is {limit}")
            return
        if path.startswith("/v1/") and path not in PUBLIC_PATHS:
            who = await self._authenticate(headers.get("authorization", ""))
            if isinstance(who, str):
                await self._refuse(scope, send, 401, "unauthorized", who,
                                   {"WWW-Authenticate": "Bearer"})
                return
            scope[PRINCIPAL_KEY] = who
            state["who"] = str(who)
            if limit > self.json_limit and who.role != "admin" and path == "/v1/catalog":
                limit = self.json_limit  # the large catalog limit is for admins only
                if length is not None and length.isdigit() and int(length) > limit:
                    await self._refuse(scope, send, 413, "too_large", f"the body is {int(length)}"
                                       f" bytes; the limit here is {limit}")
                    return

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["bytes"] += len(message.get("body", b""))
                if state["bytes"] > limit:
                    # An HTTPException passes through FastAPI's body reading untouched and
                    # reaches our handler: 413 too_large.
                    raise StarletteHTTPException(413, f"the body is larger than {limit} bytes")
            return message

        await self.app(scope, counted_receive, send)

    async def _authenticate(self, header: str) -> Principal | str:
        """The principal, or a sentence saying why not."""
        scheme, _, token = header.partition(" ")
        if not header:
            return "this call needs an Authorization: Bearer <token> header"
        if scheme.lower() != "bearer" or not token.strip():
            return "the Authorization header must be 'Bearer <token>'"
        who = await run_in_threadpool(self.db.principal_for, token.strip())
        return who if who is not None else "the token is unknown or was revoked"

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, code: str, detail: str,
                      headers: dict[str, str] | None = None) -> None:
        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await _json_error(status, code, detail, headers)(scope, no_body, send)


def _where(loc: tuple | list) -> str:
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in ("body", "query", "path", "header") else ""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    if source in ("query", "path"):
        return f"{text} ({source})"
    return text or "body"


def _validation_answer(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "too_long" and loc[:1] == ("body",) and len(loc) == 2:
            return _json_error(413, "too_large",
                               f"at most {MAX_BATCH} records per batch ({loc[1]})")
    lines = []
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            lines.append(f"malformed JSON at character {err['loc'][-1]}: {reason}")
        else:
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            lines.append(f"{_where(err.get('loc', ()))}: {msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return _json_error(422, "invalid", "; ".join(lines) + more)


_bearer = HTTPBearer(auto_error=False, description="admin or terminal token")


def _caller(request: Request,
            _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> Principal:
    """The principal the Gate authenticated (the Security part documents the scheme)."""
    who = request.scope.get(PRINCIPAL_KEY)
    if who is None:  # the Gate authenticates every /v1/ path; this is belt and braces
        raise ApiError(401, "unauthorized", "this call needs a bearer token")
    return who


Caller = Annotated[Principal, Depends(_caller)]


def create_app(db: PlatformDB, public_key: Ed25519PublicKey | None) -> FastAPI:
    """The protocol v1 ASGI app over ``db``, checking catalog signatures with ``public_key``."""
    error_responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": name}
        for code, name in ((401, "unauthorized"), (403, "forbidden"), (413, "too_large"),
                           (422, "invalid (malformed JSON, wrong types)"))
    }
    app = FastAPI(
        title="Service-hall platform (reference server)",
        version="1",
        summary="Protocol v1 between hall terminals and the platform; see docs/protocol.md.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        responses=error_responses,
    )
    app.add_middleware(Gate, db=db)
    _remove_stale_uploads(db.blob_dir)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json_error(exc.status, exc.code, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = 422 if exc.status_code == 400 else exc.status_code
        code = CODES.get(status, f"http_{status}")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if status == 404 and detail == "Not Found":
            detail = f"no such call: {request.method} {request.url.path}"
        elif status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return _json_error(status, code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_answer(exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _json_error(500, "internal", "the server failed; the error is in its log")

    @app.get("/v1/health", response_model=HealthOut, tags=["service"])
    def health() -> dict:
        """Liveness: answers without a token while the process serves requests."""
        return {"status": "ok"}

    answers: dict[int, bytes] = {}  # the newest version's GET /v1/catalog answer

    @app.get("/v1/catalog", response_model=CatalogOut, tags=["catalog"],
             responses={304: {"description": "since ≥ the newest version"},
                        404: {"model": ErrorOut, "description": "nothing published yet"}})
    def get_catalog(who: Caller, since: Annotated[int | None, Query(ge=0)] = None) -> Response:
        """The newest signed catalog bundle."""
        version = service.latest_catalog_version(db)
        if version is None:
            raise ApiError(404, "not_found", "no catalog has been published on this server yet")
        if since is not None and since >= version:
            return Response(status_code=304)
        body = answers.get(version)
        if body is None:
            bundle_json, signature = service.catalog(db, version)
            # The stored canonical text goes out as is: no re-serialisation of a 10,000-item
            # bundle. A published version never changes, so the newest answer is kept ready
            # for every terminal that asks (~90 ms of reading and copying 30 MB each time).
            body = (f'{{"version":{version},"bundle":'.encode() + bundle_json.encode("utf-8")
                    + f',"signature":"{signature}"}}'.encode())
            answers.clear()
            answers[version] = body
        return Response(body, media_type="application/json")

    @app.post("/v1/catalog", response_model=VersionOut, status_code=201, tags=["catalog"],
              responses={200: {"model": VersionOut, "description": "this version again"},
                         409: {"model": ErrorOut, "description": "stale_version"}})
    def post_catalog(who: Caller, body: CatalogIn) -> Response:
        """Publish a signed bundle (admin)."""
        service.require_admin(who)
        created, version = service.publish_catalog(db, public_key, body.bundle, body.signature)
        log.info("catalog version %s %s", version, "published" if created else "re-sent")
        return JSONResponse({"version": version}, status_code=201 if created else 200)

    @app.put("/v1/blobs/{sha256}", status_code=201, tags=["blobs"],
             responses={200: {"description": "already stored"},
                        422: {"model": ErrorOut, "description": "hash_mismatch or invalid"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def put_blob(request: Request, who: Caller,
                       sha256: Annotated[str, PathParam(pattern=SHA256_PATTERN)]) -> JSONResponse:
        """Upload a scan or photo by its SHA-256 (streamed to disk, hash checked)."""
        service.require_terminal(who)
        # A row whose file was lost (restored backup, disk repair) is stored again.
        known = (await run_in_threadpool(service.blob_known, db, sha256)
                 and blob_path(db.blob_dir, sha256).exists())
        created, size = await _receive_blob(request, db.blob_dir, sha256, keep=not known)
        if created:
            await run_in_threadpool(service.record_blob, db, sha256, size)
        return JSONResponse({"sha256": sha256, "size": size}, status_code=201 if created else 200)

    @app.post("/v1/applications", response_model=ResultsOut, tags=["applications"])
    def post_applications(who: Caller, body: ApplicationsIn) -> dict:
        """A batch of applications; one result per application, in order."""
        return {"results": service.file_applications(db, who, body.applications)}

    @app.get("/v1/applications/status", response_model=StatusOut, tags=["applications"])
    def get_status(who: Caller, since: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=service.STATUS_PAGE_MAX)] = 500) -> dict:
        """Status changes of the caller's hall after the cursor, oldest first."""
        return service.status_changes(db, who, since, limit)

    @app.get("/v1/applications/by-number/{number}", response_model=ApplicationStatusOut,
             tags=["applications"], responses={404: {"model": ErrorOut}})
    def get_application_status(who: Caller,
                               number: Annotated[str, PathParam(max_length=64)]) -> dict:
        """One application of the caller's hall by its number, with its status history."""
        return service.application_status(db, who, number)

    @app.post("/v1/applications/{application_id}/decision", response_model=DecisionOut,
              tags=["applications"],
              responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
    def post_decision(who: Caller, application_id: str, body: DecisionIn) -> dict:
        """A clerk's accept / return / reject, once per decision_id."""
        return {"status": service.decide(db, who, application_id, body)}

    @app.post("/v1/events", response_model=ResultsOut, tags=["events"])
    def post_events(who: Caller, body: EventsIn) -> dict:
        """A batch of events; a heartbeat also updates the terminal's health record."""
        return {"results": service.record_events(db, who, body.events)}

    @app.get("/v1/terminals", response_model=TerminalsOut, tags=["terminals"])
    def get_terminals(who: Caller) -> dict:
        """Every enrolled terminal with its latest heartbeat (admin)."""
        return {"terminals": service.list_terminals(db, who)}

    @app.get("/v1/terminals/{hall_id}/{terminal_id}/audit-anchor",
             response_model=AuditAnchorOut, tags=["terminals"])
    def get_audit_anchor(who: Caller, hall_id: Annotated[str, PathParam(max_length=64)],
                         terminal_id: Annotated[str, PathParam(max_length=64)]) -> dict:
        """How far the platform has verified the terminal's audit chain (it or an admin)."""
        return service.get_audit_anchor(db, who, hall_id, terminal_id)

    @app.post("/v1/terminals", response_model=EnrollOut, status_code=201, tags=["terminals"])
    def post_terminal(who: Caller, body: EnrollIn) -> dict:
        """Enroll a terminal (admin); its token is in this answer only."""
        token = service.enroll(db, who, body.hall_id, body.terminal_id)
        log.info("enrolled terminal %s/%s", body.hall_id, body.terminal_id)
        return {"hall_id": body.hall_id, "terminal_id": body.terminal_id, "token": token}

    from kiosk.platform.queue_api import queue_router

    app.include_router(queue_router(db, Caller))  # the hall queue: /v1/halls/{hall}/...

    return app


def blob_path(blob_dir: Path, sha256: str) -> Path:
    """Where a blob lives: ``<blob dir>/<first two hex digits>/<sha256>``."""
    return blob_dir / sha256[:2] / sha256


async def _receive_blob(request: Request, blob_dir: Path, sha256: str,
                        keep: bool) -> tuple[bool, int]:
    """Stream the body, hashing it; with ``keep``, into a temp file renamed into place.

    Returns (stored now, size). The rename happens only after the hash matched and the bytes
    were fsynced, so a blob file is always whole and always the content its name says.
    """
    hasher = hashlib.sha256()
    size = 0
    tmp: str | None = None
    fh = None
    try:
        if keep:
            fd, tmp = tempfile.mkstemp(dir=blob_dir, prefix=".incoming-")
            fh = os.fdopen(fd, "wb")
        async for chunk in request.stream():
            hasher.update(chunk)
            size += len(chunk)
            if fh is not None:
                fh.write(chunk)
        actual = hasher.hexdigest()
        if actual != sha256:
            raise ApiError(422, "hash_mismatch", f"the {size} bytes sent hash to {actual}, not "
                           f"{sha256}; nothing was stored")
        if fh is None:
            return False, size
        await run_in_threadpool(_commit_file, fh, tmp, blob_path(blob_dir, sha256))
        fh = tmp = None
        return True, size
    finally:
        if fh is not None:
            fh.close()
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _commit_file(fh: Any, tmp: str, final: Path) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
    if not final.parent.exists():
        final.parent.mkdir(exist_ok=True)
        fsync_dir(final.parent.parent)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def _remove_stale_uploads(blob_dir: Path) -> None:
    """Drop temp files of uploads cut off by a crash (older than an hour: none still running)."""
    cutoff = time.time() - STALE_UPLOAD_S
    for path in blob_dir.glob(".incoming-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
