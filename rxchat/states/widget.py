"""The shopper's chat widget: one tab's view of its thread about one product.

The browser record (localStorage) is read and repaired on open; the session id
in it is validated on every use, since any client can overwrite it. The thread
itself lives in the shared ConversationRoomState; this state holds only what
belongs to this tab: pending sends, earlier pages, the error line.
"""

import asyncio
import dataclasses
import logging
import uuid

import reflex as rx
from reflex.experimental.client_state import ClientStateVar

from rxchat import db, i18n, reflex_internals
from rxchat.clock import iso, utcnow
from rxchat.live.tabs import tabs
from rxchat.models import ChatSession, MessagePublic
from rxchat.services import chat, email, ids, lifecycle, profile, record, seen, signals
from rxchat.services.errors import ChatError, InvalidInput, ProductNotFound, RateLimited, SessionNotFound
from rxchat.settings import settings
from rxchat.states.inputs import clear_if_unchanged
from rxchat.states.outbox import Outbox, was_queued
from rxchat.states.room import WINDOW_SIZE, ConversationRoomState, EarlierPages, parts_json, room_key

logger = logging.getLogger(__name__)

INPUT_ID = "chat-input"
EMAIL_INPUT_ID = "rxchat-email-input"
INPUT_LIMIT_FACTOR = 4  # the input takes this many times the limit, so nothing is cut silently
SENDING_SHOWN_AFTER_SECS = 0.05  # a write slower than this shows the message as `sending` meanwhile
# Messages sent while the connection is down wait here, in the page, as `sending` (states/outbox.py).
OUTBOX = Outbox("rxchatoutbox", INPUT_ID, "message")

# Whether the panel is open: it lives in the browser (components/widget.py); a resume link opens it from here.
chat_open = ClientStateVar.create("rxchat_chat_open", default=False)


@dataclasses.dataclass
class PendingMessage:
    key: str = ""
    body: str = ""
    status: str = "sending"  # sending | failed
    parts: str = "[]"  # the body's Segments as JSON, as in MessageView


