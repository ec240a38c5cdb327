"""The HTTP API under /api: a shopper's chat sessions and messages, and staff's under /api/agent.

`build_api()` returns a FastAPI app that `add_chat` puts into the app's `api_transformer` (inside a host's
own, if it has one); Reflex mounts itself at "" behind it, so this app answers every /api path itself (a
catch-all 404/405), and everything else falls through to Reflex untouched. OpenAPI: /api/openapi.json,
browsable at /api/docs.

Thin by design: each route takes its input, awaits rxchat.services and returns a public shape; the services
decide everything (validation of text, ids, expiry, rate limits) and publish live updates after they commit.

    deps.py      where the API lives, its request limits, and what routes depend on (database session,
                 path ids, paging, Idempotency-Key, client address, the staff bearer token)
    errors.py    the error shape, its documentation, the exception handlers, the catch-all for unknown paths
    guard.py     body size and JSON depth limits in front of every /api request, a last-resort 500
    messages.py  what both halves share about a thread: a page of it, posting once per Idempotency-Key
    shopper.py   /api/products/{product_id}/chat/sessions/...
    staff.py     /api/agent/... (bearer token)
    staff_tools.py  /api/agent/canned-replies, /api/agent/reports (bearer token): the staff tools
    health.py    /api/health: database and Redis reachability, for proxies and orchestrators
"""

from fastapi import FastAPI

from rxchat import redaction
from rxchat.api import errors, health, shopper, staff, staff_tools
from rxchat.api.deps import API_PREFIX
from rxchat.api.guard import ApiGuard

__all__ = ["build_api"]


def build_api() -> FastAPI:
    """The FastAPI app serving /api, for an app's `api_transformer` (`add_chat`; the tests use it on its own)."""
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
    api.include_router(shopper.sessions)
    api.include_router(shopper.thread)
    api.include_router(staff.router)
    api.include_router(staff_tools.router)
    api.include_router(health.router)
    errors.install(api)  # after the routers: its catch-all takes what they leave
    api.add_middleware(ApiGuard)
    return api
