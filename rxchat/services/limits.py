"""Rate limits the services enforce, so the widget and the HTTP API share them.

Moving windows, each counted by a `hit` that both counts and refuses in one
step (in Redis one Lua script, in process no await between the two), so events
sent in parallel are capped exactly as serial ones are:
- messages per conversation per minute (settings.messages_per_minute), keyed by
  a digest of the session's secret id, never by the id itself;
- new sessions per client address per hour (settings.sessions_per_hour);
- staff sign-in attempts per email and per client address, counted before the
  password is checked; a successful sign-in gives its attempt back
  (FAILED_SIGN_INS_ALLOWED in FAILED_SIGN_IN_WINDOW_MINUTES);
- attempts to adopt an id of the original system, per client address and per
  tab, counted before the lookup (settings.legacy_adoptions_per_hour,
  settings.legacy_adoptions_per_tab).
A settings limit of 0 or less switches that limit off (benchmarks).

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
from typing import Any, cast

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
        # No await from the count to the append: under asyncio the check and the hit are one step, so
        # concurrent callers can never all pass the same free slot.
        now = time.monotonic()
        hits = self._recent(item, identifiers, now)
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    async def refund(self, item: RateLimitItem, *identifiers: str) -> None:
        """Give back the newest hit of that window (an event that turned out not to count)."""
        entry = self._hits.get(item.key_for(*identifiers))
        if entry is not None and entry[1]:
            entry[1].pop()

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


async def _refund(
    limiter: MovingWindowRateLimiter | LocalMovingWindows, item: RateLimitItem, *identifiers: str
) -> None:
    """Take the newest hit out of a window. In Redis a moving window is a list of hit times, newest first
    (the `limits` library's acquire_moving_window.lua pushes on the left), so that is one LPOP."""
    if isinstance(limiter, LocalMovingWindows):
        await limiter.refund(item, *identifiers)
        return
    bridge = cast(Any, limiter.storage).bridge  # storage_for's RedisStorage: limits' redis-py bridge, untyped here
    await bridge.get_connection().lpop(bridge.prefixed_key(item.key_for(*identifiers)))


Window = tuple[RateLimitItem, tuple[str, ...]]


async def _hit(item: RateLimitItem, *identifiers: str, refusal: str | None = None) -> None:
    """Count one event; over the limit, raise RateLimited with the seconds until a slot frees."""
    await _hit_all([(item, identifiers)], refusal=refusal)


async def _hit_all(windows: list[Window], *, refusal: str | None = None) -> None:
    """Count one event in every window, in order; RateLimited if any is full.

    Each window is hit atomically (count and refusal in one step). When one refuses, the hits already
    made in the windows before it are given back, so an event counts in every window or in none: an
    attempt refused for its address does not use up its email's (or tab's) allowance.
    `refusal` is the catalog entry of the refusal's sentence (rxchat/i18n); it may name {minutes} and {seconds}
    until a slot frees.
    """
    limiter = _limiter()
    counted: list[Window] = []
    try:
        for item, identifiers in windows:
            if not await limiter.hit(item, *identifiers):
                stats = await limiter.get_window_stats(item, *identifiers)
                break
            counted.append((item, identifiers))
        else:
            return
    except Exception as error:  # noqa: BLE001  (storage down: do not take chat down with it)
        logger.warning("rate limit storage failed, limit skipped: %s", type(error).__name__)
        return
    try:
        for counted_item, counted_identifiers in counted:
            await _refund(limiter, counted_item, *counted_identifiers)
    except Exception as error:  # noqa: BLE001  (the refusal stands; the window keeps one hit too many)
        logger.warning("rate limit storage failed, hit not given back: %s", type(error).__name__)
    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise errors.RateLimited(retry_after, key=refusal)


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
            refusal="error.too_many_sessions",
        )


FAILED_SIGN_INS_ALLOWED = 5  # per email and per address
FAILED_SIGN_IN_WINDOW_MINUTES = 5


def _sign_in_item() -> RateLimitItem:
    return RateLimitItemPerMinute(FAILED_SIGN_INS_ALLOWED, FAILED_SIGN_IN_WINDOW_MINUTES)


async def count_sign_in(*keys: str) -> None:
    """One sign-in attempt, counted against every key (the client address, then the email) BEFORE the
    password is checked; RateLimited while a key holds FAILED_SIGN_INS_ALLOWED attempts in the window.

    The count and the refusal are one atomic hit, so guesses sent in parallel (from many sockets or
    workers) are capped exactly as serial ones: at most FAILED_SIGN_INS_ALLOWED of them reach the
    password hash. A failed attempt keeps its place in the window; a successful one gives it back
    (`sign_in_succeeded`), so the window counts failures and attempts still being checked.
    """
    await _hit_all(
        [(_sign_in_item(), ("sign-in", key)) for key in keys],
        refusal="error.too_many_sign_ins",
    )


async def sign_in_succeeded(*, email_key: str, address_key: str) -> None:
    """A successful sign-in: forget that email's failures, and give the attempt back to the address
    (which keeps its count of failures, as before the attempt)."""
    limiter, item = _limiter(), _sign_in_item()
    try:
        await limiter.clear(item, "sign-in", email_key)
        await _refund(limiter, item, "sign-in", address_key)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit storage failed: %s", type(error).__name__)


async def check_legacy_adoption(*, client_address: str | None, tab: str | None) -> None:
    """One attempt to adopt an id of the original system, counted before the lookup; RateLimited past
    settings.legacy_adoptions_per_hour from the client address (None counts as one shared "unknown"
    address) or settings.legacy_adoptions_per_tab from the tab (per hour too; no tab, no tab limit).

    A hit takes over a live conversation, so these ids must not be guessable in bulk: each attempt is
    counted atomically, and parallel guesses are capped as serial ones are. The tab is counted by a digest.
    """
    windows: list[Window] = []
    if settings.legacy_adoptions_per_tab > 0 and tab:
        digest = hashlib.sha256(tab.encode()).hexdigest()[:32]
        windows.append((RateLimitItemPerHour(settings.legacy_adoptions_per_tab), ("legacy-tab", digest)))
    if settings.legacy_adoptions_per_hour > 0:
        address = client_address or "unknown"
        windows.append((RateLimitItemPerHour(settings.legacy_adoptions_per_hour), ("legacy-address", address)))
    if windows:
        await _hit_all(windows, refusal="error.too_many_lookups")


async def reset() -> None:
    """Forget every window of this event loop's limiter (tests)."""
    limiter = _limiters.pop(asyncio.get_running_loop(), None)
    if limiter is not None:
        await limiter.storage.reset()
