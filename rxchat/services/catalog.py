"""The demo catalog: a handful of products with pictures shipped in assets/."""

from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import Product

DEMO_PRODUCTS = [
    Product(
        id="aurora-lamp",
        name="Aurora Desk Lamp",
        price_cents=8900,
        image="/products/aurora-lamp.svg",
        description="A dimmable LED desk lamp with a warm-to-cool colour dial and a weighted oak base.",
    ),
    Product(
        id="summit-backpack",
        name="Summit 28L Backpack",
        price_cents=12900,
        image="/products/summit-backpack.svg",
        description="A weatherproof daypack with a padded laptop sleeve, side bottle pockets and a lifetime warranty.",
    ),
    Product(
        id="pour-over-kit",
        name="Pour-Over Coffee Kit",
        price_cents=5400,
        image="/products/pour-over-kit.svg",
        description="Ceramic dripper, glass carafe and 100 filters: everything for a clean, bright morning cup.",
    ),
    Product(
        id="trail-runner-2",
        name="Trail Runner 2",
        price_cents=14500,
        image="/products/trail-runner-2.svg",
        description="A grippy, cushioned trail shoe with a rock plate and a drainage mesh upper. Sizes 36 to 47.",
    ),
    Product(
        id="linen-throw",
        name="Stonewashed Linen Throw",
        price_cents=7900,
        image="/products/linen-throw.svg",
        description="Soft European flax linen, pre-washed for drape, in five quiet colours. 130 × 170 cm.",
    ),
    Product(
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
        existing = await db.get(Product, product.id)
        if existing is None:
            db.add(Product.model_validate(product.model_dump()))
            added += 1
        else:
            for field, value in product.model_dump().items():
                setattr(existing, field, value)
    await db.commit()
    return added
