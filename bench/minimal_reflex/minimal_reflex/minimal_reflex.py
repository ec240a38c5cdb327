"""A product page with one small state: what a connected tab costs in Reflex itself, without rxchat."""

import reflex as rx


class PageState(rx.State):
    visits: int = 0

    @rx.event
    def load(self):
        self.visits += 1


def product() -> rx.Component:
    return rx.text("product ", PageState.visits)


app = rx.App()
app.add_page(product, route="/products/[product_id]", on_load=PageState.load)
