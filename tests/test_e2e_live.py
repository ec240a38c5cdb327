"""Shopper and staff in two browsers: live delivery, typing, read marks, badge, presence."""

import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from server import run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def agent_account(served_app) -> dict:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    run_cli("create-agent", "--email", email, "--name", "Ann", "--password-stdin", env=served_app.env,
            stdin=PASSWORD + "\n")
    return {"email": email, "password": PASSWORD, "name": "Ann"}


def new_page(browser: Browser, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def sign_in(page: Page, url: str, account: dict) -> None:
    page.goto(f"{url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-login-submit")).to_be_enabled()
    page.get_by_test_id("agent-login-email").fill(account["email"])
    page.get_by_test_id("agent-login-password").fill(account["password"])
    page.get_by_test_id("agent-login-submit").click()
    page.wait_for_url(re.compile(r".*/agent$"))
    expect(page.get_by_test_id("agent-inbox")).to_be_visible()


def open_widget(page: Page, url: str, product_id: str) -> None:
    page.goto(f"{url}/products/{product_id}")
    expect(page.get_by_test_id("chat-launcher")).to_be_enabled()
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def open_conversation(agent: Page, product_id: str, text: str) -> None:
    item = agent.get_by_test_id("agent-conversation-item").filter(has_text=text)
    expect(item).to_have_attribute("data-product-id", product_id)
    item.click()
    expect(agent.get_by_test_id("agent-thread").get_by_text(text)).to_be_visible()


@pytest.fixture
def people(browser: Browser, served_app, agent_account):
    errors: list[str] = []
    agent, shopper = new_page(browser, errors), new_page(browser, errors)
    sign_in(agent, served_app.url, agent_account)
    yield agent, shopper
    for page in (agent, shopper):
        page.context.close()
    assert not errors, f"console errors: {errors}"


def test_agent_sign_in_refuses_a_wrong_password(page: Page, served_app, agent_account):
    page.goto(f"{served_app.url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-login-submit")).to_be_enabled()
    page.get_by_test_id("agent-login-email").fill(agent_account["email"])
    page.get_by_test_id("agent-login-password").fill("not the password at all")
    page.get_by_test_id("agent-login-submit").click()
    expect(page.get_by_test_id("agent-login-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r".*/agent/login$"))


def test_conversation_flows_both_ways_with_typing_and_read_marks(people, served_app):
    agent, shopper = people
    question = f"Does it fit a 16 inch laptop? {secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "summit-backpack")
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true")
    send(shopper, question)
    own = shopper.locator('[data-testid="chat-message"][data-author="shopper"]')
    expect(own).to_have_attribute("data-status", "sent")

    open_conversation(agent, "summit-backpack", question)
    expect(agent.get_by_test_id("agent-product-context")).to_contain_text("Summit 28L Backpack")
    expect(own).to_have_attribute("data-status", "read")

    agent.wait_for_timeout(1100)  # let the previous typing signal's throttle window pass
    shopper.get_by_test_id("chat-input").press_sequentially("and a tablet")
    expect(agent.get_by_test_id("agent-typing-indicator")).to_be_visible()

    agent.get_by_test_id("agent-reply-input").press_sequentially("Yes, it does")
    expect(shopper.get_by_test_id("chat-typing-indicator")).to_be_visible()
    agent.get_by_test_id("agent-reply-input").press("Enter")
    reply = shopper.locator('[data-testid="chat-message"][data-author="agent"]')
    expect(reply).to_contain_text("Yes, it does")
    expect(reply).to_contain_text("Ann")
    expect(shopper.get_by_test_id("chat-typing-indicator")).to_be_hidden()
    expect(agent.get_by_test_id("agent-typing-indicator")).to_be_hidden(timeout=8000)


def test_unread_badge_counts_replies_until_the_widget_opens(people, served_app):
    agent, shopper = people
    question = f"Is the lamp dimmable? {secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "aurora-lamp")
    send(shopper, question)
    open_conversation(agent, "aurora-lamp", question)
    shopper.get_by_test_id("chat-launcher").click()
    expect(shopper.get_by_test_id("chat-panel")).to_be_hidden()
    for text in ("Yes, fully dimmable.", "Anything else?"):
        agent.get_by_test_id("agent-reply-input").fill(text)
        agent.get_by_test_id("agent-reply-send").click()
        expect(agent.get_by_test_id("agent-thread").get_by_text(text)).to_be_visible()
    expect(shopper.get_by_test_id("chat-unread-badge")).to_have_text("2")
    shopper.get_by_test_id("chat-launcher").click()
    expect(shopper.get_by_test_id("chat-unread-badge")).to_have_count(0)
    expect(shopper.get_by_test_id("chat-panel").get_by_text("Anything else?")).to_be_visible()
    shopper.wait_for_timeout(500)  # the seen mark is stored by the open event; nothing on screen shows it
    shopper.reload()
    expect(shopper.get_by_test_id("chat-launcher")).to_be_enabled()
    expect(shopper.get_by_test_id("chat-unread-badge")).to_have_count(0)


def test_second_shopper_tab_sees_both_sides_live(people, served_app):
    agent, shopper = people
    question = f"What colours does the throw come in? {secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "linen-throw")
    send(shopper, question)
    second_tab = shopper.context.new_page()
    open_widget(second_tab, served_app.url, "linen-throw")
    expect(second_tab.get_by_test_id("chat-message-list")).to_contain_text(question)
    open_conversation(agent, "linen-throw", question)
    agent.get_by_test_id("agent-reply-input").fill("Five quiet colours.")
    agent.get_by_test_id("agent-reply-send").click()
    expect(second_tab.locator('[data-testid="chat-message"][data-author="agent"]')).to_contain_text("Five quiet")
    send(second_tab, "Thanks!")
    expect(shopper.get_by_test_id("chat-message-list")).to_contain_text("Thanks!")
    expect(agent.get_by_test_id("agent-thread")).to_contain_text("Thanks!")


def test_presence_goes_offline_when_the_agent_signs_out(people, served_app):
    agent, shopper = people
    open_widget(shopper, served_app.url, "pour-over-kit")
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true")
    agent.get_by_test_id("agent-logout").click()
    agent.wait_for_url(re.compile(r".*/agent/login$"))
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "false", timeout=10_000)
    expect(shopper.get_by_test_id("chat-notice").filter(has_text="may take a while")).to_be_visible()


def test_closing_a_conversation_moves_it_out_of_the_open_list(people, served_app):
    agent, shopper = people
    question = f"Do you ship abroad? {secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "trail-runner-2")
    send(shopper, question)
    open_conversation(agent, "trail-runner-2", question)
    agent.get_by_test_id("agent-close-conversation").click()
    item = agent.get_by_test_id("agent-conversation-item").filter(has_text=question)
    expect(item).to_have_count(0)
    send(shopper, f"Hello again {secrets.token_hex(2)}")
    expect(agent.get_by_test_id("agent-conversation-item").filter(has_text="Hello again")).to_be_visible()


def test_signed_out_console_redirects_to_sign_in(page: Page, served_app):
    page.goto(f"{served_app.url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-inbox")).to_have_count(0)
