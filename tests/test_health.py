"""GET /api/health: 200 when the database and Redis answer, 503 naming what does not, never a secret.

Needs the machine's Redis (127.0.0.1:6379) for the "all fine" case; "unreachable" is a port nobody listens on.
"""

import pytest

from rxchat import db
from rxchat.settings import settings
from server import free_port

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.services]

LIVE_REDIS = "redis://127.0.0.1:6379/14"


async def test_all_reachable_is_200(client, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", LIVE_REDIS)
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_one_process_without_redis_is_200(client, monkeypatch):
    monkeypatch.setattr(settings, "redis_url", None)
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["redis"] == "not_configured"


async def test_redis_unreachable_is_503_without_its_address(client, monkeypatch):
    port = free_port()
    monkeypatch.setattr(settings, "redis_url", f"redis://:hunter2secret@127.0.0.1:{port}/0")
    response = await client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
    assert str(port) not in response.text and "hunter2secret" not in response.text


async def test_database_unreachable_is_503(client, monkeypatch):
    port = free_port()
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(settings, "db_url", f"postgresql://postgres:pw-secret@127.0.0.1:{port}/nowhere")
    try:
        response = await client.get("/api/health")
    finally:
        monkeypatch.undo()
        await db.dispose()  # drop the engine for the unreachable URL
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable", "redis": "not_configured"}
    assert "pw-secret" not in response.text and str(port) not in response.text
