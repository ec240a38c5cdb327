"""The frame of the staff pages beside the console (/agent/canned, /agent/reports): a header that links the
staff pages to each other, and the links the console's own header carries."""

import reflex as rx

from rxchat.i18n import Texts
from rxchat.states.auth import CONSOLE_ROUTE, AgentAuthState
from rxchat.states.canned import CANNED_ROUTE
from rxchat.states.reports import REPORTS_ROUTE


def staff_links(t: Texts, current: str = CONSOLE_ROUTE) -> rx.Component:
    """Links to the other staff pages (the console, canned replies, reports), the one shown left out."""
    pages = (
        (t("staff.back"), CONSOLE_ROUTE, "messages-square", "agent-nav-console"),
        (t("console.canned_link"), CANNED_ROUTE, "message-square-text", "agent-nav-canned"),
        (t("console.reports_link"), REPORTS_ROUTE, "chart-column", "agent-nav-reports"),
    )
    return rx.hstack(
        *(
            rx.link(
                rx.hstack(rx.icon(icon, size=16), rx.text(label), align="center", spacing="1"),
                href=href,
                size="2",
                data_testid=test_id,
            )
            for label, href, icon, test_id in pages
            if href != current
        ),
        spacing="4",
        align="center",
        role="navigation",
        class_name="staff-links",
    )


def staff_page(t: Texts, route: str, heading: str, *children: rx.Component) -> rx.Component:
    """A staff page: the header (links, theme, the agent, sign out) and the page's own content."""
    return rx.box(
        rx.hstack(
            rx.heading(heading, size="5"),
            staff_links(t, route),
            rx.spacer(),
            rx.color_mode.button(aria_label=t("console.theme")),
            rx.text(AgentAuthState.agent_name, size="2"),
            rx.button(
                t("console.sign_out"), variant="soft", on_click=AgentAuthState.logout, data_testid="agent-logout"
            ),
            align="center",
            spacing="4",
            class_name="store-header",
        ),
        rx.box(*children, class_name="staff-main"),
        class_name="store-root",
        lang=t.locale,
    )
