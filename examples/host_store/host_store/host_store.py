"""Tea & Kettle: a small Reflex store of its own, with rxchat's product chat on every item page."""

import reflex as rx

import rxchat

# The store's catalog, as the store keeps it.
TEAS = {
    "sencha": {"name": "Sencha Morning", "price": "$14.00", "stock": 42, "notes": "Grassy, bright, a little sweet."},
    "lapsang": {"name": "Smoky Lapsang", "price": "$16.50", "stock": 3, "notes": "Pine smoke and dried longan."},
    "teapot": {"name": "Cast-iron Teapot", "price": "$58.00", "stock": 0, "notes": "0.8 l, enamelled inside."},
}
CATALOG = rx.Var.create(TEAS)  # the same, for the pages


def chat_product(sku: str) -> rxchat.Product | None:
    """What rxchat shows about an item (None: no chat for it)."""
    tea = TEAS.get(sku)
    return rxchat.Product(id=sku, name=tea["name"], price=tea["price"], url=f"/item/{sku}") if tea else None


def stock_panel(sku: rx.Var[str]) -> rx.Component:
    """Beside the conversation in the staff console: how many the store has."""
    return rx.text("In stock: ", CATALOG[sku]["stock"].to(int), data_testid="stock-level")


def index() -> rx.Component:
    links = [rx.link(tea["name"], href=f"/item/{sku}", size="5") for sku, tea in TEAS.items()]
    return rx.container(rx.vstack(rx.heading("Tea & Kettle", size="8"), *links, spacing="4"), padding_top="48px")


def item() -> rx.Component:
    tea = CATALOG[rx.State.sku]
    return rx.container(
        rx.vstack(
            rx.link("← Tea & Kettle", href="/"),
            rx.heading(tea["name"].to(str), size="8"),
            rx.text(tea["price"].to(str), size="5", weight="bold"),
            rx.text(tea["notes"].to(str), size="4", color_scheme="gray"),
            spacing="3",
        ),
        rxchat.chat_widget(product_id=rx.State.sku),
        padding_top="48px",
    )


app = rx.App()
app.add_page(index, route="/", title="Tea & Kettle")
app.add_page(item, route="/item/[sku]", title="Tea & Kettle")
rxchat.add_chat(app, products=chat_product, console_panels=[stock_panel])
