"""A host store's brand and language, in a real browser: a German widget with the host's title, greeting, accent
colour and corner beside the default English one, in a host app of its own served as in production.

The German widget speaks German at compile time (its labels) and at run time (a refusal in `chat-error` comes
from the server in the widget's language, a host's override included), sits in the bottom-left corner and wears
crimson while the host page keeps its own accent; the English widget is as it always was. Both stay readable:
an axe scan, light and dark, and the contrast of a shopper's bubble measured on the page.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rxchat.i18n import de, en
from rxchat.testing import ChatWidget
from server import ROOT, AppServer, base_env
from test_e2e_accessibility import blocking_violations

pytestmark = pytest.mark.e2e

expect.set_options(timeout=10_000)

MAX_CHARS = 200  # this server's RXCHAT_MAX_MESSAGE_CHARS, so an over-long message is quick to type
PRODUCT = "sku-100"
TITLE = "Fragen zum Wasserkocher?"
GREETING = "Moin! Schreiben Sie uns, wir beraten Sie gern."
EMPTY_REFUSAL = "Bitte schreiben Sie zuerst Ihre Frage."  # the host's own German for error.message_empty

RXCONFIG = """
import reflex as rx

config = rx.Config(
    app_name="brandstore",
    db_url="sqlite:///store.db",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
)
"""
APP = f"""
import reflex as rx

import rxchat

CATALOG = {{"{PRODUCT}": rxchat.Product(id="{PRODUCT}", name="Harbor Kettle", price="39,00 €")}}

rxchat.set_text({{"de": {{"error.message_empty": "{EMPTY_REFUSAL}"}}}})


def artikel() -> rx.Component:
    return rx.box(
        rx.heading("Harbor Kettle"),
        rx.button("In den Warenkorb", data_testid="host-button"),
        rxchat.chat_widget(
            title="{TITLE}",
            greeting="{GREETING}",
            accent_color="crimson",
            position="bottom-left",
            locale="de",
        ),
        padding="32px",
    )


def item() -> rx.Component:
    return rx.box(
        rx.heading("Harbor Kettle"),
        rx.button("Add to cart", data_testid="host-button"),
        rxchat.chat_widget(),
        padding="32px",
    )


