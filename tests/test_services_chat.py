"""The service layer as a specification: sessions, messages, paging, events, the browser record, message text.

Each test gets its own SQLite file migrated with Alembic and seeded with the demo catalog.
"""

import asyncio
import json
import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import func, select

from factories import (
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    browser_record,
    lockstep_writes,
    make_messages,
    make_session,
    recorded_events,
    second_session,
)
from rxchat.clock import utcnow
from rxchat.models import ChatMessage, ChatSession
from rxchat.services import chat, errors, ids
from rxchat.services.events import ConversationStarted, MessagePosted
from rxchat.services.record import MAX_RECORD_CHARS, load_record
from rxchat.text import segments

GLOBAL_ID = "v" + "a" * 32
SESSION_ID_RE = re.compile(r"^cs_[0-9a-f]{48}$")
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


async def stored_bodies(db, chat_session) -> list[str]:
    rows = await db.exec(select(ChatMessage).where(ChatMessage.session_id == chat_session.id).order_by(ChatMessage.seq))
    return [m.body for m in rows.all()]


# --- sessions -----------------------------------------------------------------------------------------------------


async def test_create_session_mints_secret_id_format(db):
    chat_session = await make_session(db)

    assert SESSION_ID_RE.match(chat_session.session_id)
    assert chat_session.product_id == DEMO_PRODUCT
    assert chat_session.message_count == 0
    assert chat_session.is_active is True
    assert ids.is_valid_public_id(chat_session.public_id)
    assert chat_session.public_id not in chat_session.session_id


async def test_create_session_twice_gives_distinct_ids(db):
    sessions = [await make_session(db) for _ in range(20)]

    assert len({s.session_id for s in sessions}) == 20
    assert len({s.public_id for s in sessions}) == 20


async def test_create_session_unknown_product_refused(db):
    with pytest.raises(errors.ProductNotFound):
        await make_session(db, product_id="no-such-product")
    with pytest.raises(errors.ProductNotFound):
        await make_session(db, product_id="../etc/passwd")
    assert (await db.exec(select(func.count()).select_from(ChatSession))).one() == 0


async def test_get_session_known_id_returns_it(db):
    chat_session = await make_session(db)

    found = await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)

    assert found.id == chat_session.id


@pytest.mark.parametrize(
    "session_id",
    [
        "cs_" + "0" * 48,  # well formed, never issued
        "garbage",
        "",
        "cs_" + "A" * 48,  # upper-case hex is not a session id
        "cs_" + "0" * 47,
        "' OR 1=1 --",
    ],
)
async def test_get_session_unknown_or_malformed_id_not_found(db, session_id):
    await make_session(db)

    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=session_id)


async def test_get_session_other_products_id_not_found(db):
    chat_session = await make_session(db, product_id=DEMO_PRODUCT)

    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=OTHER_PRODUCT, session_id=chat_session.session_id)


async def test_find_session_upper_cased_real_id_not_found(db):
    chat_session = await make_session(db)

    assert await chat.find_session(db, session_id=chat_session.session_id.upper()) is None
    assert (await chat.find_session(db, session_id=chat_session.session_id)).id == chat_session.id


async def test_get_session_empty_and_idle_over_24_hours_not_found(db):
    chat_session = await make_session(db)
    chat_session.created_at = chat_session.last_activity = utcnow() - timedelta(hours=25)
    db.add(chat_session)
    await db.commit()

    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)


async def test_get_session_with_messages_idle_under_30_days_found(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 1)
    chat_session.created_at = chat_session.last_activity = utcnow() - timedelta(days=29)
    db.add(chat_session)
    await db.commit()

    found = await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)

    assert found.id == chat_session.id


async def test_get_session_with_messages_idle_over_30_days_not_found(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 1)
    chat_session.last_activity = utcnow() - timedelta(days=31)
    db.add(chat_session)
    await db.commit()

    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)


# --- a shopper's message, the session checked by the write itself ------------------------------------------------


async def test_post_shopper_message_stores_it_and_returns_the_session_after_it(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 2)

    after, message, created = await chat.post_shopper_message(
        db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id, body="  third  ", client_key="k-3"
    )

    assert created and message.seq == 3 and message.body == "third"
    assert (after.id, after.public_id) == (chat_session.id, chat_session.public_id)
    assert (after.message_count, after.last_seq) == (3, 3)
    assert await stored_bodies(db, chat_session) == ["message 1", "message 2", "third"]


