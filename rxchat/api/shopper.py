"""A shopper's half of the API, under /api/products/{product_id}/chat/sessions: starting a session, reading
and erasing it, posting to and reading its thread.

The session id in the path is a secret (access logs redact it). Each route awaits rxchat.services and
returns a public shape; a message posted here is published live to open widgets and consoles after it
commits.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from rxchat.api import messages
from rxchat.api.deps import (
    API_PREFIX,
    BeforeQuery,
    ChatDep,
    ClientAddress,
    DbDep,
    IdempotencyKeyHeader,
    LimitQuery,
    ProductId,
)
from rxchat.api.errors import documented
from rxchat.models import MessagePublic, SessionPublic
from rxchat.services import chat
from rxchat.services.profile import EMAIL_MAX_CHARS
from rxchat.settings import settings

NOT_FOUND = {404: "Unknown product, or unknown, expired or foreign session."}


# What a shopper may say about themselves when starting a session (all optional; blank means not given).
class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_name: str | None = Field(default=None, max_length=settings.max_name_chars, examples=["Ada"])
    customer_email: EmailStr | None = Field(default=None, max_length=EMAIL_MAX_CHARS, examples=["ada@example.com"])

    @field_validator("customer_name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value.isprintable():  # control characters, lone surrogates (unstorable), invisible formatting
            raise ValueError("a name may contain only printable characters")
        return value or None

    @field_validator("customer_email", mode="before")
    @classmethod
    def _blank_email_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


# A message as a shopper sends it; the service trims it and applies the length rules.
class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        description=f"The text, stored as sent after trimming; at most {settings.max_message_chars} characters.",
        examples=["Does this lamp fit a 60 cm shelf?"],
    )


sessions = APIRouter(prefix=f"{API_PREFIX}/products/{{product_id}}/chat/sessions", tags=["sessions"])
thread = APIRouter(
    prefix=f"{API_PREFIX}/products/{{product_id}}/chat/sessions/{{session_id}}/messages", tags=["messages"]
)


@sessions.post(
    "",
    status_code=201,
    response_model=SessionPublic,
    response_description="The new session.",
    responses=documented(400, 404, 413, 422, 429, described=NOT_FOUND),
)
async def create_session(
    product_id: ProductId,
    s: DbDep,
    address: ClientAddress,
    profile: Annotated[SessionCreate | None, Body()] = None,
) -> SessionPublic:
    """Start a conversation about a product. The returned `session_id` is a secret: keep it like a password."""
    profile = profile or SessionCreate()
    created = await chat.create_session(
        s,
        product_id=product_id,
        customer_name=profile.customer_name,
        customer_email=profile.customer_email,
        client_address=address,
    )
    return chat.to_session_public(created)


@sessions.get("/{session_id}", response_model=SessionPublic, responses=documented(404, described=NOT_FOUND))
async def get_session(current: ChatDep) -> SessionPublic:
    """The session: its product, profile, activity and status."""
    return chat.to_session_public(current)


@sessions.delete(
    "/{session_id}", status_code=204, response_class=Response, responses=documented(404, described=NOT_FOUND)
)
async def delete_session(current: ChatDep, s: DbDep) -> Response:
    """Erase the conversation and all its messages; the id answers 404 afterwards."""
    await chat.delete_session(s, chat=current)
    return Response(status_code=204)


@thread.post(
    "",
    status_code=201,
    response_model=MessagePublic,
    response_description="The stored message.",
    responses={**messages.RETRY, **documented(400, 404, 409, 413, 422, 429, described=NOT_FOUND)},
)
async def post_message(
    payload: MessageCreate,
    current: ChatDep,
    s: DbDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessagePublic:
    """Post a shopper message: 201 with the stored message; a retry with the same Idempotency-Key gets 200 and it."""
    return await messages.post_once(
        s, current, author="shopper", content=payload.content, idempotency_key=idempotency_key, response=response
    )


@thread.get("", response_model=messages.MessagePage, responses=documented(404, 422, described=NOT_FOUND))
async def list_messages(
    current: ChatDep,
    s: DbDep,
    before: BeforeQuery = None,
    limit: LimitQuery = chat.PAGE_SIZE,
) -> messages.MessagePage:
    """The thread newest first, one page at a time."""
    return await messages.page_of(s, current, before=before, limit=limit)
