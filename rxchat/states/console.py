"""The staff console: one agent tab's view of the inbox and the open conversation.

Every handler starts with `_require_agent()` (a reply: the sign-in check in
the statement that stores it); a signed-out caller is sent to the sign-in page
and nothing is read or changed.
"""

import logging
import uuid

import reflex as rx

from rxchat import db, i18n, live_keys, reflex_internals
from rxchat.live.tabs import tabs
from rxchat.models import Product
from rxchat.services import catalog, chat, email, ids, signals, staff
from rxchat.services.errors import ChatError, NotSignedIn, SessionNotFound
from rxchat.states.auth import LOGIN_ROUTE, AgentAuthState
from rxchat.states.inbox import ConversationRow, InboxState, read_shared_inbox, to_rows
from rxchat.states.inputs import clear_if_unchanged
from rxchat.states.outbox import Outbox, was_queued
from rxchat.states.room import WINDOW_SIZE, ConversationRoomState, EarlierPages, room_key
from rxchat.states.store import ProductView
from rxchat.states.store import to_view as product_view

logger = logging.getLogger(__name__)

REPLY_INPUT_ID = "agent-reply-input"
# Replies sent while the connection is down wait here, in the page, as `sending` (states/outbox.py).
OUTBOX = Outbox("rxchatreplies", REPLY_INPUT_ID, "reply")


