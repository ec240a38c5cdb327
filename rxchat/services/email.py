"""Reply emails: the shopper's consent, and the outbox rule that decides when a reply is emailed (docs/email.md).

- Consent: only an address the shopper saved in the widget is ever written to (`subscribe`, called by the
  widget alone; an email given to the HTTP API is kept on the conversation but never mailed). The shopper
  removes it in the widget (`remove`) or with the link in every email (`unsubscribe`).
- The rule: a conversation whose oldest agent reply not yet seen by the shopper and not yet in an email is
  RXCHAT_EMAIL_AFTER_SECONDS old gets one email, with every reply since the shopper last looked (a burst),
  unless it had RXCHAT_EMAILS_PER_HOUR emails in the last hour (its later replies then wait for the next one).
- Once: queuing moves the consent's `emailed_seq` with a compare-and-set in the same transaction that inserts
  the outbox row, so two senders never queue the same replies; a sender claims a row with a lease before
  sending, so two senders never send it together. A send that fails is retried with backoff (attempt n waits
  BACKOFF_FIRST_SECS * 2**(n-1), at most BACKOFF_MAX_SECS) and after MAX_ATTEMPTS the row stays as `failed`
  (logged as an error), never dropped silently. A sender that dies after the SMTP server took the email but
  before recording it leaves its lease to lapse: that email may then go twice (at least once, never lost).
- Erasing a conversation (or its expiry) deletes its consent, pending emails and links (ON DELETE CASCADE).

`run_once(send)` is one round of queueing and sending; rxchat/emailer.py runs it in the background, with
`mailer.send` (rxchat/services/mailer.py) as `send`.
"""

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import utcnow
from rxchat.db import FirstRow, run_write
from rxchat.models import ChatMessage, ChatSession, EmailOutbox, EmailSubscription
from rxchat.services import catalog, email_links, events
from rxchat.services.publish import publish
from rxchat.settings import settings

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # a claimed email is free for another sender again after this (a sender died)
MAX_ATTEMPTS = 10  # then the email is kept as `failed` and logged as an error
BACKOFF_FIRST_SECS = 1.0  # the wait after the first failed attempt; doubled after each one
BACKOFF_MAX_SECS = 600.0
CLAIM_BATCH = 20  # outbox rows looked at per claim query
RATE_WINDOW = timedelta(hours=1)

_SUBSCRIPTIONS = EmailSubscription.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)
_OUTBOX = EmailOutbox.__table__  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class Reply:
    agent_name: str
    body: str


@dataclasses.dataclass(frozen=True)
class ReplyEmail:
    """One email as a mailer sends it: to whom, about what, which replies, and its two links."""

    outbox_id: int
    to: str
    locale: str
    product_name: str
    product_url: str
    replies: list[Reply]
    resume_url: str
    unsubscribe_url: str


Send = Callable[[ReplyEmail], Awaitable[None]]


def is_enabled() -> bool:
    """Emails are on when RXCHAT_SMTP_URL is set."""
    return bool(settings.smtp_url)


# --- consent -----------------------------------------------------------------------------------------------------


async def subscribe(db: AsyncSession, *, chat_session: ChatSession, email: str, locale: str = "en") -> None:
    """The shopper saved `email` (already clean: services/profile.py) in the widget for this conversation."""
    existing = (await db.exec(select(EmailSubscription).where(EmailSubscription.chat_id == chat_session.id))).first()
    if existing is None:
        db.add(EmailSubscription(chat_id=chat_session.id or 0, email=email, locale=locale, created_at=utcnow()))
    elif (existing.email, existing.locale) != (email, locale):
        existing.email, existing.locale = email, locale
        db.add(existing)
    else:
        return
    await db.commit()


async def remove(db: AsyncSession, *, chat_id: int) -> None:
    """No more emails for this conversation: the consent and any email not yet sent go, and the address leaves
    the record of those sent (kept without it: the console's notice and the hourly limit count them)."""
    connection = await db.connection()
    await connection.execute(sa.update(_OUTBOX).where(_OUTBOX.c.chat_id == chat_id).values(email=""))
    await connection.execute(sa.delete(_OUTBOX).where(_OUTBOX.c.chat_id == chat_id, _OUTBOX.c.status == "pending"))
    await connection.execute(sa.delete(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.chat_id == chat_id))
    await db.commit()


async def unsubscribe(db: AsyncSession, *, token: object) -> bool:
    """The unsubscribe link of an email: False when the token is unknown (or its conversation is gone)."""
    chat_id = await email_links.conversation_of_unsubscribe(db, token=token)
    if chat_id is None:
        return False
    await remove(db, chat_id=chat_id)
    return True


async def is_subscribed(db: AsyncSession, *, chat_id: int) -> bool:
    query = select(EmailSubscription.id).where(EmailSubscription.chat_id == chat_id)
    return (await db.exec(query)).first() is not None


