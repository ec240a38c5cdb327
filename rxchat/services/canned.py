"""Canned replies: saved answers the whole staff shares (the console's `/` menu, /agent/canned, /api/agent).

A title is unique case-insensitively (`title_key`, its case-folded form, carries the unique index, so two
agents saving the same title at once get one row and one refusal). A body may hold the placeholders
`{product}` and `{shopper}`, filled from the open conversation when an agent picks the reply (`fill`); the
agent edits the result before sending it, so a canned reply is never sent on its own.
"""

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import iso, utcnow
from rxchat.models import CannedReply, CannedReplyPublic
from rxchat.services import errors
from rxchat.settings import settings

MAX_TITLE_CHARS = 80
LIST_MAX = 500  # the most canned replies a list shows (a team keeps far fewer)
SUGGESTIONS_MAX = 8  # matches the `/` menu shows
PLACEHOLDERS = ("{product}", "{shopper}")


class CannedNotFound(errors.ChatError):
    code = "canned_not_found"
    status = 404
    key = "error.canned_not_found"


class CannedTitleTaken(errors.ChatError):
    code = "canned_title_taken"
    status = 409
    key = "error.canned_title_taken"


def _clean_title(title: object) -> str:
    cleaned = " ".join(title.split()) if isinstance(title, str) else ""
    if not cleaned or len(cleaned) > MAX_TITLE_CHARS or not cleaned.isprintable():
        raise errors.InvalidInput(key="error.canned_title", max=MAX_TITLE_CHARS)
    return cleaned


def _clean_body(body: object) -> str:
    cleaned = body.strip() if isinstance(body, str) else ""
    if not cleaned or len(cleaned) > settings.max_message_chars or "\x00" in cleaned:
        raise errors.InvalidInput(key="error.canned_body", max=settings.max_message_chars)
    return cleaned


def title_key(title: str) -> str:
    return title.casefold()


def _public(row: CannedReply) -> CannedReplyPublic:
    assert row.id is not None
    return CannedReplyPublic(id=row.id, title=row.title, body=row.body, updated_at=iso(row.updated_at))


async def list_replies(db: AsyncSession, *, limit: int = LIST_MAX) -> list[CannedReplyPublic]:
    """Every canned reply, by title."""
    rows = await db.exec(select(CannedReply).order_by(col(CannedReply.title_key)).limit(max(1, min(limit, LIST_MAX))))
    return [_public(row) for row in rows.all()]


def _like_prefix(text: str) -> str:
    """`text` as a LIKE pattern matching what starts with it (its own % and _ taken literally)."""
    return re.sub(r"([\\%_])", r"\\\1", text) + "%"


async def suggest(db: AsyncSession, *, prefix: str, limit: int = SUGGESTIONS_MAX) -> list[CannedReplyPublic]:
    """The canned replies whose title starts with `prefix` (any case), by title; every one for ""."""
    query = select(CannedReply).order_by(col(CannedReply.title_key)).limit(max(1, min(limit, LIST_MAX)))
    wanted = title_key(" ".join(prefix.split())) if isinstance(prefix, str) else ""
    if len(wanted) > MAX_TITLE_CHARS:
        return []
    if wanted:
        query = query.where(col(CannedReply.title_key).like(_like_prefix(wanted), escape="\\"))
    return [_public(row) for row in (await db.exec(query)).all()]


async def get_reply(db: AsyncSession, *, reply_id: int) -> CannedReplyPublic:
    return _public(await _row(db, reply_id))


async def _row(db: AsyncSession, reply_id: object) -> CannedReply:
    if not isinstance(reply_id, int) or isinstance(reply_id, bool) or not 0 < reply_id < 2**31:
        raise CannedNotFound()
    row = await db.get(CannedReply, reply_id)
    if row is None:
        raise CannedNotFound()
    return row


async def create_reply(db: AsyncSession, *, title: str, body: str) -> CannedReplyPublic:
    cleaned_title, cleaned_body = _clean_title(title), _clean_body(body)
    now = utcnow()
    row = CannedReply(
        title=cleaned_title, title_key=title_key(cleaned_title), body=cleaned_body, created_at=now, updated_at=now
    )
    db.add(row)
    await _commit_unique(db)
    return _public(row)


async def update_reply(db: AsyncSession, *, reply_id: int, title: str, body: str) -> CannedReplyPublic:
    cleaned_title, cleaned_body = _clean_title(title), _clean_body(body)
    row = await _row(db, reply_id)
    row.title, row.title_key, row.body, row.updated_at = cleaned_title, title_key(cleaned_title), cleaned_body, utcnow()
    db.add(row)
    await _commit_unique(db)
    return _public(row)


async def delete_reply(db: AsyncSession, *, reply_id: int) -> CannedReplyPublic:
    """Deletes it and returns what it was."""
    row = await _row(db, reply_id)
    gone = _public(row)
    result = await db.exec(sa.delete(CannedReply).where(col(CannedReply.id) == row.id))
    await db.commit()
    if not result.rowcount:
        raise CannedNotFound()  # deleted by someone else meanwhile
    return gone


async def _commit_unique(db: AsyncSession) -> None:
    try:
        await db.commit()
    except IntegrityError as clash:
        await db.rollback()
        raise CannedTitleTaken() from clash


def fill(body: str, *, product: str, shopper: str) -> str:
    """`body` with `{product}` and `{shopper}` put in; with no shopper name ("") the space before a following
    comma or stop goes too ("Hi {shopper}," -> "Hi,")."""
    text = body.replace("{product}", product).replace("{shopper}", shopper)
    if not shopper:
        text = re.sub(r"[ \t]+([,.!?;:])", r"\1", text)
        text = re.sub(r"[ \t]{2,}", " ", text)
    return text
