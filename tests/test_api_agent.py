"""The staff HTTP API under /api/agent as a specification: tokens, the inbox, threads, replies, closing.

One SQLite file for the module, migrated with Alembic and seeded with the demo catalog; agents and their
API tokens are made through the service functions (what `python -m rxchat create-api-token` calls), and
one test goes through the command itself. Requests go through httpx's ASGI transport into the app that
rx.App(api_transformer=...) mounts.
"""

import re

import pytest
import pytest_asyncio

from api_support import (
    AGENT_PASSWORD,
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    assert_error,
    bearer,
    conversation_of,
    conversation_url,
    conversations_url,
    messages_url,
    new_agent,
    new_session,
    replies_url,
)
from rxchat import db
from rxchat.services import agents, chat, publish
from rxchat.services.events import MessagePosted, StatusChanged
from rxchat.settings import settings
from server import base_env, run_cli

pytestmark = pytest.mark.asyncio(loop_scope="module")

HANDLE_RE = re.compile(r"^[0-9a-f]{16}$")
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UNKNOWN_HANDLE = "0123456789abcdef"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def staff(app):
    """The module's agent and its API token."""
    agent, token = await new_agent("sam@example.com", "Sam")
    return {"agent": agent, "token": token, "headers": bearer(token)}


@pytest_asyncio.fixture(loop_scope="module")
async def auth(staff):
    return staff["headers"]


async def start_thread(client, text="Is it dimmable?", product_id=DEMO_PRODUCT, **profile) -> tuple[str, str]:
    """A shopper session with one message; returns (session id, public handle)."""
    if profile:
        created = await client.post(f"/api/products/{product_id}/chat/sessions", json=profile)
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]
    else:
        session_id = await new_session(client, product_id)
    posted = await client.post(messages_url(session_id, product_id), json={"content": text})
    assert posted.status_code == 201, posted.text
    return session_id, await conversation_of(session_id)


@pytest_asyncio.fixture(loop_scope="module")
async def thread(client):
    return await start_thread(client)


async def reply(client, auth, conversation, content, **kwargs):
    return await client.post(replies_url(conversation), json={"content": content}, headers={**auth, **kwargs})


def handles(response) -> list[str]:
    return [c["conversation"] for c in response.json()["conversations"]]


# --- the inbox ------------------------------------------------------------------------------------------------


async def test_list_conversations_returns_public_handles(client, auth, thread):
    session_id, conversation = thread

    response = await client.get(conversations_url(), headers=auth)

    assert response.status_code == 200
    listed = {c["conversation"]: c for c in response.json()["conversations"]}
    assert conversation in listed
    item = listed[conversation]
    assert HANDLE_RE.match(item["conversation"])
    assert item["product_id"] == DEMO_PRODUCT
    assert item["product_name"]
    assert item["status"] == "open"
    assert item["last_message"] == "Is it dimmable?"
    assert item["last_author"] == "shopper"
    assert item["unread"] == 1
    assert ISO_Z_RE.match(item["last_activity"])
    assert session_id not in response.text
    assert "cs_" not in response.text


async def test_list_conversations_most_recent_first(client, auth):
    _, older = await start_thread(client, "older")
    _, newer = await start_thread(client, "newer")

    response = await client.get(conversations_url(), headers=auth)

    assert response.status_code == 200
    order = handles(response)
    assert order.index(newer) < order.index(older)


async def test_list_conversations_omits_threads_without_messages(client, auth):
    session_id = await new_session(client)
    empty = await conversation_of(session_id)

    response = await client.get(conversations_url(), headers=auth)

    assert response.status_code == 200
    assert empty not in handles(response)


async def test_list_conversations_filters_by_product(client, auth):
    _, lamp = await start_thread(client, "about the lamp")
    _, backpack = await start_thread(client, "about the backpack", product_id=OTHER_PRODUCT)

    response = await client.get(conversations_url(), params={"product_id": OTHER_PRODUCT}, headers=auth)

    assert response.status_code == 200
    assert backpack in handles(response)
    assert lamp not in handles(response)
    assert {c["product_id"] for c in response.json()["conversations"]} == {OTHER_PRODUCT}


async def test_list_conversations_filters_by_status(client, auth):
    _, still_open = await start_thread(client, "still open")
    _, closed = await start_thread(client, "to be closed")
    assert (await client.post(f"{conversation_url(closed)}/close", headers=auth)).status_code == 200

    open_only = await client.get(conversations_url(), params={"status": "open"}, headers=auth)
    closed_only = await client.get(conversations_url(), params={"status": "closed"}, headers=auth)

    assert open_only.status_code == closed_only.status_code == 200
    assert still_open in handles(open_only)
    assert closed not in handles(open_only)
    assert closed in handles(closed_only)
    assert still_open not in handles(closed_only)
    assert {c["status"] for c in closed_only.json()["conversations"]} == {"closed"}


