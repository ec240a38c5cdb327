"""The shopper's chat widget: a launcher in the corner and the panel it opens.

Whether the panel is open lives in the browser (a client-side var), so the
widget starts closed on every page load and stays open across reconnects.
"""

from typing import get_args

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors
from reflex_components_radix.themes.base import LiteralAccentColor

from rxchat.components.layout import refusal
from rxchat.components.message import (
    load_earlier_button,
    message_bubble,
    outbox_bubble,
    pending_bubble,
    typing_indicator,
)
from rxchat.components.reactions import on_new_reply, on_page_load, record_marker, replies_seen_marker, unread_marker
from rxchat.i18n import Texts
from rxchat.states import unavailable
from rxchat.states.room import ConversationRoomState
from rxchat.states.widget import EMAIL_INPUT_ID, INPUT_ID, OUTBOX, ChatWidgetState, chat_open

TYPING_SIGNAL_MS = 1000  # at most one typing signal per second while typing (leading edge)
POSITIONS = ("bottom-right", "bottom-left")  # the page corner of the launcher and panel (.chat-widget-<position>)
# Radix accent colours a widget may take (`accent_color=`).
ACCENT_COLORS = frozenset(get_args(LiteralAccentColor))

# Closing swaps the launcher for another button, which would leave focus nowhere: put it back on the
# launcher (in the page, no round trip), so a keyboard user carries on where they opened the chat.
FOCUS_LAUNCHER = "requestAnimationFrame(() => document.querySelector('[data-testid=\"chat-launcher\"]')?.focus())"


def close_chat() -> list:
    return [chat_open.set_value(False), rx.call_script(FOCUS_LAUNCHER)]


def unread_badge(t: Texts) -> rx.Component:
    return rx.cond(
        ChatWidgetState.unread > 0,
        rx.badge(
            ChatWidgetState.unread,
            color_scheme="red",
            variant="solid",
            radius="full",
            data_testid="chat-unread-badge",
            class_name="chat-unread-badge",
            aria_label=t.var("widget.unread_replies", count=ChatWidgetState.unread),
        ),
    )


def launcher(t: Texts) -> rx.Component:
    # Pre-rendered pages show the button before the app is live; a click then would be lost.
    common = dict(
        data_testid="chat-launcher", class_name="chat-launcher", radius="full", size="4", disabled=~rx.State.is_hydrated
    )
    return rx.cond(
        chat_open.value,
        rx.button(
            rx.icon("chevron-down", size=28, class_name="chat-launcher-icon"),
            on_click=close_chat(),
            aria_label=t("widget.close_chat"),
            aria_expanded="true",
            **common,
        ),
        rx.button(
            rx.icon("message-circle", size=28, class_name="chat-launcher-icon"),
            unread_badge(t),
            on_click=chat_open.set_value(True),
            aria_label=t("widget.open_chat"),
            aria_expanded="false",
            **common,
        ),
    )


def agent_status(t: Texts) -> rx.Component:
    return rx.hstack(
        rx.box(class_name=rx.cond(ChatWidgetState.agent_online, "presence-dot presence-on", "presence-dot")),
        rx.text(rx.cond(ChatWidgetState.agent_online, t("widget.online"), t("widget.away")), size="1"),
        align="center",
        spacing="1",
        data_testid="chat-agent-status",
        data_online=rx.cond(ChatWidgetState.agent_online, "true", "false"),
    )


def header(t: Texts) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(t("widget.title"), weight="bold", size="3"),
            rx.hstack(rx.text(ChatWidgetState.product_name, size="1", opacity="0.8"), agent_status(t), spacing="3"),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.icon_button(
            rx.icon("x", size=18),
            variant="ghost",
            color_scheme="gray",
            on_click=close_chat(),
            aria_label=t("widget.close_chat"),
            class_name="chat-close",
        ),
        align="center",
        class_name="chat-header",
    )


def notices(t: Texts) -> rx.Component:
    return rx.fragment(
        rx.box(
            rx.text(t("widget.greeting"), size="2"),
            data_testid="chat-notice",
            class_name="chat-notice",
        ),
        rx.cond(
            ~ChatWidgetState.agent_online,
            rx.box(
                rx.text(t("widget.away_notice"), size="2"),
                data_testid="chat-notice",
                class_name="chat-notice chat-notice-away",
            ),
        ),
    )


