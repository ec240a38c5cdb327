"""The HTTP API against hostile input: oversized and malformed bodies, injection-looking text, fuzzing
from the served OpenAPI document (schemathesis), arbitrary unicode through the service layer (hypothesis),
and session ids kept out of logs.

One SQLite file for the module, migrated with Alembic and seeded with the demo catalog.
"""

import json
import logging

import hypothesis
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.testclient import TestClient

from api_support import (
    DEMO_PRODUCT,
    assert_error,
    bearer,
    messages_url,
    new_agent,
    new_session,
    served_app,
    session_url,
)
from rxchat import db, redaction
from rxchat.api.deps import MAX_BODY_BYTES, MAX_JSON_DEPTH
from rxchat.services import chat, errors

module_loop = pytest.mark.asyncio(loop_scope="module")  # async tests share the module's loop (and its engine)

SESSION_ID = "cs_" + "ab12" * 12
LEGACY_ID = "session_1700000000000_abc123_fp9"
SQL_LOOKING = [
    "'; DROP TABLE product_chat_messages; --",
    "1 OR 1=1",
    '" OR ""="',
    "admin'--",
    "1; SELECT * FROM agents WHERE '1'='1",
    "%' UNION SELECT session_id FROM product_chat_sessions --",
]
MARKUP = [
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "</textarea><svg onload=alert(1)>",
    "&lt;b&gt; &amp; &#x3C;",
]


APP = served_app()  # built at import: schemathesis reads its OpenAPI document while collecting; `app` serves it


@pytest.fixture(scope="module")
def api_settings():
    return {"messages_per_minute": 100_000, "sessions_per_hour": 100_000}  # fuzzing posts fast; limits have own tests


@pytest_asyncio.fixture(loop_scope="module")
async def session_id(client):
    return await new_session(client)


# --- bodies ---------------------------------------------------------------------------------------------------


@module_loop
async def test_ten_megabyte_body_is_413(client, session_id):
    response = await client.post(
        messages_url(session_id),
        content=b'{"content": "' + b"a" * 10_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )

    assert_error(response, 413, "body_too_large")


@module_loop
async def test_streamed_body_over_limit_without_length_is_413(client, session_id):
    async def chunks():
        yield b'{"content": "'
        for _ in range(100):
            yield b"b" * 1024
        yield b'"}'

    response = await client.post(
        messages_url(session_id), content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body_too_large")


@module_loop
async def test_body_just_under_limit_reaches_validation(client, session_id):
    body = json.dumps({"content": "c" * (MAX_BODY_BYTES - 20)}).encode()

    response = await client.post(messages_url(session_id), content=body, headers={"content-type": "application/json"})

    assert len(body) <= MAX_BODY_BYTES
    assert_error(response, 422, "message_too_long")


@module_loop
async def test_non_numeric_content_length_is_400(client, session_id):
    response = await client.post(
        messages_url(session_id),
        content=b'{"content": "x"}',
        headers={"content-type": "application/json", "content-length": "lots"},
    )

    assert_error(response, 400, "bad_request")


@module_loop
@pytest.mark.parametrize("body", [b'{"content": ', b"{content: 'x'}", b'{"content": "x"', b"\xff\xfe", b"[1, 2,]"])
async def test_malformed_json_is_400(client, session_id, body):
    response = await client.post(messages_url(session_id), content=body, headers={"content-type": "application/json"})

    assert_error(response, 400, "malformed_json")


@module_loop
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 30_000])
async def test_deeply_nested_json_is_refused_400(client, session_id, depth):
    body = b'{"content": ' + b"[" * depth + b"]" * depth + b"}"

    response = await client.post(messages_url(session_id), content=body, headers={"content-type": "application/json"})

    assert_error(response, 400, "json_too_deep")


@module_loop
async def test_brackets_inside_strings_do_not_count_as_depth(client, session_id):
    response = await client.post(messages_url(session_id), json={"content": "[[[{{{" * 200 + '\\"[' * 50})

    assert response.status_code == 201
    assert response.json()["body"] == "[[[{{{" * 200 + '\\"[' * 50


@module_loop
async def test_lone_surrogate_in_json_is_422(client, session_id):
    body = b'{"content": "hi \\ud800 there"}'

    response = await client.post(messages_url(session_id), content=body, headers={"content-type": "application/json"})

    assert_error(response, 422, "invalid_input")


@module_loop
async def test_non_json_content_type_is_422(client, session_id):
    response = await client.post(
        messages_url(session_id), content=b"content=hello", headers={"content-type": "text/plain"}
    )

    assert_error(response, 422, "invalid_input")


