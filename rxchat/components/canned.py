"""Canned replies on screen: the /agent/canned page, and the console's picker beside the reply box (the `/`
menu above it and the button beside it)."""

import reflex as rx

from rxchat.components.layout import refusal
from rxchat.components.staff_frame import staff_page
from rxchat.i18n import Texts
from rxchat.states.canned import (
    BODY_INPUT_ID,
    CANNED_ROUTE,
    TITLE_INPUT_ID,
    CannedPickerState,
    CannedRepliesState,
    CannedView,
)
from rxchat.states.console import REPLY_INPUT_ID

MENU_ID = "agent-canned-menu"
CLOSE_ID = "agent-canned-close"

# The reply box's keys. While the `/` menu lists suggestions, the arrow keys move the highlighted one, Enter
# takes it and Escape closes the menu; otherwise Enter sends the reply and Shift+Enter is a new line
# (what `enter_key_submit` does, which cannot be combined with a key handler of one's own).
REPLY_KEYS_JS = f"""(e) => {{
  const menu = document.getElementById("{MENU_ID}");
  const items = menu ? Array.from(menu.querySelectorAll('[role="option"]')) : [];
  if (items.length > 0) {{
    let active = items.findIndex((item) => item.getAttribute("aria-selected") === "true");
    const pick = (next) => {{
      items.forEach((item, k) => item.setAttribute("aria-selected", k === next ? "true" : "false"));
      e.currentTarget.setAttribute("aria-activedescendant", items[next].id);
      items[next].scrollIntoView({{block: "nearest"}});
    }};
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {{
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      pick(active < 0 ? 0 : (active + step + items.length) % items.length);
      return;
    }}
    if (e.key === "Enter" && !e.shiftKey) {{
      e.preventDefault();
      if (!e.repeat) items[Math.max(active, 0)].click();
      return;
    }}
    if (e.key === "Escape") {{
      e.preventDefault();
      document.getElementById("{CLOSE_ID}")?.click();
      return;
    }}
    if (active > 0) pick(0);  // the list is about to change with what is typed: the first match again
  }}
  if (e.key === "Enter" && !e.shiftKey) {{
    e.preventDefault();
    if (!e.repeat && e.currentTarget.form) e.currentTarget.form.requestSubmit();
  }}
}}"""


CLOSE_FOCUS_JS = f"""(e) => {{ e.preventDefault(); document.getElementById("{REPLY_INPUT_ID}")?.focus(); }}"""


def _suggestion(item: CannedView, index: rx.Var[int]) -> rx.Component:
    return rx.box(
        rx.text(item.title, weight="bold", size="2"),
        rx.text(item.preview, size="1", color=rx.color("gray", 11), class_name="canned-preview"),
        id="agent-canned-option-" + index.to_string(),
        role="option",
        aria_selected=rx.cond(index == 0, "true", "false"),
        on_click=CannedPickerState.use_canned(item.id),
        # The reply box keeps the focus while the mouse picks (the click still lands).
        on_mouse_down=rx.prevent_default,
        data_testid="agent-canned-suggestion",
        class_name="canned-option",
    )


def suggestion_menu(t: Texts) -> rx.Component:
    """The `/` menu above the reply box: matches of what follows the `/`, the first highlighted."""
    return rx.cond(
        CannedPickerState.suggestions.length() > 0,
        rx.box(
            rx.hstack(
                rx.text(t("console.canned_matches"), size="1", weight="bold", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("x", size=14),
                    id=CLOSE_ID,
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    type="button",
                    aria_label=t("console.canned_close"),
                    on_click=CannedPickerState.close_suggestions,
                ),
                align="center",
                width="100%",
            ),
            rx.box(
                rx.foreach(CannedPickerState.suggestions, _suggestion),
                id=MENU_ID,
                role="listbox",
                aria_label=t("console.canned_matches"),
            ),
            class_name="canned-menu",
        ),
    )


