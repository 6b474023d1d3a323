"""Machine-readable error bodies and the exception handlers that produce them.

Every error answer has the shape ``{"error": {"status", "code", "message", "field", "details",
"problems"}}``: ``code`` is stable, ``field`` names the request field at fault (a body field
such as ``requested_kva`` or ``applications.3.tier``, a query or path parameter, or a header
such as ``Authorization`` / ``Idempotency-Key``). Bad input is always a 4xx; an unexpected
exception is logged with an id and answered with a 500 that reveals nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from grid_models.errors import ApplicationError, GridSchemeError, InputError

log = logging.getLogger("gridscheme.service")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
          413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_request",
          429: "too_many_requests", 503: "not_ready"}
_LOCATIONS = ("body", "query", "path", "header", "cookie")
#: tags of discriminated unions (job kinds) that pydantic puts in an error's location; dropped
#: so a field is named the same whether one or several job kinds exist
DISCRIMINATOR_TAGS: set[str] = set()


class ErrorDetail(BaseModel):
    """One field error."""

    field: str | None = None
    message: str
    location: str | None = None


class ErrorInfo(BaseModel):
    """What went wrong, for machines (``code``, ``field``) and people (``message``)."""

    status: int
    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)
    problems: list[dict[str, Any]] = Field(
        default_factory=list, description="network validation problems (code, layer, "
                                          "element_id, message, severity)")


class ErrorBody(BaseModel):
    """Body of every 4xx/5xx answer."""

    error: ErrorInfo


class ApiError(StarletteHTTPException):
    """An HTTP error with a stable code and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 details: list[dict[str, Any]] | None = None,
                 problems: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code, self.message, self.field = code, message, field
        self.details, self.problems = details or [], problems or []


def error_response(status: int, code: str, message: str, field: str | None = None,
                   details: list[dict[str, Any]] | None = None,
                   problems: list[dict[str, Any]] | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON error answer."""
    body = {"error": {"status": status, "code": code, "message": message, "field": field,
                      "details": details or [], "problems": problems or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(what: str, field: str | None = None) -> ApiError:
    """404 that says only what was asked for (never whether it exists for someone else)."""
    return ApiError(404, "not_found", f"{what} not found", field=field)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> tuple[str | None, str | None]:
    loc = list(loc)
    where = loc[0] if loc and loc[0] in _LOCATIONS else None
    rest = loc[1:] if where else loc
    if where == "body" and rest and rest[0] in DISCRIMINATOR_TAGS:
        rest = rest[1:]  # body.plan_batch.applications -> applications
    return (".".join(str(x) for x in rest) or where), where


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into an :class:`ErrorBody`."""

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.field, exc.details,
                              exc.problems, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        msg = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 400 and "parsing the body" in msg:
            # undecodable bytes or JSON nested beyond the parser's depth: invalid input, as any
            # other malformed body
            return error_response(422, "invalid_body", "the request body is not valid UTF-8 "
                                  "JSON (or nests too deeply)", "body")
        return error_response(exc.status_code, code, msg, None, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors()[:50]:
            fld, where = _field_of(e.get("loc", ()))
            msg = str(e.get("msg", "invalid"))
            if e.get("type") == "json_invalid":
                msg = f"invalid JSON: {e.get('ctx', {}).get('error', '')}".strip()
                fld = "body"
            details.append({"field": fld, "message": msg, "location": where})
        if not details:
            return error_response(422, "invalid_request", "invalid request", None, details)
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:10])
        return error_response(422, "invalid_request", message, details[0]["field"], details)

    @app.exception_handler(ApplicationError)
    async def _application(_req: Request, exc: ApplicationError) -> JSONResponse:
        return error_response(422, "invalid_application", str(exc), exc.field)

    @app.exception_handler(InputError)
    async def _input(_req: Request, exc: InputError) -> JSONResponse:
        return error_response(422, "invalid_input", str(exc), exc.field)

    @app.exception_handler(GridSchemeError)
    async def _engine(_req: Request, exc: GridSchemeError) -> JSONResponse:
        return error_response(422, "cannot_process", str(exc), None)

    @app.exception_handler(RecursionError)
    async def _deep(_req: Request, _exc: RecursionError) -> JSONResponse:
        return error_response(422, "invalid_body", "the request nests too deeply", "body")

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        ref = secrets.token_hex(6)
        log.exception("unexpected error %s on %s %s", ref, req.method, req.url.path,
                      exc_info=exc)
        return error_response(500, "internal_error",
                              f"internal error (reference {ref})", None)


#: ``responses=`` entries documenting the error body for the usual statuses.
def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, all with :class:`ErrorBody`."""
    text = {400: "Malformed request", 401: "Missing, unknown or revoked token",
            403: "The token's role may not do this", 404: "Not found (or not yours)",
            409: "Conflict (Idempotency-Key reused with another body)",
            413: "Request body too large", 415: "Unsupported media type",
            422: "Invalid input (the field is named)", 503: "Not ready"}
    return {s: {"model": ErrorBody, "description": text.get(s, "Error")} for s in statuses}
