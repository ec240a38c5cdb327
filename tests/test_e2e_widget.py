"""The shopper's chat widget in a real browser, against the app served as in production.

One server for the module (the session-scoped `served_app`); every test gets its own
browser context from pytest-playwright, so each starts as a new shopper.
"""

import contextlib
import json
import re
import sqlite3
import time

import pytest
from playwright.sync_api import Page, expect

from console_errors import watch_console_errors
from rxchat.testing import ChatWidget

pytestmark = pytest.mark.e2e

PRODUCT = "aurora-lamp"
PRODUCT_NAME = "Aurora Desk Lamp"
OTHER_PRODUCT = "summit-backpack"
SESSION_ID_RE = re.compile(r"^cs_[0-9a-f]{48}$")
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
RECORD_KEYS = ("global_chat_session", "chat_session_data")
EXPECT_TIMEOUT_MS = 10_000  # generous: CI machines build and test side by side

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


# --- helpers ------------------------------------------------------------------------------------------------------


@pytest.fixture
def widget(rxchat_widget: ChatWidget) -> ChatWidget:
    """The widget on the test's `page` (rxchat.testing's page object)."""
    return rxchat_widget


def product_url(served_app, product_id: str = PRODUCT) -> str:
    return f"{served_app.url}/products/{product_id}"


def messages(page: Page):
    return page.get_by_test_id("chat-message")


def sent_message(page: Page, text: str):
    """The stored shopper message with this text, once the server has it."""
    message = messages(page).filter(has_text=text)
    expect(message).to_have_count(1)
    expect(message).to_have_attribute("data-status", "sent")
    return message


def storage(page: Page, key: str) -> str | None:
    return page.evaluate("(key) => window.localStorage.getItem(key)", key)


def stored_record(page: Page) -> dict:
    return json.loads(storage(page, "chat_session_data") or "null")


def wait_for_entry(page: Page, product_id: str, *, present: bool = True, message_count: int | None = None) -> None:
    """Wait until the browser record has (or no longer has) this product's entry."""
    page.wait_for_function(
        """([key, present, count]) => {
            let data;
            try { data = JSON.parse(localStorage.getItem("chat_session_data") || "null"); } catch { return false; }
            const entry = data && data.productSessions && data.productSessions[key];
            if (!present) return data !== null && !entry;
            return !!entry && (count === null || entry.messageCount === count);
        }""",
        arg=[f"product_{product_id}", present, message_count],
    )


def start_conversation(widget: ChatWidget, served_app, text: str, product_id: str = PRODUCT) -> None:
    """Visit the product, open the chat and send a first message; returns once the record counts it."""
    widget.goto(product_url(served_app, product_id))
    widget.open()
    widget.send(text)
    sent_message(widget.page, text)
    wait_for_entry(widget.page, product_id, message_count=1)


def tamper_session_id(page: Page, product_id: str, session_id: str) -> None:
    page.evaluate(
        """([key, sid]) => {
            const data = JSON.parse(localStorage.getItem("chat_session_data"));
            data.productSessions[key].sessionId = sid;
            localStorage.setItem("chat_session_data", JSON.stringify(data));
        }""",
        [f"product_{product_id}", session_id],
    )


# --- store front --------------------------------------------------------------------------------------------------


def test_store_front_lists_products_linking_to_their_pages(page: Page, served_app):
    page.goto(served_app.url + "/")
    cards = page.get_by_test_id("product-card")
    expect(cards.first).to_be_visible()
    expect(cards).to_have_count(6)

    for card in cards.all():
        product_id = card.get_attribute("data-product-id")
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", product_id or "")
        assert card.get_attribute("href") == f"/products/{product_id}"

    page.locator(f'[data-testid="product-card"][data-product-id="{PRODUCT}"]').click()
    expect(page).to_have_url(f"{served_app.url}/products/{PRODUCT}")
    expect(page.get_by_test_id("product-name")).to_have_text(PRODUCT_NAME)
    expect(page.get_by_test_id("chat-launcher")).to_be_enabled()


# --- browser storage ----------------------------------------------------------------------------------------------


