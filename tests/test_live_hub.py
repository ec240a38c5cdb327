"""The live hub without a browser: which events reach which rooms and tabs.

The hub runs against Reflex's own state classes in memory (an app stand-in whose
`modify_state` hands out real state trees, one per token) and a socket recorder
that says which tabs are connected and keeps what the hub sends them, in the
spirit of Zulip's `capture_send_event_calls`. Events are published through the
services' one door, as in production.
"""

import asyncio
import contextlib
from pathlib import Path

import pytest
import reflex as rx

import rxchat.rxchat  # noqa: F401  (the app: registers the states)
from api_support import api_database
from rxchat import db, live_keys, reflex_internals
from rxchat.live import hub as hub_module
from rxchat.live.hub import LiveHub, Route, route
from rxchat.live.tabs import Tabs
from rxchat.models import MessagePublic
from rxchat.services import agents, events, publish
from rxchat.states.console import AgentConsoleState
from rxchat.states.inbox import InboxState
from rxchat.states.room import ConversationRoomState, room_key
from rxchat.states.widget import ChatWidgetState

CONVERSATION = "0123456789abcdef"


class Sockets:
    """Records what the hub sends each tab; `connected` are the tabs with a live socket."""

    def __init__(self, *connected: str) -> None:
        self.connected = set(connected)
        self.updates: list[tuple[str, dict]] = []
        self.events: list[tuple[str, list]] = []

    async def is_connected(self, token: str) -> bool:
        return token in self.connected

    async def send_update(self, token: str, update) -> None:
        self.updates.append((token, update.delta))

    async def send_events(self, token: str, specs: list) -> None:
        self.events.append((token, specs))

    def revive(self) -> None:
        self.revived = getattr(self, "revived", 0) + 1

    def forget_state(self, token: str) -> bool:
        self.forgotten = [*getattr(self, "forgotten", []), token]
        return True


class App:
    """What the hub uses of rx.App: `modify_state` over real state trees, kept per token."""

    def __init__(self) -> None:
        self.trees: dict[str, object] = {}
        self.modified: list[str] = []
        self.lifespan: list = []

    @contextlib.asynccontextmanager
    async def modify_state(self, token):
        self.modified.append(token.ident)
        root = self.trees.setdefault(token.ident, token.cls.get_root_state()(_reflex_internal_init=True))
        yield root

    def register_lifespan_task(self, task) -> None:
        self.lifespan.append(task)

    async def state(self, token: str, cls):
        return await self.trees[token].get_state(cls)


def message(seq: int, author: str = "shopper") -> MessagePublic:
    return MessagePublic(
        id=seq, seq=seq, author=author, agent_name="Ana" if author == "agent" else None, body=f"message {seq}",
        client_key=None, created_at="2026-12-04T10:00:00Z",
    )  # fmt: skip


@pytest.fixture
async def live(tmp_path: Path, monkeypatch):
    """A hub on its own database, tabs and sockets, taking the services' events while the test runs."""
    monkeypatch.setattr(hub_module, "INBOX_REFRESH_DELAY_SECS", 0)
    async with api_database(tmp_path / "live.db"):
        hub = LiveHub(App(), Tabs(), sockets=Sockets())
        publish.add_publisher(hub.on_event)
        try:
            yield hub
        finally:
            publish.remove_publisher(hub.on_event)
            await hub.settle()


def test_each_event_has_its_route():
    posted = events.MessagePosted(conversation=CONVERSATION, product_id="p", message=message(1))
    reply = events.MessagePosted(conversation=CONVERSATION, product_id="p", message=message(2, "agent"))
    assert route(posted) == Route(room=True, inbox=True, shopper_wrote=True)
    assert route(reply) == Route(room=True, inbox=True, shopper_wrote=False)
    assert route(events.ReadMarked(conversation=CONVERSATION, agent_read_seq=1)) == Route(room=True, inbox=True)
    assert route(events.StatusChanged(conversation=CONVERSATION, status="closed")) == Route(room=True, inbox=True)
    assert route(events.ConversationErased(conversation=CONVERSATION, product_id="p")) == Route(room=True, inbox=True)
    assert route(events.Typing(conversation=CONVERSATION, side="shopper")) == Route(room=True, inbox=False)
    assert route(events.ConversationStarted(conversation=CONVERSATION, product_id="p")) == Route(room=False, inbox=True)


