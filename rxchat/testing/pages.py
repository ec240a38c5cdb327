"""Page objects for the shopper's widget and the staff console (Playwright's sync API).

They select only by the contract's stable test ids (`data-testid`, `data-author`,
`data-status`) and wait on what the page shows, never for a fixed time. Every wait
gives up after the object's `timeout_ms` (10 s unless given) with Playwright's
`AssertionError` naming what it waited for.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

DEFAULT_TIMEOUT_MS = 10_000

MESSAGE = '[data-testid="chat-message"]'
STORED = "[data-seq]"  # a stored message carries its sequence number; a pending one does not
STORED_SHOPPER = f'{MESSAGE}[data-author="shopper"]:is([data-status="sent"], [data-status="read"])'

# One message as (author, text, status): the text without the agent's name above it or the time below it.
_READ_MESSAGES = """els => els.map(e => [
    e.dataset.author || "",
    (e.querySelector(".chat-text") || e).innerText.trim(),
    e.dataset.status || null,
])"""


class Message(NamedTuple):
    """One `chat-message` as shown: `author` is "shopper" or "agent"; `status` is the shopper's
    own message's `data-status` ("sending", "sent", "read" or "failed"), None on a reply."""

    author: str
    text: str
    status: str | None


def _messages(thread: Locator) -> list[Message]:
    return [Message(*row) for row in thread.locator(MESSAGE).evaluate_all(_READ_MESSAGES)]


