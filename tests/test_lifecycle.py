"""Session lifecycle as a specification: the expiry sweep, its lock, the background sweeper, the `sweep`
command, and adopting a conversation of the original system under a strong id.

Each test gets its own SQLite file migrated with Alembic and seeded with the demo catalog. Time moves by the
sweep's `now=` argument (or, for the command, RXCHAT_CLOCK_OFFSET_FILE), never by sleeping.
"""

import asyncio
import logging
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlmodel import func, select

from api_support import api_database, assert_error, client_for, messages_url, served_app, session_url
from factories import (
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    make_messages,
    make_session,
    migrated_database,
    recorded_events,
    second_session,
)
from rxchat import db as app_db
from rxchat import sweeper
from rxchat.clock import utcnow
from rxchat.models import ChatMessage, ChatSession
from rxchat.services import chat, errors, ids, lifecycle, publish
from rxchat.services.events import ConversationErased
from rxchat.settings import settings
from server import ROOT, base_env

SESSION_ID_RE = re.compile(r"^cs_[0-9a-f]{48}$")
LEGACY_ID = "session_1700000000000_k3j4h5g6f_fp9a8b7c"  # the original system's format
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"  # a database of its own, as the API tests use


@pytest.fixture
def no_redis(monkeypatch):
    """One process, as with REFLEX_REDIS_URL unset: the sweep lock is process-local."""
    monkeypatch.setattr(settings, "redis_url", None)


@pytest.fixture
async def redis_lock(monkeypatch):
    """The sweep lock in Redis at 127.0.0.1:6379 (fails, never skips, when Redis is not there)."""
    monkeypatch.setattr(settings, "redis_url", REDIS_TEST_URL)
    client = aioredis.from_url(REDIS_TEST_URL)
    await client.delete(lifecycle.SWEEP_LOCK_KEY)
    try:
        yield client
    finally:
        await client.delete(lifecycle.SWEEP_LOCK_KEY)
        await client.aclose()


async def conversation(db, *, now, messages: int = 0, idle=timedelta(0), age=None, product_id=DEMO_PRODUCT):
    """A conversation with `messages` messages, last active `idle` before `now`, created `age` before it."""
    chat_session = await make_session(db, product_id=product_id)
    await make_messages(db, chat_session, messages)
    chat_session.last_activity = now - idle
    chat_session.created_at = now - (age if age is not None else idle)
    db.add(chat_session)
    await db.commit()
    return chat_session


async def remaining_ids(db) -> set[int]:
    return set((await db.exec(select(ChatSession.id))).all())


async def message_count(db, chat_session=None) -> int:
    query = select(func.count()).select_from(ChatMessage)
    if chat_session is not None:
        query = query.where(ChatMessage.session_id == chat_session.id)
    return (await db.exec(query)).one()


async def set_session_id(db, chat_session, session_id: str) -> None:
    """Give a row the id the original system would have stored for it."""
    await db.exec(sa.update(ChatSession).where(ChatSession.id == chat_session.id).values(session_id=session_id))
    await db.commit()
    await db.refresh(chat_session)


# --- what expires ---------------------------------------------------------------------------------------------


async def test_sweep_conversation_idle_29_days_kept_31_days_removed(db, no_redis):
    now = utcnow()
    kept = await conversation(db, now=now, messages=2, idle=timedelta(days=29))
    removed = await conversation(db, now=now, messages=3, idle=timedelta(days=31))

    result = await lifecycle.sweep_expired(db, now=now)

    assert result == lifecycle.SweepResult(sessions=1, messages=3)
    assert await remaining_ids(db) == {kept.id}
    assert await message_count(db, kept) == 2
    assert await message_count(db, removed) == 0


async def test_sweep_empty_session_23_hours_kept_25_hours_removed(db, no_redis):
    now = utcnow()
    kept = await conversation(db, now=now, idle=timedelta(hours=23))
    await conversation(db, now=now, idle=timedelta(hours=25))

    result = await lifecycle.sweep_expired(db, now=now)

    assert result == lifecycle.SweepResult(sessions=1, messages=0)
    assert await remaining_ids(db) == {kept.id}


async def test_sweep_conversation_with_messages_created_2_days_ago_kept(db, no_redis):
    now = utcnow()
    kept = await conversation(db, now=now, messages=1, idle=timedelta(hours=1), age=timedelta(days=2))

    result = await lifecycle.sweep_expired(db, now=now)

    assert result == lifecycle.SweepResult(sessions=0, messages=0)
    assert await remaining_ids(db) == {kept.id}


