"""The store front and product pages: the catalog as the shopper sees it.

These are the demo store's own pages, so they read the demo catalog (`rxchat_products`). `ProductView` is
how the chat's pages show any product, the console's product context included.
"""

import dataclasses

import reflex as rx

from rxchat import db
from rxchat.models import Product
from rxchat.services import catalog


@dataclasses.dataclass
class ProductView:
    id: str = ""
    name: str = ""
    price: str = ""
    image: str = ""
    description: str = ""
    url: str = ""  # the product's page in the store ("" when the catalog names none)


def to_view(product: Product) -> ProductView:
    return ProductView(
        id=product.id,
        name=product.name,
        price=product.price or "",
        image=product.image_url or "",
        description=product.description or "",
        url=product.url or "",
    )


class StoreState(rx.State):
    products: list[ProductView] = []
    product: ProductView = ProductView()
    product_missing: bool = False
    loaded: bool = False

    @rx.event
    async def load_catalog(self):
        async with db.session() as s:
            self.products = [to_view(p) for p in await catalog.list_demo_products(s)]
        self.loaded = True

    @rx.event
    async def load_product(self):
        product_id = self.rx_router_page.params.get("product_id", "")
        async with db.session() as s:
            row = await catalog.find_demo_product(s, str(product_id))
        self.product = to_view(row) if row is not None else ProductView()
        self.product_missing = row is None
        self.loaded = True