async def test_post_shopper_message_retried_key_stored_once(db):
    chat_session = await make_session(db)
    post = dict(product_id=DEMO_PRODUCT, session_id=chat_session.session_id, body="hi", client_key="k-1")

    _, first, first_created = await chat.post_shopper_message(db, **post)
    after, second, second_created = await chat.post_shopper_message(db, **post)

    assert (first_created, second_created) == (True, False) and second.id == first.id
    assert after.message_count == 1 and await stored_bodies(db, chat_session) == ["hi"]


def _age_empty_past_ttl(chat_session):
    chat_session.created_at = chat_session.last_activity = utcnow() - timedelta(hours=25)


def _age_idle_past_ttl(chat_session):
    chat_session.message_count, chat_session.last_seq = 1, 1
    chat_session.last_activity = utcnow() - timedelta(days=31)


def _deactivate(chat_session):
    chat_session.is_active = False


# The two ways a message names its conversation: a shopper's secret id (with the product), a staff handle.
POSTERS = {
    "shopper": lambda db, c: chat.post_shopper_message(db, product_id=DEMO_PRODUCT, session_id=c.session_id, body="hi"),
    "staff": lambda db, c: chat.post_reply(db, conversation=c.public_id, agent_name="Ann", body="hello?"),
}


@pytest.mark.parametrize("poster", POSTERS)
@pytest.mark.parametrize("make_unusable", [_age_empty_past_ttl, _age_idle_past_ttl, _deactivate])
async def test_a_message_to_an_expired_or_inactive_conversation_stores_nothing(db, poster, make_unusable):
    chat_session = await make_session(db)
    make_unusable(chat_session)
    db.add(chat_session)
    await db.commit()

    with pytest.raises(errors.SessionNotFound):
        await POSTERS[poster](db, chat_session)

    assert (await db.exec(select(func.count()).select_from(ChatMessage))).one() == 0


@pytest.mark.parametrize("session_id", ["cs_" + "0" * 48, "not-an-id", ""])
async def test_post_shopper_message_to_an_unknown_session_stores_nothing(db, session_id):
    with pytest.raises(errors.SessionNotFound):
        await chat.post_shopper_message(db, product_id=DEMO_PRODUCT, session_id=session_id, body="hi")

    assert (await db.exec(select(func.count()).select_from(ChatMessage))).one() == 0


async def test_post_shopper_message_under_another_product_stores_nothing(db):
    chat_session = await make_session(db)

    with pytest.raises(errors.SessionNotFound):
        await chat.post_shopper_message(db, product_id=OTHER_PRODUCT, session_id=chat_session.session_id, body="hi")

    assert (await db.exec(select(func.count()).select_from(ChatMessage))).one() == 0


async def test_post_shopper_message_with_messages_idle_under_30_days_is_stored(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 1)
    chat_session.created_at = chat_session.last_activity = utcnow() - timedelta(days=29)
    db.add(chat_session)
    await db.commit()

    _, message, created = await chat.post_shopper_message(
        db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id, body="still here"
    )

    assert created and message.seq == 2


async def test_post_reply_by_public_handle_is_signed_and_marks_the_thread_read(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 2)

    after, reply, created = await chat.post_reply(
        db, conversation=chat_session.public_id, agent_name="Ann", body="Happy to help", client_key="r-1"
    )

    assert created and (reply.seq, reply.author, reply.agent_name) == (3, "agent", "Ann")
    assert (after.last_seq, after.agent_read_seq) == (3, 3)


@pytest.mark.parametrize("conversation", ["", "x" * 200, "p_unknown"])
async def test_post_reply_to_an_unknown_handle_stores_nothing(db, conversation):
    with pytest.raises(errors.SessionNotFound):
        await chat.post_reply(db, conversation=conversation, agent_name="Ann", body="hello?")

    assert (await db.exec(select(func.count()).select_from(ChatMessage))).one() == 0


# --- messages -----------------------------------------------------------------------------------------------------


