"""The demo store app that `reflex run` loads: builds rx.App and registers pages.

It embeds the chat exactly as a host store would (docs/embedding.md).
"""

import reflex as rx

import rxchat
from rxchat.pages import store

app = rx.App(stylesheets=[rxchat.STYLESHEET], api_transformer=rxchat.http_api())
store.add_pages(app)
rxchat.add_chat(app)
