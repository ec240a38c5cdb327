"""The live room of one conversation, shared by its shopper tabs and the agents viewing it.

Linked per conversation with `_link_to(room_key(public_id))`; the whole
substate is shared, so it holds only what every member may see: the recent
window of messages and read marks. Never identity, auth or per-tab data.
See docs/realtime.md.
"""

import dataclasses

import reflex as rx

from rxchat.models import MessagePublic
from rxchat.text import segments

WINDOW_SIZE = 50  # messages a room keeps; older ones page in per tab
TRIM_AT = 80  # trim back to WINDOW_SIZE past this, so most appends send no trim


@dataclasses.dataclass
class Segment:
    text: str = ""
    href: str = ""


@dataclasses.dataclass
class MessageView:
    id: int = 0
    seq: int = 0
    author: str = ""
    agent_name: str = ""
    created_at: str = ""
    segments: list[Segment] = dataclasses.field(default_factory=list)


def to_view(message: MessagePublic | dict) -> MessageView:
    m = message if isinstance(message, MessagePublic) else MessagePublic.model_validate(message)
    return MessageView(
        id=m.id,
        seq=m.seq,
        author=m.author,
        agent_name=m.agent_name or "",
        created_at=m.created_at,
        segments=[Segment(**part) for part in segments(m.body)],
    )


def room_key(public_id: str) -> str:
    """The link token of a conversation's room (link tokens may not contain '_')."""
    return f"room{public_id}"


class ConversationRoomState(rx.SharedState):
    messages: list[MessageView] = []
    agent_read_seq: int = 0
    erased: bool = False

    def _replace_window(self, newest_first: list[MessagePublic], agent_read_seq: int) -> None:
        self.messages = [to_view(m) for m in reversed(newest_first)]
        self.agent_read_seq = agent_read_seq
        self.erased = False

    def _add_message(self, message: dict) -> None:
        view = to_view(message)
        if any(m.seq == view.seq for m in self.messages):
            return  # already here (a catch-up raced the live event)
        window = [*self.messages, view]
        window.sort(key=lambda m: m.seq)
        if len(window) > TRIM_AT:
            window = window[-WINDOW_SIZE:]
        self.messages = window
        if view.author == "agent":
            self.agent_read_seq = max(self.agent_read_seq, view.seq)

    @rx.var
    def first_seq(self) -> int:
        return self.messages[0].seq if self.messages else 0
