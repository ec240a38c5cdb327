"""What every route of the API may ask for: where the API lives and its request limits, a database session,
the parameters both halves share (ids in the path, paging, Idempotency-Key), the client's address, and the
staff token.

Depends on rxchat.services and rxchat.db only, never on another module of this package, so every module
here can build on it.
"""

from collections.abc import AsyncIterator
from typing import Annotated, ClassVar

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat import db
from rxchat.models import AgentPublic, ChatSession
from rxchat.services import agents, chat, errors, staff
from rxchat.settings import settings

API_PREFIX = "/api"
MAX_BODY_BYTES = 64 * 1024  # request bodies over this are refused (413) before anything parses them
MAX_JSON_DEPTH = 32  # JSON nested deeper than this is refused (400) before anything parses it
MAX_SEQ = 2**31 - 1  # `before=` is a message seq, a 32-bit column

PRODUCT_ID_DOC = "The product's id: 1-64 characters of A-Z a-z 0-9 _ -; unknown ids answer 404."
SESSION_ID_DOC = "The secret session id from POST .../chat/sessions; unknown, expired or foreign ids answer 404."
CONVERSATION_DOC = "The conversation's public handle (16 hex digits) from the inbox; unknown or erased ones answer 404."
TOKEN_DOC = "A staff API token from `python -m rxchat create-api-token --email E`, as `Authorization: Bearer <token>`."


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


# --- the database -----------------------------------------------------------------------------------------------


async def get_db() -> AsyncIterator[AsyncSession]:
    async with db.session() as s:
        yield s


DbDep = Annotated[AsyncSession, Depends(get_db)]


# --- parameters both halves take ----------------------------------------------------------------------------------

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Up to 64 printable characters; a retry with the same key stores nothing new.",
    ),
]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=MAX_SEQ, description="Only messages older than this seq (a cursor).")
]
LimitQuery = Annotated[int, Query(ge=1, description=f"Page size; larger values are capped at {chat.MAX_PAGE_SIZE}.")]


# --- a shopper's session ------------------------------------------------------------------------------------------

ProductId = Annotated[str, Path(description=PRODUCT_ID_DOC, examples=["aurora-lamp"])]
SessionId = Annotated[str, Path(description=SESSION_ID_DOC)]


async def get_chat(product_id: ProductId, session_id: SessionId, s: DbDep) -> ChatSession:
    """The session named by the path, or 404 (product_not_found / session_not_found)."""
    await chat.get_product(s, product_id=product_id)
    return await chat.get_session(s, product_id=product_id, session_id=session_id)


ChatDep = Annotated[ChatSession, Depends(get_chat)]


def client_address(request: Request) -> str | None:
    """The client's address, for the per-address session limit: the peer's, or behind trusted proxies
    (REFLEX_TRUSTED_PROXY_HOPS) the X-Forwarded-For entry that many hops from the end, as Reflex reads it
    for the widget."""
    hops = settings.trusted_proxy_hops
    if hops:
        forwarded = [ip.strip() for ip in request.headers.get("x-forwarded-for", "").split(",") if ip.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]


# --- staff ----------------------------------------------------------------------------------------------------------


class NotAuthenticated(errors.ChatError):
    code = "not_authenticated"
    status = 401
    message = "Send a staff API token as `Authorization: Bearer <token>`."
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "This API token is unknown, revoked, or belongs to a deactivated staff account."
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


bearer = HTTPBearer(scheme_name="StaffToken", description=TOKEN_DOC, auto_error=False)


async def current_agent(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], s: DbDep
) -> AgentPublic:
    """The active agent whose API token came with the request, or 401."""
    if credentials is None:
        raise NotAuthenticated()
    agent = await agents.agent_for_token(s, token=credentials.credentials, kind="api")
    if agent is None:
        raise InvalidToken()
    return agent


CurrentAgent = Annotated[AgentPublic, Depends(current_agent)]
ConversationId = Annotated[str, Path(description=CONVERSATION_DOC, examples=["3f9a0c1d2e4b5a67"])]


async def get_conversation(conversation: ConversationId, s: DbDep) -> ChatSession:
    """The conversation named by the path, or 404 (session_not_found)."""
    return await staff.get_conversation(s, conversation=conversation)


ConversationDep = Annotated[ChatSession, Depends(get_conversation)]