async def test_post_message_body_trimmed(db):
    chat_session = await make_session(db)

    message, created = await chat.post_message(db, chat=chat_session, author="shopper", body="  \n Hello there \t\n ")

    assert created is True
    assert message.body == "Hello there"
    assert message.seq == 1
    assert message.author == "shopper"
    assert ISO_Z_RE.match(message.created_at)
    assert await stored_bodies(db, chat_session) == ["Hello there"]


async def test_post_message_inner_newlines_kept(db):
    chat_session = await make_session(db)

    message, _ = await chat.post_message(db, chat=chat_session, author="shopper", body="line one\r\nline two")

    assert message.body == "line one\nline two"


@pytest.mark.parametrize("body", ["", " ", "\n\n", " \t \r\n "])
async def test_post_message_empty_or_whitespace_refused(db, body):
    chat_session = await make_session(db)

    with pytest.raises(errors.EmptyMessage):
        await chat.post_message(db, chat=chat_session, author="shopper", body=body)
    assert await stored_bodies(db, chat_session) == []


async def test_post_message_4000_chars_accepted(db):
    chat_session = await make_session(db)

    message, created = await chat.post_message(db, chat=chat_session, author="shopper", body="x" * 4000)

    assert created is True
    assert len(message.body) == 4000
    assert await stored_bodies(db, chat_session) == ["x" * 4000]


async def test_post_message_4001_chars_refused_nothing_stored(db):
    chat_session = await make_session(db)

    with pytest.raises(errors.MessageTooLong) as refused:
        await chat.post_message(db, chat=chat_session, author="shopper", body="x" * 4001)

    assert "4,001" in refused.value.message and "4,000" in refused.value.message
    assert await stored_bodies(db, chat_session) == []
    await db.refresh(chat_session)
    assert chat_session.message_count == 0


async def test_post_message_4000_chars_with_surrounding_spaces_accepted(db):
    """The limit applies to the trimmed text, so padding never pushes a message over."""
    chat_session = await make_session(db)

    message, _ = await chat.post_message(db, chat=chat_session, author="shopper", body="  " + "y" * 4000 + "\n")

    assert message.body == "y" * 4000


async def test_post_message_same_client_key_twice_stored_once(db):
    chat_session = await make_session(db)

    first, first_created = await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k-1")
    second, second_created = await chat.post_message(
        db, chat=chat_session, author="shopper", body="hi", client_key="k-1"
    )

    assert (first_created, second_created) == (True, False)
    assert second.id == first.id
    assert second.seq == first.seq
    assert await stored_bodies(db, chat_session) == ["hi"]
    await db.refresh(chat_session)
    assert chat_session.message_count == 1


async def test_post_message_different_client_keys_stored_twice(db):
    chat_session = await make_session(db)

    await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k-1")
    await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k-2")

    assert await stored_bodies(db, chat_session) == ["hi", "hi"]


async def test_post_message_seq_counts_up_per_session(db):
    one = await make_session(db)
    two = await make_session(db)

    seqs_one = [m.seq for m in await make_messages(db, one, 3)]
    seqs_two = [m.seq for m in await make_messages(db, two, 2)]

    assert seqs_one == [1, 2, 3]
    assert seqs_two == [1, 2]
    await db.refresh(one)
    assert (one.message_count, one.last_seq) == (3, 3)


async def post_at_same_moment(db, chat_session, *, keys=(None, None)):
    """A shopper and an agent post on two connections, holding copies of the session with the same last_seq,
    and both writes start only once both writers have got that far (so whatever either read before writing,
    the other has read it too): the seq each message gets must come from the write itself."""
    async with second_session(db) as other_db:
        other_chat = await chat.get_session(other_db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)
        assert other_chat.last_seq == chat_session.last_seq
        with lockstep_writes(chat):
            return await asyncio.gather(
                chat.post_message(db, chat=chat_session, author="shopper", body="from the shopper", client_key=keys[0]),
                chat.post_message(
                    other_db, chat=other_chat, author="agent", agent_name="Sam", body="from Sam", client_key=keys[1]
                ),
                return_exceptions=True,
            )


async def test_post_message_two_writers_same_moment_both_stored(db):
    chat_session = await make_session(db)

    results = await post_at_same_moment(db, chat_session)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(message.seq for message, _created in results) == [1, 2]
    assert sorted(await stored_bodies(db, chat_session)) == ["from Sam", "from the shopper"]


