"""Invisible markers that call a handler each time a conversation gets a new message.

Each is a React component of its own (`rx.memo`) keyed by the `seq` of the
newest message from the other side (React's `key`, passed through each marker's
`rx.RestProp`): such a message remounts it, and its `on_mount` fires in that tab
only. A tab's own messages (and another agent's replies, in a console) mark
nothing, so they cost it no event.
(A plain element's `on_mount` lives in its page's hooks and would not re-fire.)

Each handler is called a moment after the new message is on screen, not in the
same task: React runs a remounted marker's effect before the browser may paint,
so the event's dispatch used to delay the very message it marks (bench/README.md).
"""

import reflex as rx

from rxchat.states.console import AgentConsoleState
from rxchat.states.inbox import InboxState
from rxchat.states.room import ConversationRoomState
from rxchat.states.widget import ChatWidgetState

MARK_AFTER_MS = 30  # a marker's handler waits this long, so the message it marks is painted first


@rx.memo
def replies_seen_marker(seq: rx.Var[int], rest: rx.RestProp) -> rx.Component:
    """Open widget: agent replies in view count as seen."""
    return rx.box(rest, on_mount=ChatWidgetState.sync_seen.debounce(MARK_AFTER_MS), data_seq=seq, display="none")


@rx.memo
def unread_marker(seq: rx.Var[int], rest: rx.RestProp) -> rx.Component:
    """Closed widget: recount replies not yet seen, for the launcher's badge."""
    return rx.box(rest, on_mount=ChatWidgetState.sync_unread.debounce(MARK_AFTER_MS), data_seq=seq, display="none")


@rx.memo
def record_marker(record: rx.Var[str], rest: rx.RestProp) -> rx.Component:
    """Widget without a session: another tab may have started one for this product."""
    return rx.box(rest, on_mount=ChatWidgetState.sync_record, display="none")


@rx.memo
def page_load_marker(product_id: rx.Var[str], locale: rx.Var[str], rest: rx.RestProp) -> rx.Component:
    """Widget: the page loaded, the connection is new, or the product changed: load the widget's thread (and
    tell the state the widget's language)."""
    return rx.box(rest, on_mount=ChatWidgetState.load_widget(product_id, locale), display="none")


@rx.memo
def read_marker(seq: rx.Var[int], rest: rx.RestProp) -> rx.Component:
    """Console: what it shows counts as read by staff."""
    return rx.box(rest, on_mount=AgentConsoleState.mark_read.debounce(MARK_AFTER_MS), data_seq=seq, display="none")


@rx.memo
def inbox_marker(version: rx.Var[int], rest: rx.RestProp) -> rx.Component:
    """Console: the shared inbox ticked; this tab re-reads its view of it."""
    return rx.box(rest, on_mount=AgentConsoleState.refresh_inbox(version), display="none")


def on_page_load(product_id: rx.Var[str] | str, locale: str) -> rx.Component:
    """The widget's page load, without an `on_load` for the host to add. The marker is keyed by the socket
    connection's id (new on every connect and reconnect: a restarted server starts with a fresh state),
    the page's path and the product id, so it remounts, and loads, whenever one of them changes; it waits for
    the first connection, so a page load sends it once."""
    connection = rx.State.router.session.session_id
    key = connection + " " + rx.State.router.page.raw_path + " " + product_id
    return rx.cond(connection != "", page_load_marker(product_id=product_id, locale=locale, key=key))


def on_inbox_change() -> rx.Component:
    return inbox_marker(version=InboxState.version, key=InboxState.version)


def on_new_reply(marker) -> rx.Component:
    """The widget's markers: a new staff reply."""
    return marker(seq=ConversationRoomState.last_agent_seq, key=ConversationRoomState.last_agent_seq)


def on_new_shopper_message(marker) -> rx.Component:
    """The console's marker: a new message from the shopper."""
    return marker(seq=ConversationRoomState.last_shopper_seq, key=ConversationRoomState.last_shopper_seq)
