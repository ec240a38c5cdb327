"""The HTTP API as a specification: sessions, messages, paging, idempotency, errors, limits, OpenAPI.

One SQLite file for the module, migrated with Alembic and seeded with the demo catalog; requests go through
httpx's ASGI transport into the app that rx.App(api_transformer=...) mounts.
"""

import json
import re

import pytest
import pytest_asyncio

from api_support import (
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    REFLEX_STAND_IN_PAGE,
    assert_error,
    client_for,
    messages_url,
    new_session,
    session_url,
    sessions_url,
)
from rxchat import db
from rxchat.services import chat, limits, publish
from rxchat.services.events import MessagePosted
from rxchat.settings import settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SESSION_ID_RE = re.compile(r"^cs_[0-9a-f]{48}$")
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LEGACY_ID = "session_1700000000000_abc123_fp9"
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"  # a database of its own: reset() clears the windows stored there


@pytest_asyncio.fixture(loop_scope="module")
async def session_id(client):
    return await new_session(client)


async def post(client, session_id, content, **kwargs):
    return await client.post(messages_url(session_id), json={"content": content}, **kwargs)


# --- sessions -------------------------------------------------------------------------------------------------


async def test_create_session_returns_201_with_secret_id(client):
    response = await client.post(sessions_url())

    assert response.status_code == 201
    body = response.json()
    assert SESSION_ID_RE.match(body["session_id"])
    assert body["product_id"] == DEMO_PRODUCT
    assert ISO_Z_RE.match(body["created_at"])
    assert body["message_count"] == 0
    assert body["is_active"] is True
    assert body["customer_name"] is None


async def test_create_session_with_profile_stores_it(client):
    response = await client.post(sessions_url(), json={"customer_name": "  Ada  ", "customer_email": "ada@example.com"})

    assert response.status_code == 201
    assert response.json()["customer_name"] == "Ada"
    fetched = await client.get(session_url(response.json()["session_id"]))
    assert fetched.status_code == 200
    assert fetched.json()["customer_email"] == "ada@example.com"


@pytest.mark.parametrize(
    "profile",
    [
        {"customer_email": "not-an-email"},
        {"customer_email": "a@b.c" + "x" * 300},
        {"customer_name": "N" * 81},
        {"customer_name": "bell\x07"},
        {"customer_name": "lone \ud800 surrogate"},
        {"customer_email": "\ud800@example.com"},
        {"customer_email": "ada\u200b@example.com"},
        {"customer_name": 42},
        {"nickname": "extra fields are refused"},
    ],
)
async def test_create_session_invalid_profile_is_422(client, profile):
    body = json.dumps(profile).encode()  # ASCII escapes, so lone surrogates travel as JSON allows them

    response = await client.post(sessions_url(), content=body, headers={"content-type": "application/json"})

    assert_error(response, 422, "invalid_input")


async def test_create_session_unknown_product_is_404(client):
    response = await client.post(sessions_url("no-such-product"))

    assert_error(response, 404, "product_not_found")


async def test_create_session_malformed_product_id_is_404(client):
    response = await client.post(sessions_url("x" * 65))

    assert_error(response, 404, "product_not_found")


async def test_create_session_over_hourly_limit_per_address_is_429(app, monkeypatch):
    monkeypatch.setattr(settings, "sessions_per_hour", 2)
    async with client_for(app, address="203.0.113.7") as limited, client_for(app, address="203.0.113.8") as other:
        assert (await limited.post(sessions_url())).status_code == 201
        assert (await limited.post(sessions_url(OTHER_PRODUCT))).status_code == 201

        refused = await limited.post(sessions_url())
        elsewhere = await other.post(sessions_url())

    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert elsewhere.status_code == 201


async def test_get_session_returns_it(client, session_id):
    response = await client.get(session_url(session_id))

    assert response.status_code == 200
    assert response.json()["session_id"] == session_id
    assert response.json()["product_id"] == DEMO_PRODUCT


async def test_get_session_unknown_id_is_404(client):
    response = await client.get(session_url("cs_" + "0" * 48))

    assert_error(response, 404, "session_not_found")


async def test_get_session_under_another_product_is_404(client, session_id):
    response = await client.get(session_url(session_id, OTHER_PRODUCT))

    assert_error(response, 404, "session_not_found")


async def test_get_session_under_unknown_product_is_404(client, session_id):
    response = await client.get(session_url(session_id, "no-such-product"))

    assert_error(response, 404, "product_not_found")


async def test_get_session_legacy_id_is_404(client):
    response = await client.get(session_url(LEGACY_ID))
    posted = await post(client, LEGACY_ID, "hello")

    assert_error(response, 404, "session_not_found")
    assert_error(posted, 404, "session_not_found")


