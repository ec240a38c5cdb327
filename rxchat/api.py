"""The HTTP API under /api: a shopper's chat sessions and messages (here), staff's under /api/agent
(rxchat/api_staff.py, authenticated by API tokens).

Thin by design: each route takes its input, awaits one service call and
returns a public shape; rxchat.services decide everything (validation of
text, ids, expiry, rate limits) and publish live updates after they commit,
so a message posted here shows in open widgets at once.

`build_api()` returns a FastAPI app that rxchat/rxchat.py hands to
`rx.App(api_transformer=...)`; Reflex mounts itself at "" behind it, so this
app must answer every /api path itself (a catch-all 404/405), and everything
else falls through to Reflex untouched.

Errors are always `{"error": {"code": ..., "message": ...}}`, never a stack
trace: domain errors keep their own status, code and headers (a staff 401
carries WWW-Authenticate); validation 422; malformed JSON 400; JSON nested
deeper than MAX_JSON_DEPTH 400; bodies over MAX_BODY_BYTES 413; rate limits
429 with Retry-After; anything unexpected a generic 500. OpenAPI:
/api/openapi.json, browsable at /api/docs.
"""

import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rxchat import db, redaction
from rxchat.models import ChatSession, MessagePublic, SessionPublic
from rxchat.services import chat, errors
from rxchat.settings import settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api"
MAX_BODY_BYTES = 64 * 1024  # request bodies over this are refused (413) before anything parses them
MAX_JSON_DEPTH = 32  # JSON nested deeper than this is refused (400) before anything parses it
MAX_SEQ = 2**31 - 1  # `before=` is a message seq, a 32-bit column
EMAIL_RE = re.compile(r"^[^@\s<>\"'`]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
PRODUCT_ID_DOC = "The product's id: 1-64 characters of A-Z a-z 0-9 _ -; unknown ids answer 404."
SESSION_ID_DOC = "The secret session id from POST .../chat/sessions; unknown, expired or foreign ids answer 404."


# --- shapes -----------------------------------------------------------------------------------------------------


# The one error shape every failure of this API has.
class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. `session_not_found`.")
    message: str = Field(description="A human sentence that may be shown to the shopper.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


# What a shopper may say about themselves when starting a session (all optional).
class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_name: str | None = Field(default=None, max_length=settings.max_name_chars, examples=["Ada"])
    customer_email: str | None = Field(default=None, max_length=254, examples=["ada@example.com"])

    @field_validator("customer_name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value.isprintable():  # control characters, lone surrogates (unstorable), invisible formatting
            raise ValueError("a name may contain only printable characters")
        return value or None

    @field_validator("customer_email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not (value.isprintable() and EMAIL_RE.match(value)):
            raise ValueError("not a valid email address")
        return value or None


# A message as a shopper sends it; the service trims it and applies the length rules.
class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        description=f"The text, stored as sent after trimming; at most {settings.max_message_chars} characters.",
        examples=["Does this lamp fit a 60 cm shelf?"],
    )


# A page of a thread, newest first; pass `next_before` as `before=` for the page before it.
class MessagePage(BaseModel):
    messages: list[MessagePublic]
    next_before: int | None = Field(description="The cursor for older messages; null on the oldest page.")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Malformed or too deeply nested JSON.",
        404: "Unknown product, or unknown, expired or foreign session.",
        413: f"Request body over {MAX_BODY_BYTES} bytes.",
        422: "Invalid input (empty or too long message, bad field).",
        429: "Rate limited; retry after `Retry-After` seconds.",
        500: "Unexpected server error.",
    }
    responses: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 500):
        responses[status] = {"model": ErrorResponse, "description": described[status]}
    if 429 in statuses:
        responses[429]["headers"] = {
            "Retry-After": {"description": "Seconds until a request may succeed.", "schema": {"type": "integer"}}
        }
    return responses


# --- dependencies ---------------------------------------------------------------------------------------------


async def get_db() -> AsyncIterator[AsyncSession]:
    async with db.session() as s:
        yield s


DbDep = Annotated[AsyncSession, Depends(get_db)]
ProductId = Annotated[str, Path(description=PRODUCT_ID_DOC, examples=["aurora-lamp"])]
SessionId = Annotated[str, Path(description=SESSION_ID_DOC)]


async def get_chat(product_id: ProductId, session_id: SessionId, s: DbDep) -> ChatSession:
    """The session named by the path, or 404 (product_not_found / session_not_found)."""
    await chat.get_product(s, product_id=product_id)
    return await chat.get_session(s, product_id=product_id, session_id=session_id)


ChatDep = Annotated[ChatSession, Depends(get_chat)]


def client_address(request: Request) -> str | None:
    """The peer address, for the per-address session limit (a proxy in front makes every client one peer)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]


# --- routes ---------------------------------------------------------------------------------------------------

sessions = APIRouter(prefix=f"{API_PREFIX}/products/{{product_id}}/chat/sessions", tags=["sessions"])
messages = APIRouter(
    prefix=f"{API_PREFIX}/products/{{product_id}}/chat/sessions/{{session_id}}/messages", tags=["messages"]
)


@sessions.post(
    "",
    status_code=201,
    response_model=SessionPublic,
    response_description="The new session.",
    responses=_errors(400, 404, 413, 422, 429),
)
async def create_session(
    product_id: ProductId,
    s: DbDep,
    address: ClientAddress,
    profile: Annotated[SessionCreate | None, Body()] = None,
) -> SessionPublic:
    """Start a conversation about a product. The returned `session_id` is a secret: keep it like a password."""
    profile = profile or SessionCreate()
    created = await chat.create_session(
        s,
        product_id=product_id,
        customer_name=profile.customer_name,
        customer_email=profile.customer_email,
        client_address=address,
    )
    return chat.to_session_public(created)


@sessions.get("/{session_id}", response_model=SessionPublic, responses=_errors(404))
async def get_session(current: ChatDep) -> SessionPublic:
    """The session: its product, profile, activity and status."""
    return chat.to_session_public(current)


@sessions.delete("/{session_id}", status_code=204, response_class=Response, responses=_errors(404))
async def delete_session(current: ChatDep, s: DbDep) -> Response:
    """Erase the conversation and all its messages; the id answers 404 afterwards."""
    await chat.delete_session(s, chat=current)
    return Response(status_code=204)


class IdempotencyKeyReused(errors.ChatError):
    code = "idempotency_key_reused"
    status = 409
    message = "This Idempotency-Key was already used for a different message."


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Up to 64 printable characters; a retry with the same key stores nothing new.",
    ),
]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=MAX_SEQ, description="Only messages older than this seq (a cursor).")
]
LimitQuery = Annotated[int, Query(ge=1, description=f"Page size; larger values are capped at {chat.MAX_PAGE_SIZE}.")]


@messages.post(
    "",
    status_code=201,
    response_model=MessagePublic,
    response_description="The stored message.",
    responses={
        200: {
            "model": MessagePublic,
            "description": "A retry with an Idempotency-Key already used: the message stored then.",
        },
        409: {"model": ErrorResponse, "description": "The Idempotency-Key was used for a different text."},
        **_errors(400, 404, 413, 422, 429),
    },
)
async def post_message(
    payload: MessageCreate,
    current: ChatDep,
    s: DbDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessagePublic:
    """Post a shopper message: 201 with the stored message; a retry with the same Idempotency-Key gets 200 and it."""
    message, created = await chat.post_message(
        s, chat=current, author="shopper", body=payload.content, client_key=idempotency_key
    )
    if not created:
        if message.author != "shopper" or message.body != chat.clean_body(payload.content):
            raise IdempotencyKeyReused()  # keys are per conversation: an agent's reply is not this retry
        response.status_code = 200
    return message


@messages.get("", response_model=MessagePage, responses=_errors(404, 422))
async def list_messages(
    current: ChatDep,
    s: DbDep,
    before: BeforeQuery = None,
    limit: LimitQuery = chat.PAGE_SIZE,
) -> MessagePage:
    """The thread newest first, one page at a time."""
    page, next_before = await chat.list_messages(s, chat=current, before=before, limit=limit)  # capped there
    return MessagePage(messages=page, next_before=next_before)


# --- errors ---------------------------------------------------------------------------------------------------

HTTP_CODES = {
    400: ("bad_request", "The request could not be read."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("body_too_large", f"The request body is too large (limit {MAX_BODY_BYTES} bytes)."),
    415: ("unsupported_media_type", "Send JSON."),
}
INTERNAL_ERROR = ("internal_error", "Something went wrong on our side. Please try again.")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


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
    if _is_api_path(request.url.path):
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


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


# --- the guard in front of every /api request -----------------------------------------------------------------

JSON_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
JSON_NESTING_RE = re.compile(rb"[\[\]{}]")


def json_too_deep(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than max_depth (strings ignored); cheap, no parsing."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    depth = 0
    for match in JSON_NESTING_RE.finditer(JSON_STRING_RE.sub(b'""', body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > max_depth:
            return True
    return False


class ApiGuard:
    """ASGI middleware for /api requests only: body size and JSON depth limits, and a last-resort 500.

    The body is read here, at most MAX_BODY_BYTES of it (Content-Length is checked first, then the bytes
    that actually arrive), and replayed to the app. Other paths (Reflex's pages, its socket) pass untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        refusal, body = await self._read_body(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, replay, tracked_send)
        except Exception:
            logger.exception("API request failed: %s %s", scope.get("method"), scope["path"])
            if not started:
                await error_response(500, *INTERNAL_ERROR)(scope, receive, send)

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive) -> tuple[Response | None, bytes | None]:
        too_large = error_response(413, *HTTP_CODES[413])
        declared = [value for name, value in scope.get("headers", []) if name == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                return error_response(400, "bad_request", "Content-Length is not a number."), None
            if length > MAX_BODY_BYTES:
                return too_large, None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None, None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return too_large, None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_too_deep(body):
            return error_response(
                400, "json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels is refused."
            ), None
        return None, body


# --- the app --------------------------------------------------------------------------------------------------


def build_api() -> FastAPI:
    """The FastAPI app serving /api, for `rx.App(api_transformer=...)` (and the tests, on its own)."""
    from rxchat import api_staff  # here, not at the top: api_staff builds on this module's shapes

    redaction.install()
    api = FastAPI(
        title="rxchat API",
        summary="Live product chat for online stores: a shopper's sessions and messages, and staff replies.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    api.include_router(sessions)
    api.include_router(messages)
    api.include_router(api_staff.router)
    api.add_api_route(API_PREFIX, _unknown_api_path, methods=ALL_METHODS, include_in_schema=False)
    api.add_api_route(f"{API_PREFIX}/{{path:path}}", _unknown_api_path, methods=ALL_METHODS, include_in_schema=False)
    api.add_exception_handler(errors.ChatError, _on_chat_error)
    api.add_exception_handler(RequestValidationError, _on_validation_error)
    api.add_exception_handler(HTTPException, _on_http_error)
    api.add_exception_handler(Exception, _on_unexpected_error)
    api.add_middleware(ApiGuard)
    return api
