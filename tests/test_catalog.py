"""The product source: a host store's catalog (a callable, plain or async) or, by default, the demo catalog.

Every product lookup goes through it: starting and continuing a conversation, the inbox's names, the
console's product filter and the HTTP API. A product the source does not know has no chat.
"""

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import api_support
from factories import make_messages, make_session
from rxchat import embed
from rxchat.models import DemoProduct, Product
from rxchat.services import catalog, chat, errors, staff

KETTLE = Product(id="sku-100", name="Harbor Kettle", price="$39.00", image_url="/kettle.png", url="/item/sku-100")
MUG = Product(id="sku-200", name="Dune Mug")
HOST_CATALOG = {p.id: p for p in (KETTLE, MUG)}


@pytest.fixture
def host_catalog():
    """The host's catalog as a plain callable (a dict's `get`), for the test; the demo catalog after it."""
    products = dict(HOST_CATALOG)
    catalog.use_source(products.get)
    yield products
    catalog.use_source(None)


async def test_the_demo_catalog_is_the_default_source(db):
    lamp = await chat.get_product(db, product_id="aurora-lamp")

    assert lamp == Product(
        id="aurora-lamp",
        name="Aurora Desk Lamp",
        price="$89.00",
        image_url="/products/aurora-lamp.svg",
        url="/products/aurora-lamp",
        description=lamp.description,
    )
    assert lamp.description
    with pytest.raises(errors.ProductNotFound):
        await chat.get_product(db, product_id="sku-100")


async def test_a_hosts_plain_callable_is_the_catalog(db, host_catalog):
    assert await chat.get_product(db, product_id="sku-100") is KETTLE
    for unknown in ("aurora-lamp", "sku-999", "bad id", "", "x" * 65):  # the demo catalog is not asked
        with pytest.raises(errors.ProductNotFound):
            await chat.get_product(db, product_id=unknown)

    started = await chat.create_session(db, product_id="sku-100")
    assert started.product_id == "sku-100"
    with pytest.raises(errors.ProductNotFound):
        await chat.create_session(db, product_id="aurora-lamp")


async def test_a_hosts_async_callable_is_the_catalog(db):
    asked = []

    async def find(product_id: str) -> Product | None:
        asked.append(product_id)
        await asyncio.sleep(0)
        return HOST_CATALOG.get(product_id)

    catalog.use_source(find)
    try:
        assert (await chat.get_product(db, product_id="sku-200")).name == "Dune Mug"
        assert await catalog.find_products(db, ["sku-100", "nope", "sku-100"]) == {"sku-100": KETTLE}
    finally:
        catalog.use_source(None)
    assert asked == ["sku-200", "sku-100", "nope"]


async def test_a_source_must_answer_with_a_product_or_none(db):
    catalog.use_source(lambda product_id: {"id": product_id, "name": "a dict"})
    try:
        with pytest.raises(TypeError, match="rxchat.Product"):
            await chat.get_product(db, product_id="sku-100")
    finally:
        catalog.use_source(None)
    with pytest.raises(TypeError):
        catalog.use_source("not callable")  # type: ignore[arg-type]


async def test_messages_for_a_product_the_host_no_longer_has_are_refused(db, host_catalog):
    started = await chat.create_session(db, product_id="sku-100")
    await chat.post_shopper_message(db, product_id="sku-100", session_id=started.session_id, body="still there?")
    del host_catalog["sku-100"]

    with pytest.raises(errors.ProductNotFound):
        await chat.post_shopper_message(db, product_id="sku-100", session_id=started.session_id, body="hello?")

    stored, _ = await chat.list_messages(db, chat=started)
    assert [m.body for m in stored] == ["still there?"]


async def test_messages_for_a_product_the_demo_catalog_no_longer_has_are_refused(db):
    started = await chat.create_session(db, product_id="aurora-lamp")
    await chat.post_shopper_message(db, product_id="aurora-lamp", session_id=started.session_id, body="first")
    await db.exec(sa.delete(DemoProduct).where(DemoProduct.id == "aurora-lamp"))  # type: ignore[arg-type]
    await db.commit()

    with pytest.raises(errors.ProductNotFound):
        await chat.post_shopper_message(db, product_id="aurora-lamp", session_id=started.session_id, body="second")

    await db.refresh(started)
    assert started.message_count == 1  # the statement that would count it found the product gone


