"""The async engine and sessions every service call runs in, and `run_write`, the one write path.

Both databases go through SQLAlchemy's async dialects (aiosqlite, asyncpg), so no
handler blocks the event loop on the database. PostgreSQL uses the stock asyncpg
driver; SQLite's connections are rxchat/sqlite_async.py's, which run a statement
in one trip to their thread (the stock aiosqlite connection makes four). SQLite
runs in WAL mode with a busy timeout so readers never block the writer and
concurrent writers wait instead of failing.
"""

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat import sqlite_async
from rxchat.settings import settings

SQLITE_BUSY_TIMEOUT_MS = 10_000  # writers wait this long for the lock before failing

# What a database that cannot be reached raises (refused, dropped, timed out), for callers that then say so
# instead of failing with a traceback; the typed text is theirs to keep.
UNAVAILABLE: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError, OSError, TimeoutError)
# A connection attempt to a database that does not answer gives up after this, not the driver's 60 s.
CONNECT_TIMEOUT_SECS = 5

_engines: dict[str, AsyncEngine] = {}
_makers: dict[str, async_sessionmaker[AsyncSession]] = {}
T = TypeVar("T")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
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
        database = sa.engine.make_url(url).database or ":memory:"
        engine = create_async_engine(
            url,
            async_creator=functools.partial(sqlite_async.connect, database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000),
        )
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"timeout": CONNECT_TIMEOUT_SECS}
    )


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


# --- run_write: a write in one transaction, on either database ---------------------------------------------------

FirstRow = Callable[[sa.Executable, dict[str, Any]], dict[str, Any] | None]  # a statement's first row, or None


class UncommittedWrites(RuntimeError):
    """`run_write` was given a session holding writes of its own, which its commit (or rollback) would take along."""


async def run_write(db: AsyncSession, write: Callable[[FirstRow], T]) -> T:
    """Run `write(first_row)` in one transaction on the session's own connection (`run_sync`), and commit
    the session when it returns (roll it back when it raises). `first_row(statement, params)` executes a
    Core statement (with RETURNING) and gives its first row as a dict of column values; errors are
    SQLAlchemy's. The same code runs on SQLite and PostgreSQL.

    The session may have read (the write joins its transaction) but must hold no writes of its own:
    unflushed changes, or INSERT/UPDATE/DELETE run through it since its transaction began, would be
    committed with this write, or rolled back with it. Those raise UncommittedWrites before anything
    runs. (A write the caller runs on `await db.connection()` directly is not seen; don't.)
    """
    if db.new or db.deleted or any(db.is_modified(instance) for instance in db.dirty):
        raise UncommittedWrites("run_write: the session has unflushed changes; commit or roll them back first")
    if db.info.get(_WROTE):
        raise UncommittedWrites("run_write: the session's transaction holds writes; commit or roll them back first")
    connection = await db.connection()
    try:
        result = await connection.run_sync(lambda sync: write(functools.partial(_first_row, sync)))
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return result


def _first_row(connection: sa.Connection, statement: sa.Executable, params: dict[str, Any]) -> dict[str, Any] | None:
    row = connection.execute(statement, params).mappings().first()
    return dict(row) if row is not None else None


# Which sessions hold writes: marked in the session's `info` when a flush or a Core INSERT/UPDATE/DELETE
# goes through it, cleared when its transaction ends (commit, rollback, close). Every Session in the
# process carries these listeners; they only set and clear this key.
_WROTE = "rxchat.db.wrote"


@sa.event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: Any) -> None:
    session.info[_WROTE] = True


@sa.event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@sa.event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's own transaction, not a savepoint inside it
        session.info.pop(_WROTE, None)
