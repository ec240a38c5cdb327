"""The pages a reply email links to: resume (the conversation into this browser) and unsubscribe (docs/email.md).

The token comes from the page's route and is checked by rxchat/services/email_links.py; a page never says
whose conversation a token was, or why it failed beyond "expired or used".
"""

import reflex as rx

from rxchat import db
from rxchat.services import catalog, email, email_links
from rxchat.states.widget import ChatWidgetState

RESUME_ROUTE = "/chat/resume/[resume_token]"
UNSUBSCRIBE_ROUTE = "/chat/unsubscribe/[unsubscribe_token]"


class ResumeState(rx.State):
    failed: bool = False
    product_href: str = "/"

    @rx.event
    async def redeem(self):
        """Use the link once: the product's conversation goes into the browser's record, then its page opens
        with the widget open on the thread (ChatWidgetState._open_if_resumed)."""
        token = self.rx_router_page.params.get("resume_token", "")
        async with db.session() as s:
            resumed = await email_links.redeem_resume(s, token=token)
            product = await catalog.find_product(s, resumed.product_id) if resumed.product_id else None
        self.product_href = product.url if product is not None and product.url else "/"
        if resumed.session_id is None or resumed.product_id is None:
            self.failed = True
            return None
        self.failed = False
        widget = await self.get_state(ChatWidgetState)
        widget._resume(
            session_id=resumed.session_id,
            product_id=resumed.product_id,
            created_at=resumed.created_at,
            message_count=resumed.message_count,
        )
        return rx.redirect(self.product_href)


class UnsubscribeState(rx.State):
    outcome: str = ""  # "" (asking) | done | invalid

    @rx.event
    def reset_page(self):
        self.outcome = ""

    @rx.event
    async def unsubscribe(self):
        """Asked by a button, never by opening the link: a mail scanner that follows links stops nothing."""
        token = self.rx_router_page.params.get("unsubscribe_token", "")
        async with db.session() as s:
            self.outcome = "done" if await email.unsubscribe(s, token=token) else "invalid"