async def test_the_inbox_and_the_product_filter_name_products_by_the_hosts_catalog(db, host_catalog):
    kettle = await chat.create_session(db, product_id="sku-100")
    mug = await chat.create_session(db, product_id="sku-200")
    for conversation in (kettle, mug):
        await make_messages(db, conversation, 1)
    del host_catalog["sku-200"]  # gone from the catalog since: named by its id
    await chat.create_session(db, product_id="sku-100")  # no message yet: in the filter, not in the inbox

    inbox = await staff.list_conversations(db)
    products = await staff.conversation_products(db)

    assert {(row.product_id, row.product_name) for row in inbox} == {
        ("sku-100", "Harbor Kettle"),
        ("sku-200", "sku-200"),
    }
    assert products == [KETTLE, Product(id="sku-200", name="sku-200")]


async def test_the_product_filter_lists_only_products_with_conversations(db):
    await make_session(db, product_id="sku-4417")

    assert [p.name for p in await staff.conversation_products(db)] == ["Noise-Cancelling Headphones"]


# --- the HTTP API ---------------------------------------------------------------------------------------------


@pytest.fixture
async def host_api(tmp_path, host_catalog):
    async with api_support.api_database(tmp_path / "api.db"):
        async with api_support.client_for(api_support.served_app()) as client:
            yield client


async def test_the_api_finds_products_in_the_hosts_catalog(host_api):
    created = await host_api.post("/api/products/sku-100/chat/sessions")
    demo_only = await host_api.post("/api/products/aurora-lamp/chat/sessions")

    assert created.status_code == 201, created.text
    assert demo_only.status_code == 404
    assert demo_only.json()["error"]["code"] == "product_not_found"
    session_id = created.json()["session_id"]
    posted = await host_api.post(f"/api/products/sku-100/chat/sessions/{session_id}/messages", json={"content": "hi"})
    assert posted.status_code == 201, posted.text


# --- add_chat mounts /api beside a host's own api_transformer -------------------------------------------------


def reflex_stand_in() -> Starlette:
    def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("reflex", status_code=404)

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])


def served(transformer) -> object:
    """What Reflex 0.10.1 serves for `rx.App(api_transformer=transformer)` (App.__call__): each transformer in
    turn wraps the app so far, a Starlette app by mounting it at ""."""
    asgi = reflex_stand_in()
    for each in transformer if isinstance(transformer, list | tuple) else [transformer]:
        if isinstance(each, Starlette):
            each.mount("", asgi)
            asgi = each
        else:
            asgi = each(asgi)
    return asgi


def host_fastapi() -> FastAPI:
    host = FastAPI()
    host.get("/api/orders")(lambda: {"orders": []})
    host.get("/healthz")(lambda: {"ok": True})
    return host


async def get(asgi, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://shop.test") as client:
        return await client.get(path)


@pytest.mark.parametrize("kind", ["fastapi", "middleware", "list"])
async def test_rxchats_api_is_mounted_inside_a_hosts_own(kind, tmp_path):
    seen = []

    def middleware(inner):
        async def app(scope, receive, send):
            seen.append(scope.get("path"))
            await inner(scope, receive, send)

        return app

    host = {"fastapi": host_fastapi(), "middleware": middleware, "list": [middleware, host_fastapi()]}[kind]
    asgi = served(embed._with_api(host, embed.http_api()))

    async with api_support.api_database(tmp_path / "api.db"):
        ours = await get(asgi, "/api/openapi.json")
        unknown = await get(asgi, "/api/nothing-here")
        page = await get(asgi, "/products/aurora-lamp")
        if kind != "middleware":
            assert (await get(asgi, "/api/orders")).json() == {"orders": []}  # the host's own /api route
            assert (await get(asgi, "/healthz")).json() == {"ok": True}

    assert ours.status_code == 200 and ours.json()["info"]["title"] == "rxchat API"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert (page.status_code, page.text) == (404, "reflex")  # everything else reaches Reflex
    if kind != "fastapi":
        assert "/api/openapi.json" in seen  # the host's middleware sees rxchat's requests too
