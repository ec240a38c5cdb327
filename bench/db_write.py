"""What storing one shopper message costs in the database layer alone, in this process.

A fresh SQLite file (migrated, demo catalog), one conversation, then `--messages`
times each way of storing a shopper message, alternating, each in its own
database session (opened and closed included):
- the widget's: `chat.post_shopper_message`, whose UPDATE checks the session;
- the HTTP API's: `chat.get_session`, then `chat.post_message`.
Prints p50/p90 of each and the trips to the SQLite connection's thread they took
(rxchat/sqlite_async.py: one per statement, the write's through `rxchat.db.run_write`
included, and one per commit); each trip waits for that thread and then the event
loop to wake, which is what costs on a busy machine. No server, no browser.
`--stock` measures the stock aiosqlite connection instead (four trips a statement).

Run: `python bench/db_write.py` (a few seconds).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time get_session + post_message on a fresh SQLite database.")
    parser.add_argument("--messages", type=int, default=300, help="messages stored (default 300)")
    parser.add_argument("--stock", action="store_true", help="use the stock aiosqlite connection (for comparison)")
    return parser.parse_args(argv)


async def measure(messages: int, stock: bool) -> None:
    import aiosqlite
    from sqlalchemy.ext import asyncio as sa_asyncio

    from factories import make_session, migrated_database
    from rxchat import db as rxchat_db
    from rxchat import sqlite_async
    from rxchat.services import chat

    trips = 0
    # Each connection's trips to its thread: the stock driver's private `_execute`, or ours, counted here only.
    owner, name = (aiosqlite.Connection, "_execute") if stock else (sqlite_async.Connection, "_run")
    hand_over = getattr(owner, name)

    async def counted(self, fn, *args, **kwargs):
        nonlocal trips
        trips += 1
        return await hand_over(self, fn, *args, **kwargs)

    setattr(owner, name, counted)
    if stock:  # the engine as SQLAlchemy makes it by default: the stock aiosqlite connection
        plain = sa_asyncio.create_async_engine
        rxchat_db.create_async_engine = lambda url, async_creator=None, **kw: plain(
            url, connect_args={"timeout": rxchat_db.SQLITE_BUSY_TIMEOUT_MS / 1000}, **kw
        )
    with tempfile.TemporaryDirectory() as workdir:
        async with migrated_database(Path(workdir) / "bench.db") as db:
            conversation = await make_session(db)
            maker = db.bind
            timings: dict[str, list[float]] = {"post_shopper_message": [], "get_session + post_message": []}
            counts: dict[str, int] = {}
            cpu: dict[str, float] = {name: 0.0 for name in timings}  # process CPU (every thread), seconds
            from sqlmodel.ext.asyncio.session import AsyncSession

            def timed(name: str, started: float, trips_before: int, cpu_before: float) -> None:
                timings[name].append((time.perf_counter() - started) * 1000)
                counts[name] = trips - trips_before
                cpu[name] += time.process_time() - cpu_before

            for n in range(messages):
                started, trips_before, cpu_before = time.perf_counter(), trips, time.process_time()
                async with AsyncSession(maker, expire_on_commit=False, autoflush=False) as s:
                    await chat.post_shopper_message(
                        s,
                        product_id=conversation.product_id,
                        session_id=conversation.session_id,
                        body=f"bench {n}",
                        client_key=f"w{n}",
                    )
                timed("post_shopper_message", started, trips_before, cpu_before)
                started, trips_before, cpu_before = time.perf_counter(), trips, time.process_time()
                async with AsyncSession(maker, expire_on_commit=False, autoflush=False) as s:
                    found = await chat.get_session(
                        s, product_id=conversation.product_id, session_id=conversation.session_id
                    )
                    await chat.post_message(s, chat=found, author="shopper", body=f"bench {n}", client_key=f"a{n}")
                timed("get_session + post_message", started, trips_before, cpu_before)
    setattr(owner, name, hand_over)
    driver = "the stock aiosqlite connection" if stock else "rxchat.sqlite_async"
    print(f"the database part of one shopper message, {messages} messages, SQLite ({driver}), in process:")
    for name, values in timings.items():
        values.sort()
        p50, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
        print(
            f"  {name:<26} p50 {p50:5.2f} ms  p90 {p90:5.2f} ms  CPU {cpu[name] * 1000 / len(values):5.2f} ms  "
            f"{counts[name]} trips to the connection's thread"
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RXCHAT_MESSAGES_PER_MINUTE", "0")  # a benchmark, not a flood
    asyncio.run(measure(args.messages, args.stock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
