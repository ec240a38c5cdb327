"""GET /api/health: whether this instance can serve, for a proxy's or an orchestrator's health checks.

200 when the database (and Redis, when configured) answer, 503 otherwise; the body names which, and holds
no URL, host or credential.
"""

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from rxchat.api.deps import API_PREFIX
from rxchat.services import health

router = APIRouter(prefix=API_PREFIX, tags=["health"])

Reach = Literal["ok", "unreachable", "not_configured"]


class Health(BaseModel):
    status: Literal["ok", "unavailable"] = Field(description="ok: this instance can serve chats.")
    database: Reach
    redis: Reach = Field(description="not_configured when REFLEX_REDIS_URL is unset (one process).")


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database or Redis cannot be reached."}},
    summary="Whether this instance reaches its database and Redis",
)
async def get_health(response: Response) -> Health:
    report = await health.check()
    ok = health.healthy(report)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return Health(status="ok" if ok else "unavailable", database=report["database"], redis=report["redis"])
