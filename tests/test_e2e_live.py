"""Shopper and staff in two browsers: live delivery, typing, read marks, badge, presence."""

import contextlib
import json
import re
import secrets
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from console_errors import watch_console_errors
from rxchat.states.room import RECENT_MAX
from rxchat.testing import ChatWidget, StaffAccount, StaffConsole, create_staff_account
from server import run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def agent_account(served_app) -> StaffAccount:
    return create_staff_account(served_app.env, name="Ann", password=PASSWORD)


def new_page(browser: Browser, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch_console_errors(page, errors)
    return page


def product_url(server, product_id: str) -> str:
    return f"{server.url}/products/{product_id}"


def open_widget(widget: ChatWidget, server, product_id: str) -> ChatWidget:
    """The product's page loaded and its widget open (rxchat.testing's page object does the waiting)."""
    widget.goto(product_url(server, product_id))
    widget.open()
    return widget


@pytest.fixture
def people(browser: Browser, served_app, agent_account):
    """An agent signed in to the console and a shopper's page: (StaffConsole, ChatWidget), on pages of their own."""
    errors: list[str] = []
    agent, shopper = new_page(browser, errors), new_page(browser, errors)
    console = StaffConsole(agent, served_app.url)
    console.login(agent_account.email, agent_account.password)
    yield console, ChatWidget(shopper)
    for page in (agent, shopper):
        page.context.close()
    assert not errors, f"console errors: {errors}"


def wait_until_replies_seen(served_app, shopper: Page, product_id: str) -> None:
    """Wait until the server has stored the shopper's seen mark of every reply (nothing on screen shows it)."""
    record = json.loads(shopper.evaluate("() => localStorage.getItem('chat_session_data')"))
    session_id = record["productSessions"][f"product_{product_id}"]["sessionId"]
    database = Path(served_app.env["REFLEX_DB_URL"].removeprefix("sqlite:///"))
    query = "SELECT shopper_seen_seq, last_seq FROM product_chat_sessions WHERE session_id = ?"
    deadline = time.monotonic() + 10
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        while (row := db.execute(query, (session_id,)).fetchone())[0] < row[1]:
            assert time.monotonic() < deadline, f"the shopper's seen mark stayed at {row[0]} of {row[1]}"
            time.sleep(0.05)


def test_agent_sign_in_refuses_a_wrong_password(page: Page, served_app, agent_account):
    page.goto(f"{served_app.url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-login-submit")).to_be_enabled()
    page.get_by_test_id("agent-login-email").fill(agent_account.email)
    page.get_by_test_id("agent-login-password").fill("not the password at all")
    page.get_by_test_id("agent-login-submit").click()
    expect(page.get_by_test_id("agent-login-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r".*/agent/login$"))


def test_conversation_flows_both_ways_with_typing_and_read_marks(people, served_app):
    console, widget = people
    agent, shopper = console.page, widget.page
    question = f"Does it fit a 16 inch laptop? {secrets.token_hex(3)}"
    open_widget(widget, served_app, "summit-backpack")
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true")
    widget.send(question)
    own = shopper.locator('[data-testid="chat-message"][data-author="shopper"]')
    expect(own).to_have_attribute("data-status", "sent")

    console.open_conversation(question, product_id="summit-backpack")
    expect(agent.get_by_test_id("agent-product-context")).to_contain_text("Summit 28L Backpack")
    assert "Summit 28L Backpack" in console.product_context()
    expect(own).to_have_attribute("data-status", "read")
    assert widget.messages() == [("shopper", question, "read")]

    # Typing signals are throttled in the page (Reflex's throttle, at most one a second, keeps no state a test can
    # read): the shopper's last one went with the question, so this waits out its window before typing again.
    agent.wait_for_timeout(1100)
    widget.input.press_sequentially("and a tablet")
    expect(console.typing_indicator).to_be_visible()
    assert console.typing_visible()

    console.reply_input.press_sequentially("Yes, it does")
    expect(widget.typing_indicator).to_be_visible()
    assert widget.typing_visible()
    console.reply_input.press("Enter")
    reply = shopper.locator('[data-testid="chat-message"][data-author="agent"]')
    expect(reply).to_contain_text("Yes, it does")
    expect(reply).to_contain_text("Ann")
    expect(widget.wait_for_reply("Yes, it does")).to_contain_text("Ann")
    expect(widget.typing_indicator).to_be_hidden()
    expect(console.typing_indicator).to_be_hidden(timeout=8000)
    console.wait_for_message("Yes, it does")
    assert console.messages() == [("shopper", question, "read"), ("agent", "Yes, it does", None)]
    # Rooms and the inbox change out of band on every message; that is not a lost client to warn about.
    assert not re.search(r"send delta to disconnected client '(room|staffinbox)", served_app.log())


def test_unread_badge_counts_replies_until_the_widget_opens(people, served_app):
    console, widget = people
    agent, shopper = console.page, widget.page
    question = f"Is the lamp dimmable? {secrets.token_hex(3)}"
    open_widget(widget, served_app, "aurora-lamp")
    widget.send(question)
    console.open_conversation(question, product_id="aurora-lamp")
    widget.close()
    expect(shopper.get_by_test_id("chat-panel")).to_be_hidden()
    for text in ("Yes, fully dimmable.", "Anything else?"):
        console.reply(text)
        expect(agent.get_by_test_id("agent-thread").get_by_text(text)).to_be_visible()
    expect(widget.unread_badge).to_have_text("2")
    widget.open()
    expect(widget.unread_badge).to_have_count(0)
    expect(shopper.get_by_test_id("chat-panel").get_by_text("Anything else?")).to_be_visible()
    wait_until_replies_seen(served_app, shopper, "aurora-lamp")  # stored by the open event
    shopper.reload()
    widget.wait_until_live()
    expect(widget.unread_badge).to_have_count(0)


def test_second_shopper_tab_sees_both_sides_live(people, served_app):
    console, widget = people
    agent, shopper = console.page, widget.page
    question = f"What colours does the throw come in? {secrets.token_hex(3)}"
    open_widget(widget, served_app, "linen-throw")
    widget.send(question)
    second_tab = shopper.context.new_page()
    second = open_widget(ChatWidget(second_tab), served_app, "linen-throw")
    expect(second_tab.get_by_test_id("chat-message-list")).to_contain_text(question)
    console.open_conversation(question, product_id="linen-throw")
    console.reply("Five quiet colours.")
    expect(second_tab.locator('[data-testid="chat-message"][data-author="agent"]')).to_contain_text("Five quiet")
    second.send("Thanks!")
    expect(shopper.get_by_test_id("chat-message-list")).to_contain_text("Thanks!")
    expect(agent.get_by_test_id("agent-thread")).to_contain_text("Thanks!")


def test_presence_goes_offline_when_the_agent_signs_out(people, served_app):
    console, widget = people
    shopper = widget.page
    open_widget(widget, served_app, "pour-over-kit")
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "true")
    console.logout()
    expect(shopper.get_by_test_id("chat-agent-status")).to_have_attribute("data-online", "false", timeout=10_000)
    expect(shopper.get_by_test_id("chat-notice").filter(has_text="may take a while")).to_be_visible()


def test_console_loads_earlier_messages_of_a_long_conversation(people, served_app):
    console, widget = people
    agent, shopper = console.page, widget.page
    tag = f"#{secrets.token_hex(3)}"
    created = shopper.request.post(f"{served_app.url}/api/products/pour-over-kit/chat/sessions")
    url = f"{served_app.url}/api/products/pour-over-kit/chat/sessions/{created.json()['session_id']}/messages"
    for n in range(1, 61):
        assert shopper.request.post(url, data={"content": f"q{n:02d} {tag}"}).status == 201
    console.open_conversation(f"q60 {tag}", product_id="pour-over-kit")
    thread = agent.get_by_test_id("agent-thread")
    expect(thread.locator('[data-testid="chat-message"]').filter(has_text=tag)).to_have_count(50)
    agent.get_by_test_id("chat-load-earlier").click()
    expect(thread.locator('[data-testid="chat-message"]').filter(has_text=tag)).to_have_count(60)
    expect(agent.get_by_test_id("chat-load-earlier")).to_have_count(0)
    assert stored_texts(agent, "agent-thread", tag) == [f"q{n:02d}" for n in range(1, 61)]


def test_closing_a_conversation_moves_it_out_of_the_open_list(people, served_app):
    console, widget = people
    agent = console.page
    question = f"Do you ship abroad? {secrets.token_hex(3)}"
    open_widget(widget, served_app, "trail-runner-2")
    widget.send(question)
    console.open_conversation(question, product_id="trail-runner-2")
    agent.get_by_test_id("agent-close-conversation").click()
    item = agent.get_by_test_id("agent-conversation-item").filter(has_text=question)
    expect(item).to_have_count(0)
    widget.send(f"Hello again {secrets.token_hex(2)}")
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
    console, widget = people
    agent, shopper = console.page, widget.page
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
    console, widget = people
    agent = console.page
    agent.context.add_init_script(TONE_COUNTER)
    agent.reload()
    expect(agent.get_by_test_id("agent-inbox")).to_be_visible()
    toggle = agent.get_by_test_id("agent-sound-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")  # off until an agent turns it on
    tag = f"#{secrets.token_hex(3)}"
    open_widget(widget, served_app, "summit-backpack")

    unread = unread_in_title(agent)
    widget.send(f"Is it waterproof? {tag}")
    expect(agent).to_have_title(f"({unread + 1}) rxchat console")
    expect(agent.locator(".store-header").get_by_text(f"{unread + 1} unread")).to_be_visible()
    # Asserts that something does NOT happen (no chime while the sound is off): a short fixed wait after the cue.
    agent.wait_for_timeout(500)
    assert tones(agent) == 0, "no sound while it is off"

    toggle.click()
    expect(toggle).to_have_attribute("aria-checked", "true")
    wait_for_tones(agent, 2)  # turning it on plays the chime once
    widget.send(f"And the zips? {tag}")
    wait_for_tones(agent, 4)

    agent.reload()  # the choice stays; loading the console does not chime for old messages
    expect(agent.get_by_test_id("agent-inbox")).to_be_visible()
    expect(toggle).to_have_attribute("aria-checked", "true")
    agent.get_by_role("heading", name="Conversations").click()  # browsers play sound only after a click in the page
    widget.send(f"One more thing {tag}")
    wait_for_tones(agent, 2)
    # Asserts that something does NOT happen (no chime for old messages, none twice): a short fixed wait.
    agent.wait_for_timeout(500)
    assert tones(agent) == 2

    console.open_conversation(f"One more thing {tag}", product_id="summit-backpack")
    expect(agent).to_have_title(f"({unread}) rxchat console" if unread else "rxchat console")


def test_signed_out_console_redirects_to_sign_in(page: Page, served_app):
    page.goto(f"{served_app.url}/agent")
    page.wait_for_url(re.compile(r".*/agent/login$"))
    expect(page.get_by_test_id("agent-inbox")).to_have_count(0)


# --- Two agents on one conversation ------------------------------------------------------------------------------


def reply_bubble(page: Page, text: str):
    return page.locator('[data-testid="chat-message"][data-author="agent"]').filter(has_text=text)


def test_two_agents_see_each_others_replies_live_with_their_names(
    browser: Browser, served_app, agent_account, rxchat_create_staff
):
    ben_account = rxchat_create_staff("Ben")  # rxchat.testing's plugin, in the served app's database
    errors: list[str] = []
    ann, ben, shopper = (new_page(browser, errors) for _ in range(3))
    ann_console, ben_console = StaffConsole(ann, served_app.url), StaffConsole(ben, served_app.url)
    try:
        ann_console.login(agent_account.email, agent_account.password)
        ben_console.login(ben_account.email, ben_account.password)
        question = f"Which grinder setting for the pour-over? {secrets.token_hex(3)}"
        open_widget(ChatWidget(shopper), served_app, "pour-over-kit").send(question)
        ann_console.open_conversation(question, product_id="pour-over-kit")
        ben_console.open_conversation(question, product_id="pour-over-kit")

        from_ann = f"Medium-fine, like table salt. {secrets.token_hex(3)}"
        ann_console.reply(from_ann)
        for page in (ben, shopper):
            expect(reply_bubble(page, from_ann)).to_have_count(1)
            expect(reply_bubble(page, from_ann)).to_contain_text("Ann")

        from_ben = f"And 94 degrees water. {secrets.token_hex(3)}"
        ben_console.reply(from_ben)
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
    console, widget = people
    agent, shopper = console.page, widget.page
    tag = f"#{secrets.token_hex(3)}"
    sent = ["m00"]
    open_widget(widget, served_app, "trail-runner-2")
    widget.send(f"m00 {tag}")
    console.open_conversation(f"m00 {tag}", product_id="trail-runner-2")
    for n in range(1, RECENT_MAX + 6):
        text = f"m{n:02d}"
        if n % 3 == 0:
            console.reply(f"{text} {tag}")
            sender_view = agent.get_by_test_id("agent-thread")
        else:
            widget.send(f"{text} {tag}")
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
    console, widget = people
    agent, shopper = console.page, widget.page
    shopper.context.add_init_script(FRAME_RECORDER)
    tag = f"#{secrets.token_hex(3)}"
    open_widget(widget, served_app, "aurora-lamp")
    widget.send(f"Is the bulb included? {tag}")
    console.open_conversation(f"Is the bulb included? {tag}", product_id="aurora-lamp")
    seen_before = sent_events(shopper, "sync_seen")
    console.reply(f"Yes, a warm LED. {tag}")
    expect(reply_bubble(shopper, f"Yes, a warm LED. {tag}")).to_have_count(1)
    wait_for_events(shopper, "sync_seen", seen_before + 1)  # the seen mark that follows the reply has gone out
    # Asserts that something does NOT happen (a second copy of the reply with the read marks and inbox updates
    # that follow a message): a short fixed wait.
    shopper.wait_for_timeout(300)
    frames_with_reply = shopper.evaluate(f"() => window.__frames.filter(f => f.includes('Yes, a warm LED. {tag}'))")
    assert len(frames_with_reply) == 1, f"the reply reached the shopper {len(frames_with_reply)} times"

    before = shopper.evaluate("() => window.__frames.length")
    # Past the agent's typing signal's throttle window (time-based in the page; the reply's typing sent the last one).
    agent.wait_for_timeout(1100)
    console.reply_input.press_sequentially("One more")
    expect(widget.typing_indicator).to_be_visible()
    later = shopper.evaluate(f"() => window.__frames.slice({before})")
    assert later, "the typing signal reached the shopper"
    assert not [f for f in later if tag in f], "a later event sent the conversation to the shopper again"
    assert not [f for f in later if "rx_router_headers" in f], "a later event sent the page's router data again"


def sent_events(page: Page, handler: str, since: int = 0) -> int:
    """How many times the page has called this event handler over its socket (after the first `since` frames)."""
    return page.evaluate(f"() => window.__sent.slice({since}).filter(f => f.includes('.{handler}\"')).length")


def wait_for_events(page: Page, handler: str, count: int, since: int = 0) -> None:
    """Wait until the page has called this event handler `count` times (after the first `since` frames)."""
    page.wait_for_function(
        f"() => window.__sent.slice({since}).filter(f => f.includes('.{handler}\"')).length >= {count}"
    )


def test_only_the_other_side_messages_are_marked_read_or_seen(people, served_app):
    """A reply makes the widget mark it seen and a shopper message makes the console mark it read; a
    tab's own message costs it no such event. In the console the agent's reply sits on the right."""
    console, widget = people
    agent, shopper = console.page, widget.page
    for page in (agent, shopper):
        page.context.add_init_script(FRAME_RECORDER)
    console.goto()  # signed in already: load the console again with the recorder
    tag = f"#{secrets.token_hex(3)}"
    open_widget(widget, served_app, "aurora-lamp")
    widget.send(f"Does it dim? {tag}")
    console.open_conversation(f"Does it dim? {tag}", product_id="aurora-lamp")
    expect(shopper.get_by_test_id("chat-message").filter(has_text=tag).first).to_have_attribute("data-status", "read")
    # Opening the conversation marks it read, and the console's marker, mounting with the thread, asks once more
    # (30 ms later): counting starts after that one.
    wait_for_events(agent, "mark_read", 1)

    seen_before, read_before = len(shopper.evaluate("() => window.__sent")), len(agent.evaluate("() => window.__sent"))
    widget.send(f"And is it warm white? {tag}")
    expect(shopper.get_by_test_id("chat-message").filter(has_text="warm white").first).to_have_attribute(
        "data-status", "read"
    )
    console.reply(f"Yes to both. {tag}")
    expect(reply_bubble(shopper, f"Yes to both. {tag}")).to_have_count(1)
    # Each side's mark of the other's message has gone out (they wait 30 ms after a message shows) ...
    wait_for_events(shopper, "sync_seen", 1, seen_before)
    wait_for_events(agent, "mark_read", 1, read_before)
    # ... and this asserts that something does NOT happen (a second mark, for a tab's own message): a short fixed wait.
    shopper.wait_for_timeout(300)

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

    from server import AppServer, base_env, copy_app

    workdir = Path(tempfile.mkdtemp(prefix="rxchat-restart-"))
    env = base_env(
        REFLEX_DB_URL=f"sqlite:///{workdir / 'rxchat.db'}",
        RXCHAT_MESSAGES_PER_MINUTE="1000",
        RXCHAT_SESSIONS_PER_HOUR="1000",
    )
    run_cli("migrate", env=env)
    run_cli("seed-demo", env=env)
    account = create_staff_account(env, name="Cleo", email="restart-agent@example.com", password=PASSWORD)
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
    console, widget = StaffConsole(agent, server.url), ChatWidget(shopper)
    console.login(server.account.email, server.account.password)
    open_widget(widget, server, RESTART_PRODUCT)
    widget.send(opening)
    console.open_conversation(opening, product_id=RESTART_PRODUCT)
    console.reply(answer)
    expect(reply_bubble(shopper, answer)).to_have_count(1)
    yield {
        "server": server,
        "agent": agent,
        "shopper": shopper,
        "console": console,
        "widget": widget,
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
    console, widget = restart_people["console"], restart_people["widget"]
    while_down, question, reply = (
        f"Typed while you were away {tag}",
        f"Does it shrink? {tag}",
        f"No, it is pre-washed. {tag}",
    )

    server.stop()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_visible(timeout=15_000)
    # Nothing gets through while the server is down: the shopper's send waits in the browser, shown at once
    # as `sending` (the page's outbox) with the input emptied, and no message shows as stored on either side.
    # This asserts that something does NOT happen: a short fixed wait.
    widget.input.fill(while_down)
    widget.input.press("Enter")
    expect(widget.message_items(while_down)).to_have_attribute("data-status", "sending")
    expect(shopper.get_by_test_id("chat-input")).to_have_value("")
    shopper.wait_for_timeout(1500)
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

    widget.send(question)
    expect(agent.get_by_test_id("agent-thread").get_by_text(question)).to_be_visible()
    console.reply(reply)
    expect(reply_bubble(shopper, reply)).to_have_count(1)
    # Asserts that something does NOT happen (a late duplicate would land by now): a short fixed wait.
    agent.wait_for_timeout(500)
    for text in [*restart_people["before"], while_down, question, reply]:
        assert stored_count(shopper, "chat-message-list", text) == 1, f"shopper shows {text!r} not once"
        assert stored_count(agent, "agent-thread", text) == 1, f"agent shows {text!r} not once"
    expect(shopper.get_by_test_id("chat-connection-status")).to_have_count(0)


def test_console_keeps_its_conversation_and_a_queued_reply_across_a_restart(restart_people):
    """A restart starts every tab's server state afresh: the console reopens its conversation from the browser,
    and a reply sent while the server was down is stored once when it is back, never lost or called erased."""
    server, agent, shopper, tag = (restart_people[k] for k in ("server", "agent", "shopper", "tag"))
    console = restart_people["console"]
    queued = f"Replied while you were away {tag}"

    server.stop()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_visible(timeout=15_000)
    # Not console.reply, which waits until the reply is stored: Enter, as a connection toast covers the Send button.
    console.reply_input.fill(queued)
    console.reply_input.press("Enter")
    # While the server is down the reply waits in the page, shown as `sending` with the box emptied, and is not
    # stored. Asserts that something does NOT happen: a short fixed wait.
    expect(console.message_items(queued)).to_have_attribute("data-status", "sending")
    expect(console.reply_input).to_have_value("")
    agent.wait_for_timeout(500)
    assert stored_count(agent, "agent-thread", queued) == 0
    server.start()
    expect(shopper.get_by_test_id("chat-connection-status")).to_be_hidden(timeout=30_000)

    expect(agent.get_by_test_id("agent-thread")).to_contain_text(restart_people["before"][0], timeout=10_000)
    expect(agent.get_by_test_id("agent-conversation-erased")).to_have_count(0)
    expect(reply_bubble(shopper, queued)).to_have_count(1, timeout=10_000)
    expect(reply_bubble(agent, queued)).to_have_count(1)
    expect(agent.get_by_test_id("agent-reply-input")).to_have_value("")
    # Asserts that something does NOT happen (a late duplicate would land by now): a short fixed wait.
    agent.wait_for_timeout(500)
    for text in [*restart_people["before"], queued]:
        assert stored_count(shopper, "chat-message-list", text) == 1, f"shopper shows {text!r} not once"
        assert stored_count(agent, "agent-thread", text) == 1, f"agent shows {text!r} not once"
