"""The async engine and sessions every service call runs in.

No handler blocks the event loop on the database: aiosqlite and asyncpg do the
I/O. SQLite runs in WAL mode with a busy timeout so readers never block the
writer and concurrent writers wait instead of failing.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat import sqlite_driver
from rxchat.settings import settings

SQLITE_BUSY_TIMEOUT_MS = 10_000  # writers wait this long for the lock before failing

_engines: dict[str, AsyncEngine] = {}
_makers: dict[str, async_sessionmaker[AsyncSession]] = {}


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts and loses nothing when a process dies; only a
    # power cut can drop the last commits. FULL fsyncs every message (~5 ms here).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """A new engine with the app's connection settings (tests make their own databases with it)."""
    if url.startswith("sqlite"):
        timeout = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_async_engine(url, module=sqlite_driver.OneTripDBAPI(), connect_args=timeout)
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        sqlite_driver.install(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str | None = None) -> AsyncEngine:
    """The process's shared engine for `url` (the configured database by default)."""
    url = url or settings.async_db_url
    if url not in _engines:
        engine = _engines[url] = create_engine(url)
        _makers[url] = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
    return _engines[url]


@asynccontextmanager
async def session() -> AsyncIterator[AsyncSession]:
    """An async database session; the caller commits."""
    get_engine()
    async with _makers[settings.async_db_url]() as db:
        yield db


async def dispose() -> None:
    for engine in _engines.values():
        await engine.dispose()
    _engines.clear()
    _makers.clear()
