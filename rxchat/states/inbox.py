"""The staff inbox: what every open console shares, and the rows a console lists.

`InboxState` is linked under one secret key (`live_keys.inbox_key()`) by consoles after sign-in (a handful of
agents, never shoppers). It holds the default view every console starts on,
the newest open conversations of every product, so a change costs one query
and one update of each console; plus the unread count and two counters.
A console with a filter or a longer list reads its own view
(AgentConsoleState) and re-reads it when `version` ticks, so a filter finds
every matching conversation, not just those among the newest hundred.
"""

import dataclasses

import reflex as rx
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import ConversationSummary
from rxchat.reflex_internals import SendsChangesOnce
from rxchat.services import staff


@dataclasses.dataclass
class ConversationRow:
    conversation: str = ""
    product_id: str = ""
    product_name: str = ""
    shopper_label: str = ""
    customer_name: str = ""
    status: str = ""
    last_message: str = ""
    last_author: str = ""
    last_activity: str = ""
    unread: int = 0


def to_row(summary: ConversationSummary) -> ConversationRow:
    return ConversationRow(
        **{**summary.model_dump(exclude={"customer_email"}), "customer_name": summary.customer_name or ""}
    )


def to_rows(summaries: list[ConversationSummary], limit: int) -> tuple[list[ConversationRow], bool]:
    """The first `limit` rows, and whether there are more (the summaries were read `limit + 1` long)."""
    return [to_row(summary) for summary in summaries[:limit]], len(summaries) > limit


async def read_shared_inbox(db: AsyncSession) -> tuple[list[ConversationSummary], int]:
    """What every console shows alike: the default view (read one longer: are there more?) and the unread count."""
    default_view = await staff.list_conversations(db, status="open", limit=staff.INBOX_SIZE + 1)
    return default_view, await staff.count_unread(db)


class InboxState(SendsChangesOnce, rx.SharedState):
    # The default view: the newest open conversations of every product.
    open_rows: list[ConversationRow] = []
    more_open: bool = False
    version: int = 0  # ticks after every change to conversations: consoles with their own view re-read it
    unread_total: int = 0  # shopper messages not yet read by staff, across every conversation
    # Ticks when shoppers have written since the last refresh: consoles chime on it (components/sound.py).
    shopper_message_cue: int = 0

    def _show(self, default_view: list[ConversationSummary], unread: int) -> None:
        """What `read_shared_inbox` read; set only what changed: every var set is sent to every console again."""
        rows, more = to_rows(default_view, staff.INBOX_SIZE)
        if rows != self.open_rows:
            self.open_rows = rows
        if more != self.more_open:
            self.more_open = more
        if unread != self.unread_total:
            self.unread_total = unread
