"""What rxchat/reflex_internals.py relies on in Reflex, one test per reliance.

Each test fails when the installed Reflex no longer has what the module patches
or reads, so an upgrade shows at once which part needs another look.
"""

import inspect
import logging
import types
import uuid

import pytest
import reflex as rx
from reflex.app import EventNamespace
from reflex.istate import shared as reflex_shared
from reflex.istate.shared import SharedState
from reflex.state import BaseState, State, StateUpdate
from reflex.utils.token_manager import TokenManager
from reflex_base.constants import CompileVars

import rxchat.rxchat  # noqa: F401  (the app: registers the states, installs the gate)
from rxchat import reflex_internals
from rxchat.settings import settings
from rxchat.states.room import ConversationRoomState

HYDRATE = {"event": {"name": f"{State.get_full_name()}.hydrate_and_load", "payload": {}}}


def code(function) -> str:
    """A function's source with all white space taken out, so a reformatted Reflex still matches."""
    return "".join(inspect.getsource(function).split())


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_an_untested_reflex_is_refused_with_a_sentence_saying_what_to_do(monkeypatch):
    monkeypatch.setattr(reflex_internals.ReflexConstants, "VERSION", "0.99.0")
    with pytest.raises(ImportError, match=r"pip install 'reflex==0\.10\.1'.*RXCHAT_ALLOW_UNTESTED_REFLEX"):
        reflex_internals._check_version()
    monkeypatch.setattr(settings, "allow_untested_reflex", True)
    reflex_internals._check_version()


def test_the_gate_admits_only_a_tab_token_that_starts_with_the_hydrate():
    token = str(uuid.uuid4())
    assert reflex_internals.refusal(f"token={token}&EIO=4&transport=websocket", HYDRATE) is None
    for query in ("token=staffinbox", "token=room0123456789abcdef", "", f"token={token.upper()}", f"token={token}x"):
        assert reflex_internals.refusal(query, HYDRATE) is not None, query
    assert reflex_internals.refusal(f"token={token}&token={uuid.uuid4()}", HYDRATE) is not None
    for auth in (None, {}, {"event": "x"}, {"event": {"name": f"{State.get_full_name()}.hydrate"}}):
        assert reflex_internals.refusal(f"token={token}", auth) is not None, auth


def test_reflex_takes_the_tab_token_from_the_query_and_the_boot_hydrate_from_the_connect_auth():
    """The gate reads the same places Reflex does: the `token` query parameter, and the CONNECT packet's
    auth under CONNECT_AUTH_EVENT (the hydrate_and_load event the browser's pages send)."""
    assert 'query_params.get("token"' in code(reflex_internals._original_on_connect)
    assert CompileVars.CONNECT_AUTH_EVENT == "event"
    assert parameters(reflex_internals._original_on_connect) == ["self", "sid", "environ", "auth"]
    assert "hydrate_and_load" in State.event_handlers


def test_the_gate_is_installed_in_the_namespace_class():
    assert EventNamespace.on_connect is reflex_internals._gated_on_connect
    assert EventNamespace.on_disconnect is reflex_internals._on_disconnect


def test_a_disconnect_hands_back_its_cleanup_and_the_sid_maps_to_the_token():
    assert parameters(reflex_internals._original_on_disconnect) == ["self", "sid"]
    assert "returntask" in code(reflex_internals._original_on_disconnect)
    assert isinstance(inspect.getattr_static(EventNamespace, "sid_to_token"), property)


def test_sockets_are_asked_through_the_token_manager_and_emit_update():
    assert parameters(TokenManager.is_token_connected) == ["self", "token"]
    assert "self._token_manager=" in code(EventNamespace.__init__)
    assert parameters(EventNamespace.emit_update) == ["self", "update", "token"]
    assert {"delta", "events"} <= {f.name for f in StateUpdate.__dataclass_fields__.values()}
    from reflex_base.event import Event

    assert callable(Event.from_event_type)


def test_links_live_where_link_and_unlink_read_them():
    assert "_reflex_internal_links" in State.get_fields()
    fields = ConversationRoomState.get_fields()
    assert {"_linked_from", "_linked_to"} <= set(fields)
    assert callable(SharedState._link_to)


def test_send_ahead_reads_what_it_needs_of_a_state():
    assert hasattr(BaseState, "get_delta") and hasattr(BaseState, "get_value")
    assert "dirty_vars" in BaseState.__slots__ or hasattr(BaseState, "dirty_vars")
    assert "typing_agent_name" in ConversationRoomState._frontend_var_names


