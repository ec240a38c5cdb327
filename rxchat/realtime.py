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
  online" and "none" is pushed to the widgets that are open, never a heartbeat;
- ended tabs: a tab whose socket has gone, or a console whose sign-in ended
  (signed out anywhere, password reset, agent deactivated: checked every
  SIGN_IN_CHECK_SECS), leaves its rooms and the inbox and forgets who it was
  (`_leave_tab` of its states), so nothing reaches it afterwards and its
  token is worth nothing to anyone who finds it; a console is sent to sign-in.
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

from rxchat import db, live_keys, redaction, reflex_internals
from rxchat.services import agents, publish
from rxchat.settings import settings
from rxchat.states.inbox import InboxState, read_shared_inbox
from rxchat.states.room import TYPING_TTL_SECS, ConversationRoomState, room_key

logger = logging.getLogger(__name__)

PRESENCE_CHECK_SECS = 2.0  # how often open consoles are checked for presence
SIGN_IN_CHECK_SECS = 0.5  # how often open consoles' sign-ins are checked against the database
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
# Tabs of this process holding something of a person's (a joined conversation, a sign-in): tab token ->
# the state classes to end (`_leave_tab`) when its socket goes. Consoles also keep their sign-in token.
_held_tabs: dict[str, set[type]] = {}
_console_sign_ins: dict[str, tuple[type, str]] = {}


def install(app: rx.App) -> None:
    """Route published events into live rooms of this app, gate its sockets, start the watches."""
    global _app
    _app = app
    redaction.install()
    publish.add_publisher(_on_event)
    reflex_internals.install_connection_gate(_tab_gone)
    app.register_lifespan_task(_settle_link_keys)
    app.register_lifespan_task(_presence_loop)
    app.register_lifespan_task(_sign_in_watch)


@contextlib.asynccontextmanager
async def _settle_link_keys():
    await live_keys.load()  # before the server takes a connection
    yield


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
            await reflex_internals.send_update(_app, token, update)


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
        async with _app.modify_state(BaseStateToken(ident=live_keys.inbox_key(), cls=InboxState)) as root:
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


def watch_console(token: str, state_cls: type, sign_in_token: str) -> None:
    """A console tab is open under this sign-in; presence counts it while its socket is connected,
    and it is ended when the socket goes or the sign-in ends."""
    if _app is not None:
        hold_tab(token, state_cls)
        _console_sign_ins[token] = (state_cls, sign_in_token)
        _spawn(_change_consoles(_consoles.add, token))


def leave_console(token: str) -> None:
    """A console tab signed out or left the console."""
    if _app is not None:
        _console_sign_ins.pop(token, None)
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
    return _app is not None and await reflex_internals.is_connected(_app, token)


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


# Ended tabs -------------------------------------------------------------------


def hold_tab(token: str, state_cls: type) -> None:
    """This tab's `state_cls` now holds something of a person's: end it (`_leave_tab`) when the tab goes."""
    _held_tabs.setdefault(token, set()).add(state_cls)


async def _tab_gone(app: rx.App, token: str) -> None:
    """A tab's socket went (the connection gate's hook): unless it came back, end what it holds."""
    if token in _held_tabs:
        await _end_tab(token, unless_connected=True)


async def _end_tab(token: str, *, unless_connected: bool) -> list:
    """Run `_leave_tab` of the tab's states under its lock; the events they ask for (a redirect)."""
    classes = _held_tabs.get(token)
    if _app is None or not classes:
        return []
    events: list = []
    async with _app.modify_state(BaseStateToken(ident=token, cls=next(iter(classes)))) as root:
        if unless_connected and await _connected(token):
            return []  # back already: its own events keep it
        for state_cls in _held_tabs.pop(token, ()):
            events.extend(await (await root.get_state(state_cls))._leave_tab(token) or [])
    if _console_sign_ins.pop(token, None) is not None:
        await _change_consoles(_consoles.discard, token)
    return events


async def end_revoked_consoles() -> None:
    """Consoles whose sign-in ended (anywhere: another tab, the CLI, another instance) leave every staff
    room and the inbox, and are sent to the sign-in page."""
    if not _console_sign_ins:
        return
    open_consoles = dict(_console_sign_ins)
    async with db.session() as s:
        valid = await agents.still_signed_in(s, tokens=[sign_in for _, sign_in in open_consoles.values()])
    for token, (state_cls, sign_in) in open_consoles.items():
        if sign_in in valid or _console_sign_ins.get(token) != (state_cls, sign_in):
            continue  # still signed in, or the tab signed in anew meanwhile
        events = await _end_tab(token, unless_connected=False)
        if events and await _connected(token):
            await reflex_internals.send_events(_app, token, events)


async def _sign_in_watch() -> None:
    while True:
        await asyncio.sleep(SIGN_IN_CHECK_SECS)
        try:
            await end_revoked_consoles()
        except Exception as error:  # noqa: BLE001  (the next round tries again)
            logger.warning("checking open consoles' sign-ins failed: %s: %s", type(error).__name__, error)
