"""A browser tab's socket spoken by hand, for attacks and load: the browser's own protocol.

Websocket transport at `/_event/?token=<tab token>`; the page's hydrate event
rides in the CONNECT packet's auth, with the tab's browser-held vars (`storage`);
events go out as `["event", {name, payload, router_data}]`, updates come back as
`event` frames holding `delta` and `events`.
"""

import asyncio
import concurrent.futures
import json
import time
import uuid

from rxchat.states.console import AgentConsoleState
from rxchat.states.widget import ChatWidgetState

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
UPDATE_VARS = f"{ROOT_STATE}.reflex___state____update_vars_internal_state.update_vars_internal"
REPLY_TIMEOUT_SECS = 15
CONSOLE = AgentConsoleState.get_full_name()
LOAD_WIDGET = f"{ChatWidgetState.get_full_name()}.load_widget"


def product_page(product_id: str) -> dict:
    path = f"/products/{product_id}"
    return {"pathname": path, "asPath": path, "query": {"product_id": product_id}}


def page(path: str) -> dict:
    return {"pathname": path, "asPath": path}


def run_async(coroutine):
    """Run a coroutine on its own loop in a worker thread (Playwright's sync API may own this thread's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class RawClient:
    """One tab. `token` defaults to a fresh tab token; `auth` replaces the hydrate event the browser sends."""

    def __init__(
        self,
        http,
        base_url: str,
        router_data: dict,
        storage: dict | None = None,
        *,
        token: str | None = None,
        auth: dict | None = None,
    ):
        import socketio

        self.sio = socketio.AsyncClient(http_session=http, reconnection=False)
        self.base_url = base_url
        self.router_data = router_data
        self.storage = storage or {}
        self.token = token if token is not None else str(uuid.uuid4())
        self.auth = auth
        self.received: list[dict] = []
        self.hydrated = asyncio.Event()
        self.sio.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, data) -> None:
        self.received.append(data)
        if (data or {}).get("delta", {}).get(ROOT_STATE, {}).get("is_hydrated_rx_state_") is True:
            self.hydrated.set()

    async def connect(self, *, wait_hydrated: bool = True) -> None:
        payload = {"vars": self.storage} if self.storage else {}
        auth = self.auth
        if auth is None:
            auth = {"event": {"name": HYDRATE, "payload": payload, "router_data": self.router_data}}
        await self.sio.connect(
            f"{self.base_url}/?token={self.token}",
            transports=["websocket"],
            socketio_path="/_event",
            namespaces=[NAMESPACE],
            auth=auth,
            wait_timeout=10,
        )
        if wait_hydrated:
            await asyncio.wait_for(self.hydrated.wait(), REPLY_TIMEOUT_SECS)
            if "product_id" in self.router_data.get("query", {}):
                # As a product page does once connected: the widget loads its thread (its load marker).
                await self.send(LOAD_WIDGET, {"product_id": ""})

    async def send(self, name: str, payload: dict) -> None:
        await self.sio.emit(
            "event", {"name": name, "payload": payload, "router_data": self.router_data}, namespace=NAMESPACE
        )

    async def settle(self) -> None:
        """Wait until every event sent before has been handled: a tab's events are handled in order."""
        mark = len(self.received)
        # set_sound keeps only the tab's own preference, so it answers anyone. An unchanged value sends
        # no reply: switch it on, then off, and wait for the second.
        await self.send(f"{CONSOLE}.set_sound", {"on": True})
        await self.send(f"{CONSOLE}.set_sound", {"on": False})
        deadline = time.monotonic() + REPLY_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if any('"sound_rx_state_": "off"' in json.dumps(d) for d in self.received[mark:]):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("the tab's events were not handled in time")

    async def wait_for(self, text: str, timeout: float = REPLY_TIMEOUT_SECS) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def wait_for_var(self, state: str, var: str, timeout: float = REPLY_TIMEOUT_SECS):
        """The first non-empty value of a state's var this tab received (None if none came in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for data in self.received:
                if value := (data or {}).get("delta", {}).get(state, {}).get(var):
                    return value
            await asyncio.sleep(0.05)
        return None

    def redirects(self) -> list[str]:
        return [
            e.get("payload", {}).get("path", "")
            for d in self.received
            for e in d.get("events", [])
            if e.get("name") == "_redirect"
        ]

    def text(self) -> str:
        return json.dumps(self.received)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
