"""The store front and product pages: the catalog as the shopper sees it."""

import dataclasses

import reflex as rx

from rxchat import db
from rxchat.models import ProductPublic
from rxchat.services import chat
from rxchat.services.errors import ProductNotFound


@dataclasses.dataclass
class ProductView:
    id: str = ""
    name: str = ""
    price: str = ""
    image: str = ""
    description: str = ""


def to_view(product: ProductPublic) -> ProductView:
    return ProductView(
        id=product.id,
        name=product.name,
        price=product.price_label,
        image=product.image,
        description=product.description,
    )


class StoreState(rx.State):
    products: list[ProductView] = []
    product: ProductView = ProductView()
    product_missing: bool = False
    loaded: bool = False

    @rx.event
    async def load_catalog(self):
        async with db.session() as s:
            self.products = [to_view(p) for p in await chat.list_products(s)]
        self.loaded = True

    @rx.event
    async def load_product(self):
        product_id = self.rx_router_page.params.get("product_id", "")
        try:
            async with db.session() as s:
                self.product = to_view(await chat.get_product(s, product_id=str(product_id)))
            self.product_missing = False
        except ProductNotFound:
            self.product = ProductView()
            self.product_missing = True
        self.loaded = True
