"""The staff pages beside the console: canned replies (/agent/canned) and reports (/agent/reports).

Registered with the console (`pages/console.py` `add_pages`), so a host's `add_chat(app, console=True)` has
them too. Each page's on_load checks the sign-in and sends a signed-out browser to /agent/login.
"""

import reflex as rx

from rxchat.components.canned import canned_page
from rxchat.components.reports import reports_page
from rxchat.i18n import Texts
from rxchat.states.canned import CANNED_ROUTE, CannedRepliesState
from rxchat.states.reports import REPORTS_ROUTE, ReportsState


def add_pages(app: rx.App, t: Texts) -> None:
    def canned_replies_page() -> rx.Component:
        return canned_page(t)

    def staff_reports_page() -> rx.Component:
        return reports_page(t)

    app.add_page(canned_replies_page, route=CANNED_ROUTE, title=t("canned.title"), on_load=CannedRepliesState.load_page)
    app.add_page(staff_reports_page, route=REPORTS_ROUTE, title=t("reports.title"), on_load=ReportsState.load_report)