def test_open_chat_first_time_writes_storage(widget: ChatWidget, page: Page, served_app):
    # Events of a tab run in order: once the second page is live, the first page's load handlers are done.
    widget.goto(product_url(served_app, OTHER_PRODUCT))
    page.goto(served_app.url + "/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    widget.goto(product_url(served_app))
    expect(page.get_by_test_id("product-name")).to_have_text(PRODUCT_NAME)

    assert [storage(page, key) for key in RECORD_KEYS] == [None, None]
    expect(widget.panel).not_to_be_visible()

    widget.open()

    page.wait_for_function("() => localStorage.getItem('chat_session_data') !== null")
    record = stored_record(page)
    assert record["globalSessionId"] == storage(page, "global_chat_session")
    assert record["productSessions"] == {}, "a product's entry appears only with its first message"


def test_send_first_message_record_matches_contract(widget: ChatWidget, page: Page, served_app):
    start_conversation(widget, served_app, "Does it come with a bulb?")

    record = stored_record(page)
    assert set(record) >= {"globalSessionId", "productSessions", "userPreferences"}
    assert record["globalSessionId"] == storage(page, "global_chat_session")
    assert list(record["productSessions"]) == [f"product_{PRODUCT}"]
    entry = record["productSessions"][f"product_{PRODUCT}"]
    assert SESSION_ID_RE.match(entry["sessionId"])
    assert entry["productId"] == PRODUCT
    assert ISO_Z_RE.match(entry["createdAt"]) and ISO_Z_RE.match(entry["lastActivity"])
    assert entry["createdAt"] <= entry["lastActivity"]
    assert entry["messageCount"] == 1
    assert entry["isActive"] is True
    # The session id is a secret: never in the page's address, its markup or the server's log.
    assert entry["sessionId"] not in page.url
    assert entry["sessionId"] not in page.content()
    assert entry["sessionId"] not in served_app.log()


# --- sending ------------------------------------------------------------------------------------------------------


def test_send_with_enter_shows_message_and_clears_input(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()

    widget.submit("  Is the base real oak?  ")  # Enter in the box

    message = sent_message(page, "Is the base real oak?")
    expect(message).to_have_attribute("data-author", "shopper")
    expect(widget.input).to_have_value("")
    expect(messages(page)).to_have_count(1)
    expect(widget.error).to_have_count(0)
    assert widget.messages() == [("shopper", "Is the base real oak?", "sent")]


@contextlib.contextmanager
def database_held(page: Page, served_app):
    """Another writer holds the app's SQLite database: the widget's writes wait for it (busy timeout).

    The tab's own follow-up write (its seen mark of the first message) goes first: held up too, it
    would hold the tab's next event back with it, and no message would show at all until the
    database is free."""
    session_id = stored_record(page)["productSessions"][f"product_{PRODUCT}"]["sessionId"]
    blocker = sqlite3.connect(served_app.workdir / "rxchat.db", isolation_level=None)
    deadline = time.monotonic() + EXPECT_TIMEOUT_MS / 1000
    seen = "SELECT shopper_seen_seq FROM product_chat_sessions WHERE session_id = ?"
    try:
        while blocker.execute(seen, (session_id,)).fetchone()[0] < 1:
            assert time.monotonic() < deadline, "the tab never marked its first message seen"
            time.sleep(0.05)
        blocker.execute("BEGIN IMMEDIATE")
        yield
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


def test_a_message_shows_sending_while_the_database_is_busy_then_is_stored(widget: ChatWidget, page: Page, served_app):
    """A quick write shows the message stored at once; a held-up one shows `Sending…` until it lands."""
    start_conversation(widget, served_app, "First, to start the conversation")

    with database_held(page, served_app):  # nothing is lost meanwhile
        widget.submit("Written while the database is busy")
        held = messages(page).filter(has_text="Written while the database is busy")
        expect(held).to_have_attribute("data-status", "sending")
        # Asserts that something does NOT happen: the held-up message is not shown stored. A short fixed wait.
        page.wait_for_timeout(500)
        expect(held).to_have_attribute("data-status", "sending")
    stored = sent_message(page, "Written while the database is busy")
    expect(stored).to_have_attribute("data-seq", "2")
    expect(widget.input).to_have_value("")


def test_the_next_text_typed_while_a_message_is_being_stored_stays_in_the_box(
    widget: ChatWidget, page: Page, served_app
):
    start_conversation(widget, served_app, "First, to start the conversation")

    with database_held(page, served_app):
        widget.submit("Is it waterproof?")
        expect(messages(page).filter(has_text="Is it waterproof?")).to_have_attribute("data-status", "sending")
        widget.input.fill("And does it come in blue?")

    sent_message(page, "Is it waterproof?")
    # Asserts that something does NOT happen: the box, emptied (if at all) just after the stored message
    # shows, is not emptied. A short fixed wait.
    page.wait_for_timeout(500)
    expect(widget.input).to_have_value("And does it come in blue?")


def test_shift_enter_inserts_newline_without_sending(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    box = widget.input

    box.press_sequentially("line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")

    expect(box).to_have_value("line one\nline two")
    box.press("Enter")
    expect(messages(page)).to_have_count(1)  # one message of two lines, not two messages
    message = sent_message(page, "line one")
    assert message.inner_text().startswith("line one\nline two")


def test_reload_widget_closed_thread_reloaded_from_database(widget: ChatWidget, page: Page, served_app, browser):
    start_conversation(widget, served_app, "Remember me after a reload")

    page.reload()
    widget.wait_until_live()
    expect(widget.panel).not_to_be_visible()
    widget.open()
    expect(sent_message(page, "Remember me after a reload")).to_have_attribute("data-seq", "1")
    expect(messages(page)).to_have_count(1)

    # Another browser holding the same record sees the same thread: it comes from the database.
    other = browser.new_context(storage_state=page.context.storage_state())
    try:
        other_page = other.new_page()
        errors = watch_console_errors(other_page)
        other_widget = ChatWidget(other_page)
        other_widget.goto(product_url(served_app))
        other_widget.open()
        expect(sent_message(other_page, "Remember me after a reload")).to_have_attribute("data-author", "shopper")
        assert not errors, f"console errors: {errors}"
    finally:
        other.close()


def test_a_long_live_conversation_loads_earlier_messages_without_a_gap(widget: ChatWidget, page: Page, served_app):
    """The room trims its oldest messages as new ones arrive live; "Load earlier" still brings
    back every message, once and in order."""
    start_conversation(widget, served_app, "m001")
    session_id = stored_record(page)["productSessions"][f"product_{PRODUCT}"]["sessionId"]
    post_url = f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{session_id}/messages"

    def post(first: int, last: int) -> None:
        for n in range(first, last + 1):
            assert page.request.post(post_url, data={"content": f"m{n:03d}"}).status == 201

    post(2, 55)
    page.reload()
    widget.open()  # the newest 50 (m006..m055), the rest a page away
    expect(messages(page).filter(has_text="m055")).to_have_count(1)
    post(56, 88)  # arriving live, past the room's trim point
    expect(messages(page).filter(has_text="m088")).to_have_count(1)

    load_earlier = page.get_by_test_id("chat-load-earlier")
    for _ in range(10):
        if not load_earlier.count():
            break
        shown = messages(page).count()
        load_earlier.click()
        expect(messages(page)).not_to_have_count(shown)
    shown = [re.search(r"m\d{3}", text).group(0) for text in messages(page).all_inner_texts()]
    assert shown == [f"m{n:03d}" for n in range(1, 89)]


def test_second_product_has_its_own_thread(widget: ChatWidget, page: Page, served_app):
    start_conversation(widget, served_app, "About the lamp")

    widget.goto(product_url(served_app, OTHER_PRODUCT))
    widget.open()
    expect(widget.panel).to_contain_text("Summit 28L Backpack")
    expect(messages(page)).to_have_count(0)
    widget.send("About the backpack")
    sent_message(page, "About the backpack")
    wait_for_entry(page, OTHER_PRODUCT, message_count=1)

    widget.goto(product_url(served_app, PRODUCT))
    widget.open()
    sent_message(page, "About the lamp")
    expect(messages(page)).to_have_count(1)

    sessions = stored_record(page)["productSessions"]
    assert sessions[f"product_{PRODUCT}"]["sessionId"] != sessions[f"product_{OTHER_PRODUCT}"]["sessionId"]


# --- refusals and rendering ---------------------------------------------------------------------------------------


def test_send_4001_chars_refused_text_kept(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    box = widget.input
    too_long = "x" * 4001

    widget.submit(too_long)

    error = widget.error
    expect(error).to_be_visible()
    expect(error).to_contain_text("4,000")
    expect(box).to_have_value(too_long)
    expect(messages(page)).to_have_count(0)

    # Shortened to the limit, it goes through and the error goes away; the refused one was never stored.
    widget.submit("x" * 4000)
    expect(messages(page)).to_have_count(1)
    expect(messages(page).first).to_have_attribute("data-status", "sent")
    expect(error).to_have_count(0)
    wait_for_entry(page, PRODUCT, message_count=1)


def test_send_whitespace_only_refused(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()

    widget.submit("   ")

    expect(widget.error).to_be_visible()
    expect(messages(page)).to_have_count(0)


def test_send_html_renders_as_literal_text(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()
    html = "<b>x</b><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"

    widget.submit(html)

    message = sent_message(page, "<b>x</b>")
    expect(message).to_contain_text(html)
    expect(message.locator("b, script, img")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


def test_send_link_renders_safe_anchor(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    widget.open()

    widget.submit("Specs at https://example.com. Also javascript:alert(1)")

    message = sent_message(page, "Specs at")
    link = message.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com")
    expect(link).to_have_text("https://example.com")
    expect(link).to_have_attribute("rel", re.compile(r"(^|\s)noopener(\s|$)"))
    expect(message).to_contain_text("javascript:alert(1)")


# --- a record the browser cannot be trusted with ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_session_id",
    ["garbage", "cs_" + "0" * 48],
    ids=["garbage", "unknown-valid-looking"],
)
def test_tampered_session_id_recovers_with_fresh_session(widget: ChatWidget, page: Page, served_app, bad_session_id):
    start_conversation(widget, served_app, "Before tampering")
    original = stored_record(page)["productSessions"][f"product_{PRODUCT}"]["sessionId"]

    tamper_session_id(page, PRODUCT, bad_session_id)
    page.reload()
    widget.wait_until_live()
    widget.open()

    wait_for_entry(page, PRODUCT, present=False)  # the widget dropped the bad entry
    expect(page.get_by_test_id("product-name")).to_have_text(PRODUCT_NAME)
    expect(messages(page)).to_have_count(0)
    expect(widget.error).to_have_count(0)

    widget.send("After tampering")
    sent_message(page, "After tampering")
    wait_for_entry(page, PRODUCT, message_count=1)
    fresh = stored_record(page)["productSessions"][f"product_{PRODUCT}"]["sessionId"]
    assert SESSION_ID_RE.match(fresh)
    assert fresh not in (bad_session_id, original)
    expect(messages(page)).to_have_count(1)


def test_other_products_session_id_not_shown_on_this_product(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app, OTHER_PRODUCT))
    widget.open()
    widget.send("Backpack secret")
    sent_message(page, "Backpack secret")
    wait_for_entry(page, OTHER_PRODUCT, message_count=1)
    backpack_session = stored_record(page)["productSessions"][f"product_{OTHER_PRODUCT}"]["sessionId"]

    start_conversation(widget, served_app, "Lamp question")
    tamper_session_id(page, PRODUCT, backpack_session)
    page.reload()
    widget.wait_until_live()
    widget.open()

    wait_for_entry(page, PRODUCT, present=False)
    expect(messages(page)).to_have_count(0)
    expect(widget.thread).not_to_contain_text("Backpack secret")


def test_corrupt_record_recovers(widget: ChatWidget, page: Page, served_app):
    widget.goto(product_url(served_app))
    page.evaluate("""() => {
        localStorage.setItem("chat_session_data", "{not json");
        localStorage.setItem("global_chat_session", "<script>");
    }""")
    page.reload()
    widget.wait_until_live()
    widget.open()

    widget.send("Hello after a corrupt record")
    sent_message(page, "Hello after a corrupt record")
    wait_for_entry(page, PRODUCT, message_count=1)
    assert re.fullmatch(r"v[0-9a-f]{32}", storage(page, "global_chat_session") or "")


def test_new_browser_context_starts_fresh(widget: ChatWidget, page: Page, served_app, browser):
    widget.goto(product_url(served_app))
    widget.open()
    widget.send("Only for the first browser")
    sent_message(page, "Only for the first browser")

    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        errors = watch_console_errors(other)
        other_widget = ChatWidget(other)
        other_widget.goto(product_url(served_app))
        assert [storage(other, key) for key in RECORD_KEYS] == [None, None]
        other_widget.open()
        other.wait_for_function("() => localStorage.getItem('chat_session_data') !== null")
        expect(messages(other)).to_have_count(0)
        expect(other_widget.thread).not_to_contain_text("Only for the first browser")
        assert storage(other, "global_chat_session") != storage(page, "global_chat_session")
        assert not errors, f"console errors: {errors}"
    finally:
        fresh.close()
