"""What the shopper and staff halves share about a thread: reading a page of it, and posting to it once per
Idempotency-Key."""

from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import ChatSession, MessagePublic
from rxchat.services import chat, errors


# A page of a thread, newest first; pass `next_before` as `before=` for the page before it.
class MessagePage(BaseModel):
    messages: list[MessagePublic]
    next_before: int | None = Field(description="The cursor for older messages; null on the oldest page.")


class IdempotencyKeyReused(errors.ChatError):
    code = "idempotency_key_reused"
    status = 409
    message = "This Idempotency-Key was already used for a different message."


# `responses=` entry for a post that may be a retry.
RETRY: dict[int | str, dict[str, Any]] = {
    200: {
        "model": MessagePublic,
        "description": "A retry with an Idempotency-Key already used: the message stored then.",
    }
}


async def page_of(s: AsyncSession, thread: ChatSession, *, before: int | None, limit: int) -> MessagePage:
    """The thread newest first, one page (the service caps `limit`)."""
    found, next_before = await chat.list_messages(s, chat=thread, before=before, limit=limit)
    return MessagePage(messages=found, next_before=next_before)


async def post_once(
    s: AsyncSession,
    thread: ChatSession,
    *,
    author: str,
    content: str,
    idempotency_key: str | None,
    response: Response,
    agent_name: str | None = None,
) -> MessagePublic:
    """Store a message (201); a retry with the same Idempotency-Key answers 200 with the message stored then.

    Keys are per conversation: a key already used for another text, or by the other side, is 409.
    """
    message, created = await chat.post_message(
        s, chat=thread, author=author, body=content, client_key=idempotency_key, agent_name=agent_name
    )
    if not created:
        if message.author != author or message.body != chat.clean_body(content):
            raise IdempotencyKeyReused()
        response.status_code = 200
    return message
