"""The guard in front of every /api request: body size and JSON depth limits, and a last-resort 500."""

import logging
import re

from fastapi import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rxchat.api.deps import MAX_BODY_BYTES, MAX_JSON_DEPTH, is_api_path
from rxchat.api.errors import HTTP_CODES, INTERNAL_ERROR, error_response

logger = logging.getLogger(__name__)

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
        if scope["type"] != "http" or not is_api_path(scope["path"]):
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
