"""The embedded database's driver (rxchat/sqlite_driver.py): one trip to aiosqlite's thread per
statement, and to SQLAlchemy an ordinary DBAPI (rows, row counts, errors, many rows at once)."""

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from factories import make_session, migrated_database
from rxchat.models import Product
from rxchat.services import chat


@pytest.fixture
async def db(tmp_path):
    async with migrated_database(tmp_path / "chat.db") as session:
        yield session


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


async def test_a_message_is_one_trip_per_statement(db, thread_trips):
    chat_session = await make_session(db)
    thread_trips.clear()

    message, created = await chat.post_message(db, chat=chat_session, author="shopper", body="hi", client_key="k1")

    assert created and message.seq == 1
    # UPDATE ... RETURNING and INSERT ... RETURNING (each opens, runs, fetches and closes its cursor
    # in one trip) and the COMMIT. The pool's reset as the connection goes back has nothing to end.
    assert thread_trips == ["_run", "_run", "commit"]


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
