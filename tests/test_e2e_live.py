"""Shopper and staff in two browsers: live delivery, typing, read marks, badge, presence."""

import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from rxchat.states.room import RECENT_MAX
from server import run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def agent_account(served_app) -> dict:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    run_cli(
        "create-agent", "--email", email, "--name", "Ann", "--password-stdin", env=served_app.env, stdin=PASSWORD + "\n"
    )
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
    # Rooms and the inbox change out of band on every message; that is not a lost client to warn about.
    assert not re.search(r"send delta to disconnected client '(room|staffinbox)", served_app.log())


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


def test_console_loads_earlier_messages_of_a_long_conversation(people, served_app):
    agent, shopper = people
    tag = f"#{secrets.token_hex(3)}"
    created = shopper.request.post(f"{served_app.url}/api/products/pour-over-kit/chat/sessions")
    url = f"{served_app.url}/api/products/pour-over-kit/chat/sessions/{created.json()['session_id']}/messages"
    for n in range(1, 61):
        assert shopper.request.post(url, data={"content": f"q{n:02d} {tag}"}).status == 201
    open_conversation(agent, "pour-over-kit", f"q60 {tag}")
    thread = agent.get_by_test_id("agent-thread")
    expect(thread.locator('[data-testid="chat-message"]').filter(has_text=tag)).to_have_count(50)
    agent.get_by_test_id("chat-load-earlier").click()
    expect(thread.locator('[data-testid="chat-message"]').filter(has_text=tag)).to_have_count(60)
    expect(agent.get_by_test_id("chat-load-earlier")).to_have_count(0)
    assert stored_texts(agent, "agent-thread", tag) == [f"q{n:02d}" for n in range(1, 61)]


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


def start_conversation(page: Page, url: str, product_id: str, text: str, **profile: str) -> None:
    """A shopper's conversation made over the HTTP API (quicker than a widget for many of them)."""
    created = page.request.post(f"{url}/api/products/{product_id}/chat/sessions", data=profile)
    messages = f"{url}/api/products/{product_id}/chat/sessions/{created.json()['session_id']}/messages"
    assert page.request.post(messages, data={"content": text}).status == 201


def choose(page: Page, select_test_id: str, option: str) -> None:
    page.get_by_test_id(select_test_id).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_inbox_filters_and_paging_reach_a_conversation_behind_a_hundred_newer_ones(people, served_app):
    agent, shopper = people
    tag = f"#{secrets.token_hex(3)}"
    start_conversation(shopper, served_app.url, "aurora-lamp", f"Older lamp question {tag}", customer_name="Grace")
    for n in range(100):
        start_conversation(shopper, served_app.url, "linen-throw", f"filler {n} {tag}")
    items = agent.get_by_test_id("agent-conversation-item")
    older = items.filter(has_text=f"Older lamp question {tag}")
    expect(items.filter(has_text=f"filler 99 {tag}")).to_have_count(1)
    expect(items).to_have_count(100)  # the newest hundred open conversations first
    expect(older).to_have_count(0)
    agent.get_by_test_id("agent-inbox-more").click()
    expect(older).to_have_count(1)

    choose(agent, "agent-filter-product", "Aurora Desk Lamp")
    expect(items.filter(has_text="filler")).to_have_count(0)
    expect(older).to_contain_text("Grace")
    expect(older).to_contain_text("Visitor ")  # the handle stays beside a shopper's name
    for product in items.evaluate_all("els => els.map(e => e.dataset.productId)"):
        assert product == "aurora-lamp"

    # Live while filtered: a lamp conversation appears, a throw conversation does not.
    start_conversation(shopper, served_app.url, "linen-throw", f"new throw question {tag}")
    start_conversation(shopper, served_app.url, "aurora-lamp", f"new lamp question {tag}")
    expect(items.filter(has_text=f"new lamp question {tag}")).to_have_count(1)
    expect(items.filter(has_text=f"new throw question {tag}")).to_have_count(0)

    lamp_items = items.filter(has_text=tag)
    lamp_items.first.focus()
    agent.keyboard.press("Space")  # the keyboard opens a conversation too
    expect(agent.get_by_test_id("agent-thread")).to_contain_text(f"new lamp question {tag}")
    older.focus()
    agent.keyboard.press("Enter")
    expect(agent.get_by_test_id("agent-thread")).to_contain_text(f"Older lamp question {tag}")
    agent.get_by_test_id("agent-close-conversation").click()
    expect(older).to_have_count(0)
    choose(agent, "agent-filter-status", "Closed")
    expect(older).to_have_count(1)
    expect(older).to_contain_text("closed")
    expect(items.filter(has_text=f"new lamp question {tag}")).to_have_count(0)


