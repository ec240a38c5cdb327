"""aiosqlite with one trip to its thread per statement, for the embedded default database.

aiosqlite runs every call on a worker thread, and SQLAlchemy's adapter makes
four trips for one statement (open cursor, execute, fetch, close). Each trip
waits for the event loop to wake, so on a busy 2-core machine a message's
handful of statements cost several milliseconds of hand-offs (bench/README.md).
Here a statement opens, executes, fetches and closes its cursor in a single
trip; SQLAlchemy then reads a snapshot of what it needs from the cursor.
The statement's trip also reports whether it left a transaction open, so a
commit or rollback with nothing to end (the pool's reset after every session,
or a session that only read) costs no trip at all.
Pass `module=OneTripDBAPI()` to `create_async_engine` for a `sqlite+aiosqlite` URL.

It builds on aiosqlite's `_execute`/`_conn` and SQLAlchemy's aiosqlite adapter
classes, at the versions pinned in requirements.txt; tests/test_sqlite_driver.py
checks the trip counts and that rows, row counts and errors still come through.
"""

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class _Ran:
    """What SQLAlchemy reads from a cursor after its statement ran."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, cursor: sqlite3.Cursor | None = None) -> None:
        self.description = cursor.description if cursor else None
        self.rowcount = cursor.rowcount if cursor else -1
        self.lastrowid = cursor.lastrowid if cursor else None
        self.arraysize = cursor.arraysize if cursor else 1

    def close(self) -> None:
        """The sqlite3 cursor was closed on the worker thread already."""


def _run(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool
) -> tuple[_Ran, list | None, bool]:
    """On aiosqlite's thread: the whole life of one cursor, and whether a transaction is open after it."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return _Ran(cursor), rows, connection._conn.in_transaction
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # nothing is left open to close

    def _make_new_cursor(self, connection: Any) -> None:
        return None  # made on the worker thread, per statement

    def _aenter_cursor(self, cursor: Any) -> _Ran:
        return _Ran()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            adapted._maybe_in_transaction = True  # until the statement says otherwise (it may fail)
            ran, rows, in_transaction = await self._connection._execute(
                _run, self._connection, operation, parameters, many
            )
            adapted._maybe_in_transaction = in_transaction
        self._cursor = ran
        self._rows = collections.deque(rows or ())


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_maybe_in_transaction",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._maybe_in_transaction = True

    def rollback(self) -> None:
        if self._maybe_in_transaction:
            super().rollback()
            self._maybe_in_transaction = False

    def commit(self) -> None:
        if self._maybe_in_transaction:
            super().commit()
            self._maybe_in_transaction = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *args: Any, **kwargs: Any) -> _OneTripConnection:
        adapted = super().connect(*args, **kwargs)
        return _OneTripConnection(self, adapted._connection)