class AgentConsoleState(EarlierPages, AgentAuthState):
    filter_product: str = ""  # "" means every product
    filter_status: str = "open"  # open | closed | all
    inbox_limit: int = staff.INBOX_SIZE
    # This tab's own view of the inbox, once a filter or "Show more" leaves the shared default view.
    conversations: list[ConversationRow] = []
    inbox_has_more: bool = False
    _inbox_version: int = -1  # the shared inbox's version this tab's own view was read at
    products: list[ProductView] = []  # the product filter's choices: products that have conversations
    # The open conversation's public id, kept in this tab's sessionStorage so a reload or a
    # server restart (which starts every tab's server state afresh) reopens it.
    selected: str = rx.SessionStorage(name="rxchat_console_conversation")
    selected_label: str = ""
    selected_customer: str = ""
    selected_product: ProductView = ProductView()
    erased: bool = False
    reply_error: str = ""
    load_error: str = ""  # the console could not read its inbox (the database is unreachable)
    # This browser's choice: chime when a shopper writes (components/sound.py). Off until turned on.
    sound: str = rx.LocalStorage("off", name="rxchat_console_sound")

    @rx.event
    async def load_console(self):
        """Page load and every reconnect: check the sign-in, join the inbox, catch up from the database."""
        try:
            agent = await self._require_agent()
        except db.UNAVAILABLE:
            logger.warning("the console could not check its sign-in: the database is unreachable")
            self.load_error = i18n.text("console.load_failed", i18n.resolve_locale())
            return
        if agent is None:
            return rx.redirect(LOGIN_ROUTE)
        tabs.watch_console(self.router.session.client_token, type(self), self.auth_token)
        inbox = await reflex_internals.link(self, InboxState, live_keys.inbox_key())
        self._inbox_version = inbox.version  # before reading: a change from now on is read again
        try:
            async with db.session() as s:
                self.products = [product_view(p) for p in await staff.conversation_products(s)]
                shared = await read_shared_inbox(s)
            inbox._show(*shared)  # the inbox may be new (a restart)
            await self._read_inbox()
        except db.UNAVAILABLE:
            logger.warning("the console could not load its inbox: the database is unreachable")
            self.load_error = i18n.text("console.load_failed", i18n.resolve_locale())
            return
        if self.load_error:
            self.load_error = ""
        if self.selected:
            return AgentConsoleState.open_conversation(self.selected)

    async def _leave_tab(self, token: str) -> list:
        """The tab's socket went, or its sign-in ended: leave the inbox and the open conversation, forget
        the agent and what the tab listed; a tab still open is sent to the sign-in page."""
        await reflex_internals.unlink(self, InboxState, token)
        await reflex_internals.unlink(self, ConversationRoomState, token)
        self._forget()
        self.conversations, self.products, self.inbox_has_more = [], [], False
        self.selected_label = self.selected_customer = ""
        self.selected_product = ProductView()
        return [rx.redirect(LOGIN_ROUTE)]

    @rx.event
    def set_sound(self, on: bool):
        """Only this browser's preference: no staff data, so no sign-in check."""
        self.sound = "on" if on is True else "off"

    @rx.var
    def own_view(self) -> bool:
        """Whether this tab lists its own view rather than the shared default one."""
        return self.filter_product != "" or self.filter_status != "open" or self.inbox_limit != staff.INBOX_SIZE

    async def _read_inbox(self) -> None:
        """This tab's own view from the database; vars set only on a change (each is resent)."""
        rows, has_more = [], False
        if self.own_view:
            async with db.session() as s:
                summaries = await staff.list_conversations(
                    s,
                    product_id=self.filter_product or None,
                    status=None if self.filter_status == "all" else self.filter_status,
                    limit=self.inbox_limit + 1,
                )
            rows, has_more = to_rows(summaries, self.inbox_limit)
        if rows != self.conversations:
            self.conversations = rows
        if has_more != self.inbox_has_more:
            self.inbox_has_more = has_more

    @rx.event
    async def refresh_inbox(self, version: int):
        """The shared inbox ticked: re-read this tab's own view, once per version."""
        if version == self._inbox_version:
            return
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self._inbox_version = version if isinstance(version, int) else -1
        await self._read_inbox()

    @rx.event
    async def set_filter_product(self, value: str):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.filter_product = value if ids.is_valid_product_id(value) and value != "all" else ""
        self.inbox_limit = staff.INBOX_SIZE
        await self._read_inbox()

    @rx.event
    async def refresh_filter_products(self, is_open: bool):
        """The product filter opened: list the products that have conversations now."""
        if is_open is not True:
            return
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        async with db.session() as s:
            products = [product_view(p) for p in await staff.conversation_products(s)]
        if products != self.products:
            self.products = products

    @rx.event
    async def set_filter_status(self, value: str):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.filter_status = value if value in ("open", "closed", "all") else "open"
        self.inbox_limit = staff.INBOX_SIZE
        await self._read_inbox()

    @rx.event
    async def show_more_conversations(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.inbox_limit = min(self.inbox_limit + staff.INBOX_SIZE, staff.INBOX_MAX)
        await self._read_inbox()

    @rx.event
    async def open_conversation(self, conversation: str):
        agent = await self._require_agent()
        if agent is None:
            return rx.redirect(LOGIN_ROUTE)
        self.reply_error = ""
        try:
            async with db.session() as s:
                chat_session = await staff.get_conversation(s, conversation=str(conversation))
                # The window is read under the room's lock (taken by the link): read before it, a message
                # stored and put into the room meanwhile would be dropped again by the replace below.
                room = await reflex_internals.link(self, ConversationRoomState, room_key(chat_session.public_id))
                newest_first, before = await chat.list_messages(s, chat=chat_session, limit=WINDOW_SIZE)
                # A product the catalog no longer has is shown by its id; its conversation stays readable.
                product = await catalog.find_product(s, chat_session.product_id) or Product(
                    id=chat_session.product_id, name=chat_session.product_id
                )
                await staff.mark_read(s, chat_session=chat_session, seq=chat_session.last_seq)
                emailed_seq = await email.emailed_seq(s, chat_id=chat_session.id or 0)
        except ChatError:
            self.selected, self.erased = "", True
            return
        self.selected, self.erased = chat_session.public_id, False
        self.selected_label = staff.shopper_label(chat_session)
        self.selected_customer = " · ".join(
            part for part in (chat_session.customer_name, chat_session.customer_email) if part
        )
        self.selected_product = product_view(product)
        self._start_earlier(newest_first, before)
        room._replace_window(newest_first, chat_session.agent_read_seq)
        room.status = chat_session.status
        if room.emailed_seq != emailed_seq:
            room.emailed_seq = emailed_seq

    @rx.event
    async def mark_read(self):
        """New messages reached the open thread: the shopper's ones are now read."""
        if not self.selected:
            return
        agent = self._last_checked_agent()
        async with db.session() as s:
            # One statement checks the sign-in and the conversation and moves the mark (as a reply does); the
            # mark goes into the room this tab holds and on to the shopper at once (Tabs.sending).
            room, token = await self.get_state(ConversationRoomState), self.router.session.client_token
            with tabs.sending(token, self.selected, room):
                if agent is not None and await staff.mark_read_signed_in(
                    s, conversation=self.selected, sign_in_token=self.auth_token, agent_id=agent.id, origin=token
                ):
                    return
        # Nothing marked: read already, or signed out, or the conversation is gone. The full checks say which.
        if await self._require_agent() is None:
            return
        try:
            async with db.session() as s:
                chat_session = await staff.get_conversation(s, conversation=self.selected)
                await staff.mark_read(s, chat_session=chat_session, seq=chat_session.last_seq)
        except ChatError:
            self.erased = True

    @rx.event
    async def send_reply(self, form_data: dict):
        # The statement that stores the reply checks the sign-in itself (staff.reply), so a tab
        # that has checked it before goes straight to the write.
        agent = self._last_checked_agent() or await self._require_agent()
        if agent is None:
            return rx.redirect(LOGIN_ROUTE)
        text, queued = form_data.get("reply", ""), was_queued(form_data)
        # A reply that waited in the page's outbox and is refused goes back into the reply box.
        back = OUTBOX.refused(str(text)) if queued else None
        if not self.selected:
            self.reply_error = i18n.text("console.choose_first", i18n.resolve_locale())
            return back
        conversation = self.selected
        try:
            async with db.session() as s:
                room = await self.get_state(ConversationRoomState)
                token = self.router.session.client_token
                with tabs.sending(token, conversation, room):
                    await staff.reply(
                        s,
                        conversation=conversation,
                        agent=agent,
                        sign_in_token=self.auth_token,
                        body=text,
                        client_key=uuid.uuid4().hex,
                        origin=token,
                    )
        except NotSignedIn:
            self._forget()
            return rx.redirect(LOGIN_ROUTE)
        except SessionNotFound:
            self.erased = True
            return back
        except ChatError as refused:
            self.reply_error = refused.sentence()  # the typed reply stays in the input
            return back
        except db.UNAVAILABLE:
            # Not stored (the write is one transaction): the typed reply stays in the input for Send again.
            logger.warning("a reply could not be stored: the database is unreachable")
            self.reply_error = i18n.text("console.reply_failed", i18n.resolve_locale())
            return back
        if self.reply_error:
            self.reply_error = ""
        if queued:
            return OUTBOX.taken(text)  # in the update that shows it stored; the box was emptied when it was sent
        return clear_if_unchanged(REPLY_INPUT_ID, text)

    @rx.event
    async def typing(self, text: str = ""):
        agent = await self._require_agent()
        if agent is not None and self.selected:
            await signals.typing(conversation=self.selected, side="agent", agent_name=agent.display_name)

    @rx.event
    async def set_status(self, status: str):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            async with db.session() as s:
                chat_session = await staff.get_conversation(s, conversation=self.selected)
                await staff.set_status(s, chat_session=chat_session, status=str(status))
        except ChatError as refused:
            self.reply_error = refused.sentence()

    @rx.event
    async def load_earlier(self):
        if await self._require_agent() is None:
            return
        await self._load_earlier_page(lambda s: staff.get_conversation(s, conversation=self.selected))
