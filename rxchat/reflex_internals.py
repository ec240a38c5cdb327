"""Every place rxchat relies on a private part of Reflex, in one module.

Written for Reflex 0.10.1 (`WRITTEN_FOR`). Importing it checks the installed
Reflex and refuses another version with a sentence saying what to do, since
any release may change what is patched or read here; tests/test_reflex_internals.py
holds one test per reliance that fails when Reflex changes it.

What is here:
- the connection gate: a socket is accepted only with a browser's own kind of
  client token (a UUID) and only if it starts, as the browser's pages always
  do, with the hydrate event that resets the tab's browser-held vars to what
  the connecting browser holds. Reflex takes a tab's token from the client, and
  shared states live in the same store under their link keys, so without this
  a client could claim a shared state's key and read it (issue: live security);
- the gone-tab hook: when a tab's socket has gone (and has not come back),
  callbacks run so the tab's state stops holding anything a later holder of its
  token could use (`rxchat.realtime` unlinks its rooms and forgets its identity);
- socket-level facts the live hub needs: whether a token has a connected socket,
  and sending an update to one tab;
- a log filter for Reflex's warning about deltas to tabs that have gone, which
  names the tab's token (a credential) and is expected here: rooms forget gone
  members lazily.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
import socketio
from reflex.app import EventNamespace
from reflex.state import State, StateUpdate
from reflex_base.constants import Reflex as ReflexConstants

from rxchat.settings import settings

logger = logging.getLogger(__name__)

WRITTEN_FOR = ("0.10.1",)
# Tokens of browser tabs: Reflex's frontend makes a UUID (version 4 form) per tab, and so does the
# backend when it hands out a fresh one for a duplicated tab.
CLIENT_TOKEN_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _check_version() -> None:
    installed = ReflexConstants.VERSION
    if installed in WRITTEN_FOR or settings.allow_untested_reflex:
        return
    raise ImportError(
        f"rxchat was written for Reflex {' or '.join(WRITTEN_FOR)}, and Reflex {installed} is installed. "
        f"Install a supported one (pip install 'reflex=={WRITTEN_FOR[-1]}'), or set "
        "RXCHAT_ALLOW_UNTESTED_REFLEX=1 to run anyway: the live parts in rxchat/reflex_internals.py "
        "may then break silently."
    )


_check_version()


# The connection gate ---------------------------------------------------------


def is_client_token(token: object) -> bool:
    return isinstance(token, str) and CLIENT_TOKEN_RE.match(token) is not None


def refusal(query_string: str, auth: Any) -> str | None:
    """Why a socket may not connect, or None. No token is ever part of the reason (they are secrets)."""
    from urllib.parse import parse_qs

    tokens = parse_qs(query_string).get("token", [])
    if len(tokens) != 1 or not is_client_token(tokens[0]):
        return "not a browser tab's token"
    event = auth.get("event") if isinstance(auth, dict) else None
    if not isinstance(event, dict) or event.get("name") != f"{State.get_full_name()}.hydrate_and_load":
        return "the connection does not start with the page's hydrate event"
    return None


_original_on_connect = EventNamespace.on_connect
_original_on_disconnect = EventNamespace.on_disconnect
_tab_gone_callbacks: list[Callable[[Any, str], Awaitable[None]]] = []
_hook_tasks: set[asyncio.Task] = set()


async def _gated_on_connect(self: EventNamespace, sid: str, environ: dict, auth: Any = None):
    reason = refusal(environ.get("QUERY_STRING", ""), auth)
    if reason is not None:
        logger.warning("refused a live connection from %s: %s", environ.get("REMOTE_ADDR", "?"), reason)
        raise socketio.exceptions.ConnectionRefusedError("refused")
    return await _original_on_connect(self, sid, environ, auth)


def _on_disconnect(self: EventNamespace, sid: str):
    token = self.sid_to_token.get(sid)
    cleanup = _original_on_disconnect(self, sid)
    if token is not None and _tab_gone_callbacks:
        task = asyncio.ensure_future(_after_disconnect(self.app, cleanup, token))
        _hook_tasks.add(task)
        task.add_done_callback(_hook_done)
    return cleanup


async def _after_disconnect(app: Any, cleanup: asyncio.Task | None, token: str) -> None:
    if cleanup is not None:
        await asyncio.gather(cleanup, return_exceptions=True)  # the token is unmapped first
    for callback in list(_tab_gone_callbacks):
        await callback(app, token)


def _hook_done(task: asyncio.Task) -> None:
    _hook_tasks.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("cleaning up a closed tab failed: %s: %s", type(error).__name__, error)


def install_connection_gate(on_tab_gone: Callable[[Any, str], Awaitable[None]]) -> None:
    """Gate every socket of this process's Reflex app; `on_tab_gone(app, token)` runs after a tab's
    socket has gone (the callback checks whether it came back meanwhile: `is_connected`)."""
    if on_tab_gone not in _tab_gone_callbacks:
        _tab_gone_callbacks.append(on_tab_gone)
    EventNamespace.on_connect = _gated_on_connect  # type: ignore[method-assign]
    EventNamespace.on_disconnect = _on_disconnect  # type: ignore[method-assign]
    reflex_app_log = logging.getLogger("reflex.app")
    if not any(isinstance(f, DeltasToGoneTabs) for f in reflex_app_log.filters):
        reflex_app_log.addFilter(DeltasToGoneTabs())


# Sockets ---------------------------------------------------------------------


async def is_connected(app: rx.App, token: str) -> bool:
    """Whether a tab with this token has a live socket (on any instance when Redis is used)."""
    namespace = app.event_namespace
    if namespace is None:
        return False
    return await namespace._token_manager.is_token_connected(token)


async def send_update(app: rx.App, token: str, update: StateUpdate) -> None:
    namespace = app.event_namespace
    if namespace is not None:
        await namespace.emit_update(update, token)


class DeltasToGoneTabs(logging.Filter):
    """Drops Reflex's "Attempting to send delta to disconnected client '<token>'" warning: it names a
    tab's token, and sending to a tab that has gone is expected (a room's members are pruned lazily,
    a shared state's own key has no socket)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Attempting to send delta to disconnected client")


# Shared states -----------------------------------------------------------------


async def unlink(tab: rx.State, shared_cls: type, token: str) -> None:
    """Take the tab `token` out of the shared state its `shared_cls` is linked to, for a tab whose socket
    has gone or whose sign-in ended. Reflex's own `_unlink` also rehydrates the page from the tab's
    private copy; a tab being ended needs none of that, only the link and the membership undone."""
    shared = await tab.get_state(shared_cls)
    links = tab._get_root_state()._reflex_internal_links
    if links:
        links.pop(shared_cls.get_full_name(), None)
    if token in shared._linked_from:
        shared._linked_from.discard(token)


async def send_events(app: rx.App, token: str, specs: list) -> None:
    """Have one tab run these events (`rx.redirect(...)` and the like), from outside its own events."""
    from reflex_base.event import Event

    events = Event.from_event_type(specs)
    if events:
        await send_update(app, token, StateUpdate(events=events))