async def test_delete_session_is_204_then_gone(client, session_id):
    await post(client, session_id, "please forget me")

    response = await client.delete(session_url(session_id))

    assert response.status_code == 204
    assert response.content == b""
    assert_error(await client.get(session_url(session_id)), 404, "session_not_found")
    assert_error(await client.get(messages_url(session_id)), 404, "session_not_found")
    assert_error(await post(client, session_id, "again"), 404, "session_not_found")
    assert_error(await client.delete(session_url(session_id)), 404, "session_not_found")


async def test_delete_session_under_another_product_is_404_and_keeps_it(client, session_id):
    response = await client.delete(session_url(session_id, OTHER_PRODUCT))

    assert_error(response, 404, "session_not_found")
    assert (await client.get(session_url(session_id))).status_code == 200


# --- messages -------------------------------------------------------------------------------------------------


async def test_post_message_returns_201_with_stored_message(client, session_id):
    response = await post(client, session_id, "  Does it fit a 60 cm shelf?  ")

    assert response.status_code == 201
    message = response.json()
    assert message["body"] == "Does it fit a 60 cm shelf?"
    assert message["author"] == "shopper"
    assert message["seq"] == 1
    assert ISO_Z_RE.match(message["created_at"])
    assert session_id not in response.text
    session = (await client.get(session_url(session_id))).json()
    assert session["message_count"] == 1


async def test_post_message_publishes_live_event(client, session_id):
    events = []
    publish.add_publisher(events.append)
    try:
        response = await post(client, session_id, "live please")
    finally:
        publish.remove_publisher(events.append)

    assert response.status_code == 201
    assert [type(e) for e in events] == [MessagePosted]
    assert events[0].message.body == "live please"
    assert session_id not in repr(events)


async def test_list_messages_newest_first(client, session_id):
    for text in ("first", "second", "third"):
        await post(client, session_id, text)

    response = await client.get(messages_url(session_id))

    assert response.status_code == 200
    body = response.json()
    assert [m["body"] for m in body["messages"]] == ["third", "second", "first"]
    assert [m["seq"] for m in body["messages"]] == [3, 2, 1]
    assert body["next_before"] is None


async def test_list_messages_pages_back_with_cursor(client, session_id):
    for n in range(1, 8):
        await post(client, session_id, f"message {n}")

    first = await client.get(messages_url(session_id), params={"limit": 3})
    second = await client.get(messages_url(session_id), params={"limit": 3, "before": first.json()["next_before"]})
    third = await client.get(messages_url(session_id), params={"limit": 3, "before": second.json()["next_before"]})

    assert first.status_code == second.status_code == third.status_code == 200
    assert [m["seq"] for m in first.json()["messages"]] == [7, 6, 5]
    assert first.json()["next_before"] == 5
    assert [m["seq"] for m in second.json()["messages"]] == [4, 3, 2]
    assert [m["body"] for m in third.json()["messages"]] == ["message 1"]
    assert third.json()["next_before"] is None


async def test_list_messages_limit_is_capped_at_100(client, session_id):
    async with db.session() as s:
        current = await chat.get_session(s, product_id=DEMO_PRODUCT, session_id=session_id)
        for n in range(105):
            await chat.post_message(s, chat=current, author="agent", body=f"reply {n}", agent_name="Sam")

    response = await client.get(messages_url(session_id), params={"limit": 1000})

    assert response.status_code == 200
    assert len(response.json()["messages"]) == 100
    assert response.json()["next_before"] == 6


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"before": 0}, {"before": 2**40}])
async def test_list_messages_bad_paging_is_422(client, session_id, params):
    response = await client.get(messages_url(session_id), params=params)

    assert_error(response, 422, "invalid_input")


