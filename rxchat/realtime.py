"""How a committed change reaches other clients (design: docs/realtime.md).

The services announce events through rxchat.services.publish; this module is
the Reflex side of that door. Each event is applied to the conversation's
shared room state with `app.modify_state`, in its own task, so no caller ever
holds another state's lock while the room is updated; Reflex then fans the
change out to every linked tab, across workers when Redis carries state.
"""

import asyncio
import logging

import reflex as rx
from reflex.istate.manager.token import BaseStateToken

from rxchat.services import publish
from rxchat.states.room import ConversationRoomState, room_key

logger = logging.getLogger(__name__)

_app: rx.App | None = None
_tasks: set[asyncio.Task] = set()


def install(app: rx.App) -> None:
    """Route published events into live rooms of this app."""
    global _app
    _app = app
    publish.add_publisher(_on_event)


def _on_event(event: publish.Event) -> None:
    if _app is None or not event.get("conversation"):
        return
    task = asyncio.create_task(_apply(event))
    _tasks.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("live update failed: %s", type(error).__name__)


async def _apply(event: publish.Event) -> None:
    assert _app is not None
    token = BaseStateToken(ident=room_key(event["conversation"]), cls=ConversationRoomState)
    async with _app.modify_state(token) as root:
        room = await root.get_state(ConversationRoomState)
        if event["type"] == "message":
            room._add_message(event["message"])
        elif event["type"] == "erased":
            room.messages = []
            room.erased = True


async def settle() -> None:
    """Wait for in-flight live updates (tests and shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