def thread(t: Texts) -> rx.Component:
    # The scroller is column-reverse around one inner box: the browser then keeps
    # it pinned to the newest message as messages arrive, with no script.
    return rx.box(thread_items(t), class_name="chat-scroll")


def thread_items(t: Texts) -> rx.Component:
    return rx.box(
        load_earlier_button(ChatWidgetState, t, padding_bottom="8px"),
        notices(t),
        rx.foreach(ChatWidgetState.earlier, lambda m: message_bubble(m, t, "shopper")),
        rx.cond(
            ChatWidgetState.has_session,
            rx.fragment(
                rx.foreach(ConversationRoomState.messages, lambda m: message_bubble(m, t, "shopper")),
                rx.foreach(ConversationRoomState.recent, lambda m: message_bubble(m, t, "shopper")),
                on_new_reply(replies_seen_marker),
            ),
        ),
        rx.foreach(ChatWidgetState.pending, lambda p: pending_bubble(p, ChatWidgetState.retry, t)),
        rx.foreach(OUTBOX.items, lambda text: outbox_bubble(text, "shopper", t)),
        rx.cond(
            ChatWidgetState.has_session & ConversationRoomState.agent_typing,
            typing_indicator(
                t.var("widget.agent_typing", name=ConversationRoomState.typing_agent_name), "chat-typing-indicator"
            ),
        ),
        role="log",
        aria_live="polite",
        aria_label=t("widget.conversation"),
        data_testid="chat-message-list",
        class_name="chat-thread",
    )


def composer(t: Texts, product_id: rx.Var[str] | None = None) -> rx.Component:
    return rx.form(
        # A widget given its product id sends it with each message (states/widget.py, send_message), and its
        # language, in which a refusal is said.
        *([rx.el.input(type="hidden", name="product_id", value=product_id)] if product_id is not None else []),
        rx.el.input(type="hidden", name="locale", value=t.locale),
        OUTBOX.queued_input(),
        rx.hstack(
            rx.text_area(
                id=INPUT_ID,
                name="message",
                placeholder=t("widget.input_placeholder"),
                enter_key_submit=True,  # Enter sends; Shift+Enter is a new line
                max_length=ChatWidgetState.max_input_chars,
                rows="2",
                resize="none",
                aria_label=t("widget.input_label"),
                on_change=ChatWidgetState.typing.throttle(TYPING_SIGNAL_MS),
                data_testid="chat-input",
                class_name="chat-input",
                auto_focus=True,
            ),
            rx.icon_button(
                rx.icon("send", size=18),
                type="submit",
                aria_label=t("widget.send"),
                data_testid="chat-send",
                size="3",
                disabled=~rx.State.is_hydrated,
            ),
            align="end",
            spacing="2",
            width="100%",
        ),
        on_submit=[OUTBOX.on_submit(), unavailable.lower(), ChatWidgetState.send_message],
        reset_on_submit=False,
        width="100%",
    )


def profile_form(t: Texts) -> rx.Component:
    """Optional name and email, remembered across products and visits."""
    return rx.form(
        rx.el.input(type="hidden", name="locale", value=t.locale),
        rx.vstack(
            rx.text(t("widget.profile_heading"), size="1", weight="bold"),
            rx.hstack(
                rx.input(
                    name="name",
                    placeholder=t("widget.name_placeholder"),
                    default_value=ChatWidgetState.profile_name,
                    max_length=80,
                    data_testid="chat-name-input",
                    aria_label=t("widget.name_label"),
                    size="1",
                    width="100%",
                ),
                rx.input(
                    name="email",
                    type="email",
                    placeholder=t("widget.email_placeholder"),
                    default_value=ChatWidgetState.profile_email,
                    max_length=254,
                    data_testid="chat-email-input",
                    id=EMAIL_INPUT_ID,
                    aria_label=t("widget.email_label"),
                    size="1",
                    width="100%",
                ),
                rx.button(
                    t("widget.save_profile"), type="submit", size="1", variant="soft", data_testid="chat-save-profile"
                ),
                width="100%",
                spacing="2",
            ),
            rx.cond(
                ChatWidgetState.profile_notice != "",
                rx.text(ChatWidgetState.profile_notice, size="1", color=rx.color("green", 11)),
            ),
            rx.cond(
                ChatWidgetState.profile_email != "",
                rx.button(
                    t("widget.remove_email"),
                    type="button",
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=ChatWidgetState.remove_email,
                    data_testid="chat-email-remove",
                ),
            ),
            spacing="1",
            width="100%",
        ),
        on_submit=ChatWidgetState.save_profile,
        reset_on_submit=False,
        # The browser's own email check would block the submit silently; ours says why.
        no_validate=True,
        width="100%",
    )


