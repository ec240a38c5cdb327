"""The store's frame: header with the colour-mode switch, and the page body."""

import reflex as rx
from reflex_base.style import resolved_color_mode

from rxchat.states.widget import ChatWidgetState


def theme_switch() -> rx.Component:
    """Light/dark switch; the choice is also kept in the shopper's chat preferences."""
    return rx.icon_button(
        rx.color_mode_cond(light=rx.icon("moon", size=18), dark=rx.icon("sun", size=18)),
        on_click=[rx.toggle_color_mode, ChatWidgetState.remember_theme(resolved_color_mode)],
        variant="ghost",
        color_scheme="gray",
        aria_label="Switch light or dark theme",
        data_testid="theme-switch",
    )


def store_header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(rx.icon("shopping-bag", size=22), rx.heading("Northwind Goods", size="5"), align="center"),
            href="/",
            underline="none",
            color_scheme="gray",
            high_contrast=True,
        ),
        rx.spacer(),
        theme_switch(),
        align="center",
        class_name="store-header",
    )


def store_page(*children: rx.Component) -> rx.Component:
    return rx.box(
        store_header(),
        rx.box(*children, class_name="store-main"),
        class_name="store-root",
    )


def refusal(message, test_id: str) -> rx.Component:
    """A visible, human sentence when something is refused; shown only while `message` is set."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle-alert", color_scheme="red", size="1", role="alert", data_testid=test_id),
    )