class ChatWidget:
    """The shopper's chat widget on a product page.

    `ChatWidget(page)` wraps a Playwright `Page` already on (or about to go to) a page
    that shows `rxchat.chat_widget()`. The widget starts closed on every page load.
    """

    def __init__(self, page: Page, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        self.page = page
        self.timeout_ms = timeout_ms

    # --- locators (for a test's own `expect`) --------------------------------------------------------------------

    @property
    def launcher(self) -> Locator:
        """`chat-launcher`: opens and closes the widget; disabled until the page is live."""
        return self.page.get_by_test_id("chat-launcher")

    @property
    def panel(self) -> Locator:
        """`chat-panel`: the open widget."""
        return self.page.get_by_test_id("chat-panel")

    @property
    def thread(self) -> Locator:
        """`chat-message-list`: the conversation shown in the widget."""
        return self.page.get_by_test_id("chat-message-list")

    @property
    def input(self) -> Locator:
        """`chat-input`: where the shopper writes."""
        return self.page.get_by_test_id("chat-input")

    @property
    def error(self) -> Locator:
        """`chat-error`: the sentence shown when something is refused."""
        return self.page.get_by_test_id("chat-error")

    @property
    def typing_indicator(self) -> Locator:
        """`chat-typing-indicator`: shown while an agent types."""
        return self.page.get_by_test_id("chat-typing-indicator")

    @property
    def connection_status(self) -> Locator:
        """`chat-connection-status`: shown only while a live connection that existed is lost."""
        return self.page.get_by_test_id("chat-connection-status")

    @property
    def unread_badge(self) -> Locator:
        """`chat-unread-badge`: replies not yet seen, on the launcher."""
        return self.page.get_by_test_id("chat-unread-badge")

    def message_items(self, containing: str | None = None, *, author: str | None = None) -> Locator:
        """The thread's `chat-message` items, optionally only those containing `containing`
        (case-insensitive, whitespace-normalised, as Playwright's `has_text`) or by `author`."""
        selector = MESSAGE if author is None else f'{MESSAGE}[data-author="{author}"]'
        items = self.thread.locator(selector)
        return items if containing is None else items.filter(has_text=containing)

    # --- actions and waits ---------------------------------------------------------------------------------------

    def goto(self, url: str) -> None:
        """Load `url` (a page with the widget) and wait until it is live (`wait_until_live`)."""
        self.page.goto(url)
        self.wait_until_live()

    def wait_until_live(self) -> None:
        """Wait until `chat-launcher` is enabled: the page is connected and a click will not be lost."""
        expect(self.launcher).to_be_enabled(timeout=self.timeout_ms)

    def is_open(self) -> bool:
        """Whether `chat-panel` is visible now (no waiting)."""
        return self.panel.is_visible()

    def open(self) -> None:
        """Open the widget: wait until the launcher is enabled, click it unless the widget is
        open already, and wait until `chat-panel` is visible."""
        self.wait_until_live()
        if not self.is_open():
            self.launcher.click()
        expect(self.panel).to_be_visible(timeout=self.timeout_ms)

    def close(self) -> None:
        """Close the widget: click the launcher if the widget is open, and wait until `chat-panel` is hidden."""
        if self.is_open():
            self.launcher.click()
        expect(self.panel).to_be_hidden(timeout=self.timeout_ms)

    def submit(self, text: str) -> None:
        """Type `text` into `chat-input` and press Enter; wait for nothing. For a message the
        test expects to be refused, or to stay unsent (the server away); otherwise use `send`."""
        self.input.fill(text)
        self.input.press("Enter")

    def send(self, text: str) -> Locator:
        """Send `text` and wait until it is stored: one more `chat-message` with
        `data-author="shopper"` and `data-status` "sent" or "read" contains it than before, and
        `chat-input` is empty. Returns the newest such message. The widget must be open.

        A refused message (too long, too fast, blank) makes this time out; use `submit` and
        check `error` for those."""
        stored = self.thread.locator(STORED_SHOPPER).filter(has_text=text)
        before = stored.count()
        self.submit(text)
        expect(stored).to_have_count(before + 1, timeout=self.timeout_ms)
        expect(self.input).to_have_value("", timeout=self.timeout_ms)
        return stored.last

    def wait_for_reply(self, containing: str, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Locator:
        """Wait until a `chat-message` with `data-author="agent"` containing `containing` is visible
        in the widget's thread, and return the newest such reply. The widget must be open; while
        it is closed a reply shows as `unread_badge` instead."""
        reply = self.message_items(containing, author="agent").last
        expect(reply).to_be_visible(timeout=timeout_ms)
        return reply

    def messages(self) -> list[Message]:
        """The thread's messages now, oldest first, as `(author, text, status)` tuples (no waiting)."""
        return _messages(self.thread)

    def typing_visible(self) -> bool:
        """Whether `chat-typing-indicator` (an agent is typing) is visible now (no waiting; for a
        wait, `expect(widget.typing_indicator).to_be_visible()`)."""
        return self.typing_indicator.is_visible()

    def show_details(self) -> None:
        """Unfold "Your details and privacy" (`chat-details`): the name and email inputs, erase. The widget
        must be open."""
        details = self.page.get_by_test_id("chat-details")
        if not details.evaluate("summary => summary.parentElement.open"):
            details.click()
        expect(self.page.get_by_test_id("chat-email-input")).to_be_visible(timeout=self.timeout_ms)

    def save_email(self, address: str) -> None:
        """Enter `address` in `chat-email-input` and save it, as a shopper who wants replies by email when they
        are away; wait until it is kept (`chat-email-remove` shows). The widget must be open."""
        self.show_details()
        self.page.get_by_test_id("chat-email-input").fill(address)
        self.page.get_by_test_id("chat-save-profile").click()
        expect(self.page.get_by_test_id("chat-email-remove")).to_be_visible(timeout=self.timeout_ms)

    def remove_email(self) -> None:
        """Remove the saved email (`chat-email-remove`): no more emails; wait until it is gone. The widget
        must be open."""
        self.show_details()
        self.page.get_by_test_id("chat-email-remove").click()
        expect(self.page.get_by_test_id("chat-email-remove")).to_be_hidden(timeout=self.timeout_ms)
        expect(self.page.get_by_test_id("chat-email-input")).to_have_value("", timeout=self.timeout_ms)

    def open_resume_link(self, url: str) -> None:
        """Open a resume link from a reply email (`/chat/resume/<token>`) and wait until it has led to the
        product page with the widget open on the thread. A used or expired link shows `chat-resume-error`
        instead (check it with `expect(page.get_by_test_id("chat-resume-error"))`)."""
        self.page.goto(url)
        expect(self.panel).to_be_visible(timeout=self.timeout_ms)


class StaffConsole:
    """The staff console at `{base_url}/agent`.

    `StaffConsole(page, base_url)` wraps a Playwright `Page`; `base_url` is where the app
    under test is served (scheme, host and port, e.g. "http://localhost:3000").
    """

    def __init__(self, page: Page, base_url: str, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.timeout_ms = timeout_ms

    # --- locators ------------------------------------------------------------------------------------------------

    @property
    def load_error(self) -> Locator:
        """`agent-load-error`: the console says it cannot load (its server cannot reach the database)."""
        return self.page.get_by_test_id("agent-load-error")

    @property
    def inbox(self) -> Locator:
        """`agent-inbox`: the list of conversations."""
        return self.page.get_by_test_id("agent-inbox")

    @property
    def conversations(self) -> Locator:
        """Every `agent-conversation-item` in the inbox."""
        return self.page.get_by_test_id("agent-conversation-item")

    def conversation(self, containing: str) -> Locator:
        """The inbox items containing `containing` (their shopper, product or latest message)."""
        return self.conversations.filter(has_text=containing)

    @property
    def thread(self) -> Locator:
        """`agent-thread`: the open conversation."""
        return self.page.get_by_test_id("agent-thread")

    @property
    def reply_input(self) -> Locator:
        """`agent-reply-input`."""
        return self.page.get_by_test_id("agent-reply-input")

    @property
    def emailed_notice(self) -> Locator:
        """`agent-emailed-notice`: the shopper was away and the open conversation's replies were emailed to them."""
        return self.page.get_by_test_id("agent-emailed-notice")

    @property
    def typing_indicator(self) -> Locator:
        """`agent-typing-indicator`: shown while the shopper types."""
        return self.page.get_by_test_id("agent-typing-indicator")

    def message_items(self, containing: str | None = None, *, author: str | None = None) -> Locator:
        """The open conversation's `chat-message` items, optionally filtered as `ChatWidget.message_items`."""
        selector = MESSAGE if author is None else f'{MESSAGE}[data-author="{author}"]'
        items = self.thread.locator(selector)
        return items if containing is None else items.filter(has_text=containing)

    # --- actions and waits ---------------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> None:
        """Sign in at `/agent/login` and wait until the console is shown: the address is `/agent`
        and `agent-inbox` is visible. Waits for the sign-in button to be enabled (the page live)
        before using the form. A refused sign-in makes this time out (`agent-login-error` shows)."""
        self.page.goto(f"{self.base_url}/agent/login")
        submit = self.page.get_by_test_id("agent-login-submit")
        expect(submit).to_be_enabled(timeout=self.timeout_ms)
        self.page.get_by_test_id("agent-login-email").fill(email)
        self.page.get_by_test_id("agent-login-password").fill(password)
        submit.click()
        self.page.wait_for_url(re.compile(r".*/agent/?$"), timeout=self.timeout_ms)
        expect(self.inbox).to_be_visible(timeout=self.timeout_ms)

    def goto(self) -> None:
        """Load `/agent` (signed in already) and wait until `agent-inbox` is visible."""
        self.page.goto(f"{self.base_url}/agent")
        expect(self.inbox).to_be_visible(timeout=self.timeout_ms)

    def open_conversation(self, containing: str, *, product_id: str | None = None) -> None:
        """Open the one inbox conversation containing `containing` and wait until `agent-thread`
        shows a message containing it. With `product_id`, first check the item's
        `data-product-id` (waiting for the item to appear)."""
        item = self.conversation(containing)
        if product_id is not None:
            expect(item).to_have_attribute("data-product-id", product_id, timeout=self.timeout_ms)
        item.click(timeout=self.timeout_ms)
        expect(self.message_items(containing).last).to_be_visible(timeout=self.timeout_ms)

    def reply(self, text: str) -> Locator:
        """Send `text` to the open conversation (Enter in `agent-reply-input`) and wait until it is
        stored: one more stored `chat-message` with `data-author="agent"` contains it than before,
        and the reply box is empty. Returns the newest such message."""
        stored = self.thread.locator(f'{MESSAGE}[data-author="agent"]{STORED}').filter(has_text=text)
        before = stored.count()
        self.reply_input.fill(text)
        self.reply_input.press("Enter")
        expect(stored).to_have_count(before + 1, timeout=self.timeout_ms)
        expect(self.reply_input).to_have_value("", timeout=self.timeout_ms)
        return stored.last

    def wait_for_message(self, containing: str, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> Locator:
        """Wait until a `chat-message` (either author) containing `containing` is visible in the open
        conversation, and return the newest such message."""
        message = self.message_items(containing).last
        expect(message).to_be_visible(timeout=timeout_ms)
        return message

    def messages(self) -> list[Message]:
        """The open conversation's messages now, oldest first, as `(author, text, status)` (no waiting)."""
        return _messages(self.thread)

    def product_context(self) -> str:
        """The text of `agent-product-context` (the product the open conversation is about), once it is visible."""
        panel = self.page.get_by_test_id("agent-product-context")
        expect(panel).to_be_visible(timeout=self.timeout_ms)
        return panel.inner_text()

    def typing_visible(self) -> bool:
        """Whether `agent-typing-indicator` (the shopper is typing) is visible now (no waiting)."""
        return self.typing_indicator.is_visible()

    def logout(self) -> None:
        """Sign out (`agent-logout`) and wait until the address is `/agent/login`."""
        self.page.get_by_test_id("agent-logout").click(timeout=self.timeout_ms)
        self.page.wait_for_url(re.compile(r".*/agent/login$"), timeout=self.timeout_ms)

    # --- canned replies in the reply box -------------------------------------------------------------------------

    @property
    def canned_suggestions(self) -> Locator:
        """The `agent-canned-suggestion` items the `/` menu above the reply box lists."""
        return self.page.get_by_test_id("agent-canned-suggestion")

    def use_canned_reply(self, title_start: str, *, choose: int = 0, by: str = "keyboard") -> str:
        """Type `/` and `title_start` into `agent-reply-input`, wait for the `agent-canned-suggestion` items,
        and take the one at index `choose`: with the arrow keys and Enter (`by="keyboard"`) or a click
        (`by="click"`). Waits until its body (placeholders filled) is in the reply box, and returns the box's
        text; nothing is sent (call `reply` with it, or press Enter)."""
        self.reply_input.fill("")
        self.reply_input.press_sequentially("/" + title_start)
        expect(self.canned_suggestions.nth(choose)).to_be_visible(timeout=self.timeout_ms)
        if by == "click":
            self.canned_suggestions.nth(choose).click(timeout=self.timeout_ms)
        else:
            for _ in range(choose):
                self.reply_input.press("ArrowDown")
            self.reply_input.press("Enter")
        expect(self.reply_input).not_to_have_value(re.compile(r"^/"), timeout=self.timeout_ms)
        expect(self.canned_suggestions).to_have_count(0, timeout=self.timeout_ms)
        return self.reply_input.input_value()

    def pick_canned_reply(self, title: str) -> str:
        """The mouse's way: open the menu of the button beside the reply box (`agent-canned-button`), click the
        reply titled `title` and return the reply box's text once its body is there."""
        before = self.reply_input.input_value()
        self.page.get_by_test_id("agent-canned-button").click(timeout=self.timeout_ms)
        self.page.get_by_test_id("agent-canned-choice").filter(has_text=title).first.click(timeout=self.timeout_ms)
        expect(self.reply_input).not_to_have_value(before, timeout=self.timeout_ms)
        return self.reply_input.input_value()


class CannedRepliesPage:
    """The staff's canned replies at `{base_url}/agent/canned` (sign in with `StaffConsole.login` first)."""

    def __init__(self, page: Page, base_url: str, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.timeout_ms = timeout_ms

    @property
    def items(self) -> Locator:
        """Every `canned-item`."""
        return self.page.get_by_test_id("canned-item")

    def item(self, title: str) -> Locator:
        return self.items.filter(has=self.page.get_by_role("heading", name=title, exact=True))

    def goto(self) -> None:
        """Load the page and wait until it is live (`canned-save` enabled)."""
        self.page.goto(f"{self.base_url}/agent/canned")
        expect(self.page.get_by_test_id("canned-save")).to_be_enabled(timeout=self.timeout_ms)

    def add(self, title: str, body: str) -> Locator:
        """Fill `canned-title-input` and `canned-body-input`, save (`canned-save`) and wait for its `canned-item`."""
        self.page.get_by_test_id("canned-title-input").fill(title)
        self.page.get_by_test_id("canned-body-input").fill(body)
        self.page.get_by_test_id("canned-save").click(timeout=self.timeout_ms)
        item = self.item(title)
        expect(item).to_be_visible(timeout=self.timeout_ms)
        return item

    def delete(self, title: str) -> None:
        """Delete the reply titled `title` (`canned-delete`) and wait until its item is gone."""
        self.item(title).get_by_test_id("canned-delete").click(timeout=self.timeout_ms)
        expect(self.item(title)).to_have_count(0, timeout=self.timeout_ms)

    def titles(self) -> list[str]:
        """The titles listed now, in order (no waiting)."""
        return [text.strip() for text in self.items.locator("h3, .rt-Heading").all_inner_texts()]


class ReportsPage:
    """The reports at `{base_url}/agent/reports` (sign in with `StaffConsole.login` first)."""

    def __init__(self, page: Page, base_url: str, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.timeout_ms = timeout_ms

    @property
    def table(self) -> Locator:
        """`report-table-products`."""
        return self.page.get_by_test_id("report-table-products")

    def goto(self) -> None:
        """Load the page and wait until the report is shown (`report-export-csv` enabled)."""
        self.page.goto(f"{self.base_url}/agent/reports")
        expect(self.page.get_by_test_id("report-export-csv")).to_be_enabled(timeout=self.timeout_ms)

    def choose_range(self, days: int) -> None:
        """Pick 7, 30 or 90 days in `report-range` and wait until the period shown is that many days."""
        self.page.get_by_test_id("report-range").get_by_role("radio").filter(has_text=str(days)).click(
            timeout=self.timeout_ms
        )
        expect(self.page.get_by_test_id("report-range").get_by_role("radio", checked=True)).to_contain_text(
            str(days), timeout=self.timeout_ms
        )

    def product_rows(self) -> dict[str, list[str]]:
        """The table now, by product id: the cells' texts (product, conversations, messages, median first
        response, answered within 5 minutes)."""
        rows = self.table.locator('[data-testid="report-product-row"]')
        return {
            row.get_attribute("data-product-id") or "": [
                cell.strip() for cell in row.locator("th, td").all_inner_texts()
            ]
            for row in rows.all()
        }

    def export_csv(self) -> str:
        """Click `report-export-csv` and return the downloaded file's text."""
        with self.page.expect_download(timeout=self.timeout_ms) as download:
            self.page.get_by_test_id("report-export-csv").click(timeout=self.timeout_ms)
        path = download.value.path()
        with open(path, encoding="utf-8") as exported:
            return exported.read()