async def test_a_message_from_anywhere_else_goes_into_its_rooms_state_and_the_inbox(live):
    await publish.publish(events.MessagePosted(conversation=CONVERSATION, product_id="p", message=message(1)))
    await live.settle()

    room = await live.app.state(room_key(CONVERSATION), ConversationRoomState)
    assert [m.seq for m in (*room.messages, *room.recent)] == [1]
    assert room.last_shopper_seq == 1
    inbox = await live.app.state(live_keys.inbox_key(), InboxState)
    assert inbox.version == 1 and inbox.shopper_message_cue == 1


async def test_a_tabs_own_message_goes_into_the_room_it_holds_and_on_to_the_other_members_at_once(live):
    tree = ConversationRoomState.get_root_state()(_reflex_internal_init=True)
    room = await tree.get_state(ConversationRoomState)
    room._linked_to = room_key(CONVERSATION)  # as a tab holds its linked room during its event
    room._linked_from = {"sender", "other-tab", "gone-tab"}
    live.sockets.connected |= {"sender", "other-tab"}

    with live.tabs.sending("sender", CONVERSATION, room):
        await publish.publish(
            events.MessagePosted(conversation=CONVERSATION, product_id="p", message=message(1), origin="sender")
        )

    assert [m.seq for m in room.recent] == [1], "the message is in the sender's room before publish returns"
    assert [token for token, _ in live.sockets.updates] == ["other-tab"], "sent on to the connected others only"
    assert room_key(CONVERSATION) not in live.app.modified, "no second update of the room queued behind the sender"


async def test_a_message_from_a_tab_whose_room_is_another_conversations_takes_the_common_path(live):
    tree = ConversationRoomState.get_root_state()(_reflex_internal_init=True)
    room = await tree.get_state(ConversationRoomState)
    room._linked_to = room_key("fedcba9876543210")

    with live.tabs.sending("sender", CONVERSATION, room):
        await publish.publish(
            events.MessagePosted(conversation=CONVERSATION, product_id="p", message=message(1), origin="sender")
        )
    await live.settle()

    assert room.recent == [] and room.messages == []
    assert room_key(CONVERSATION) in live.app.modified


async def test_typing_reaches_the_room_only_and_lapses(live, monkeypatch):
    monkeypatch.setattr(hub_module, "TYPING_TTL_SECS", 0.01)
    await publish.publish(events.Typing(conversation=CONVERSATION, side="agent", agent_name="Ana"))
    room = None
    for _ in range(100):
        if room_key(CONVERSATION) in live.app.trees:
            room = await live.app.state(room_key(CONVERSATION), ConversationRoomState)
            break
        await asyncio.sleep(0.001)
    assert room is not None and room.agent_typing and room.typing_agent_name == "Ana"
    await live.settle()
    assert not room.agent_typing, "the indicator lapses on its own"
    assert live_keys.inbox_key() not in live.app.trees, "typing never re-reads the inbox"


async def test_a_new_conversation_reaches_the_inbox_only(live):
    await publish.publish(events.ConversationStarted(conversation=CONVERSATION, product_id="p"))
    await live.settle()
    assert live.app.modified == [live_keys.inbox_key()]


async def test_presence_is_pushed_to_open_widgets_only_when_it_changes(live):
    live.tabs.watch_widget("widget-tab", ChatWidgetState)
    live.tabs.watch_widget("closed-widget", ChatWidgetState)
    live.sockets.connected |= {"widget-tab", "console-tab"}
    await live.consoles.add("console-tab")

    await live.check_presence()
    await live.settle()
    assert live.tabs.agents_online
    assert (await live.app.state("widget-tab", ChatWidgetState)).agent_online
    assert "closed-widget" not in live.app.trees and "closed-widget" not in live.tabs.widgets

    pushes = len(live.app.modified)
    await live.check_presence()  # nothing changed: nothing pushed
    await live.settle()
    assert len(live.app.modified) == pushes