async def test_list_conversations_limit_takes_the_most_recent(client, auth):
    await start_thread(client, "one")
    _, latest = await start_thread(client, "two")

    response = await client.get(conversations_url(), params={"limit": 1}, headers=auth)

    assert response.status_code == 200
    assert handles(response) == [latest]


@pytest.mark.parametrize(
    "params",
    [{"status": "pending"}, {"product_id": "x" * 65}, {"product_id": "a b"}, {"limit": 0}, {"limit": 501}],
)
async def test_list_conversations_bad_filter_is_422(client, auth, params):
    response = await client.get(conversations_url(), params=params, headers=auth)

    assert_error(response, 422, "invalid_input")


async def test_list_conversations_unknown_product_is_empty(client, auth, thread):
    response = await client.get(conversations_url(), params={"product_id": "no-such-product"}, headers=auth)

    assert response.status_code == 200
    assert response.json() == {"conversations": []}


# --- one conversation -----------------------------------------------------------------------------------------


async def test_get_conversation_returns_detail(client, auth):
    session_id, conversation = await start_thread(
        client, "hello", customer_name="Ada", customer_email="ada@example.com"
    )

    response = await client.get(conversation_url(conversation), headers=auth)

    assert response.status_code == 200
    detail = response.json()
    assert detail["conversation"] == conversation
    assert detail["product_id"] == DEMO_PRODUCT
    assert detail["product_name"] == "Aurora Desk Lamp"
    assert detail["shopper_label"].startswith("Visitor ")
    assert detail["customer_name"] == "Ada"
    assert detail["customer_email"] == "ada@example.com"
    assert detail["status"] == "open"
    assert detail["message_count"] == 1
    assert detail["last_seq"] == 1
    assert detail["agent_read_seq"] == 0
    assert ISO_Z_RE.match(detail["created_at"])
    assert session_id not in response.text
    assert "cs_" not in response.text


@pytest.mark.parametrize("suffix", ["", "/messages", "/close", "/reopen"])
async def test_unknown_conversation_is_404(client, auth, suffix):
    method = client.get if suffix in ("", "/messages") else client.post

    response = await method(conversation_url(UNKNOWN_HANDLE) + suffix, headers=auth)

    assert_error(response, 404, "session_not_found")


@pytest.mark.parametrize("handle", ["not-a-handle", "0123456789ABCDEF", "x" * 200, "%27%20OR%201%3D1"])
async def test_malformed_conversation_handle_is_404(client, auth, handle):
    response = await client.get(conversation_url(handle), headers=auth)

    assert_error(response, 404, "session_not_found")


async def test_session_id_is_not_a_conversation_handle(client, auth, thread):
    session_id, _ = thread

    response = await client.get(conversation_url(session_id), headers=auth)
    posted = await reply(client, auth, session_id, "through the secret id")

    assert_error(response, 404, "session_not_found")
    assert_error(posted, 404, "session_not_found")


async def test_erased_conversation_is_404(client, auth, thread):
    session_id, conversation = thread
    assert (await client.delete(f"/api/products/{DEMO_PRODUCT}/chat/sessions/{session_id}")).status_code == 204

    response = await client.get(conversation_url(conversation), headers=auth)
    posted = await reply(client, auth, conversation, "anyone there?")

    assert_error(response, 404, "session_not_found")
    assert_error(posted, 404, "session_not_found")


# --- reading the thread ---------------------------------------------------------------------------------------


async def test_list_messages_newest_first_and_pages_back(client, auth, thread):
    session_id, conversation = thread
    for n in range(2, 6):
        await client.post(messages_url(session_id), json={"content": f"message {n}"})

    first = await client.get(replies_url(conversation), params={"limit": 3}, headers=auth)
    second = await client.get(
        replies_url(conversation), params={"limit": 3, "before": first.json()["next_before"]}, headers=auth
    )

    assert first.status_code == second.status_code == 200
    assert [m["seq"] for m in first.json()["messages"]] == [5, 4, 3]
    assert first.json()["next_before"] == 3
    assert [m["body"] for m in second.json()["messages"]] == ["message 2", "Is it dimmable?"]
    assert second.json()["next_before"] is None
    assert {m["author"] for m in first.json()["messages"]} == {"shopper"}
    assert "cs_" not in first.text + second.text


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "ten"}, {"before": 0}, {"before": 2**40}])
async def test_list_messages_bad_paging_is_422(client, auth, thread, params):
    response = await client.get(replies_url(thread[1]), params=params, headers=auth)

    assert_error(response, 422, "invalid_input")


