"""The embedded database's driver (rxchat/sqlite_driver.py): one trip to aiosqlite's thread per
statement, and to SQLAlchemy an ordinary DBAPI (rows, row counts, errors, many rows at once)."""

import threading

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from factories import make_session, migrated_database
from rxchat import db as rxchat_db
from rxchat.models import Product
from rxchat.services import chat


@pytest.fixture
def thread_trips(monkeypatch) -> list[str]:
    """The calls the event loop hands to aiosqlite's thread (the real ones, counted on the way)."""
    trips: list[str] = []
    hand_over = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await hand_over(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_a_message_is_one_trip_to_the_writer_thread(db, thread_trips, monkeypatch):
    chat_session = await make_session(db)
    thread_trips.clear()
    writes = []
    write_to_sqlite = rxchat_db._write_to_sqlite

    def counted(url, write):
        writes.append(threading.current_thread().name)
        return write_to_sqlite(url, write)

    monkeypatch.setattr(rxchat_db, "_write_to_sqlite", counted)

    message, created = await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k1")

    assert created and message.seq == 1 and chat_session.last_seq == 1
    # UPDATE ... RETURNING, INSERT ... RETURNING and the COMMIT, with SQLAlchemy's work for them, in one
    # hand-off to the writer thread; nothing goes through aiosqlite's thread or runs on the event loop.
    assert len(writes) == 1 and writes[0].startswith("rxchat-sqlite-writer")
    assert thread_trips == []


async def test_a_message_from_the_writer_connection_is_stored_for_every_connection(tmp_path):
    async with migrated_database(tmp_path / "chat.db") as db:
        chat_session = await make_session(db)
        await chat.post_message(db, chat=chat_session, author="shopper", body="kept", client_key="k1")

        async with AsyncSession(db.bind) as other:
            stored, _ = await chat.list_messages(other, chat=chat_session)

    assert [m.body for m in stored] == ["kept"]


async def test_a_failed_statement_commits_nothing_of_its_transaction(db):
    chat_session = await make_session(db)
    await chat.post_message(db, chat=chat_session, author="shopper", body="first", client_key="same")

    again, created = await chat.post_message(db, chat=chat_session, author="shopper", body="first", client_key="same")

    # The retried key failed the INSERT, before the commit: the counting UPDATE was rolled back with it.
    assert not created and again.seq == 1
    await db.refresh(chat_session)
    assert chat_session.last_seq == 1 and chat_session.message_count == 1


async def test_a_lookup_is_one_trip(db, thread_trips):
    chat_session = await make_session(db)
    thread_trips.clear()

    found = await chat.find_session(db, session_id=chat_session.session_id)

    assert found is not None and found.public_id == chat_session.public_id
    assert thread_trips == ["_run"]


async def test_ending_a_session_that_only_read_costs_no_trip(tmp_path, thread_trips):
    async with migrated_database(tmp_path / "chat.db") as db:
        chat_session = await make_session(db)
        thread_trips.clear()
        await chat.find_session(db, session_id=chat_session.session_id)
        await db.commit()
        await db.close()

        assert thread_trips == ["_run"]


async def test_a_write_left_open_is_still_rolled_back(tmp_path):
    async with migrated_database(tmp_path / "chat.db") as db:
        await db.exec(sa.update(Product.__table__).where(Product.id == "aurora-lamp").values(name="Unsaved"))
        await db.close()  # no commit: the pool's reset must end the transaction
        assert (await chat.get_product(db, product_id="aurora-lamp")).name != "Unsaved"


async def test_row_counts_and_many_rows_at_once(db):
    rows = [{"id": f"extra-{n}", "name": f"Extra {n}", "price_cents": 100 + n} for n in range(3)]
    await db.exec(sa.insert(Product.__table__), params=rows)

    renamed = await db.exec(sa.update(Product.__table__).where(Product.id.like("extra-%")).values(name="Renamed"))

    assert renamed.rowcount == 3
    names = (await db.exec(sa.select(Product.name).where(Product.id.like("extra-%")))).scalars().all()
    assert names == ["Renamed"] * 3


async def test_a_constraint_error_reaches_the_caller_and_the_session_goes_on(db):
    with pytest.raises(IntegrityError):
        await db.exec(sa.insert(Product.__table__).values(id="aurora-lamp", name="Twin", price_cents=1))
    await db.rollback()

    assert (await chat.get_product(db, product_id="aurora-lamp")).name != "Twin"
