"""Helpers for teams who test their store with Playwright (sync API).

- `ChatWidget(page)`: the shopper's widget on a product page.
- `StaffConsole(page, base_url)`: the staff console (`use_canned_reply`, `pick_canned_reply` for canned replies).
- `CannedRepliesPage(page, base_url)`, `ReportsPage(page, base_url)`: the staff tools at /agent/canned and
  /agent/reports.
- `StaffAccount`, `create_staff_account(env)`: a staff account made with `rxchat create-agent`.
- `rxchat.testing.plugin`: pytest fixtures (`rxchat_staff`, `rxchat_widget`, `rxchat_console`, ...);
  it loads by itself where rxchat is installed, or with `pytest -p rxchat.testing.plugin`.

The page objects need Playwright (`pip install playwright pytest-playwright`); importing
this package does not import it: the names load on first use. Example: docs/embedding.md,
"Testing your store with rxchat.testing".
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rxchat.testing.pages import CannedRepliesPage, ChatWidget, Message, ReportsPage, StaffConsole
    from rxchat.testing.staff import StaffAccount, create_staff_account

# The public names: name -> module that defines it.
_EXPORTS = {
    "ChatWidget": "rxchat.testing.pages",
    "StaffConsole": "rxchat.testing.pages",
    "Message": "rxchat.testing.pages",
    "CannedRepliesPage": "rxchat.testing.pages",
    "ReportsPage": "rxchat.testing.pages",
    "StaffAccount": "rxchat.testing.staff",
    "create_staff_account": "rxchat.testing.staff",
}
__all__ = [
    "CannedRepliesPage",
    "ChatWidget",
    "Message",
    "ReportsPage",
    "StaffAccount",
    "StaffConsole",
    "create_staff_account",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rxchat.testing' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
