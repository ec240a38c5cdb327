"""Conversations for the report tests, written straight into the tables with bulk SQL (times chosen by the
test), and the hand-computed data set the service and browser tests check the reports against."""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from rxchat.models import ChatMessage, ChatSession

# One conversation: (product id, when it started, [(seconds after the start, author), ...]).
Conversation = tuple[str, datetime, list[tuple[int, str]]]


def rows_for(conversations: list[Conversation], *, first_id: int) -> tuple[list[dict], list[dict]]:
    """Rows of product_chat_sessions and product_chat_messages for `conversations`, session ids from
    `first_id` on."""
    sessions, messages = [], []
    for number, (product_id, started, timeline) in enumerate(conversations):
        session_pk = first_id + number
        last = started + timedelta(seconds=max((offset for offset, _ in timeline), default=0))
        sessions.append(
            {
                "id": session_pk,
                "session_id": "cs_" + secrets.token_hex(24),
                "public_id": secrets.token_hex(8),
                "product_id": product_id,
                "visitor_id": None,
                "customer_name": None,
                "customer_email": None,
                "created_at": started,
                "last_activity": last,
                "is_active": True,
                "status": "open",
                "message_count": len(timeline),
                "last_seq": len(timeline),
                "agent_read_seq": 0,
                "shopper_seen_seq": 0,
            }
        )
        for seq, (offset, author) in enumerate(timeline, start=1):
            messages.append(
                {
                    "session_id": session_pk,
                    "seq": seq,
                    "author": author,
                    "agent_name": "Agent" if author == "agent" else None,
                    "body": f"{author} message {seq}",
                    "client_key": None,
                    "created_at": started + timedelta(seconds=offset),
                }
            )
    return sessions, messages


async def insert(db: Any, conversations: list[Conversation]) -> None:
    """Writes the conversations through an async session (SQLite or PostgreSQL), in two bulk INSERTs."""
    top = (await db.exec(sa.select(sa.func.max(ChatSession.__table__.c.id)))).one()[0] or 0
    sessions, messages = rows_for(conversations, first_id=top + 1)
    connection = await db.connection()
    await connection.execute(ChatSession.__table__.insert(), sessions)
    if messages:
        await connection.execute(ChatMessage.__table__.insert(), messages)
    await db.commit()


# --- the hand-computed data set -------------------------------------------------------------------------------

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def hand_set(lamp: str, pack: str, gone: str) -> list[Conversation]:
    """Seven days to NOW (June 4 to 10). `gone` is a product the catalog does not have."""
    s, a = "shopper", "agent"
    return [
        (lamp, at(3, 23, 59), [(0, s), (120, a)]),  # started before the range; its reply (June 4) counts
        (lamp, at(8, 9), [(0, s), (60, a), (120, s), (400, a)]),  # first response 60 s
        (lamp, at(8, 10), [(0, s), (600, a)]),  # 600 s
        (lamp, at(9, 8), [(0, s), (30, s), (90, a)]),  # 90 s
        (lamp, at(10, 11), [(0, s)]),  # not answered yet
        (pack, at(8, 12), [(0, s), (30, a)]),  # 30 s
        (pack, at(9, 13), [(0, s), (1200, a)]),  # 1200 s
        (pack, at(9, 14), [(0, s), (240, a)]),  # 240 s
        (pack, at(9, 15), []),  # a session that never got a message: no conversation
        (gone, at(10, 9), [(0, s), (300, a)]),  # 300 s: within 5 minutes, just
    ]


# What the report over those 7 days says, computed by hand.
#   lamp: 4 conversations; 11 messages (4 + 2 + 3 + 1, and the earlier one's reply); waits 60, 600, 90 ->
#         median 90; within 5 min: 60 and 90 of 4 conversations = 0.5
#   pack: 3 conversations; 6 messages; waits 30, 1200, 240 -> median 240; within: 2 of 3
#   gone: 1 conversation; 2 messages; wait 300 -> median 300; within: 1 of 1
#   all:  8 conversations, 19 messages; waits 30 60 90 240 300 600 1200 -> median 240; within 5 of 8
EXPECTED_PRODUCTS = {  # product -> (conversations, messages, median seconds, share within 5 min)
    "lamp": (4, 11, 90.0, 0.5),
    "pack": (3, 6, 240.0, 0.6667),
    "gone": (1, 2, 300.0, 1.0),
}
EXPECTED_DAYS = {  # day -> ({product: conversations}, answered, median, p90, shopper messages, agent messages)
    "2026-06-04": ({}, 0, None, None, 0, 1),
    "2026-06-05": ({}, 0, None, None, 0, 0),
    "2026-06-06": ({}, 0, None, None, 0, 0),
    "2026-06-07": ({}, 0, None, None, 0, 0),
    # waits 60, 600, 30: median 60; nearest-rank p90 = the 3rd of 3
    "2026-06-08": ({"lamp": 2, "pack": 1}, 3, 60.0, 600.0, 4, 4),
    # waits 90, 1200, 240: median 240, p90 1200
    "2026-06-09": ({"lamp": 1, "pack": 2}, 3, 240.0, 1200.0, 4, 3),
    "2026-06-10": ({"lamp": 1, "gone": 1}, 1, 300.0, 300.0, 2, 1),
}
