"""Putting rxchat into a Reflex store: the few calls a host app makes.

import reflex as rx
import rxchat

app = rx.App(stylesheets=[rxchat.STYLESHEET], api_transformer=rxchat.http_api())
app.add_page(my_product_page, route="/products/[product_id]",
             on_load=rxchat.ChatWidgetState.on_page_load)   # the page renders rxchat.chat_widget()
rxchat.add_chat(app)                                         # console pages, live delivery, sweeper
"""

import reflex as rx

STYLESHEET = "/rxchat.css"  # copy assets/rxchat.css into the host app's assets/


def http_api():
    """The /api app (shopper and staff endpoints), for `rx.App(api_transformer=...)`."""
    from rxchat import api

    return api.build_api()


def add_chat(app: rx.App, *, console: bool = True) -> None:
    """Live delivery, presence and the expiry sweeper for `app`; the staff console at /agent unless told not to."""
    from rxchat import redaction, sweeper
    from rxchat.live.hub import LiveHub
    from rxchat.live.tabs import tabs
    from rxchat.pages import console as console_pages

    if console:
        console_pages.add_pages(app)
    redaction.install()
    LiveHub(app, tabs).install()
    app.register_lifespan_task(sweeper.sweep_forever)
