"""The staff console: sign-in form, inbox, open thread, product context."""

import logging
from collections.abc import Callable, Sequence

import reflex as rx

from rxchat.components.canned import picker_button, reply_box_props, suggestion_menu
from rxchat.components.layout import refusal
from rxchat.components.message import load_earlier_button, message_bubble, outbox_bubble, typing_indicator
from rxchat.components.reactions import on_inbox_change, on_new_shopper_message, read_marker
from rxchat.components.sound import new_message_chime, sound_switch
from rxchat.components.staff_frame import staff_links
from rxchat.components.widget import TYPING_SIGNAL_MS
from rxchat.i18n import Texts
from rxchat.states import unavailable
from rxchat.states.auth import AgentAuthState
from rxchat.states.canned import CannedPickerState
from rxchat.states.console import OUTBOX, REPLY_INPUT_ID, AgentConsoleState
from rxchat.states.inbox import ConversationRow, InboxState
from rxchat.states.room import ConversationRoomState

logger = logging.getLogger(__name__)


def login_form(t: Texts) -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading(t("login.title"), size="6"),
                    rx.text(t("login.intro"), size="2", color=rx.color("gray", 11)),
                    rx.input(
                        name="email",
                        type="email",
                        placeholder=t("login.email"),
                        aria_label=t("login.email"),
                        required=True,
                        auto_complete="username",
                        data_testid="agent-login-email",
                        width="100%",
                        size="3",
                    ),
                    rx.input(
                        name="password",
                        type="password",
                        placeholder=t("login.password"),
                        aria_label=t("login.password"),
                        required=True,
                        auto_complete="current-password",
                        data_testid="agent-login-password",
                        width="100%",
                        size="3",
                    ),
                    refusal(AgentAuthState.login_error, "agent-login-error"),
                    rx.button(
                        t("login.submit"),
                        type="submit",
                        width="100%",
                        size="3",
                        data_testid="agent-login-submit",
                        disabled=~rx.State.is_hydrated,
                    ),
                    spacing="3",
                ),
                on_submit=AgentAuthState.login,
                reset_on_submit=False,
            ),
            width="min(400px, 92vw)",
            size="4",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
        lang=t.locale,
    )


OPEN_ON_ENTER_OR_SPACE = """(e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    e.currentTarget.click();
  }
}"""


def visitor_label(t: Texts, label) -> rx.Var:
    """A shopper's label ("Visitor 3F9A0C", `services.staff.shopper_label`) in the console's language."""
    return t.var("console.visitor", tag=label.split(" ")[-1])


def inbox_item(row: ConversationRow, t: Texts) -> rx.Component:
    shopper = visitor_label(t, row.shopper_label)
    return rx.box(
        rx.hstack(
            rx.text(
                rx.cond(row.customer_name != "", row.customer_name, shopper),
                weight="bold",
                size="2",
                trim="both",
            ),
            # With a name given, the handle still tells apart two shoppers of the same name.
            rx.cond(row.customer_name != "", rx.text(shopper, size="1", color=rx.color("gray", 11))),
            rx.spacer(),
            rx.cond(
                row.unread > 0,
                rx.badge(
                    row.unread, color_scheme="red", variant="solid", radius="full", data_testid="agent-unread-count"
                ),
            ),
            align="center",
            spacing="2",
        ),
        rx.text(row.product_name, size="1", color=rx.color("accent", 11)),
        rx.text(
            rx.cond(
                row.last_author == "agent",
                t.var("console.own_last_message", message=row.last_message),
                row.last_message,
            ),
            size="1",
            color=rx.color("gray", 11),
            class_name="inbox-preview",
        ),
        rx.hstack(
            rx.moment(
                row.last_activity,
                from_now=True,
                font_size="11px",
                opacity="0.7",
                **({} if t.locale == "en" else {"locale": t.locale}),  # moment.js says "3 minutes ago" in English
            ),
            rx.cond(
                row.status == "closed",
                rx.badge(t("console.closed_badge"), size="1", variant="soft", color_scheme="gray"),
            ),
            spacing="2",
        ),
        on_click=AgentConsoleState.open_conversation(row.conversation),
        data_testid="agent-conversation-item",
        data_product_id=row.product_id,
        data_conversation=row.conversation,
        class_name=rx.cond(
            row.conversation == AgentConsoleState.selected, "inbox-item inbox-item-active", "inbox-item"
        ),
        role="button",
        tab_index=0,
        # Enter or Space opens the focused conversation, as on a button (in the page: other keys send nothing).
        custom_attrs={"onKeyDown": rx.Var(OPEN_ON_ENTER_OR_SPACE)},
    )


