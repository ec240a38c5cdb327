"""db.run_write on both backends: the embedded SQLite file's writer thread (sqlite3 itself) and
PostgreSQL (SQLAlchemy on the session's connection) store and return the same message and session."""

import secrets
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from factories import make_session, migrated_database, postgres_admin
from rxchat import db as rxchat_db
from rxchat import migrations
from rxchat.models import ChatSession
from rxchat.services import catalog, chat, errors


@asynccontextmanager
async def migrated_postgres():
    name = f"rxchat_write_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    engine = None
    try:
        migrations.upgrade(f"postgresql://postgres@127.0.0.1:5432/{name}")
        engine = rxchat_db.create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
        async with maker() as db:
            await catalog.seed_demo(db)
            yield db
    finally:
        if engine is not None:
            await engine.dispose()
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def db(request, tmp_path):
    database = migrated_database(tmp_path / "chat.db") if request.param == "sqlite" else migrated_postgres()
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