def erase_controls(t: Texts) -> rx.Component:
    return rx.cond(
        ChatWidgetState.has_session,
        rx.cond(
            ChatWidgetState.confirming_erase,
            rx.hstack(
                rx.text(t("widget.erase_question"), size="1"),
                rx.button(
                    t("widget.erase_confirm"),
                    size="1",
                    color_scheme="red",
                    on_click=ChatWidgetState.erase_conversation,
                    data_testid="chat-erase-confirm",
                ),
                rx.button(
                    t("widget.erase_keep"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=ChatWidgetState.cancel_erase,
                ),
                align="center",
                spacing="2",
            ),
            rx.button(
                rx.icon("trash-2", size=14),
                t("widget.erase"),
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=ChatWidgetState.ask_erase,
                data_testid="chat-erase",
            ),
        ),
    )


def details(t: Texts) -> rx.Component:
    """Profile and erase, folded away so the thread keeps the room."""
    return rx.el.details(
        rx.el.summary(t("widget.details"), class_name="chat-details-summary", data_testid="chat-details"),
        rx.vstack(profile_form(t), erase_controls(t), spacing="2", padding_top="6px"),
        class_name="chat-details",
    )


def panel(t: Texts, product_id: rx.Var[str] | None = None) -> rx.Component:
    return rx.card(
        header(t),
        thread(t),
        rx.cond(
            has_connection_errors,
            rx.callout(
                t("widget.connection_lost"),
                icon="wifi-off",
                color_scheme="amber",
                size="1",
                data_testid="chat-connection-status",
            ),
        ),
        refusal(ChatWidgetState.error, "chat-error"),
        unavailable.notice(t("widget.store_unreachable")),
        composer(t, product_id),
        details(t),
        on_mount=ChatWidgetState.open_chat(t.locale),
        data_testid="chat-panel",
        class_name="chat-panel",
        role="dialog",
        aria_label=t("widget.panel"),
    )


def chat_widget(
    product_id: str | rx.Var[str] | None = None,
    *,
    title: str | None = None,
    greeting: str | None = None,
    accent_color: str | None = None,
    position: str = "bottom-right",
    locale: str | None = None,
) -> rx.Component:
    """The chat about one product, in the page's corner; starts closed.

    Without `product_id` it is about the product its page's route names as `[product_id]`
    (`/products/[product_id]`); given one (a string, or a Var such as a route argument of another name:
    `chat_widget(product_id=rx.State.sku)` on `/item/[sku]`), it is about that product. It loads itself on
    every page load and reconnect: no `on_load` to add.

    `title` replaces the panel's heading and `greeting` its first notice. `accent_color` (a Radix accent colour
    name, "crimson") colours this widget alone; without it the widget takes the app theme's accent, as it
    takes the theme's radius and light or dark appearance. `position` is the page corner: "bottom-right" or
    "bottom-left". `locale` is its language ("en", "de", or one added with `rxchat.set_text`); default: the
    RXCHAT_LOCALE setting, else English.
    """
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {', '.join(POSITIONS)}, not {position!r}")
    if accent_color is not None and accent_color not in ACCENT_COLORS:
        raise ValueError(f"accent_color must be a Radix accent colour such as 'crimson', not {accent_color!r}")
    t = Texts(locale, {"widget.title": title, "widget.greeting": greeting})
    given = None if product_id is None else rx.Var.create(product_id).to(str)
    widget = rx.box(
        on_page_load(given if given is not None else "", t.locale),
        rx.cond(chat_open.value, panel(t, given)),
        rx.cond(~chat_open.value & ChatWidgetState.has_session, on_new_reply(unread_marker)),
        rx.cond(
            ~ChatWidgetState.has_session & (ChatWidgetState.chat_session_data != ""),
            record_marker(record=ChatWidgetState.chat_session_data, key=ChatWidgetState.chat_session_data),
        ),
        launcher(t),
        class_name=f"chat-widget chat-widget-{position}",
        lang=t.locale,
    )
    if accent_color is None:
        return widget
    # A nested Radix theme: its accent for this widget alone, the page's theme for everything else (appearance,
    # radius, gray), and no background of its own over the page.
    return rx.theme(widget, accent_color=accent_color, has_background=False)