async def test_post_message_two_writers_same_moment_with_keys_both_stored(db):
    """The widget always sends a client_key, so this is the race a real shopper and agent hit."""
    chat_session = await make_session(db)

    results = await post_at_same_moment(db, chat_session, keys=("shopper-key", "agent-key"))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(message.seq for message, _created in results) == [1, 2]


async def test_post_message_same_key_two_writers_same_moment_stored_once(db):
    """A retry racing the original send (same idempotency key) gives one message."""
    chat_session = await make_session(db)

    results = await post_at_same_moment(db, chat_session, keys=("k-1", "k-1"))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(created for _message, created in results) == [False, True]
    assert results[0][0].id == results[1][0].id
    assert len(await stored_bodies(db, chat_session)) == 1


async def test_post_message_two_writers_in_bursts_every_message_stored_in_order(db):
    chat_session = await make_session(db)
    async with second_session(db) as other_db:
        other_chat = await chat.get_session(other_db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)

        async def burst(session, conversation, author):
            for n in range(10):
                await chat.post_message(
                    session,
                    chat=conversation,
                    author=author,
                    agent_name="Sam",
                    body=f"{author} {n}",
                    client_key=f"{author}-{n}",
                )

        await asyncio.gather(burst(db, chat_session, "shopper"), burst(other_db, other_chat, "agent"))

    page, _before = await chat.list_messages(db, chat=chat_session, limit=100)
    assert sorted(m.seq for m in page) == list(range(1, 21))
    for author in ("shopper", "agent"):
        mine = [m.body for m in sorted(page, key=lambda m: m.seq) if m.author == author]
        assert mine == [f"{author} {n}" for n in range(10)]


# --- paging -------------------------------------------------------------------------------------------------------


async def test_list_messages_75_paged_by_30_each_seq_once(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 75)

    seen: list[int] = []
    page_sizes: list[int] = []
    before = None
    for _ in range(10):  # 3 pages expected; the bound stops a cursor that never ends
        page, before = await chat.list_messages(db, chat=chat_session, before=before, limit=30)
        page_sizes.append(len(page))
        seqs = [m.seq for m in page]
        assert seqs == sorted(seqs, reverse=True), "a page is newest first"
        seen.extend(seqs)
        if before is None:
            break

    assert page_sizes == [30, 30, 15]
    assert sorted(seen) == list(range(1, 76))
    assert len(seen) == len(set(seen))
    assert seen[0] == 75


async def test_list_messages_exact_multiple_no_empty_last_page(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 60)

    first, before = await chat.list_messages(db, chat=chat_session, limit=30)
    second, after_last = await chat.list_messages(db, chat=chat_session, before=before, limit=30)

    assert len(first) == len(second) == 30
    assert after_last is None
    assert [m.seq for m in second][-1] == 1


async def test_list_messages_empty_thread_no_cursor(db):
    chat_session = await make_session(db)

    page, before = await chat.list_messages(db, chat=chat_session)

    assert page == []
    assert before is None


async def test_list_messages_only_this_sessions_messages(db):
    mine = await make_session(db)
    other = await make_session(db)
    await make_messages(db, mine, 2)
    await chat.post_message(db, chat=other, author="shopper", body="someone else's secret")

    page, _ = await chat.list_messages(db, chat=mine)

    assert [m.body for m in page] == ["message 2", "message 1"]


# --- published events ---------------------------------------------------------------------------------------------


async def test_post_message_publishes_one_message_event(db):
    chat_session = await make_session(db)

    async with recorded_events() as events:
        message, _ = await chat.post_message(db, chat=chat_session, author="shopper", body="Is it dimmable?")

    assert [type(e) for e in events] == [MessagePosted]
    event = events[0]
    assert event.conversation == chat_session.public_id
    assert event.product_id == DEMO_PRODUCT
    assert event.message.body == "Is it dimmable?"
    assert event.message.seq == message.seq
    assert chat_session.session_id not in repr(event), "the secret session id is never published"


async def test_post_message_refused_publishes_nothing(db):
    chat_session = await make_session(db)

    async with recorded_events() as events:
        with pytest.raises(errors.MessageTooLong):
            await chat.post_message(db, chat=chat_session, author="shopper", body="x" * 4001)
        with pytest.raises(errors.EmptyMessage):
            await chat.post_message(db, chat=chat_session, author="shopper", body="   ")

    assert events == []