async def test_sweep_removes_exactly_what_find_session_refuses_as_expired(db, no_redis):
    now = utcnow()
    hours = [1, 23, 25, 47, 24 * 29, 24 * 31, 24 * 60]
    sessions = [
        await conversation(db, now=now, messages=count, idle=timedelta(hours=h), age=timedelta(hours=h + extra))
        for h in hours
        for count in (0, 1)
        for extra in (0, 48)
    ]
    expected_kept = {s.id for s in sessions if not chat.is_expired(s, now=now)}

    result = await lifecycle.sweep_expired(db, now=now)

    assert await remaining_ids(db) == expected_kept
    assert result.sessions == len(sessions) - len(expected_kept)
    assert 0 < len(expected_kept) < len(sessions)


async def test_sweep_nothing_expired_changes_nothing(db, no_redis):
    now = utcnow()
    fresh = await conversation(db, now=now, messages=2)

    async with recorded_events() as events:
        result = await lifecycle.sweep_expired(db, now=now)

    assert result == lifecycle.SweepResult(sessions=0, messages=0)
    assert await remaining_ids(db) == {fresh.id}
    assert events == []


# --- batches ----------------------------------------------------------------------------------------------------


async def test_sweep_batches_of_2_remove_all_5_expired_and_leave_the_rest(db, no_redis):
    now = utcnow()
    expired = [await conversation(db, now=now, messages=2, idle=timedelta(days=31)) for _ in range(5)]
    live = [
        await conversation(db, now=now, messages=2, idle=timedelta(days=1)),
        await conversation(db, now=now, idle=timedelta(hours=1), product_id=OTHER_PRODUCT),
    ]
    log = []  # "commit" per transaction, then the conversations each one erased
    original_commit = db.commit

    async def logged_commit():
        await original_commit()
        log.append("commit")

    db.commit = logged_commit

    async with recorded_events() as events:
        publish.add_publisher(log.append)
        try:
            result = await lifecycle.sweep_expired(db, now=now, batch_size=2)
        finally:
            publish.remove_publisher(log.append)

    assert result == lifecycle.SweepResult(sessions=5, messages=10)
    erased_per_transaction = []
    for entry in log:
        if entry == "commit":
            erased_per_transaction.append(0)
        else:
            erased_per_transaction[-1] += 1
    assert erased_per_transaction == [0, 2, 2, 1], "empty sessions: none; idle ones: batches of 2, 2, 1"
    assert len(events) == 5
    assert await remaining_ids(db) == {s.id for s in live}
    assert await message_count(db) == 2
    assert all([await message_count(db, s) == 0 for s in expired])


async def test_sweep_batch_size_defaults_to_the_setting_at_call_time(db, no_redis, monkeypatch):
    now = utcnow()
    for _ in range(3):
        await conversation(db, now=now, idle=timedelta(days=2))
    monkeypatch.setattr(settings, "sweep_batch_size", 1)
    selects = []
    original_exec = db.exec

    async def counting_exec(statement, *args, **kwargs):
        if isinstance(statement, sa.Select):
            selects.append(statement)
        return await original_exec(statement, *args, **kwargs)

    db.exec = counting_exec

    result = await lifecycle.sweep_expired(db, now=now)

    assert result.sessions == 3
    assert len(selects) == 5, "empty sessions: three batches of one, then an empty select; idle ones: one select"


async def test_sweep_events_published_after_each_batch_commits(db, no_redis):
    now = utcnow()
    for _ in range(3):
        await conversation(db, now=now, messages=1, idle=timedelta(days=40))
    seen_in_database_when_published = []

    async with second_session(db) as other:

        async def check_committed(event):
            found = await other.exec(select(ChatSession).where(ChatSession.public_id == event.conversation))
            seen_in_database_when_published.append(found.first() is not None)

        publish.add_publisher(check_committed)
        try:
            await lifecycle.sweep_expired(db, now=now, batch_size=2)
        finally:
            publish.remove_publisher(check_committed)

    assert seen_in_database_when_published == [False, False, False]


# --- events -----------------------------------------------------------------------------------------------------


async def test_sweep_publishes_one_erased_event_per_removed_conversation(db, no_redis):
    now = utcnow()
    removed = [
        await conversation(db, now=now, messages=1, idle=timedelta(days=31)),
        await conversation(db, now=now, idle=timedelta(hours=30), product_id=OTHER_PRODUCT),
        await conversation(db, now=now, messages=4, idle=timedelta(days=90)),
    ]
    await conversation(db, now=now, messages=1, idle=timedelta(days=3))
    expected = sorted((s.public_id, s.product_id) for s in removed)
    secrets = [s.session_id for s in removed]

    async with recorded_events() as events:
        await lifecycle.sweep_expired(db, now=now, batch_size=2)

    assert len(events) == 3
    assert {type(e) for e in events} == {ConversationErased}
    assert sorted((e.conversation, e.product_id) for e in events) == expected
    assert not any(secret in repr(events) for secret in secrets)


