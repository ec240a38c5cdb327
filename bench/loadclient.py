"""One asyncio process playing many shoppers and a few agents, over the browser's own protocol.

Two targets speak the same load shape:
- rxchat: Socket.IO over websocket at `/_event/?token=<uuid>` with the page's hydrate event (and the
  built app's state schema) in the CONNECT packet, then the widget's own load (`load_widget`), as a
  product page does; agents sign in on `/agent/login` and keep one console tab on `/agent` (the inbox),
  opening a conversation (`open_conversation`) to answer it (`send_reply`);
- the baseline relay (bench/baseline/relay.py): a plain websocket per shopper and per agent.

Every message carries a marker `bm<n>z`. The recorder times, from the moment a message is sent: its
echo (the sender's own view shows it stored), its delivery to the other side (an agent's reply reaching
the shopper's page; a shopper's message reaching an agent: in rxchat through the inbox, which is
refreshed 200 ms after a change, or the room of the conversation the agent has open).
Only a state's synced part counts as arrived: in rxchat, the conversation's room or the inbox, never
the sender's own `sending` copy.
"""

import asyncio
import contextlib
import json
import random
import re
import resource
import time
import uuid
import zlib
from dataclasses import dataclass, field

MARK = re.compile(r"bm\d+z")
NAMESPACE = "/_event"
ROOT = "reflex___state____state"
HYDRATE = f"{ROOT}.hydrate_and_load"
TIMEOUT_SECS = 30


def state_names() -> dict[str, str]:
    """The full names of the states the clients read and call (rxchat's own classes say them)."""
    from rxchat.states.auth import AgentAuthState
    from rxchat.states.console import AgentConsoleState
    from rxchat.states.inbox import InboxState
    from rxchat.states.room import ConversationRoomState
    from rxchat.states.widget import ChatWidgetState

    return {
        "widget": ChatWidgetState.get_full_name(),
        "room": ConversationRoomState.get_full_name(),
        "inbox": InboxState.get_full_name(),
        "console": AgentConsoleState.get_full_name(),
        "auth": AgentAuthState.get_full_name(),
    }


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))], 2)

    return {
        "count": len(ordered),
        "p50_ms": rank(50),
        "p90_ms": rank(90),
        "p99_ms": rank(99),
        "max_ms": round(ordered[-1], 2),
    }


@dataclass
class Sent:
    at: float
    sender: object
    author: str  # shopper | agent
    echo: float | None = None
    delivered: float | None = None


