"""The background sender of reply emails (rxchat/services/email.py decides what is due; docs/email.md).

Registered with `app.register_lifespan_task`, so every worker of every instance runs one; the outbox's
compare-and-set and claims make each email go once however many run. It looks every POLL_SECS (at most a
quarter of RXCHAT_EMAIL_AFTER_SECONDS, so an email leaves close to its time). Sending is aiosmtplib, async:
nothing blocks the event loop. A failed round is logged by its error class and tried again next time; a failed
send is retried by the outbox with backoff. Without RXCHAT_SMTP_URL it does nothing.
"""

import asyncio
import logging

from rxchat import db
from rxchat.services import email, mailer
from rxchat.settings import settings

logger = logging.getLogger(__name__)

MAX_POLL_SECS = 5.0
MIN_POLL_SECS = 0.5


def poll_secs() -> float:
    return min(MAX_POLL_SECS, max(MIN_POLL_SECS, settings.email_after_seconds / 4))


async def send_forever() -> None:
    """Queue and send due reply emails, for the life of the worker."""
    if not email.is_enabled():
        return
    try:
        mailer.smtp_options(settings.smtp_url or "")  # a malformed URL is said once, at start-up
    except ValueError as refused:
        logger.error("no reply emails will be sent: %s", refused)  # the sentence names no part of the URL
        return
    while True:
        await asyncio.sleep(poll_secs())
        try:
            async with db.session() as s:
                await email.run_once(s, send=mailer.send)
        except Exception as error:  # noqa: BLE001  (a failed round must not end the worker's sender)
            logger.warning("reply email round failed: %s", type(error).__name__)
