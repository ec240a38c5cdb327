"""The demo store app that `reflex run` loads: builds rx.App and registers pages."""

import reflex as rx

from rxchat import api, realtime, sweeper
from rxchat.pages import console, store

app = rx.App(stylesheets=["/rxchat.css"], api_transformer=api.build_api())
store.add_pages(app)
console.add_pages(app)
realtime.install(app)
app.register_lifespan_task(sweeper.sweep_forever)
