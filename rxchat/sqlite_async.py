"""SQLite connections for the async engine that cost one trip to their thread per statement.

SQLAlchemy drives SQLite through its aiosqlite dialect. The stock aiosqlite
connection makes a trip to its thread for every step of a statement (open a
cursor, execute, fetch, close: four), and every trip wakes that thread and then
the event loop, which is most of what a statement costs the server. A
`Connection` here is handed to the same dialect through `create_async_engine`'s
public `async_creator` (rxchat/db.py): it runs a statement whole in one trip
(execute, fetch every row, close the cursor) and a commit or rollback in one;
the rows are then read from memory. Each connection has a thread of its own, so
the event loop never waits on SQLite (a writer waiting for the lock waits there).

The names SQLAlchemy's adapter reads on an aiosqlite connection (`_connection`,
`_conn`, `_tx`, `stop`) are provided with their meaning; tests/test_db_write.py
checks the engine against both databases' behaviour.
"""

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def _run_statement(conn: sqlite3.Connection, sql: str, parameters: Any) -> tuple[Any, list[Any], int, int | None]:
    """In the connection's thread: the statement run, all its rows read, its cursor closed."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description is not None else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, sql: str, seq_of_parameters: Iterable[Any]) -> tuple[int, int | None]:
    cursor = conn.cursor()
    try:
        cursor.executemany(sql, seq_of_parameters)
        return cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class Cursor:
    """A cursor whose statement ran whole in one trip; its rows wait in memory."""

    arraysize = 1

    def __init__(self, connection: "Connection") -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> "Cursor":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> "Cursor":
        self.description, self._rows, self.rowcount, self.lastrowid = await self._connection._run(
            _run_statement, self._connection._conn, sql, parameters
        )
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> "Cursor":
        self.description, self._rows = None, []
        self.rowcount, self.lastrowid = await self._connection._run(
            _run_many, self._connection._conn, sql, list(seq_of_parameters)
        )
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class _Requests:
    """What SQLAlchemy's adapter puts a `(future, function)` into to run `function` in the connection's thread
    (it sets the isolation level that way on an aiosqlite connection)."""

    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future, Callable[[], Any]]) -> None:
        future, function = item

        def settle(done: Any) -> None:
            if future.cancelled():
                return
            if (error := done.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result())

        asyncio.wrap_future(self._connection._executor.submit(function), loop=future.get_loop()).add_done_callback(
            settle
        )


class Connection:
    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._executor = executor
        self._connection: sqlite3.Connection | None = conn  # None once closed (SQLAlchemy checks it)
        self._tx = _Requests(self)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in this connection's thread: one trip."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def cursor(self) -> Cursor:
        return Cursor(self)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def commit(self) -> None:
        await self._run(self._conn.commit)

    async def rollback(self) -> None:
        # A connection going back to the pool is rolled back, most often with no transaction open: no trip then.
        if self._conn.in_transaction:
            await self._run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        await self._run(functools.partial(self._conn.create_function, *args, **kwargs))

    async def close(self) -> None:
        if self._connection is None:
            return
        self._connection = None
        try:
            await self._run(self._conn.close)
        finally:
            self._executor.shutdown(wait=False)

    def stop(self) -> None:
        """Close without waiting (a connection SQLAlchemy gave up on, or one collected with no loop)."""
        if self._connection is None:
            return
        self._connection = None
        self._executor.submit(self._conn.close)
        self._executor.shutdown(wait=False)


async def connect(database: str, **kwargs: Any) -> Connection:
    """A connection to the SQLite file `database` (`sqlite3.connect`'s keyword arguments), opened in its thread."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rxchat-sqlite")
    try:
        conn = await asyncio.get_running_loop().run_in_executor(
            executor, functools.partial(sqlite3.connect, database, check_same_thread=False, **kwargs)
        )
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return Connection(conn, executor)
