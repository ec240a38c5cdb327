"""How a committed change reaches other clients (design: docs/realtime.md).

The services announce events through rxchat.services.publish; this module is
the Reflex side of that door:
- conversation events go into the conversation's shared room state with
  `app.modify_state`, in their own task so no caller holds another state's
  lock meanwhile; Reflex fans the change out to every linked tab, across
  workers when Redis carries state;
- the staff inbox is re-read from the database after a change (coalesced,
  so a burst of messages costs one query): the default view every console
  shares, the unread count, and a tick for consoles with a view of their own;
- presence: open consoles are watched, and only a change between "some agent
  online" and "none" is pushed to the widgets that are open, never a heartbeat.
"""

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable

import reflex as rx
from reflex.istate.manager.token import BaseStateToken
from reflex.state import StateUpdate

from rxchat import db
from rxchat.services import publish
from rxchat.settings import settings
from rxchat.states.inbox import INBOX_KEY, InboxState, read_shared_inbox
from rxchat.states.room import TYPING_TTL_SECS, ConversationRoomState, room_key

logger = logging.getLogger(__name__)

PRESENCE_CHECK_SECS = 2.0  # how often open consoles are checked for presence
# The inbox re-read waits this long: it never delays a delivery, and the changes of that moment (a message,
# its read mark, the reply) cost one re-read of the list and one update of each console, not one each.
INBOX_REFRESH_DELAY_SECS = 0.2
INBOX_EVENTS = {"message", "session_created", "status", "read", "erased"}
ROOM_EVENTS = {"message", "read", "status", "erased", "typing"}
# (conversation, room, tab token) of a tab storing a message in its own room (`own_room_update`)
_own_room: contextvars.ContextVar[tuple[str, ConversationRoomState, str] | None] = contextvars.ContextVar(
    "rxchat_own_room", default=None
)

_app: rx.App | None = None
_tasks: set[asyncio.Task] = set()
_inbox_refresh: asyncio.Task | None = None
_inbox_dirty = False
_shopper_wrote = False  # a shopper message since the last inbox refresh: the consoles' cue ticks
CONSOLES_KEY = "rxchat:presence:consoles"  # Redis set of open console tokens, shared by workers


class ConsoleRegistry:
    """The client tokens of open consoles: in this process, or in Redis when workers share state."""

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


_consoles = ConsoleRegistry()
_widget_tokens: dict[str, type] = {}  # open widget tab token -> its state class
_agents_online = False


