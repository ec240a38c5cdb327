"""What the services announce after a write commits: one frozen dataclass per kind of event.

Published through `rxchat.services.publish.publish`, the one door; the live hub
(rxchat/live/hub.py) turns them into room and inbox updates, and tests record
them. They carry a conversation's public handle, never a shopper's session id.
`origin` is the browser tab (its Reflex client token) whose action caused a
message, when a tab did: the hub puts that message straight into the room the
tab holds (rxchat/live/tabs.py `Tabs.sending`).
"""

import dataclasses

from rxchat.models import MessagePublic


@dataclasses.dataclass(frozen=True, slots=True)
class MessagePosted:
    conversation: str
    product_id: str
    message: MessagePublic
    origin: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ConversationStarted:
    conversation: str
    product_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class ConversationErased:
    """Erased by the shopper, or removed by the expiry sweep."""

    conversation: str
    product_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class ReadMarked:
    """Staff have read the shopper's messages up to `agent_read_seq`; `origin` is the console tab that marked
    them, when one did (the hub then sets the mark in the room that tab holds, as for its messages)."""

    conversation: str
    agent_read_seq: int
    origin: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StatusChanged:
    conversation: str
    status: str  # open | closed


@dataclasses.dataclass(frozen=True, slots=True)
class Typing:
    """Someone is typing: the only event with no write behind it."""

    conversation: str
    side: str  # shopper | agent
    agent_name: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class RepliesEmailed:
    """The shopper was away: agent replies up to `emailed_seq` were emailed to them (rxchat/services/email.py)."""

    conversation: str
    emailed_seq: int


Event = MessagePosted | ConversationStarted | ConversationErased | ReadMarked | StatusChanged | Typing | RepliesEmailed
