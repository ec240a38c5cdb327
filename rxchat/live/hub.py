"""The live hub: how a committed change reaches other browser tabs (docs/realtime.md).

`add_chat` creates one `LiveHub` for the app and installs it. The services
announce typed events through rxchat.services.publish; the hub turns them into
updates of the shared states:
- a conversation's events go into its room (`ConversationRoomState`) with
  `app.modify_state`, in a task of their own so no caller holds another state's
  lock meanwhile, and Reflex fans the change out to the room's tabs (across
  workers when Redis carries state). A message a tab sends goes straight into
  the room that tab holds (`Tabs.sending`) and on to the other members;
- the staff inbox is re-read from the database after a change, coalesced, so a
  burst of messages costs one query and one update of each console;
- presence: open consoles are watched, and only a change between "some agent
  online" and "none" is pushed to open widgets, never a heartbeat;
- ended tabs: a tab whose socket has gone, or a console whose sign-in ended
  (signed out anywhere, password reset, agent deactivated: checked every
  SIGN_IN_CHECK_SECS), leaves its rooms and the inbox and forgets who it was
  (`_leave_tab` of its states), so nothing reaches it afterwards and its token
  is worth nothing to anyone who finds it; a console is sent to sign in.
"""

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable
from typing import Any

import reflex as rx

from rxchat import db, live_keys, reflex_internals
from rxchat.live.consoles import OpenConsoles
from rxchat.live.tabs import Tabs
from rxchat.services import agents, events, publish
from rxchat.states.inbox import InboxState, read_shared_inbox
from rxchat.states.room import TYPING_TTL_SECS, ConversationRoomState, room_key

logger = logging.getLogger(__name__)

PRESENCE_CHECK_SECS = 2.0  # how often open consoles are checked for presence
SIGN_IN_CHECK_SECS = 0.5  # how often open consoles' sign-ins are checked against the database
# A tab whose socket went and has not come back within this long has its state dropped from the worker's memory
# (a reload or a short drop is back well within it; later, the tab starts afresh, as after a restart).
FORGET_GONE_TAB_SECS = 30.0
# The inbox re-read waits this long: it never delays a delivery, and the changes of that moment (a message,
# its read mark, the reply) cost one re-read of the list and one update of each console, not one each.
INBOX_REFRESH_DELAY_SECS = 0.2


@dataclasses.dataclass(frozen=True)
class Route:
    """Where an event goes: into its conversation's room, and/or a re-read of the inbox."""

    room: bool
    inbox: bool
    shopper_wrote: bool = False  # the consoles' cue ticks


def route(event: events.Event) -> Route:
    match event:
        case events.MessagePosted():
            return Route(room=True, inbox=True, shopper_wrote=event.message.author == "shopper")
        case events.ReadMarked() | events.StatusChanged() | events.ConversationErased():
            return Route(room=True, inbox=True)
        case events.Typing() | events.RepliesEmailed():
            return Route(room=True, inbox=False)
        case events.ConversationStarted():
            return Route(room=False, inbox=True)
    raise TypeError(f"not an event: {event!r}")


def apply_to_room(room: ConversationRoomState, event: events.Event, now: float) -> None:
    """What an event changes in a conversation's room (each var set only when it changes)."""
    match event:
        case events.MessagePosted():
            room._add_message(event.message)
        case events.ReadMarked():
            if event.agent_read_seq > room.agent_read_seq:
                room.agent_read_seq = event.agent_read_seq
        case events.StatusChanged():
            room.status = event.status
        case events.ConversationErased():
            room._clear()
            room.erased = True
        case events.Typing():
            room._set_typing(event.side, now + TYPING_TTL_SECS, event.agent_name)
        case events.RepliesEmailed():
            if event.emailed_seq > room.emailed_seq:
                room.emailed_seq = event.emailed_seq


