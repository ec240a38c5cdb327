"""What staff do with conversations: the inbox, reading, replying, closing (the console and /api/agent).

Conversations are addressed by their public id; the shopper's secret session
id never leaves the service layer on this side.
"""

import hashlib

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import iso, utcnow
from rxchat.models import AgentPublic, ChatMessage, ChatSession, ConversationSummary, MessagePublic, Product
from rxchat.services import agents, catalog, chat, errors, events, ids
from rxchat.services.publish import publish

INBOX_SIZE = 100  # conversations the console lists at first, most recent activity first
INBOX_MAX = 500  # and at most, after "Show more"
PREVIEW_CHARS = 120
FILTER_PRODUCTS_MAX = 500  # products the console's filter lists, those with the newest conversations first


def shopper_label(chat_session: ChatSession) -> str:
    """A stable, non-secret name for a shopper: their threads across products share it."""
    basis = chat_session.visitor_id or chat_session.public_id
    return "Visitor " + hashlib.sha256(basis.encode()).hexdigest()[:6].upper()


async def list_conversations(
    db: AsyncSession, *, product_id: str | None = None, status: str | None = None, limit: int = INBOX_SIZE
) -> list[ConversationSummary]:
    """Conversations with at least one message, most recent activity first."""
    unread = (
        select(sa.func.count(col(ChatMessage.id)))
        .where(
            ChatMessage.session_id == ChatSession.id,
            ChatMessage.author == "shopper",
            ChatMessage.seq > ChatSession.agent_read_seq,
        )
        .correlate(ChatSession)
        .scalar_subquery()
    )
    query = (
        select(ChatSession, ChatMessage, unread)
        .join(
            ChatMessage,
            sa.and_(col(ChatMessage.session_id) == ChatSession.id, col(ChatMessage.seq) == ChatSession.last_seq),
        )
        .where(col(ChatSession.is_active).is_(True))
        .order_by(col(ChatSession.last_activity).desc())
        .limit(max(1, min(limit, INBOX_MAX)))
    )
    if product_id:
        query = query.where(ChatSession.product_id == product_id)
    if status in ("open", "closed"):
        query = query.where(ChatSession.status == status)
    rows = (await db.exec(query)).all()
    # Names from the store's catalog; a product it no longer has is named by its id.
    products = await catalog.find_products(db, (s.product_id for s, _m, _unread in rows))
    return [
        ConversationSummary(
            conversation=s.public_id,
            product_id=s.product_id,
            product_name=products[s.product_id].name if s.product_id in products else s.product_id,
            shopper_label=shopper_label(s),
            customer_name=s.customer_name,
            customer_email=s.customer_email,
            status=s.status,
            last_message=m.body[:PREVIEW_CHARS],
            last_author=m.author,
            last_activity=iso(s.last_activity),
            unread=unread_count or 0,
        )
        for s, m, unread_count in rows
        if not chat.is_expired(s)
    ]


async def conversation_products(db: AsyncSession, *, limit: int = FILTER_PRODUCTS_MAX) -> list[Product]:
    """The products that have conversations, those with the newest activity first (at most `limit`), named by
    the store's catalog and listed by name: the console's product filter. A product the catalog no longer
    has is listed by its id."""
    newest = sa.func.max(col(ChatSession.last_activity))
    query = (
        select(col(ChatSession.product_id))
        .where(col(ChatSession.is_active).is_(True))
        .group_by(col(ChatSession.product_id))
        .order_by(newest.desc())
        .limit(limit)
    )
    product_ids = list((await db.exec(query)).all())
    known = await catalog.find_products(db, product_ids)
    listed = [known.get(product_id) or Product(id=product_id, name=product_id) for product_id in product_ids]
    return sorted(listed, key=lambda product: (product.name.casefold(), product.id))


async def count_unread(db: AsyncSession) -> int:
    """Shopper messages staff have not read yet, across every conversation (the console's title and badge)."""
    query = (
        select(sa.func.count(col(ChatMessage.id)))
        .join(ChatSession, col(ChatMessage.session_id) == ChatSession.id)
        .where(
            col(ChatSession.is_active).is_(True),
            ChatSession.last_seq > ChatSession.agent_read_seq,  # only threads with something unread
            ChatMessage.author == "shopper",
            ChatMessage.seq > ChatSession.agent_read_seq,
            sa.not_(chat.idle_expired_clause(utcnow())),  # as the inbox leaves them out
        )
    )
    return (await db.exec(query)).one()


_SESSION_BY_HANDLE = select(ChatSession).where(ChatSession.public_id == sa.bindparam("handle"))  # built once


async def get_conversation(db: AsyncSession, *, conversation: str) -> ChatSession:
    if not ids.is_valid_public_id(conversation):
        raise errors.SessionNotFound()
    chat_session = (await db.exec(_SESSION_BY_HANDLE, params={"handle": conversation})).first()
    if chat_session is None or not chat_session.is_active or chat.is_expired(chat_session):
        raise errors.SessionNotFound()
    return chat_session


async def mark_read(db: AsyncSession, *, chat_session: ChatSession, seq: int) -> None:
    """Staff have seen the thread up to `seq`: the shopper's messages up to it turn `read`."""
    seq = min(int(seq), chat_session.last_seq)
    if seq <= chat_session.agent_read_seq:
        return
    await db.exec(
        sa.update(ChatSession)
        .where(col(ChatSession.id) == chat_session.id, col(ChatSession.agent_read_seq) < seq)
        .values(agent_read_seq=seq)
    )
    await db.commit()
    chat_session.agent_read_seq = seq
    await publish(events.ReadMarked(conversation=chat_session.public_id, agent_read_seq=seq))


async def mark_read_signed_in(
    db: AsyncSession, *, conversation: str, sign_in_token: str, agent_id: int, origin: str | None = None
) -> bool:
    """Staff have seen the conversation up to its newest message: one statement checks the
    conversation and that `sign_in_token` still signs that agent in, and moves the mark. False when
    nothing changed: read already, or not a conversation or sign-in to use (callers check which).
    `origin` is the console tab that marked it (events.ReadMarked)."""
    if not ids.is_valid_public_id(conversation):
        return False
    find = {"conversation": conversation, **agents.signed_in_params(sign_in_token, agent_id=agent_id)}
    marked = await chat.mark_newest(db, target="signed_handle", find=find, mark="agent_read_seq")
    if marked is None:
        return False
    await publish(
        events.ReadMarked(conversation=marked["public_id"], agent_read_seq=marked["agent_read_seq"], origin=origin)
    )
    return True


async def reply(
    db: AsyncSession,
    *,
    conversation: str,
    agent: AgentPublic,
    sign_in_token: str,
    body: str,
    client_key: str | None = None,
    origin: str | None = None,
) -> MessagePublic:
    """The agent's reply to a live conversation, signed with their name. The statement that stores it
    also checks that `sign_in_token` still signs `agent` in: NotSignedIn when it does not (signed out,
    deactivated, expired), SessionNotFound when the conversation is gone; nothing is stored either way."""
    _chat, message, _new = await chat.post_reply(
        db,
        conversation=conversation,
        agent_name=agent.display_name,
        body=body,
        client_key=client_key,
        signed_in=(sign_in_token, agent.id),
        origin=origin,
    )
    return message


async def set_status(db: AsyncSession, *, chat_session: ChatSession, status: str) -> None:
    if status not in ("open", "closed"):
        raise errors.InvalidInput(key="error.status_invalid")
    chat_session.status = status
    db.add(chat_session)
    await db.commit()
    await publish(events.StatusChanged(conversation=chat_session.public_id, status=status))
