"""Canned replies on the Reflex side: the /agent/canned page (add, edit, delete) and the console's picker
(the `/` menu in the reply box and the button beside it).

Every handler first checks the signed-in agent from backend-only state (`_require_agent`, as the console
does); a signed-out or forged caller is sent to the sign-in page and nothing is read or changed. The form's
inputs are plain (uncontrolled) fields with ids: the server fills them for an edit with `rx.set_value`, so
typing a title costs no event.
"""

import dataclasses

import reflex as rx

from rxchat import db, i18n
from rxchat.models import CannedReplyPublic
from rxchat.services import canned, staff
from rxchat.services.errors import ChatError
from rxchat.states.auth import LOGIN_ROUTE, AgentAuthState
from rxchat.states.console import REPLY_INPUT_ID, AgentConsoleState

CANNED_ROUTE = "/agent/canned"
TITLE_INPUT_ID = "canned-title-input"
BODY_INPUT_ID = "canned-body-input"
PREVIEW_CHARS = 90
# The reply box opens the `/` menu only while it holds a short, one-line `/...`: a title is at most 80 characters.
MAX_SLASH_CHARS = canned.MAX_TITLE_CHARS + 1


@dataclasses.dataclass
class CannedView:
    id: int = 0
    title: str = ""
    body: str = ""
    preview: str = ""  # the body's start, on one line


def to_view(reply: CannedReplyPublic) -> CannedView:
    flat = " ".join(reply.body.split())
    preview = flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
    return CannedView(id=reply.id, title=reply.title, body=reply.body, preview=preview)


class CannedRepliesState(AgentAuthState):
    """The /agent/canned page."""

    replies: list[CannedView] = []
    editing: int = 0  # the id of the reply in the form; 0 while adding a new one
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        async with db.session() as s:
            self.replies = [to_view(r) for r in await canned.list_replies(s)]

    @rx.event
    async def load_page(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.error, self.notice, self.editing = "", "", 0
        await self._reload()

    @rx.event
    async def save_canned(self, canned_form: dict):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        form = canned_form if isinstance(canned_form, dict) else {}
        title, body = form.get("title", ""), form.get("body", "")
        locale = i18n.resolve_locale()
        try:
            async with db.session() as s:
                if self.editing:
                    saved = await canned.update_reply(s, reply_id=self.editing, title=title, body=body)
                else:
                    saved = await canned.create_reply(s, title=title, body=body)
        except ChatError as refused:
            self.error, self.notice = refused.sentence(locale), ""  # what was typed stays in the form
            return
        self.error, self.notice, self.editing = "", i18n.text("canned.saved", locale, title=saved.title), 0
        await self._reload()
        return [rx.set_value(TITLE_INPUT_ID, ""), rx.set_value(BODY_INPUT_ID, ""), rx.set_focus(TITLE_INPUT_ID)]

    @rx.event
    async def start_edit(self, reply_id: int):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            async with db.session() as s:
                reply = await canned.get_reply(s, reply_id=reply_id)
        except ChatError as refused:
            self.error = refused.sentence()
            await self._reload()
            return
        self.editing, self.error, self.notice = reply.id, "", ""
        return [
            rx.set_value(TITLE_INPUT_ID, reply.title),
            rx.set_value(BODY_INPUT_ID, reply.body),
            rx.set_focus(TITLE_INPUT_ID),
        ]

    @rx.event
    async def cancel_edit(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.editing, self.error = 0, ""
        return [rx.set_value(TITLE_INPUT_ID, ""), rx.set_value(BODY_INPUT_ID, "")]

    @rx.event
    async def delete_canned(self, reply_id: int):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            async with db.session() as s:
                gone = await canned.delete_reply(s, reply_id=reply_id)
        except ChatError as refused:
            self.error, self.notice = refused.sentence(), ""
        else:
            self.error, self.notice = "", i18n.text("canned.deleted", i18n.resolve_locale(), title=gone.title)
            if self.editing == gone.id:
                self.editing = 0
        await self._reload()


class CannedPickerState(AgentConsoleState):
    """The console's reply box: `/` then the start of a title lists matches (`suggestions`), the button beside
    it lists every canned reply (`choices`); choosing one puts its body, placeholders filled from the open
    conversation, into the reply box for editing."""

    suggestions: list[CannedView] = []
    choices: list[CannedView] = []
    _query: str | None = None  # what the `/` menu was last read for; None while it is closed

    @rx.event
    async def suggest(self, text: str):
        """The reply box changed: open, refresh or close the `/` menu. Text that is no `/...` command costs
        nothing while the menu is closed (no query, no update)."""
        command = isinstance(text, str) and text.startswith("/") and "\n" not in text and len(text) <= MAX_SLASH_CHARS
        if not command:
            if self._query is not None:
                self._query, self.suggestions = None, []
            return
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        query = " ".join(text[1:].split()).casefold()
        if query == self._query:
            return
        self._query = query
        async with db.session() as s:
            found = [to_view(r) for r in await canned.suggest(s, prefix=query)]
        if found != self.suggestions:
            self.suggestions = found

    @rx.event
    async def close_suggestions(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.suggestions = []
        return rx.set_focus(REPLY_INPUT_ID)

    @rx.event
    async def load_choices(self, is_open: bool):
        """The button's menu opened: list every canned reply now."""
        if is_open is not True:
            return
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        async with db.session() as s:
            found = [to_view(r) for r in await canned.list_replies(s)]
        if found != self.choices:
            self.choices = found

    @rx.event
    async def use_canned(self, reply_id: int):
        """Put the reply, filled in for the open conversation, into the reply box (the agent sends it)."""
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        self.suggestions, self._query = [], None
        locale = i18n.resolve_locale()
        try:
            async with db.session() as s:
                reply = await canned.get_reply(s, reply_id=reply_id)
                shopper = ""
                if self.selected:
                    shopper = (await staff.get_conversation(s, conversation=self.selected)).customer_name or ""
        except ChatError as refused:
            self.reply_error = refused.sentence(locale)
            return
        product = self.selected_product.name if self.selected else ""
        filled = canned.fill(reply.body, product=product, shopper=shopper or i18n.text("canned.no_name", locale))
        return [rx.set_value(REPLY_INPUT_ID, filled), rx.set_focus(REPLY_INPUT_ID)]
