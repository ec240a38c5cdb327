"""The async engine and sessions every service call runs in, and `run_write` for a hot write.

No handler blocks the event loop on the database: aiosqlite and asyncpg do the
I/O, and `run_write` runs its SQLite work on a thread of its own. SQLite runs in
WAL mode with a busy timeout so readers never block the writer and concurrent
writers wait instead of failing.
"""

import asyncio
import collections
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import pysqlite
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

FirstRow = Callable[[sa.Executable, dict], dict | None]  # runs a statement; its first row by column name, or None
_REQUIRED = object()
WRITERS_KEPT = 4  # SQLite files with a writer connection kept open (one in production; tests make many)
_writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rxchat-sqlite-writer")
_writers: "collections.OrderedDict[sa.URL, _SqliteWriter]" = collections.OrderedDict()  # writer thread only


async def run_write(db: AsyncSession, write: Callable[[FirstRow], T]) -> T:
    """Run `write(first_row)` in one transaction, committed when it returns (rolled back when it raises).
    `first_row(statement, params)` runs a Core statement (with RETURNING) and gives its first row as a
    dict of column values, converted by the columns' types as SQLAlchemy would; errors are SQLAlchemy's.

    On an SQLite file the whole function runs in one trip to the database writer thread, on a
    connection of its own to the same file, through the sqlite3 module itself: a message's
    statements and the commit cost one hand-off, none of it runs on the event loop, and no
    per-statement SQLAlchemy work is left but converting the values (bench/README.md). The caller
    must hold no uncommitted writes of its own on `db` (SQLite would make the writer wait for them).
    Elsewhere it runs on the session's own connection (`run_sync`).
    """
    url = db.bind.url if db.bind is not None else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return await asyncio.get_running_loop().run_in_executor(_writer_thread, _write_to_sqlite, url, write)
    connection = await db.connection()
    try:
        result = await connection.run_sync(lambda sync: write(functools.partial(_first_row, sync)))
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return result


def _first_row(connection: sa.Connection, statement: sa.Executable, params: dict) -> dict | None:
    row = connection.execute(statement, params).mappings().first()
    return dict(row) if row is not None else None


def _write_to_sqlite(url: sa.URL, write: Callable[[FirstRow], T]) -> T:
    """On the writer thread: `write` in one transaction on this file's writer connection."""
    writer = _writers.get(url)
    if writer is None:
        writer = _writers[url] = _SqliteWriter(url.database)
        while len(_writers) > WRITERS_KEPT:
            _writers.popitem(last=False)[1].close()
    _writers.move_to_end(url)
    return writer.transaction(write)


class _SqliteWriter:
    """The writer thread's connection to one SQLite file, and the statements it has compiled.

    A statement is compiled once per set of parameter names, as SQLAlchemy itself would compile it
    for those parameters; its values then go through the columns' own bind and result conversions.
    """

    _dialect = pysqlite.dialect(dbapi=sqlite3)

    def __init__(self, path: str) -> None:
        # Autocommit mode: the transaction is ours (BEGIN IMMEDIATE takes the write lock up front).
        self._connection = sqlite3.connect(
            path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        _on_sqlite_connect(self._connection, None)
        self._compiled: dict[tuple, _Compiled] = {}

    def transaction(self, write: Callable[[FirstRow], T]) -> T:
        try:
            self._run("BEGIN IMMEDIATE")
            result = write(self.first_row)
            self._run("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                self._connection.rollback()
            raise
        return result

    def first_row(self, statement: sa.Executable, params: dict) -> dict | None:
        key = (statement, tuple(sorted(params)))
        if (compiled := self._compiled.get(key)) is None:
            compiled = self._compiled[key] = _Compiled(statement, key[1], self._dialect)
        cursor, row = self._run(compiled.sql, compiled.arguments(params))
        return compiled.row(cursor.description, row) if row is not None else None

    def _run(self, sql: str, arguments: list | None = None) -> tuple[sqlite3.Cursor, tuple | None]:
        """Run one statement; sqlite3's errors come out as SQLAlchemy's, as from any other session."""
        try:
            cursor = self._connection.execute(sql, arguments or ())
            return cursor, cursor.fetchone()
        except sqlite3.Error as error:
            raise sa.exc.DBAPIError.instance(sql, arguments, error, sqlite3.Error) from error

    def close(self) -> None:
        self._connection.close()


class _Compiled:
    """One statement's SQL for SQLite, the order of its parameters and how each value is converted."""

    def __init__(self, statement: sa.Executable, names: tuple[str, ...], dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        self.sql = compiled.string
        # (name, the value of a literal such as the 1 of `last_seq + 1`, the type's conversion)
        self._parameters = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            fixed = _REQUIRED if bind.required else bind.effective_value
            self._parameters.append((name, fixed, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self._results = {
            column.name: column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.table.columns
        }

    def arguments(self, params: dict) -> list:
        arguments = []
        for name, fixed, convert in self._parameters:
            value = params.get(name, fixed)
            if value is _REQUIRED:
                raise sa.exc.ArgumentError(f"A value is required for bind parameter {name!r}")
            arguments.append(convert(value) if convert is not None else value)
        return arguments

    def row(self, description: tuple, values: tuple) -> dict:
        row = {}
        for (name, *_), value in zip(description, values, strict=True):
            convert = self._results.get(name)
            row[name] = convert(value) if convert is not None and value is not None else value
        return row


async def dispose() -> None:
    for engine in _engines.values():
        await engine.dispose()
    _engines.clear()
    _makers.clear()
    await asyncio.get_running_loop().run_in_executor(_writer_thread, _close_writers)


def _close_writers() -> None:
    while _writers:
        _writers.popitem()[1].close()