def picker_button(t: Texts) -> rx.Component:
    """The button beside the reply box, for the mouse: every canned reply, by title."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("message-square-text", size=18),
                type="button",
                size="3",
                variant="soft",
                color_scheme="gray",
                aria_label=t("console.canned_button"),
                title=t("console.canned_button"),
                data_testid="agent-canned-button",
            ),
        ),
        rx.menu.content(
            rx.foreach(
                CannedPickerState.choices,
                lambda item: rx.menu.item(
                    rx.vstack(
                        rx.text(item.title, weight="bold", size="2"),
                        rx.text(item.preview, size="1", class_name="canned-preview"),
                        spacing="0",
                    ),
                    on_select=CannedPickerState.use_canned(item.id),
                    data_testid="agent-canned-choice",
                    class_name="canned-choice",
                ),
            ),
            rx.cond(
                CannedPickerState.choices.length() == 0,
                rx.menu.item(t("console.canned_none"), disabled=True),
            ),
            max_width="min(420px, 90vw)",
            max_height="50vh",
            # Closed (a reply taken, or Escape): the focus goes to the reply box, where the text is. Radix would
            # put it back on the button once the closing animation ends, which can be after the agent has
            # started typing: the next keys went to the button, and a Space opened the menu again.
            custom_attrs={"onCloseAutoFocus": rx.Var(CLOSE_FOCUS_JS)},
        ),
        on_open_change=CannedPickerState.load_choices,
    )


def reply_box_props(t: Texts) -> dict:
    """What the console's reply box takes for the picker: its keys, and the `/` menu's input."""
    return {
        "custom_attrs": {"onKeyDown": rx.Var(REPLY_KEYS_JS)},
        "aria_autocomplete": "list",
    }


# --- the /agent/canned page -------------------------------------------------------------------------------------


def _canned_item(item: CannedView, t: Texts) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading(item.title, size="3", trim="both"),
            rx.spacer(),
            rx.button(
                rx.icon("pencil", size=14),
                t("canned.edit"),
                size="1",
                variant="soft",
                on_click=CannedRepliesState.start_edit(item.id),
                data_testid="canned-edit",
            ),
            rx.button(
                rx.icon("trash-2", size=14),
                t("canned.delete"),
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=CannedRepliesState.delete_canned(item.id),
                data_testid="canned-delete",
            ),
            align="center",
            width="100%",
        ),
        rx.text(item.body, size="2", class_name="canned-body"),
        data_testid="canned-item",
        data_canned_id=item.id,
        width="100%",
        class_name=rx.cond(CannedRepliesState.editing == item.id, "canned-item canned-item-editing", "canned-item"),
    )


def _canned_form(t: Texts) -> rx.Component:
    editing = CannedRepliesState.editing != 0
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(rx.cond(editing, t("canned.edit_heading"), t("canned.add_heading")), size="4"),
                rx.text(t("canned.title_label"), as_="label", html_for=TITLE_INPUT_ID, size="2", weight="medium"),
                rx.input(
                    id=TITLE_INPUT_ID,
                    name="title",
                    aria_label=t("canned.title_label"),
                    max_length=80,
                    required=True,
                    width="100%",
                    data_testid="canned-title-input",
                ),
                rx.text(t("canned.body_label"), as_="label", html_for=BODY_INPUT_ID, size="2", weight="medium"),
                rx.text_area(
                    id=BODY_INPUT_ID,
                    name="body",
                    aria_label=t("canned.body_label"),
                    rows="6",
                    required=True,
                    placeholder=t("canned.body_placeholder"),
                    width="100%",
                    data_testid="canned-body-input",
                ),
                refusal(CannedRepliesState.error, "chat-error"),
                rx.cond(
                    CannedRepliesState.notice != "",
                    rx.text(CannedRepliesState.notice, size="2", color=rx.color("grass", 11), role="status"),
                ),
                rx.hstack(
                    rx.button(
                        t("canned.save"), type="submit", data_testid="canned-save", disabled=~rx.State.is_hydrated
                    ),
                    rx.cond(
                        editing,
                        rx.button(
                            t("canned.cancel"),
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=CannedRepliesState.cancel_edit,
                            data_testid="canned-cancel",
                        ),
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=CannedRepliesState.save_canned,
            reset_on_submit=False,
        ),
        class_name="canned-form",
    )


def canned_page(t: Texts) -> rx.Component:
    return staff_page(
        t,
        CANNED_ROUTE,
        t("canned.heading"),
        rx.text(t("canned.intro"), size="2", color=rx.color("gray", 11), class_name="staff-intro"),
        rx.box(
            _canned_form(t),
            rx.vstack(
                rx.foreach(CannedRepliesState.replies, lambda item: _canned_item(item, t)),
                rx.cond(
                    CannedRepliesState.replies.length() == 0,
                    rx.text(t("canned.empty"), size="2", color=rx.color("gray", 11)),
                ),
                spacing="3",
                width="100%",
                data_testid="canned-list",
            ),
            class_name="canned-grid",
        ),
    )
