"""The staff pages: sign-in and the console."""

from collections.abc import Sequence

import reflex as rx

from rxchat.components.console import CONSOLE_TITLE, ConsolePanel, console_layout, login_form
from rxchat.states.auth import CONSOLE_ROUTE, LOGIN_ROUTE, AgentAuthState
from rxchat.states.console import AgentConsoleState


def add_pages(app: rx.App, panels: Sequence[ConsolePanel] = ()) -> None:
    """The sign-in page and the console, with the host's panels beside the open conversation."""
    panels = tuple(panels)

    def console_page() -> rx.Component:
        return console_layout(panels)

    app.add_page(login_form, route=LOGIN_ROUTE, title="Staff sign-in", on_load=AgentAuthState.redirect_if_signed_in)
    app.add_page(console_page, route=CONSOLE_ROUTE, title=CONSOLE_TITLE, on_load=AgentConsoleState.load_console)
