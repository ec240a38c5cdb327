"""A chat message bubble and the thread's "Load earlier" button, shared by the widget and the console."""

import reflex as rx

from rxchat.i18n import Texts
from rxchat.states.room import ConversationRoomState, EarlierPages, MessageView, Segment

# Stored bubbles are plain elements styled by rxchat.css: a Radix Text or Flex per part, with its
# css-in-JS, cost the receiving page most of a new bubble's render (bench/README.md).


def message_text(parts_json) -> rx.Component:
    """Message text as plain text with http(s) links; no HTML is ever rendered.

    `parts_json` is the message's segments as a JSON string (see MessageView.parts).
    """
    parts = rx.Var(f"JSON.parse({parts_json})", _var_type=list[Segment], _var_data=parts_json._get_all_var_data())
    return rx.el.p(
        rx.foreach(
            parts,
            lambda part: rx.cond(
                part.href != "",
                rx.el.a(part.text, href=part.href, target="_blank", rel="noopener noreferrer nofollow"),
                rx.el.span(part.text),
            ),
        ),
        class_name="chat-text",
    )


def timestamp(created_at, lang) -> rx.Component:
    # In the browser's time zone, through one formatter per language kept for the page: building one per call
    # (`toLocaleTimeString`) was most of a bubble's render. Written as the widget's language writes times, in
    # the browser's own variant of it when it has that language (en-GB: 14:05, en-US: 02:05 PM).
    local_time = rx.Var(
        f"((globalThis.__rxchatTime ??= {{}})[{lang}] ??= new Intl.DateTimeFormat("
        f"navigator.language.split('-')[0] === {lang} ? navigator.language : {lang},"
        " {hour: '2-digit', minute: '2-digit'}))"
        f".format(new Date({created_at}))",
        _var_type=str,
        _var_data=rx.vars.VarData.merge(created_at._get_all_var_data(), lang._get_all_var_data()),
    )
    return rx.el.time(local_time, date_time=created_at, class_name="chat-time")


@rx.memo
def stored_bubble(
    seq: rx.Var[int],
    author: rx.Var[str],
    agent_name: rx.Var[str],
    created_at: rx.Var[str],
    parts: rx.Var[str],
    own: rx.Var[bool],
    status: rx.Var[str],
    status_label: rx.Var[str],
    lang: rx.Var[str],
    rest: rx.RestProp,  # React's `key`, so a bubble keeps its identity in a list
) -> rx.Component:
    """A React component of its own with plain props: a delta that resends the whole
    window re-renders only the bubbles whose props changed."""
    return rx.el.div(
        rest,
        rx.cond(author == "agent", rx.el.p(agent_name, class_name="chat-author")),
        message_text(parts),
        rx.el.div(
            timestamp(created_at, lang),
            rx.cond(status != "", rx.el.span(status_label, class_name="chat-status")),
            class_name="chat-meta",
        ),
        data_testid="chat-message",
        data_author=author,
        data_status=rx.cond(status != "", status, None),
        data_seq=seq,
        class_name=rx.cond(own, "chat-bubble chat-bubble-own", "chat-bubble chat-bubble-other"),
    )


def message_bubble(message: MessageView, t: Texts, own_author: str = "shopper") -> rx.Component:
    """A stored message; `own_author` is whose messages sit on the right."""
    read = message.seq <= ConversationRoomState.agent_read_seq
    status = rx.cond(message.author == "shopper", rx.cond(read, "read", "sent"), "")
    return stored_bubble(
        seq=message.seq,
        author=message.author,
        agent_name=message.agent_name,
        created_at=message.created_at,
        parts=message.parts,
        own=message.author == own_author,
        status=status,
        status_label=rx.cond(message.author == "shopper", rx.cond(read, t("message.read"), t("message.sent")), ""),
        lang=t.locale,
        key=message.seq,
    )


def outbox_bubble(text, author: str, t: Texts) -> rx.Component:
    """A message sent while the connection is down, waiting in the page (states/outbox.py): `sending`."""
    return rx.box(
        rx.el.p(text, class_name="chat-text"),
        rx.hstack(rx.text(t("message.sending"), size="1"), justify="end"),
        data_testid="chat-message",
        data_author=author,
        data_status="sending",
        class_name="chat-bubble chat-bubble-own",
    )


def pending_bubble(pending, on_retry, t: Texts) -> rx.Component:
    """A shopper message not yet stored: `sending`, or `failed` with a retry."""
    return rx.box(
        message_text(pending.parts),
        rx.hstack(
            rx.cond(
                pending.status == "failed",
                rx.hstack(
                    # In the bubble's own colour: red text on the accent would fall short of AA contrast.
                    rx.text(t("message.not_sent"), size="1", weight="bold"),
                    rx.button(
                        t("message.retry"),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=on_retry(pending.key),
                        data_testid="chat-retry",
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.text(t("message.sending"), size="1"),
            ),
            justify="end",
        ),
        data_testid="chat-message",
        data_author="shopper",
        data_status=pending.status,
        class_name="chat-bubble chat-bubble-own",
    )


def typing_indicator(label, test_id: str) -> rx.Component:
    """'<who> is typing' with animated dots, for the widget and the console alike."""
    return rx.box(
        rx.text(label, size="1"),
        rx.box(rx.el.span(), rx.el.span(), rx.el.span(), class_name="typing-dots"),
        data_testid=test_id,
        class_name="chat-typing",
    )


def load_earlier_button(tab: type[EarlierPages], t: Texts, **center_props) -> rx.Component:
    """Shown while the tab has older pages to load, or a gap under its room's trimmed window."""
    return rx.cond(
        (tab.earlier_before > 0) | (tab.earlier_end < ConversationRoomState.window_start),
        rx.center(
            rx.button(
                t("message.load_earlier"),
                size="1",
                variant="soft",
                on_click=tab.load_earlier,
                data_testid="chat-load-earlier",
            ),
            **center_props,
        ),
    )
