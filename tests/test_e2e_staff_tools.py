"""The staff tools in the browser, on the session's served app: a canned reply made at /agent/canned and used
in a live conversation reaches the shopper with its placeholders filled; the report at /agent/reports shows
figures computed by hand for a seeded set, and its CSV is its table."""

import csv
import io
import re
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from console_errors import watch_console_errors
from rxchat.testing import CannedRepliesPage, ChatWidget, ReportsPage, StaffAccount, StaffConsole, create_staff_account

pytestmark = pytest.mark.e2e

PRODUCT = "aurora-lamp"
PRODUCT_NAME = "Aurora Desk Lamp"


@pytest.fixture(scope="module")
def agent_account(served_app) -> StaffAccount:
    return create_staff_account(served_app.env, name="Tess")


def new_page(browser: Browser, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True).new_page()
    watch_console_errors(page, errors)
    return page


@pytest.fixture
def pages(browser: Browser):
    errors: list[str] = []
    opened: list[Page] = []

    def make() -> Page:
        page = new_page(browser, errors)
        opened.append(page)
        return page

    yield make
    for page in opened:
        page.context.close()
    assert not errors, f"console errors: {errors}"


def test_a_canned_reply_reaches_the_shopper_with_its_placeholders_filled(served_app, agent_account, pages):
    tag = secrets.token_hex(3)
    title = f"Shipping {tag}"
    agent_page, shopper_page = pages(), pages()
    console = StaffConsole(agent_page, served_app.url)
    console.login(agent_account.email, agent_account.password)

    # The team's canned replies: add two, delete one, from the page the console's header links to.
    agent_page.get_by_test_id("agent-nav-canned").click()
    canned = CannedRepliesPage(agent_page, served_app.url)
    expect(agent_page.get_by_test_id("canned-save")).to_be_enabled()
    canned.add(title, "Hi {shopper}, the {product} ships within two days.")
    canned.add(f"Scratch {tag}", "to be deleted")
    canned.delete(f"Scratch {tag}")
    expect(canned.item(title)).to_contain_text("Hi {shopper}, the {product} ships within two days.")
    expect(canned.items.filter(has_text=f"Scratch {tag}")).to_have_count(0)
    # A second reply with the same title, in another case, is refused with a sentence; the form keeps it.
    agent_page.get_by_test_id("canned-title-input").fill(title.upper())
    agent_page.get_by_test_id("canned-body-input").fill("a duplicate")
    agent_page.get_by_test_id("canned-save").click()
    expect(agent_page.get_by_test_id("chat-error")).to_contain_text("already exists")
    expect(agent_page.get_by_test_id("canned-body-input")).to_have_value("a duplicate")

    # A shopper who gave their name asks about the lamp.
    widget = ChatWidget(shopper_page)
    widget.goto(f"{served_app.url}/products/{PRODUCT}")
    widget.open()
    shopper_page.locator(".chat-details-summary").click()
    shopper_page.get_by_test_id("chat-name-input").fill("Ada")
    shopper_page.get_by_test_id("chat-save-profile").click()
    question = f"How fast does it ship? {tag}"
    widget.send(question)

    console.goto()
    console.open_conversation(question, product_id=PRODUCT)
    expected = f"Hi Ada, the {PRODUCT_NAME} ships within two days."
    # The mouse's way: the button beside the reply box.
    assert console.pick_canned_reply(title) == expected
    # The menu closed onto the reply box, where the text is, and stays there (keys typed next go into it).
    expect(console.reply_input).to_be_focused()
    # The keyboard's way: "/", the start of the title in any case, Enter.
    assert console.use_canned_reply(f"shipping {tag[:2]}") == expected
    # Escape closes the menu and leaves what was typed.
    console.reply_input.fill("")
    console.reply_input.press_sequentially(f"/shipping {tag}")
    expect(console.canned_suggestions).to_have_count(1)
    console.reply_input.press("Escape")
    expect(console.canned_suggestions).to_have_count(0)
    expect(console.reply_input).to_have_value(f"/shipping {tag}")

    # Taken again, edited in the box, sent with Enter: the shopper gets the filled-in text.
    console.use_canned_reply(f"SHIPPING {tag}")
    console.reply_input.press("End")
    console.reply_input.press_sequentially(" Thanks!")
    console.reply_input.press("Enter")
    console.wait_for_message(expected + " Thanks!")
    reply = widget.wait_for_reply(expected + " Thanks!")
    expect(reply).not_to_contain_text("{")
    assert [m.text for m in widget.messages() if m.author == "agent"] == [expected + " Thanks!"]


def insert_conversations(database: Path, conversations: list[tuple[str, datetime, list[tuple[int, str]]]]) -> None:
    """Conversations written straight into the served app's database, at the times given."""

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    with sqlite3.connect(database) as db:
        for product_id, started, timeline in conversations:
            last = started + timedelta(seconds=max(offset for offset, _ in timeline))
            session = db.execute(
                "INSERT INTO product_chat_sessions (session_id, public_id, product_id, created_at, last_activity, "
                "is_active, status, message_count, last_seq, agent_read_seq, shopper_seen_seq) "
                "VALUES (?, ?, ?, ?, ?, 1, 'closed', ?, ?, ?, 0)",
                (
                    "cs_" + secrets.token_hex(24),
                    secrets.token_hex(8),
                    product_id,
                    stamp(started),
                    stamp(last),
                    len(timeline),
                    len(timeline),
                    len(timeline),
                ),
            ).lastrowid
            db.executemany(
                "INSERT INTO product_chat_messages (session_id, seq, author, agent_name, body, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        session,
                        seq,
                        author,
                        "Tess" if author == "agent" else None,
                        f"{author} {seq}",
                        stamp(started + timedelta(seconds=offset)),
                    )
                    for seq, (offset, author) in enumerate(timeline, start=1)
                ],
            )


