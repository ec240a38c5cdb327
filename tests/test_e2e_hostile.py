"""Hostile input seen in a real browser: markup stays text everywhere, floods get a clear sentence.

Runs its own server with tight limits (3 messages a minute per session), so the
shared server's generous test limits stay out of the way.
"""

import re
import secrets
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from server import base_env, serve_fresh_app

pytestmark = pytest.mark.e2e

PRODUCT = "pour-over-kit"
PASSWORD = "correct horse battery staple"
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


@pytest.fixture(scope="module")
def strict_app():
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-strict-"))
    env = base_env(
        REFLEX_DB_URL=f"sqlite:///{workdir / 'rxchat.db'}",
        RXCHAT_MESSAGES_PER_MINUTE="3",
        RXCHAT_SESSIONS_PER_HOUR="1000",
        RXCHAT_SWEEP_INTERVAL_SECONDS="0",
    )
    server = serve_fresh_app(workdir, env, agent=("kim@example.com", "Kim", PASSWORD))
    yield server
    server.stop()


def open_widget(page: Page, url: str) -> None:
    page.goto(f"{url}/products/{PRODUCT}")
    expect(page.get_by_test_id("chat-launcher")).to_be_enabled()
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def test_markup_from_the_api_renders_as_text_in_widget_and_console(browser: Browser, strict_app):
    created = browser.new_context().request.post(f"{strict_app.url}/api/products/{PRODUCT}/chat/sessions")
    assert created.status == 201
    session_id = created.json()["session_id"]
    posted = browser.new_context().request.post(
        f"{strict_app.url}/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", data={"content": PAYLOAD}
    )
    assert posted.status == 201

    shopper = browser.new_context().new_page()
    shopper.goto(f"{strict_app.url}/products/{PRODUCT}")
    shopper.evaluate(
        "sid => localStorage.setItem('chat_session_data', JSON.stringify({productSessions: "
        "{'product_pour-over-kit': {sessionId: sid, productId: 'pour-over-kit'}}}))",
        session_id,
    )
    open_widget(shopper, strict_app.url)

    agent = browser.new_context().new_page()
    agent.goto(f"{strict_app.url}/agent/login")
    expect(agent.get_by_test_id("agent-login-submit")).to_be_enabled()
    agent.get_by_test_id("agent-login-email").fill("kim@example.com")
    agent.get_by_test_id("agent-login-password").fill(PASSWORD)
    agent.get_by_test_id("agent-login-submit").click()
    agent.get_by_test_id("agent-conversation-item").first.click()

    for page, thread in ((shopper, "chat-message-list"), (agent, "agent-thread")):
        message = page.get_by_test_id(thread).get_by_test_id("chat-message").first
        expect(message).to_contain_text(PAYLOAD)
        assert message.locator("img, script, b").count() == 0
        assert page.evaluate("window.__pwned") is None
    expect(agent.get_by_test_id("agent-inbox")).to_contain_text("<img src=x")
    for page in (shopper, agent):
        page.context.close()


def test_a_flood_past_the_limit_gets_a_sentence_and_keeps_the_text(page: Page, strict_app):
    open_widget(page, strict_app.url)
    for n in range(3):
        send(page, f"message {n}")
        expect(page.get_by_test_id("chat-message").filter(has_text=f"message {n}")).to_have_attribute(
            "data-status", "sent"
        )
    flood = f"one too many {secrets.token_hex(2)}"
    send(page, flood)
    expect(page.get_by_test_id("chat-error")).to_contain_text(re.compile(r"too fast|wait", re.IGNORECASE))
    expect(page.get_by_test_id("chat-input")).to_have_value(flood)
    expect(page.get_by_test_id("chat-message").filter(has_text=flood)).to_have_count(0)
