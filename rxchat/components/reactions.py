"""Invisible markers that call a handler each time a conversation gets a new message.

Each is a React component of its own (`rx.memo`) keyed by the room's newest
`seq` (React's `key`, passed through each marker's `rx.RestProp`): a new message
remounts it, and its `on_mount` fires in that tab only.
(A plain element's `on_mount` lives in its page's hooks and would not re-fire.)

Each handler is called a moment after the new message is on screen, not in the
same task: React runs a remounted marker's effect before the browser may paint,
so the event's dispatch used to delay the very message it marks (bench/README.md).
"""

import reflex as rx

from rxchat.states.console import AgentConsoleState
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
def read_marker(seq: rx.Var[int], rest: rx.RestProp) -> rx.Component:
    """Console: what it shows counts as read by staff."""
    return rx.box(rest, on_mount=AgentConsoleState.mark_read.debounce(MARK_AFTER_MS), data_seq=seq, display="none")


def on_new_message(marker) -> rx.Component:
    return marker(seq=ConversationRoomState.last_seq, key=ConversationRoomState.last_seq)