# Counts the tones the page starts (each chime is two); the real Web Audio still runs.
TONE_COUNTER = """
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
"""


def tones(page: Page) -> int:
    return page.evaluate("() => window.__tones")


def wait_for_tones(page: Page, count: int) -> None:
    page.wait_for_function(f"() => window.__tones === {count}", timeout=5000)


def unread_in_title(page: Page) -> int:
    found = re.match(r"\((\d+)\) ", page.title())
    return int(found.group(1)) if found else 0


def test_a_shopper_message_cues_the_title_badge_and_a_chosen_chime(people, served_app):
    agent, shopper = people
    agent.context.add_init_script(TONE_COUNTER)
    agent.reload()
    expect(agent.get_by_test_id("agent-inbox")).to_be_visible()
    toggle = agent.get_by_test_id("agent-sound-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")  # off until an agent turns it on
    tag = f"#{secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "summit-backpack")

    unread = unread_in_title(agent)
    send(shopper, f"Is it waterproof? {tag}")
    expect(agent).to_have_title(f"({unread + 1}) rxchat console")
    expect(agent.locator(".store-header").get_by_text(f"{unread + 1} unread")).to_be_visible()
    agent.wait_for_timeout(500)
    assert tones(agent) == 0, "no sound while it is off"

    toggle.click()
    expect(toggle).to_have_attribute("aria-checked", "true")
    wait_for_tones(agent, 2)  # turning it on plays the chime once
    send(shopper, f"And the zips? {tag}")
    wait_for_tones(agent, 4)

    agent.reload()  # the choice stays; loading the console does not chime for old messages
    expect(agent.get_by_test_id("agent-inbox")).to_be_visible()
    expect(toggle).to_have_attribute("aria-checked", "true")
    agent.get_by_role("heading", name="Conversations").click()  # browsers play sound only after a click in the page
    send(shopper, f"One more thing {tag}")
    wait_for_tones(agent, 2)
    agent.wait_for_timeout(500)
    assert tones(agent) == 2

    open_conversation(agent, "summit-backpack", f"One more thing {tag}")
    expect(agent).to_have_title(f"({unread}) rxchat console" if unread else "rxchat console")


def test_signed_out_console_redirects_to_sign_in(page: Page, served_app):
    page.goto(f"{served_app.url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-inbox")).to_have_count(0)


# --- Two agents on one conversation ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_agent_account(served_app) -> dict:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    run_cli(
        "create-agent", "--email", email, "--name", "Ben", "--password-stdin", env=served_app.env, stdin=PASSWORD + "\n"
    )
    return {"email": email, "password": PASSWORD, "name": "Ben"}


def agent_reply(agent: Page, text: str) -> None:
    agent.get_by_test_id("agent-reply-input").fill(text)
    agent.get_by_test_id("agent-reply-send").click()


def reply_bubble(page: Page, text: str):
    return page.locator('[data-testid="chat-message"][data-author="agent"]').filter(has_text=text)


def test_two_agents_see_each_others_replies_live_with_their_names(
    browser: Browser, served_app, agent_account, second_agent_account
):
    errors: list[str] = []
    ann, ben, shopper = (new_page(browser, errors) for _ in range(3))
    try:
        sign_in(ann, served_app.url, agent_account)
        sign_in(ben, served_app.url, second_agent_account)
        question = f"Which grinder setting for the pour-over? {secrets.token_hex(3)}"
        open_widget(shopper, served_app.url, "pour-over-kit")
        send(shopper, question)
        open_conversation(ann, "pour-over-kit", question)
        open_conversation(ben, "pour-over-kit", question)

        from_ann = f"Medium-fine, like table salt. {secrets.token_hex(3)}"
        agent_reply(ann, from_ann)
        for page in (ben, shopper):
            expect(reply_bubble(page, from_ann)).to_have_count(1)
            expect(reply_bubble(page, from_ann)).to_contain_text("Ann")

        from_ben = f"And 94 degrees water. {secrets.token_hex(3)}"
        agent_reply(ben, from_ben)
        for page in (ann, shopper):
            expect(reply_bubble(page, from_ben)).to_have_count(1)
            expect(reply_bubble(page, from_ben)).to_contain_text("Ben")
        # Each reply carries its own author's name, and only that one.
        for page in (ann, ben, shopper):
            expect(reply_bubble(page, from_ann).locator(".chat-author")).to_have_text("Ann")
            expect(reply_bubble(page, from_ben).locator(".chat-author")).to_have_text("Ben")
    finally:
        for page in (ann, ben, shopper):
            page.context.close()
    assert not errors, f"console errors: {errors}"


