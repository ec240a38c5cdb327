"""Session lifecycle: sweeping expired conversations away, and adopting the original system's session ids.

Expiry is the rule `chat.is_expired` applies when a session is used (idle past RXCHAT_SESSION_TTL_DAYS, or
no message RXCHAT_EMPTY_SESSION_TTL_HOURS after it was created); the sweep deletes exactly those rows, so
nothing it removes could still have been used. It works in batches, one transaction each: select a batch of
ids (through an index: `last_activity` for idle sessions, the partial index of empty sessions by
`created_at` for empty ones), delete their messages, then the sessions, re-checking the rule in both
deletes so a message that arrived meanwhile keeps its conversation. After each commit it publishes one
"erased" event per conversation removed, so open consoles show it as gone, and yields to the event loop.

One sweeper at a time: `sweep_once` takes a lock first, in Redis when REFLEX_REDIS_URL is set (every
worker and instance), else in this process. The lock saves work; it is not what keeps the sweep correct:
two sweeps at once (say the CLI beside a server without Redis) delete each row once, and each deleted row
is announced once.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import redis.asyncio as aioredis
import sqlalchemy as sa
from redis.exceptions import LockNotOwnedError, RedisError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import utcnow
from rxchat.models import ChatMessage, ChatSession
from rxchat.services import events, ids, limits
from rxchat.services.chat import empty_expired_clause, idle_expired_clause, is_expired
from rxchat.services.publish import publish
from rxchat.settings import settings

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "rxchat-sweep-lock"  # beside Reflex's own keys in Redis, named apart from them
SWEEP_LOCK_TTL_SECS = 120  # a sweeper that dies frees the lock after this; renewed after every batch

Renew = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class SweepResult:
    """What one sweep removed."""

    sessions: int = 0
    messages: int = 0


# --- the sweep --------------------------------------------------------------------------------------------------


async def sweep_expired(
    db: AsyncSession,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    renew: Renew | None = None,
) -> SweepResult:
    """Delete every expired session with its messages, `batch_size` sessions per transaction.

    `now` defaults to the clock; `batch_size` to RXCHAT_SWEEP_BATCH_SIZE (read at call time). `renew`, if
    given, is awaited after each committed batch (the sweep lock extends its lease with it).
    """
    now = now or utcnow()
    batch_size = max(1, batch_size or settings.sweep_batch_size)
    sessions = messages = 0
    for clause in (empty_expired_clause(now), idle_expired_clause(now)):
        while True:
            selected, removed_messages, erased = await _sweep_batch(db, clause=clause, batch_size=batch_size)
            sessions += len(erased)
            messages += removed_messages
            for public_id, product_id in erased:
                await publish(events.ConversationErased(conversation=public_id, product_id=product_id))
            if selected < batch_size:
                break
            if renew is not None:
                await renew()
            await asyncio.sleep(0)  # let the worker's other clients run between batches
    return SweepResult(sessions=sessions, messages=messages)


async def _sweep_batch(
    db: AsyncSession, *, clause: sa.ColumnElement[bool], batch_size: int
) -> tuple[int, int, list[tuple[str, str]]]:
    """One transaction: up to `batch_size` expired sessions and their messages.

    Returns how many ids were selected, how many messages were deleted, and (public_id, product_id) of each
    session deleted. On PostgreSQL the selected rows stay locked until the commit (a concurrent writer waits,
    then finds the row gone), and rows another transaction holds are left for the next sweep; on SQLite the
    first delete takes the write lock, and both deletes re-check the rule.
    """
    try:
        query = select(ChatSession.id).where(clause).limit(batch_size).with_for_update(skip_locked=True)
        batch = list((await db.exec(query)).all())
        if not batch:
            await db.commit()  # ends the read (on PostgreSQL, the transaction the select began); expires nothing
            return 0, 0, []
        still_expired = sa.and_(col(ChatSession.id).in_(batch), clause)
        removed_messages = await db.exec(
            sa.delete(ChatMessage)
            .where(col(ChatMessage.session_id).in_(select(ChatSession.id).where(still_expired)))
            .execution_options(synchronize_session=False)
        )
        removed_sessions = await db.exec(
            sa.delete(ChatSession)
            .where(still_expired)
            .returning(col(ChatSession.public_id), col(ChatSession.product_id))
            .execution_options(synchronize_session="fetch")
        )
        erased = [(row.public_id, row.product_id) for row in removed_sessions.all()]
        message_count = removed_messages.rowcount or 0
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return len(batch), message_count, erased


# --- one sweeper at a time --------------------------------------------------------------------------------------

_local_lock = asyncio.Lock()  # one process without Redis: its sweeper and anything else that sweeps in it


async def _no_lease() -> None:
    """The process-local lock has no lease to renew."""


@asynccontextmanager
async def sweep_lock() -> AsyncIterator[Renew | None]:
    """Hold the sweep lock for the block. Yields a function that renews the lease, or None when another
    worker or instance holds the lock (the block must then do nothing)."""
    if not settings.redis_url:
        if _local_lock.locked():
            yield None
            return
        async with _local_lock:
            yield _no_lease
        return
    url = settings.redis_url if "://" in settings.redis_url else f"redis://{settings.redis_url}"
    client = aioredis.from_url(url)
    try:
        # redis-py's Lock: SET key token NX PX ttl to take it; a Lua compare-and-delete (or compare-and-pexpire)
        # to release (or renew) it, so a lease that expired and was taken by another holder is never freed.
        lock = client.lock(SWEEP_LOCK_KEY, timeout=SWEEP_LOCK_TTL_SECS, blocking=False, thread_local=False)
        if not await lock.acquire(blocking=False):
            yield None
            return
        try:
            yield lock.reacquire
        finally:
            try:
                await lock.release()
            except LockNotOwnedError:
                logger.warning("the sweep lock's lease ran out before the sweep finished")
            except RedisError as error:  # the lease frees itself within SWEEP_LOCK_TTL_SECS
                logger.warning("could not release the sweep lock: %s", type(error).__name__)
    finally:
        await client.aclose()


async def sweep_once(
    db: AsyncSession, *, now: datetime | None = None, batch_size: int | None = None
) -> SweepResult | None:
    """Sweep now if no other sweeper is at work; None when another one holds the lock."""
    async with sweep_lock() as renew:
        if renew is None:
            return None
        return await sweep_expired(db, now=now, batch_size=batch_size, renew=renew)


# --- adopting the original system's ids -------------------------------------------------------------------------


async def adopt_legacy_session(
    db: AsyncSession,
    *,
    product_id: str,
    legacy_id: str,
    client_address: str | None = None,
    tab: str | None = None,
) -> ChatSession | None:
    """Give a live conversation of the original system a strong id; None unless there is one to adopt.

    `legacy_id` must have the original format (`session_{timestamp}_{random}_{fingerprint}`) and be the exact
    id of a live, unexpired session of `product_id`. The row's id is rotated to a freshly minted one and
    committed; from then on the old id matches nothing (and `find_session` never accepts the legacy format
    at all, so only this function ever looks one up). Two tabs adopting at once: one gets the session, the
    other None.

    A well-formed id is counted before the lookup against `client_address` and `tab` (the caller's Reflex
    client token): past RXCHAT_LEGACY_ADOPTIONS_PER_HOUR per address (None shares one "unknown" address) or
    RXCHAT_LEGACY_ADOPTIONS_PER_TAB per tab in an hour, this raises `errors.RateLimited` and looks nothing
    up, so the ids cannot be guessed in bulk. The caller should then leave its record alone (the id may be
    real) rather than treat it as unknown.
    """
    if not ids.is_legacy_session_id(legacy_id) or not ids.is_valid_product_id(product_id):
        return None
    await limits.check_legacy_adoption(client_address=client_address, tab=tab)
    query = select(ChatSession).where(ChatSession.session_id == legacy_id, ChatSession.product_id == product_id)
    chat = (await db.exec(query)).first()
    if chat is None or not chat.is_active or is_expired(chat):
        return None
    rotate = (
        sa.update(ChatSession)
        .where(col(ChatSession.id) == chat.id, col(ChatSession.session_id) == legacy_id)
        .values(session_id=ids.mint_session_id())
        .execution_options(synchronize_session=False)
    )
    rotated = (await db.exec(rotate)).rowcount
    await db.commit()
    if rotated != 1:
        return None  # another tab adopted it first
    await db.refresh(chat)
    return chat