async def emailed_seq(db: AsyncSession, *, chat_id: int) -> int:
    """Agent replies up to this seq went out by email (0: none): the console's notice."""
    query = select(sa.func.max(col(EmailOutbox.to_seq))).where(
        EmailOutbox.chat_id == chat_id, EmailOutbox.status == "sent"
    )
    return (await db.exec(query)).one() or 0


# --- the outbox rule -------------------------------------------------------------------------------------------


async def queue_due(db: AsyncSession, *, now: datetime | None = None) -> int:
    """Queue one email for each conversation that has one due (the module's rule); how many were queued."""
    now = now or utcnow()
    unseen_due = sa.exists().where(
        col(ChatMessage.session_id) == col(ChatSession.id),
        col(ChatMessage.author) == "agent",
        col(ChatMessage.seq) > col(EmailSubscription.emailed_seq),
        col(ChatMessage.seq) > col(ChatSession.shopper_seen_seq),
        col(ChatMessage.created_at) <= now - timedelta(seconds=settings.email_after_seconds),
    )
    sessions = ChatSession.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)
    query = (
        sa.select(
            _SUBSCRIPTIONS.c.id,
            _SUBSCRIPTIONS.c.chat_id,
            _SUBSCRIPTIONS.c.email,
            _SUBSCRIPTIONS.c.emailed_seq,
            sessions.c.last_seq,
            sessions.c.shopper_seen_seq,
        )
        .join(sessions, sessions.c.id == _SUBSCRIPTIONS.c.chat_id)
        .where(sessions.c.is_active.is_(True), unseen_due)
    )
    queued = 0
    for sub_id, chat_id, address, emailed, last_seq, seen in (await (await db.connection()).execute(query)).all():
        if await _sent_in_window(db, chat_id=chat_id, now=now) >= settings.emails_per_hour:
            continue  # its replies wait: the next email, once the hour allows, carries them
        row = {"chat_id": chat_id, "email": address, "from_seq": max(emailed, seen), "to_seq": last_seq,
               "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}  # fmt: skip
        if await run_write(db, functools.partial(_queue, sub_id, emailed, row)):
            queued += 1
    return queued


def _queue(sub_id: int, emailed: int, row: dict[str, Any], first_row: FirstRow) -> bool:
    """Move the consent's mark from `emailed` (compare-and-set: another sender may have moved it) and insert
    the outbox row, in one transaction."""
    moved = first_row(
        sa.update(_SUBSCRIPTIONS)
        .where(_SUBSCRIPTIONS.c.id == sub_id, _SUBSCRIPTIONS.c.emailed_seq == emailed)
        .values(emailed_seq=row["to_seq"])
        .returning(_SUBSCRIPTIONS.c.id),
        {},
    )
    if moved is None:
        return False
    first_row(sa.insert(_OUTBOX).values(**row).returning(_OUTBOX.c.id), {})
    return True


async def _sent_in_window(db: AsyncSession, *, chat_id: int, now: datetime) -> int:
    """Emails of this conversation queued in the last hour that went or may still go (not skipped ones)."""
    query = select(sa.func.count(col(EmailOutbox.id))).where(
        EmailOutbox.chat_id == chat_id,
        col(EmailOutbox.created_at) > now - RATE_WINDOW,
        col(EmailOutbox.status) != "skipped",
    )
    return (await db.exec(query)).one()


async def claim_next(db: AsyncSession, *, now: datetime | None = None) -> EmailOutbox | None:
    """Claim the next email due to be sent (a lease of LEASE); None when there is none free."""
    now = now or utcnow()
    free = sa.or_(col(EmailOutbox.claimed_until).is_(None), col(EmailOutbox.claimed_until) < now)
    query = (
        select(EmailOutbox.id)
        .where(EmailOutbox.status == "pending", col(EmailOutbox.next_attempt_at) <= now, free)
        .order_by(col(EmailOutbox.id))
        .limit(CLAIM_BATCH)
    )
    for outbox_id in (await db.exec(query)).all():
        claim = (
            sa.update(_OUTBOX)
            .where(
                _OUTBOX.c.id == outbox_id,
                _OUTBOX.c.status == "pending",
                sa.or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < now),
            )
            .values(claimed_until=now + LEASE, attempts=_OUTBOX.c.attempts + 1)
            .returning(*_OUTBOX.c)
        )
        row = await run_write(db, functools.partial(_first, claim))
        if row is not None:
            return EmailOutbox(**row)
    return None


