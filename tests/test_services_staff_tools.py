"""The staff tools' rules: canned replies (unique titles, the `/` prefix match, placeholders) and the reports'
SQL aggregates, checked against a data set computed by hand, on SQLite and PostgreSQL; and the reports on a
year of data (100,000 messages) within a second."""

import sqlite3
import time
from datetime import timedelta

import pytest

import report_data
from factories import migrated_database, migrated_postgres, second_session
from rxchat.services import canned, errors, reports

LAMP, PACK, GONE = "aurora-lamp", "summit-backpack", "retired-kettle"
NAMES = {"lamp": LAMP, "pack": PACK, "gone": GONE}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def db(request, tmp_path):
    database = (
        migrated_database(tmp_path / "chat.db") if request.param == "sqlite" else migrated_postgres("rxchat_tools")
    )
    async with database as session:
        yield session


# --- canned replies ----------------------------------------------------------------------------------------------


async def test_canned_replies_are_added_listed_edited_and_deleted(db):
    shipping = await canned.create_reply(db, title="  Shipping   times ", body="  {product} ships in 2 days. ")
    await canned.create_reply(db, title="Returns", body="Send it back within 30 days.")

    listed = await canned.list_replies(db)
    assert [(r.title, r.body) for r in listed] == [
        ("Returns", "Send it back within 30 days."),
        ("Shipping times", "{product} ships in 2 days."),
    ]

    edited = await canned.update_reply(db, reply_id=shipping.id, title="Shipping", body="Two days.")
    assert (await canned.get_reply(db, reply_id=shipping.id)).body == "Two days." == edited.body
    gone = await canned.delete_reply(db, reply_id=shipping.id)
    assert gone.title == "Shipping"
    assert [r.title for r in await canned.list_replies(db)] == ["Returns"]
    with pytest.raises(canned.CannedNotFound):
        await canned.delete_reply(db, reply_id=shipping.id)
    with pytest.raises(canned.CannedNotFound):
        await canned.update_reply(db, reply_id=shipping.id, title="Again", body="x")


async def test_titles_are_unique_whatever_their_case(db):
    first = await canned.create_reply(db, title="Warranty", body="Two years.")
    other = await canned.create_reply(db, title="Sizes", body="S to XL.")

    with pytest.raises(canned.CannedTitleTaken):
        await canned.create_reply(db, title="WARRANTY", body="Three years.")
    with pytest.raises(canned.CannedTitleTaken):
        await canned.update_reply(db, reply_id=other.id, title="warranty", body="S to XL.")
    # The refusals left the stored replies as they were, and the session usable.
    assert {(r.title, r.body) for r in await canned.list_replies(db)} == {
        ("Warranty", "Two years."),
        ("Sizes", "S to XL."),
    }
    assert (await canned.update_reply(db, reply_id=first.id, title="warranty", body="Two years.")).title == "warranty"


async def test_two_agents_saving_one_title_at_once_get_one_reply(db):
    async with second_session(db) as other:
        results = []
        for session in (db, other):
            try:
                results.append(await canned.create_reply(session, title="Hello", body="Hi!"))
            except canned.CannedTitleTaken as refused:
                results.append(refused)
    assert sum(isinstance(r, canned.CannedTitleTaken) for r in results) == 1
    assert [r.title for r in await canned.list_replies(db)] == ["Hello"]


@pytest.mark.parametrize(
    ("title", "body"),
    [("", "x"), (" ", "x"), ("a" * 81, "x"), ("tab\x07", "x"), ("ok", ""), ("ok", "   "), ("ok", "x" * 4001)],
)
async def test_bad_titles_and_bodies_are_refused_with_a_sentence(db, title, body):
    with pytest.raises(errors.InvalidInput) as refused:
        await canned.create_reply(db, title=title, body=body)
    assert refused.value.status == 422 and refused.value.message.endswith(".")
    assert await canned.list_replies(db) == []


async def test_slash_suggestions_match_the_start_of_a_title_in_any_case(db):
    for title in ("Shipping", "Shipping abroad", "Sizes", "Returns", "100%_sure"):
        await canned.create_reply(db, title=title, body=f"about {title}")

    assert [r.title for r in await canned.suggest(db, prefix="sh")] == ["Shipping", "Shipping abroad"]
    assert [r.title for r in await canned.suggest(db, prefix="S")] == ["Shipping", "Shipping abroad", "Sizes"]
    assert [r.title for r in await canned.suggest(db, prefix="shipping  a")] == ["Shipping abroad"]
    assert [r.title for r in await canned.suggest(db, prefix="")][:2] == ["100%_sure", "Returns"]
    # LIKE's own wildcards are taken literally.
    assert [r.title for r in await canned.suggest(db, prefix="%")] == []
    assert [r.title for r in await canned.suggest(db, prefix="100%_")] == ["100%_sure"]
    assert await canned.suggest(db, prefix="x" * 500) == []


def test_placeholders_are_filled_from_the_conversation():
    body = "Hi {shopper}, the {product} ships today. {unknown} stays."
    assert canned.fill(body, product="Aurora Desk Lamp", shopper="Ada") == (
        "Hi Ada, the Aurora Desk Lamp ships today. {unknown} stays."
    )
    assert canned.fill("Hi {shopper}, thanks!", product="", shopper="") == "Hi, thanks!"


# --- reports ---------------------------------------------------------------------------------------------------


