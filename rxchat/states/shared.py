"""What the live shared states (a conversation's room, the staff inbox) have in common.

- `join`: link a tab to a shared state and count it as a member.
- `SendsChangesOnce`: each change reaches the other members once. Reflex keeps
  the vars a shared state's last event changed and, with the in-memory state
  manager (which keeps state objects between events), sends them to every
  member again after each later event of any member, and the fan-out itself
  leaves them set again: after one message, every keystroke signal and read
  mark re-sent the whole window to every tab. Here the fan-out takes them once.
- Linking a shared state into an event marks the page's router vars changed
  (reflex-dev/reflex#6392), so every update of a tab in a room carried its
  router data again (about 1.5 KiB) and re-rendered what reads it. The patch
  below puts the router vars back as they were; Reflex still refreshes the
  computed vars it patched them in for. Remove it once the pinned Reflex has
  the fix (reflex-dev/reflex#6841).
- Reflex fans a shared state out after every event of any member, changed or
  not: each typing signal, read mark or seen mark cost every other member a
  state lock, a patch and an empty delta, right while a message was being
  rendered. An event that changed no shared var now fans nothing out.
"""

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import Any

import reflex as rx
from reflex.istate import shared as reflex_shared
from reflex.state import _override_base_method

from rxchat import reflex_internals


class _ChangedOnce:
    """The changed var names, emptied by the fan-out that reads them, less those already sent."""

    __slots__ = ("_names", "_sent")

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._sent: dict[str, Any] = {}  # var name -> its value as the other members were sent it

    def mark_sent(self, values: dict[str, Any]) -> None:
        """These values reached the other members already (`realtime.send_to_other_members`)."""
        self._sent.update({name: copy.copy(value) for name, value in values.items()})

    def drop_sent(self, state: "SendsChangesOnce") -> None:
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
    """Mixed into an rx.SharedState (before it): see the module docstring."""

    @_override_base_method  # Reflex refuses to let a state redefine its own methods unmarked
    def _init_bookkeeping(self, parent_state=None) -> None:
        super()._init_bookkeeping(parent_state)  # type: ignore[misc]
        self._previous_dirty_vars = _ChangedOnce()

    @_override_base_method
    def _clean(self) -> None:
        super()._clean()  # type: ignore[misc]
        self._previous_dirty_vars.drop_sent(self)


async def join(tab: rx.State, shared_cls: type, key: str):
    """Link this tab's `shared_cls` to `key` and make sure the tab is counted as a member.

    Reflex skips the bookkeeping when the tab was linked before, but the realtime
    side drops members whose socket went away, so a tab back from a reconnect
    must be added again.
    """
    shared = await (await tab.get_state(shared_cls))._link_to(key)
    shared._linked_from.add(tab.router.session.client_token)
    return shared


async def leave(tab: rx.State, shared_cls: type, token: str) -> None:
    """Take the tab `token` out of the shared state its `shared_cls` is linked to, if any."""
    await reflex_internals.unlink(tab, shared_cls, token)


def _router_untouched_by_links(patch_state):
    @contextlib.asynccontextmanager
    async def patched(original_state, linked_state, full_delta: bool = False):
        root = original_state._get_root_state()
        dirty_before = set(root.dirty_vars)
        async with patch_state(original_state, linked_state, full_delta):
            if not full_delta:  # linking and unlinking resend everything on purpose
                root.dirty_vars.intersection_update(dirty_before)
            yield

    patched.rxchat_router_fix = True
    return patched


if not getattr(reflex_shared._patch_state, "rxchat_router_fix", False):
    reflex_shared._patch_state = _router_untouched_by_links(reflex_shared._patch_state)


def _only_with_changes(update_other_tokens):
    def update(affected_tokens, previous_dirty_vars, state_type):
        if not any(previous_dirty_vars.values()):
            return []  # nothing changed that another member could receive
        return update_other_tokens(affected_tokens, previous_dirty_vars, state_type)

    update.rxchat_only_with_changes = True
    return update


if not getattr(reflex_shared._do_update_other_tokens, "rxchat_only_with_changes", False):
    reflex_shared._do_update_other_tokens = _only_with_changes(reflex_shared._do_update_other_tokens)
