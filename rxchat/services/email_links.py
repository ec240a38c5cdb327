"""The links in reply emails: resume (bring a conversation into any browser) and unsubscribe.

A link carries a random token; only its SHA-256 is stored (`rxchat_email_tokens`), bound to one conversation.
A resume token works once and for RESUME_TTL; an unsubscribe token works until its conversation goes. Neither
carries nor reveals the session id: redeeming a resume token hands the session to the server-side caller, which
writes it into the browser's record (docs/email.md).
"""

import dataclasses
import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import iso, utcnow
from rxchat.db import run_write
from rxchat.models import ChatSession, EmailToken
from rxchat.services import chat
from rxchat.services.ids import hash_token

RESUME_TTL = timedelta(days=7)  # the contract's: a resume link expires after 7 days
TOKEN_BYTES = 32  # 256 random bits; 43 URL-safe characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
RESUME, UNSUBSCRIBE = "resume", "unsubscribe"

_TOKENS = EmailToken.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)


@dataclasses.dataclass(frozen=True)
class Resumed:
    """What redeeming a resume link gave: the session (None when the link was used, expired or unknown) and
    the product the link is about (None when the token is unknown), for the way back to its page."""

    session_id: str | None
    product_id: str | None
    created_at: str = ""  # the conversation's, ISO 8601 UTC: the browser record's `createdAt`
    message_count: int = 0


def is_well_formed(token: object) -> bool:
    return isinstance(token, str) and TOKEN_PATTERN.fullmatch(token) is not None


async def issue(db: AsyncSession, *, chat_id: int, kind: str) -> tuple[str, int]:
    """A new token of `kind` for the conversation (committed): the token, to put in a link, and its row id."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = EmailToken(
        chat_id=chat_id,
        kind=kind,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + RESUME_TTL if kind == RESUME else None,
    )
    db.add(row)
    await db.commit()
    return token, row.id or 0


async def withdraw(db: AsyncSession, *, token_ids: list[int]) -> None:
    """Delete tokens that never left (their email was not sent)."""
    if token_ids:
        await (await db.connection()).execute(sa.delete(_TOKENS).where(_TOKENS.c.id.in_(token_ids)))
        await db.commit()


_REDEEM = (
    sa.update(_TOKENS)
    .where(
        _TOKENS.c.token_hash == sa.bindparam("hash"),
        _TOKENS.c.kind == RESUME,
        _TOKENS.c.used_at.is_(None),
        _TOKENS.c.expires_at > sa.bindparam("now"),
    )
    .values(used_at=sa.bindparam("now"))
    .returning(_TOKENS.c.chat_id)
)


async def redeem_resume(db: AsyncSession, *, token: object) -> Resumed:
    """Use a resume token: marked used in the statement that checks it (so two browsers racing with one link get
    it once). The conversation's session, if it is still one to use, and its product."""
    if not is_well_formed(token):
        return Resumed(None, None)
    assert isinstance(token, str)
    digest, now = hash_token(token), utcnow()
    redeemed = await run_write(db, lambda first_row: first_row(_REDEEM, {"hash": digest, "now": now}))
    if redeemed is None:
        return Resumed(None, await _product_of(db, digest))
    query = select(ChatSession).where(ChatSession.id == redeemed["chat_id"]).execution_options(populate_existing=True)
    chat_session = (await db.exec(query)).first()
    if chat_session is None or not chat_session.is_active or chat.is_expired(chat_session):
        return Resumed(None, chat_session.product_id if chat_session is not None else None)
    return Resumed(
        chat_session.session_id, chat_session.product_id, iso(chat_session.created_at), chat_session.message_count
    )


async def _product_of(db: AsyncSession, digest: str) -> str | None:
    """The product of a used or expired token's conversation (the error page links to its page)."""
    query = (
        select(ChatSession.product_id)
        .join(EmailToken, col(EmailToken.chat_id) == col(ChatSession.id))
        .where(EmailToken.token_hash == digest, EmailToken.kind == RESUME)
    )
    return (await db.exec(query)).first()


async def conversation_of_unsubscribe(db: AsyncSession, *, token: object) -> int | None:
    """The conversation (row id) an unsubscribe token belongs to, or None."""
    if not is_well_formed(token):
        return None
    assert isinstance(token, str)
    query = select(EmailToken.chat_id).where(EmailToken.token_hash == hash_token(token), EmailToken.kind == UNSUBSCRIBE)
    return (await db.exec(query)).first()
