"""The live room of one conversation, shared by its shopper tabs and the agents viewing it.

Linked per conversation with `_link_to(room_key(public_id))`; the whole
substate is shared, so it holds only what every member may see: the recent
window of messages and read marks. Never identity, auth or per-tab data.
See docs/realtime.md.
"""

import dataclasses
import json

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
    parts: str = "[]"  # the body's Segments as JSON: a string prop lets unchanged bubbles skip re-rendering


def to_view(message: MessagePublic | dict) -> MessageView:
    m = message if isinstance(message, MessagePublic) else MessagePublic.model_validate(message)
    return MessageView(
        id=m.id,
        seq=m.seq,
        author=m.author,
        agent_name=m.agent_name or "",
        created_at=m.created_at,
        parts=parts_json(m.body),
    )


def parts_json(body: str) -> str:
    return json.dumps(segments(body), ensure_ascii=False, separators=(",", ":"))


async def join(tab: rx.State, shared_cls: type, key: str):
    """Link this tab's `shared_cls` to `key` and make sure the tab is counted as a member.

    Reflex skips the bookkeeping when the tab was linked before, but the realtime
    side drops members whose socket went away, so a tab back from a reconnect
    must be added again.
    """
    shared = await (await tab.get_state(shared_cls))._link_to(key)
    shared._linked_from.add(tab.router.session.client_token)
    return shared


def room_key(public_id: str) -> str:
    """The link token of a conversation's room (link tokens may not contain '_')."""
    return f"room{public_id}"


TYPING_TTL_SECS = 5.0  # a typing indicator disappears this long after the last keystroke signal


class ConversationRoomState(rx.SharedState):
    messages: list[MessageView] = []
    agent_read_seq: int = 0
    erased: bool = False
    status: str = "open"
    shopper_typing: bool = False
    agent_typing: bool = False
    typing_agent_name: str = ""
    # When each side's typing indicator lapses (epoch seconds); kept here so any worker can clear it.
    _shopper_typing_until: float = 0.0
    _agent_typing_until: float = 0.0

    def _set_typing(self, side: str, until: float, agent_name: str = "") -> None:
        if side == "shopper":
            self._shopper_typing_until = until
            if not self.shopper_typing:
                self.shopper_typing = True
        else:
            self._agent_typing_until = until
            if not self.agent_typing:
                self.agent_typing = True
            if agent_name and self.typing_agent_name != agent_name:
                self.typing_agent_name = agent_name

    def _expire_typing(self, now: float) -> None:
        if self.shopper_typing and self._shopper_typing_until <= now:
            self.shopper_typing = False
        if self.agent_typing and self._agent_typing_until <= now:
            self.agent_typing = False

    def _replace_window(self, newest_first: list[MessagePublic], agent_read_seq: int) -> None:
        self.messages = [to_view(m) for m in reversed(newest_first)]
        self.agent_read_seq = agent_read_seq
        self.erased = False
        self.shopper_typing = self.agent_typing = False

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
            self.agent_typing = False  # a sent message ends the indicator
        elif self.shopper_typing:
            self.shopper_typing = False

    @rx.var
    def last_seq(self) -> int:
        return self.messages[-1].seq if self.messages else 0