def inbox(t: Texts) -> rx.Component:
    own_view = AgentConsoleState.own_view
    rows = rx.cond(own_view, AgentConsoleState.conversations, InboxState.open_rows)
    return rx.vstack(
        rx.hstack(
            rx.select.root(
                rx.select.trigger(
                    placeholder=t("console.all_products"),
                    aria_label=t("console.filter_product"),
                    data_testid="agent-filter-product",
                    width="100%",
                ),
                rx.select.content(
                    rx.select.item(t("console.all_products"), value="all"),
                    rx.foreach(AgentConsoleState.products, lambda p: rx.select.item(p.name, value=p.id)),
                ),
                value=rx.cond(AgentConsoleState.filter_product == "", "all", AgentConsoleState.filter_product),
                on_change=AgentConsoleState.set_filter_product,
                on_open_change=AgentConsoleState.refresh_filter_products,
            ),
            rx.select.root(
                rx.select.trigger(
                    aria_label=t("console.filter_status"), data_testid="agent-filter-status", width="100%"
                ),
                rx.select.content(
                    rx.select.item(t("console.status_open"), value="open"),
                    rx.select.item(t("console.status_closed"), value="closed"),
                    rx.select.item(t("console.status_all"), value="all"),
                ),
                value=AgentConsoleState.filter_status,
                on_change=AgentConsoleState.set_filter_status,
            ),
            class_name="console-filters",
        ),
        rx.box(
            rx.foreach(rows, lambda row: inbox_item(row, t)),
            rx.cond(
                rows.length() == 0,
                rx.text(t("console.empty_inbox"), size="2", color=rx.color("gray", 11), padding="12px"),
            ),
            rx.cond(
                rx.cond(own_view, AgentConsoleState.inbox_has_more, InboxState.more_open),
                rx.button(
                    t("console.show_more"),
                    on_click=AgentConsoleState.show_more_conversations,
                    variant="soft",
                    data_testid="agent-inbox-more",
                ),
            ),
            rx.cond(own_view, on_inbox_change()),
            refusal(AgentConsoleState.load_error, "agent-load-error"),
            data_testid="agent-inbox",
            class_name="inbox-list",
        ),
        class_name="console-inbox",
        spacing="3",
    )


def thread(t: Texts) -> rx.Component:
    room = ConversationRoomState
    return rx.cond(
        AgentConsoleState.erased | room.erased,
        rx.center(
            rx.text(t("console.erased"), size="3"),
            data_testid="agent-conversation-erased",
            class_name="console-thread",
        ),
        rx.cond(
            AgentConsoleState.selected == "",
            rx.center(
                rx.text(t("console.choose"), color=rx.color("gray", 11)),
                class_name="console-thread",
            ),
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.heading(visitor_label(t, AgentConsoleState.selected_label), size="4"),
                        rx.text(AgentConsoleState.selected_customer, size="1", color=rx.color("gray", 11)),
                        spacing="0",
                    ),
                    rx.spacer(),
                    rx.cond(
                        room.status == "closed",
                        rx.button(t("console.reopen"), variant="soft", on_click=AgentConsoleState.set_status("open")),
                        rx.button(
                            t("console.close"),
                            variant="soft",
                            color_scheme="gray",
                            on_click=AgentConsoleState.set_status("closed"),
                            data_testid="agent-close-conversation",
                        ),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.box(
                    rx.box(
                        load_earlier_button(AgentConsoleState, t),
                        rx.foreach(AgentConsoleState.earlier, lambda m: message_bubble(m, t, "agent")),
                        rx.foreach(room.messages, lambda m: message_bubble(m, t, "agent")),
                        rx.foreach(room.recent, lambda m: message_bubble(m, t, "agent")),
                        rx.foreach(OUTBOX.items, lambda text: outbox_bubble(text, "agent", t)),
                        on_new_shopper_message(read_marker),
                        rx.cond(
                            room.shopper_typing,
                            typing_indicator(t("console.shopper_typing"), "agent-typing-indicator"),
                        ),
                        data_testid="agent-thread",
                        role="log",
                        aria_live="polite",
                        class_name="chat-thread",
                    ),
                    class_name="chat-scroll",
                ),
                rx.cond(
                    room.emailed_seq > 0,
                    rx.callout(t("console.emailed"), icon="mail", size="1", data_testid="agent-emailed-notice"),
                ),
                refusal(AgentConsoleState.reply_error, "chat-error"),
                unavailable.notice(t("console.store_unreachable")),
                rx.form(
                    OUTBOX.queued_input(),
                    suggestion_menu(t),
                    rx.hstack(
                        rx.text_area(
                            id=REPLY_INPUT_ID,
                            name="reply",
                            placeholder=t("console.reply_placeholder"),
                            aria_label=t("console.reply_label"),
                            **reply_box_props(t),
                            rows="2",
                            resize="none",
                            width="100%",
                            data_testid="agent-reply-input",
                            on_change=[AgentConsoleState.typing.throttle(TYPING_SIGNAL_MS), CannedPickerState.suggest],
                        ),
                        picker_button(t),
                        rx.button(t("console.send"), type="submit", data_testid="agent-reply-send", size="3"),
                        width="100%",
                        align="end",
                    ),
                    on_submit=[OUTBOX.on_submit(), unavailable.lower(), AgentConsoleState.send_reply],
                    reset_on_submit=False,
                    width="100%",
                ),
                class_name="console-thread",
                spacing="3",
            ),
        ),
    )


