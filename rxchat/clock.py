"""The one clock every rule about time reads (expiry, activity, limits).

Tests move time forward without sleeping by writing a number of seconds to
the file named by RXCHAT_CLOCK_OFFSET_FILE; production leaves it unset.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rxchat.settings import settings


def _offset() -> timedelta:
    if not settings.clock_offset_file:
        return timedelta()
    try:
        return timedelta(seconds=float(Path(settings.clock_offset_file).read_text() or 0))
    except (OSError, ValueError):
        return timedelta()


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (how every timestamp is stored)."""
    return datetime.now(UTC) + _offset()


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, as the browser record and the API show times."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