async def test_post_message_retried_key_publishes_once(db):
    chat_session = await make_session(db)

    async with recorded_events() as events:
        await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k-1")
        await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k-1")

    assert [type(e) for e in events] == [MessagePosted]


async def test_create_session_publishes_public_handle_only(db):
    async with recorded_events() as events:
        chat_session = await make_session(db)

    assert events == [ConversationStarted(conversation=chat_session.public_id, product_id=chat_session.product_id)]
    assert chat_session.session_id not in repr(events[0])


# --- the browser record (localStorage["chat_session_data"]) -------------------------------------------------------

VALID_SESSION = "cs_" + "1" * 48


def test_load_record_invalid_json_gives_clean_record():
    for raw in ["{not json", "", "null", "[1, 2]", '"a string"', "42"]:
        assert load_record(raw, GLOBAL_ID) == {
            "globalSessionId": GLOBAL_ID,
            "productSessions": {},
            "userPreferences": {},
        }


def test_load_record_valid_entry_kept():
    entry = {
        "sessionId": VALID_SESSION,
        "productId": "aurora-lamp",
        "createdAt": "2026-11-25T10:00:00.000Z",
        "lastActivity": "2026-11-25T10:05:00.000Z",
        "messageCount": 3,
        "isActive": True,
        "customerName": "Ada",
    }

    loaded = load_record(browser_record({"product_aurora-lamp": entry}, global_id=GLOBAL_ID), GLOBAL_ID)

    assert loaded["productSessions"] == {"product_aurora-lamp": entry}


def test_load_record_other_global_id_replaced():
    loaded = load_record(browser_record(global_id="v" + "f" * 32), GLOBAL_ID)

    assert loaded["globalSessionId"] == GLOBAL_ID


def test_load_record_wrong_types_repaired():
    raw = json.dumps(
        {
            "globalSessionId": 12,
            "productSessions": {
                "product_aurora-lamp": {
                    "sessionId": VALID_SESSION,
                    "productId": "aurora-lamp",
                    "createdAt": 5,
                    "lastActivity": None,
                    "messageCount": "3",
                    "isActive": "yes",
                    "customerName": ["not", "a", "name"],
                },
                "product_linen-throw": ["a", "list"],
                "product_sku-4417": {"sessionId": 7},
                "product_bad id!": {"sessionId": VALID_SESSION},
            },
            "userPreferences": {"name": 5, "email": "ada@example.com", "evil": "x", "theme": "e" * 255},
        }
    )

    loaded = load_record(raw, GLOBAL_ID)

    assert list(loaded["productSessions"]) == ["product_aurora-lamp"]
    entry = loaded["productSessions"]["product_aurora-lamp"]
    assert entry["sessionId"] == VALID_SESSION
    assert entry["productId"] == "aurora-lamp"
    assert ISO_Z_RE.match(entry["createdAt"]) and ISO_Z_RE.match(entry["lastActivity"])
    assert entry["messageCount"] == 0
    assert entry["isActive"] is True
    assert "customerName" not in entry
    assert loaded["userPreferences"] == {"email": "ada@example.com"}


def test_load_record_boolean_or_negative_message_count_repaired():
    for count in (True, -4):
        raw = browser_record({"product_aurora-lamp": {"sessionId": VALID_SESSION, "messageCount": count}})
        entry = load_record(raw, GLOBAL_ID)["productSessions"]["product_aurora-lamp"]
        assert entry["messageCount"] == 0 and type(entry["messageCount"]) is int


def test_load_record_times_not_iso_replaced():
    raw = browser_record(
        {"product_aurora-lamp": {"sessionId": VALID_SESSION, "createdAt": "yesterday", "lastActivity": "<script>"}}
    )

    entry = load_record(raw, GLOBAL_ID)["productSessions"]["product_aurora-lamp"]

    assert ISO_Z_RE.match(entry["createdAt"]) and ISO_Z_RE.match(entry["lastActivity"])


def test_load_record_sessions_not_a_dict_ignored():
    for sessions in (["product_aurora-lamp"], "product_aurora-lamp", 3):
        raw = json.dumps({"productSessions": sessions, "userPreferences": "dark"})
        loaded = load_record(raw, GLOBAL_ID)
        assert loaded["productSessions"] == {} and loaded["userPreferences"] == {}


