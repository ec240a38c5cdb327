"""How the API fails, in one place: the error shape, its documentation in the OpenAPI document, and the
handlers that turn every failure into it.

Errors are always `{"error": {"code": ..., "message": ...}}`, never a stack trace: domain errors keep their
own status, code and headers (a staff 401 carries WWW-Authenticate); validation 422; malformed JSON 400;
rate limits 429 with Retry-After; an /api path no route takes 404 (or 405 when another method would
match); anything unexpected a generic 500. (Oversized and too deeply nested bodies are refused before
routing, by rxchat/api/guard.py, in the same shape.)
"""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from rxchat.api.deps import API_PREFIX, MAX_BODY_BYTES, is_api_path
from rxchat.services import errors

logger = logging.getLogger(__name__)


# --- the shape ----------------------------------------------------------------------------------------------------


# The one error shape every failure of this API has.
class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. `session_not_found`.")
    message: str = Field(description="A human sentence that may be shown to the shopper.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# --- in the OpenAPI document --------------------------------------------------------------------------------------

DESCRIBED = {
    400: "Malformed or too deeply nested JSON.",
    401: "Missing, unknown, revoked or non-API token, or a deactivated staff account.",
    404: "Nothing with that id.",
    409: "The Idempotency-Key was used for a different message in this conversation.",
    413: f"Request body over {MAX_BODY_BYTES} bytes.",
    422: "Invalid input (empty or too long message, bad field or parameter).",
    429: "Rate limited; retry after `Retry-After` seconds.",
    500: "Unexpected server error.",
}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`, as RFC 6750 asks.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until a request may succeed.", "schema": {"type": "integer"}}},
}


def documented(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that may fail with `statuses` (500 always), each in the error shape.

    `described` words a status for the routes at hand (what "not found" means there, say).
    """
    wording = {**DESCRIBED, **(described or {})}
    responses: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 500):
        responses[status] = {"model": ErrorResponse, "description": wording[status]}
        if status in HEADERS:
            responses[status]["headers"] = HEADERS[status]
    return responses


# --- the handlers -------------------------------------------------------------------------------------------------

HTTP_CODES = {
    400: ("bad_request", "The request could not be read."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("body_too_large", f"The request body is too large (limit {MAX_BODY_BYTES} bytes)."),
    415: ("unsupported_media_type", "Send JSON."),
}
INTERNAL_ERROR = ("internal_error", "Something went wrong on our side. Please try again.")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


async def _on_chat_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.ChatError)
    headers = dict(getattr(error, "headers", None) or {})  # e.g. WWW-Authenticate on a 401
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return error_response(error.status, error.code, error.message, headers or None)


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    first = problems[0] if problems else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header"))
    what = str(first.get("msg", "Invalid input."))
    return error_response(422, "invalid_input", f"{where}: {what}" if where else what)


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code, message = HTTP_CODES.get(error.status_code, ("http_error", "The request was refused."))
    return error_response(error.status_code, code, message, dict(error.headers or {}))


async def _on_unexpected_error(request: Request, error: Exception) -> Response:
    logger.error("request failed: %s %s", request.method, request.url.path, exc_info=error)
    if is_api_path(request.url.path):
        return error_response(500, *INTERNAL_ERROR)
    return PlainTextResponse("Internal Server Error", status_code=500)


async def _unknown_api_path(request: Request) -> None:
    """Every /api path no route took: 405 if another method would match, else 404 (never Reflex's HTML page)."""
    routes = [
        r
        for r in request.app.router.routes
        if not isinstance(r, Mount) and getattr(r, "endpoint", None) is not _unknown_api_path  # Reflex is a Mount
    ]
    allowed = [
        method
        for method in ALL_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    if allowed:
        raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
    raise HTTPException(404)


def install(api: FastAPI) -> None:
    """The handlers, and the catch-all for /api paths no route takes: add it after every router."""
    api.add_api_route(API_PREFIX, _unknown_api_path, methods=ALL_METHODS, include_in_schema=False)
    api.add_api_route(f"{API_PREFIX}/{{path:path}}", _unknown_api_path, methods=ALL_METHODS, include_in_schema=False)
    api.add_exception_handler(errors.ChatError, _on_chat_error)
    api.add_exception_handler(RequestValidationError, _on_validation_error)
    api.add_exception_handler(HTTPException, _on_http_error)
    api.add_exception_handler(Exception, _on_unexpected_error)
