"""A signed-out client cannot touch staff data through the console's event handlers.

Any client can send any event to the Reflex backend with any arguments, so the
staff console's handlers are called here directly over a raw Socket.IO
connection (the browser's own protocol: websocket transport, `/_event`, the
hydrate event in the CONNECT packet), by a client that never signed in and by
one holding a forged sign-in token; both also claim the conversation as their
open one (it is browser-held, in sessionStorage). They aim at a real conversation, created
through the HTTP API, by its public handle. Then nothing may have been read or
changed: no message text reaches the attacker, the conversation's messages,
status and staff read mark are as before (read back through the HTTP API and
the database), and a shopper connected to the conversation's live room sees no
reply, typing, status or read change.
"""

import asyncio
import inspect
import json
import secrets
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from rawsocket import REPLY_TIMEOUT_SECS, UPDATE_VARS, RawClient, run_async
from rxchat.states.auth import AgentAuthState
from rxchat.states.canned import CannedPickerState, CannedRepliesState
from rxchat.states.console import AgentConsoleState
from rxchat.states.reports import ReportsState
from rxchat.states.room import ConversationRoomState
from rxchat.states.widget import ChatWidgetState

pytestmark = pytest.mark.e2e

PRODUCT = "pour-over-kit"
CONSOLE = AgentConsoleState.get_full_name()
AUTH = AgentAuthState.get_full_name()
WIDGET = ChatWidgetState.get_full_name()
ROOM = ConversationRoomState.get_full_name()
# Handlers of the staff states that answer anyone by design: signing in and out, and a tab's own sound switch.
OPEN_TO_ANYONE = {"login", "logout", "redirect_if_signed_in", "set_sound"}


def staff_states() -> list[type]:
    """Every staff state of the app: the sign-in state and every state built on it."""
    found, todo = [], [AgentAuthState]
    while todo:
        state = todo.pop()
        found.append(state)
        todo.extend(state.get_substates())
    return found


def attack_events(public_id: str, canned_id: int = 1) -> list[tuple[str, dict]]:
    """Every staff handler that is not open to anyone, each called with hostile arguments chosen by the
    names of its parameters; a handler whose parameter has no argument here fails the test, so a new
    handler cannot escape the attack."""
    arguments = {
        "conversation": public_id,
        "form_data": {"reply": "pwned"},
        "status": "closed",
        "value": PRODUCT,
        "version": 10**6,
        "text": "/pwned",  # a `/` command: the canned reply menu's handler reads the database for it
        "var_name": "selected",
        "is_open": True,
        # the staff tools (states/canned.py, states/reports.py)
        "canned_form": {"title": "pwned", "body": "pwned"},
        "reply_id": canned_id,
    }
    events = []
    for state in staff_states():
        for name, handler in state.event_handlers.items():
            if name in OPEN_TO_ANYONE:
                continue
            parameters = list(inspect.signature(handler.fn).parameters)[1:]
            missing = [p for p in parameters if p not in arguments]
            assert not missing, f"no attack argument for {state.__name__}.{name}({', '.join(missing)}): add one"
            payload = {p: arguments[p] for p in parameters}
            if name == "setvar":
                payload["value"] = public_id
            events.append((f"{state.get_full_name()}.{name}", payload))
    return events


# The console's handlers a page sends by name; load_console is the page's on_load, run by the backend.
COMPILED_HANDLERS = (
    "open_conversation",
    "send_reply",
    "set_status",
    "mark_read",
    "load_earlier",
    "typing",
    "refresh_inbox",
    "set_filter_product",
    "refresh_filter_products",
    "set_filter_status",
    "show_more_conversations",
)
# The staff tools' handlers the pages send by name (their on_load handlers run on the backend).
TOOL_HANDLERS = {
    CannedRepliesState: ("save_canned", "start_edit", "cancel_edit", "delete_canned"),
    CannedPickerState: ("suggest", "close_suggestions", "load_choices", "use_canned"),
    ReportsState: ("set_range", "export_csv"),
}


def database_path(served_app) -> Path:
    return Path(served_app.env["REFLEX_DB_URL"].removeprefix("sqlite:///"))


def conversation_row(served_app, session_id: str) -> dict:
    with sqlite3.connect(f"file:{database_path(served_app)}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT public_id, status, agent_read_seq, last_seq, message_count FROM product_chat_sessions "
            "WHERE session_id = ?",
            (session_id,),
        ).fetchone()
    assert row is not None
    return dict(row)