async def test_the_report_matches_the_hand_computed_set(db):
    await report_data.insert(db, report_data.hand_set(LAMP, PACK, GONE))

    report = await reports.build_report(db, days=7, now=report_data.NOW)

    assert (report.start, report.end, report.days) == ("2026-06-04", "2026-06-10", 7)
    rows = {row.product_id: row for row in report.products}
    assert [row.product_id for row in report.products] == [LAMP, PACK, GONE]  # most conversations first
    for short, (conversations, messages, median, within) in report_data.EXPECTED_PRODUCTS.items():
        row = rows[NAMES[short]]
        assert (row.conversations, row.messages, row.median_first_response_seconds) == (conversations, messages, median)
        assert row.answered_within_5_min == pytest.approx(within, abs=1e-4)
    assert rows[LAMP].product_name == "Aurora Desk Lamp"
    assert rows[GONE].product_name == GONE  # a product the catalog lost is named by its id
    assert [day.day for day in report.conversations] == list(report_data.EXPECTED_DAYS)
    for conv, first, messages in zip(report.conversations, report.first_response, report.messages, strict=True):
        by_product, answered, median, p90, shopper, agent = report_data.EXPECTED_DAYS[conv.day]
        assert conv.by_product == {NAMES[k]: v for k, v in by_product.items()}, conv.day
        assert (first.answered, first.median_seconds, first.p90_seconds) == (answered, median, p90), conv.day
        assert (messages.shopper, messages.agent) == (shopper, agent), conv.day
    assert (report.total_conversations, report.total_messages) == (8, 19)
    assert report.median_first_response_seconds == 240.0
    assert report.answered_within_5_min == pytest.approx(5 / 8, abs=1e-4)


async def test_an_even_count_has_the_mean_of_the_middle_two_as_median(db):
    s, a = "shopper", "agent"
    start = report_data.at(10, 8)
    await report_data.insert(
        db, [(LAMP, start + timedelta(minutes=i), [(0, s), (wait, a)]) for i, wait in enumerate((10, 20, 40, 1000))]
    )

    report = await reports.build_report(db, days=7, now=report_data.NOW)

    assert report.products[0].median_first_response_seconds == 30.0  # (20 + 40) / 2
    assert report.first_response[-1].p90_seconds == 1000.0  # the 4th of 4
    assert report.products[0].answered_within_5_min == 0.75


async def test_an_empty_range_has_every_day_and_no_figures(db):
    report = await reports.build_report(db, days=30, now=report_data.NOW)

    assert len(report.conversations) == len(report.first_response) == len(report.messages) == 30
    assert report.products == [] and report.total_conversations == 0
    assert report.median_first_response_seconds is None and report.answered_within_5_min is None
    assert reports.to_csv(report).splitlines() == [",".join(reports.CSV_COLUMNS)]


@pytest.mark.parametrize("days", [0, 1, 8, 365, "30", True, None])
async def test_only_7_30_or_90_days(db, days):
    with pytest.raises(errors.InvalidInput):
        await reports.build_report(db, days=days)


async def test_the_csv_is_the_table(db):
    await report_data.insert(db, report_data.hand_set(LAMP, PACK, "=cmd|calc"))

    report = await reports.build_report(db, days=7, now=report_data.NOW)

    assert reports.to_csv(report).splitlines() == [
        "product_id,product,conversations,messages,median_first_response_seconds,answered_within_5_min_percent",
        "aurora-lamp,Aurora Desk Lamp,4,11,90,50",
        "summit-backpack,Summit 28L Backpack,3,6,240,66.67",
        # A name a spreadsheet would run as a formula is written as text.
        "=cmd|calc,'=cmd|calc,1,2,300,100",
    ]
    assert reports.csv_filename(report) == "rxchat-report-2026-06-04-to-2026-06-10.csv"


def seed_a_year(path, *, conversations: int, messages_each: int) -> None:
    """`conversations` conversations over the 365 days to NOW, each of `messages_each` messages alternating
    shopper and agent a minute apart, written with two executemany INSERTs."""
    products = ["aurora-lamp", "summit-backpack", "pour-over-kit", "trail-runner-2", "linen-throw"]
    span = 365 * 24 * 3600
    sessions, messages = [], []
    for n in range(conversations):
        started = report_data.NOW - timedelta(seconds=span * (n + 1) // (conversations + 1))
        stamp = started.strftime("%Y-%m-%d %H:%M:%S.%f")
        sessions.append(
            (
                n + 1,
                f"cs_{n:048x}",
                f"{n:016x}",
                products[n % len(products)],
                stamp,
                stamp,
                1,
                "open",
                messages_each,
                messages_each,
                0,
                0,
            )
        )
        for seq in range(1, messages_each + 1):
            moment = (started + timedelta(seconds=60 * seq + n % 300)).strftime("%Y-%m-%d %H:%M:%S.%f")
            author = "shopper" if seq % 2 else "agent"
            messages.append((n + 1, seq, author, f"message {seq}", moment))
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO product_chat_sessions (id, session_id, public_id, product_id, created_at, last_activity, "
            "is_active, status, message_count, last_seq, agent_read_seq, shopper_seen_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sessions,
        )
        connection.executemany(
            "INSERT INTO product_chat_messages (session_id, seq, author, body, created_at) VALUES (?, ?, ?, ?, ?)",
            messages,
        )


async def test_reports_on_a_year_of_100000_messages_answer_within_a_second(tmp_path):
    path = tmp_path / "year.db"
    async with migrated_database(path) as db:
        seed_a_year(path, conversations=10_000, messages_each=10)
        for days in reports.RANGES:
            started = time.perf_counter()
            report = await reports.build_report(db, days=days, now=report_data.NOW)
            elapsed = time.perf_counter() - started
            assert elapsed < 1.0, f"the {days}-day report took {elapsed:.2f} s"
            assert sum(row.messages for row in report.products) == report.total_messages > 0
        print(f"90-day report over 100,000 messages: {elapsed * 1000:.0f} ms")
        assert report.total_conversations == pytest.approx(10_000 * 90 / 365, rel=0.02)