# --- one sweeper at a time --------------------------------------------------------------------------------------


async def test_sweep_once_two_at_once_one_runs_other_returns_none(db, no_redis):
    now = utcnow()
    for _ in range(3):
        await conversation(db, now=now, messages=1, idle=timedelta(days=31))

    async with second_session(db) as other:
        results = await asyncio.gather(lifecycle.sweep_once(db, now=now), lifecycle.sweep_once(other, now=now))

    assert sorted(results, key=lambda r: r is None) == [lifecycle.SweepResult(sessions=3, messages=3), None]
    assert await remaining_ids(db) == set()


async def test_sweep_once_while_lock_held_removes_nothing(db, no_redis):
    now = utcnow()
    waiting = await conversation(db, now=now, idle=timedelta(days=2))

    async with lifecycle.sweep_lock() as renew:
        assert renew is not None
        assert await lifecycle.sweep_once(db, now=now) is None
    assert await remaining_ids(db) == {waiting.id}

    assert await lifecycle.sweep_once(db, now=now) == lifecycle.SweepResult(sessions=1, messages=0)


@pytest.mark.services
async def test_sweep_once_with_redis_two_at_once_one_runs_other_returns_none(db, redis_lock):
    now = utcnow()
    for _ in range(2):
        await conversation(db, now=now, messages=2, idle=timedelta(days=31))

    async with second_session(db) as other:
        results = await asyncio.gather(lifecycle.sweep_once(db, now=now), lifecycle.sweep_once(other, now=now))

    assert sorted(results, key=lambda r: r is None) == [lifecycle.SweepResult(sessions=2, messages=4), None]
    assert await redis_lock.get(lifecycle.SWEEP_LOCK_KEY) is None, "the winner released the lock"


@pytest.mark.services
async def test_sweep_once_with_redis_lock_held_elsewhere_returns_none_and_keeps_it(db, redis_lock):
    now = utcnow()
    waiting = await conversation(db, now=now, idle=timedelta(days=2))
    await redis_lock.set(lifecycle.SWEEP_LOCK_KEY, "another-instance", px=60_000)

    result = await lifecycle.sweep_once(db, now=now)

    assert result is None
    assert await remaining_ids(db) == {waiting.id}
    assert await redis_lock.get(lifecycle.SWEEP_LOCK_KEY) == b"another-instance", "never frees another's lock"


@pytest.mark.services
async def test_sweep_once_with_redis_renews_the_lease_between_batches(db, redis_lock, monkeypatch, caplog):
    """A sweep that outlasts the lease keeps the lock: each batch fits in the lease, the three together do not."""
    now = utcnow()
    for _ in range(3):
        await conversation(db, now=now, idle=timedelta(days=2))
    monkeypatch.setattr(lifecycle, "SWEEP_LOCK_TTL_SECS", 1.5)
    batch_secs = 0.6
    held_ms = []  # the lease left after each batch (before any renewal): -2 once the key has expired
    sweep_batch = lifecycle._sweep_batch

    async def slow_batch(*args, **kwargs):
        result = await sweep_batch(*args, **kwargs)
        if result[0]:
            await asyncio.sleep(batch_secs)
            held_ms.append(await redis_lock.pttl(lifecycle.SWEEP_LOCK_KEY))
        return result

    monkeypatch.setattr(lifecycle, "_sweep_batch", slow_batch)
    with caplog.at_level(logging.WARNING, logger=lifecycle.__name__):
        result = await lifecycle.sweep_once(db, now=now, batch_size=1)

    assert result == lifecycle.SweepResult(sessions=3, messages=0)
    assert len(held_ms) == 3 and all(ttl > 0 for ttl in held_ms), f"the lease ran out mid-sweep: {held_ms}"
    assert "lease ran out" not in caplog.text
    assert await redis_lock.get(lifecycle.SWEEP_LOCK_KEY) is None, "released when the sweep ended"


# --- the background sweeper -------------------------------------------------------------------------------------


@pytest.fixture
async def app_database(tmp_path):
    """rxchat.db pointed at a fresh migrated SQLite file, as the served app's sweeper sees it."""
    async with api_database(tmp_path / "app.db"):
        yield


