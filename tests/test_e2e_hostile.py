"""Hostile input seen in a real browser: markup stays text everywhere, floods get a clear sentence.

Runs its own server with tight limits (3 messages a minute per session), so the
shared server's generous test limits stay out of the way.
"""

import re
import secrets
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from rxchat.testing import ChatWidget, StaffAccount, StaffConsole
from server import base_env, serve_fresh_app

pytestmark = pytest.mark.e2e

PRODUCT = "pour-over-kit"
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
    server = serve_fresh_app(workdir, env)
    yield server
    server.stop()


@pytest.fixture
def rxchat_env(strict_app) -> dict[str, str]:
    """rxchat.testing's `rxchat_staff` makes its account in this module's own server's database."""
    return strict_app.env


def test_markup_from_the_api_renders_as_text_in_widget_and_console(
    browser: Browser, strict_app, rxchat_staff: StaffAccount
):
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
    widget = ChatWidget(shopper)
    widget.goto(f"{strict_app.url}/products/{PRODUCT}")
    widget.open()

    agent = browser.new_context().new_page()
    StaffConsole(agent, strict_app.url).login(rxchat_staff.email, rxchat_staff.password)
    agent.get_by_test_id("agent-conversation-item").first.click()

    for page, thread in ((shopper, "chat-message-list"), (agent, "agent-thread")):
        message = page.get_by_test_id(thread).get_by_test_id("chat-message").first
        expect(message).to_contain_text(PAYLOAD)
        assert message.locator("img, script, b").count() == 0
        assert page.evaluate("window.__pwned") is None
    expect(agent.get_by_test_id("agent-inbox")).to_contain_text("<img src=x")
    for page in (shopper, agent):
        page.context.close()


def test_a_flood_past_the_limit_gets_a_sentence_and_keeps_the_text(rxchat_widget: ChatWidget, strict_app):
    widget, page = rxchat_widget, rxchat_widget.page
    widget.goto(f"{strict_app.url}/products/{PRODUCT}")
    widget.open()
    for n in range(3):
        widget.send(f"message {n}")
        expect(page.get_by_test_id("chat-message").filter(has_text=f"message {n}")).to_have_attribute(
            "data-status", "sent"
        )
    flood = f"one too many {secrets.token_hex(2)}"
    widget.submit(flood)  # refused: it is not stored
    expect(page.get_by_test_id("chat-error")).to_contain_text(re.compile(r"too fast|wait", re.IGNORECASE))
    expect(page.get_by_test_id("chat-input")).to_have_value(flood)
    expect(page.get_by_test_id("chat-message").filter(has_text=flood)).to_have_count(0)
