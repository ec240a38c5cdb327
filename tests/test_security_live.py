"""Attacks on the live connection, written as an attacker would: raw Socket.IO, the browser's protocol.

Each test aims at a real conversation (made through the HTTP API) and then
checks that none of its text reached the attacker and that nothing changed in
the database but what the test itself added.
"""

import asyncio
import json
import secrets
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest
import socketio

from factories import insert_legacy_conversation
from rawsocket import HYDRATE, UPDATE_VARS, RawClient, page, product_page, run_async
from rxchat.i18n import english
from rxchat.services.agents import InvalidCredentials
from rxchat.services.limits import FAILED_SIGN_INS_ALLOWED
from rxchat.settings import settings
from rxchat.states.auth import AgentAuthState
from rxchat.states.console import AgentConsoleState
from rxchat.states.widget import ChatWidgetState
from server import run_cli

pytestmark = pytest.mark.e2e

PRODUCT = "pour-over-kit"
PASSWORD = "correct horse battery staple"
AUTH = AgentAuthState.get_full_name()
CONSOLE = AgentConsoleState.get_full_name()
WIDGET = ChatWidgetState.get_full_name()
# How long a revoked console may keep its feed: the hub checks sign-ins every 0.5 s; the rest is slack for a
# busy machine.
ENDED_WITHIN_SECS = 2.5


