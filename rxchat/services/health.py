"""Whether this instance can reach what it needs: the database, and Redis when it is configured.

Each check has a short deadline of its own, so a database or Redis that hangs reads as unreachable
instead of holding the caller (a proxy's or an orchestrator's health probe) until its own timeout.
"""

import asyncio
import logging
from typing import Literal

import sqlalchemy as sa

from rxchat import db
from rxchat.settings import settings

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECS = 2.0
Reach = Literal["ok", "unreachable", "not_configured"]


async def database() -> Reach:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECS):
            async with db.session() as s:
                await (await s.connection()).execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not usable now"; which one goes to the log, not the answer
        logger.warning("health: the database is unreachable (%s)", type(exc).__name__)
        return "unreachable"
    return "ok"


async def redis() -> Reach:
    if not settings.redis_url:
        return "not_configured"
    import redis.asyncio as aioredis

    url = settings.redis_url if "://" in settings.redis_url else f"redis://{settings.redis_url}"
    client = aioredis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECS, socket_timeout=CHECK_TIMEOUT_SECS)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECS):
            await client.ping()  # type: ignore[misc]  # redis-py types ping for both clients
    except Exception as exc:
        logger.warning("health: Redis is unreachable (%s)", type(exc).__name__)
        return "unreachable"
    finally:
        await client.aclose()
    return "ok"


async def check() -> dict[str, Reach]:
    """{"database": ..., "redis": ...}, both checked at once."""
    database_reach, redis_reach = await asyncio.gather(database(), redis())
    return {"database": database_reach, "redis": redis_reach}


def healthy(report: dict[str, Reach]) -> bool:
    return all(reach != "unreachable" for reach in report.values())