def messages_of(http: httpx.Client, session_id: str) -> list[dict]:
    response = http.get(f"/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


@pytest.fixture
def conversation(served_app):
    """A real conversation with two shopper messages, made through the HTTP API."""
    secret_texts = [f"my order number is {secrets.token_hex(6)}", f"and my address is {secrets.token_hex(6)}"]
    with httpx.Client(base_url=served_app.url, timeout=30) as http:
        created = http.post(f"/api/products/{PRODUCT}/chat/sessions")
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]
        for text in secret_texts:
            posted = http.post(f"/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", json={"content": text})
            assert posted.status_code == 201, posted.text
        return {
            "session_id": session_id,
            "texts": secret_texts,
            "public_id": conversation_row(served_app, session_id)["public_id"],
        }


def test_the_attack_reaches_every_staff_handler():
    attacked = {name.rsplit(".", 1)[1] for name, _ in attack_events("0" * 16)}
    assert {*COMPILED_HANDLERS, "load_console", "setvar"} <= attacked
    assert not attacked & OPEN_TO_ANYONE


def test_full_event_names_are_the_compiled_ones(served_app):
    """The names used below are the ones the built console page sends (so the attack reaches the handlers)."""
    compiled = "\n".join(
        path.read_text() for path in (served_app.app_root / ".web").rglob("*.jsx") if "node_modules" not in path.parts
    )
    for handler in COMPILED_HANDLERS:
        assert f"{CONSOLE}.{handler}" in compiled, handler
    assert {*COMPILED_HANDLERS, "load_console"} <= set(AgentConsoleState.event_handlers)
    for state, handlers in TOOL_HANDLERS.items():
        for handler in handlers:
            assert f"{state.get_full_name()}.{handler}" in compiled, handler