# --- Catch-up after the server restarts mid-conversation ---------------------------------------------------------
# One server of this module's own, stopped and started again on the same port and database (AppServer.stop/start
# is what AppServer.restart does, split so the pages can be checked while it is down).

RESTART_PRODUCT = "linen-throw"


# What a page logs while its server is away; every other console error still fails the test.
def stored_texts(page: Page, thread_test_id: str, tag: str) -> list[str]:
    """The bodies (before `tag`, without the agent's name above them) of one thread's stored messages."""
    messages = page.get_by_test_id(thread_test_id).locator('[data-testid="chat-message"][data-seq]')
    return [text.split(tag)[0].split()[-1] for text in messages.filter(has_text=tag).all_inner_texts()]


def test_a_long_exchange_shows_every_message_once_in_order_on_both_sides(people, served_app):
    """More messages than the room's short `recent` list holds: they move into the window on the way,
    and both sides still show each one once, in the order it was sent."""
    agent, shopper = people
    tag = f"#{secrets.token_hex(3)}"
    sent = ["m00"]
    open_widget(shopper, served_app.url, "trail-runner-2")
    send(shopper, f"m00 {tag}")
    open_conversation(agent, "trail-runner-2", f"m00 {tag}")
    for n in range(1, RECENT_MAX + 6):
        text = f"m{n:02d}"
        if n % 3 == 0:
            agent_reply(agent, f"{text} {tag}")
            sender_view = agent.get_by_test_id("agent-thread")
        else:
            send(shopper, f"{text} {tag}")
            sender_view = shopper.get_by_test_id("chat-message-list")
        sent.append(text)
        stored = sender_view.locator('[data-testid="chat-message"][data-seq]').filter(has_text=f"{text} {tag}")
        expect(stored).to_have_count(1)
    last = f"{sent[-1]} {tag}"
    expect(agent.get_by_test_id("agent-thread").get_by_text(last)).to_be_visible()
    expect(shopper.get_by_test_id("chat-message-list").get_by_text(last)).to_be_visible()
    assert stored_texts(shopper, "chat-message-list", tag) == sent
    assert stored_texts(agent, "agent-thread", tag) == sent


# Installed before the page's scripts: keeps the text of every socket frame the page receives
# (`__frames`) and sends (`__sent`).
FRAME_RECORDER = """
(() => {
  const frames = window.__frames = [];
  const sent = window.__sent = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => { if (typeof e.data === 'string') frames.push(e.data); });
    }
    send(data) { if (typeof data === 'string') sent.push(data); return super.send(data); }
  };
})();
"""


def test_a_message_reaches_the_other_side_once_and_later_events_do_not_resend_the_thread(people, served_app):
    """After a reply, the agent typing and the shopper's read marks send the shopper a few bytes each,
    never the conversation again."""
    agent, shopper = people
    shopper.context.add_init_script(FRAME_RECORDER)
    tag = f"#{secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "aurora-lamp")
    send(shopper, f"Is the bulb included? {tag}")
    open_conversation(agent, "aurora-lamp", f"Is the bulb included? {tag}")
    agent_reply(agent, f"Yes, a warm LED. {tag}")
    expect(reply_bubble(shopper, f"Yes, a warm LED. {tag}")).to_have_count(1)
    shopper.wait_for_timeout(300)  # the read marks and inbox updates that follow a message
    frames_with_reply = shopper.evaluate(f"() => window.__frames.filter(f => f.includes('Yes, a warm LED. {tag}'))")
    assert len(frames_with_reply) == 1, f"the reply reached the shopper {len(frames_with_reply)} times"

    before = shopper.evaluate("() => window.__frames.length")
    agent.wait_for_timeout(1100)  # past the typing signal's throttle window
    agent.get_by_test_id("agent-reply-input").press_sequentially("One more")
    expect(shopper.get_by_test_id("chat-typing-indicator")).to_be_visible()
    later = shopper.evaluate(f"() => window.__frames.slice({before})")
    assert later, "the typing signal reached the shopper"
    assert not [f for f in later if tag in f], "a later event sent the conversation to the shopper again"
    assert not [f for f in later if "rx_router_headers" in f], "a later event sent the page's router data again"


def sent_events(page: Page, handler: str, since: int = 0) -> int:
    """How many times the page has called this event handler over its socket (after the first `since` frames)."""
    return page.evaluate(f"() => window.__sent.slice({since}).filter(f => f.includes('.{handler}\"')).length")


