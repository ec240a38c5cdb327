"""Putting rxchat into a Reflex store: the few calls a host app makes.

import reflex as rx
import rxchat

CATALOG = {"sku-100": rxchat.Product(id="sku-100", name="Harbor Kettle", price="$39.00", url="/item/sku-100")}

app = rx.App()
app.add_page(my_product_page, route="/item/[product_id]")   # the page renders rxchat.chat_widget()
rxchat.add_chat(app, products=CATALOG.get)                  # styles, /api, /agent console, live delivery, sweeper,
                                                            # reply emails and the pages their links open
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import reflex as rx

if TYPE_CHECKING:
    from rxchat.components.console import ConsolePanel
    from rxchat.services.catalog import ProductSource

# rxchat's stylesheet (the widget, the console, the demo store) is rxchat/rxchat.css, in the package. add_chat links
# it into the app being compiled with Reflex's rx.asset(shared=True), under the app's assets/external/, and lists it
# in app.stylesheets: nothing is copied by hand. STYLESHEET is its path there; an app need not list it (one that
# does gets it once).
_STYLESHEET_FILE = "rxchat.css"  # beside this module: rx.asset(shared=True) takes the calling module's folder
STYLESHEET = "/external/rxchat/embed/rxchat.css"


def http_api():
    """The /api app (shopper and staff endpoints), for a host that mounts it itself (`add_chat` does, unless
    told `api=False`)."""
    from rxchat import api

    return api.build_api()


def add_chat(
    app: rx.App,
    products: "ProductSource | None" = None,
    *,
    console: bool = True,
    api: bool = True,
    console_panels: "Sequence[ConsolePanel]" = (),
) -> None:
    """Chat for the store `app`: rxchat's stylesheet, live delivery, presence and the expiry sweeper, the HTTP API
    at /api and the staff console at /agent unless told not to.

    `products` is the store's catalog: a callable, plain or async, from a product id to an `rxchat.Product`,
    or None when there is no chat for that id. Without it, rxchat's demo catalog (`rxchat_products`) is used.
    Each of `console_panels` takes the open conversation's product id (a Var) and returns a component shown
    beside the thread, under `agent-product-context`.
    """
    from rxchat import emailer, redaction, schema, sweeper
    from rxchat.live.hub import LiveHub
    from rxchat.live.tabs import tabs
    from rxchat.pages import console as console_pages
    from rxchat.pages import email_links as email_pages
    from rxchat.services import catalog
    from rxchat.states import unavailable

    catalog.use_source(products)
    _use_app_database()
    stylesheet = _link_stylesheet()
    if stylesheet not in app.stylesheets:
        app.stylesheets.append(stylesheet)
    if console:
        console_pages.add_pages(app, panels=console_panels)
    email_pages.add_pages(app)  # where the links of reply emails lead (docs/email.md)
    if api:
        app.api_transformer = _with_api(app.api_transformer, http_api())
    redaction.install()
    unavailable.install(app)  # a send that fails for want of Redis shows `chat-error`, not Reflex's notice
    LiveHub(app, tabs).install()
    app.register_lifespan_task(sweeper.sweep_forever)
    app.register_lifespan_task(emailer.send_forever)  # reply emails, when RXCHAT_SMTP_URL is set
    # `reflex db` imports the app, so this filters rxchat's tables out of the host's migrations.
    schema.hide_from_host_autogenerate()


def _link_stylesheet() -> str:
    """Link rxchat's stylesheet into the app being compiled (its assets/external/; in a backend-only process Reflex
    links nothing) and return its path as app.stylesheets takes it: under assets/, without the `?v=` content hash
    that rx.asset puts on the URL."""
    linked = rx.asset(_STYLESHEET_FILE, shared=True)
    return linked.importable_path.removeprefix("$/public")


def _with_api(host_transformer: Any, ours: Any) -> Any:
    """The app's api_transformer with rxchat's API as well. Ours is innermost: a host's own FastAPI app (or
    middleware) sees every request first and answers its own routes, /api ones included; what it leaves
    reaches ours, which answers /api and lets everything else through to Reflex."""
    if host_transformer is None:
        return ours
    if isinstance(host_transformer, Sequence):
        return [ours, *host_transformer]
    return [ours, host_transformer]


def _use_app_database() -> None:
    """rxchat's database is the app's: the `db_url` the host's rxconfig.py names, unless REFLEX_DB_URL (or
    RXCHAT_DB_URL) names one for the process."""
    from reflex.config import get_config

    from rxchat.settings import use_app_database

    use_app_database(get_config().db_url)