async def test_list_messages_limit_is_capped_at_100(client, auth, thread):
    session_id, conversation = thread
    async with db.session() as s:
        current = await chat.find_session(s, session_id=session_id)
        for n in range(104):
            await chat.post_message(s, chat=current, author="agent", body=f"reply {n}", agent_name="Sam")

    response = await client.get(replies_url(conversation), params={"limit": 1000}, headers=auth)

    assert response.status_code == 200
    assert len(response.json()["messages"]) == 100
    assert response.json()["next_before"] == 6


# --- replying -------------------------------------------------------------------------------------------------


async def test_reply_returns_201_and_shows_in_shopper_thread(client, auth, thread):
    session_id, conversation = thread

    response = await reply(client, auth, conversation, "  Yes, it has three levels.  ")

    assert response.status_code == 201
    message = response.json()
    assert message["body"] == "Yes, it has three levels."
    assert message["author"] == "agent"
    assert message["agent_name"] == "Sam"
    assert message["seq"] == 2
    assert "cs_" not in response.text
    shopper_view = (await client.get(messages_url(session_id))).json()["messages"]
    assert shopper_view[0] == message
    assert shopper_view[0]["author"] == "agent"
    assert shopper_view[0]["agent_name"] == "Sam"


async def test_reply_marks_the_thread_read(client, auth, thread):
    _, conversation = thread

    await reply(client, auth, conversation, "On it.")
    detail = (await client.get(conversation_url(conversation), headers=auth)).json()
    listed = await client.get(conversations_url(), headers=auth)

    assert detail["agent_read_seq"] == detail["last_seq"] == 2
    item = next(c for c in listed.json()["conversations"] if c["conversation"] == conversation)
    assert item["unread"] == 0
    assert item["last_author"] == "agent"


async def test_reply_publishes_live_event_like_a_console_reply(client, auth, thread):
    session_id, conversation = thread
    events = []
    publish.add_publisher(events.append)
    try:
        response = await reply(client, auth, conversation, "live reply")
    finally:
        publish.remove_publisher(events.append)

    assert response.status_code == 201
    assert [type(e) for e in events] == [MessagePosted]
    assert events[0].conversation == conversation
    assert events[0].product_id == DEMO_PRODUCT
    assert events[0].message.author == "agent"
    assert events[0].message.agent_name == "Sam"
    assert session_id not in repr(events)


