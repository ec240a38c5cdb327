"""The staff inbox, shared by every open console (a handful of agents, never shoppers).

Linked under one key by consoles after sign-in; it holds conversation
summaries by public handle only. Filters and selection are per tab, in
AgentConsoleState.
"""

import dataclasses

import reflex as rx

from rxchat.models import ConversationSummary
from rxchat.states.shared import SendsChangesOnce

INBOX_KEY = "staffinbox"


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


class InboxState(SendsChangesOnce, rx.SharedState):
    conversations: list[ConversationRow] = []
    agents_online: int = 0
    # Ticks when shoppers have written since the last refresh: consoles chime on it (components/sound.py).
    shopper_message_cue: int = 0

    def _replace(self, summaries: list[ConversationSummary]) -> None:
        self.conversations = [to_row(s) for s in summaries]

    @rx.var
    def unread_total(self) -> int:
        return sum(row.unread for row in self.conversations)
