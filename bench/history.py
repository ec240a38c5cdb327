"""A 10,000-message conversation: server time to its first page and paging back, rxchat beside plain SQL.

Run in a process of its own on a migrated SQLite file (bench/run.py does it):
`REFLEX_DB_URL=sqlite:///x.db python bench/history.py` prints one JSON object. The conversation is written
with plain SQL (fast); then rxchat's own service (`chat.list_messages`, what a widget or console runs
to show a thread) reads the newest page 30 times and pages back to the first message, and the baseline's
query (`WHERE session_id = ? ORDER BY seq DESC LIMIT 50`, then `AND seq < ?`) does the same on the same
file. Server time only: no socket, no rendering.
"""

import asyncio
import json
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime

MESSAGES = 10_000
PAGE = 50
REPEATS = 30


def seed(path: str, messages: int) -> int:
    stamp = datetime.now(UTC).isoformat()
    with sqlite3.connect(path) as db:
        cursor = db.execute(
            "INSERT INTO product_chat_sessions (session_id, public_id, product_id, visitor_id, created_at,"
            " last_activity, is_active, status, message_count, last_seq, agent_read_seq, shopper_seen_seq)"
            " VALUES ('history-session-0123456789abcdef', 'historyhistory01', 'summit-backpack', 'v', ?, ?,"
            " 1, 'open', ?, ?, 0, 0)",
            (stamp, stamp, messages, messages),
        )
        conversation = cursor.lastrowid
        db.executemany(
            "INSERT INTO product_chat_messages (session_id, seq, author, agent_name, body, client_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?)",
            (
                (conversation, n, "shopper" if n % 2 else "agent", None if n % 2 else "Agent", f"message {n}", stamp)
                for n in range(1, messages + 1)
            ),
        )
        plan = [
            row[-1]
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM product_chat_messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
                (conversation, PAGE),
            )
        ]
    assert conversation is not None
    return conversation, plan


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50_ms": round(ordered[len(ordered) // 2], 3), "max_ms": round(ordered[-1], 3)}


async def rxchat_side(conversation: int) -> dict:
    from rxchat import db
    from rxchat.models import ChatSession
    from rxchat.services import chat

    first, pages, total = [], 0, 0.0
    async with db.session() as s:
        chat_session = await s.get(ChatSession, conversation)
        for _ in range(REPEATS):
            started = time.perf_counter()
            await chat.list_messages(s, chat=chat_session, limit=PAGE)
            first.append((time.perf_counter() - started) * 1000)
        before, per_page = None, []
        while True:
            started = time.perf_counter()
            page, before = await chat.list_messages(s, chat=chat_session, before=before, limit=PAGE)
            per_page.append((time.perf_counter() - started) * 1000)
            pages += 1
            if before is None or not page:
                break
    total = sum(per_page)
    return {
        "first_page_ms": stats(first)["p50_ms"],
        "first_page": stats(first),
        "pages": pages,
        "paging_back_total_ms": round(total, 1),
        "page": stats(per_page),
    }


async def baseline_side(path: str, conversation: int) -> dict:
    import aiosqlite

    sql = "SELECT * FROM product_chat_messages WHERE session_id = ? {} ORDER BY seq DESC LIMIT ?"
    first, per_page = [], []
    async with aiosqlite.connect(path) as db:
        for _ in range(REPEATS):
            started = time.perf_counter()
            async with db.execute(sql.format(""), (conversation, PAGE)) as cursor:
                rows = [dict(zip([c[0] for c in cursor.description], r, strict=True)) for r in await cursor.fetchall()]
            json.dumps(rows)
            first.append((time.perf_counter() - started) * 1000)
        before = None
        while True:
            started = time.perf_counter()
            query, args = (
                (sql.format(""), (conversation, PAGE))
                if before is None
                else (sql.format("AND seq < ?"), (conversation, before, PAGE))
            )
            async with db.execute(query, args) as cursor:
                rows = await cursor.fetchall()
            per_page.append((time.perf_counter() - started) * 1000)
            if len(rows) < PAGE:
                break
            before = rows[-1][2]  # seq
    return {
        "first_page_ms": stats(first)["p50_ms"],
        "first_page": stats(first),
        "pages": len(per_page),
        "paging_back_total_ms": round(sum(per_page), 1),
        "page": stats(per_page),
    }


def main() -> int:
    path = os.environ["REFLEX_DB_URL"].removeprefix("sqlite:///")
    conversation, plan = seed(path, int(sys.argv[1]) if len(sys.argv) > 1 else MESSAGES)
    result = {
        "messages": MESSAGES,
        "query_plan": plan,
        "rxchat": asyncio.run(rxchat_side(conversation)),
        "baseline": asyncio.run(baseline_side(path, conversation)),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
