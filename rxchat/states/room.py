"""The live room of one conversation, shared by its shopper tabs and the agents viewing it.

Linked per conversation with `_link_to(room_key(public_id))`; the whole
substate is shared, so it holds only what every member may see: the recent
window of messages and read marks. Never identity, auth or per-tab data.
See docs/realtime.md.
"""

import dataclasses
import json
from collections.abc import Awaitable, Callable

import reflex as rx
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat import db, live_keys, reflex_internals
from rxchat.models import ChatSession, MessagePublic
from rxchat.reflex_internals import SendsChangesOnce
from rxchat.services import chat
from rxchat.text import segments

WINDOW_SIZE = 50  # messages a room loads; older ones page in per tab
TRIM_AT = 80  # past this many settled messages, trim back to WINDOW_SIZE (rarely, so appends send no trim)
RECENT_MAX = 10  # new messages gather in `recent` up to this many, then join `messages`


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
    """A stored message as rooms and pages hold it; a dict is a published event's message, as the
    services dumped it (`MessagePublic.model_dump()`)."""
    m = message if isinstance(message, dict) else message.__dict__  # a pydantic model's field values
    return MessageView(
        id=m["id"],
        seq=m["seq"],
        author=m["author"],
        agent_name=m["agent_name"] or "",
        created_at=m["created_at"],
        parts=parts_json(m["body"]),
    )


def parts_json(body: str) -> str:
    return json.dumps(segments(body), ensure_ascii=False, separators=(",", ":"))


def room_key(public_id: str) -> str:
    """The link token of a conversation's room: a secret no client can derive (rxchat/live_keys.py)."""
    return live_keys.room_key(public_id)


TYPING_TTL_SECS = 5.0  # a typing indicator disappears this long after the last keystroke signal


class ConversationRoomState(SendsChangesOnce, rx.SharedState):
    # The thread is `messages` then `recent`. A new message changes only the short `recent`
    # list, so the update every tab receives (and renders) is a few messages, not the window.
    messages: list[MessageView] = []
    recent: list[MessageView] = []
    agent_read_seq: int = 0
    # The newest message of each side: a tab marks read or seen only when the other side wrote,
    # so its own messages cost it no event (rxchat/components/reactions.py).
    last_shopper_seq: int = 0
    last_agent_seq: int = 0
    erased: bool = False
    status: str = "open"
    shopper_typing: bool = False
    agent_typing: bool = False
    typing_agent_name: str = ""
    emailed_seq: int = 0  # agent replies up to here were emailed to the shopper (the console's notice)
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

    def _is_room_of(self, conversation: str) -> bool:
        """Whether this is the linked room of that conversation (a tab's may be another's, or none)."""
        return reflex_internals.linked_key(self) == room_key(conversation)

    def _replace_window(self, newest_first: list[MessagePublic], agent_read_seq: int) -> None:
        self.messages = [to_view(m) for m in reversed(newest_first)]
        self.recent = []
        self.last_shopper_seq = next((m.seq for m in newest_first if m.author == "shopper"), 0)
        self.last_agent_seq = next((m.seq for m in newest_first if m.author == "agent"), 0)
        self.agent_read_seq = agent_read_seq
        self.erased = False
        self.shopper_typing = self.agent_typing = False

    def _resend_thread(self) -> None:
        """Mark the thread changed again, so this tab's next update carries it. A message its own write added
        to the room while the tab's previous update was being sent (a `yield` during a slow write) was
        cleaned away with that update's changes, unsent: without this the sender would never see it."""
        self.messages, self.recent = list(self.messages), list(self.recent)
        self.last_shopper_seq, self.last_agent_seq = self.last_shopper_seq, self.last_agent_seq

    def _clear(self) -> None:
        self.messages, self.recent = [], []
        self.last_shopper_seq = self.last_agent_seq = 0

    def _add_message(self, message: MessagePublic | dict) -> None:
        view = to_view(message)
        tail = self.recent or self.messages
        newest = tail[-1].seq if tail else 0
        # Reading a list var item by item wraps every item for change tracking, which costs more than
        # the rest of a send: only a message that is not the next one looks through the thread.
        if view.seq <= newest and any(m.seq == view.seq for m in (*self.messages, *self.recent)):
            return  # already here (a catch-up raced the live event)
        if self.messages and view.seq < self.messages[-1].seq:  # a late one among the settled: rare
            self.messages = sorted([*self.messages, view], key=lambda m: m.seq)
        elif len(self.recent) < RECENT_MAX:
            if view.seq > newest:
                self.recent.append(view)
            else:
                self.recent = sorted([*self.recent, view], key=lambda m: m.seq)
        else:  # fold: one larger update every RECENT_MAX messages
            settled = sorted([*self.messages, *self.recent, view], key=lambda m: m.seq)
            self.messages = settled[-WINDOW_SIZE:] if len(settled) > TRIM_AT else settled
            self.recent = []
        # Each var is set only when it changes: a var set again is sent to every member again.
        if view.author == "agent":
            if view.seq > self.last_agent_seq:
                self.last_agent_seq = view.seq
            if view.seq > self.agent_read_seq:
                self.agent_read_seq = view.seq
            if self.agent_typing:
                self.agent_typing = False  # a sent message ends the indicator
        else:
            if view.seq > self.last_shopper_seq:
                self.last_shopper_seq = view.seq
            if self.shopper_typing:
                self.shopper_typing = False

    @rx.var
    def window_start(self) -> int:
        """The seq of the oldest message the room holds (0 when it holds none)."""
        oldest = self.messages or self.recent
        return oldest[0].seq if oldest else 0


class EarlierPages(rx.State, mixin=True):
    """A tab's own pages of older messages above its room's window (the widget and the console)."""

    earlier: list[MessageView] = []
    earlier_before: int = 0  # seq cursor of the next older page; 0 when there is none
    earlier_end: int = 1  # `earlier` reaches up to this seq (exclusive)

    def _start_earlier(self, newest_first: list[MessagePublic], before: int | None) -> None:
        """The tab (re)joined its room with this window: no pages yet, the cursor just under it."""
        self.earlier, self.earlier_before = [], before or 0
        self.earlier_end = newest_first[-1].seq if newest_first else 1

    async def _load_earlier_page(self, find_chat: Callable[[AsyncSession], Awaitable[ChatSession | None]]) -> None:
        """One more page of older messages; `find_chat(s)` gives the conversation (or None).

        Seqs run 1, 2, 3... with none missing, so when the room has trimmed its window past
        `earlier_end` the pages would leave a gap: they start again just under the window.
        """
        window_start = (await self.get_state(ConversationRoomState)).window_start
        gap = self.earlier_end < window_start
        before = window_start if gap else self.earlier_before
        if not before:
            return
        async with db.session() as s:
            chat_session = await find_chat(s)
            if chat_session is None:
                return
            page, older = await chat.list_messages(s, chat=chat_session, before=before)
        self.earlier = [to_view(m) for m in reversed(page)] + ([] if gap else self.earlier)
        self.earlier_before = older or 0
        if gap:
            self.earlier_end = before
