"""The scale-out path, really started: PostgreSQL, Redis and several server workers.

Two browsers talk through a server whose workers share state in Redis, and the test
makes sure the shopper's tabs and the agent's sit on different workers: Reflex's token
manager records, in Redis, which worker holds each tab's socket (below). Needs the
machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379): it fails, not skips,
when they are missing.
"""

import io
import pickle
import secrets
import tempfile
import time
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, expect

from factories import postgres_admin
from rxchat.testing import ChatWidget, StaffAccount, StaffConsole
from server import base_env, serve_fresh_app

pytestmark = [pytest.mark.e2e, pytest.mark.services]

REDIS_DB_URL = "redis://127.0.0.1:6379/7"  # a database of its own, flushed before and after
WORKERS = "3"
PRODUCT = "summit-backpack"
MAX_TABS = 20  # tabs opened at most to find one on another worker


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
    server = serve_fresh_app(workdir, env)
    yield server
    server.stop()
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def rxchat_env(scaled_app) -> dict[str, str]:
    """rxchat.testing's `rxchat_staff` makes its account in this module's PostgreSQL database."""
    return scaled_app.env


# --- which worker holds a tab's socket ----------------------------------------------------------------------------
# Reflex's RedisTokenManager stores, for each connected tab, `token_manager_socket_record_<token>` = a pickled
# SocketRecord(instance_id, sid). Every worker draws a fresh instance_id when it starts (App._setup_event_processor),
# so two tabs with different instance ids have their sockets in different worker processes. The tab's token is
# Reflex's `sessionStorage["token"]`.

SOCKET_RECORD = "token_manager_socket_record_"


class _SocketRecord:
    """Stands in for reflex.utils.token_manager.SocketRecord: the test reads the record without importing Reflex."""

    instance_id: str
    sid: str


class _RecordUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) == ("reflex.utils.token_manager", "SocketRecord"):
            return _SocketRecord
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a socket record")


def socket_worker(page: Page) -> str:
    """The instance id of the worker holding this tab's live socket (waits until the tab has one)."""
    store = redis.Redis.from_url(REDIS_DB_URL)
    deadline = time.monotonic() + 15
    while True:
        token = page.evaluate("() => window.sessionStorage.getItem('token')")
        raw = store.get(SOCKET_RECORD + token) if token else None
        if raw is not None:
            record = _RecordUnpickler(io.BytesIO(raw)).load()
            return record.instance_id
        assert time.monotonic() < deadline, f"no socket record in Redis for the tab's token {token!r}"
        time.sleep(0.1)


def tab_on_another_worker(context: BrowserContext, url: str, avoid: set[str]) -> tuple[ChatWidget, str]:
    """A new tab on the product page whose socket is on a worker not in `avoid`, and that worker.

    Which worker accepts a connection is up to the operating system; tabs that land on an avoided
    worker are closed and another is opened, up to MAX_TABS."""
    landed: list[str] = []
    for _ in range(MAX_TABS):
        widget = ChatWidget(context.new_page())
        widget.goto(f"{url}/products/{PRODUCT}")
        worker = socket_worker(widget.page)
        if worker not in avoid:
            return widget, worker
        landed.append(worker)
        widget.page.close()
    raise AssertionError(
        f"{MAX_TABS} tabs all landed on the worker(s) to avoid ({len(set(landed))} distinct): "
        f"the {WORKERS} workers do not share the sockets"
    )


def test_conversation_crosses_workers_both_ways_with_presence(browser: Browser, scaled_app, rxchat_staff: StaffAccount):
    url = scaled_app.url
    console = StaffConsole(browser.new_context().new_page(), url)
    console.login(rxchat_staff.email, rxchat_staff.password)
    agent_worker = socket_worker(console.page)

    # The shopper's first tab is on another worker than the agent's, the second on another worker than the first:
    # every delivery below crosses workers through Redis.
    shoppers = browser.new_context()
    first, first_worker = tab_on_another_worker(shoppers, url, avoid={agent_worker})
    second, second_worker = tab_on_another_worker(shoppers, url, avoid={first_worker})
    assert first_worker != agent_worker and second_worker != first_worker

    for tab in (first, second):
        tab.open()
    expect(first.page.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true", timeout=10_000)

    question = f"Is it waterproof? {secrets.token_hex(3)}"
    first.send(question)
    expect(second.thread).to_contain_text(question)
    console.open_conversation(question, product_id=PRODUCT)
    expect(console.thread).to_contain_text(question)
    expect(first.page.get_by_test_id("chat-message").filter(has_text=question)).to_have_attribute("data-status", "read")

    console.reply("Yes, fully.")
    for tab in (first, second):
        reply = tab.page.locator('[data-testid="chat-message"][data-author="agent"]')
        expect(reply).to_contain_text("Yes, fully.")
        expect(reply).to_have_count(1)

    # The sockets stayed where they were: the deliveries above really went between these workers.
    assert [socket_worker(page) for page in (console.page, first.page, second.page)] == [
        agent_worker,
        first_worker,
        second_worker,
    ]

    console.logout()
    expect(first.page.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "false", timeout=10_000)
    console.page.context.close()
    shoppers.close()
