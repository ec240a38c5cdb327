"""What the live hub knows of this process's browser tabs, as the states tell it.

The states write here and the hub (rxchat/live/hub.py) reads and acts; neither
side imports the other's module, so the layers have no import loop. Everything
is keyed by a tab's Reflex client token and lives in this process: the tabs a
worker knows are those whose sockets it holds (a tab's events run on its
socket's worker).
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


class Tabs:
    def __init__(self) -> None:
        self.widgets: dict[str, type] = {}  # open widget tab -> its state class (presence changes are pushed)
        # Tabs holding something of a person's (a joined conversation, a sign-in): tab -> the state classes
        # to end (their `_leave_tab`) when the tab's socket goes or its sign-in ends.
        self.held: dict[str, set[type]] = {}
        self.console_sign_ins: dict[str, tuple[type, str]] = {}  # open console tab -> (its state class, sign-in)
        # A tab storing a message or read mark, while its event holds its room: tab -> (conversation, its room).
        self.sending_rooms: dict[str, tuple[str, Any]] = {}
        self.agents_online = False  # whether any console is open now (set by the hub's presence watch)
        # Told when a console tab opens (True) or leaves (False): the hub recounts presence.
        self.on_console_change: Callable[[str, bool], None] = lambda token, is_open: None

    def watch_widget(self, token: str, state_cls: type) -> None:
        """A widget is open in this tab: push presence changes to it."""
        self.widgets[token] = state_cls

    def hold(self, token: str, state_cls: type) -> None:
        """This tab's `state_cls` now holds something of a person's: end it when the tab goes."""
        self.held.setdefault(token, set()).add(state_cls)

    def watch_console(self, token: str, state_cls: type, sign_in: str) -> None:
        """A console is open in this tab under this sign-in."""
        self.hold(token, state_cls)
        self.console_sign_ins[token] = (state_cls, sign_in)
        self.on_console_change(token, True)

    def leave_console(self, token: str) -> None:
        """A console tab signed out or left the console."""
        self.console_sign_ins.pop(token, None)
        self.on_console_change(token, False)

    @contextlib.contextmanager
    def sending(self, token: str, conversation: str, room: Any) -> Iterator[None]:
        """While the block runs, the tab `token` (holding `room`, linked to `conversation`) stores a message or a
        read mark: the hub puts what is published into that room itself (`origin` of events.MessagePosted and
        events.ReadMarked)."""
        self.sending_rooms[token] = (conversation, room)
        try:
            yield
        finally:
            self.sending_rooms.pop(token, None)

    def sending_room(self, token: str | None, conversation: str) -> Any:
        """The room the tab `token` is storing a message in, if that is `conversation`'s."""
        held = self.sending_rooms.get(token) if token is not None else None
        return held[1] if held is not None and held[0] == conversation else None


tabs = Tabs()  # the one registry of this process, as `settings` is the one settings object
