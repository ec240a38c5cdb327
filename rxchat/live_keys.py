"""The link keys of the live shared states: secrets no client can derive.

Reflex keeps a shared state under its link key, in the same store as every
tab's state under that tab's token, so a key a client could guess is a token it
could claim (the connection gate, rxchat/reflex_internals.py, also refuses any
token that is not a browser's). A room's key is an HMAC of its conversation's
public handle; the inbox's is an HMAC of a fixed name.

The key: `RXCHAT_SECRET_KEY` if set; otherwise random, kept in Redis (SET NX)
when Redis carries state, so every worker and instance derives the same keys;
otherwise one per process, which is where state lives then.
"""

import hashlib
import hmac
import secrets

from rxchat.settings import settings

REDIS_KEY = "rxchat:link-secret"
_secret: bytes | None = None


async def load() -> None:
    """Settle the secret before the server takes connections (a lifespan step); idempotent."""
    global _secret
    if _secret is not None:
        return
    if settings.secret_key:
        _secret = settings.secret_key.encode()
    elif settings.redis_url:
        import redis.asyncio as redis

        url = settings.redis_url if "://" in settings.redis_url else f"redis://{settings.redis_url}"
        client = redis.from_url(url)
        try:
            await client.set(REDIS_KEY, secrets.token_hex(32), nx=True)
            stored = await client.get(REDIS_KEY)
        finally:
            await client.aclose()
        _secret = stored if isinstance(stored, bytes) else str(stored).encode()
    else:
        _secret = secrets.token_bytes(32)


def _key() -> bytes:
    global _secret
    if _secret is None:
        if settings.redis_url and not settings.secret_key:
            raise RuntimeError("rxchat.live_keys.load() must run before live rooms are used")
        _secret = settings.secret_key.encode() if settings.secret_key else secrets.token_bytes(32)
    return _secret


def _derive(name: str) -> str:
    # Link keys may not contain '_' (Reflex's rule); hex has none.
    return hmac.new(_key(), name.encode(), hashlib.sha256).hexdigest()[:40]


def room_key(public_id: str) -> str:
    """The link key of a conversation's room."""
    return "room" + _derive("room:" + public_id)


def inbox_key() -> str:
    """The link key of the staff inbox every console shares."""
    return "inbox" + _derive("inbox")