def test_only_the_other_side_messages_are_marked_read_or_seen(people, served_app):
    """A reply makes the widget mark it seen and a shopper message makes the console mark it read; a
    tab's own message costs it no such event. In the console the agent's reply sits on the right."""
    agent, shopper = people
    for page in people:
        page.context.add_init_script(FRAME_RECORDER)
    agent.reload()  # signed in already: load the console again with the recorder
    expect(agent.get_by_test_id("agent-inbox")).to_be_visible()
    tag = f"#{secrets.token_hex(3)}"
    open_widget(shopper, served_app.url, "aurora-lamp")
    send(shopper, f"Does it dim? {tag}")
    open_conversation(agent, "aurora-lamp", f"Does it dim? {tag}")
    expect(shopper.get_by_test_id("chat-message").filter(has_text=tag).first).to_have_attribute("data-status", "read")

    seen_before, read_before = len(shopper.evaluate("() => window.__sent")), len(agent.evaluate("() => window.__sent"))
    send(shopper, f"And is it warm white? {tag}")
    expect(shopper.get_by_test_id("chat-message").filter(has_text="warm white").first).to_have_attribute(
        "data-status", "read"
    )
    agent_reply(agent, f"Yes to both. {tag}")
    expect(reply_bubble(shopper, f"Yes to both. {tag}")).to_have_count(1)
    shopper.wait_for_timeout(300)  # the marks wait 30 ms after a message shows

    thread = agent.get_by_test_id("agent-thread").bounding_box()
    own_reply = agent.get_by_test_id("agent-thread").get_by_text(f"Yes to both. {tag}").bounding_box()
    shopper_message = agent.get_by_test_id("agent-thread").get_by_text(f"Does it dim? {tag}").bounding_box()
    assert own_reply["x"] + own_reply["width"] > thread["x"] + thread["width"] * 0.8, "the agent's reply sits right"
    assert shopper_message["x"] < thread["x"] + thread["width"] * 0.2, "the shopper's message sits left"
    assert sent_events(shopper, "sync_seen", seen_before) == 1, "the widget marks the one reply seen, not its own"
    assert sent_events(agent, "mark_read", read_before) == 1, "the console marks the shopper message, not its reply"


CONNECTION_NOISE = (
    "websocket",
    "err_connection_refused",
    "failed to load resource",
    "xhr poll error",
    "timeout",
    "socket",
)


@pytest.fixture(scope="module")
def restartable_app():
    """A server of this module's own (its own copy, database and port), so restarting it disturbs no one."""
    import shutil
    import tempfile
    from pathlib import Path

    from server import AppServer, base_env, copy_app

    workdir = Path(tempfile.mkdtemp(prefix="rxchat-restart-"))
    env = base_env(
        REFLEX_DB_URL=f"sqlite:///{workdir / 'rxchat.db'}",
        RXCHAT_MESSAGES_PER_MINUTE="1000",
        RXCHAT_SESSIONS_PER_HOUR="1000",
    )
    run_cli("migrate", env=env)
    run_cli("seed-demo", env=env)
    account = {"email": "restart-agent@example.com", "password": PASSWORD, "name": "Cleo"}
    run_cli(
        "create-agent",
        "--email",
        account["email"],
        "--name",
        account["name"],
        "--password-stdin",
        env=env,
        stdin=PASSWORD + "\n",
    )
    server = AppServer(workdir, env, app_root=copy_app(workdir / "app")).start()
    server.account = account
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def restart_people(browser: Browser, restartable_app):
    """An agent and a shopper on the restartable server, in one conversation with one message each way."""
    server = restartable_app
    if server.process is None:  # a previous test left it stopped
        server.start()
    errors: list[str] = []
    agent, shopper = new_page(browser, errors), new_page(browser, errors)
    tag = secrets.token_hex(3)
    opening, answer = f"Is the throw washable? {tag}", f"Yes, at 30 degrees. {tag}"
    sign_in(agent, server.url, server.account)
    open_widget(shopper, server.url, RESTART_PRODUCT)
    send(shopper, opening)
    open_conversation(agent, RESTART_PRODUCT, opening)
    agent_reply(agent, answer)
    expect(reply_bubble(shopper, answer)).to_have_count(1)
    yield {
        "server": server,
        "agent": agent,
        "shopper": shopper,
        "tag": tag,
        "before": [opening, answer],
        "errors": errors,
    }
    for page in (agent, shopper):
        page.context.close()
    if server.process is None:
        server.start()
    unexpected = [e for e in errors if not any(noise in e.lower() for noise in CONNECTION_NOISE)]
    assert not unexpected, f"console errors: {unexpected}"


