"""What a shopper has seen of the staff's replies: the seen mark and the launcher's unread badge."""

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import ChatMessage, ChatSession
from rxchat.services import chat, ids


async def mark_seen_by_session(db: AsyncSession, *, product_id: str, session_id: str) -> bool:
    """The shopper has seen the replies up to the newest message, in one statement that checks their
    session as `chat.get_session` does. False when nothing changed (seen already, or no such session)."""
    if not ids.is_valid_session_id(session_id):
        return False
    find = {"secret": session_id, "product": product_id}
    return await chat.mark_newest(db, target="secret", find=find, mark="shopper_seen_seq") is not None


async def mark_seen_by_shopper(db: AsyncSession, *, chat_session: ChatSession, seq: int) -> None:
    """The shopper has seen agent replies up to `seq` (clears the launcher's badge)."""
    seq = min(int(seq), chat_session.last_seq)
    if seq <= chat_session.shopper_seen_seq:
        return
    await db.exec(sa.update(ChatSession).where(col(ChatSession.id) == chat_session.id).values(shopper_seen_seq=seq))
    await db.commit()
    chat_session.shopper_seen_seq = seq


async def unread_replies(db: AsyncSession, *, chat_session: ChatSession) -> int:
    query = select(sa.func.count(col(ChatMessage.id))).where(
        ChatMessage.session_id == chat_session.id,
        ChatMessage.author == "agent",
        ChatMessage.seq > chat_session.shopper_seen_seq,
    )
    return (await db.exec(query)).one()
