"""db.run_write, the one write path, on both backends (SQLite through SQLAlchemy's aiosqlite dialect on
rxchat.sqlite_async's connections, PostgreSQL through asyncpg; SQLAlchemy on the session's connection for
both): the same message and session stored and returned, and a session holding writes of its own refused."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from factories import make_session, migrated_database, migrated_postgres, second_session
from rxchat import db as rxchat_db
from rxchat.models import ChatSession
from rxchat.services import chat, errors


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def db(request, tmp_path):
    database = (
        migrated_database(tmp_path / "chat.db") if request.param == "sqlite" else migrated_postgres("rxchat_write")
    )
    async with database as session:
        yield session


async def test_a_message_comes_back_as_it_was_stored(db):
    started = await make_session(db)

    chat_session, message, created = await chat.post_shopper_message(
        db, product_id=started.product_id, session_id=started.session_id, body="Is it waterproof?", client_key="k1"
    )

    assert created and message.seq == 1 and message.body == "Is it waterproof?"
    stored = (await db.exec(ChatSession.__table__.select().where(ChatSession.id == started.id))).one()
    # What the write returned is what any other reader sees: counters, flags and times, converted alike.
    for name in ("id", "session_id", "public_id", "status", "message_count", "last_seq", "is_active"):
        assert getattr(chat_session, name) == getattr(stored, name)
    assert chat_session.is_active is True and chat_session.message_count == 1
    assert isinstance(chat_session.last_activity, datetime)
    assert chat_session.last_activity.replace(tzinfo=None) == stored.last_activity.replace(tzinfo=None)
    assert chat_session.last_activity >= chat_session.created_at
    page, _ = await chat.list_messages(db, chat=chat_session)
    assert [(m.id, m.seq, m.body, m.created_at) for m in page] == [
        (message.id, 1, "Is it waterproof?", message.created_at)
    ]


async def test_a_refused_write_stores_nothing_and_the_next_one_goes_on(db):
    started = await make_session(db)
    find = {"product_id": started.product_id, "session_id": started.session_id}
    await chat.post_shopper_message(db, **find, body="first", client_key="same")

    _, again, created = await chat.post_shopper_message(db, **find, body="first", client_key="same")
    with pytest.raises(errors.SessionNotFound):
        await chat.post_shopper_message(db, product_id="summit-backpack", session_id=started.session_id, body="x")
    after, third, _ = await chat.post_shopper_message(db, **find, body="second", client_key="other")

    # The retried key failed its INSERT and the counting UPDATE was rolled back with it; the session
    # under another product counted nothing; the next message takes the next seq.
    assert not created and again.seq == 1
    assert third.seq == 2 and after.message_count == 2
    page, _ = await chat.list_messages(db, chat=after)
    assert [m.body for m in page] == ["second", "first"]


async def test_a_session_that_only_read_may_write(db):
    started = await make_session(db)
    found = await chat.get_session(db, product_id=started.product_id, session_id=started.session_id)
    assert db.in_transaction()  # the read's transaction is still open; the write joins it

    message, created = await chat.post_message(db, chat=found, author="shopper", body="after a read")

    assert created and message.seq == 1 and not db.in_transaction()
    async with second_session(db) as other:
        stored, _ = await chat.list_messages(other, chat=found)
    assert [m.body for m in stored] == ["after a read"]


async def test_a_session_holding_its_own_writes_is_refused_before_anything_runs(db):
    started = await make_session(db)
    chat_id, visitor_id = started.id, started.visitor_id  # (a rollback expires `started`)
    sessions = ChatSession.__table__
    ran = []

    close = sa.update(sessions).where(sessions.c.id == chat_id).values(status="closed").returning(sessions.c.status)

    def write(first_row):
        ran.append(True)
        return first_row(close, {})

    # An unflushed change of a loaded row, a flushed one, and a Core UPDATE through the session.
    started.customer_name = "Unsaved"
    with pytest.raises(rxchat_db.UncommittedWrites, match="unflushed"):
        await rxchat_db.run_write(db, write)
    await db.flush()
    with pytest.raises(rxchat_db.UncommittedWrites, match="holds writes"):
        await rxchat_db.run_write(db, write)
    await db.rollback()
    await db.exec(sa.update(sessions).where(sessions.c.id == chat_id).values(visitor_id="v-unsaved"))
    with pytest.raises(rxchat_db.UncommittedWrites, match="holds writes"):
        await rxchat_db.run_write(db, write)
    await db.rollback()

    # Refused before it ran: nothing of the caller's was committed by it, and once the caller's transaction
    # is over the same write goes through.
    assert ran == []
    await rxchat_db.run_write(db, write)
    async with second_session(db) as other:
        stored = (await other.exec(sa.select(sessions).where(sessions.c.id == chat_id))).one()
    assert (stored.status, stored.customer_name, stored.visitor_id) == ("closed", None, visitor_id)
    assert ran == [True]


async def test_sqlite_runs_each_statement_in_one_trip_to_its_connections_thread(tmp_path, monkeypatch):
    """SQLAlchemy's own aiosqlite dialect, on rxchat.sqlite_async's connections: a statement (rows included) and
    a commit cost one trip each to the connection's thread, and the event loop's thread never runs SQLite."""
    import threading

    from rxchat import sqlite_async

    trips: list[str] = []
    hand_over = sqlite_async.Connection._run

    async def counted(self, fn, *args):
        def traced(*a):
            trips.append(threading.current_thread().name)
            return fn(*a)

        return await hand_over(self, traced, *args)

    monkeypatch.setattr(sqlite_async.Connection, "_run", counted)
    async with migrated_database(tmp_path / "chat.db") as db:
        dialect = db.bind.dialect
        assert (dialect.name, dialect.driver) == ("sqlite", "aiosqlite")
        assert type(dialect.loaded_dbapi).__module__ == "sqlalchemy.dialects.sqlite.aiosqlite"
        raw = (await (await db.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, sqlite_async.Connection)
        assert raw._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # the app's settings applied
        conversation = await make_session(db)
        await db.commit()
        trips.clear()
        _chat, message, _new = await chat.post_shopper_message(
            db, product_id=conversation.product_id, session_id=conversation.session_id, body="one trip each"
        )
        assert message.body == "one trip each"
        # UPDATE ... RETURNING, INSERT ... RETURNING, COMMIT, each in the connection's own thread; no rollback for
        # a connection going back to the pool with no transaction open (the stock connection made 10 trips).
        assert len(trips) == 3 and all(name.startswith("rxchat-sqlite") for name in trips), trips
        rows = (await db.exec(sa.text("SELECT seq FROM product_chat_messages ORDER BY seq"))).all()
        assert [row.seq for row in rows] == [1]