def stored_count(page: Page, thread_test_id: str, text: str) -> int:
    """Stored messages (they carry data-seq; a `sending` bubble does not) with this text in one thread."""
    thread = page.get_by_test_id(thread_test_id)
    return thread.locator('[data-testid="chat-message"][data-seq]').filter(has_text=text).count()


def test_catch_up_after_a_server_restart_shows_every_message_once(restart_people):
    server, agent, shopper, tag = (restart_people[k] for k in ("server", "agent", "shopper", "tag"))
    while_down, question, reply = (
        f"Typed while you were away {tag}",
        f"Does it shrink? {tag}",
        f"No, it is pre-washed. {tag}",
    )

    server.stop()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_visible(timeout=15_000)
    # Nothing gets through while the server is down: the shopper's send waits in the browser, the text stays
    # in the input, and no message shows as stored on either side.
    send(shopper, while_down)
    shopper.wait_for_timeout(1500)
    expect(shopper.get_by_test_id("chat-input")).to_have_value(while_down)
    assert stored_count(shopper, "chat-message-list", while_down) == 0
    assert stored_count(agent, "agent-thread", while_down) == 0
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_visible()

    server.start()  # same port, same database
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_hidden(timeout=30_000)
    # The send that waited in the browser is delivered once the socket is back.
    try:
        expect(
            shopper.get_by_test_id("chat-message-list")
            .locator('[data-testid="chat-message"][data-seq]')
            .filter(has_text=while_down)
        ).to_have_count(1, timeout=15_000)
    except AssertionError as missing:
        bubbles = shopper.evaluate(
            "() => [...document.querySelectorAll('[data-testid=chat-message]')]"
            ".map(n => [n.dataset.author, n.dataset.status, n.dataset.seq, n.textContent.slice(0, 60)])"
        )
        log = server.log().splitlines()
        raise AssertionError(
            f"the send queued while down was not stored once; bubbles: {bubbles}; "
            f"chat-error: {shopper.get_by_test_id('chat-error').all_inner_texts()}; "
            "server log tail:\n" + "\n".join(log[-40:])
        ) from missing
    expect(shopper.get_by_test_id("chat-input")).to_have_value("")
    # The console reopened its conversation by itself and caught up with what the shopper sent meanwhile.
    expect(agent.get_by_test_id("agent-thread").get_by_text(while_down)).to_be_visible(timeout=15_000)

    send(shopper, question)
    expect(agent.get_by_test_id("agent-thread").get_by_text(question)).to_be_visible()
    agent_reply(agent, reply)
    expect(reply_bubble(shopper, reply)).to_have_count(1)
    agent.wait_for_timeout(500)  # a late duplicate would land by now
    for text in [*restart_people["before"], while_down, question, reply]:
        assert stored_count(shopper, "chat-message-list", text) == 1, f"shopper shows {text!r} not once"
        assert stored_count(agent, "agent-thread", text) == 1, f"agent shows {text!r} not once"
    expect(shopper.get_by_test_id("chat-connection-status")).to_have_count(0)


def test_console_keeps_its_conversation_and_a_queued_reply_across_a_restart(restart_people):
    """A restart starts every tab's server state afresh: the console reopens its conversation from the browser,
    and a reply sent while the server was down is stored once when it is back, never lost or called erased."""
    server, agent, shopper, tag = (restart_people[k] for k in ("server", "agent", "shopper", "tag"))
    queued = f"Replied while you were away {tag}"

    server.stop()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_visible(timeout=15_000)
    agent.get_by_test_id("agent-reply-input").fill(queued)
    agent.get_by_test_id("agent-reply-input").press("Enter")  # a connection toast covers the Send button
    agent.wait_for_timeout(500)
    server.start()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_hidden(timeout=30_000)

    expect(agent.get_by_test_id("agent-thread")).to_contain_text(restart_people["before"][0], timeout=10_000)
    expect(agent.get_by_test_id("agent-conversation-erased")).to_have_count(0)
    expect(reply_bubble(shopper, queued)).to_have_count(1, timeout=10_000)
    expect(reply_bubble(agent, queued)).to_have_count(1)
    expect(agent.get_by_test_id("agent-reply-input")).to_have_value("")
    agent.wait_for_timeout(500)  # a late duplicate would land by now
    for text in [*restart_people["before"], queued]:
        assert stored_count(shopper, "chat-message-list", text) == 1, f"shopper shows {text!r} not once"
        assert stored_count(agent, "agent-thread", text) == 1, f"agent shows {text!r} not once"
