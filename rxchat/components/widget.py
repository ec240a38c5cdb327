"""The shopper's chat widget: a launcher in the corner and the panel it opens."""

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

from rxchat.components.message import message_bubble, pending_bubble
from rxchat.states.room import ConversationRoomState
from rxchat.states.widget import INPUT_ID, ChatWidgetState


def launcher() -> rx.Component:
    return rx.button(
        rx.cond(
            ChatWidgetState.is_open,
            rx.icon("chevron-down", size=28, class_name="chat-launcher-icon"),
            rx.icon("message-circle", size=28, class_name="chat-launcher-icon"),
        ),
        on_click=ChatWidgetState.toggle,
        # Pre-rendered pages show the button before the app is live; a click then would be lost.
        disabled=~rx.State.is_hydrated,
        aria_label=rx.cond(ChatWidgetState.is_open, "Close chat", "Chat with us about this product"),
        aria_expanded=ChatWidgetState.is_open,
        data_testid="chat-launcher",
        class_name="chat-launcher",
        radius="full",
        size="4",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text("Questions about this product?", weight="bold", size="3"),
            rx.text(ChatWidgetState.product_name, size="1", opacity="0.8"),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.icon_button(rx.icon("x", size=18), variant="ghost", color_scheme="gray", on_click=ChatWidgetState.toggle,
                       aria_label="Close chat", class_name="chat-close"),
        align="center",
        class_name="chat-header",
    )


def thread() -> rx.Component:
    # The scroller is column-reverse around one inner box: the browser then keeps
    # it pinned to the newest message as messages arrive, with no script.
    return rx.box(thread_items(), class_name="chat-scroll")


def thread_items() -> rx.Component:
    return rx.box(
        rx.cond(
            ChatWidgetState.earlier_before > 0,
            rx.center(
                rx.button("Load earlier messages", size="1", variant="soft", on_click=ChatWidgetState.load_earlier,
                          data_testid="chat-load-earlier"),
                padding_bottom="8px",
            ),
        ),
        rx.box(
            rx.text("Hi! Ask us anything about this product and our team will answer here.", size="2"),
            data_testid="chat-notice",
            class_name="chat-notice",
        ),
        rx.foreach(ChatWidgetState.earlier, lambda m: message_bubble(m, "shopper")),
        rx.cond(ChatWidgetState.has_session, rx.foreach(ConversationRoomState.messages, lambda m: message_bubble(m, "shopper"))),
        rx.foreach(ChatWidgetState.pending, lambda p: pending_bubble(p, ChatWidgetState.retry)),
        role="log",
        aria_live="polite",
        aria_label="Conversation",
        data_testid="chat-message-list",
        class_name="chat-thread",
    )


def composer() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.text_area(
                id=INPUT_ID,
                name="message",
                placeholder="Write a message…",
                enter_key_submit=True,  # Enter sends; Shift+Enter is a new line
                max_length=ChatWidgetState.max_input_chars,
                rows="2",
                resize="none",
                aria_label="Message",
                data_testid="chat-input",
                class_name="chat-input",
                auto_focus=True,
            ),
            rx.icon_button(rx.icon("send", size=18), type="submit", aria_label="Send", data_testid="chat-send",
                           size="3", disabled=~rx.State.is_hydrated),
            align="end",
            spacing="2",
            width="100%",
        ),
        on_submit=ChatWidgetState.send_message,
        reset_on_submit=False,
        width="100%",
    )


def panel() -> rx.Component:
    return rx.card(
        header(),
        thread(),
        rx.cond(
            has_connection_errors,
            rx.callout("Connection lost. Reconnecting…", icon="wifi-off", color_scheme="amber", size="1",
                       data_testid="chat-connection-status"),
        ),
        rx.cond(
            ChatWidgetState.error != "",
            rx.callout(ChatWidgetState.error, icon="circle-alert", color_scheme="red", size="1", role="alert",
                       data_testid="chat-error"),
        ),
        composer(),
        data_testid="chat-panel",
        class_name="chat-panel",
        role="dialog",
        aria_label="Product chat",
    )


def chat_widget() -> rx.Component:
    """The widget for a page whose route has a `product_id` parameter; starts closed."""
    return rx.box(
        rx.cond(ChatWidgetState.is_open, panel()),
        launcher(),
        class_name="chat-widget",
    )