class Recorder:
    """Markers sent and when each reached its sender and the other side; latencies of the measured window."""

    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}
        self.counter = 0
        self.measuring = False
        self.window: set[str] = set()

    def new_marker(self, sender: object, author: str) -> str:
        self.counter += 1
        marker = f"bm{self.counter}z"
        self.sent[marker] = Sent(time.perf_counter(), sender, author)
        if self.measuring:
            self.window.add(marker)
        return marker

    def restamp(self, marker: str) -> None:
        """The send time is the moment the frame leaves (after the marker is put into it)."""
        self.sent[marker].at = time.perf_counter()

    def arrived(self, text: str, receiver: object) -> list[str]:
        now = time.perf_counter()
        found = []
        for marker in set(MARK.findall(text)):
            sent = self.sent.get(marker)
            if sent is None:
                continue
            if receiver is sent.sender:
                if sent.echo is None:
                    sent.echo = (now - sent.at) * 1000
            elif sent.delivered is None:
                sent.delivered = (now - sent.at) * 1000
                if sent.author == "agent":
                    getattr(receiver, "got_reply", asyncio.Event()).set()
            found.append(marker)
        return found

    async def settle(self, timeout: float) -> None:
        """Wait until every message of the window reached both sides, or `timeout` s."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(self.sent[m].echo is not None and self.sent[m].delivered is not None for m in self.window):
                return
            await asyncio.sleep(0.05)

    def start_window(self) -> None:
        self.window, self.measuring = set(), True

    def stop_window(self) -> None:
        self.measuring = False

    def report(self) -> dict:
        entries = [self.sent[m] for m in self.window]
        echo = [e.echo for e in entries if e.echo is not None]
        to_shopper = [e.delivered for e in entries if e.author == "agent" and e.delivered is not None]
        to_agent = [e.delivered for e in entries if e.author == "shopper" and e.delivered is not None]
        shoppers_page = [e.echo for e in entries if e.author == "shopper" and e.echo is not None] + to_shopper
        missing = sum(1 for e in entries if e.echo is None or e.delivered is None)
        return {
            "messages": len(entries),
            "shopper_messages": sum(1 for e in entries if e.author == "shopper"),
            "agent_messages": sum(1 for e in entries if e.author == "agent"),
            "undelivered": missing,
            "shopper_page": percentiles(shoppers_page),  # the headline: what shoppers' pages see
            "echo": percentiles(echo),
            "agent_to_shopper": percentiles(to_shopper),
            "shopper_to_agent": percentiles(to_agent),
        }


# --- rxchat: the browser's Socket.IO protocol -------------------------------------------------------------------------


class RxTab:
    """One browser tab of rxchat, spoken by hand."""

    def __init__(self, target: "RxTarget", path: str, query: dict | None = None, storage: dict | None = None):
        import socketio

        self.target = target
        self.sio = socketio.AsyncClient(http_session=target.session(), reconnection=False)
        self.router_data = {"pathname": path, "asPath": path, **({"query": query} if query else {})}
        self.storage = storage or {}
        self.hydrated = asyncio.Event()
        self.changed = asyncio.Event()
        self.got_reply = asyncio.Event()
        self.sio.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, data) -> None:
        delta = (data or {}).get("delta") or {}
        if delta.get(ROOT, {}).get("is_hydrated_rx_state_") is True:
            self.hydrated.set()
        self.on_delta(delta)
        self.changed.set()

    def on_delta(self, delta: dict) -> None:
        pass

    async def wait(self, condition, timeout: float = TIMEOUT_SECS) -> None:
        async def loop():
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)

    async def connect(self) -> None:
        auth = {
            "event": {
                "name": HYDRATE,
                "payload": {"vars": self.storage} if self.storage else {},
                "router_data": self.router_data,
            }
        }
        if self.target.schema:
            auth["state_schema"] = self.target.schema
        await self.sio.connect(
            f"{self.target.url}/?token={uuid.uuid4()}",
            transports=["websocket"],
            socketio_path="/_event",
            namespaces=[NAMESPACE],
            auth=auth,
            wait_timeout=TIMEOUT_SECS,
        )
        await asyncio.wait_for(self.hydrated.wait(), TIMEOUT_SECS)

    async def emit(self, name: str, payload: dict) -> None:
        await self.sio.emit(
            "event", {"name": name, "payload": payload, "router_data": self.router_data}, namespace=NAMESPACE
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self.sio.disconnect()


class RxShopper(RxTab):
    def __init__(self, target: "RxTarget", product: str):
        super().__init__(target, f"/products/{product}", {"product_id": product})
        self.loaded = False

    def on_delta(self, delta: dict) -> None:
        names = self.target.names
        if self.hydrated.is_set() and names["widget"] in delta:
            self.loaded = True
        if room := delta.get(names["room"]):
            self.target.recorder.arrived(json.dumps(room), self)

    async def open(self) -> float:
        """Load the product page's live part; ms until the widget is live (hydrated and its load answered)."""
        started = time.perf_counter()
        await self.connect()
        await self.emit(f"{self.target.names['widget']}.load_widget", {"product_id": ""})
        await self.wait(lambda: self.loaded)
        return (time.perf_counter() - started) * 1000

    async def send(self) -> str:
        marker = self.target.recorder.new_marker(self, "shopper")
        payload = {"form_data": {"message": f"question {marker} about the size"}}
        self.target.recorder.restamp(marker)
        await self.emit(f"{self.target.names['widget']}.send_message", payload)
        return marker


