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
  token could use (the live hub, rxchat/live/hub.py, unlinks its rooms and forgets its identity);
- socket-level facts the live hub needs: whether a token has a connected socket,
  sending an update or events to one tab, and dropping a gone tab's state
  from the in-memory store (`ReflexSockets`);
- a log filter for Reflex's warning about deltas to tabs that have gone, which
  names the tab's token (a credential) and is expected here: rooms forget gone
  members lazily;
- shared states: linking a tab and undoing it, a state's members, sending a
  tab's change to the other members ahead of Reflex's own fan-out, and three
  changes to that fan-out (`SendsChangesOnce`, `_router_untouched_by_links`,
  `_only_with_changes`; each says why).
"""

import asyncio
import contextlib
import copy
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import reflex as rx
import socketio
from reflex.app import EventNamespace
from reflex.istate import shared as reflex_shared
from reflex.state import State, StateUpdate, _override_base_method
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
_on_tab_gone: Callable[[str], Awaitable[None]] | None = None  # the live hub's, once installed
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
    if token is not None and _on_tab_gone is not None:
        task = asyncio.ensure_future(_after_disconnect(_on_tab_gone, cleanup, token))
        _hook_tasks.add(task)
        task.add_done_callback(_hook_done)
    return cleanup


async def _after_disconnect(callback, cleanup: asyncio.Task | None, token: str) -> None:
    if cleanup is not None:
        await asyncio.gather(cleanup, return_exceptions=True)  # the token is unmapped first
    await callback(token)


def _hook_done(task: asyncio.Task) -> None:
    _hook_tasks.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("cleaning up a closed tab failed: %s: %s", type(error).__name__, error)


def install_connection_gate(on_tab_gone: Callable[[str], Awaitable[None]]) -> None:
    """Gate every socket of this process's Reflex app; `on_tab_gone(token)` runs after a tab's socket has
    gone (it checks whether the tab came back meanwhile: `ReflexSockets.is_connected`)."""
    global _on_tab_gone
    _on_tab_gone = on_tab_gone
    EventNamespace.on_connect = _gated_on_connect  # type: ignore[method-assign]
    EventNamespace.on_disconnect = _on_disconnect  # type: ignore[method-assign]
    reflex_app_log = logging.getLogger("reflex.app")
    if not any(isinstance(f, DeltasToGoneTabs) for f in reflex_app_log.filters):
        reflex_app_log.addFilter(DeltasToGoneTabs())


class DeltasToGoneTabs(logging.Filter):
    """Drops Reflex's "Attempting to send delta to disconnected client '<token>'" warning: it names a
    tab's token, and sending to a tab that has gone is expected (a room's members are pruned lazily,
    a shared state's own key has no socket)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Attempting to send delta to disconnected client")


# Sockets ---------------------------------------------------------------------


