"""Sessions and messages: creating, validating, posting, listing, paging.

Every function takes the database session first and keyword-only values after
it; they return ORM rows or public shapes and raise errors from
rxchat.services.errors. Writes commit here, then publish.
"""

import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import iso, utcnow
from rxchat.db import FirstRow, run_write
from rxchat.models import ChatMessage, ChatSession, DemoProduct, MessagePublic, Product, SessionPublic
from rxchat.services import agents, catalog, errors, events, ids, limits
from rxchat.services.publish import publish
from rxchat.settings import settings

PAGE_SIZE = 30  # messages per page, widget and console alike
MAX_PAGE_SIZE = 100  # the API's cap on ?limit=
CLIENT_KEY_MAX = 64
# What a new message changes on its session (the UPDATE reads back the whole row).
COUNTER_FIELDS = ("last_seq", "message_count", "last_activity", "status", "agent_read_seq")


def to_message_public(message: ChatMessage) -> MessagePublic:
    return MessagePublic(
        id=message.id or 0,
        seq=message.seq,
        author=message.author,
        agent_name=message.agent_name,
        body=message.body,
        client_key=message.client_key,
        created_at=iso(message.created_at),
    )


def to_session_public(chat: ChatSession) -> SessionPublic:
    return SessionPublic(
        session_id=chat.session_id,
        product_id=chat.product_id,
        customer_name=chat.customer_name,
        customer_email=chat.customer_email,
        created_at=iso(chat.created_at),
        last_activity=iso(chat.last_activity),
        message_count=chat.message_count,
        is_active=chat.is_active,
        status=chat.status,
    )


def clean_body(body: object) -> str:
    """Trim a message body and apply the length rules; never cuts silently."""
    if not isinstance(body, str):
        raise errors.InvalidInput(key="error.message_not_text")
    text = body.replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        raise errors.EmptyMessage()
    if not _is_encodable(text):
        raise errors.InvalidInput(key="error.message_not_unicode")
    if len(text) > settings.max_message_chars:
        raise errors.MessageTooLong(settings.max_message_chars, len(text))
    return text


def _is_encodable(text: str) -> bool:
    """False for text no database can store: lone UTF-16 surrogates (JSON allows "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_client_key(client_key: object) -> str | None:
    if client_key is None or client_key == "":
        return None
    if not isinstance(client_key, str) or len(client_key) > CLIENT_KEY_MAX or not client_key.isprintable():
        raise errors.InvalidInput(key="error.idempotency_key", max=CLIENT_KEY_MAX)
    return client_key


# --- expiry: one rule, in Python for a row in hand and in SQL for the sweep and the write -----------------------


def is_expired(chat: ChatSession, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if chat.message_count == 0:
        return chat.created_at < now - timedelta(hours=settings.empty_session_ttl_hours)
    return chat.last_activity < now - timedelta(days=settings.session_ttl_days)


# A literal 0, not a bound parameter: a planner matches `message_count = 0` to the partial index's own
# condition only when it can see the value (SQLite never, PostgreSQL not in a generic prepared plan).
NO_MESSAGES: sa.ColumnClause[int] = sa.literal_column("0")


def idle_expired_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Conversations with messages, idle longer than the session TTL (the `last_activity` index finds them)."""
    return _idle_before(_cutoffs(now)["idle_cutoff"])