def test_load_record_bare_string_entry_upgraded():
    """An older layout kept a bare session id per product."""
    loaded = load_record(browser_record({"product_aurora-lamp": VALID_SESSION}), GLOBAL_ID)

    entry = loaded["productSessions"]["product_aurora-lamp"]
    assert entry["sessionId"] == VALID_SESSION
    assert entry["productId"] == "aurora-lamp"
    assert entry["messageCount"] == 0
    assert entry["isActive"] is True
    assert ISO_Z_RE.match(entry["createdAt"])


def test_load_record_numeric_product_id_becomes_string():
    loaded = load_record(browser_record({"product_4417": {"sessionId": VALID_SESSION, "productId": 4417}}), GLOBAL_ID)

    assert loaded["productSessions"]["product_4417"]["productId"] == "4417"


def test_load_record_oversized_value_ignored():
    entry = {"sessionId": VALID_SESSION, "productId": "aurora-lamp"}
    raw = browser_record({"product_aurora-lamp": entry}, padding="p" * MAX_RECORD_CHARS)
    assert len(raw) > MAX_RECORD_CHARS

    loaded = load_record(raw, GLOBAL_ID)

    assert loaded == {"globalSessionId": GLOBAL_ID, "productSessions": {}, "userPreferences": {}}


def test_load_record_oversized_session_id_dropped():
    loaded = load_record(browser_record({"product_aurora-lamp": {"sessionId": "x" * 201}}), GLOBAL_ID)

    assert loaded["productSessions"] == {}


def test_load_record_not_a_string_gives_clean_record():
    assert load_record(None, GLOBAL_ID)["productSessions"] == {}  # type: ignore[arg-type]


# --- message text: links ------------------------------------------------------------------------------------------


def links(body: str) -> list[str]:
    return [part["href"] for part in segments(body) if part["href"]]


def test_segments_http_and_https_become_links():
    assert links("see https://example.com/a?b=c#d and http://example.org") == [
        "https://example.com/a?b=c#d",
        "http://example.org",
    ]


def test_segments_link_text_equals_href():
    parts = segments("go to https://example.com now")

    assert parts == [
        {"text": "go to ", "href": ""},
        {"text": "https://example.com", "href": "https://example.com"},
        {"text": " now", "href": ""},
    ]


@pytest.mark.parametrize(
    "body",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "javascript://example.com/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "mailto:a@example.com",
        "www.example.com",
        "vbscript:msgbox(1)",
    ],
)
def test_segments_other_schemes_never_links(body):
    assert links(body) == []
    assert "".join(part["text"] for part in segments(body)) == body


def test_segments_javascript_url_wrapping_https_links_only_the_https_part():
    assert links("javascript:https://example.com") == ["https://example.com"]


@pytest.mark.parametrize(
    ("body", "href", "after"),
    [
        ("Look: https://example.com.", "https://example.com", "."),
        ("(https://example.com/page)", "https://example.com/page", ")"),
        ("https://example.com/a, then", "https://example.com/a", ", then"),
        ("Really https://example.com?!", "https://example.com", "?!"),
        ('"https://example.com"', "https://example.com", '"'),
        ("https://example.com;", "https://example.com", ";"),
    ],
)
def test_segments_trailing_punctuation_excluded(body, href, after):
    parts = segments(body)

    assert links(body) == [href]
    assert parts[-1]["text"] == after and parts[-1]["href"] == ""


def test_segments_html_stays_text():
    body = "<b>x</b><script>window.__pwned=1</script>"

    assert segments(body) == [{"text": body, "href": ""}]


TEXT_PIECES = st.sampled_from(
    [
        "a",
        "b",
        " ",
        "\n",
        ".",
        ",",
        ")",
        "(",
        "<",
        ">",
        '"',
        "'",
        "/",
        ":",
        "http://",
        "https://",
        "HTTPS://",
        "javascript:",
        "example.com",
    ]
)


@given(st.lists(TEXT_PIECES, max_size=30).map("".join))
def test_segments_any_text_kept_whole_and_only_http_links(body):
    parts = segments(body)

    assert "".join(p["text"] for p in parts) == body
    for part in parts:
        if part["href"]:
            assert part["href"] == part["text"]
            assert re.match(r"^https?://", part["href"], re.IGNORECASE)
