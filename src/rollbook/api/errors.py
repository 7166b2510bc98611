"""The one table from errors to HTTP, and the error body every failure answers with."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rollbook.domain import errors
from rollbook.services.auth import TooManyAttempts
from rollbook.services.syncs import RunNotWaiting
from rollbook.store.db import is_busy
from rollbook.sync.engine import RunBusy

log = logging.getLogger("rollbook")

STATUS: dict[type[errors.RollbookError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.ValidationFailed: 422,
    errors.FieldLocked: 409,
    errors.ClassSynced: 409,
    errors.EntitySynced: 409,
    errors.UsernameTaken: 409,
    errors.VersionConflict: 412,
    errors.Busy: 503,
    errors.SyncRejected: 422,
    TooManyAttempts: 429,
    RunNotWaiting: 409,
    RunBusy: 409,
}


def status_of(error: errors.RollbookError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def error_body(
    code: str, message: str, *, field: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return {"error": body}


def error_response(error: errors.RollbookError) -> JSONResponse:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(error, errors.Busy):
        headers = {"Retry-After": str(error.retry_after)}
    body = error_body(error.code, error.message, field=error.field, details=error.details)
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "form"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message_of(problem: dict[str, Any]) -> str:
    kind = problem.get("type", "")
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return "is not valid JSON"
    return str(problem.get("msg", "is not valid"))


def validation_response(error: RequestValidationError) -> JSONResponse:
    details = [
        {
            # A body that is not JSON at all is located at a character offset: name the body.
            "field": "body" if p.get("type") == "json_invalid" else _field_of(p.get("loc", ())),
            "message": _message_of(p),
        }
        for p in error.errors()
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    body = error_body(
        "validation_error", summary or "invalid input", field=details[0]["field"], details=details
    )
    return JSONResponse(body, status_code=422)


def install(app: FastAPI, *, security_headers: Mapping[str, str] | None = None) -> None:
    """Map every failure to the error body; never a traceback to the client.

    `security_headers` go on the 500 answer too: Starlette makes it outside every middleware
    (in its ServerErrorMiddleware), so the middleware that adds them to the others never sees it.
    """

    @app.exception_handler(errors.RollbookError)
    def on_rule(request: Request, error: errors.RollbookError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return validation_response(error)

    @app.exception_handler(HTTPException)
    def on_http(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400:
            # FastAPI's answer to a body it cannot decode at all (not UTF-8, a broken
            # multipart form): the contract's validation_error, naming the body.
            message = "could not be read: send UTF-8 JSON (or the form the operation takes)"
            detail = {"field": "body", "message": message}
            body = error_body(
                "validation_error", f"body: {message}", field="body", details=[detail]
            )
            return JSONResponse(body, status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        message = "no such address" if error.status_code == 404 else str(error.detail)
        return JSONResponse(
            error_body(code, message), status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    def on_crash(request: Request, error: Exception) -> JSONResponse:
        if is_busy(error):
            # The database said "not now" (SQLite's writer taken past the busy timeout, no
            # pooled connection in time): nothing was written; 503 busy, not a crash.
            log.warning("busy on %s %s: %s", request.method, request.url.path, error)
            response = error_response(errors.Busy())
            response.headers.update(security_headers or {})
            return response
        # Not `log.exception`: this handler runs after the `except` block, where no exception
        # is current any more, and the traceback would be lost ("NoneType: None").
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        body = error_body("internal_error", "something went wrong on our side; it was logged")
        return JSONResponse(body, status_code=500, headers=dict(security_headers or {}))