async def test_reply_retry_with_idempotency_key_returns_same_message(client, auth, thread):
    session_id, conversation = thread

    first = await reply(client, auth, conversation, "only once", **{"Idempotency-Key": "r-1"})
    retry = await reply(client, auth, conversation, "only once", **{"Idempotency-Key": "r-1"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert first.json()["client_key"] == "r-1"
    bodies = [m["body"] for m in (await client.get(messages_url(session_id))).json()["messages"]]
    assert bodies.count("only once") == 1


async def test_reply_reused_key_with_other_text_is_409(client, auth, thread):
    _, conversation = thread
    await reply(client, auth, conversation, "original", **{"Idempotency-Key": "r-2"})

    response = await reply(client, auth, conversation, "something else", **{"Idempotency-Key": "r-2"})

    assert_error(response, 409, "idempotency_key_reused")
    assert (await client.get(conversation_url(conversation), headers=auth)).json()["message_count"] == 2


async def test_reply_with_key_the_shopper_used_is_409_not_their_message(client, auth):
    session_id = await new_session(client)
    shopper = await client.post(
        messages_url(session_id), json={"content": "same words"}, headers={"Idempotency-Key": "shared-key"}
    )
    conversation = await conversation_of(session_id)

    response = await reply(client, auth, conversation, "same words", **{"Idempotency-Key": "shared-key"})

    assert shopper.status_code == 201
    assert_error(response, 409, "idempotency_key_reused")


async def test_shopper_message_with_key_the_agent_used_is_409_not_the_reply(client, auth, thread):
    session_id, conversation = thread
    assert (await reply(client, auth, conversation, "same words", **{"Idempotency-Key": "k-agent"})).status_code == 201

    response = await client.post(
        messages_url(session_id), json={"content": "same words"}, headers={"Idempotency-Key": "k-agent"}
    )

    assert_error(response, 409, "idempotency_key_reused")


async def test_reply_too_long_is_422(client, auth, thread):
    response = await reply(client, auth, thread[1], "x" * (settings.max_message_chars + 1))

    assert_error(response, 422, "message_too_long")


@pytest.mark.parametrize("payload", [{}, {"content": ""}, {"content": "   "}, {"content": 7}, {"content": "a", "x": 1}])
async def test_reply_bad_body_is_422(client, auth, thread, payload):
    response = await client.post(replies_url(thread[1]), json=payload, headers=auth)

    assert_error(response, 422)


async def test_reply_to_closed_conversation_keeps_it_closed(client, auth, thread):
    _, conversation = thread
    await client.post(f"{conversation_url(conversation)}/close", headers=auth)

    response = await reply(client, auth, conversation, "one more thing")

    assert response.status_code == 201
    assert (await client.get(conversation_url(conversation), headers=auth)).json()["status"] == "closed"


# --- closing and reopening ------------------------------------------------------------------------------------


async def test_close_then_reopen(client, auth, thread):
    _, conversation = thread
    events = []
    publish.add_publisher(events.append)
    try:
        closed = await client.post(f"{conversation_url(conversation)}/close", headers=auth)
        closed_again = await client.post(f"{conversation_url(conversation)}/close", headers=auth)
        reopened = await client.post(f"{conversation_url(conversation)}/reopen", headers=auth)
    finally:
        publish.remove_publisher(events.append)

    assert closed.status_code == closed_again.status_code == reopened.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["conversation"] == conversation
    assert reopened.json()["status"] == "open"
    assert [(type(e), e.status) for e in events] == [
        (StatusChanged, "closed"),
        (StatusChanged, "closed"),
        (StatusChanged, "open"),
    ]
    assert "cs_" not in closed.text + reopened.text


async def test_shopper_message_reopens_a_closed_conversation(client, auth, thread):
    session_id, conversation = thread
    await client.post(f"{conversation_url(conversation)}/close", headers=auth)

    await client.post(messages_url(session_id), json={"content": "hello again"})

    assert (await client.get(conversation_url(conversation), headers=auth)).json()["status"] == "open"


# --- who may call ---------------------------------------------------------------------------------------------

STAFF_CALLS = [
    ("GET", ""),
    ("GET", "/{c}"),
    ("GET", "/{c}/messages"),
    ("POST", "/{c}/messages"),
    ("POST", "/{c}/close"),
    ("POST", "/{c}/reopen"),
]


async def call(client, method, suffix, conversation, headers):
    url = conversations_url() + suffix.format(c=conversation)
    body = {"content": "let me in"} if method == "POST" and suffix.endswith("/messages") else None
    return await client.request(method, url, json=body, headers=headers)


def assert_unauthenticated(response, code="invalid_token"):
    assert_error(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "suffix"), STAFF_CALLS)
async def test_every_staff_route_without_token_is_401(client, thread, method, suffix):
    response = await call(client, method, suffix, thread[1], headers={})

    assert_unauthenticated(response, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-real-token-but-long-enough-to-look-up",
        "Bearer x",
        "Bearer " + "A" * 500,
        "Bearer ' OR 1=1 --",
    ],
)
async def test_garbage_token_is_401(client, authorization):
    response = await client.get(conversations_url(), headers={"Authorization": authorization})

    assert_unauthenticated(response)


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer ", "Basic c2FtOnNlY3JldA==", "Token abc"])
async def test_malformed_authorization_header_is_401(client, authorization):
    response = await client.get(conversations_url(), headers={"Authorization": authorization})

    assert_unauthenticated(response, "not_authenticated")


async def test_token_with_other_scheme_word_is_401(client, staff):
    response = await client.get(conversations_url(), headers={"Authorization": f"Basic {staff['token']}"})

    assert_unauthenticated(response, "not_authenticated")


async def test_bearer_scheme_is_case_insensitive(client, staff):
    response = await client.get(conversations_url(), headers={"Authorization": f"bearer {staff['token']}"})

    assert response.status_code == 200


async def test_console_sign_in_token_is_401(client, staff):
    async with db.session() as s:
        _agent, console_token = await agents.sign_in(s, email="sam@example.com", password=AGENT_PASSWORD)
        assert await agents.agent_for_token(s, token=console_token) is not None  # valid for the console

    response = await client.get(conversations_url(), headers=bearer(console_token))

    assert_unauthenticated(response)


async def test_shopper_session_id_as_bearer_is_401(client, thread):
    session_id, conversation = thread

    listed = await client.get(conversations_url(), headers=bearer(session_id))
    posted = await reply(client, bearer(session_id), conversation, "pretending to be staff")

    assert_unauthenticated(listed)
    assert_unauthenticated(posted)


