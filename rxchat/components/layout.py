"""The store's frame: header with the colour-mode switch, and the page body."""

import reflex as rx


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
        rx.color_mode.button(aria_label="Switch light or dark theme"),
        align="center",
        class_name="store-header",
    )


def store_page(*children: rx.Component) -> rx.Component:
    return rx.box(
        store_header(),
        rx.box(*children, class_name="store-main"),
        class_name="store-root",
    )