# --- text stored verbatim -------------------------------------------------------------------------------------


@module_loop
@pytest.mark.parametrize("text", SQL_LOOKING)
async def test_sql_looking_message_is_stored_verbatim(client, session_id, text):
    response = await client.post(messages_url(session_id), json={"content": text})

    assert response.status_code == 201
    assert response.json()["body"] == text
    listed = (await client.get(messages_url(session_id))).json()["messages"]
    assert listed[0]["body"] == text


@module_loop
@pytest.mark.parametrize("text", MARKUP)
async def test_markup_message_is_stored_verbatim(client, session_id, text):
    response = await client.post(messages_url(session_id), json={"content": text})

    assert response.status_code == 201
    assert response.json()["body"] == text
    assert response.headers["content-type"].startswith("application/json")


@module_loop
async def test_sql_looking_ids_are_404(client):
    for product_id, session_id in [("aurora-lamp' OR '1'='1", "x"), (DEMO_PRODUCT, "' OR 1=1 --"), (DEMO_PRODUCT, "%")]:
        response = await client.get(session_url(session_id, product_id))

        assert response.status_code == 404


@module_loop
async def test_sql_looking_profile_is_stored_verbatim(client):
    response = await client.post(
        f"/api/products/{DEMO_PRODUCT}/chat/sessions", json={"customer_name": "Robert'); DROP TABLE agents;--"}
    )

    assert response.status_code == 201
    assert response.json()["customer_name"] == "Robert'); DROP TABLE agents;--"


# --- failures stay generic ------------------------------------------------------------------------------------


@module_loop
async def test_unexpected_failure_is_generic_500_and_logged_without_session_id(client, session_id, monkeypatch, caplog):
    async def explode(*_args, **_kwargs):
        raise RuntimeError(f"database on fire near {session_id}")

    monkeypatch.setattr(chat, "list_messages", explode)
    with caplog.at_level(logging.ERROR):
        response = await client.get(messages_url(session_id))

    error = assert_error(response, 500, "internal_error")
    assert "fire" not in error["message"]
    assert session_id not in response.text
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "RuntimeError" in logged
    assert session_id not in logged
    assert "[redacted]" in logged


# --- redaction ------------------------------------------------------------------------------------------------


def test_redaction_filter_removes_session_ids_from_access_record():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/products/x/chat/sessions/{SESSION_ID}/messages?limit=3", "1.1", 200),
        None,
    )

    assert redaction.RedactSessionIds().filter(record) is True

    assert SESSION_ID not in record.getMessage()
    assert (
        record.getMessage()
        == '127.0.0.1:5000 - "GET /api/products/x/chat/sessions/[redacted]/messages?limit=3 HTTP/1.1" 200'
    )
    assert isinstance(record.args, tuple) and len(record.args) == 5  # Uvicorn's access formatter unpacks them


def test_redaction_filter_handles_granian_dict_args_and_legacy_ids():
    record = logging.LogRecord(
        "granian.access",
        logging.INFO,
        __file__,
        1,
        '%(addr)s "%(method)s %(path)s" %(status)d',
        ({"addr": "::1", "method": "DELETE", "path": f"/api/products/x/chat/sessions/{LEGACY_ID}", "status": 204},),
        None,
    )

    redaction.RedactSessionIds().filter(record)

    assert record.getMessage() == '::1 "DELETE /api/products/x/chat/sessions/[redacted]" 204'


def test_redaction_filter_covers_message_objects_and_tracebacks():
    try:
        raise ValueError(f"bad {SESSION_ID}")
    except ValueError as error:
        record = logging.LogRecord(
            "rxchat", logging.ERROR, __file__, 1, "failed: %s", (error,), (type(error), error, error.__traceback__)
        )

    redaction.RedactSessionIds().filter(record)
    text = logging.Formatter().format(record)

    assert SESSION_ID not in text
    assert "failed: bad [redacted]" in text
    assert "ValueError" in text


def test_installed_redaction_applies_to_any_logger(caplog):
    redaction.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("[generated] (%r,)", SESSION_ID)
        logging.getLogger("granian.access").info("GET /api/products/p/chat/sessions/%s", SESSION_ID)

    assert len(caplog.records) == 2
    assert all(SESSION_ID not in r.getMessage() and "[redacted]" in r.getMessage() for r in caplog.records)
    assert redaction.RedactSessionIds in {type(f) for f in logging.getLogger("granian.access").filters}
    assert redaction.RedactSessionIds in {type(f) for f in logging.getLogger().filters}