def post_message(base_url: str, session_id: str, text: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        response = http.post(f"/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", json={"content": text})
        assert response.status_code == 201, response.text


def bodies(base_url: str, session_id: str) -> list[str]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        response = http.get(f"/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", params={"limit": 100})
        assert response.status_code == 200, response.text
        return [m["body"] for m in reversed(response.json()["messages"])]


@pytest.fixture
def conversation(served_app):
    """A shopper's conversation with two secret messages, and its public handle (seen in the console)."""
    with httpx.Client(base_url=served_app.url, timeout=30) as http:
        created = http.post(f"/api/products/{PRODUCT}/chat/sessions")
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]
    texts = [f"my card ends in {secrets.token_hex(4)}", f"ship it to {secrets.token_hex(4)} street"]
    for text in texts:
        post_message(served_app.url, session_id, text)
    record = json.dumps(
        {
            "globalSessionId": "v" + secrets.token_hex(16),
            "productSessions": {f"product_{PRODUCT}": {"sessionId": session_id, "productId": PRODUCT}},
            "userPreferences": {},
        }
    )
    with sqlite3.connect(f"file:{database(served_app)}?mode=ro", uri=True) as db:
        (public_id,) = db.execute(
            "SELECT public_id FROM product_chat_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
    return {"session_id": session_id, "texts": texts, "record": record, "public_id": public_id}


def database(served_app) -> Path:
    return Path(served_app.env["REFLEX_DB_URL"].removeprefix("sqlite:///"))


@pytest.fixture
def agent(served_app) -> dict:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    run_cli("create-agent", "--email", email, "--name", "Ann", "--password-stdin", env=served_app.env, stdin=PASSWORD)
    return {"email": email, "password": PASSWORD}


def shopper_tab(http, served_app, conversation, **kwargs) -> RawClient:
    storage = {f"{WIDGET}.chat_session_data_rx_state_": conversation["record"]}
    return RawClient(http, served_app.url, product_page(PRODUCT), storage, **kwargs)


async def connect_refused(client: RawClient) -> bool:
    try:
        await client.connect(wait_hydrated=False)
    except socketio.exceptions.ConnectionError:
        return True
    await asyncio.sleep(0.5)
    await client.close()
    return False


def test_no_one_connects_as_a_shared_state_or_without_a_tab_token(served_app, conversation):
    """The inbox's and a room's old keys, and any token that is not a browser tab's, are refused before
    any state is loaded; so is a tab token whose connection does not start with the page's hydrate."""
    handle = conversation["public_id"]

    async def attack() -> list[tuple[str, bool, str]]:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            tokens = ["staffinbox", f"room{handle}", "inbox", "room", "x", "../../etc", "a" * 300]
            tokens += [str(uuid.uuid4()).upper(), str(uuid.uuid4()) + "0", str(uuid.uuid4()).replace("-", "")]
            results = []
            for token in tokens:
                client = RawClient(http, served_app.url, page("/agent"), token=token)
                results.append((token, await connect_refused(client), client.text()))
            tab = str(uuid.uuid4())
            for auth in ({}, {"event": {"name": f"{CONSOLE}.load_console", "payload": {}}}, {"event": "x"}):
                client = RawClient(http, served_app.url, page("/agent"), token=tab, auth=auth)
                results.append((f"{tab} with {auth}", await connect_refused(client), client.text()))
            return results

    for token, refused, received in run_async(attack()):
        assert refused, f"a connection with {token!r} was accepted"
        assert received == "[]"
        for text in conversation["texts"]:
            assert text not in received


def test_a_closed_tabs_token_holds_nothing(served_app, conversation):
    """A tab's token, found after the tab closed, gives neither the thread nor a way to post into it; the
    tab itself, back with its own browser record, still finds its conversation."""
    session_id, texts = conversation["session_id"], conversation["texts"]
    token = str(uuid.uuid4())
    attempt = f"posted through a stolen token {secrets.token_hex(4)}"
    control = f"control {secrets.token_hex(4)}"

    async def attack():
        import aiohttp

        async with aiohttp.ClientSession() as http:
            victim = shopper_tab(http, served_app, conversation, token=token)
            await victim.connect()
            assert await victim.wait_for(texts[-1]), "the shopper's tab did not join its conversation"
            await victim.close()
            await asyncio.sleep(1.0)  # the server has seen the tab go

            # Without the page's hydrate (which resets the tab's browser-held vars): refused.
            bare = RawClient(http, served_app.url, product_page(PRODUCT), token=token, auth={})
            assert await connect_refused(bare)

            thief = RawClient(http, served_app.url, product_page(PRODUCT), token=token)
            await thief.connect()
            for name in ("open_chat", "load_earlier", "sync_unread", "sync_seen", "sync_record"):
                await thief.send(f"{WIDGET}.{name}", {})
            await thief.send(f"{WIDGET}.send_message", {"form_data": {"message": attempt}})
            await thief.settle()
            post_message(served_app.url, session_id, control)
            await asyncio.sleep(1.5)  # a live message would have reached a member of the room by now
            await thief.close()

            returning = shopper_tab(http, served_app, conversation, token=token)
            await returning.connect()
            back = await returning.wait_for(control)
            await returning.close()
            return thief.text(), back

    stolen, back = run_async(attack())
    for text in (*texts, control):
        assert text not in stolen, "a closed tab's token gave its conversation away"
    assert bodies(served_app.url, session_id) == [*texts, control], "the thief's message reached the conversation"
    assert back, "the tab itself, back with its own record, did not find its conversation"
    assert token not in served_app.log(), "a tab token was written to the server log"


@pytest.mark.parametrize("ending", ["logout elsewhere", "deactivate-agent", "reset-password"])
def test_an_ended_sign_in_ends_the_live_feed(served_app, conversation, agent, ending):
    """A console signed in before loses the inbox and the open thread within a second or two of its
    sign-in ending, and is sent to the sign-in page; nothing staff-only reaches it afterwards."""
    session_id, texts = conversation["session_id"], conversation["texts"]
    after = f"written after the sign-in ended {secrets.token_hex(4)}"

    async def scenario():
        import aiohttp

        async with aiohttp.ClientSession() as http:
            login = RawClient(http, served_app.url, page("/agent/login"))
            await login.connect()
            await login.send(f"{AUTH}.login", {"form_data": {"email": agent["email"], "password": agent["password"]}})
            sign_in = await login.wait_for_var(AUTH, "auth_token_rx_state_")
            assert sign_in, f"the sign-in failed: {login.received}"
            await login.close()

            storage = {f"{AUTH}.auth_token_rx_state_": sign_in}
            console = RawClient(http, served_app.url, page("/agent"), storage)
            await console.connect()
            assert await console.wait_for(texts[-1]), "the console did not get the inbox"
            handle = conversation["public_id"]
            await console.send(f"{CONSOLE}.open_conversation", {"conversation": handle})
            await console.settle()
            assert texts[0] in console.text(), "the console did not open the thread"

            loop = asyncio.get_running_loop()
            if ending == "logout elsewhere":
                other = RawClient(http, served_app.url, page("/agent"), storage)
                await other.connect()
                await other.send(f"{AUTH}.logout", {})
                await other.settle()
                await other.close()
            elif ending == "deactivate-agent":
                await loop.run_in_executor(
                    None, lambda: run_cli("deactivate-agent", "--email", agent["email"], env=served_app.env)
                )
            else:
                await loop.run_in_executor(
                    None,
                    lambda: run_cli(
                        "reset-password",
                        "--email",
                        agent["email"],
                        "--password-stdin",
                        env=served_app.env,
                        stdin="another long password",
                    ),
                )
            ended_at = loop.time()
            while "/agent/login" not in console.redirects() and loop.time() - ended_at < 10:
                await asyncio.sleep(0.05)
            took = loop.time() - ended_at
            seen = len(console.received)
            post_message(served_app.url, session_id, after)
            await asyncio.sleep(1.5)  # the reply would reach the room and the inbox by now
            later = console.received[seen:]
            await console.close()
            return took, console.redirects(), later

    took, redirects, later = run_async(scenario())
    assert "/agent/login" in redirects, "the console was not sent to the sign-in page"
    assert took < ENDED_WITHIN_SECS, f"the console kept its feed {took:.2f} s after the sign-in ended"
    assert after not in str(later), "a message reached a console whose sign-in had ended"


def test_sending_about_an_unknown_product_says_why(served_app):
    async def scenario():
        import aiohttp

        async with aiohttp.ClientSession() as http:
            tab = RawClient(http, served_app.url, product_page("no-such-product"))
            await tab.connect()
            await tab.send(f"{WIDGET}.send_message", {"form_data": {"message": "is this in stock?"}})
            found = await tab.wait_for(english("widget.no_chat"))
            await tab.close()
            return found

    log_before = len(served_app.log())
    assert run_async(scenario()), "no sentence said why the message was not sent"
    assert "ProductNotFound" not in served_app.log()[log_before:]


def test_the_hydrate_event_name_is_the_browsers():
    """The gate admits connections that start with this event: it is the one the browser's pages send."""
    from reflex.state import State

    assert HYDRATE == f"{State.get_full_name()}.hydrate_and_load"


def test_parallel_wrong_passwords_are_capped_like_serial_ones(served_app, agent):
    """40 sockets each try one wrong password at the same moment: no more than the limit are checked."""

    async def attack() -> list[str]:
        import aiohttp

        # Its own client address, so the limit it reaches is not the one every other test signs in from.
        connector = aiohttp.TCPConnector(limit=0, local_addr=("127.0.0.77", 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            tabs = [RawClient(http, served_app.url, page("/agent/login")) for _ in range(40)]
            await asyncio.gather(*(tab.connect() for tab in tabs))
            wrong = {"form_data": {"email": agent["email"], "password": f"guess {secrets.token_hex(8)}"}}
            await asyncio.gather(*(tab.send(f"{AUTH}.login", wrong) for tab in tabs))
            errors = await asyncio.gather(*(tab.wait_for_var(AUTH, "login_error_rx_state_") for tab in tabs))
            await asyncio.gather(*(tab.close() for tab in tabs))
            return errors

    errors = run_async(attack())
    checked = [e for e in errors if e == InvalidCredentials.message]
    assert len(errors) == 40
    assert 1 <= len(checked) <= FAILED_SIGN_INS_ALLOWED, f"{len(checked)} guesses were checked against the password"
    assert all("wait" in e for e in errors if e != InvalidCredentials.message), errors


def test_guessing_ids_of_the_original_system_is_capped(served_app):
    """500 guesses at an id of the original system from one socket: the real one, guessed last, is not
    adopted, and its conversation stays where it was."""
    legacy_id = (
        f"session_{1_700_000_000_000 + secrets.randbelow(10**9)}_{secrets.token_hex(4)}_fp{secrets.token_hex(3)}"
    )
    body = f"asked before the move {secrets.token_hex(4)}"
    insert_legacy_conversation(database(served_app), legacy_id=legacy_id, product_id=PRODUCT, body=body)
    guesses = [f"session_{1_700_000_000_000 + i}_{secrets.token_hex(4)}_fp{secrets.token_hex(3)}" for i in range(499)]

    async def attack() -> str:
        import aiohttp

        connector = aiohttp.TCPConnector(local_addr=("127.0.0.88", 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            tab = RawClient(http, served_app.url, product_page(PRODUCT))
            await tab.connect()
            for guess in [*guesses, legacy_id]:
                record = json.dumps({"productSessions": {f"product_{PRODUCT}": guess}})
                await tab.send(UPDATE_VARS, {"vars": {f"{WIDGET}.chat_session_data_rx_state_": record}})
                await tab.send(f"{WIDGET}.sync_record", {})
            await tab.settle()
            await tab.close()
            return tab.text()

    received = run_async(attack())
    assert body not in received
    with sqlite3.connect(f"file:{database(served_app)}?mode=ro", uri=True) as db:
        still = db.execute("SELECT count(*) FROM product_chat_sessions WHERE session_id = ?", (legacy_id,)).fetchone()
    assert still == (1,), "a guessed id of the original system was adopted (and rotated away from its owner)"
    assert settings.legacy_adoptions_per_tab < 500