def test_changes_once_fits_how_reflex_keeps_and_fans_out_the_last_changes():
    """Reflex's _clean clears and refills `_previous_dirty_vars`, and the fan-out copies it with set():
    `_ChangedOnce` takes those calls (the copy empties it, so a change is sent once)."""
    clean = code(reflex_shared.SharedStateBaseInternal._clean)
    assert "previous_dirty_vars.clear()" in clean and "previous_dirty_vars.update(self.dirty_vars)" in clean
    assert "set(linked_state._previous_dirty_vars)" in code(reflex_shared.SharedStateBaseInternal._modify_linked_states)
    changed = reflex_internals._ChangedOnce()
    changed.update({"recent"})
    assert set(changed) == {"recent"} and not changed


def test_the_router_patch_wraps_reflexs_patch_state():
    """reflex-dev/reflex#6392: linking marks the router vars dirty; fixed upstream by #6841."""
    assert getattr(reflex_shared._patch_state, "rxchat_router_fix", False)
    assert "root_state.dirty_vars.update(ROUTER_VARS)" in code(reflex_shared._patch_state.__wrapped__)


def test_the_fan_out_patch_wraps_reflexs_update_of_other_tokens():
    assert getattr(reflex_shared._do_update_other_tokens, "rxchat_only_with_changes", False)
    assert "_do_update_other_tokens(" in code(reflex_shared.SharedStateBaseInternal._modify_linked_states)
    assert reflex_shared._do_update_other_tokens(set(), {"room": set()}, ConversationRoomState) == []


def test_reflexs_warning_about_gone_tabs_is_the_one_filtered():
    assert "Attemptingtosenddeltatodisconnectedclient" in code(EventNamespace.emit_update)
    warning = "Attempting to send delta to disconnected client 'x'"
    record = logging.LogRecord("reflex.app", logging.WARNING, "", 0, warning, None, None)
    assert not reflex_internals.DeltasToGoneTabs().filter(record)


def test_client_list_names_the_refs_slots_reflex_fills():
    """The page's outbox reads and sets a ClientStateVar from scripts through the `refs` slots that the var's
    own hooks fill (Reflex's experimental client state, global): the names used must be the ones assigned."""
    var, value, setter = reflex_internals.client_list("probeoutbox")
    assert value._js_expr == "refs['_client_state_probeoutbox']"
    assert setter._js_expr == "refs['_client_state_setProbeoutbox']"
    hooks = "".join(var._get_all_var_data().hooks)
    assert f"{setter._js_expr} = " in hooks  # the setter slot is assigned when a component using the var renders
    assert f"{value._js_expr} ??= " in hooks  # and the value slot starts from the var's state
    assert "refs" in str(value._get_all_var_data().imports)  # scripts using the names get `refs` imported


async def test_a_gone_tabs_state_is_dropped_from_reflexs_memory_store_unless_in_use():
    from reflex.istate.manager.memory import StateManagerMemory

    manager = StateManagerMemory()
    sockets = reflex_internals.ReflexSockets(types.SimpleNamespace(state_manager=manager))  # type: ignore[arg-type]
    gone, busy = str(uuid.uuid4()), str(uuid.uuid4())
    async with manager.modify_state(rx.BaseStateToken(ident=gone, cls=State)):
        pass
    async with manager.modify_state(rx.BaseStateToken(ident=busy, cls=State)):
        assert not sockets.forget_state(busy)  # an event is running on it
    assert busy in manager.states
    assert sockets.forget_state(gone)
    assert gone not in manager.states and gone not in manager._token_expires_at
    assert not sockets.forget_state(gone)  # nothing left to drop


def test_reflex_redis_watchers_can_be_restarted_from_outside():
    """ReflexSockets.revive restarts the Redis watchers Reflex gives up on after an outage: through these
    names, each of which starts its task only if it is not running (`ensure_task`)."""
    from reflex.istate.manager.redis import StateManagerRedis
    from reflex.utils.token_manager import RedisTokenManager

    assert "ensure_task(" in code(RedisTokenManager.ensure_lost_and_found_task)
    assert "ensure_task(" in code(RedisTokenManager._ensure_socket_record_task)
    assert "ensure_task(" in code(StateManagerRedis._ensure_lock_task)
    assert "_state_manager" in code(rx.App.state_manager.fget)
