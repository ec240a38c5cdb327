"""The shopper's pages: the store front and a product page with its chat."""

import reflex as rx

from rxchat.components.layout import store_page
from rxchat.components.product import catalog_grid, product_detail
from rxchat.components.widget import chat_widget
from rxchat.states.store import StoreState


def index() -> rx.Component:
    return store_page(
        rx.vstack(
            rx.heading("Thoughtful things for everyday life", size="8"),
            rx.text(
                "Ask our team anything about a product: every product has its own chat.",
                size="4",
                color=rx.color("gray", 11),
            ),
            spacing="2",
            padding_bottom="24px",
        ),
        catalog_grid(),
    )


def product_page() -> rx.Component:
    return store_page(product_detail(), chat_widget())


def add_pages(app: rx.App) -> None:
    app.add_page(index, route="/", title="Northwind Goods", on_load=StoreState.load_catalog)
    # The widget loads itself: the page's on_load is the store's own.
    app.add_page(
        product_page, route="/products/[product_id]", title="Northwind Goods: product", on_load=StoreState.load_product
    )
