"""The shopper's chat widget: a launcher in the corner and the panel it opens.

Whether the panel is open lives in the browser (a client-side var), so the
widget starts closed on every page load and stays open across reconnects.
"""

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from reflex_components_core.core.banner import has_connection_errors

from rxchat.components.layout import refusal
from rxchat.components.message import load_earlier_button, message_bubble, pending_bubble, typing_indicator
from rxchat.components.reactions import on_new_reply, on_page_load, record_marker, replies_seen_marker, unread_marker
from rxchat.states.room import ConversationRoomState
from rxchat.states.widget import INPUT_ID, ChatWidgetState

TYPING_SIGNAL_MS = 1000  # at most one typing signal per second while typing (leading edge)

chat_open = ClientStateVar.create("rxchat_chat_open", default=False)
# Closing swaps the launcher for another button, which would leave focus nowhere: put it back on the
# launcher (in the page, no round trip), so a keyboard user carries on where they opened the chat.
FOCUS_LAUNCHER = "requestAnimationFrame(() => document.querySelector('[data-testid=\"chat-launcher\"]')?.focus())"


def close_chat() -> list:
    return [chat_open.set_value(False), rx.call_script(FOCUS_LAUNCHER)]


def unread_badge() -> rx.Component:
    return rx.cond(
        ChatWidgetState.unread > 0,
        rx.badge(
            ChatWidgetState.unread,
            color_scheme="red",
            variant="solid",
            radius="full",
            data_testid="chat-unread-badge",
            class_name="chat-unread-badge",
            aria_label=ChatWidgetState.unread.to_string() + " unread replies",
        ),
    )


def launcher() -> rx.Component:
    # Pre-rendered pages show the button before the app is live; a click then would be lost.
    common = dict(
        data_testid="chat-launcher", class_name="chat-launcher", radius="full", size="4", disabled=~rx.State.is_hydrated
    )
    return rx.cond(
        chat_open.value,
        rx.button(
            rx.icon("chevron-down", size=28, class_name="chat-launcher-icon"),
            on_click=close_chat(),
            aria_label="Close chat",
            aria_expanded="true",
            **common,
        ),
        rx.button(
            rx.icon("message-circle", size=28, class_name="chat-launcher-icon"),
            unread_badge(),
            on_click=chat_open.set_value(True),
            aria_label="Chat with us about this product",
            aria_expanded="false",
            **common,
        ),
    )


def agent_status() -> rx.Component:
    return rx.hstack(
        rx.box(class_name=rx.cond(ChatWidgetState.agent_online, "presence-dot presence-on", "presence-dot")),
        rx.text(rx.cond(ChatWidgetState.agent_online, "We're online", "We're away"), size="1"),
        align="center",
        spacing="1",
        data_testid="chat-agent-status",
        data_online=rx.cond(ChatWidgetState.agent_online, "true", "false"),
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text("Questions about this product?", weight="bold", size="3"),
            rx.hstack(rx.text(ChatWidgetState.product_name, size="1", opacity="0.8"), agent_status(), spacing="3"),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.icon_button(
            rx.icon("x", size=18),
            variant="ghost",
            color_scheme="gray",
            on_click=close_chat(),
            aria_label="Close chat",
            class_name="chat-close",
        ),
        align="center",
        class_name="chat-header",
    )


def notices() -> rx.Component:
    return rx.fragment(
        rx.box(
            rx.text("Hi! Ask us anything about this product and our team will answer here.", size="2"),
            data_testid="chat-notice",
            class_name="chat-notice",
        ),
        rx.cond(
            ~ChatWidgetState.agent_online,
            rx.box(
                rx.text(
                    "Our team is away right now, so replies may take a while. "
                    "Leave your email below and we will answer there too.",
                    size="2",
                ),
                data_testid="chat-notice",
                class_name="chat-notice chat-notice-away",
            ),
        ),
    )


def thread() -> rx.Component:
    # The scroller is column-reverse around one inner box: the browser then keeps
    # it pinned to the newest message as messages arrive, with no script.
    return rx.box(thread_items(), class_name="chat-scroll")


def thread_items() -> rx.Component:
    return rx.box(
        load_earlier_button(ChatWidgetState, padding_bottom="8px"),
        notices(),
        rx.foreach(ChatWidgetState.earlier, lambda m: message_bubble(m, "shopper")),
        rx.cond(
            ChatWidgetState.has_session,
            rx.fragment(
                rx.foreach(ConversationRoomState.messages, lambda m: message_bubble(m, "shopper")),
                rx.foreach(ConversationRoomState.recent, lambda m: message_bubble(m, "shopper")),
                on_new_reply(replies_seen_marker),
            ),
        ),
        rx.foreach(ChatWidgetState.pending, lambda p: pending_bubble(p, ChatWidgetState.retry)),
        rx.cond(
            ChatWidgetState.has_session & ConversationRoomState.agent_typing,
            typing_indicator(ConversationRoomState.typing_agent_name + " is typing", "chat-typing-indicator"),
        ),
        role="log",
        aria_live="polite",
        aria_label="Conversation",
        data_testid="chat-message-list",
        class_name="chat-thread",
    )


