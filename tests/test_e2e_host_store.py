"""rxchat embedded in a host store's own Reflex app, in a real browser: the host's catalog (an async callable),
routes of the host's naming with no `on_load` for the chat, a widget given its product id, the host's own
api_transformer beside rxchat's /api, and a console panel of the host's.

The host project is made here (rxconfig.py naming its own SQLite file, its own model named `products`), migrated
with `rxchat migrate` run in its directory, and served as in production with `reflex run --env prod`.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rxchat.testing import ChatWidget, StaffConsole
from rxchat.testing.staff import create_staff_account
from server import ROOT, AppServer, base_env

pytestmark = pytest.mark.e2e

expect.set_options(timeout=10_000)

RXCONFIG = """
import reflex as rx

config = rx.Config(
    app_name="hoststore",
    db_url="sqlite:///store.db",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
)
"""
APP = """
import asyncio

import reflex as rx
import sqlmodel
from fastapi import FastAPI

import rxchat


class Product(sqlmodel.SQLModel, table=True):  # the store's own table, named as stores name it
    __tablename__ = "products"

    id: int | None = sqlmodel.Field(default=None, primary_key=True)
    title: str


CATALOG = {
    "sku-100": rxchat.Product(id="sku-100", name="Harbor Kettle", price="$39.00", url="/item/sku-100"),
    "sku-200": rxchat.Product(id="sku-200", name="Dune Mug", price="$12.00", url="/mugs/sku-200"),
}


async def find_product(product_id: str) -> rxchat.Product | None:
    await asyncio.sleep(0)  # as a catalog service would
    return CATALOG.get(product_id)


def index() -> rx.Component:
    return rx.text("The host store")


def item() -> rx.Component:  # the route names the id `product_id`: the widget reads it
    return rx.box(rx.heading("An item", data_testid="host-item"), rxchat.chat_widget())


def mug() -> rx.Component:  # the route names it `sku`: the widget is given it
    return rx.box(rx.heading("A mug"), rxchat.chat_widget(product_id=rx.State.sku))


def stock_panel(product_id: rx.Var[str]) -> rx.Component:
    return rx.text("Stock of ", product_id, ": 12", data_testid="host-stock")


def orders_panel(product_id: rx.Var[str]) -> rx.Component:  # fails as the app is built
    raise RuntimeError("the order service is down")


shop_api = FastAPI()


@shop_api.get("/api/orders")
def orders() -> dict:
    return {"orders": ["o-1"]}


