"""The one door through which committed changes are announced.

Services call `publish(event)` only after their write has committed, with one
of the typed events of rxchat/services/events.py. The live hub installs a
publisher that turns them into room and inbox updates (rxchat/live/hub.py);
tests install a recorder. See docs/realtime.md.
"""

from collections.abc import Awaitable, Callable

from rxchat.services.events import Event

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
