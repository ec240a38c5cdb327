"""What a browser page logs as an error: the one listener every browser test uses."""

from playwright.sync_api import Page


def watch_console_errors(page: Page, errors: list[str] | None = None) -> list[str]:
    """Collect the page's console errors and uncaught exceptions into `errors` (a new list when None) and return it.

    Several pages may share one list; a test asserts it empty at the end (`no_console_errors` does for `page`).
    """
    collected: list[str] = [] if errors is None else errors
    page.on("console", lambda message: collected.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: collected.append(str(error)))
    return collected