def empty_expired_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Sessions that never got a message, older than the empty-session TTL (the partial index finds them)."""
    return _empty_before(_cutoffs(now)["empty_cutoff"])


def _cutoffs(now: datetime) -> dict[str, datetime]:
    """Before these moments a session is expired: the TTLs `is_expired` applies."""
    return {
        "idle_cutoff": now - timedelta(days=settings.session_ttl_days),
        "empty_cutoff": now - timedelta(hours=settings.empty_session_ttl_hours),
    }


def _idle_before(cutoff: datetime | sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    return sa.and_(col(ChatSession.message_count) > NO_MESSAGES, col(ChatSession.last_activity) < cutoff)


def _empty_before(cutoff: datetime | sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    return sa.and_(col(ChatSession.message_count) == NO_MESSAGES, col(ChatSession.created_at) < cutoff)


# Sessions a shopper may still use: active and not expired (`find_session`'s checks), given `_cutoffs(now)`.
_LIVE = sa.and_(
    col(ChatSession.is_active).is_(True),
    sa.not_(sa.or_(_idle_before(sa.bindparam("idle_cutoff")), _empty_before(sa.bindparam("empty_cutoff")))),
)


async def get_product(db: AsyncSession, *, product_id: str) -> Product:
    """The product as the store's catalog describes it (services/catalog.py); ProductNotFound when the
    catalog has no chat for this id."""
    product = await catalog.find_product(db, product_id)
    if product is None:
        raise errors.ProductNotFound()
    return product


async def create_session(
    db: AsyncSession,
    *,
    product_id: str,
    visitor_id: str | None = None,
    customer_name: str | None = None,
    customer_email: str | None = None,
    client_address: str | None = None,
) -> ChatSession:
    """Start a new thread for a product; the id is minted here, never by a client. ProductNotFound for a
    product the catalog does not know.

    With `client_address`, new sessions from that address are rate limited (RateLimited).
    """
    await get_product(db, product_id=product_id)
    if client_address:
        await limits.check_new_session(client_address=client_address)
    now = utcnow()
    chat = ChatSession(
        session_id=ids.mint_session_id(),
        public_id=ids.mint_public_id(),
        product_id=product_id,
        visitor_id=visitor_id if ids.is_valid_visitor_id(visitor_id) else None,
        customer_name=customer_name or None,
        customer_email=customer_email or None,
        created_at=now,
        last_activity=now,
    )
    db.add(chat)
    await db.commit()
    await publish(events.ConversationStarted(conversation=chat.public_id, product_id=product_id))
    return chat


_SESSION_BY_SECRET = select(ChatSession).where(ChatSession.session_id == sa.bindparam("secret"))  # built once


async def find_session(db: AsyncSession, *, session_id: str) -> ChatSession | None:
    """The live session with this id, under any product; None if unknown or expired."""
    if not ids.is_valid_session_id(session_id):
        return None
    chat = (await db.exec(_SESSION_BY_SECRET, params={"secret": session_id})).first()
    if chat is None or not chat.is_active or is_expired(chat):
        return None
    return chat


async def get_session(db: AsyncSession, *, product_id: str, session_id: str) -> ChatSession:
    """The shopper's session for this product, or SessionNotFound (unknown, foreign, expired)."""
    chat = await find_session(db, session_id=session_id)
    if chat is None or chat.product_id != product_id:
        raise errors.SessionNotFound()
    return chat


# --- posting: one UPDATE ... RETURNING counts the message (and checks the session), one INSERT stores it --------

_SESSIONS, _MESSAGES = ChatSession.__table__, ChatMessage.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)
# Which session a message goes to: the caller's row, a shopper's secret id under a product, or a
# conversation's public handle; the last two are checked by the same statement that counts the message.
_TARGETS = {
    "row": _SESSIONS.c.id == sa.bindparam("chat_id"),
    "secret": sa.and_(
        _SESSIONS.c.session_id == sa.bindparam("secret"),  # parameters may not share a column's name here
        _SESSIONS.c.product_id == sa.bindparam("product"),
        _LIVE,
    ),
    "handle": sa.and_(_SESSIONS.c.public_id == sa.bindparam("conversation"), _LIVE),
}
# A console reply: the same statement checks the agent's sign-in too, so a reply costs no lookup first.
_TARGETS["signed_handle"] = sa.and_(_TARGETS["handle"], agents.STILL_SIGNED_IN)
# A shopper's message while the demo catalog is the product source: the statement that counts it also
# checks that the catalog still has the product, so that check costs no statement of its own.
_DEMO_PRODUCTS = DemoProduct.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)
_TARGETS["secret_in_demo"] = sa.and_(
    _TARGETS["secret"], sa.exists().where(_DEMO_PRODUCTS.c.id == sa.bindparam("product"))
)
_STORE = sa.insert(_MESSAGES).returning(_MESSAGES.c.id)


@functools.cache
def _count_statement(target: str, author: str) -> sa.Update:
    """Built once per kind: building a statement costs more than running it (bench/README.md)."""
    counters = {
        "last_seq": _SESSIONS.c.last_seq + 1,
        "message_count": _SESSIONS.c.message_count + 1,
        "last_activity": sa.bindparam("now"),
    }
    if author == "shopper":
        counters["status"] = "open"  # a new shopper message reopens a closed conversation
    else:
        counters["agent_read_seq"] = _SESSIONS.c.last_seq + 1  # staff have seen all up to their reply
    # It takes the row's write lock, so concurrent writers queue instead of colliding on the same seq.
    return sa.update(_SESSIONS).where(_TARGETS[target]).values(**counters).returning(*_SESSIONS.c)