class ChatWidgetState(EarlierPages, rx.State):
    global_chat_session: str = rx.LocalStorage(name="global_chat_session", sync=True)
    chat_session_data: str = rx.LocalStorage(name="chat_session_data", sync=True)

    has_session: bool = False
    confirming_erase: bool = False
    profile_name: str = ""
    profile_email: str = ""
    profile_notice: str = ""
    agent_online: bool = False
    unread: int = 0
    pending: list[PendingMessage] = []
    error: str = ""
    product_name: str = ""
    # A resume link (rxchat/states/email_links.py) put this product's conversation into the record: the widget on
    # its page opens on the thread once, then clears it.
    _resume_open: str = ""

    _session_id: str = ""
    _public_id: str = ""
    # The id a widget given `product_id=` says it is about ("" for a widget that reads its page's route).
    _widget_product_id: str = ""
    # The language of the widget's page (`chat_widget(locale=...)`): its events say it; "" is RXCHAT_LOCALE.
    # Sentences set here (a refusal in `chat-error`, a notice) are in it.
    _locale: str = ""
    # The connection and page a route's on_load (`on_page_load`) loaded last: the widget's own load of the
    # same page is then skipped, so a host that still wires it loads each page once.
    _loaded_by_route: str = ""
    # The page the widget last loaded: a reconnect on the same page keeps the error line, which may hold the
    # refusal of a message that waited for that very connection (states/outbox.py).
    _loaded_path: str = ""

    @rx.var
    def max_input_chars(self) -> int:
        return settings.max_message_chars * INPUT_LIMIT_FACTOR

    def _current_product_id(self) -> str:
        # The route's `[product_id]` is read from the page on every event: after a server restart a send
        # queued in the browser can arrive before the widget has loaded again (a widget given its id sends
        # it with each message for the same reason).
        # `rx_router_page` is what Reflex's own route-argument vars read (`router.page` is deprecated,
        # and its warning looks up the caller's frame on every read).
        return self._widget_product_id or str(self.rx_router_page.params.get("product_id", ""))

    def _use_locale(self, locale: object) -> None:
        """The language a widget's event names, if rxchat has texts in it (any client can send anything)."""
        if isinstance(locale, str) and locale in i18n.locales() and locale != self._locale:
            self._locale = locale

    def _text(self, key: str) -> str:
        return i18n.text(key, i18n.resolve_locale(self._locale or None))

    def _refusal(self, refused: ChatError) -> str:
        return refused.sentence(self._locale or None)

    def _load_record(self) -> dict:
        global_id = self.global_chat_session
        if not ids.is_valid_visitor_id(global_id):
            global_id = ids.mint_visitor_id()
            self.global_chat_session = global_id
        return record.load_record(self.chat_session_data, global_id)

    def _save_record(self, data: dict) -> None:
        raw = record.dump_record(data)
        if raw != self.chat_session_data:
            self.chat_session_data = raw

    @rx.event
    async def load_widget(self, product_id: str = "", locale: str = ""):
        """The widget's own page load: sent by the widget when it mounts, on every connection (each reconnect
        and a restarted server's too) and whenever its page or product changes (components/widget.py).
        `product_id` is the id a widget was given; "" reads the page route's `[product_id]`. `locale` is the
        widget's language."""
        self._use_locale(locale)
        product_id = product_id if isinstance(product_id, str) else ""
        self._widget_product_id = product_id
        if not product_id and self._loaded_by_route == self._page_key():
            self._loaded_by_route = ""  # on_page_load has just loaded this page
            return self._open_if_resumed()
        await self._load_page()
        return self._open_if_resumed()

    @rx.event
    async def on_page_load(self):
        """The page load as a route's `on_load`, for hosts that wired it before the widget loaded itself;
        the widget now runs the same load on its own (`load_widget`), so a host need not add it."""
        self._widget_product_id = ""  # a route's load is for a widget that reads the route
        self._loaded_by_route = self._page_key()
        await self._load_page()
        return self._open_if_resumed()

    def _page_key(self) -> str:
        return f"{self.router.session.session_id} {self.rx_router_page.raw_path}"

    async def _load_page(self) -> None:
        """Runs on every page load and every reconnect: re-read the thread from the database.

        Whether the widget is open lives in the browser (it starts closed on
        every page load), so a reconnect catches up without closing it. A
        visitor who never opened the chat has no record, and none is written.
        """
        self.pending = [p for p in self.pending if p.status == "failed"]
        if self._loaded_path != (path := self.rx_router_page.raw_path):
            self._loaded_path, self.error = path, ""
        self.confirming_erase = False
        self._session_id = ""
        self._public_id = ""
        self.has_session = False
        self.unread = 0
        self.agent_online = tabs.agents_online
        tabs.watch_widget(self.router.session.client_token, type(self))
        if not self.chat_session_data or not ids.is_valid_product_id(self._current_product_id()):
            return
        data = self._load_record()
        self._show_profile(data)
        async with db.session() as s:
            chat_session = await self._session_from_record(s, data)
            if chat_session is not None:
                self.unread = await seen.unread_replies(s, chat_session=chat_session)
        self._save_record(data)

    def _show_profile(self, data: dict) -> None:
        prefs = data["userPreferences"]
        self.profile_name, self.profile_email = prefs.get("name", ""), prefs.get("email", "")

    @rx.event
    async def open_chat(self, locale: str = ""):
        """The panel opened: write the record (first time), show the thread, mark replies seen."""
        self._use_locale(locale)
        self.error = ""
        data = self._load_record()
        self._show_profile(data)
        try:
            async with db.session() as s:
                self.product_name = (await chat.get_product(s, product_id=self._current_product_id())).name
                chat_session = await self._session(s) or await self._session_from_record(s, data)
                if chat_session is not None:
                    await self._mark_seen(s, chat_session)
        except ProductNotFound:
            self.error = self._text("widget.no_chat")
        self._save_record(data)

    @rx.event
    async def sync_record(self):
        """Another tab changed the record: join the session it started for this product."""
        if self.has_session or not self.chat_session_data:
            return
        data = self._load_record()
        async with db.session() as s:
            await self._session_from_record(s, data)

    async def _session_from_record(self, s, data: dict) -> ChatSession | None:
        """The live session the record names for this product, joined; repairs the record on the way.

        Expired entries are dropped; an id of the original system that the
        server knows is rotated to a strong one; an unknown, malformed,
        expired or foreign id is dropped, so the next message starts fresh.
        """
        record.drop_expired(data)
        key = record.product_key(self._current_product_id())
        entry = data["productSessions"].get(key)
        if entry is None:
            return None
        chat_session = None
        if ids.is_legacy_session_id(entry["sessionId"]):
            try:
                chat_session = await lifecycle.adopt_legacy_session(
                    s,
                    product_id=self._current_product_id(),
                    legacy_id=entry["sessionId"],
                    client_address=self.router.session.client_ip,
                    tab=self.router.session.client_token,
                )
            except RateLimited:
                # Guessing ids of the original system is capped per address and tab; the entry is kept,
                # so its owner's next visit tries again.
                logger.info("adopting an id of the original system was refused: too many attempts")
                return None
            if chat_session is not None:
                entry["sessionId"] = chat_session.session_id
                logger.info("adopted a conversation of the original system and rotated its id")
        else:
            chat_session = await chat.find_session(s, session_id=entry["sessionId"])
        if chat_session is None or chat_session.product_id != self._current_product_id():
            logger.info("a browser record held an unknown, expired or foreign session id; starting fresh")
            del data["productSessions"][key]
            return None
        entry["messageCount"] = chat_session.message_count
        entry["lastActivity"] = iso(chat_session.last_activity)
        await self._join(s, chat_session)
        return chat_session

    @rx.event
    async def sync_seen(self):
        """A new reply reached the open panel: the replies in view count as seen (one statement)."""
        if not self._session_id:
            return
        async with db.session() as s:
            await seen.mark_seen_by_session(s, product_id=self._current_product_id(), session_id=self._session_id)
        self._clear_unread()

    @rx.event
    async def sync_unread(self):
        """A new message reached a closed widget: recount replies not yet seen for the badge."""
        async with db.session() as s:
            chat_session = await self._session(s)
            unread = await seen.unread_replies(s, chat_session=chat_session) if chat_session else 0
            if unread != self.unread:
                self.unread = unread

    async def _mark_seen(self, s, chat_session: ChatSession) -> None:
        await seen.mark_seen_by_shopper(s, chat_session=chat_session, seq=chat_session.last_seq)
        self._clear_unread()

    def _clear_unread(self) -> None:
        if self.unread:  # a var set again is sent again: each reply would cost the page an update
            self.unread = 0

    @rx.event
    async def typing(self, text: str = ""):
        if self._public_id:
            await signals.typing(conversation=self._public_id, side="shopper")

    async def _join(self, s, chat_session: ChatSession) -> None:
        """Link this tab to the conversation's room and load its recent window."""
        self._session_id = chat_session.session_id
        self._public_id = chat_session.public_id
        self.has_session = True
        # The window is read under the room's lock (taken by the link): read before it, a message stored and
        # put into the room meanwhile (the agent's, or this tab's from another worker) would be dropped again.
        room = await reflex_internals.link(self, ConversationRoomState, room_key(chat_session.public_id))
        newest_first, before = await chat.list_messages(s, chat=chat_session, limit=WINDOW_SIZE)
        room._replace_window(newest_first, chat_session.agent_read_seq)
        self._start_earlier(newest_first, before)
        tabs.hold(self.router.session.client_token, type(self))

    async def _leave_tab(self, token: str) -> list:
        """The tab's socket has gone: leave the room and forget the conversation, so that whoever
        later holds this tab's token holds nothing (the live hub ends held tabs). The browser record is
        left alone: a new connection's hydrate replaces it with what that browser holds. Messages
        that failed to send stay, with their Retry: they are the shopper's own typing."""
        await reflex_internals.unlink(self, ConversationRoomState, token)
        self._session_id = self._public_id = self._widget_product_id = self._loaded_by_route = ""
        self.has_session = self.confirming_erase = False
        self.profile_name = self.profile_email = self.profile_notice = self.product_name = self.error = ""
        self.unread = 0
        self._start_earlier([], None)
        return []

    async def _session(self, s) -> ChatSession | None:
        if not self._session_id:
            return None
        try:
            return await chat.get_session(s, product_id=self._current_product_id(), session_id=self._session_id)
        except ChatError:
            return None

    @rx.event
    async def send_message(self, form_data: dict):
        text = form_data.get("message", "")
        if isinstance(form_data.get("product_id"), str):  # a widget given its product id sends it along
            self._widget_product_id = form_data["product_id"]
        self._use_locale(form_data.get("locale"))  # as its load does: a send can arrive before the load
        queued = was_queued(form_data)  # sent while the connection was down: it waited in the page's outbox
        try:
            chat.clean_body(text)
        except InvalidInput as refused:
            self.error = self._refusal(refused)  # the typed text stays in the input
            if queued:
                yield OUTBOX.refused(text)  # back into the input it was taken from
            return
        if self.error:  # an unchanged var set again is sent again
            self.error = ""
        pending = PendingMessage(key=uuid.uuid4().hex, body=text, parts=parts_json(text.strip()))
        self.pending = [*self.pending, pending]
        if queued:
            yield OUTBOX.taken(text)  # one update: the outbox's bubble goes as this pending one shows
        async for update in self._deliver(pending.key, clear_input=True, queued=queued):
            yield update

    @rx.event
    async def retry(self, key: str):
        if any(p.key == key and p.status == "failed" for p in self.pending):
            self.pending = [dataclasses.replace(p, status="sending") if p.key == key else p for p in self.pending]
            async for update in self._deliver(key, clear_input=False):
                yield update

    async def _deliver(self, key: str, *, clear_input: bool, queued: bool = False):
        """Store a pending message. In a conversation this tab already has, a quick write shows it
        stored straight away and only a slow one shows it `sending` first, so most messages cost the
        sender's page one render, not two. A first message shows `sending` while it starts one."""
        pending = next(p for p in self.pending if p.key == key)
        try:
            async with db.session() as s:
                room = await self.get_state(ConversationRoomState)
                product_id, posted = self._current_product_id(), None
                if self._session_id:
                    # The write checks the session itself and runs beside this handler, so it can show
                    # `sending` if the write is slow. It changes no state of this tab: a yield computes
                    # the update while it runs.
                    write = asyncio.ensure_future(
                        self._write(s, room, product_id, self._session_id, self._public_id, pending)
                    )
                    try:
                        done, _ = await asyncio.wait({write}, timeout=SENDING_SHOWN_AFTER_SECS)
                        if not done:
                            yield  # Reflex sends this update and cleans the changes while the write goes on
                        posted = await write
                        if not done and room._is_room_of(posted[0].public_id):
                            room._resend_thread()  # what the write added meanwhile may have been cleaned unsent
                    except SessionNotFound:
                        pass  # it expired or was erased meanwhile: the record's, or a new one, below
                    finally:
                        write.cancel()  # only takes effect if this event was cancelled mid-write
                if posted is None:  # no conversation yet, or no longer one to use
                    yield
                    chat_session = await self._session_from_record(s, self._load_record())
                    if chat_session is None:
                        chat_session = await self._start_session(s)
                    posted = await self._write(
                        s, room, product_id, chat_session.session_id, chat_session.public_id, pending
                    )
                chat_session, message, new = posted
                if not new and room._is_room_of(chat_session.public_id):
                    room._add_message(message)  # a retry of a message stored before: not published again
                self._remember_activity(chat_session)
        except (InvalidInput, RateLimited) as refused:
            self.pending = [p for p in self.pending if p.key != key]
            self.error = self._refusal(refused)
            if queued:
                yield OUTBOX.refused(pending.body)  # the typed text goes back into the input
            return
        except ProductNotFound:
            self.pending = [p for p in self.pending if p.key != key]
            self.error = self._text("widget.no_chat")  # the typed text stays in the input
            if queued:
                yield OUTBOX.refused(pending.body)
            return
        except Exception:
            logger.exception("storing a shopper message failed")
            self.pending = [dataclasses.replace(p, status="failed") if p.key == key else p for p in self.pending]
            if clear_input:
                yield clear_if_unchanged(INPUT_ID, pending.body)
            return
        self.pending = [p for p in self.pending if p.key != key]
        if clear_input:
            yield clear_if_unchanged(INPUT_ID, pending.body)

    async def _write(
        self, s, room: ConversationRoomState, product_id: str, session_id: str, public_id: str, pending: PendingMessage
    ) -> tuple[ChatSession, MessagePublic, bool]:
        """The message into that conversation (SessionNotFound when it is no longer there to use);
        whether it is new (False for a retry of one stored before)."""
        token = self.router.session.client_token
        with tabs.sending(token, public_id, room):
            return await chat.post_shopper_message(
                s,
                product_id=product_id,
                session_id=session_id,
                body=pending.body,
                client_key=pending.key,
                origin=token,
            )

    async def _start_session(self, s) -> ChatSession:
        data = self._load_record()
        prefs = data.get("userPreferences", {})
        chat_session = await chat.create_session(
            s,
            product_id=self._current_product_id(),
            visitor_id=data["globalSessionId"],
            customer_name=prefs.get("name"),
            customer_email=prefs.get("email"),
            client_address=self.router.session.client_ip or None,
        )
        if address := self._saved_email(prefs):  # saved by the shopper in this widget: replies may be emailed there
            await email.subscribe(s, chat_session=chat_session, email=address, locale=self._email_locale())
        await self._join(s, chat_session)
        return chat_session

    def _remember_activity(self, chat_session: ChatSession) -> None:
        """Keep the browser record in step with the server after a message."""
        data = self._load_record()
        key = record.product_key(self._current_product_id())
        entry = data["productSessions"].get(key) or {
            "sessionId": chat_session.session_id,
            "productId": self._current_product_id(),
            "createdAt": iso(chat_session.created_at),
        }
        entry.update(
            sessionId=chat_session.session_id,
            lastActivity=iso(utcnow()),
            messageCount=chat_session.message_count,
            isActive=True,
        )
        for field, pref in (("customerName", "name"), ("customerEmail", "email")):
            if data["userPreferences"].get(pref):
                entry[field] = data["userPreferences"][pref]
        data["productSessions"][key] = entry
        self._save_record(data)

    @rx.event
    async def load_earlier(self):
        await self._load_earlier_page(self._session)

    @rx.event
    async def save_profile(self, form_data: dict):
        """Remember name and email across products and visits; attach them to this conversation."""
        self._use_locale(form_data.get("locale"))
        try:
            name, address = profile.clean_profile(form_data.get("name", ""), form_data.get("email", ""))
        except InvalidInput as refused:
            self.error, self.profile_notice = self._refusal(refused), ""
            return
        data = self._load_record()
        data["userPreferences"] = {
            **{k: v for k, v in data["userPreferences"].items() if k == "theme"},
            **({"name": name} if name else {}),
            **({"email": address} if address else {}),
        }
        async with db.session() as s:
            chat_session = await self._session(s)
            if chat_session is not None:
                await profile.update_customer(s, chat_session=chat_session, name=name, email=address)
                if address:
                    await email.subscribe(s, chat_session=chat_session, email=address, locale=self._email_locale())
                else:
                    await email.remove(s, chat_id=chat_session.id or 0)
                entry = data["productSessions"].get(record.product_key(self._current_product_id()))
                if entry is not None:
                    for field, value in (("customerName", name), ("customerEmail", address)):
                        if value:
                            entry[field] = value
                        else:
                            entry.pop(field, None)
        self._save_record(data)
        self.profile_name, self.profile_email = name or "", address or ""
        notice = self._text("widget.profile_saved")
        if address and email.is_enabled():
            notice += " " + self._text("widget.email_note")
        self.error, self.profile_notice = "", notice

    @staticmethod
    def _saved_email(prefs: dict) -> str | None:
        """The email the record's preferences hold, if it passes the email rule (any client can write the record)."""
        try:
            return profile.clean_email(prefs["email"]) if prefs.get("email") else None
        except InvalidInput:
            return None

    def _email_locale(self) -> str:
        return i18n.resolve_locale(self._locale or None)

    @rx.event
    async def remove_email(self):
        """Forget the saved email: in this browser, on its conversations, and no more emails to it."""
        data = self._load_record()
        removed = data["userPreferences"].pop("email", None) or self.profile_email
        async with db.session() as s:
            for entry in data["productSessions"].values():
                entry.pop("customerEmail", None)
                chat_session = await chat.find_session(s, session_id=entry["sessionId"])
                if chat_session is not None:
                    await email.remove(s, chat_id=chat_session.id or 0)
                    if chat_session.customer_email:
                        await profile.update_customer(
                            s, chat_session=chat_session, name=chat_session.customer_name, email=None
                        )
        self._save_record(data)
        self.profile_email = ""
        self.error, self.profile_notice = "", self._text("widget.email_removed")
        return clear_if_unchanged(EMAIL_INPUT_ID, removed)

    def _resume(self, *, session_id: str, product_id: str, created_at: str, message_count: int) -> None:
        """A resume link gave this browser the conversation about `product_id`: into the record, as a first
        message would put it (the server checks the id on every use, as for any record)."""
        data = self._load_record()
        entry = data["productSessions"].get(record.product_key(product_id)) or {}
        entry.update(
            sessionId=session_id,
            productId=product_id,
            createdAt=created_at,
            lastActivity=iso(utcnow()),
            messageCount=message_count,
            isActive=True,
        )
        data["productSessions"][record.product_key(product_id)] = entry
        self._save_record(data)
        self._resume_open = product_id

    def _open_if_resumed(self):
        """On the product page a resume link led to, open the panel on the thread (once)."""
        if not self._resume_open or self._resume_open != self._current_product_id():
            return None
        self._resume_open = ""
        return chat_open.push(True)

    @rx.event
    def remember_theme(self, current: str):
        """The colour-mode switch was pressed while showing `current`: remember the new mode."""
        if not self.chat_session_data:
            return  # nothing is written before the shopper first opens the chat
        data = self._load_record()
        data["userPreferences"]["theme"] = "light" if current == "dark" else "dark"
        self._save_record(data)

    @rx.event
    def ask_erase(self):
        self.confirming_erase = True

    @rx.event
    def cancel_erase(self):
        self.confirming_erase = False

    @rx.event
    async def erase_conversation(self):
        """Delete this product's conversation on the server and from the browser record."""
        self.confirming_erase = False
        async with db.session() as s:
            chat_session = await self._session(s)
            if chat_session is not None:
                await chat.delete_session(s, chat=chat_session)
        data = self._load_record()
        data["productSessions"].pop(record.product_key(self._current_product_id()), None)
        self._save_record(data)
        self._session_id = self._public_id = ""
        self.has_session = False
        self._start_earlier([], None)
        self.pending, self.unread = [], 0