async def test_a_gone_tab_forgets_its_conversation_unless_it_came_back(live):
    for token in ("gone-tab", "back-tab"):
        async with live.app.modify_state(rx.BaseStateToken(ident=token, cls=ChatWidgetState)) as root:
            widget = await root.get_state(ChatWidgetState)
            widget._session_id, widget._public_id, widget.has_session = "cs_" + "0" * 48, CONVERSATION, True
        live.tabs.hold(token, ChatWidgetState)
    live.sockets.connected.add("back-tab")

    await live._tab_gone("gone-tab")
    await live._tab_gone("back-tab")

    gone = await live.app.state("gone-tab", ChatWidgetState)
    assert gone._session_id == "" and not gone.has_session
    back = await live.app.state("back-tab", ChatWidgetState)
    assert back._session_id.startswith("cs_") and back.has_session
    assert "gone-tab" not in live.tabs.held and "back-tab" in live.tabs.held


async def test_a_gone_tabs_state_is_dropped_later_unless_it_came_back(live, monkeypatch):
    monkeypatch.setattr(hub_module, "FORGET_GONE_TAB_SECS", 0.2)
    await live._tab_gone("closed-tab")
    await live._tab_gone("reloaded-tab")
    live.sockets.connected.add("reloaded-tab")  # its reload connected again with the same token
    await live.forget_gone_tabs()
    assert getattr(live.sockets, "forgotten", []) == []  # not yet: a reload or a short drop is still within it
    await asyncio.sleep(0.25)
    await live.forget_gone_tabs()
    assert live.sockets.forgotten == ["closed-tab"]


async def test_a_console_whose_sign_in_ended_is_ended_and_sent_to_sign_in(live):
    async with db.session() as s:
        await agents.create_agent(s, email="ana@example.com", name="Ana", password="a long password here")
        _, ended = await agents.sign_in(s, email="ana@example.com", password="a long password here")
        _, kept = await agents.sign_in(s, email="ana@example.com", password="a long password here")
    for token, sign_in in (("ended-tab", ended), ("kept-tab", kept)):
        async with live.app.modify_state(rx.BaseStateToken(ident=token, cls=AgentConsoleState)) as root:
            (await root.get_state(AgentConsoleState))._agent_id = 1
        live.tabs.watch_console(token, AgentConsoleState, sign_in)
    live.sockets.connected |= {"ended-tab", "kept-tab"}
    async with db.session() as s:
        await agents.sign_out(s, token=ended)

    await live.end_revoked_consoles()

    assert [token for token, _ in live.sockets.events] == ["ended-tab"]
    assert "/agent/login" in repr(live.sockets.events[0][1])
    assert (await live.app.state("ended-tab", AgentConsoleState))._agent_id == 0
    assert (await live.app.state("kept-tab", AgentConsoleState))._agent_id == 1
    assert set(live.tabs.console_sign_ins) == {"kept-tab"}


def test_the_reflex_internals_module_is_the_hubs_way_to_sockets():
    assert isinstance(LiveHub(App(), Tabs()).sockets, reflex_internals.ReflexSockets)


async def test_an_outage_of_the_live_watches_is_logged_once_and_its_end_once(live, monkeypatch, caplog):
    """Redis or the database gone: every round of the watches fails; the log says so once, not twice a second."""
    monkeypatch.setattr(hub_module, "SIGN_IN_CHECK_SECS", 0.001)
    outcomes = iter([None, *[ConnectionError("Redis is gone")] * 20, None, None])
    rounds_done = asyncio.Event()

    async def end_revoked_consoles():
        outcome = next(outcomes, StopIteration)
        if outcome is StopIteration:
            rounds_done.set()  # every planned round has run
        elif outcome is not None:
            raise outcome

    monkeypatch.setattr(live, "end_revoked_consoles", end_revoked_consoles)
    monkeypatch.setattr(live, "check_presence", lambda: asyncio.sleep(0))
    watch = asyncio.ensure_future(live._watch())
    try:
        await asyncio.wait_for(rounds_done.wait(), timeout=10)
    finally:
        watch.cancel()
    assert live.sockets.revived >= 20  # Reflex's own Redis watchers are checked every round
    said = [r.getMessage() for r in caplog.records if "live watch" in r.getMessage()]
    assert said == [
        "the live watch of sign-ins fails (retried): ConnectionError: Redis is gone",
        "the live watch of sign-ins works again",
    ]
