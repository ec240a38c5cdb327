"""Helpers for the HTTP API tests: a migrated SQLite file per module, the app as served, an httpx client,
staff accounts with API tokens.

The app under test is `rxchat.api.build_api()` with a stand-in for Reflex mounted at "" behind it, exactly
where `rx.App(api_transformer=...)` mounts the real one, so "falls through to Reflex" is observable.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rxchat import api, db, migrations
from rxchat.models import AgentPublic
from rxchat.services import agents, catalog, chat
from rxchat.settings import settings

BASE_URL = "http://shop.test"
DEMO_PRODUCT = "aurora-lamp"  # a product of the demo catalog
OTHER_PRODUCT = "summit-backpack"  # another one, for "foreign session" cases
REFLEX_STAND_IN_PAGE = "<html>reflex stand-in 404</html>"
AGENT_PASSWORD = "correct horse battery staple"  # every test agent's; long enough for the service's rule


@asynccontextmanager
async def api_database(path: Path) -> AsyncIterator[None]:
    """Point rxchat.db at a fresh SQLite file at the newest schema with the demo catalog, for the block."""
    url = f"sqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    patch = pytest.MonkeyPatch()
    patch.setattr(settings, "db_url", url)
    await db.dispose()
    try:
        async with db.session() as s:
            await catalog.seed_demo(s)
        yield
    finally:
        await db.dispose()
        patch.undo()


def _reflex_stand_in(request: Request) -> HTMLResponse:
    return HTMLResponse(REFLEX_STAND_IN_PAGE, status_code=404 if request.url.path != "/ping" else 200)


def served_app() -> FastAPI:
    """The API as rx.App(api_transformer=...) serves it: Reflex (here a stand-in) mounted at "" behind it."""
    app = api.build_api()
    app.mount("", Starlette(routes=[Route("/{path:path}", _reflex_stand_in, methods=["GET", "POST", "PUT", "DELETE"])]))
    return app


def client_for(app: FastAPI, *, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def sessions_url(product_id: str = DEMO_PRODUCT) -> str:
    return f"/api/products/{product_id}/chat/sessions"


def session_url(session_id: str, product_id: str = DEMO_PRODUCT) -> str:
    return f"{sessions_url(product_id)}/{session_id}"


def messages_url(session_id: str, product_id: str = DEMO_PRODUCT) -> str:
    return f"{session_url(session_id, product_id)}/messages"


async def new_session(client: httpx.AsyncClient, product_id: str = DEMO_PRODUCT) -> str:
    response = await client.post(sessions_url(product_id))
    assert response.status_code == 201, response.text
    return response.json()["session_id"]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is `status` with the one error shape (and `code`, when given); returns the error object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


# --- staff ----------------------------------------------------------------------------------------------------


async def new_agent(email: str, name: str = "Sam Staff") -> tuple[AgentPublic, str]:
    """A staff account created through the service, and a new API token for it (as create-api-token prints)."""
    async with db.session() as s:
        agent = await agents.create_agent(s, email=email, name=name, password=AGENT_PASSWORD)
        token = await agents.create_api_token(s, email=email)
    return agent, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def conversation_of(session_id: str) -> str:
    """The public handle staff use for a shopper's session."""
    async with db.session() as s:
        found = await chat.find_session(s, session_id=session_id)
    assert found is not None
    return found.public_id


def conversations_url() -> str:
    return "/api/agent/conversations"


def conversation_url(conversation: str) -> str:
    return f"{conversations_url()}/{conversation}"


def replies_url(conversation: str) -> str:
    return f"{conversation_url(conversation)}/messages"