def server_now(served_app) -> datetime:
    offset = float((served_app.workdir / "clock-offset").read_text() or 0)
    return datetime.now(UTC) + timedelta(seconds=offset)


def test_the_report_shows_hand_computed_figures_and_exports_its_table(served_app, agent_account, pages):
    tag = secrets.token_hex(3)
    lamp, pack = f"report-lamp-{tag}", f"report-pack-{tag}"
    now = server_now(served_app)
    s, a = "shopper", "agent"
    insert_conversations(
        Path(served_app.env["REFLEX_DB_URL"].removeprefix("sqlite:///")),
        [
            (lamp, now - timedelta(hours=5), [(0, s), (60, a)]),  # first response 60 s
            (lamp, now - timedelta(hours=4), [(0, s), (30, s), (150, a)]),  # 150 s
            (lamp, now - timedelta(hours=3), [(0, s), (900, a)]),  # 900 s
            (pack, now - timedelta(hours=2), [(0, s)]),  # no reply yet
            (pack, now - timedelta(minutes=90), [(0, s), (20, a), (40, s), (100, a)]),  # 20 s
        ],
    )
    # By hand: lamp 3 conversations, 7 messages, median of 60/150/900 = 150 s, 2 of 3 within 5 minutes;
    #          pack 2 conversations, 5 messages, median of 20 = 20 s, 1 of 2 within 5 minutes.
    page = pages()
    console = StaffConsole(page, served_app.url)
    console.login(agent_account.email, agent_account.password)
    page.get_by_test_id("agent-nav-reports").click()
    report = ReportsPage(page, served_app.url)
    expect(page.get_by_test_id("report-export-csv")).to_be_enabled()
    report.choose_range(7)

    expect(report.table.locator(f'[data-product-id="{lamp}"]')).to_be_visible()
    rows = report.product_rows()
    assert rows[lamp] == [lamp, "3", "7", "2 min 30 s", "67%"]
    assert rows[pack] == [pack, "2", "5", "20 s", "50%"]
    # The charts are drawn (bars per day and product, the response-time lines), with the period's days.
    conversations_chart = page.get_by_test_id("report-chart-conversations")
    expect(conversations_chart.locator("path.recharts-rectangle").first).to_be_visible()
    expect(page.get_by_test_id("report-chart-messages").locator("path.recharts-rectangle").first).to_be_visible()
    expect(page.get_by_test_id("report-chart-first-response").locator(".recharts-line").first).to_be_attached()

    exported = list(csv.reader(io.StringIO(report.export_csv())))
    assert exported[0] == [
        "product_id",
        "product",
        "conversations",
        "messages",
        "median_first_response_seconds",
        "answered_within_5_min_percent",
    ]
    by_product = {row[0]: row for row in exported[1:]}
    assert by_product[lamp] == [lamp, lamp, "3", "7", "150", "66.67"]
    assert by_product[pack] == [pack, pack, "2", "5", "20", "50"]
    # The CSV is the table: the same products in the same order, with the same counts.
    assert list(by_product) == list(rows)
    for product_id, cells in rows.items():
        assert by_product[product_id][1:4] == cells[0:3]

    # The 30 and 90 day reports hold the same conversations (all from today).
    report.choose_range(90)
    expect(page.get_by_test_id("report-period")).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2}"))
    expect(report.table.locator(f'[data-product-id="{lamp}"]')).to_contain_text("2 min 30 s")


def test_the_staff_tools_send_a_signed_out_browser_to_sign_in(served_app, pages):
    page = pages()
    for path in ("/agent/canned", "/agent/reports"):
        page.goto(served_app.url + path)
        page.wait_for_url(re.compile(r".*/agent/login$"))
        expect(page.get_by_test_id("canned-item")).to_have_count(0)
        expect(page.get_by_test_id("report-product-row")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_staff_tools_pass_an_accessibility_scan(served_app, agent_account, pages, scheme):
    """axe-core: no serious or critical violation on either page, nor in the console with the `/` menu open."""
    from axe_playwright_python.sync_playwright import Axe

    def blocking(page: Page) -> list[str]:
        violations = Axe().run(page).response["violations"]
        return [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]

    page = pages()
    page.emulate_media(color_scheme=scheme)
    console = StaffConsole(page, served_app.url)
    console.login(agent_account.email, agent_account.password)
    canned = CannedRepliesPage(page, served_app.url)
    canned.goto()
    title = f"Opening hours {secrets.token_hex(3)}"
    canned.add(title, "We answer from 9 to 5, {shopper}.")
    assert blocking(page) == [], "the canned replies page"
    report = ReportsPage(page, served_app.url)
    report.goto()
    expect(page.get_by_test_id("report-chart-conversations").locator("svg").first).to_be_visible()
    assert blocking(page) == [], "the reports page"

    question = f"When are you open? {secrets.token_hex(3)}"
    created = page.request.post(f"{served_app.url}/api/products/{PRODUCT}/chat/sessions")
    page.request.post(
        f"{served_app.url}/api/products/{PRODUCT}/chat/sessions/{created.json()['session_id']}/messages",
        data={"content": question},
    )
    console.goto()
    console.open_conversation(question, product_id=PRODUCT)
    console.reply_input.press_sequentially("/" + title[:6])
    expect(console.canned_suggestions.first).to_be_visible()
    assert blocking(page) == [], "the console with the / menu open"
