"""axe-core scans of the product page with the widget open and of the staff console, light and dark.

No serious or critical violation may stand: a shopper using a screen reader or a
keyboard, or one who needs contrast, can chat, and so can an agent.
"""

import re
import secrets

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from rxchat.testing import ChatWidget, StaffAccount, StaffConsole
from server import run_cli

pytestmark = pytest.mark.e2e

PRODUCT = "summit-backpack"
BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[(n['target'], n['html'][:160]) for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture(params=["light", "dark"])
def scheme(request, page: Page) -> str:
    page.emulate_media(color_scheme=request.param)
    return request.param


def test_the_product_page_with_the_widget_open(rxchat_widget: ChatWidget, page: Page, served_app, scheme):
    rxchat_widget.goto(f"{served_app.url}/products/{PRODUCT}")
    rxchat_widget.open()
    rxchat_widget.send(f"Is it waterproof? {secrets.token_hex(3)}")
    expect(page.get_by_test_id("chat-message")).to_have_count(1)
    assert blocking_violations(page) == []


def test_the_console_with_a_conversation_open(
    rxchat_console: StaffConsole, rxchat_staff: StaffAccount, page: Page, served_app, scheme
):
    question = f"Does it fit a laptop? {secrets.token_hex(3)}"
    created = page.request.post(f"{served_app.url}/api/products/{PRODUCT}/chat/sessions")
    session_id = created.json()["session_id"]
    page.request.post(
        f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{session_id}/messages", data={"content": question}
    )
    page.goto(f"{served_app.url}/agent/login")
    expect(page.get_by_test_id("agent-login-submit")).to_be_enabled()
    assert blocking_violations(page) == [], "the sign-in page"
    rxchat_console.login(rxchat_staff.email, rxchat_staff.password)
    assert blocking_violations(page) == [], "the console with no conversation open"
    rxchat_console.open_conversation(question, product_id=PRODUCT)
    expect(page.get_by_test_id("agent-thread").get_by_text(question)).to_be_visible()
    assert blocking_violations(page) == [], "the console with a conversation open"


def test_the_closed_widget_with_an_unread_reply(
    rxchat_widget: ChatWidget, rxchat_staff: StaffAccount, page: Page, served_app, scheme
):
    """The launcher's unread badge (white on red) reads at AA contrast too."""
    question = f"Is the hip belt removable? {secrets.token_hex(3)}"
    rxchat_widget.goto(f"{served_app.url}/products/{PRODUCT}")
    rxchat_widget.open()
    rxchat_widget.send(question)
    rxchat_widget.close()
    token = run_cli("create-api-token", "--email", rxchat_staff.email, env=served_app.env).strip()
    staff = {"Authorization": f"Bearer {token}"}
    listed = page.request.get(f"{served_app.url}/api/agent/conversations?product_id={PRODUCT}", headers=staff)
    handle = next(c["conversation"] for c in listed.json()["conversations"] if question in c["last_message"])
    replied = page.request.post(
        f"{served_app.url}/api/agent/conversations/{handle}/messages", headers=staff, data={"content": "Yes, it is."}
    )
    assert replied.status == 201, replied.text()
    expect(page.get_by_test_id("chat-unread-badge")).to_be_visible()
    assert blocking_violations(page) == []


def focused_test_id(page: Page) -> str:
    return page.evaluate("document.activeElement?.closest('[data-testid]')?.dataset.testid ?? ''")


def tab_to(page: Page, test_id: str, presses: int = 40) -> None:
    for _ in range(presses):
        if focused_test_id(page) == test_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{test_id} is not reachable with Tab")


def test_a_shopper_chats_by_keyboard_alone(page: Page, served_app):
    """Tab to the launcher, Enter opens the panel with the focus in the input, Enter sends, and closing puts
    the focus back on the launcher."""
    question = f"Keyboard only: does it have a rain cover? {secrets.token_hex(3)}"
    page.goto(f"{served_app.url}/products/{PRODUCT}")
    expect(page.get_by_test_id("chat-launcher")).to_be_enabled()
    tab_to(page, "chat-launcher")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    page.wait_for_function("document.activeElement?.dataset.testid === 'chat-input'")
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("chat-message").filter(has_text=question)).to_have_attribute(
        "data-status", re.compile("sent|read")
    )
    page.keyboard.press("Shift+Tab")  # back from the input to the panel's controls, then on to Close
    closer = page.locator('[data-testid="chat-panel"] button[aria-label="Close chat"]')
    for _ in range(20):
        if page.evaluate("document.activeElement?.getAttribute('aria-label')") == "Close chat":
            break
        page.keyboard.press("Shift+Tab")
    expect(closer).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("chat-panel")).to_be_hidden()
    page.wait_for_function("document.activeElement?.dataset.testid === 'chat-launcher'")
