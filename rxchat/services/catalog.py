"""Where products come from: the store's catalog, and the demo catalog that is the default.

A chat is about a product the store's catalog knows. The catalog is a product source: a callable, plain
or async, from a product id to an `rxchat.Product` or None ("no chat for this id"), which a host store
passes to `add_chat(app, products=...)`. Without one, the source is rxchat's own demo catalog, the table
`rxchat_products` (`seed-demo` loads it; the demo store's pages show it). Every product lookup of the
widget, the console and the HTTP API goes through `find_product` / `find_products`.

A plain callable runs on the event loop, as every lookup does: keep it quick (a dict's `get`, a cache);
one that does I/O should be async.
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import DemoProduct, Product
from rxchat.services import ids

ProductSource = Callable[[str], Product | None | Awaitable[Product | None]]
DEMO_PRODUCT_ROUTE = "/products/"  # the demo store's product pages: /products/{id}

_source: ProductSource | None = None  # None: the demo catalog


def use_source(source: ProductSource | None) -> None:
    """Products come from `source` from now on (None: the demo catalog). `add_chat` sets it."""
    global _source
    if source is not None and not callable(source):
        raise TypeError("products must be a callable from a product id to an rxchat.Product or None")
    _source = source


def is_demo_source() -> bool:
    return _source is None


async def find_product(db: AsyncSession, product_id: object) -> Product | None:
    """The product with this id as the catalog describes it, or None when there is no chat for it
    (an id of the wrong shape included)."""
    if not ids.is_valid_product_id(product_id):
        return None
    assert isinstance(product_id, str)
    if _source is None:
        return await find_demo_product(db, product_id)
    found = _source(product_id)
    if inspect.isawaitable(found):
        found = await found
    if found is not None and not isinstance(found, Product):
        raise TypeError(f"the product source returned {type(found).__name__}, not an rxchat.Product or None")
    return found


async def find_products(db: AsyncSession, product_ids: Iterable[str]) -> dict[str, Product]:
    """The products of these ids the catalog knows, by id (for lists: the inbox, the product filter)."""
    wanted = list(dict.fromkeys(p for p in product_ids if ids.is_valid_product_id(p)))
    if not wanted:
        return {}
    if _source is None:
        rows = await db.exec(select(DemoProduct).where(col(DemoProduct.id).in_(wanted)))
        return {row.id: demo_product(row) for row in rows.all()}
    found = await asyncio.gather(*(find_product(db, product_id) for product_id in wanted))
    return {product_id: product for product_id, product in zip(wanted, found, strict=True) if product is not None}


# --- the demo catalog ---------------------------------------------------------------------------------------


def price_label(price_cents: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{price_cents // 100}.{price_cents % 100:02d}"


def demo_product(row: DemoProduct) -> Product:
    """A row of the demo catalog as the chat shows it; its page is the demo store's /products/{id}."""
    return Product(
        id=row.id,
        name=row.name,
        price=price_label(row.price_cents, row.currency),
        image_url=row.image or None,
        url=DEMO_PRODUCT_ROUTE + row.id,
        description=row.description or None,
    )


async def find_demo_product(db: AsyncSession, product_id: str) -> Product | None:
    """A product of the demo catalog, whatever the chat's product source is (the demo store's pages)."""
    if not ids.is_valid_product_id(product_id):
        return None
    row = await db.get(DemoProduct, product_id)
    return demo_product(row) if row is not None else None


async def list_demo_products(db: AsyncSession) -> list[Product]:
    """The demo catalog, by name (the demo store's front page)."""
    rows = await db.exec(select(DemoProduct).order_by(col(DemoProduct.name)))
    return [demo_product(row) for row in rows.all()]


DEMO_PRODUCTS = [
    DemoProduct(
        id="aurora-lamp",
        name="Aurora Desk Lamp",
        price_cents=8900,
        image="/products/aurora-lamp.svg",
        description="A dimmable LED desk lamp with a warm-to-cool colour dial and a weighted oak base.",
    ),
    DemoProduct(
        id="summit-backpack",
        name="Summit 28L Backpack",
        price_cents=12900,
        image="/products/summit-backpack.svg",
        description="A weatherproof daypack with a padded laptop sleeve, side bottle pockets and a lifetime warranty.",
    ),
    DemoProduct(
        id="pour-over-kit",
        name="Pour-Over Coffee Kit",
        price_cents=5400,
        image="/products/pour-over-kit.svg",
        description="Ceramic dripper, glass carafe and 100 filters: everything for a clean, bright morning cup.",
    ),
    DemoProduct(
        id="trail-runner-2",
        name="Trail Runner 2",
        price_cents=14500,
        image="/products/trail-runner-2.svg",
        description="A grippy, cushioned trail shoe with a rock plate and a drainage mesh upper. Sizes 36 to 47.",
    ),
    DemoProduct(
        id="linen-throw",
        name="Stonewashed Linen Throw",
        price_cents=7900,
        image="/products/linen-throw.svg",
        description="Soft European flax linen, pre-washed for drape, in five quiet colours. 130 × 170 cm.",
    ),
    DemoProduct(
        id="sku-4417",
        name="Noise-Cancelling Headphones",
        price_cents=24900,
        image="/products/sku-4417.svg",
        description="Over-ear headphones with adaptive noise cancelling, 40 hours of battery and a fold-flat case.",
    ),
]


async def seed_demo(db: AsyncSession) -> int:
    """Insert or refresh the demo products; returns how many were new. Idempotent."""
    added = 0
    for product in DEMO_PRODUCTS:
        existing = await db.get(DemoProduct, product.id)
        if existing is None:
            db.add(DemoProduct.model_validate(product.model_dump()))
            added += 1
        else:
            for field, value in product.model_dump().items():
                setattr(existing, field, value)
    await db.commit()
    return added