async def post_message(
    db: AsyncSession,
    *,
    chat: ChatSession,
    author: str,
    body: str,
    client_key: str | None = None,
    agent_name: str | None = None,
) -> tuple[MessagePublic, bool]:
    """Store a message once; returns it and whether it is new (False for a retried key)."""
    _chat, message, created = await _post(
        db, chat=chat, target="row", find={"chat_id": chat.id}, author=author, body=body, client_key=client_key,
        agent_name=agent_name,
    )  # fmt: skip
    return message, created


@functools.cache
def _mark_statement(target: str, mark: str) -> sa.Update:
    """Moves a read or seen mark (`agent_read_seq`, `shopper_seen_seq`) up to the newest message, in
    the statement that checks the session `target` names; returns nothing when there was nothing to mark."""
    column = _SESSIONS.c[mark]
    return (
        sa.update(_SESSIONS)
        .where(_TARGETS[target], column < _SESSIONS.c.last_seq)
        .values({mark: _SESSIONS.c.last_seq})
        .returning(_SESSIONS.c.public_id, column)
    )


async def mark_newest(db: AsyncSession, *, target: str, find: dict[str, Any], mark: str) -> dict[str, Any] | None:
    """Move `mark` up to the session's newest message in one write; the session's public id and the
    mark, or None when it was there already or the session is not one to use (unknown, expired...)."""
    params = {**find, **_cutoffs(utcnow())}
    return await run_write(db, lambda first_row: first_row(_mark_statement(target, mark), params))


async def post_shopper_message(
    db: AsyncSession,
    *,
    product_id: str,
    session_id: str,
    body: str,
    client_key: str | None = None,
    origin: str | None = None,
) -> tuple[ChatSession, MessagePublic, bool]:
    """A shopper's message to their session for this product, in one statement fewer than `get_session`
    then `post_message`: the UPDATE that counts the message checks the session as `get_session` does.

    Returns the session as it is after the message, the message, and whether it is new. SessionNotFound
    for an unknown, foreign, expired or erased session, ProductNotFound once the catalog no longer has
    the product, with nothing stored."""
    if not ids.is_valid_session_id(session_id):
        raise errors.SessionNotFound()
    target = "secret_in_demo" if catalog.is_demo_source() else "secret"
    if target == "secret":
        await get_product(db, product_id=product_id)  # the host's catalog: asked before the write
    find = {"secret": session_id, "product": product_id}
    try:
        return await _post(
            db, chat=None, target=target, find=find, author="shopper", body=body, client_key=client_key, origin=origin
        )
    except errors.SessionNotFound:
        if target == "secret_in_demo":
            await get_product(db, product_id=product_id)  # which check refused it: the product's is told first
        raise


async def post_reply(
    db: AsyncSession,
    *,
    conversation: str,
    agent_name: str,
    body: str,
    client_key: str | None = None,
    signed_in: tuple[str, int] | None = None,
    origin: str | None = None,
) -> tuple[ChatSession, MessagePublic, bool]:
    """A staff reply to the conversation with this public handle, checked by the UPDATE that counts it
    (as `console.get_conversation` checks it): SessionNotFound for an unknown, expired or erased one.

    With `signed_in` (a console sign-in token and the agent id it signed in), the same UPDATE checks
    that the token still signs that agent in: NotSignedIn (nothing stored) once it no longer does."""
    if not ids.is_valid_public_id(conversation):
        raise errors.SessionNotFound()
    target, find = "handle", {"conversation": conversation}
    if signed_in is not None:
        token, agent_id = signed_in
        target, find = "signed_handle", {**find, **agents.signed_in_params(token, agent_id=agent_id)}
    try:
        return await _post(
            db, chat=None, target=target, find=find, author="agent", body=body, client_key=client_key,
            agent_name=agent_name, origin=origin,
        )  # fmt: skip
    except errors.SessionNotFound:
        if signed_in is not None:
            agent = await agents.agent_for_token(db, token=signed_in[0])
            if agent is None or agent.id != signed_in[1]:
                raise errors.NotSignedIn() from None  # why nothing was stored: the sign-in, not the conversation
        raise


