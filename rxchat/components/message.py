"""One chat message bubble, shared by the shopper widget and the staff console."""

import reflex as rx

from rxchat.states.room import ConversationRoomState, MessageView, Segment


def message_text(parts) -> rx.Component:
    """Message text as plain text with http(s) links; no HTML is ever rendered."""
    return rx.text(
        rx.foreach(
            parts,
            lambda part: rx.cond(
                part.href != "",
                rx.link(
                    part.text, href=part.href, is_external=True, rel="noopener noreferrer nofollow", underline="always"
                ),
                rx.text.span(part.text),
            ),
        ),
        size="2",
        style={"white_space": "pre-wrap", "overflow_wrap": "anywhere", "word_break": "break-word"},
    )


def timestamp(created_at) -> rx.Component:
    return rx.moment(created_at, format="HH:mm", local=True, class_name="chat-time", font_size="11px", opacity="0.65")


def message_bubble(message: MessageView, own_author: str = "shopper") -> rx.Component:
    """A stored message; `own_author` is whose messages sit on the right."""
    is_own = message.author == own_author
    is_shopper = message.author == "shopper"
    status = rx.cond(is_shopper, rx.cond(message.seq <= ConversationRoomState.agent_read_seq, "read", "sent"), None)
    return rx.box(
        rx.cond(
            message.author == "agent", rx.text(message.agent_name, size="1", weight="bold", class_name="chat-author")
        ),
        message_text(message.segments),
        rx.hstack(
            timestamp(message.created_at),
            rx.cond(is_shopper, rx.text(rx.cond(status == "read", "Read", "Sent"), size="1", opacity="0.65")),
            spacing="2",
            justify="end",
        ),
        data_testid="chat-message",
        data_author=message.author,
        data_status=status,
        data_seq=message.seq,
        class_name=rx.cond(is_own, "chat-bubble chat-bubble-own", "chat-bubble chat-bubble-other"),
    )


def pending_bubble(pending, on_retry) -> rx.Component:
    """A shopper message not yet stored: `sending`, or `failed` with a retry."""
    return rx.box(
        message_text(pending.segments),
        rx.hstack(
            rx.cond(
                pending.status == "failed",
                rx.hstack(
                    rx.text("Not sent.", size="1", color=rx.color("red", 11)),
                    rx.button(
                        "Retry",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=on_retry(pending.key),
                        data_testid="chat-retry",
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.text("Sending…", size="1", opacity="0.65"),
            ),
            justify="end",
        ),
        data_testid="chat-message",
        data_author="shopper",
        data_status=pending.status,
        class_name="chat-bubble chat-bubble-own",
    )


__all__ = ["message_bubble", "message_text", "pending_bubble", "Segment"]