class ReflexSockets:
    """The app's sockets as the live hub uses them (a test gives the hub a recorder instead)."""

    def __init__(self, app: rx.App) -> None:
        self.app = app

    async def is_connected(self, token: str) -> bool:
        """Whether a tab with this token has a live socket (on any instance when Redis is used)."""
        namespace = self.app.event_namespace
        if namespace is None:
            return False
        return await namespace._token_manager.is_token_connected(token)

    def forget_state(self, token: str) -> bool:
        """Drop a gone tab's state from the in-memory state store now (one process, no Redis). Reflex keeps it
        an hour after the tab's last event (`redis_token_expiration`), so every page view of the last hour held
        its whole state tree in the worker's memory. A tab that comes back later starts on a fresh state, which
        its socket's opening hydrate fills from the browser, as after a server restart. False when there was
        nothing to drop or the state is in use; Redis expires its keys itself."""
        from reflex.istate.manager.memory import StateManagerMemory

        manager = self.app.state_manager
        if not isinstance(manager, StateManagerMemory) or token not in manager.states:
            return False
        lock = manager._states_locks.get(token)
        if lock is not None and lock.locked():
            return False
        manager._purge_token(rx.BaseStateToken(ident=token, cls=rx.State))
        return True

    async def send_update(self, token: str, update: StateUpdate) -> None:
        """To one tab; Reflex relays it to the socket's instance when Redis carries state."""
        if (namespace := self.app.event_namespace) is not None:
            await namespace.emit_update(update, token)

    def revive(self) -> None:
        """Restart Reflex's Redis watchers that gave up. Each (lock releases, socket records, updates relayed
        from other instances) stops for good after 5 failures within 60 s, as in a Redis outage, and Reflex
        restarts the last two only when a new socket connects to this instance: until then its open tabs would
        get nothing another instance sends them. Cheap when they run (a `done()` check each)."""
        from reflex.istate.manager.redis import StateManagerRedis
        from reflex.utils.token_manager import RedisTokenManager

        namespace = self.app.event_namespace
        if namespace is not None and isinstance(namespace._token_manager, RedisTokenManager):
            namespace._token_manager.ensure_lost_and_found_task(namespace.emit_update)
            namespace._token_manager._ensure_socket_record_task()
        if isinstance(manager := self.app._state_manager, StateManagerRedis):
            manager._ensure_lock_task()

    async def send_events(self, token: str, specs: list) -> None:
        """Have one tab run these events (`rx.redirect(...)` and the like), from outside its own events."""
        from reflex_base.event import Event

        if events := Event.from_event_type(specs):
            await self.send_update(token, StateUpdate(events=events))


# Shared states -----------------------------------------------------------------


async def link(tab: rx.State, shared_cls: type, key: str) -> Any:
    """Link this tab's `shared_cls` to `key` and make sure the tab is counted as a member.

    Reflex skips the bookkeeping when the tab was linked before, but the hub drops members whose
    socket went away, so a tab back from a reconnect must be added again.
    """
    shared = await (await tab.get_state(shared_cls))._link_to(key)
    shared._linked_from.add(tab.router.session.client_token)
    return shared


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


def linked_key(shared: Any) -> str:
    """The key a shared state (as a tab holds it) is linked to; "" when it is the tab's private copy."""
    return shared._linked_to


async def forget_gone_members(sockets: ReflexSockets, shared: Any) -> None:
    """Reflex never unlinks a tab from a shared state; drop the members whose socket is gone."""
    gone = {token for token in shared._linked_from if not await sockets.is_connected(token)}
    if gone:
        shared._linked_from.difference_update(gone)


async def send_ahead(sockets: ReflexSockets, shared: Any, own_token: str) -> None:
    """Send what the calling tab just changed in a shared state to the state's other members now.

    Reflex fans a shared state out only when the changing tab's whole event has ended, its own
    update sent first: the other side would wait for all of it. Called with the shared state's lock
    held (inside the tab's event), so these are its values; the fan-out at the end of the event then
    leaves out what was sent here (`SendsChangesOnce`). No state but the shared one may read its vars,
    so nothing else on the receiving side needs recomputing.
    """
    if not (delta := shared.get_delta()):
        return
    changed = shared.dirty_vars & shared._frontend_var_names
    shared._previous_dirty_vars.mark_sent({name: shared.get_value(name) for name in changed})
    update = StateUpdate(delta=delta)
    for token in list(shared._linked_from):
        if token != own_token and await sockets.is_connected(token):
            await sockets.send_update(token, update)