def composer(product_id: rx.Var[str] | None = None) -> rx.Component:
    return rx.form(
        # A widget given its product id sends it with each message (states/widget.py, send_message).
        *([rx.el.input(type="hidden", name="product_id", value=product_id)] if product_id is not None else []),
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
                on_change=ChatWidgetState.typing.throttle(TYPING_SIGNAL_MS),
                data_testid="chat-input",
                class_name="chat-input",
                auto_focus=True,
            ),
            rx.icon_button(
                rx.icon("send", size=18),
                type="submit",
                aria_label="Send",
                data_testid="chat-send",
                size="3",
                disabled=~rx.State.is_hydrated,
            ),
            align="end",
            spacing="2",
            width="100%",
        ),
        on_submit=ChatWidgetState.send_message,
        reset_on_submit=False,
        width="100%",
    )


def profile_form() -> rx.Component:
    """Optional name and email, remembered across products and visits."""
    return rx.form(
        rx.vstack(
            rx.text("Your details (optional)", size="1", weight="bold"),
            rx.hstack(
                rx.input(
                    name="name",
                    placeholder="Name",
                    default_value=ChatWidgetState.profile_name,
                    max_length=80,
                    data_testid="chat-name-input",
                    aria_label="Your name",
                    size="1",
                    width="100%",
                ),
                rx.input(
                    name="email",
                    type="email",
                    placeholder="Email",
                    default_value=ChatWidgetState.profile_email,
                    max_length=254,
                    data_testid="chat-email-input",
                    aria_label="Your email",
                    size="1",
                    width="100%",
                ),
                rx.button("Save", type="submit", size="1", variant="soft", data_testid="chat-save-profile"),
                width="100%",
                spacing="2",
            ),
            rx.cond(
                ChatWidgetState.profile_notice != "",
                rx.text(ChatWidgetState.profile_notice, size="1", color=rx.color("green", 11)),
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


def erase_controls() -> rx.Component:
    return rx.cond(
        ChatWidgetState.has_session,
        rx.cond(
            ChatWidgetState.confirming_erase,
            rx.hstack(
                rx.text("Erase this conversation for good?", size="1"),
                rx.button(
                    "Erase",
                    size="1",
                    color_scheme="red",
                    on_click=ChatWidgetState.erase_conversation,
                    data_testid="chat-erase-confirm",
                ),
                rx.button("Keep", size="1", variant="soft", color_scheme="gray", on_click=ChatWidgetState.cancel_erase),
                align="center",
                spacing="2",
            ),
            rx.button(
                rx.icon("trash-2", size=14),
                "Erase conversation",
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=ChatWidgetState.ask_erase,
                data_testid="chat-erase",
            ),
        ),
    )


def details() -> rx.Component:
    """Profile and erase, folded away so the thread keeps the room."""
    return rx.el.details(
        rx.el.summary("Your details and privacy", class_name="chat-details-summary"),
        rx.vstack(profile_form(), erase_controls(), spacing="2", padding_top="6px"),
        class_name="chat-details",
    )


def panel(product_id: rx.Var[str] | None = None) -> rx.Component:
    return rx.card(
        header(),
        thread(),
        rx.cond(
            has_connection_errors,
            rx.callout(
                "Connection lost. Reconnecting…",
                icon="wifi-off",
                color_scheme="amber",
                size="1",
                data_testid="chat-connection-status",
            ),
        ),
        refusal(ChatWidgetState.error, "chat-error"),
        composer(product_id),
        details(),
        on_mount=ChatWidgetState.open_chat,
        data_testid="chat-panel",
        class_name="chat-panel",
        role="dialog",
        aria_label="Product chat",
    )


def chat_widget(product_id: str | rx.Var[str] | None = None) -> rx.Component:
    """The chat about one product, in the page's corner; starts closed.

    Without `product_id` it is about the product its page's route names as `[product_id]`
    (`/products/[product_id]`); given one (a string, or a Var such as a route argument of another name:
    `chat_widget(product_id=rx.State.sku)` on `/item/[sku]`), it is about that product. It loads itself on
    every page load and reconnect: no `on_load` to add.
    """
    given = None if product_id is None else rx.Var.create(product_id).to(str)
    return rx.box(
        on_page_load(given if given is not None else ""),
        rx.cond(chat_open.value, panel(given)),
        rx.cond(~chat_open.value & ChatWidgetState.has_session, on_new_reply(unread_marker)),
        rx.cond(
            ~ChatWidgetState.has_session & (ChatWidgetState.chat_session_data != ""),
            record_marker(record=ChatWidgetState.chat_session_data, key=ChatWidgetState.chat_session_data),
        ),
        launcher(),
        class_name="chat-widget",
    )