app = rx.App(api_transformer=shop_api)
app.add_page(index, route="/")
app.add_page(item, route="/item/[product_id]")
app.add_page(mug, route="/mugs/[sku]")
rxchat.add_chat(app, products=find_product, console_panels=[orders_panel, stock_panel])
"""


@pytest.fixture(scope="module")
def host_store():
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-host-"))
    project = workdir / "store"
    (project / "hoststore").mkdir(parents=True)
    (project / "rxconfig.py").write_text(RXCONFIG)
    (project / "hoststore" / "__init__.py").write_text("")
    (project / "hoststore" / "hoststore.py").write_text(APP)
    (project / "assets").mkdir()  # the host's own; rxchat's stylesheet comes with add_chat
    shutil.copy(ROOT / "assets" / "favicon.ico", project / "assets" / "favicon.ico")
    shutil.copytree(ROOT / "reflex.lock", project / "reflex.lock")  # the JS packages' locked versions
    env = base_env(PYTHONPATH=str(ROOT))
    for name in ("REFLEX_DB_URL", "RXCHAT_DB_URL"):
        env.pop(name, None)  # the database is the one rxconfig.py names
    migrate = subprocess.run(
        [sys.executable, "-m", "rxchat", "migrate"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    server = AppServer(workdir, env, app_root=project).start()
    yield server, project
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def store_url(host_store) -> str:
    return host_store[0].url


@pytest.fixture
def rxchat_base_url(store_url) -> str:
    return store_url


@pytest.fixture
def rxchat_env(host_store) -> dict[str, str]:
    return host_store[0].env


def test_the_widget_on_a_host_route_finds_its_product_with_no_on_load(rxchat_widget: ChatWidget, store_url):
    rxchat_widget.goto(f"{store_url}/item/sku-100")
    rxchat_widget.open()

    expect(rxchat_widget.panel).to_contain_text("Harbor Kettle")  # named by the host's catalog
    rxchat_widget.send("Does the kettle whistle?")
    rxchat_widget.page.reload()  # the widget loads its thread by itself
    rxchat_widget.open()
    expect(rxchat_widget.message_items("Does the kettle whistle?")).to_have_count(1)


def test_a_widget_given_its_product_id(rxchat_widget: ChatWidget, page: Page, store_url):
    rxchat_widget.goto(f"{store_url}/mugs/sku-200")
    rxchat_widget.open()

    expect(rxchat_widget.panel).to_contain_text("Dune Mug")
    rxchat_widget.send("Is the mug dishwasher safe?")
    record = page.evaluate("() => JSON.parse(window.localStorage.getItem('chat_session_data'))")
    assert list(record["productSessions"]) == ["product_sku-200"]


def test_a_product_the_catalog_does_not_know_has_no_chat(rxchat_widget: ChatWidget, page: Page, store_url):
    rxchat_widget.goto(f"{store_url}/item/aurora-lamp")  # the demo catalog's, not this store's
    rxchat_widget.open()

    expect(rxchat_widget.error).to_have_text("Chat is not available for this product.")
    rxchat_widget.submit("Anyone there?")
    expect(rxchat_widget.error).to_have_text("Chat is not available for this product.")
    expect(rxchat_widget.input).to_have_value("Anyone there?")  # the typed text stays
    expect(rxchat_widget.message_items()).to_have_count(0)
    assert page.request.post(f"{store_url}/api/products/aurora-lamp/chat/sessions").status == 404


def test_the_hosts_api_and_rxchats_answer_side_by_side(page: Page, store_url):
    assert page.request.get(f"{store_url}/api/orders").json() == {"orders": ["o-1"]}
    assert page.request.get(f"{store_url}/api/openapi.json").json()["info"]["title"] == "rxchat API"
    created = page.request.post(f"{store_url}/api/products/sku-100/chat/sessions")
    assert created.status == 201


def test_the_console_shows_the_hosts_product_its_page_and_panel(
    rxchat_widget: ChatWidget, browser, store_url, host_store
):
    server, project = host_store
    staff = create_staff_account(
        server.env, name="Hana", cwd=project
    )  # in the store's database, as rxconfig.py names it
    rxchat_widget.goto(f"{store_url}/mugs/sku-200")
    rxchat_widget.open()
    rxchat_widget.send("Which colours does the mug come in?")

    console = StaffConsole(browser.new_context().new_page(), store_url)
    console.login(staff.email, staff.password)
    console.open_conversation("Which colours does the mug come in?", product_id="sku-200")

    context = console.page.get_by_test_id("agent-product-context")
    expect(context).to_contain_text("Dune Mug")
    expect(context).to_contain_text("$12.00")
    expect(context.get_by_role("link", name="Open product page")).to_have_attribute("href", "/mugs/sku-200")
    expect(context.get_by_test_id("host-stock")).to_have_text("Stock of sku-200: 12")
    # The panel whose function failed as the app was built shows a sentence in its place; the console works on.
    expect(context.get_by_test_id("agent-panel-error")).to_have_text("This panel could not be shown.")
    console.reply("Sand and slate.")
    rxchat_widget.wait_for_reply("Sand and slate.")


BADGE = """() => {
    const badge = document.createElement("a");  // as Reflex's "Built with Reflex" badge: fixed, bottom right, on top
    badge.setAttribute("aria-label", "Built with Reflex");
    badge.textContent = "Built with Reflex";
    Object.assign(badge.style, {position: "fixed", bottom: "1rem", right: "1rem", width: "143px", height: "38px",
                                zIndex: "9998", background: "#151618"});
    document.body.appendChild(badge);
}"""


def test_the_launcher_moves_clear_of_reflexs_badge(rxchat_widget: ChatWidget, page: Page, store_url):
    """Production pages carry Reflex's badge unless rxconfig.py sets show_built_with_reflex=False (this store does;
    Reflex's hosting forces it on without a paid plan): then the widget sits above it, not under it."""
    rxchat_widget.goto(f"{store_url}/item/sku-100")
    page.evaluate(BADGE)
    badge = page.get_by_label("Built with Reflex").bounding_box()
    launcher = rxchat_widget.launcher.bounding_box()
    assert badge and launcher and launcher["y"] + launcher["height"] <= badge["y"], (launcher, badge)
    rxchat_widget.open()  # a real click, which Playwright refuses while another element covers the launcher
    panel = rxchat_widget.panel.bounding_box()
    assert panel and panel["y"] >= 0, panel