class RxAgent(RxTab):
    """One agent's console tab: hears shoppers through the inbox, opens a conversation to answer it."""

    def __init__(self, target: "RxTarget", index: int, count: int, token: str):
        super().__init__(target, "/agent", storage={f"{target.names['auth']}.auth_token_rx_state_": token})
        self.index, self.count = index, count
        self.selected = ""
        self.queue: asyncio.Queue = asyncio.Queue()
        self.answered: set[str] = set()
        self.worker: asyncio.Task | None = None

    def on_delta(self, delta: dict) -> None:
        names, recorder = self.target.names, self.target.recorder
        if (console := delta.get(names["console"])) and "selected_rx_state_" in console:
            self.selected = console["selected_rx_state_"]
        if room := delta.get(names["room"]):
            recorder.arrived(json.dumps(room), self)
        if inbox := delta.get(names["inbox"]):
            recorder.arrived(json.dumps(inbox), self)
            for row in inbox.get("open_rows_rx_state_") or []:
                conversation = row.get("conversation", "")
                if zlib.crc32(conversation.encode()) % self.count != self.index:
                    continue  # another agent's conversation
                for marker in MARK.findall(row.get("last_message", "")):
                    sent = recorder.sent.get(marker)
                    if sent is not None and sent.author == "shopper" and marker not in self.answered:
                        self.answered.add(marker)
                        self.queue.put_nowait(conversation)

    async def open(self) -> None:
        await self.connect()
        self.worker = asyncio.ensure_future(self._answer())

    async def _answer(self) -> None:
        console = self.target.names["console"]
        while True:
            conversation = await self.queue.get()
            try:
                if self.selected != conversation:
                    await self.emit(f"{console}.open_conversation", {"conversation": conversation})
                    await self.wait(lambda c=conversation: self.selected == c)
                marker = self.target.recorder.new_marker(self, "agent")
                payload = {"form_data": {"reply": f"answer {marker} in stock"}}
                self.target.recorder.restamp(marker)
                await self.emit(f"{console}.send_reply", payload)
            except Exception:  # a slow open: the next message of that conversation is answered instead
                pass

    async def close(self) -> None:
        if self.worker:
            self.worker.cancel()
        await super().close()


async def rx_sign_in(target: "RxTarget", email: str, password: str) -> str:
    auth = target.names["auth"]
    login = RxTab(target, "/agent/login")
    token = ""

    def on_delta(delta: dict) -> None:
        nonlocal token
        token = (delta.get(auth) or {}).get("auth_token_rx_state_") or token

    login.on_delta = on_delta  # type: ignore[method-assign]
    await login.connect()
    await login.emit(f"{auth}.login", {"form_data": {"email": email, "password": password}})
    await login.wait(lambda: bool(token))
    await login.close()
    return token


class Target:
    """What a scenario drives: shoppers and agents of one system, its server process for CPU and memory."""

    name = ""
    recorder: Recorder

    def __init__(self, url: str, local_addresses: int = 4) -> None:
        self.url = url.rstrip("/")
        self.recorder = Recorder()
        self.local_addresses = local_addresses
        self._sessions: list = []
        self._next = 0

    def session(self):
        """An HTTP session from one of several loopback source addresses (per-address limits, ports)."""
        import aiohttp

        if not self._sessions:
            for n in range(self.local_addresses):
                connector = aiohttp.TCPConnector(limit=0, local_addr=(f"127.0.0.{n + 1}", 0))
                self._sessions.append(aiohttp.ClientSession(connector=connector))
        self._next += 1
        return self._sessions[self._next % len(self._sessions)]

    async def aclose(self) -> None:
        for s in self._sessions:
            await s.close()
        self._sessions = []


