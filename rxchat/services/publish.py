"""The one door through which committed changes are announced.

Services call `publish(event)` only after their write has committed. Events are
small JSON-safe dicts with a `type` and the conversation's public id. The Reflex
side installs a publisher that pushes them into live rooms (rxchat/realtime.py);
tests install a recorder. See docs/realtime.md.
"""

from collections.abc import Awaitable, Callable
from typing import Any

Event = dict[str, Any]
Publisher = Callable[[Event], Awaitable[None] | None]

_publishers: list[Publisher] = []


def add_publisher(publisher: Publisher) -> None:
    if publisher not in _publishers:
        _publishers.append(publisher)


def remove_publisher(publisher: Publisher) -> None:
    if publisher in _publishers:
        _publishers.remove(publisher)


async def publish(event: Event) -> None:
    for publisher in list(_publishers):
        result = publisher(event)
        if result is not None:
            await result