class LiveHub:
    def __init__(self, app: Any, tabs: Tabs, sockets: Any = None, consoles: OpenConsoles | None = None) -> None:
        self.app = app
        self.tabs = tabs
        self.sockets = sockets or reflex_internals.ReflexSockets(app)
        self.consoles = consoles or OpenConsoles()
        self._tasks: set[asyncio.Task] = set()
        self._inbox_refresh: asyncio.Task | None = None
        self._inbox_dirty = False
        self._shopper_wrote = False
        self._watch_failing: set[str] = set()  # the watches whose last round failed (logged once per outage)
        self._gone: dict[str, float] = {}  # tabs whose socket went -> when to drop their state, soonest first

    def install(self) -> None:
        """Take the services' events, gate the app's sockets, start the watches with the server."""
        publish.add_publisher(self.on_event)
        self.tabs.on_console_change = self._console_changed
        reflex_internals.install_connection_gate(self._tab_gone)
        self.app.register_lifespan_task(self._settle_link_keys)
        self.app.register_lifespan_task(self._watch)

    @contextlib.asynccontextmanager
    async def _settle_link_keys(self):
        await live_keys.load()  # before the server takes a connection
        yield

    async def _watch(self) -> None:
        """Presence every PRESENCE_CHECK_SECS, sign-ins every SIGN_IN_CHECK_SECS; a failed round is retried."""
        rounds_per_presence = round(PRESENCE_CHECK_SECS / SIGN_IN_CHECK_SECS)
        for round_number in range(1, 1 << 62):
            await asyncio.sleep(SIGN_IN_CHECK_SECS)
            checks = [("sign-ins", self.end_revoked_consoles()), ("gone tabs", self.forget_gone_tabs())]
            if round_number % rounds_per_presence == 0:
                checks.append(("presence", self.check_presence()))
            for name, check in checks:
                try:
                    await check
                except Exception as error:  # noqa: BLE001  (the next round tries again)
                    # An outage of Redis or the database fails every round: said once as it starts.
                    if name not in self._watch_failing:
                        self._watch_failing.add(name)
                        logger.warning("the live watch of %s fails (retried): %s: %s", name, type(error).__name__,
                                       error)  # fmt: skip
                else:
                    if name in self._watch_failing:
                        self._watch_failing.discard(name)
                        logger.warning("the live watch of %s works again", name)
            try:
                self.sockets.revive()  # Reflex's own Redis watchers, if an outage stopped them
            except Exception as error:  # noqa: BLE001  (Redis still away: the next round tries again)
                logger.debug("reviving Reflex's Redis watchers failed: %s", error)

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning("live update failed: %s: %s", type(error).__name__, error)

    async def settle(self) -> None:
        """Wait for in-flight live updates (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # Events ---------------------------------------------------------------

    def on_event(self, event: events.Event) -> Awaitable[None] | None:
        """The publisher: route the event. A tab's own message or read mark goes into its room before publish
        returns."""
        where = route(event)
        own = None
        if where.room:
            room = (
                self.tabs.sending_room(event.origin, event.conversation)
                if isinstance(event, events.MessagePosted | events.ReadMarked)
                else None
            )
            # The tab's room is this conversation's (mypy learns the event's kind again here).
            if (
                room is not None
                and isinstance(event, events.MessagePosted | events.ReadMarked)
                and room._is_room_of(event.conversation)
            ):
                own = self._apply_own(room, event)  # awaited by publish()
            else:
                self.spawn(self._apply_to_room(event))
        if where.inbox:
            self._schedule_inbox_refresh(shopper_wrote=where.shopper_wrote)
        return own

    async def _apply_own(self, room: ConversationRoomState, event: events.MessagePosted | events.ReadMarked) -> None:
        """Into the room the acting tab holds, under its lock, and on to the other members at once: no second
        room update (a lock, a patch and a delta per member) queues behind the tab's event."""
        apply_to_room(room, event, time.time())
        await reflex_internals.send_ahead(self.sockets, room, own_token=event.origin or "")

    async def _apply_to_room(self, event: events.Event) -> None:
        token = rx.BaseStateToken(ident=room_key(event.conversation), cls=ConversationRoomState)
        async with self.app.modify_state(token) as root:
            room = await root.get_state(ConversationRoomState)
            await reflex_internals.forget_gone_members(self.sockets, room)
            apply_to_room(room, event, time.time())
        if isinstance(event, events.Typing):
            self.spawn(self._clear_typing_later(token))

    async def _clear_typing_later(self, token: rx.BaseStateToken) -> None:
        await asyncio.sleep(TYPING_TTL_SECS + 0.05)
        async with self.app.modify_state(token) as root:
            (await root.get_state(ConversationRoomState))._expire_typing(time.time())

    def _schedule_inbox_refresh(self, *, shopper_wrote: bool) -> None:
        self._inbox_dirty = True
        self._shopper_wrote = self._shopper_wrote or shopper_wrote
        if self._inbox_refresh is None or self._inbox_refresh.done():
            self._inbox_refresh = asyncio.ensure_future(self._refresh_inbox())
            self._tasks.add(self._inbox_refresh)
            self._inbox_refresh.add_done_callback(self._done)

    async def _refresh_inbox(self) -> None:
        while self._inbox_dirty:
            # Let the message itself reach the room first: the inbox is a list, not the conversation.
            await asyncio.sleep(INBOX_REFRESH_DELAY_SECS)
            cue, self._inbox_dirty, self._shopper_wrote = self._shopper_wrote, False, False
            async with db.session() as s:
                shared = await read_shared_inbox(s)
            async with self.app.modify_state(rx.BaseStateToken(ident=live_keys.inbox_key(), cls=InboxState)) as root:
                inbox = await root.get_state(InboxState)
                await reflex_internals.forget_gone_members(self.sockets, inbox)
                inbox._show(*shared)
                inbox.version += 1  # consoles with a view of their own re-read it (AgentConsoleState.refresh_inbox)
                if cue:
                    inbox.shopper_message_cue += 1

    # Presence -------------------------------------------------------------

    def _console_changed(self, token: str, is_open: bool) -> None:
        self.spawn(self._change_consoles(token, is_open))

    async def _change_consoles(self, token: str, is_open: bool) -> None:
        await (self.consoles.add(token) if is_open else self.consoles.discard(token))
        await self.check_presence()

    async def check_presence(self) -> None:
        """Recount open consoles; on a change, tell the open widgets (one update each, only then)."""
        online = False
        for token in await self.consoles.members():
            if await self.sockets.is_connected(token):
                online = True
            else:
                await self.consoles.discard(token)
        if online == self.tabs.agents_online:
            return
        self.tabs.agents_online = online
        for token, state_cls in list(self.tabs.widgets.items()):
            if not await self.sockets.is_connected(token):
                self.tabs.widgets.pop(token, None)
                continue
            self.spawn(self._push_presence(token, state_cls, online))

    async def _push_presence(self, token: str, state_cls: type, online: bool) -> None:
        async with self.app.modify_state(rx.BaseStateToken(ident=token, cls=state_cls)) as root:
            (await root.get_state(state_cls)).agent_online = online

    # Ended tabs -------------------------------------------------------------

    async def _tab_gone(self, token: str) -> None:
        """A tab's socket went (the connection gate's hook): unless it came back, end what it holds; its state
        goes FORGET_GONE_TAB_SECS later."""
        self._gone.pop(token, None)  # re-added last: the dict stays in deadline order
        self._gone[token] = time.monotonic() + FORGET_GONE_TAB_SECS
        if token in self.tabs.held:
            await self._end_tab(token, unless_connected=True)

    async def forget_gone_tabs(self) -> None:
        """Drop the state of tabs gone for FORGET_GONE_TAB_SECS that have not come back."""
        now = time.monotonic()
        while self._gone:
            token, due = next(iter(self._gone.items()))
            if due > now:
                return
            del self._gone[token]
            if not await self.sockets.is_connected(token):
                self.sockets.forget_state(token)

    async def _end_tab(self, token: str, *, unless_connected: bool) -> list:
        """Run `_leave_tab` of the tab's states under its lock; the events they ask for (a redirect)."""
        classes = self.tabs.held.get(token)
        if not classes:
            return []
        asked: list = []
        async with self.app.modify_state(rx.BaseStateToken(ident=token, cls=next(iter(classes)))) as root:
            if unless_connected and await self.sockets.is_connected(token):
                return []  # back already: its own events keep it
            for state_cls in self.tabs.held.pop(token, ()):
                asked.extend(await (await root.get_state(state_cls))._leave_tab(token) or [])
        if self.tabs.console_sign_ins.pop(token, None) is not None:
            await self._change_consoles(token, False)
        return asked

    async def end_revoked_consoles(self) -> None:
        """Consoles whose sign-in ended (anywhere: another tab, the CLI, another instance) leave every staff
        room and the inbox, and are sent to the sign-in page."""
        if not self.tabs.console_sign_ins:
            return
        open_consoles = dict(self.tabs.console_sign_ins)
        async with db.session() as s:
            valid = await agents.still_signed_in(s, tokens=[sign_in for _, sign_in in open_consoles.values()])
        for token, (state_cls, sign_in) in open_consoles.items():
            if sign_in in valid or self.tabs.console_sign_ins.get(token) != (state_cls, sign_in):
                continue  # still signed in, or the tab signed in anew meanwhile
            asked = await self._end_tab(token, unless_connected=False)
            if asked and await self.sockets.is_connected(token):
                await self.sockets.send_events(token, asked)
