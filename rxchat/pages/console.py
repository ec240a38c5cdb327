"""The staff pages: sign-in, the console, and the staff tools beside it (pages/staff_tools.py)."""

from collections.abc import Sequence

import reflex as rx

from rxchat.components.console import ConsolePanel, console_layout, console_title, login_form
from rxchat.i18n import Texts
from rxchat.pages import staff_tools
from rxchat.states.auth import CONSOLE_ROUTE, LOGIN_ROUTE, AgentAuthState
from rxchat.states.console import AgentConsoleState


def add_pages(app: rx.App, panels: Sequence[ConsolePanel] = ()) -> None:
    """The sign-in page and the console, with the host's panels beside the open conversation, in the language
    RXCHAT_LOCALE names (English unless set)."""
    panels = tuple(panels)
    t = Texts()

    def sign_in_page() -> rx.Component:
        return login_form(t)

    def console_page() -> rx.Component:
        return console_layout(t, panels)

    app.add_page(sign_in_page, route=LOGIN_ROUTE, title=t("login.title"), on_load=AgentAuthState.redirect_if_signed_in)
    app.add_page(console_page, route=CONSOLE_ROUTE, title=console_title(t), on_load=AgentConsoleState.load_console)
    staff_tools.add_pages(app, t)