async def test_sweeper_sweeps_every_interval(app_database, no_redis, monkeypatch):
    monkeypatch.setattr(settings, "sweep_interval_seconds", 0.01)
    async with app_db.session() as s:
        now = utcnow()
        await conversation(s, now=now, messages=1, idle=timedelta(days=31))
        kept = await conversation(s, now=now, messages=1)

    task = asyncio.create_task(sweeper.sweep_forever())
    try:
        async with app_db.session() as s:
            for _ in range(500):
                if await remaining_ids(s) == {kept.id}:
                    break
                await asyncio.sleep(0.01)
            assert await remaining_ids(s) == {kept.id}
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_sweeper_failure_logs_the_error_class_only_and_keeps_going(app_database, monkeypatch, caplog):
    monkeypatch.setattr(settings, "sweep_interval_seconds", 0.001)
    secret = "cs_" + "1" * 48
    calls = 0

    async def failing_sweep(_db, **_kwargs):
        nonlocal calls
        calls += 1
        raise sa.exc.OperationalError(f"DELETE ... WHERE session_id = '{secret}'", {}, Exception("locked"))

    monkeypatch.setattr(lifecycle, "sweep_once", failing_sweep)
    caplog.set_level(logging.WARNING, logger="rxchat.sweeper")
    task = asyncio.create_task(sweeper.sweep_forever())
    for _ in range(500):
        if calls >= 3:
            break
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert calls >= 3, "a failed sweep is tried again next interval"
    assert "OperationalError" in caplog.text
    assert secret not in caplog.text


async def test_sweeper_interval_0_is_off(monkeypatch):
    monkeypatch.setattr(settings, "sweep_interval_seconds", 0)

    await asyncio.wait_for(sweeper.sweep_forever(), timeout=1)


# --- adopting the original system's ids -------------------------------------------------------------------------


async def test_adopt_legacy_session_rotates_to_a_strong_id_and_refuses_the_old_one(db):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 3)
    await set_session_id(db, chat_session, LEGACY_ID)
    public_id = chat_session.public_id

    adopted = await lifecycle.adopt_legacy_session(db, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID)

    assert adopted is not None
    assert adopted.id == chat_session.id
    assert SESSION_ID_RE.match(adopted.session_id) and ids.is_valid_session_id(adopted.session_id)
    assert adopted.public_id == public_id
    assert await chat.find_session(db, session_id=LEGACY_ID) is None
    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=LEGACY_ID)
    assert await lifecycle.adopt_legacy_session(db, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID) is None
    found = await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=adopted.session_id)
    page, _next = await chat.list_messages(db, chat=found)
    assert [m.body for m in page] == ["message 3", "message 2", "message 1"]
    stored = (await db.exec(select(ChatSession.session_id).where(ChatSession.id == chat_session.id))).one()
    assert stored == adopted.session_id


async def test_find_session_legacy_id_of_an_existing_row_not_found(db):
    chat_session = await make_session(db)
    await set_session_id(db, chat_session, LEGACY_ID)

    assert await chat.find_session(db, session_id=LEGACY_ID) is None
    with pytest.raises(errors.SessionNotFound):
        await chat.get_session(db, product_id=DEMO_PRODUCT, session_id=LEGACY_ID)


async def test_adopt_legacy_session_unknown_id_none(db):
    await make_session(db)

    assert await lifecycle.adopt_legacy_session(db, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID) is None


@pytest.mark.parametrize("case", ["other product", "strong id", "malformed", "expired", "inactive", "bad product"])
async def test_adopt_legacy_session_refused_cases_none_and_row_untouched(db, case):
    chat_session = await make_session(db)
    await set_session_id(db, chat_session, LEGACY_ID)
    product_id, legacy_id = DEMO_PRODUCT, LEGACY_ID
    if case == "other product":
        product_id = OTHER_PRODUCT
    elif case == "strong id":
        strong = ids.mint_session_id()
        await set_session_id(db, chat_session, strong)
        legacy_id = strong
    elif case == "malformed":
        legacy_id = LEGACY_ID + "'; --"
    elif case == "expired":
        chat_session.created_at = chat_session.last_activity = utcnow() - timedelta(hours=25)
        db.add(chat_session)
        await db.commit()
    elif case == "inactive":
        chat_session.is_active = False
        db.add(chat_session)
        await db.commit()
    elif case == "bad product":
        product_id = "../" + DEMO_PRODUCT
    before = (await db.exec(select(ChatSession.session_id).where(ChatSession.id == chat_session.id))).one()

    assert await lifecycle.adopt_legacy_session(db, product_id=product_id, legacy_id=legacy_id) is None

    after = (await db.exec(select(ChatSession.session_id).where(ChatSession.id == chat_session.id))).one()
    assert after == before