def test_signed_out_clients_cannot_read_or_change_a_conversation(served_app, conversation):
    public_id, session_id, texts = conversation["public_id"], conversation["session_id"], conversation["texts"]
    with httpx.Client(base_url=served_app.url, timeout=30) as http:
        messages_before = messages_of(http, session_id)
        session_before = http.get(f"/api/products/{PRODUCT}/chat/sessions/{session_id}").json()
    row_before = conversation_row(served_app, session_id)
    assert [m["body"] for m in reversed(messages_before)] == texts
    assert row_before["agent_read_seq"] == 0 and row_before["status"] == "open"

    agent_page = {"pathname": "/agent", "asPath": "/agent"}
    product_page = {
        "pathname": f"/products/{PRODUCT}",
        "asPath": f"/products/{PRODUCT}",
        "query": {"product_id": PRODUCT},
    }
    shopper_record = json.dumps(
        {
            "globalSessionId": "v" + secrets.token_hex(16),
            "productSessions": {f"product_{PRODUCT}": {"sessionId": session_id, "productId": PRODUCT}},
            "userPreferences": {},
        }
    )

    canned_secret = f"our internal discount code is {secrets.token_hex(6)}"
    canned_id = insert_canned_reply(served_app, f"Discounts {secrets.token_hex(4)}", canned_secret)
    events = attack_events(public_id, canned_id)  # here: the app's state tree is read in this thread's context

    async def attack() -> tuple[list[RawClient], RawClient, int, bool]:
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            # The shopper's own tab, joined to the conversation's live room: it would see any reply,
            # typing, status or read change the attackers caused.
            shopper = RawClient(
                session,
                served_app.url,
                product_page,
                {
                    f"{WIDGET}.chat_session_data_rx_state_": shopper_record,
                },
            )
            signed_out = RawClient(session, served_app.url, agent_page)
            forged = RawClient(
                session,
                served_app.url,
                agent_page,
                {
                    f"{AUTH}.auth_token_rx_state_": secrets.token_urlsafe(32),
                    # The open conversation is browser-held (sessionStorage): any client can claim one.
                    f"{CONSOLE}.selected_rx_state_": public_id,
                },
            )
            attackers = [signed_out, forged]
            try:
                await shopper.connect()
                await shopper.settle()
                assert texts[0] in shopper.text(), "the shopper's tab did not join the conversation"
                shopper_seen = len(shopper.received)
                for attacker in attackers:
                    await attacker.connect()
                for attacker in attackers:
                    # An attacker may also try to pick the conversation by setting the var itself.
                    await attacker.send(f"{CONSOLE}.setvar", {"var_name": "selected", "value": public_id})
                    await attacker.send(UPDATE_VARS, {"vars": {f"{CONSOLE}.selected_rx_state_": public_id}})
                    for _ in range(2):
                        for name, payload in events:
                            await attacker.send(name, payload)
                for attacker in attackers:
                    await attacker.settle()
                await asyncio.sleep(1.0)  # anything published would reach the shopper's room by now
                room_changes = [d for d in shopper.received[shopper_seen:] if ROOM in json.dumps(d.get("delta", {}))]

                # The shopper's tab is really live in the room: an HTTP message reaches it.
                control = f"control message {secrets.token_hex(4)}"
                async with session.post(
                    f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{session_id}/messages",
                    json={"content": control},
                ) as response:
                    assert response.status == 201
                deadline = time.monotonic() + REPLY_TIMEOUT_SECS
                while control not in shopper.text() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                return attackers, room_changes, shopper_seen, control in shopper.text()
            finally:
                for client in (shopper, *attackers):
                    await client.close()

    attackers, room_changes, _, control_seen = run_async(attack())

    for attacker in attackers:
        received = attacker.text()
        for text in texts:
            assert text not in received, "a signed-out client received a shopper's message"
        assert "pwned" not in received
        assert canned_secret not in received, "a signed-out client received a canned reply"
        for delta in (d.get("delta", {}) for d in attacker.received):
            for state in (CannedRepliesState, CannedPickerState, ReportsState):
                for var in ("replies", "suggestions", "choices", "products", "series", "conversations_chart"):
                    assert not delta.get(state.get_full_name(), {}).get(f"{var}_rx_state_"), (state, var)
        # The handle the attacker sent may echo back; what it names may not.
        for delta in (d.get("delta", {}).get(CONSOLE, {}) for d in attacker.received):
            assert delta.get("selected_label_rx_state_", "") == ""
            assert delta.get("selected_customer_rx_state_", "") == ""
            assert delta.get("selected_product_rx_state_", {}).get("id", "") == ""
            assert not delta.get("earlier_rx_state_")
            assert not delta.get("conversations_rx_state_"), "a signed-out client got the inbox"
        assert '"messages_rx_state_": [{' not in received
        redirects = [
            e
            for d in attacker.received
            for e in d.get("events", [])
            if e.get("name") == "_redirect" and e.get("payload", {}).get("path") == "/agent/login"
        ]
        # load_console, open_conversation, send_reply, set_status and the inbox's handlers answer a signed-out
        # call with the sign-in page: proof that the calls reached the handlers (twice each).
        assert len(redirects) >= 16, f"the staff handlers were not reached: {attacker.received}"

    assert room_changes == [], f"the attack changed the conversation's live room: {room_changes}"
    assert control_seen, "the shopper's tab was not live in the room, so it proved nothing"

    with httpx.Client(base_url=served_app.url, timeout=30) as http:
        messages_after = messages_of(http, session_id)
        session_after = http.get(f"/api/products/{PRODUCT}/chat/sessions/{session_id}").json()
    assert messages_after[1:] == messages_before  # only the control message was added
    assert all(m["author"] == "shopper" for m in messages_after)
    assert session_after["status"] == session_before["status"] == "open"
    row_after = conversation_row(served_app, session_id)
    assert row_after["agent_read_seq"] == row_before["agent_read_seq"] == 0
    assert row_after["status"] == "open"
    assert row_after["last_seq"] == row_before["last_seq"] + 1
    # The staff tools' data is as it was: the canned reply neither edited nor deleted, none added.
    assert canned_replies(served_app) == [(canned_id, canned_secret)]


def insert_canned_reply(served_app, title: str, body: str) -> int:
    with sqlite3.connect(database_path(served_app)) as db:
        cursor = db.execute(
            "INSERT INTO rxchat_canned_replies (title, title_key, body, created_at, updated_at) "
            "VALUES (?, ?, ?, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')",
            (title, title.casefold(), body),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def canned_replies(served_app) -> list[tuple[int, str]]:
    """The canned replies of the served app that the attack's tab could have touched (ours, and any 'pwned')."""
    with sqlite3.connect(f"file:{database_path(served_app)}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT id, body FROM rxchat_canned_replies WHERE body LIKE 'our internal discount code%' "
            "OR title LIKE '%pwned%' OR body LIKE '%pwned%' ORDER BY id"
        ).fetchall()
