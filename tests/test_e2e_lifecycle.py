"""The anonymous session lifecycle in a real browser: the record, tabs, legacy data, expiry, erase, preferences."""

import json
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import factories
from console_errors import watch_console_errors
from rxchat.testing import ChatWidget, StaffAccount, StaffConsole
from server import run_cli

pytestmark = pytest.mark.e2e

PRODUCT = "aurora-lamp"
OTHER_PRODUCT = "sku-4417"
SESSION_ID = re.compile(r"^cs_[0-9a-f]{48}$")
DAY_SECS = 86_400


@pytest.fixture
def widget(rxchat_widget: ChatWidget) -> ChatWidget:
    """The widget on the test's `page` (rxchat.testing's page object)."""
    return rxchat_widget


def product_url(served_app, product_id: str = PRODUCT) -> str:
    return f"{served_app.url}/products/{product_id}"


def record(page: Page) -> dict:
    raw = page.evaluate("localStorage.getItem('chat_session_data')")
    return json.loads(raw) if raw else {}


def entry(page: Page, product_id: str = PRODUCT) -> dict | None:
    return record(page).get("productSessions", {}).get(f"product_{product_id}")


def wait_for_entry(page: Page, product_id: str = PRODUCT, **expected) -> dict:
    page.wait_for_function(
        """([key, expected]) => {
            const e = JSON.parse(localStorage.getItem('chat_session_data') || '{}').productSessions?.[key];
            return !!e && Object.entries(expected).every(([k, v]) => e[k] === v);
        }""",
        arg=[f"product_{product_id}", expected],
    )
    return entry(page, product_id)


def db_path(served_app) -> Path:
    return Path(served_app.env["REFLEX_DB_URL"].removeprefix("sqlite:///"))


@contextmanager
def clock_moved(served_app, seconds: int):
    """Moves the served app's clock forward (its injectable clock), and back afterwards."""
    offset = Path(served_app.env["RXCHAT_CLOCK_OFFSET_FILE"])
    offset.write_text(str(seconds))
    try:
        yield
    finally:
        offset.write_text("0")


def insert_legacy_conversation(served_app, legacy_id: str, body: str) -> None:
    """A conversation adopted from the original system's database, still under its old id."""
    factories.insert_legacy_conversation(db_path(served_app), legacy_id=legacy_id, product_id=PRODUCT, body=body)


def test_nothing_is_stored_until_the_chat_opens_then_the_record_follows_activity(
    widget: ChatWidget, page: Page, served_app
):
    widget.goto(product_url(served_app))
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes('chat'))") == []
    widget.open()
    page.wait_for_function("localStorage.getItem('global_chat_session') !== null")
    assert record(page)["productSessions"] == {}
    widget.send("first")
    first = wait_for_entry(page, messageCount=1)
    assert SESSION_ID.match(first["sessionId"]) and first["productId"] == PRODUCT and first["isActive"] is True
    widget.send("second")
    second = wait_for_entry(page, messageCount=2)
    assert second["sessionId"] == first["sessionId"]
    assert second["lastActivity"] >= first["lastActivity"]


