"""Product cards for the catalog and the product detail view."""

import reflex as rx

from rxchat.states.store import ProductView, StoreState


def product_card(product: ProductView) -> rx.Component:
    return rx.link(
        rx.card(
            rx.image(src=product.image, alt=product.name, class_name="product-card-image"),
            rx.vstack(
                rx.heading(product.name, size="4"),
                rx.text(product.price, weight="bold", color=rx.color("accent", 11)),
                rx.text(product.description, size="2", color=rx.color("gray", 11), class_name="product-card-desc"),
                spacing="1",
                padding_top="12px",
            ),
            class_name="product-card-inner",
        ),
        href="/products/" + product.id,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        data_testid="product-card",
        data_product_id=product.id,
        class_name="product-card",
    )


def catalog_grid() -> rx.Component:
    return rx.box(rx.foreach(StoreState.products, product_card), class_name="product-grid")


def product_detail() -> rx.Component:
    product = StoreState.product
    return rx.cond(
        StoreState.product_missing,
        rx.vstack(
            rx.heading("We could not find that product", size="6"),
            rx.link("Back to the store", href="/"),
            data_testid="product-missing",
            spacing="3",
        ),
        rx.box(
            rx.image(src=product.image, alt=product.name, class_name="product-detail-image"),
            rx.vstack(
                rx.link("← All products", href="/", size="2"),
                rx.heading(product.name, size="8", data_testid="product-name"),
                rx.text(
                    product.price, size="6", weight="bold", color=rx.color("accent", 11), data_testid="product-price"
                ),
                rx.text(product.description, size="4", color=rx.color("gray", 11), data_testid="product-description"),
                rx.button(rx.icon("shopping-cart", size=18), "Add to cart", size="3", width="fit-content"),
                rx.text(
                    "Questions? Open the chat in the corner: our team answers about this product.",
                    size="2",
                    color=rx.color("gray", 11),  # gray 10 falls short of WCAG AA contrast
                ),
                spacing="4",
                align="start",
            ),
            class_name="product-detail",
        ),
    )
