"""Which console tabs are open, across every worker: the set presence is counted from.

In Redis when workers share state (REFLEX_REDIS_URL), else in this process.
"""

from rxchat.settings import settings

CONSOLES_KEY = "rxchat:presence:consoles"  # Redis set of open console tokens, shared by workers


class OpenConsoles:
    def __init__(self) -> None:
        self._local: set[str] = set()
        self._redis = None

    def _client(self):
        if settings.redis_url and self._redis is None:
            import redis.asyncio as redis

            url = settings.redis_url if "://" in settings.redis_url else f"redis://{settings.redis_url}"
            self._redis = redis.from_url(url)
        return self._redis

    async def add(self, token: str) -> None:
        if (client := self._client()) is not None:
            await client.sadd(CONSOLES_KEY, token)
        else:
            self._local.add(token)

    async def discard(self, token: str) -> None:
        if (client := self._client()) is not None:
            await client.srem(CONSOLES_KEY, token)
        else:
            self._local.discard(token)

    async def members(self) -> set[str]:
        if (client := self._client()) is not None:
            return {m.decode() if isinstance(m, bytes) else m for m in await client.smembers(CONSOLES_KEY)}
        return set(self._local)
