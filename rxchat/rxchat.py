"""The demo store app that `reflex run` loads: builds rx.App and registers pages.

It embeds the chat exactly as a host store would (docs/embedding.md).
"""

import gc

import reflex as rx

import rxchat
from rxchat.pages import store

app = rx.App()
store.add_pages(app)
rxchat.add_chat(app)  # the demo catalog is the product source; styles, /api, /agent, live delivery, sweeper


@app.register_lifespan_task
async def freeze_startup_heap():
    """What the server loaded to start lives as long as it does: keep it out of the collector's
    full passes, which otherwise stalled the event loop for 150-200 ms now and then (bench/README.md)."""
    gc.collect()
    gc.freeze()