class RxTarget(Target):
    name = "rxchat"

    def __init__(
        self, url: str, schema: str | None, agents: list[tuple[str, str]], names: dict[str, str] | None = None, **kwargs
    ) -> None:
        super().__init__(url, **kwargs)
        self.schema = schema
        self.names = names or state_names()
        self.agent_logins = agents
        self.tokens: dict[str, str] = {}

    def shopper(self, product: str) -> RxShopper:
        return RxShopper(self, product)

    async def agent(self, index: int, count: int):
        email, password = self.agent_logins[index % len(self.agent_logins)]
        if email not in self.tokens:
            self.tokens[email] = await rx_sign_in(self, email, password)
        agent = RxAgent(self, index, count, self.tokens[email])
        await agent.open()
        return agent


# --- the baseline relay: a plain websocket per tab ------------------------------------------------------------------


class RelayTab:
    def __init__(self, target: "RelayTarget", path: str) -> None:
        self.target, self.path = target, path
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.ready = asyncio.Event()
        self.got_reply = asyncio.Event()

    async def _read(self) -> None:
        import aiohttp

        assert self.ws is not None
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            self.on_text(frame.data)

    def on_text(self, text: str) -> None:
        pass

    async def connect(self) -> None:
        connecting = self.target.session().ws_connect(f"{self.target.url}{self.path}")
        self.ws = await asyncio.wait_for(connecting, TIMEOUT_SECS)
        self.reader = asyncio.ensure_future(self._read())

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        with contextlib.suppress(Exception):
            if self.ws is not None:
                await self.ws.close()


class RelayShopper(RelayTab):
    def __init__(self, target: "RelayTarget", product: str) -> None:
        super().__init__(target, f"/ws/shopper?product={product}")

    def on_text(self, text: str) -> None:
        if '"ready"' in text and not self.ready.is_set():
            self.ready.set()
        self.target.recorder.arrived(text, self)

    async def open(self) -> float:
        started = time.perf_counter()
        await self.connect()
        await asyncio.wait_for(self.ready.wait(), TIMEOUT_SECS)
        return (time.perf_counter() - started) * 1000

    async def send(self) -> str:
        assert self.ws is not None
        marker = self.target.recorder.new_marker(self, "shopper")
        text = json.dumps({"type": "message", "body": f"question {marker} about the size"})
        self.target.recorder.restamp(marker)
        await self.ws.send_str(text)
        return marker


class RelayAgent(RelayTab):
    def __init__(self, target: "RelayTarget", index: int, count: int) -> None:
        super().__init__(target, f"/ws/agent?token={target.agent_token}")
        self.index, self.count = index, count
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker: asyncio.Task | None = None

    def on_text(self, text: str) -> None:
        recorder = self.target.recorder
        for marker in recorder.arrived(text, self):
            sent = recorder.sent[marker]
            if sent.author != "shopper":
                continue
            conversation = json.loads(text).get("conversation", "")
            if zlib.crc32(conversation.encode()) % self.count == self.index:
                self.queue.put_nowait(conversation)

    async def open(self) -> None:
        await self.connect()
        self.worker = asyncio.ensure_future(self._answer())

    async def _answer(self) -> None:
        while True:
            conversation = await self.queue.get()
            assert self.ws is not None
            marker = self.target.recorder.new_marker(self, "agent")
            text = json.dumps({"type": "reply", "conversation": conversation, "body": f"answer {marker} in stock"})
            self.target.recorder.restamp(marker)
            with contextlib.suppress(Exception):
                await self.ws.send_str(text)

    async def close(self) -> None:
        if self.worker:
            self.worker.cancel()
        await super().close()


class RelayTarget(Target):
    name = "baseline"

    def __init__(self, url: str, agent_token: str, **kwargs) -> None:
        super().__init__(url.replace("http://", "ws://"), **kwargs)
        self.agent_token = agent_token

    def shopper(self, product: str) -> RelayShopper:
        return RelayShopper(self, product)

    async def agent(self, index: int, count: int):
        agent = RelayAgent(self, index, count)
        await agent.open()
        return agent


# --- load shapes ------------------------------------------------------------------------------------------------------


