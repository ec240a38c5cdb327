"""The scale-out path, really started: PostgreSQL, Redis and several server workers.

Two browsers talk through a server whose workers share state in Redis, so the
shopper's and the agent's sockets may live in different workers. Needs the
machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379): it fails, not
skips, when they are missing.
"""

import re
import secrets
import tempfile
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, expect

from factories import postgres_admin
from server import base_env, serve_fresh_app

pytestmark = [pytest.mark.e2e, pytest.mark.services]

REDIS_DB_URL = "redis://127.0.0.1:6379/7"  # a database of its own, flushed before and after
WORKERS = "3"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def scaled_app():
    database = f"rxchat_scale_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{database}"')
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-scaled-"))
    env = base_env(
        REFLEX_DB_URL=f"postgresql://postgres@127.0.0.1:5432/{database}",
        REFLEX_REDIS_URL=REDIS_DB_URL,
        GRANIAN_WORKERS=WORKERS,
        RXCHAT_MESSAGES_PER_MINUTE="1000",
        RXCHAT_SESSIONS_PER_HOUR="1000",
    )
    server = serve_fresh_app(workdir, env, agent=("sam@example.com", "Sam", PASSWORD))
    yield server
    server.stop()
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_conversation_crosses_workers_both_ways_with_presence(browser: Browser, scaled_app):
    url = scaled_app.url
    agent = browser.new_context().new_page()
    agent.goto(f"{url}/agent/login")
    expect(agent.get_by_test_id("agent-login-submit")).to_be_enabled()
    agent.get_by_test_id("agent-login-email").fill("sam@example.com")
    agent.get_by_test_id("agent-login-password").fill(PASSWORD)
    agent.get_by_test_id("agent-login-submit").click()
    agent.wait_for_url(re.compile(r".*/agent$"))

    shoppers = browser.new_context()
    first_tab, second_tab = shoppers.new_page(), shoppers.new_page()
    for tab in (first_tab, second_tab):
        tab.goto(f"{url}/products/summit-backpack")
        expect(tab.get_by_test_id("chat-launcher")).to_be_enabled()
        tab.get_by_test_id("chat-launcher").click()
    expect(first_tab.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true", timeout=10_000)

    question = f"Is it waterproof? {secrets.token_hex(3)}"
    first_tab.get_by_test_id("chat-input").fill(question)
    first_tab.get_by_test_id("chat-input").press("Enter")
    expect(second_tab.get_by_test_id("chat-message-list")).to_contain_text(question)
    agent.get_by_test_id("agent-conversation-item").filter(has_text=question).click()
    expect(agent.get_by_test_id("agent-thread")).to_contain_text(question)
    expect(first_tab.get_by_test_id("chat-message").filter(has_text=question)).to_have_attribute("data-status", "read")

    agent.get_by_test_id("agent-reply-input").fill("Yes, fully.")
    agent.get_by_test_id("agent-reply-send").click()
    for tab in (first_tab, second_tab):
        reply = tab.locator('[data-testid="chat-message"][data-author="agent"]')
        expect(reply).to_contain_text("Yes, fully.")
        expect(reply).to_have_count(1)

    agent.get_by_test_id("agent-logout").click()
    expect(first_tab.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "false", timeout=10_000)
    agent.context.close()
    shoppers.close()