# A host's panel beside the thread: a function of the open conversation's product id (a Var) to a component.
ConsolePanel = Callable[[rx.Var[str]], rx.Component]


def host_panel(panel: ConsolePanel, product_id: rx.Var[str], t: Texts) -> rx.Component:
    """A host's panel that cannot break the console: one whose function fails as the app is built shows a
    sentence in its place (and the error in the log), and the rest of the console works on."""
    try:
        return panel(product_id)
    except Exception:
        logger.exception("the console panel %s failed to build", getattr(panel, "__name__", repr(panel)))
        return rx.text(t("console.panel_failed"), size="1", color=rx.color("gray", 11), data_testid="agent-panel-error")


def product_context(t: Texts, panels: Sequence[ConsolePanel] = ()) -> rx.Component:
    """The product the open conversation is about, as the store's catalog describes it, and the host's
    panels for it (`add_chat(..., console_panels=...)`), all under `agent-product-context`."""
    product = AgentConsoleState.selected_product
    return rx.cond(
        AgentConsoleState.selected != "",
        rx.card(
            rx.cond(
                product.image != "",
                rx.image(src=product.image, alt=product.name, width="100%", border_radius="var(--radius-3)"),
            ),
            rx.heading(product.name, size="3", padding_top="8px"),
            rx.cond(product.price != "", rx.text(product.price, weight="bold")),
            rx.cond(product.description != "", rx.text(product.description, size="1", color=rx.color("gray", 11))),
            rx.cond(
                product.url != "",
                rx.link(t("console.open_product"), href=product.url, size="1", is_external=True),
            ),
            *(host_panel(panel, product.id, t) for panel in panels),
            data_testid="agent-product-context",
            class_name="console-product",
        ),
    )


def console_title(t: Texts) -> rx.Var:
    """The tab's title counts unread messages, so a console in a background tab still shows new ones."""
    return rx.cond(InboxState.unread_total > 0, "(" + InboxState.unread_total.to_string() + ") ", "") + t(
        "console.title"
    )


def console_layout(t: Texts, panels: Sequence[ConsolePanel] = ()) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.hstack(rx.icon("messages-square"), rx.heading(t("console.heading"), size="5"), align="center"),
            staff_links(t),
            rx.spacer(),
            rx.cond(
                InboxState.unread_total > 0,
                rx.badge(t.var("console.unread", count=InboxState.unread_total), color_scheme="red"),
            ),
            sound_switch(t),
            rx.color_mode.button(aria_label=t("console.theme")),
            rx.text(AgentAuthState.agent_name, size="2"),
            rx.button(
                t("console.sign_out"), variant="soft", on_click=AgentAuthState.logout, data_testid="agent-logout"
            ),
            align="center",
            class_name="store-header",
        ),
        rx.box(inbox(t), thread(t), product_context(t, panels), class_name="console-grid"),
        new_message_chime(),
        class_name="store-root",
        lang=t.locale,
    )