async def prepare(db: AsyncSession, *, job: EmailOutbox) -> tuple[ReplyEmail | None, list[int]]:
    """The email of a claimed row, with fresh links, and the ids of those links (withdrawn if the send fails).
    None when nothing is left to send: the shopper saw the replies meanwhile (the row is `skipped`) or the
    consent was removed."""
    fresh = {"populate_existing": True}  # as stored now, not as this session last loaded them
    chat_session = (
        await db.exec(select(ChatSession).where(ChatSession.id == job.chat_id).execution_options(**fresh))
    ).first()
    subscription = (
        await db.exec(
            select(EmailSubscription).where(EmailSubscription.chat_id == job.chat_id).execution_options(**fresh)
        )
    ).first()
    if chat_session is None or subscription is None or chat_session.shopper_seen_seq >= job.to_seq:
        await _finish(db, job_id=job.id or 0, status="skipped")
        return None, []
    query = (
        select(ChatMessage)
        .where(
            ChatMessage.session_id == job.chat_id,
            ChatMessage.author == "agent",
            col(ChatMessage.seq) > max(job.from_seq, chat_session.shopper_seen_seq),
            col(ChatMessage.seq) <= job.to_seq,
        )
        .order_by(col(ChatMessage.seq))
    )
    replies = [Reply(m.agent_name or "", m.body) for m in (await db.exec(query)).all()]
    if not replies:
        await _finish(db, job_id=job.id or 0, status="skipped")
        return None, []
    product = await catalog.find_product(db, chat_session.product_id)
    base = settings.public_url.rstrip("/")
    resume, resume_id = await email_links.issue(db, chat_id=job.chat_id, kind=email_links.RESUME)
    unsubscribe_token, unsubscribe_id = await email_links.issue(db, chat_id=job.chat_id, kind=email_links.UNSUBSCRIBE)
    product_url = product.url if product is not None and product.url else f"/products/{chat_session.product_id}"
    email = ReplyEmail(
        outbox_id=job.id or 0,
        to=job.email,
        locale=subscription.locale,
        product_name=product.name if product is not None else chat_session.product_id,
        product_url=product_url if "://" in product_url else base + product_url,
        replies=replies,
        resume_url=f"{base}/chat/resume/{resume}",
        unsubscribe_url=f"{base}/chat/unsubscribe/{unsubscribe_token}",
    )
    return email, [resume_id, unsubscribe_id]


async def mark_sent(db: AsyncSession, *, job: EmailOutbox) -> None:
    """Recorded as sent, then announced: the console shows that the replies were emailed."""
    await _finish(db, job_id=job.id or 0, status="sent")
    public_id = (await db.exec(select(ChatSession.public_id).where(ChatSession.id == job.chat_id))).first()
    if public_id is not None:
        await publish(events.RepliesEmailed(conversation=public_id, emailed_seq=job.to_seq))


async def mark_failed(db: AsyncSession, *, job: EmailOutbox, error: BaseException) -> bool:
    """A failed attempt: retried after a backoff, or kept as `failed` after MAX_ATTEMPTS. True if it will retry."""
    reason = f"{type(error).__name__}: {error}"[:200]
    if job.attempts >= MAX_ATTEMPTS:
        logger.error("reply email %d failed %d times and is given up: %s", job.id, job.attempts, reason)
        await _finish(db, job_id=job.id or 0, status="failed", last_error=reason)
        return False
    wait = min(BACKOFF_FIRST_SECS * 2 ** (job.attempts - 1), BACKOFF_MAX_SECS)
    logger.warning("reply email %d failed (attempt %d), retrying in %.0f s: %s", job.id, job.attempts, wait, reason)
    update = (
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.id == job.id)
        .values(claimed_until=None, next_attempt_at=utcnow() + timedelta(seconds=wait), last_error=reason)
    )
    await run_write(db, lambda first_row: first_row(update.returning(_OUTBOX.c.id), {}))
    return True


def _first(statement: sa.Executable, first_row: FirstRow) -> dict[str, Any] | None:
    return first_row(statement, {})


async def _finish(db: AsyncSession, *, job_id: int, status: str, last_error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "claimed_until": None}
    if status == "sent":
        values["sent_at"] = utcnow()
    if last_error is not None:
        values["last_error"] = last_error
    update = sa.update(_OUTBOX).where(_OUTBOX.c.id == job_id).values(**values).returning(_OUTBOX.c.id)
    await run_write(db, lambda first_row: first_row(update, {}))


async def run_once(db: AsyncSession, *, send: Send) -> int:
    """One round: queue what is due, then claim and send until nothing is free. How many emails went out."""
    await queue_due(db)
    sent = 0
    while (job := await claim_next(db)) is not None:
        email, token_ids = await prepare(db, job=job)
        if email is None:
            continue
        try:
            await send(email)
        except Exception as error:  # noqa: BLE001  (any failure of the send is retried, never lost)
            await email_links.withdraw(db, token_ids=token_ids)
            await mark_failed(db, job=job, error=error)
            continue
        await mark_sent(db, job=job)
        sent += 1
    return sent