class _SharedTokensNeedNoSocket(logging.Filter):
    """`app.modify_state` on a shared state also offers the change to the shared token itself, which
    no browser holds, and Reflex warns about it on every change (the members get it through the
    fan-out). Drop just that warning: it filled the log with a line or two per message."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if not text.startswith("Attempting to send delta to disconnected client"):
            return True
        return not (f"'{INBOX_KEY}'" in text or f"'{room_key('')}" in text)


def install(app: rx.App) -> None:
    """Route published events into live rooms of this app and start the presence watch."""
    global _app
    _app = app
    reflex_app_log = logging.getLogger("reflex.app")
    if not any(isinstance(f, _SharedTokensNeedNoSocket) for f in reflex_app_log.filters):
        reflex_app_log.addFilter(_SharedTokensNeedNoSocket())
    publish.add_publisher(_on_event)
    app.register_lifespan_task(_presence_loop)


def _spawn(coroutine) -> None:
    task = asyncio.create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("live update failed: %s: %s", type(error).__name__, error)


@contextlib.contextmanager
def own_room_update(room: ConversationRoomState, conversation: str, own_token: str):
    """The calling tab, holding its room's lock, is about to store a message in this conversation:
    the message goes into the tab's room the moment it is published, and straight on to the room's
    other tabs (`send_to_other_members`). A separate update of the room would only queue for the
    room's lock behind the sender's event.

    Only when `room` (the tab's) is linked to that conversation; otherwise the message reaches the
    room as anyone else's does.
    """
    if not room._is_room_of(conversation):
        yield
        return
    reset = _own_room.set((conversation, room, own_token))
    try:
        yield
    finally:
        _own_room.reset(reset)


async def _add_own_message(room: ConversationRoomState, message: dict, own_token: str) -> None:
    room._add_message(message)
    await send_to_other_members(room, own_token)


async def send_to_other_members(room: ConversationRoomState, own_token: str) -> None:
    """Send what the calling tab just changed in its room to the room's other tabs now.

    Reflex fans a shared state out only when the changing tab's whole event has
    ended, its own update sent first: the other side would wait for all of it
    (and for the sender's page to take its share of the CPU). Called with the
    room's lock held, so these are the room's values; the fan-out at the end
    of the event then leaves out what was sent here (`SendsChangesOnce`). No
    state other than the room reads the room's vars, so nothing else needs
    recomputing on the other side.
    """
    namespace = _app.event_namespace if _app is not None else None
    if namespace is None or not (delta := room.get_delta()):
        return
    changed = room.dirty_vars & room._frontend_var_names
    room._previous_dirty_vars.mark_sent({name: room.get_value(name) for name in changed})
    update = StateUpdate(delta=delta)
    for token in list(room._linked_from):
        if token != own_token and await _connected(token):
            await namespace.emit_update(update, token)


def _on_event(event: publish.Event) -> Awaitable[None] | None:
    if _app is None:
        return None
    own_message = None
    if event["type"] in ROOM_EVENTS:
        own = _own_room.get()
        if own is not None and event["type"] == "message" and event.get("conversation") == own[0]:
            own_message = _add_own_message(own[1], event["message"], own[2])  # awaited by publish()
        else:
            _spawn(_apply_to_room(event))
    if event["type"] in INBOX_EVENTS:
        _schedule_inbox_refresh(shopper_wrote=event["type"] == "message" and event["message"]["author"] == "shopper")
    return own_message


async def _apply_to_room(event: publish.Event) -> None:
    assert _app is not None
    token = BaseStateToken(ident=room_key(event["conversation"]), cls=ConversationRoomState)
    async with _app.modify_state(token) as root:
        room = await root.get_state(ConversationRoomState)
        await _forget_closed_tabs(room)
        kind = event["type"]
        if kind == "message":
            room._add_message(event["message"])
        elif kind == "read":
            room.agent_read_seq = max(room.agent_read_seq, event["agent_read_seq"])
        elif kind == "status":
            room.status = event["status"]
        elif kind == "erased":
            room._clear()
            room.erased = True
        elif kind == "typing":
            room._set_typing(event["side"], time.time() + TYPING_TTL_SECS, event.get("agent_name", ""))
    if event["type"] == "typing":
        _spawn(_clear_typing_later(token))


async def _clear_typing_later(token: BaseStateToken) -> None:
    await asyncio.sleep(TYPING_TTL_SECS + 0.05)
    assert _app is not None
    async with _app.modify_state(token) as root:
        (await root.get_state(ConversationRoomState))._expire_typing(time.time())


def _schedule_inbox_refresh(*, shopper_wrote: bool) -> None:
    global _inbox_refresh, _inbox_dirty, _shopper_wrote
    _inbox_dirty = True
    _shopper_wrote = _shopper_wrote or shopper_wrote
    if _inbox_refresh is None or _inbox_refresh.done():
        _inbox_refresh = asyncio.create_task(_refresh_inbox())
        _tasks.add(_inbox_refresh)
        _inbox_refresh.add_done_callback(_done)


async def _refresh_inbox() -> None:
    global _inbox_dirty, _shopper_wrote
    assert _app is not None
    while _inbox_dirty:
        # Let the message itself reach the room first: the inbox is a list, not the conversation.
        await asyncio.sleep(INBOX_REFRESH_DELAY_SECS)
        cue, _inbox_dirty, _shopper_wrote = _shopper_wrote, False, False
        async with db.session() as s:
            shared = await read_shared_inbox(s)
        async with _app.modify_state(BaseStateToken(ident=INBOX_KEY, cls=InboxState)) as root:
            inbox = await root.get_state(InboxState)
            await _forget_closed_tabs(inbox)
            inbox._show(*shared)
            inbox.version += 1  # consoles with a view of their own re-read it (AgentConsoleState.refresh_inbox)
            if cue:
                inbox.shopper_message_cue += 1


async def _forget_closed_tabs(shared: rx.SharedState) -> None:
    """Reflex never unlinks a tab from a shared state; drop the ones whose socket is gone."""
    gone = {token for token in shared._linked_from if not await _connected(token)}
    if gone:
        shared._linked_from.difference_update(gone)


# Presence ---------------------------------------------------------------


def watch_console(token: str) -> None:
    """A console tab is open; presence counts it while its socket is connected."""
    if _app is not None:
        _spawn(_change_consoles(_consoles.add, token))


def leave_console(token: str) -> None:
    """A console tab signed out or left the console."""
    if _app is not None:
        _spawn(_change_consoles(_consoles.discard, token))


async def _change_consoles(change, token: str) -> None:
    await change(token)
    await check_presence()


def watch_widget(token: str, state_cls: type) -> None:
    """A widget tab wants presence changes pushed to it."""
    _widget_tokens[token] = state_cls


def agents_online() -> bool:
    return _agents_online


async def _connected(token: str) -> bool:
    namespace = _app.event_namespace if _app else None
    if namespace is None:
        return False
    return await namespace._token_manager.is_token_connected(token)


async def check_presence() -> None:
    """Recount open consoles; on a change, tell the open widgets (one update each, only then)."""
    global _agents_online
    online = False
    for token in await _consoles.members():
        if await _connected(token):
            online = True
        else:
            await _consoles.discard(token)
    if online == _agents_online:
        return
    _agents_online = online
    for token, state_cls in list(_widget_tokens.items()):
        if not await _connected(token):
            _widget_tokens.pop(token, None)
            continue
        _spawn(_push_presence(token, state_cls, online))


async def _push_presence(token: str, state_cls: type, online: bool) -> None:
    assert _app is not None
    async with _app.modify_state(BaseStateToken(ident=token, cls=state_cls)) as root:
        (await root.get_state(state_cls)).agent_online = online


async def _presence_loop() -> None:
    while True:
        await asyncio.sleep(PRESENCE_CHECK_SECS)
        with contextlib.suppress(Exception):
            await check_presence()


async def settle() -> None:
    """Wait for in-flight live updates (tests and shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