async def _post(
    db: AsyncSession,
    *,
    chat: ChatSession | None,
    target: str,
    find: dict[str, Any],
    author: str,
    body: str,
    client_key: str | None = None,
    agent_name: str | None = None,
    origin: str | None = None,
) -> tuple[ChatSession, MessagePublic, bool]:
    """Count a message on the session `target` and `find` name (the caller's `chat`, if it has one), store it;
    `origin` is the tab that sent it, if a tab did (events.MessagePosted)."""
    text = clean_body(body)
    key = clean_client_key(client_key)
    now = utcnow()
    if author == "shopper":
        try:
            await limits.check_message(session_id=chat.session_id if chat is not None else find["secret"])
        except errors.RateLimited:
            # A retry of a message stored before the limit was reached is answered, not refused.
            if (stored := await _stored_retry(db, chat, target, find, key)) is None:
                raise
            return stored
    params = {**find, "now": now, **(_cutoffs(now) if target != "row" else {})}
    row = {"author": author, "agent_name": agent_name if author == "agent" else None, "body": text,
           "client_key": key, "created_at": now}  # fmt: skip
    try:
        counted, message_id = await run_write(
            db, functools.partial(_store, _count_statement(target, author), params, row)
        )
    except IntegrityError:
        # Only the idempotency key can clash: the same send was stored meanwhile.
        if (stored := await _stored_retry(db, chat, target, find, key)) is None:
            raise
        return stored
    if counted is None:  # unknown, expired, or swept or erased since it was looked up
        raise errors.SessionNotFound()
    public = MessagePublic(
        id=message_id, seq=counted["last_seq"], author=author, agent_name=row["agent_name"], body=text,
        client_key=key, created_at=iso(now),
    )  # fmt: skip
    # Announced before the caller's copy of the session is built: the other side waits for this.
    await publish(
        events.MessagePosted(
            conversation=counted["public_id"], product_id=counted["product_id"], message=public, origin=origin
        )
    )
    if chat is None:
        chat = ChatSession(**counted)
    else:  # bring the caller's copy up to date without another round trip (and without marking it dirty)
        for name in COUNTER_FIELDS:
            set_committed_value(chat, name, counted[name])
    return chat, public, True


def _store(
    count: sa.Update, params: dict[str, Any], row: dict[str, Any], first_row: FirstRow
) -> tuple[dict[str, Any] | None, int | None]:
    """The write itself, in one transaction (db.run_write): the UPDATE counts the message and checks its
    session; the INSERT stores it under the seq that UPDATE handed out. Nothing is written when the UPDATE
    finds no session; a retried idempotency key fails the INSERT on its unique index (no SELECT first)."""
    counted = first_row(count, params)
    if counted is None:
        return None, None
    stored = first_row(_STORE, {**row, "session_id": counted["id"], "seq": counted["last_seq"]})
    assert stored is not None  # INSERT ... RETURNING gives the row it stored
    return counted, stored["id"]


async def _stored_retry(
    db: AsyncSession, chat: ChatSession | None, target: str, find: dict[str, Any], key: str | None
) -> tuple[ChatSession, MessagePublic, bool] | None:
    """The session and the message stored before under idempotency key `key`, or None."""
    if key is None:
        return None
    if chat is not None:
        await db.refresh(chat)  # its counters as stored now
    else:
        by_secret = ("session_id", "secret")
        column, name = {"secret": by_secret, "secret_in_demo": by_secret, "row": ("id", "chat_id")}.get(
            target, ("public_id", "conversation")
        )
        query = select(ChatSession).where(getattr(ChatSession, column) == find[name])
        chat = (await db.exec(query.execution_options(populate_existing=True))).first()  # as stored now
    if chat is None:
        return None
    existing = await _message_by_key(db, chat_id=chat.id, client_key=key)
    return (chat, to_message_public(existing), False) if existing is not None else None


async def _message_by_key(db: AsyncSession, *, chat_id: int | None, client_key: str) -> ChatMessage | None:
    query = select(ChatMessage).where(ChatMessage.session_id == chat_id, ChatMessage.client_key == client_key)
    return (await db.exec(query)).first()


async def list_messages(
    db: AsyncSession, *, chat: ChatSession, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[MessagePublic], int | None]:
    """A page of messages newest first, and the cursor (a seq) for the page before it."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = select(ChatMessage).where(ChatMessage.session_id == chat.id)
    if before is not None:
        query = query.where(ChatMessage.seq < before)
    query = query.order_by(col(ChatMessage.seq).desc()).limit(limit + 1)
    rows = list((await db.exec(query)).all())
    page = [to_message_public(m) for m in rows[:limit]]
    next_before = page[-1].seq if len(rows) > limit and page else None
    return page, next_before


async def delete_session(db: AsyncSession, *, chat: ChatSession) -> None:
    """Erase a conversation: its messages and the session itself."""
    public_id, product_id = chat.public_id, chat.product_id
    await db.execute(sa.delete(ChatMessage).where(col(ChatMessage.session_id) == chat.id))
    await db.delete(chat)
    await db.commit()
    await publish(events.ConversationErased(conversation=public_id, product_id=product_id))