async def test_token_of_deactivated_agent_is_401_at_once(client, thread):
    _, token = await new_agent("leaving@example.com", "Lee")
    assert (await client.get(conversations_url(), headers=bearer(token))).status_code == 200
    async with db.session() as s:
        await agents.deactivate_agent(s, email="leaving@example.com")

    listed = await client.get(conversations_url(), headers=bearer(token))
    posted = await reply(client, bearer(token), thread[1], "still here?")

    assert_unauthenticated(listed)
    assert_unauthenticated(posted)
    assert (await client.get(conversation_url(thread[1]), headers=bearer(token))).status_code == 401


async def test_unauthenticated_request_learns_nothing_about_conversations(client):
    unknown = await client.get(conversation_url(UNKNOWN_HANDLE))
    bad_query = await client.get(conversations_url(), params={"status": "pending"})

    assert_unauthenticated(unknown, "not_authenticated")
    assert_unauthenticated(bad_query, "not_authenticated")


async def test_each_agent_replies_under_their_own_name(client, thread):
    _, other_token = await new_agent("robin@example.com", "Robin")

    response = await reply(client, bearer(other_token), thread[1], "Robin here")

    assert response.status_code == 201
    assert response.json()["agent_name"] == "Robin"


async def test_token_from_create_api_token_command_works(client, database, thread):
    """The token the operator command prints is the one the API takes (a real subprocess on this database)."""
    await new_agent("cli@example.com", "Cli")
    env = base_env(REFLEX_DB_URL=f"sqlite:///{database}")

    token = run_cli("create-api-token", "--email", "cli@example.com", env=env).strip()
    response = await client.get(conversation_url(thread[1]), headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["conversation"] == thread[1]


# --- secrets and the document ---------------------------------------------------------------------------------


async def test_no_staff_response_carries_a_session_id(client, auth):
    session_id, conversation = await start_thread(client, "find my secret", customer_name="Ada")
    await reply(client, auth, conversation, "no secrets here")
    responses = [
        await client.get(conversations_url(), headers=auth),
        await client.get(conversations_url(), params={"product_id": DEMO_PRODUCT, "status": "open"}, headers=auth),
        await client.get(conversation_url(conversation), headers=auth),
        await client.get(replies_url(conversation), headers=auth),
        await reply(client, auth, conversation, "again", **{"Idempotency-Key": "s-1"}),
        await reply(client, auth, conversation, "again", **{"Idempotency-Key": "s-1"}),
        await reply(client, auth, conversation, "other", **{"Idempotency-Key": "s-1"}),
        await client.post(f"{conversation_url(conversation)}/close", headers=auth),
        await client.post(f"{conversation_url(conversation)}/reopen", headers=auth),
        await client.get(conversation_url(UNKNOWN_HANDLE), headers=auth),
        await client.get(conversation_url(session_id), headers=auth),
        await client.get(conversations_url(), headers=bearer(session_id)),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 201, 200, 409, 200, 200, 404, 404, 401]
    for response in responses:
        assert "cs_" not in response.text
        assert session_id not in response.text
        assert not any(session_id in value for value in response.headers.values())


async def test_openapi_declares_staff_routes_with_bearer_security(client):
    response = await client.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["components"]["securitySchemes"]["StaffToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["StaffToken"]["description"],
    }
    staff_paths = {path: item for path, item in document["paths"].items() if path.startswith("/api/agent/")}
    assert set(staff_paths) == {
        "/api/agent/conversations",
        "/api/agent/conversations/{conversation}",
        "/api/agent/conversations/{conversation}/messages",
        "/api/agent/conversations/{conversation}/close",
        "/api/agent/conversations/{conversation}/reopen",
        # the staff tools (rxchat/api/staff_tools.py)
        "/api/agent/canned-replies",
        "/api/agent/canned-replies/{reply_id}",
        "/api/agent/reports",
        "/api/agent/reports.csv",
    }
    operations = [op for item in staff_paths.values() for op in item.values()]
    assert len(operations) == 6 + 7
    for operation in operations:
        assert operation["tags"] == ["staff"]
        assert operation["security"] == [{"StaffToken": []}]
        assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    post_reply = staff_paths["/api/agent/conversations/{conversation}/messages"]["post"]
    assert {"201", "200", "401", "404", "409", "413", "422"} <= set(post_reply["responses"])
    shopper_post = document["paths"]["/api/products/{product_id}/chat/sessions/{session_id}/messages"]["post"]
    assert "security" not in shopper_post


async def test_wrong_method_on_staff_route_is_405(client, auth, thread):
    response = await client.delete(conversation_url(thread[1]), headers=auth)

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
