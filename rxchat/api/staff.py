"""The staff half of the API under /api/agent: the inbox, threads, replies, closing and reopening.

Every route needs `Authorization: Bearer <token>` with a token from `python -m rxchat create-api-token
--email E` (an "api" credential). A console sign-in token, a shopper's session id, a revoked token or the
token of a deactivated agent answers 401 with `WWW-Authenticate: Bearer`; the check reads the database on
every request, so `deactivate-agent` takes effect at once.

Conversations are addressed by their public handle (`conversation`), never by the shopper's secret session
id, and no staff response carries one. Each route awaits rxchat.services and returns public shapes; a reply
goes through rxchat.services.chat like a console reply, so it is published live to the shopper's widget
after it commits.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.api import messages
from rxchat.api.deps import (
    API_PREFIX,
    BeforeQuery,
    ConversationDep,
    CurrentAgent,
    DbDep,
    IdempotencyKeyHeader,
    LimitQuery,
    current_agent,
)
from rxchat.api.errors import documented
from rxchat.clock import iso
from rxchat.models import ChatSession, ConversationSummary, MessagePublic
from rxchat.services import chat, errors, ids, staff
from rxchat.settings import settings

MAX_INBOX = 500  # the most conversations one inbox request lists
NOT_FOUND = {404: "Unknown or erased conversation."}


def _errors(*statuses: int):
    """Every staff route may answer 401 (see the module docstring)."""
    return documented(401, *statuses, described=NOT_FOUND)


# The inbox: conversations with at least one message, most recent activity first.
class ConversationList(BaseModel):
    conversations: list[ConversationSummary]


# One conversation as staff see it; `conversation` is its public handle, never the shopper's session id.
class ConversationDetail(BaseModel):
    conversation: str = Field(description="The public handle; use it in the other /api/agent paths.")
    product_id: str
    product_name: str
    shopper_label: str = Field(description="A stable, non-secret name for the shopper across their threads.")
    customer_name: str | None = None
    customer_email: str | None = None
    status: str = Field(description="`open` or `closed`; a new shopper message reopens a closed conversation.")
    created_at: str
    last_activity: str
    message_count: int
    last_seq: int = Field(description="The seq of the newest message (0 when there is none).")
    agent_read_seq: int = Field(description="Shopper messages up to this seq have been seen by staff.")


# A reply as staff send it; the service trims it and applies the length rules.
class ReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        description=f"The text, stored as sent after trimming; at most {settings.max_message_chars} characters.",
        examples=["Yes, it is 55 cm wide, so it fits."],
    )


async def _detail(s: AsyncSession, conversation: ChatSession) -> ConversationDetail:
    try:
        product_name = (await chat.get_product(s, product_id=conversation.product_id)).name
    except errors.ProductNotFound:  # a product the catalog no longer has: its id names it
        product_name = conversation.product_id
    return ConversationDetail(
        conversation=conversation.public_id,
        product_id=conversation.product_id,
        product_name=product_name,
        shopper_label=staff.shopper_label(conversation),
        customer_name=conversation.customer_name,
        customer_email=conversation.customer_email,
        status=conversation.status,
        created_at=iso(conversation.created_at),
        last_activity=iso(conversation.last_activity),
        message_count=conversation.message_count,
        last_seq=conversation.last_seq,
        agent_read_seq=conversation.agent_read_seq,
    )


# Authentication runs first for every route here (router dependencies precede the route's own), so an
# unauthenticated request learns nothing, not even whether a conversation exists.
router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=["staff"], dependencies=[Depends(current_agent)])


@router.get("/conversations", response_model=ConversationList, responses=_errors(422))
async def list_conversations(
    s: DbDep,
    product_id: Annotated[
        str | None, Query(pattern=ids.PRODUCT_ID_RE.pattern, description="Only conversations about this product.")
    ] = None,
    status: Annotated[Literal["open", "closed"] | None, Query(description="Only open or only closed ones.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_INBOX, description="How many, most recent activity first.")
    ] = staff.INBOX_SIZE,
) -> ConversationList:
    """The inbox: conversations with at least one message, most recent activity first."""
    found = await staff.list_conversations(s, product_id=product_id, status=status, limit=limit)
    return ConversationList(conversations=found)


@router.get("/conversations/{conversation}", response_model=ConversationDetail, responses=_errors(404))
async def get_conversation_detail(current: ConversationDep, s: DbDep) -> ConversationDetail:
    """One conversation: its product, shopper, status and counters."""
    return await _detail(s, current)


@router.get("/conversations/{conversation}/messages", response_model=messages.MessagePage, responses=_errors(404, 422))
async def list_conversation_messages(
    current: ConversationDep,
    s: DbDep,
    before: BeforeQuery = None,
    limit: LimitQuery = chat.PAGE_SIZE,
) -> messages.MessagePage:
    """The thread newest first, one page at a time (reading does not mark it read)."""
    return await messages.page_of(s, current, before=before, limit=limit)


@router.post(
    "/conversations/{conversation}/messages",
    status_code=201,
    response_model=MessagePublic,
    response_description="The stored reply.",
    responses={**messages.RETRY, **_errors(400, 404, 409, 413, 422)},
)
async def post_reply(
    payload: ReplyCreate,
    current: ConversationDep,
    agent: CurrentAgent,
    s: DbDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessagePublic:
    """Reply as the token's agent; it shows in the shopper's widget at once, under the agent's display name.

    201 with the stored reply; a retry with the same Idempotency-Key answers 200 with it.
    """
    # chat.post_message (in post_once) rather than staff.reply: the same write and live event, and whether
    # it is new.
    return await messages.post_once(
        s,
        current,
        author="agent",
        content=payload.content,
        idempotency_key=idempotency_key,
        response=response,
        agent_name=agent.display_name,
    )


@router.post("/conversations/{conversation}/close", response_model=ConversationDetail, responses=_errors(404))
async def close_conversation(current: ConversationDep, s: DbDep) -> ConversationDetail:
    """Mark the conversation closed (idempotent); a new shopper message reopens it."""
    await staff.set_status(s, chat_session=current, status="closed")
    return await _detail(s, current)


@router.post("/conversations/{conversation}/reopen", response_model=ConversationDetail, responses=_errors(404))
async def reopen_conversation(current: ConversationDep, s: DbDep) -> ConversationDetail:
    """Mark the conversation open again (idempotent)."""
    await staff.set_status(s, chat_session=current, status="open")
    return await _detail(s, current)
