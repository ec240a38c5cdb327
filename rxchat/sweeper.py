"""The background sweeper: every RXCHAT_SWEEP_INTERVAL_SECONDS, remove expired sessions (rxchat/services/lifecycle.py).

Registered with `app.register_lifespan_task`, so every worker runs one; the sweep lock lets one of them work
at a time. A failed sweep is logged by its error class only (never a session id) and tried again next time.
An interval of 0 or less switches the sweeper off.
"""

import asyncio
import logging

from rxchat import db
from rxchat.services import lifecycle
from rxchat.settings import settings

logger = logging.getLogger(__name__)


async def sweep_forever() -> None:
    """Sleep an interval, sweep, repeat, for the life of the worker."""
    if settings.sweep_interval_seconds <= 0:
        return
    while True:
        await asyncio.sleep(settings.sweep_interval_seconds)
        try:
            async with db.session() as s:
                result = await lifecycle.sweep_once(s)
        except Exception as error:  # noqa: BLE001  (a failed sweep must not end the worker's sweeper)
            logger.warning("session sweep failed: %s", type(error).__name__)
            continue
        if result is not None and result.sessions:
            logger.info("session sweep removed %d expired sessions and %d messages", result.sessions, result.messages)