async def open_all(tabs: list, batch: int = 50) -> tuple[list[float], int]:
    """Open tabs `batch` at a time; the ms each took until live, and how many failed."""
    times, failures = [], 0
    for first in range(0, len(tabs), batch):
        results = await asyncio.gather(*(t.open() for t in tabs[first : first + batch]), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                failures += 1
            else:
                times.append(result)
    return times, failures


@dataclass
class Crowd:
    """The shoppers and agents connected so far: a capacity run grows it step by step."""

    target: Target
    product: str
    shoppers: list = field(default_factory=list)
    active: list = field(default_factory=list)
    agents: list = field(default_factory=list)
    failures: int = 0

    async def add_agents(self, count: int) -> None:
        # Every agent is told the final count up front, so conversations split among them the same way.
        for index in range(len(self.agents), count):
            self.agents.append(await self.target.agent(index, count))

    async def grow(self, shoppers: int, active: int) -> list[float]:
        new = [self.target.shopper(self.product) for _ in range(shoppers - len(self.shoppers))]
        times, failures = await open_all(new)
        self.failures += failures
        self.shoppers += new
        idle = [s for s in self.shoppers if s not in self.active]
        starting = idle[: max(0, active - len(self.active))]
        # A first message starts each new conversation (not measured): the steady state is what counts.
        for shopper in starting:
            shopper.got_reply.clear()
        await asyncio.gather(*(s.send() for s in starting), return_exceptions=True)
        await asyncio.gather(
            *(asyncio.wait_for(s.got_reply.wait(), TIMEOUT_SECS) for s in starting), return_exceptions=True
        )
        self.active += starting
        return times

    async def converse(self, seconds: float, every: float = 5.0) -> dict:
        """Each active shopper sends one message every `every` s (random phase), agents answer each."""
        recorder = self.target.recorder

        async def talk(shopper) -> None:
            await asyncio.sleep(random.uniform(0, every))
            deadline = time.perf_counter() + seconds - every / 2
            while time.perf_counter() < deadline:
                with contextlib.suppress(Exception):
                    await shopper.send()
                await asyncio.sleep(every)

        recorder.start_window()
        started = time.perf_counter()
        await asyncio.gather(*(talk(s) for s in self.active))
        await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - started)))
        recorder.stop_window()
        await recorder.settle(3.0)  # in-flight deliveries arrive
        return recorder.report()

    async def close(self) -> None:
        await asyncio.gather(*(t.close() for t in self.shoppers + self.agents), return_exceptions=True)
        self.shoppers, self.active, self.agents = [], [], []


async def one_conversation(target: Target, product: str, messages: int, meter=None, gap: float = 0.1) -> dict:
    """One shopper and one agent taking turns: the shopper writes, the agent answers, the shopper reads."""
    crowd = Crowd(target, product)
    await crowd.add_agents(1)
    await crowd.grow(1, 1)
    shopper = crowd.active[0]
    target.recorder.start_window()
    started = time.perf_counter()
    with meter or contextlib.nullcontext():  # the server's CPU over the conversation itself
        for _ in range(messages):
            shopper.got_reply.clear()
            await shopper.send()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(shopper.got_reply.wait(), TIMEOUT_SECS)
            await asyncio.sleep(gap)
    target.recorder.stop_window()
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1)
    report = target.recorder.report()
    report["seconds"] = round(elapsed, 2)
    await crowd.close()
    return report


async def page_views(target: Target, product: str, rate: float, seconds: float, browse: float) -> dict:
    """Shoppers arrive at `rate` per second, load a product page, browse `browse` s and leave."""
    live: list[float] = []
    failures = 0

    async def visit() -> None:
        nonlocal failures
        tab = target.shopper(product)
        try:
            live.append(await tab.open())
            await asyncio.sleep(browse)
        except Exception:
            failures += 1
        finally:
            await tab.close()

    visits = []
    started = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        visits.append(asyncio.ensure_future(visit()))
    await asyncio.gather(*visits)
    return {"rate": rate, "views": len(visits), "failed": failures, **percentiles(live)}