async def test_adopt_legacy_session_two_tabs_at_once_one_gets_it(db):
    chat_session = await make_session(db)
    await set_session_id(db, chat_session, LEGACY_ID)

    async with second_session(db) as other:
        results = await asyncio.gather(
            lifecycle.adopt_legacy_session(db, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID),
            lifecycle.adopt_legacy_session(other, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID),
        )

    adopted = [r for r in results if r is not None]
    assert len(adopted) == 1
    stored = (await db.exec(select(ChatSession.session_id).where(ChatSession.id == chat_session.id))).one()
    assert stored == adopted[0].session_id


async def test_api_legacy_id_is_404_even_when_the_row_exists_and_after_adoption(app_database):
    async with app_db.session() as s:
        chat_session = await make_session(s)
        await make_messages(s, chat_session, 1)
        await set_session_id(s, chat_session, LEGACY_ID)

    async with client_for(served_app()) as client:
        before = [
            await client.get(session_url(LEGACY_ID)),
            await client.get(messages_url(LEGACY_ID)),
            await client.post(messages_url(LEGACY_ID), json={"content": "hello"}),
            await client.delete(session_url(LEGACY_ID)),
        ]
        async with app_db.session() as s:
            adopted = await lifecycle.adopt_legacy_session(s, product_id=DEMO_PRODUCT, legacy_id=LEGACY_ID)
        after_old = await client.get(session_url(LEGACY_ID))
        after_new = await client.get(session_url(adopted.session_id))
        thread = await client.get(messages_url(adopted.session_id))

    for response in before + [after_old]:
        assert_error(response, 404)
    assert after_new.status_code == 200
    assert after_new.json()["session_id"] == adopted.session_id
    assert [m["body"] for m in thread.json()["messages"]] == ["message 1"]


# --- the `sweep` command ----------------------------------------------------------------------------------------


def rxchat_cli(*args: str, db_path, **env: str) -> subprocess.CompletedProcess:
    environment = base_env(REFLEX_DB_URL=f"sqlite:///{db_path}", **env)
    if "REFLEX_REDIS_URL" not in env:
        environment.pop("REFLEX_REDIS_URL", None)
        environment.pop("RXCHAT_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "rxchat", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_sweep_40_days_later_prints_counts_and_exits_0(tmp_path):
    db_path = tmp_path / "cli.db"
    offset_file = tmp_path / "clock-offset"
    offset_file.write_text(str(40 * 24 * 3600))
    async with migrated_database(db_path) as s:
        now = utcnow()
        for _ in range(3):
            await conversation(s, now=now, messages=4)
        kept = await conversation(s, now=now + timedelta(days=39), messages=1)

    first = await asyncio.to_thread(rxchat_cli, "sweep", db_path=db_path, RXCHAT_CLOCK_OFFSET_FILE=str(offset_file))
    second = await asyncio.to_thread(rxchat_cli, "sweep", db_path=db_path, RXCHAT_CLOCK_OFFSET_FILE=str(offset_file))

    assert first.returncode == 0, first.stderr
    assert first.stdout == "Removed 3 expired sessions and 12 messages.\n"
    assert second.returncode == 0, second.stderr
    assert second.stdout == "Removed 0 expired sessions and 0 messages.\n"
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT id FROM product_chat_sessions").fetchall() == [(kept.id,)]
        assert connection.execute("SELECT count(*) FROM product_chat_messages").fetchone() == (1,)


async def test_cli_help_lists_sweep(tmp_path):
    result = await asyncio.to_thread(rxchat_cli, "--help", db_path=tmp_path / "unused.db")

    assert result.returncode == 0
    assert "sweep" in result.stdout


@pytest.mark.services
async def test_cli_sweep_while_another_holds_the_redis_lock_exits_1(tmp_path, redis_lock):
    db_path = tmp_path / "cli.db"
    async with migrated_database(db_path) as s:
        await conversation(s, now=utcnow(), idle=timedelta(days=2))
    await redis_lock.set(lifecycle.SWEEP_LOCK_KEY, "another-instance", px=60_000)

    result = await asyncio.to_thread(rxchat_cli, "sweep", db_path=db_path, REFLEX_REDIS_URL=REDIS_TEST_URL)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "Another sweep is running now; nothing was removed."
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM product_chat_sessions").fetchone() == (1,)
