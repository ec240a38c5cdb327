"""The demo store app that `reflex run` loads: builds rx.App and registers pages."""

import reflex as rx

from rxchat import realtime
from rxchat.pages import store

app = rx.App(stylesheets=["/rxchat.css"])
store.add_pages(app)
realtime.install(app)
