"""Email continuity in real browsers: the shopper who left gets the reply by email (a real SMTP server,
aiosmtpd) and carries on from another browser with the link, once."""

import contextlib
import re
import secrets
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from console_errors import watch_console_errors
from rxchat.testing import ChatWidget, StaffAccount, StaffConsole, create_staff_account
from smtp_sink import SmtpSink, html_of, text_of

pytestmark = pytest.mark.e2e

PRODUCT = "aurora-lamp"
PRODUCT_NAME = "Aurora Desk Lamp"
SESSION_ID = re.compile(r"cs_[0-9a-f]{48}")
RESUME_LINK = re.compile(r"http://localhost:\d+/chat/resume/[A-Za-z0-9_-]+")
UNSUBSCRIBE_LINK = re.compile(r"http://localhost:\d+/chat/unsubscribe/[A-Za-z0-9_-]+")
EMAIL_WAIT_SECS = 20  # the served app emails a reply unseen for 2 s (conftest.py), checking every 0.5 s


@pytest.fixture(scope="module")
def agent_account(served_app) -> StaffAccount:
    return create_staff_account(served_app.env, name="Grace", password="correct horse battery staple")


@pytest.fixture
def errors() -> list[str]:
    return []


@pytest.fixture
def new_page(browser: Browser, errors):
    """Pages of their own browser contexts (other people, or another device), closed at the end."""
    pages: list[Page] = []

    def make() -> Page:
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        watch_console_errors(page, errors)
        pages.append(page)
        return page

    yield make
    for page in pages:
        with contextlib.suppress(Exception):  # closed already by the test (a shopper who left)
            page.context.close()
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def console(new_page, served_app, agent_account) -> StaffConsole:
    staff = StaffConsole(new_page(), served_app.url)
    staff.login(agent_account.email, agent_account.password)
    return staff


def after_secs(served_app) -> float:
    return float(served_app.env["RXCHAT_EMAIL_AFTER_SECONDS"])


def shopper_address() -> str:
    return f"shopper-{secrets.token_hex(4)}@example.com"


def wait_for_emails(sink: SmtpSink, address: str, count: int = 1) -> list:
    deadline = time.monotonic() + EMAIL_WAIT_SECS
    while len(sink.to(address)) < count:
        assert time.monotonic() < deadline, f"no email to {address} within {EMAIL_WAIT_SECS} s"
        time.sleep(0.2)
    return sink.to(address)


def ask_and_leave(new_page, served_app, address: str, question: str) -> None:
    """A shopper saves their email, asks, and closes the page."""
    widget = ChatWidget(new_page())
    widget.goto(f"{served_app.url}/products/{PRODUCT}")
    widget.open()
    widget.save_email(address)
    widget.send(question)
    widget.page.context.close()


def test_the_reply_is_emailed_and_its_link_brings_the_thread_to_another_browser_once(
    new_page, console, served_app, smtp_sink
):
    address, question = shopper_address(), f"Does it dim? {secrets.token_hex(3)}"
    ask_and_leave(new_page, served_app, address, question)

    console.open_conversation(question)
    console.reply("Yes, in three steps.")

    [email] = wait_for_emails(smtp_sink, address)
    body = text_of(email)
    assert PRODUCT_NAME in email["Subject"] and "Yes, in three steps." in body
    assert "Yes, in three steps." in html_of(email)
    assert not SESSION_ID.search(email.as_string())
    link = RESUME_LINK.search(body).group(0)
    expect(console.emailed_notice).to_be_visible()

    phone = ChatWidget(new_page())
    phone.open_resume_link(link)
    expect(phone.page).to_have_url(f"{served_app.url}/products/{PRODUCT}")
    phone.wait_for_reply("Yes, in three steps.")
    expect(phone.message_items(question, author="shopper")).to_have_count(1)
    phone.send("Great, thanks!")
    console.wait_for_message("Great, thanks!")
    assert not SESSION_ID.search(phone.page.url)

    again = new_page()
    again.goto(link)
    expect(again.get_by_test_id("chat-resume-error")).to_be_visible()
    expect(again.get_by_test_id("chat-resume-product")).to_have_attribute("href", f"/products/{PRODUCT}")
    expect(again.get_by_test_id("chat-panel")).to_have_count(0)
    assert len(smtp_sink.to(address)) == 1

    unsubscribe = new_page()
    unsubscribe.goto(UNSUBSCRIBE_LINK.search(body).group(0))
    confirm = unsubscribe.get_by_test_id("chat-unsubscribe-confirm")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(unsubscribe.get_by_test_id("chat-unsubscribe-done")).to_be_visible()


def test_a_reply_seen_in_time_sends_no_email(new_page, console, served_app, smtp_sink):
    address, question = shopper_address(), f"Still here {secrets.token_hex(3)}"
    widget = ChatWidget(new_page())
    widget.goto(f"{served_app.url}/products/{PRODUCT}")
    widget.open()
    widget.save_email(address)
    widget.send(question)

    console.open_conversation(question)
    console.reply("Seen while you wait.")
    widget.wait_for_reply("Seen while you wait.")
    time.sleep(after_secs(served_app) + 2)  # past the time an unseen reply is emailed, and a round of the sender

    assert smtp_sink.to(address) == []
    expect(console.emailed_notice).to_have_count(0)


def test_a_removed_email_gets_nothing(new_page, console, served_app, smtp_sink):
    address, question = shopper_address(), f"Changed my mind {secrets.token_hex(3)}"
    widget = ChatWidget(new_page())
    widget.goto(f"{served_app.url}/products/{PRODUCT}")
    widget.open()
    widget.save_email(address)
    widget.send(question)
    widget.remove_email()
    widget.page.context.close()

    console.open_conversation(question)
    console.reply("Nobody will email this.")
    time.sleep(after_secs(served_app) + 2)

    assert smtp_sink.to(address) == []


def test_an_unknown_resume_link_reveals_nothing(new_page, served_app):
    page = new_page()
    page.goto(f"{served_app.url}/chat/resume/{'A' * 43}")

    expect(page.get_by_test_id("chat-resume-error")).to_be_visible()
    expect(page.get_by_test_id("chat-resume-product")).to_have_attribute("href", "/")
