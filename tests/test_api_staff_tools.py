"""The staff tools under /api/agent: canned replies and reports, behind the same token guard as the rest.

One SQLite file for the module (the `app` and `client` fixtures), agents and tokens made through the service
functions; report figures come from conversations written with bulk SQL at chosen times (tests/report_data).
"""

import csv
import io

import pytest
import pytest_asyncio

import report_data
from api_support import AGENT_PASSWORD, assert_error, bearer, new_agent
from rxchat import db
from rxchat.services import agents, reports

pytestmark = pytest.mark.asyncio(loop_scope="module")

CANNED = "/api/agent/canned-replies"
# Every staff tools route: (method, path, JSON body)
TOOL_CALLS = [
    ("GET", CANNED, None),
    ("POST", CANNED, {"title": "Let me in", "body": "pwned"}),
    ("GET", CANNED + "/1", None),
    ("PUT", CANNED + "/1", {"title": "Let me in", "body": "pwned"}),
    ("DELETE", CANNED + "/1", None),
    ("GET", "/api/agent/reports?days=7", None),
    ("GET", "/api/agent/reports.csv?days=7", None),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def staff(app):
    agent, token = await new_agent("tools@example.com", "Toni")
    return {"agent": agent, "token": token, "headers": bearer(token)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def guarded(app, staff):
    """A canned reply (id 1) that the refused calls below must leave as it is."""
    async with db.session() as s:
        from rxchat.services import canned

        stored = await canned.create_reply(s, title="Kept", body="Stays as it is.")
    assert stored.id == 1
    return stored


def assert_unauthenticated(response, code):
    assert_error(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def assert_untouched(client, staff, guarded):
    listed = await client.get(CANNED, headers=staff["headers"])
    assert [(r["id"], r["title"], r["body"]) for r in listed.json()["canned_replies"]] == [
        (guarded.id, guarded.title, guarded.body)
    ]


@pytest.mark.parametrize(("method", "path", "body"), TOOL_CALLS)
async def test_every_staff_tools_route_without_token_is_401(client, staff, guarded, method, path, body):
    response = await client.request(method, path, json=body)

    assert_unauthenticated(response, "not_authenticated")
    assert "Kept" not in response.text and "product_id" not in response.text
    await assert_untouched(client, staff, guarded)


@pytest.mark.parametrize(("method", "path", "body"), TOOL_CALLS)
async def test_every_staff_tools_route_with_a_forged_token_is_401(client, staff, guarded, method, path, body):
    response = await client.request(method, path, json=body, headers=bearer("forged-" + "x" * 40))

    assert_unauthenticated(response, "invalid_token")
    await assert_untouched(client, staff, guarded)


@pytest.mark.parametrize(("method", "path", "body"), TOOL_CALLS)
async def test_a_console_sign_in_is_no_api_token(client, staff, guarded, method, path, body):
    async with db.session() as s:
        _agent, console_token = await agents.sign_in(s, email="tools@example.com", password=AGENT_PASSWORD)

    response = await client.request(method, path, json=body, headers=bearer(console_token))

    assert_unauthenticated(response, "invalid_token")
    await assert_untouched(client, staff, guarded)


async def test_canned_replies_through_the_api(client, staff, guarded):
    auth = staff["headers"]

    created = await client.post(CANNED, json={"title": "Shipping", "body": "{product} ships today."}, headers=auth)
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    clash = await client.post(CANNED, json={"title": "SHIPPING", "body": "again"}, headers=auth)
    assert_error(clash, 409, "canned_title_taken")
    empty = await client.post(CANNED, json={"title": "", "body": "x"}, headers=auth)
    assert_error(empty, 422, "invalid_input")
    extra = await client.post(CANNED, json={"title": "a", "body": "b", "id": 5}, headers=auth)
    assert extra.status_code == 422

    updated = await client.put(f"{CANNED}/{reply_id}", json={"title": "Shipping", "body": "Two days."}, headers=auth)
    assert updated.status_code == 200 and updated.json()["body"] == "Two days."
    assert (await client.get(f"{CANNED}/{reply_id}", headers=auth)).json()["body"] == "Two days."
    listed = await client.get(CANNED, headers=auth)
    assert [r["title"] for r in listed.json()["canned_replies"]] == ["Kept", "Shipping"]

    deleted = await client.delete(f"{CANNED}/{reply_id}", headers=auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await client.delete(f"{CANNED}/{reply_id}", headers=auth), 404, "canned_not_found")
    assert_error(await client.get(f"{CANNED}/{reply_id}", headers=auth), 404, "canned_not_found")
    assert (await client.get(f"{CANNED}/0", headers=auth)).status_code == 422
    await assert_untouched(client, staff, guarded)


async def test_reports_and_their_csv_through_the_api(client, staff):
    async with db.session() as s:
        await report_data.insert(s, report_data.hand_set("aurora-lamp", "summit-backpack", "retired-kettle"))
        expected = await reports.build_report(s, days=90)

    response = await client.get("/api/agent/reports", params={"days": 90}, headers=staff["headers"])
    assert response.status_code == 200, response.text
    assert response.json() == expected.model_dump()
    assert len(response.json()["conversations"]) == 90

    exported = await client.get("/api/agent/reports.csv", params={"days": 90}, headers=staff["headers"])
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["product_id"] for row in rows] == [row.product_id for row in expected.products]

    for days in ("0", "365", "abc"):
        refused = await client.get("/api/agent/reports", params={"days": days}, headers=staff["headers"])
        assert refused.status_code == 422
