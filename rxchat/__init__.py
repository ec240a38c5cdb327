"""rxchat: live product chat for Reflex stores.

Importing this package builds no app and touches no database; the names below
load on first use. The demo store lives in rxchat/rxchat.py, which `reflex run`
loads. Embedding in a store of your own: docs/embedding.md.
"""

from importlib import import_module
from typing import Any

# The public API: name -> module that defines it.
_EXPORTS = {
    "chat_widget": "rxchat.components.widget",
    "ChatWidgetState": "rxchat.states.widget",
    "add_chat": "rxchat.embed",
    "http_api": "rxchat.embed",
    "STYLESHEET": "rxchat.embed",
    "Product": "rxchat.models",
    "set_text": "rxchat.i18n",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rxchat' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