class _ChangedOnce:
    """The changed var names, emptied by the fan-out that reads them, less those already sent."""

    __slots__ = ("_names", "_sent")

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._sent: dict[str, Any] = {}  # var name -> its value as the other members were sent it

    def mark_sent(self, values: dict[str, Any]) -> None:
        """These values reached the other members already (`send_ahead`)."""
        self._sent.update({name: copy.copy(value) for name, value in values.items()})

    def drop_sent(self, state: Any) -> None:
        """Leave out of the fan-out what was sent ahead, unless it changed again since."""
        sent, self._sent = self._sent, {}
        self._names.difference_update(name for name, value in sent.items() if state.get_value(name) == value)

    def clear(self) -> None:
        self._names.clear()

    def update(self, names: Iterable[str]) -> None:
        self._names.update(names)

    def __bool__(self) -> bool:
        return bool(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        names, self._names = self._names, set()
        return iter(names)


class SendsChangesOnce:
    """Mixed into an rx.SharedState (before it): each change reaches the other members once.

    Reflex keeps the vars a shared state's last event changed and, with the in-memory state manager
    (which keeps state objects between events), sends them to every member again after each later
    event of any member, and the fan-out itself leaves them set again: after one message, every
    keystroke signal and read mark re-sent the whole window to every tab. Here the fan-out takes
    them once.
    """

    @_override_base_method  # Reflex refuses to let a state redefine its own methods unmarked
    def _init_bookkeeping(self, parent_state=None) -> None:
        super()._init_bookkeeping(parent_state)  # type: ignore[misc]
        self._previous_dirty_vars = _ChangedOnce()

    @_override_base_method
    def _clean(self) -> None:
        super()._clean()  # type: ignore[misc]
        self._previous_dirty_vars.drop_sent(self)


def _router_untouched_by_links(patch_state):
    """Linking a shared state into an event marks the page's router vars changed
    (reflex-dev/reflex#6392), so every update of a tab in a room carried its router data again (about
    1.5 KiB) and re-rendered what reads it. This puts the router vars back as they were; Reflex still
    refreshes the computed vars it patched them in for. Remove it once the pinned Reflex has the fix
    (reflex-dev/reflex#6841)."""

    @contextlib.asynccontextmanager
    async def patched(original_state, linked_state, full_delta: bool = False):
        root = original_state._get_root_state()
        dirty_before = set(root.dirty_vars)
        async with patch_state(original_state, linked_state, full_delta):
            if not full_delta:  # linking and unlinking resend everything on purpose
                root.dirty_vars.intersection_update(dirty_before)
            yield

    patched.rxchat_router_fix = True
    patched.__wrapped__ = patch_state
    return patched


def _only_with_changes(update_other_tokens):
    """Reflex fans a shared state out after every event of any member, changed or not: each typing
    signal, read mark or seen mark cost every other member a state lock, a patch and an empty delta.
    An event that changed no shared var now fans nothing out."""

    def update(affected_tokens, previous_dirty_vars, state_type):
        if not any(previous_dirty_vars.values()):
            return []  # nothing changed that another member could receive
        return update_other_tokens(affected_tokens, previous_dirty_vars, state_type)

    update.rxchat_only_with_changes = True
    update.__wrapped__ = update_other_tokens
    return update


if not getattr(reflex_shared._patch_state, "rxchat_router_fix", False):
    reflex_shared._patch_state = _router_untouched_by_links(reflex_shared._patch_state)
if not getattr(reflex_shared._do_update_other_tokens, "rxchat_only_with_changes", False):
    reflex_shared._do_update_other_tokens = _only_with_changes(reflex_shared._do_update_other_tokens)


# --- a browser-side list (the outbox of messages sent while the connection is down) ---------------------------------


def client_list(name: str) -> tuple[Any, rx.Var, rx.Var]:
    """A list kept in the page only (Reflex's experimental ClientStateVar, global), and JS expressions of its
    current value and of its setter, usable from any script of the page: Reflex keeps both in its `refs` object
    under `_client_state_<name>` and `_client_state_set<Name>` (private names)."""
    return client_value(name, [])


def client_value(name: str, default: Any) -> tuple[Any, rx.Var, rx.Var]:
    """A value kept in the page only, as `client_list` keeps a list."""
    from reflex.experimental.client_state import ClientStateVar, _client_state_ref

    var = ClientStateVar.create(name, default=default, global_ref=True)
    return var, _client_state_ref(var._getter_name), _client_state_ref(var._setter_name)