def test_two_tabs_share_one_session_and_one_live_thread(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    other_tab = page.context.new_page()
    other = ChatWidget(other_tab)
    other.goto(product_url(served_app))
    other.open()
    widget.send("hello from the first tab")
    expect(other_tab.get_by_test_id("chat-message-list")).to_contain_text("hello from the first tab")
    other.send("and from the second")
    expect(page.get_by_test_id("chat-message-list")).to_contain_text("and from the second")
    wait_for_entry(page, messageCount=2)
    assert entry(page)["sessionId"] == entry(other_tab)["sessionId"]


CORRUPT_RECORDS = {
    "invalid JSON": "{not json",
    "an array": "[]",
    "sessions not an object": '{"productSessions": "oops"}',
    "a bare malformed id": '{"productSessions": {"product_aurora-lamp": "garbage"}}',
    "an unknown legacy bare id": '{"productSessions": {"product_aurora-lamp": "session_1700000000000_ab12cd_fp9"}}',
    "a number as id": '{"productSessions": {"product_aurora-lamp": {"sessionId": 42, "productId": 7}}}',
    "wrong field types": '{"productSessions": {"product_aurora-lamp": {"sessionId": "cs_'
    + "0" * 48
    + '", "messageCount": "many", "isActive": "yes", "createdAt": 5}}, "userPreferences": []}',
    "a value too large to send": json.dumps({"productSessions": {}, "padding": "x" * 400_000}),
}


@pytest.mark.parametrize("raw", CORRUPT_RECORDS.values(), ids=CORRUPT_RECORDS.keys())
def test_corrupted_or_legacy_record_recovers(widget: ChatWidget, page: Page, served_app, raw: str):
    widget.goto(product_url(served_app))
    page.evaluate("raw => localStorage.setItem('chat_session_data', raw)", raw)
    widget.goto(product_url(served_app))
    widget.open()
    expect(page.get_by_test_id("chat-message")).to_have_count(0)
    widget.send("still works")
    expect(page.get_by_test_id("chat-error")).to_have_count(0)
    assert SESSION_ID.match(wait_for_entry(page, messageCount=1)["sessionId"])


def test_legacy_id_known_to_the_server_keeps_the_thread_and_is_rotated(widget: ChatWidget, page: Page, served_app):
    legacy_id = (
        f"session_{1_700_000_000_000 + secrets.randbelow(10**9)}_{secrets.token_hex(4)}_fp{secrets.token_hex(3)}"
    )
    insert_legacy_conversation(served_app, legacy_id, "asked before the move")
    widget.goto(product_url(served_app))
    page.evaluate(
        "id => localStorage.setItem('chat_session_data',"
        " JSON.stringify({productSessions: {'product_aurora-lamp': id}}))",
        legacy_id,
    )
    widget.goto(product_url(served_app))
    widget.open()
    expect(page.get_by_test_id("chat-message-list")).to_contain_text("asked before the move")
    page.wait_for_function("!localStorage.getItem('chat_session_data').includes('session_')")
    assert SESSION_ID.match(entry(page)["sessionId"])
    old = page.request.get(f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{legacy_id}/messages")
    assert old.status == 404


def test_expired_entries_leave_the_record_and_a_fresh_thread_starts(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    widget.send("a question from long ago")
    old_id = wait_for_entry(page, messageCount=1)["sessionId"]
    with clock_moved(served_app, 31 * DAY_SECS):
        widget.goto(product_url(served_app))
        page.wait_for_function("!localStorage.getItem('chat_session_data').includes('product_aurora-lamp')")
        widget.open()
        expect(page.get_by_test_id("chat-message")).to_have_count(0)
        widget.send("a new question")
        assert wait_for_entry(page, messageCount=1)["sessionId"] != old_id
        swept = run_cli("sweep", env=served_app.env)
    assert re.search(r"\b[1-9]\d* expired session", swept), swept


def test_erase_removes_the_thread_everywhere(
    browser: Browser, rxchat_console: StaffConsole, rxchat_staff: StaffAccount, served_app
):
    """The agent works on the test's `page` (rxchat.testing's fixtures: a new staff account, the console);
    the shopper in a browser of their own."""
    shopper_context = browser.new_context()
    page = shopper_context.new_page()
    errors = watch_console_errors(page)
    widget = ChatWidget(page)
    widget.goto(product_url(served_app))
    widget.open()
    marker = f"please erase me {secrets.token_hex(3)}"
    widget.send(marker)
    session_id = wait_for_entry(page, messageCount=1)["sessionId"]

    agent = rxchat_console
    agent.login(rxchat_staff.email, rxchat_staff.password)
    agent.open_conversation(marker, product_id=PRODUCT)
    expect(agent.thread).to_contain_text(marker)

    page.locator(".chat-details-summary").click()
    page.get_by_test_id("chat-erase").click()
    page.get_by_test_id("chat-erase-confirm").click()
    expect(page.get_by_test_id("chat-message")).to_have_count(0)
    page.wait_for_function("!localStorage.getItem('chat_session_data').includes('product_aurora-lamp')")
    expect(agent.page.get_by_test_id("agent-conversation-erased")).to_be_visible()
    expect(agent.conversation(marker)).to_have_count(0)
    gone = page.request.get(f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{session_id}")
    assert gone.status == 404
    shopper_context.close()
    assert not errors, f"console errors: {errors}"


def test_profile_is_validated_remembered_and_attached_to_new_threads(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    page.locator(".chat-details-summary").click()
    page.get_by_test_id("chat-email-input").fill("not an email")
    page.get_by_test_id("chat-save-profile").click()
    expect(page.get_by_test_id("chat-error")).to_contain_text("email")
    page.get_by_test_id("chat-name-input").fill("Maria")
    page.get_by_test_id("chat-email-input").fill("Maria@Example.com")
    page.get_by_test_id("chat-save-profile").click()
    expect(page.get_by_test_id("chat-error")).to_have_count(0)
    page.wait_for_function("JSON.parse(localStorage.getItem('chat_session_data')).userPreferences.name === 'Maria'")

    widget.goto(product_url(served_app, OTHER_PRODUCT))
    widget.open()
    page.locator(".chat-details-summary").click()
    expect(page.get_by_test_id("chat-name-input")).to_have_value("Maria")
    expect(page.get_by_test_id("chat-email-input")).to_have_value("maria@example.com")
    widget.send("question with my details")
    assert wait_for_entry(page, OTHER_PRODUCT, messageCount=1)["customerName"] == "Maria"


def shown_theme(page: Page) -> str:
    """The colour mode the page shows now (Reflex's, on <html>)."""
    return "dark" if "dark" in (page.locator("html").get_attribute("class") or "").split() else "light"


def wait_for_recorded_theme(page: Page, theme: str) -> None:
    """Wait until our record's userPreferences.theme is `theme` (Reflex keeps its own key; this reads only ours)."""
    page.wait_for_function(
        "theme => JSON.parse(localStorage.getItem('chat_session_data') || '{}').userPreferences?.theme === theme",
        arg=theme,
        timeout=10_000,
    )


def test_theme_choice_is_remembered_across_visits(widget: ChatWidget, page: Page, served_app):
    """Each switch writes the mode it turns to into our record (`userPreferences.theme`), and the record keeps it
    across visits and later writes. Checked against our record, never Reflex's own colour-mode key."""
    widget.goto(product_url(served_app))
    widget.open()
    page.wait_for_function("localStorage.getItem('chat_session_data') !== null")  # the switch writes into it
    html = page.locator("html")
    for _ in range(2):  # both ways: a record that kept its first value, or the old mode, fails the second turn
        turned_to = "light" if shown_theme(page) == "dark" else "dark"
        page.get_by_test_id("theme-switch").click()
        expect(html).to_have_class(re.compile(rf"\b{turned_to}\b"))
        wait_for_recorded_theme(page, turned_to)
    chosen = shown_theme(page)

    widget.goto(product_url(served_app))
    expect(html).to_have_class(re.compile(rf"\b{chosen}\b"))
    assert record(page)["userPreferences"]["theme"] == chosen
    widget.open()
    widget.send("a message rewrites the record")
    wait_for_entry(page, messageCount=1)
    assert record(page)["userPreferences"]["theme"] == chosen, "the record kept the theme through a later write"
