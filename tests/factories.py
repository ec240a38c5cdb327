"""Factories for tests: databases, conversations, messages and browser records, built through the real code."""

import asyncio
import contextlib
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat import migrations
from rxchat.db import create_engine
from rxchat.models import ChatSession, MessagePublic
from rxchat.services import catalog, chat, publish
from rxchat.services.events import Event

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"  # the machine's PostgreSQL (trust auth)
DEMO_PRODUCT = "aurora-lamp"  # a product of the demo catalog
OTHER_PRODUCT = "summit-backpack"  # another one, for "foreign session" cases


def sqlite_urls(path: Path) -> tuple[str, str]:
    """The sync URL Alembic uses and the async URL the services use, for one SQLite file."""
    return f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}"


@asynccontextmanager
async def migrated_database(path: Path, *, seed: bool = True) -> AsyncIterator[AsyncSession]:
    """A fresh SQLite file at the newest schema (optionally with the demo catalog) and a session on it."""
    sync_url, async_url = sqlite_urls(path)
    migrations.upgrade(sync_url)
    engine = create_engine(async_url)  # the app's own settings and SQLite driver
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
    try:
        async with maker() as db:
            if seed:
                await catalog.seed_demo(db)
            yield db
    finally:
        await engine.dispose()


@asynccontextmanager
async def migrated_postgres(prefix: str = "rxchat_test") -> AsyncIterator[AsyncSession]:
    """A fresh database of its own on the machine's PostgreSQL at the newest schema, with the demo catalog,
    and a session on it; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    engine = None
    try:
        migrations.upgrade(f"postgresql://postgres@127.0.0.1:5432/{name}")
        engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
        async with maker() as db:
            await catalog.seed_demo(db)
            yield db
    finally:
        if engine is not None:
            await engine.dispose()
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_admin(statement: str) -> None:
    """Runs outside a transaction (CREATE/DROP DATABASE); sync, so any test or fixture can call it."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(statement)


@asynccontextmanager
async def second_session(db: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Another connection to the same database, as a second browser tab or worker would have."""
    async with AsyncSession(db.bind, expire_on_commit=False, autoflush=False) as other:
        yield other


async def make_session(db: AsyncSession, *, product_id: str = DEMO_PRODUCT, **fields: Any) -> ChatSession:
    return await chat.create_session(db, product_id=product_id, **fields)


async def make_messages(
    db: AsyncSession, chat_session: ChatSession, count: int, *, author: str = "shopper"
) -> list[MessagePublic]:
    """`count` messages "message 1".."message N", posted in order."""
    posted = []
    for n in range(1, count + 1):
        message, _created = await chat.post_message(db, chat=chat_session, author=author, body=f"message {n}")
        posted.append(message)
    return posted


@asynccontextmanager
async def recorded_events() -> AsyncIterator[list[Event]]:
    """Every event the services publish while the block runs, in order."""
    events: list[Event] = []
    publish.add_publisher(events.append)
    try:
        yield events
    finally:
        publish.remove_publisher(events.append)


def insert_legacy_conversation(database: Path, *, legacy_id: str, product_id: str, body: str) -> None:
    """A conversation adopted from the original system's database, still under its old id, with one shopper
    message: written straight into a served app's SQLite file, as the adopting migration left it."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLite stores UTC times here
    with sqlite3.connect(database) as db:
        cursor = db.execute(
            "INSERT INTO product_chat_sessions (session_id, public_id, product_id, created_at, last_activity,"
            " is_active, status, message_count, last_seq, agent_read_seq, shopper_seen_seq)"
            " VALUES (?, ?, ?, ?, ?, 1, 'open', 1, 1, 0, 0)",
            (legacy_id, secrets.token_hex(8), product_id, now, now),
        )
        db.execute(
            "INSERT INTO product_chat_messages (session_id, seq, author, body, created_at)"
            " VALUES (?, 1, 'shopper', ?, ?)",
            (cursor.lastrowid, body, now),
        )


def browser_record(product_sessions: Any = None, *, global_id: str = "v" + "0" * 32, **extra: Any) -> str:
    """A `chat_session_data` value as a browser would hold it."""
    data = {"globalSessionId": global_id, "productSessions": product_sessions or {}, "userPreferences": {}}
    data.update(extra)
    return json.dumps(data)


LOCKSTEP_WAIT_SECS = 5.0  # how long a writer waits at the barrier for the others before the test fails


@contextlib.contextmanager
def lockstep_writes(module: Any, writers: int = 2) -> Iterator[None]:
    """Hold the first `writers` calls of `module.run_write` until all of them have arrived, then let them go
    together: every writer has read whatever it reads before any of them writes, as when two tabs (or a
    shopper and an agent) send at the same moment. A writer that waits in vain fails with AssertionError,
    so a test that means to force the race cannot pass without forcing it.
    """
    original = module.run_write
    arrived = 0
    all_arrived = asyncio.Event()

    async def run_write(db: AsyncSession, write: Any) -> Any:
        nonlocal arrived
        if not all_arrived.is_set():
            arrived += 1
            if arrived == writers:
                all_arrived.set()
            try:
                await asyncio.wait_for(all_arrived.wait(), LOCKSTEP_WAIT_SECS)
            except TimeoutError:
                raise AssertionError(f"{arrived} of {writers} writers reached the write: no race forced") from None
        return await original(db, write)

    module.run_write = run_write
    try:
        yield
    finally:
        module.run_write = original
