"""The async engine and sessions every service call runs in, and `run_write` for a hot write.

No handler blocks the event loop on the database: aiosqlite and asyncpg do the
I/O, and `run_write` runs its SQLite work on a thread of its own. SQLite runs in
WAL mode with a busy timeout so readers never block the writer and concurrent
writers wait instead of failing.
"""

import asyncio
import collections
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.settings import settings
from rxchat.sqlite_driver import OneTripDBAPI

SQLITE_BUSY_TIMEOUT_MS = 10_000  # writers wait this long for the lock before failing

_engines: dict[str, AsyncEngine] = {}
_makers: dict[str, async_sessionmaker[AsyncSession]] = {}
T = TypeVar("T")


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
        engine = create_async_engine(url, module=OneTripDBAPI(), connect_args=timeout)
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
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


# --- run_write: a write in one trip ---------------------------------------------------------------------------

WRITER_ENGINES_KEPT = 4  # SQLite files with a writer connection kept open (one in production; tests make many)
_writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rxchat-sqlite-writer")
_writers: "collections.OrderedDict[sa.URL, sa.Engine]" = collections.OrderedDict()  # by the async URL
_writers_lock = threading.Lock()


async def run_write(db: AsyncSession, write: Callable[[sa.Connection], T]) -> T:
    """Run `write(connection)`, plain synchronous SQLAlchemy Core, in one transaction committed when it
    returns (rolled back when it raises).

    On an SQLite file the whole function runs in one trip to the database writer thread, on a
    connection of its own to the same file: a message's statements, their SQLAlchemy work and the
    commit cost one hand-off instead of one per statement, and none of it runs on the event loop
    (bench/README.md). The caller must hold no uncommitted writes of its own on `db` (SQLite would
    make the writer wait for them). Elsewhere it runs on the session's own connection (`run_sync`).
    """
    url = db.bind.url if db.bind is not None else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        engine = _writer_engine(url)
        return await asyncio.get_running_loop().run_in_executor(_writer_thread, _in_transaction, engine, write)
    connection = await db.connection()
    try:
        result = await connection.run_sync(write)
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return result


def _in_transaction(engine: sa.Engine, write: Callable[[sa.Connection], T]) -> T:
    with engine.begin() as connection:
        return write(connection)


def _writer_engine(url: sa.URL) -> sa.Engine:
    """The sync engine writing to the SQLite file of this (aiosqlite) URL; made once per file."""
    with _writers_lock:
        engine = _writers.get(url)
        if engine is None:
            timeout = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
            engine = _writers[url] = sa.create_engine(url.set(drivername="sqlite"), connect_args=timeout)
            sa.event.listen(engine, "connect", _on_sqlite_connect)
            while len(_writers) > WRITER_ENGINES_KEPT:
                _writers.popitem(last=False)[1].dispose()
        _writers.move_to_end(url)
        return engine


async def dispose() -> None:
    for engine in _engines.values():
        await engine.dispose()
    _engines.clear()
    _makers.clear()
    with _writers_lock:
        for engine in _writers.values():
            engine.dispose()
        _writers.clear()