# --- the service layer under arbitrary unicode ----------------------------------------------------------------

TRICKY = st.sampled_from(
    ["\x00", "\r\n", "\r", "\u202e", "\ufeff", "\u200b", "\ud800", "\udfff", "\U0001f600", "\x1b[31m", "'", '"', "\\"]
)
UNICODE_TEXT = st.one_of(
    st.lists(st.one_of(st.text(max_size=8), TRICKY), max_size=40).map("".join),
    st.builds(
        lambda c, n, pad: pad + c * n + pad,
        st.characters(),
        st.integers(3990, 4010),
        st.sampled_from(["", " ", "\n\t"]),
    ),
    st.builds(lambda c: c * 1_000_000, st.characters()),
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz_threads(app):
    """A thread to post into and a neighbour whose rows must never change."""
    async with db.session() as s:
        target = await chat.create_session(s, product_id=DEMO_PRODUCT)
        neighbour = await chat.create_session(s, product_id=DEMO_PRODUCT)
        for text in ("neighbour 1", "neighbour <2>", "neighbour 'three'"):
            await chat.post_message(s, chat=neighbour, author="shopper", body=text)
    return {"target": target.session_id, "neighbour": neighbour.session_id, "stored": []}


@module_loop
@hypothesis.settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(text=UNICODE_TEXT)
@module_loop
async def test_service_stores_exactly_what_clean_body_returns(fuzz_threads, text):
    try:
        expected = chat.clean_body(text)
    except errors.InvalidInput:
        expected = None

    async with db.session() as s:
        target = await chat.get_session(s, product_id=DEMO_PRODUCT, session_id=fuzz_threads["target"])
        if expected is None:
            with pytest.raises(errors.InvalidInput):
                await chat.post_message(s, chat=target, author="shopper", body=text)
        else:
            message, created = await chat.post_message(s, chat=target, author="shopper", body=text)
            assert created
            assert message.body == expected
            fuzz_threads["stored"].append(expected)
        page, _ = await chat.list_messages(s, chat=target, limit=100)
        neighbour = await chat.get_session(s, product_id=DEMO_PRODUCT, session_id=fuzz_threads["neighbour"])
        neighbour_page, _ = await chat.list_messages(s, chat=neighbour)

    stored = fuzz_threads["stored"]
    assert [m.body for m in reversed(page)] == stored[-100:]
    assert [m.seq for m in reversed(page)] == list(range(len(stored) - len(page) + 1, len(stored) + 1))
    assert [m.body for m in neighbour_page] == ["neighbour 'three'", "neighbour <2>", "neighbour 1"]


# --- fuzzing from the served OpenAPI document -----------------------------------------------------------------

schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@pytest.fixture(scope="module")
def new_live_session(app):
    """Starts a real session, so fuzzed bodies, paging and deletes reach the database."""
    with TestClient(app, base_url="http://shop.test") as c:
        yield lambda: c.post(f"/api/products/{DEMO_PRODUCT}/chat/sessions").json()["session_id"]


@pytest.fixture(scope="module")
def live_session(new_live_session):
    return new_live_session()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_staff(app):
    """A staff API token and a conversation with a message, so fuzzed staff calls get past 401 and 404."""
    _agent, token = await new_agent("fuzz@example.com", "Fuzz")
    async with db.session() as s:
        current = await chat.create_session(s, product_id=DEMO_PRODUCT)
        await chat.post_message(s, chat=current, author="shopper", body="fuzz me")
    return {"headers": bearer(token), "conversation": current.public_id}


@schema.exclude(tag="staff").parametrize()
@hypothesis.settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_fuzzed_from_openapi_never_fails_on_the_server(case, live_session, new_live_session):
    parameters = case.path_parameters or {}
    if len(str(parameters.get("product_id", ""))) % 2 == 0:  # half the cases aim at a real thread
        parameters["product_id"] = DEMO_PRODUCT
        if "session_id" in parameters:
            parameters["session_id"] = new_live_session() if case.method == "DELETE" else live_session

    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])


@schema.include(tag="staff").parametrize()
@hypothesis.settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_staff_api_fuzzed_with_a_valid_token_never_fails_on_the_server(case, live_staff):
    """The /api/agent routes with a real token (401s have their own tests), half of them on a real conversation."""
    parameters = case.path_parameters or {}
    if len(str(parameters.get("conversation", ""))) % 2 == 0:
        parameters["conversation"] = live_staff["conversation"]

    case.call_and_validate(headers=live_staff["headers"], checks=[not_a_server_error, response_schema_conformance])
