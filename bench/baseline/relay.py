"""The baseline: a plain FastAPI WebSocket relay, the original system's architecture, small and honest.

A socket per shopper (`/ws/shopper?product=<id>`) and per agent (`/ws/agent?token=<secret>`). The product
page's socket says `ready` once it has read the product (the widget is live). A shopper's message starts a
conversation on its first send, is stored in the same SQLite tables rxchat uses (`product_chat_sessions`,
`product_chat_messages`, created by `python -m rxchat migrate`) in one transaction, and is then sent, as
the same JSON rxchat's API gives for a message, to the shopper's sockets and every agent socket. An agent's
reply (`{"type": "reply", "conversation": <public id>, "body": ...}`) is stored and sent to that
conversation's shopper sockets and to the agents. No rendering, no per-tab state, no read marks, no limits:
what a relay must do and nothing more.

Run: `RELAY_DB=/path/rxchat.db RELAY_AGENT_TOKEN=... uvicorn bench.baseline.relay:app --port N`
(bench/run.py starts it with the `/bench/baseline/relay.html` page for the browser scenario).
"""

import asyncio
import contextlib
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

DB_PATH = os.environ.get("RELAY_DB", "relay.db")
AGENT_TOKEN = os.environ.get("RELAY_AGENT_TOKEN", "")
PAGE = (Path(__file__).parent / "page.html").read_text()

db: aiosqlite.Connection
shoppers: dict[int, set[WebSocket]] = {}  # conversation row id -> its shopper sockets
public_ids: dict[str, int] = {}  # conversation public id -> row id
agents: set[WebSocket] = set()
# One connection, one writer at a time: a transaction of one coroutine must not be committed (or broken)
# by another's statements on the same connection. SQLite takes one writer at a time anyway.
write_lock = asyncio.Lock()


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    global db
    db = await aiosqlite.connect(DB_PATH)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    db.row_factory = aiosqlite.Row
    yield
    await db.close()


app = FastAPI(lifespan=lifespan)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def start_conversation(product_id: str) -> tuple[int, str]:
    public_id, stamp = secrets.token_hex(8), now()
    async with write_lock:
        cursor = await db.execute(
            "INSERT INTO product_chat_sessions (session_id, public_id, product_id, visitor_id, created_at,"
            " last_activity, is_active, status, message_count, last_seq, agent_read_seq, shopper_seen_seq)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, 'open', 0, 0, 0, 0)",
            (secrets.token_urlsafe(24), public_id, product_id, uuid.uuid4().hex, stamp, stamp),
        )
        await db.commit()
    assert cursor.lastrowid is not None
    public_ids[public_id] = cursor.lastrowid
    return cursor.lastrowid, public_id


async def store(conversation: int, author: str, body: str, agent_name: str | None) -> dict:
    """The message and its conversation's counters in one transaction; the message as rxchat's API shows it."""
    stamp = now()
    async with write_lock:
        async with db.execute(
            "UPDATE product_chat_sessions SET last_seq = last_seq + 1, message_count = message_count + 1,"
            " last_activity = ? WHERE id = ? RETURNING last_seq",
            (stamp, conversation),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        seq = row[0]
        cursor = await db.execute(
            "INSERT INTO product_chat_messages (session_id, seq, author, agent_name, body, client_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation, seq, author, agent_name, body, uuid.uuid4().hex, stamp),
        )
        await db.commit()
    return {
        "id": cursor.lastrowid,
        "seq": seq,
        "author": author,
        "agent_name": agent_name,
        "body": body,
        "client_key": None,
        "created_at": stamp,
    }


async def send_all(sockets, text: str) -> None:
    for socket in list(sockets):
        with contextlib.suppress(Exception):  # a socket that went meanwhile
            await socket.send_text(text)


@app.get("/bench/baseline/relay.html")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.websocket("/ws/shopper")
async def shopper_socket(socket: WebSocket, product: str = "") -> None:
    await socket.accept()
    async with db.execute("SELECT id, name FROM rxchat_products WHERE id = ?", (product,)) as cursor:
        found = await cursor.fetchone()
    if found is None:
        await socket.send_text(json.dumps({"type": "error", "error": "no such product"}))
        await socket.close()
        return
    await socket.send_text(json.dumps({"type": "ready", "product": {"id": found[0], "name": found[1]}}))
    conversation: int | None = None
    public_id = ""
    try:
        while True:
            data = json.loads(await socket.receive_text())
            body = str(data.get("body", "")).strip()
            if data.get("type") != "message" or not body or len(body) > 2000:
                await socket.send_text(json.dumps({"type": "error", "error": "empty or too long"}))
                continue
            if conversation is None:
                conversation, public_id = await start_conversation(product)
                shoppers[conversation] = {socket}
            message = await store(conversation, "shopper", body, None)
            text = json.dumps({"type": "message", "conversation": public_id, "message": message})
            await send_all(shoppers[conversation], text)
            await send_all(agents, text)
    except WebSocketDisconnect:
        pass
    finally:
        if conversation is not None:
            shoppers[conversation].discard(socket)


@app.websocket("/ws/agent")
async def agent_socket(socket: WebSocket, token: str = "") -> None:
    if not AGENT_TOKEN or not secrets.compare_digest(token, AGENT_TOKEN):
        await socket.close(code=4401)
        return
    await socket.accept()
    agents.add(socket)
    try:
        while True:
            data = json.loads(await socket.receive_text())
            conversation = public_ids.get(str(data.get("conversation", "")))
            body = str(data.get("body", "")).strip()
            if data.get("type") != "reply" or conversation is None or not body:
                await socket.send_text(json.dumps({"type": "error", "error": "no such conversation"}))
                continue
            message = await store(conversation, "agent", body, "Bench Agent")
            text = json.dumps({"type": "message", "conversation": data["conversation"], "message": message})
            await send_all(shoppers.get(conversation, ()), text)
            await send_all(agents, text)
    except WebSocketDisconnect:
        pass
    finally:
        agents.discard(socket)