async def test_post_message_retry_with_idempotency_key_returns_same_message(client, session_id):
    first = await post(client, session_id, "only once", headers={"Idempotency-Key": "k-1"})
    retry = await post(client, session_id, "only once", headers={"Idempotency-Key": "k-1"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert first.json()["client_key"] == "k-1"
    listed = (await client.get(messages_url(session_id))).json()["messages"]
    assert [m["body"] for m in listed] == ["only once"]


async def test_post_message_same_key_other_session_is_independent(client, session_id):
    other = await new_session(client)

    a = await post(client, session_id, "same key", headers={"Idempotency-Key": "shared"})
    b = await post(client, other, "same key", headers={"Idempotency-Key": "shared"})

    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_post_message_reused_key_with_other_text_is_409(client, session_id):
    await post(client, session_id, "original", headers={"Idempotency-Key": "k-2"})

    response = await post(client, session_id, "something else", headers={"Idempotency-Key": "k-2"})

    assert_error(response, 409, "idempotency_key_reused")
    assert len((await client.get(messages_url(session_id))).json()["messages"]) == 1


@pytest.mark.parametrize("key", ["k" * 65, "tab\there"])
async def test_post_message_bad_idempotency_key_is_422(client, session_id, key):
    response = await post(client, session_id, "hi", headers={"Idempotency-Key": key})

    assert_error(response, 422, "invalid_input")


async def test_post_message_too_long_is_422(client, session_id):
    response = await post(client, session_id, "x" * 4001)

    error = assert_error(response, 422, "message_too_long")
    assert "4,000" in error["message"]
    assert (await client.get(session_url(session_id))).json()["message_count"] == 0


async def test_post_message_at_limit_is_stored_whole(client, session_id):
    response = await post(client, session_id, "y" * 4000)

    assert response.status_code == 201
    assert response.json()["body"] == "y" * 4000


@pytest.mark.parametrize("content", ["", "   ", "\n\t \r\n", "\x00"])
async def test_post_message_empty_is_422(client, session_id, content):
    response = await post(client, session_id, content)

    assert_error(response, 422, "message_empty")


@pytest.mark.parametrize("payload", [{}, {"content": None}, {"content": 7}, {"content": ["a"]}, ["content"], "text"])
async def test_post_message_wrong_shape_is_422(client, session_id, payload):
    response = await client.post(messages_url(session_id), json=payload)

    assert_error(response, 422, "invalid_input")


async def test_post_message_over_minute_limit_is_429_with_retry_after(client, session_id, monkeypatch):
    monkeypatch.setattr(settings, "messages_per_minute", 3)
    for n in range(3):
        assert (await post(client, session_id, f"quick {n}")).status_code == 201

    refused = await post(client, session_id, "one too many")
    replay = await post(client, session_id, "quick 0 again", headers={"Idempotency-Key": "after-limit"})

    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert_error(replay, 429, "rate_limited")
    assert len((await client.get(messages_url(session_id))).json()["messages"]) == 3


async def test_a_retry_of_a_stored_message_over_the_limit_returns_it(client, session_id, monkeypatch):
    monkeypatch.setattr(settings, "messages_per_minute", 1)
    first = await post(client, session_id, "only one", headers={"Idempotency-Key": "retried"})

    retry = await post(client, session_id, "only one", headers={"Idempotency-Key": "retried"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert len((await client.get(messages_url(session_id))).json()["messages"]) == 1


async def test_message_limit_is_per_session(client, session_id, monkeypatch):
    monkeypatch.setattr(settings, "messages_per_minute", 1)
    other = await new_session(client)

    assert (await post(client, session_id, "one")).status_code == 201
    assert (await post(client, other, "one")).status_code == 201
    assert (await post(client, session_id, "two")).status_code == 429


@pytest.mark.services
async def test_message_limit_is_shared_through_redis_across_workers(client, session_id, monkeypatch):
    """With REFLEX_REDIS_URL set, a second worker (a fresh limiter) sees the first one's count."""
    await limits.reset()
    monkeypatch.setattr(settings, "redis_url", REDIS_TEST_URL)
    monkeypatch.setattr(settings, "messages_per_minute", 2)
    try:
        assert (await post(client, session_id, "worker one")).status_code == 201
        limits._limiters.clear()  # as if the next request reached another worker
        assert (await post(client, session_id, "worker two")).status_code == 201
        limits._limiters.clear()

        refused = await post(client, session_id, "worker three")
    finally:
        await limits.reset()  # drops this test's Redis windows and the Redis-backed limiter

    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


# --- the rest of /api and what lies outside it ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nope", "/api/products", "/api/products/aurora-lamp/chat"])
async def test_unknown_api_path_is_404_json(client, path):
    response = await client.get(path)

    assert_error(response, 404, "not_found")


async def test_wrong_method_is_405_json_with_allow(client, session_id):
    response = await client.put(session_url(session_id), json={})

    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) >= {"GET", "DELETE"}


async def test_paths_outside_api_fall_through_to_reflex(client):
    page = await client.get("/products/aurora-lamp/nothing")
    ping = await client.get("/ping")

    assert page.status_code == 404
    assert page.text == REFLEX_STAND_IN_PAGE
    assert ping.status_code == 200


async def test_openapi_document_is_served(client):
    response = await client.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    assert {path for path in paths if not path.startswith("/api/agent/")} == {  # staff: test_api_agent.py
        "/api/products/{product_id}/chat/sessions",
        "/api/products/{product_id}/chat/sessions/{session_id}",
        "/api/products/{product_id}/chat/sessions/{session_id}/messages",
        "/api/health",
    }
    post_message = paths["/api/products/{product_id}/chat/sessions/{session_id}/messages"]["post"]
    assert {"201", "200", "404", "413", "422", "429"} <= set(post_message["responses"])
    assert "Retry-After" in post_message["responses"]["429"]["headers"]
    assert post_message["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


async def test_docs_page_is_served(client):
    response = await client.get("/api/docs")

    assert response.status_code == 200
    assert "/api/openapi.json" in response.text
