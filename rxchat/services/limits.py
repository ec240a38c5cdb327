"""Rate limits the services enforce, so the widget and the HTTP API share them.

Two limits, both moving windows:
- messages per conversation per minute (settings.messages_per_minute), keyed by
  a digest of the session's secret id, never by the id itself;
- new sessions per client address per hour (settings.sessions_per_hour).
A limit of 0 or less switches that limit off (benchmarks).

Storage follows the deployment: in memory when REFLEX_REDIS_URL is unset (one
process; `LocalMovingWindows`, below), in Redis through the `limits` library
when it is set, so every worker and instance counts against the same windows.
Async storages bind to the event loop that first uses them, so each loop gets
its own limiter (a server worker has one loop; tests have many). If the storage
fails (Redis down), the limit is skipped and a warning logged: chat stays up
rather than refusing everyone.
"""

import asyncio
import collections
import hashlib
import logging
import math
import time
import weakref
from types import SimpleNamespace

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from rxchat.services import errors
from rxchat.settings import settings

logger = logging.getLogger(__name__)

REDIS_KEY_PREFIX = "rxchat-limits"  # keeps our windows apart from Reflex's own keys


class LocalMovingWindows:
    """Moving windows in this process, with the calls of `MovingWindowRateLimiter` the limits here use.

    The `limits` library's memory storage starts a background pass over every key after each hit,
    each key a trip to a worker thread: work that competed with the very message being counted
    (bench/README.md), and that could fail on a key removed meanwhile. Here a key is a deque of its
    hits' times, pruned as it is read; a sweep now and then drops the keys whose newest hit is older
    than their own window.
    """

    SWEEP_EVERY_SECS = 60.0

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, collections.deque[float]]] = {}  # key -> (window secs, hit times)
        self._swept_at = time.monotonic()
        self.storage = SimpleNamespace(reset=self._reset)

    def _recent(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> collections.deque[float]:
        self._sweep(now)
        window = float(item.get_expiry())
        _window, hits = self._hits.setdefault(item.key_for(*identifiers), (window, collections.deque()))
        while hits and hits[0] <= now - window:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < self.SWEEP_EVERY_SECS:
            return
        self._swept_at = now
        self._hits = {key: entry for key, entry in self._hits.items() if entry[1] and entry[1][-1] > now - entry[0]}

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = time.monotonic()
        hits = self._recent(item, identifiers, now)
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    async def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        return len(self._recent(item, identifiers, time.monotonic())) < item.amount

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> SimpleNamespace:
        now = time.monotonic()
        hits = self._recent(item, identifiers, now)
        frees_in = hits[0] + item.get_expiry() - now if hits else 0.0
        return SimpleNamespace(reset_time=time.time() + frees_in, remaining=max(0, item.amount - len(hits)))

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._hits.pop(item.key_for(*identifiers), None)

    async def _reset(self) -> None:
        self._hits.clear()


_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MovingWindowRateLimiter | LocalMovingWindows]" = (
    weakref.WeakKeyDictionary()
)


def storage_for(redis_url: str) -> Storage:
    """The window storage shared by workers: Redis at REFLEX_REDIS_URL."""
    uri = redis_url if "://" in redis_url else f"redis://{redis_url}"
    return RedisStorage(f"async+{uri}", implementation="redispy", key_prefix=REDIS_KEY_PREFIX)


def _limiter() -> MovingWindowRateLimiter | LocalMovingWindows:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        shared = settings.redis_url
        limiter = _limiters[loop] = MovingWindowRateLimiter(storage_for(shared)) if shared else LocalMovingWindows()
    return limiter


async def _hit(item: RateLimitItem, *identifiers: str, refusal: str | None = None) -> None:
    """Count one event; over the limit, raise RateLimited with the seconds until a slot frees."""
    limiter = _limiter()
    try:
        if await limiter.hit(item, *identifiers):
            return
        stats = await limiter.get_window_stats(item, *identifiers)
    except Exception as error:  # noqa: BLE001  (storage down: do not take chat down with it)
        logger.warning("rate limit storage failed, limit skipped: %s", type(error).__name__)
        return
    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise errors.RateLimited(retry_after, refusal.format(minutes=math.ceil(retry_after / 60)) if refusal else None)


async def check_message(*, session_id: str) -> None:
    """One shopper message in the session with this secret id; RateLimited past messages_per_minute.

    Counted by a digest of the id, never the id itself, so the limit can be checked before the
    write that finds the session (the widget and the API count in the same window)."""
    if settings.messages_per_minute > 0:
        digest = hashlib.sha256(session_id.encode()).hexdigest()[:32]
        await _hit(RateLimitItemPerMinute(settings.messages_per_minute), "message", digest)


async def check_new_session(*, client_address: str) -> None:
    """One new session from `client_address`; RateLimited past sessions_per_hour."""
    if settings.sessions_per_hour > 0:
        await _hit(
            RateLimitItemPerHour(settings.sessions_per_hour),
            "session",
            client_address,
            refusal="Too many conversations were started from your network. Please try again in {minutes} minutes.",
        )


FAILED_SIGN_INS_ALLOWED = 5  # per email and per address
FAILED_SIGN_IN_WINDOW_MINUTES = 5


def _sign_in_item() -> RateLimitItem:
    return RateLimitItemPerMinute(FAILED_SIGN_INS_ALLOWED, FAILED_SIGN_IN_WINDOW_MINUTES)


async def check_sign_in(*keys: str) -> None:
    """Refuse a sign-in attempt while any key (an email, an address) has too many recent failures."""
    limiter, item = _limiter(), _sign_in_item()
    try:
        for key in keys:
            if not await limiter.test(item, "sign-in", key):
                stats = await limiter.get_window_stats(item, "sign-in", key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise errors.RateLimited(
                    retry_after, f"Too many failed sign-ins. Please wait {retry_after} seconds and try again."
                )
    except errors.RateLimited:
        raise
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit storage failed, limit skipped: %s", type(error).__name__)


async def record_failed_sign_in(*keys: str) -> None:
    limiter, item = _limiter(), _sign_in_item()
    try:
        for key in keys:
            await limiter.hit(item, "sign-in", key)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit storage failed, limit skipped: %s", type(error).__name__)


async def clear_sign_in(key: str) -> None:
    """A successful sign-in forgets that email's failures."""
    try:
        await _limiter().clear(_sign_in_item(), "sign-in", key)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit storage failed: %s", type(error).__name__)


async def reset() -> None:
    """Forget every window of this event loop's limiter (tests)."""
    limiter = _limiters.pop(asyncio.get_running_loop(), None)
    if limiter is not None:
        await limiter.storage.reset()