app = rx.App(theme=rx.theme(accent_color="indigo"))
app.add_page(artikel, route="/de/artikel/[product_id]")
app.add_page(item, route="/item/[product_id]")
rxchat.add_chat(app, products=CATALOG.get)
"""

# The computed colour a CSS colour resolves to on the page, as "r,g,b" (a 1x1 canvas reads any CSS colour).
RGB = """(color) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const context = canvas.getContext("2d");
  context.fillStyle = color;
  context.fillRect(0, 0, 1, 1);
  return Array.from(context.getImageData(0, 0, 1, 1).data.slice(0, 3)).join(",");
}"""
# What `var(--<name>)` resolves to inside the page's root theme.
THEME_COLOR = """(name) => {
  const probe = document.createElement("div");
  probe.style.background = `var(--${name})`;
  document.querySelector(".radix-themes").appendChild(probe);
  const color = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return color;
}"""


def brand_store_project(workdir: Path) -> Path:
    """The host project: its own rxconfig.py, app module and SQLite database, migrated with `rxchat migrate`."""
    project = workdir / "store"
    (project / "brandstore").mkdir(parents=True)
    (project / "rxconfig.py").write_text(RXCONFIG)
    (project / "brandstore" / "__init__.py").write_text("")
    (project / "brandstore" / "brandstore.py").write_text(APP)
    (project / "assets").mkdir()
    shutil.copy(ROOT / "assets" / "favicon.ico", project / "assets" / "favicon.ico")
    shutil.copytree(ROOT / "reflex.lock", project / "reflex.lock")  # the JS packages' locked versions
    return project


def brand_store_env() -> dict[str, str]:
    env = base_env(PYTHONPATH=str(ROOT), RXCHAT_MAX_MESSAGE_CHARS=str(MAX_CHARS))
    for name in ("REFLEX_DB_URL", "RXCHAT_DB_URL", "RXCHAT_LOCALE"):
        env.pop(name, None)  # the database is the one rxconfig.py names; the default language is English
    return env


@pytest.fixture(scope="module")
def brand_store():
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-brand-"))
    project, env = brand_store_project(workdir), brand_store_env()
    migrate = subprocess.run(
        [sys.executable, "-m", "rxchat", "migrate"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    server = AppServer(workdir, env, app_root=project).start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def rxchat_base_url(brand_store) -> str:
    return brand_store.url


@pytest.fixture
def rxchat_env(brand_store) -> dict[str, str]:
    return brand_store.env


def rgb(page: Page, color: str) -> str:
    return page.evaluate(RGB, color)


def theme_color(page: Page, name: str) -> str:
    return rgb(page, page.evaluate(THEME_COLOR, name))


def contrast(page: Page, foreground: str, background: str) -> float:
    def luminance(color: str) -> float:
        channels = [int(c) / 255 for c in rgb(page, color).split(",")]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def own_bubble_contrast(page: Page, widget: ChatWidget) -> float:
    """The contrast of the shopper's newest bubble's text on its background, as the page paints them."""
    bubble = widget.message_items(author="shopper").last
    background = bubble.evaluate("e => getComputedStyle(e).backgroundColor")
    text = bubble.locator(".chat-text").evaluate("e => getComputedStyle(e).color")
    return contrast(page, text, background)


def corner(widget: ChatWidget, page: Page) -> str:
    box = widget.launcher.bounding_box()
    assert box is not None
    return "left" if box["x"] + box["width"] / 2 < page.viewport_size["width"] / 2 else "right"


@pytest.fixture(params=["light", "dark"])
def scheme(request, page: Page) -> str:
    page.emulate_media(color_scheme=request.param)
    return request.param


def test_the_german_widget_wears_the_hosts_brand_and_speaks_german(
    rxchat_widget: ChatWidget, page: Page, brand_store, scheme
):
    widget = rxchat_widget
    widget.goto(f"{brand_store.url}/de/artikel/{PRODUCT}")
    expect(widget.launcher).to_have_attribute("aria-label", de.TEXT["widget.open_chat"])
    assert corner(widget, page) == "left"
    # Crimson on the widget alone: the host's button keeps the page's indigo.
    crimson, indigo = theme_color(page, "crimson-9"), theme_color(page, "indigo-9")
    assert rgb(page, widget.launcher.evaluate("e => getComputedStyle(e).backgroundColor")) == crimson
    host_button = page.get_by_test_id("host-button")
    assert rgb(page, host_button.evaluate("e => getComputedStyle(e).backgroundColor")) == indigo

    widget.open()
    expect(widget.panel.locator(".chat-header")).to_contain_text(TITLE)
    expect(widget.panel.get_by_test_id("chat-notice").first).to_have_text(GREETING)
    expect(widget.panel).to_have_attribute("aria-label", de.TEXT["widget.panel"])
    expect(widget.input).to_have_attribute("placeholder", de.TEXT["widget.input_placeholder"])
    panel_box = widget.panel.bounding_box()
    assert panel_box is not None and panel_box["x"] < page.viewport_size["width"] / 2

    # Refusals come from the server, in the widget's language: the host's own words, then rxchat's German.
    widget.submit("   ")
    expect(widget.error).to_have_text(EMPTY_REFUSAL)
    too_long = "Wasser " * 40  # 279 characters once trimmed
    widget.submit(too_long)
    expect(widget.error).to_have_text(
        de.TEXT["error.message_too_long"].format(length=len(too_long.strip()), limit=MAX_CHARS)
    )
    expect(widget.input).to_have_value(too_long)  # the typed text stays

    sent = widget.send("Pfeift er, wenn das Wasser kocht?")
    expect(widget.error).to_be_hidden()
    expect(sent.locator(".chat-status")).to_have_text(de.TEXT["message.sent"])
    assert own_bubble_contrast(page, widget) >= 4.5
    assert blocking_violations(page) == []


def test_the_default_widget_is_english_in_the_right_corner_with_the_hosts_accent(
    rxchat_widget: ChatWidget, page: Page, brand_store, scheme
):
    widget = rxchat_widget
    widget.goto(f"{brand_store.url}/item/{PRODUCT}")
    expect(widget.launcher).to_have_attribute("aria-label", en.TEXT["widget.open_chat"])
    assert corner(widget, page) == "right"
    indigo = theme_color(page, "indigo-9")
    assert rgb(page, widget.launcher.evaluate("e => getComputedStyle(e).backgroundColor")) == indigo

    widget.open()
    expect(widget.panel.locator(".chat-header")).to_contain_text(en.TEXT["widget.title"])
    expect(widget.panel.get_by_test_id("chat-notice").first).to_have_text(en.TEXT["widget.greeting"])
    widget.submit("   ")
    expect(widget.error).to_have_text(en.TEXT["error.message_empty"])

    sent = widget.send("Does it whistle when the water boils?")
    expect(sent.locator(".chat-status")).to_have_text(en.TEXT["message.sent"])
    assert own_bubble_contrast(page, widget) >= 4.5
    assert blocking_violations(page) == []
