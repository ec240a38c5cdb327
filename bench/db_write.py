"""What storing one shopper message costs in the database layer alone, in this process.

A fresh SQLite file (migrated, demo catalog), one conversation, then `--messages`
times each way of storing a shopper message, alternating, each in its own
database session (opened and closed included):
- the widget's: `chat.post_shopper_message`, whose UPDATE checks the session;
- the HTTP API's: `chat.get_session`, then `chat.post_message`.
Prints p50/p90 of each and the trips to aiosqlite's thread they took (every
statement, the write's through `rxchat.db.run_write` included, and the commit);
each trip waits for that thread and then the event loop to wake, which is what
costs on a busy machine. No server, no browser. (The count hooks aiosqlite's
private `Connection._execute`, here only; rxchat itself uses the stock driver.)

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
    return parser.parse_args(argv)


async def measure(messages: int) -> None:
    import aiosqlite

    from factories import make_session, migrated_database
    from rxchat.services import chat

    trips = 0
    hand_over = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        nonlocal trips
        trips += 1
        return await hand_over(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted
    with tempfile.TemporaryDirectory() as workdir:
        async with migrated_database(Path(workdir) / "bench.db") as db:
            conversation = await make_session(db)
            maker = db.bind
            timings: dict[str, list[float]] = {"post_shopper_message": [], "get_session + post_message": []}
            counts: dict[str, int] = {}
            from sqlmodel.ext.asyncio.session import AsyncSession

            def timed(name: str, started: float, trips_before: int) -> None:
                timings[name].append((time.perf_counter() - started) * 1000)
                counts[name] = trips - trips_before

            for n in range(messages):
                started, trips_before = time.perf_counter(), trips
                async with AsyncSession(maker, expire_on_commit=False, autoflush=False) as s:
                    await chat.post_shopper_message(
                        s,
                        product_id=conversation.product_id,
                        session_id=conversation.session_id,
                        body=f"bench {n}",
                        client_key=f"w{n}",
                    )
                timed("post_shopper_message", started, trips_before)
                started, trips_before = time.perf_counter(), trips
                async with AsyncSession(maker, expire_on_commit=False, autoflush=False) as s:
                    found = await chat.get_session(
                        s, product_id=conversation.product_id, session_id=conversation.session_id
                    )
                    await chat.post_message(s, chat=found, author="shopper", body=f"bench {n}", client_key=f"a{n}")
                timed("get_session + post_message", started, trips_before)
    aiosqlite.Connection._execute = hand_over
    print(f"the database part of one shopper message, {messages} messages, SQLite, in process:")
    for name, values in timings.items():
        values.sort()
        p50, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
        print(f"  {name:<26} p50 {p50:5.2f} ms  p90 {p90:5.2f} ms  {counts[name]} trips to aiosqlite's thread")


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RXCHAT_MESSAGES_PER_MINUTE", "0")  # a benchmark, not a flood
    asyncio.run(measure(args.messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
