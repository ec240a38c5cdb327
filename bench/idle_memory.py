"""Server memory per idle chat widget: connect a few hundred raw Socket.IO clients and read the server's RSS.

Starts the app as in production (a private copy, its own SQLite database,
`reflex run --env prod`), then connects `--clients` python-socketio clients the
way a shopper's browser does on a product page: websocket transport only, at
`/_event/?token=<uuid>`, with the `hydrate_and_load` event for
/products/<id> and the built app's state schema in the CONNECT packet's auth.
Each client waits until it is hydrated (`is_hydrated` true), sends the widget's
own page load (`load_widget`, what the widget's load marker sends) and waits for
its answer, then stays connected and idle. The RSS of the server's whole process tree (the
`reflex run` process and its workers, psutil) is read before and after.

Loopback only; every wait is bounded; it disconnects everything and stops the
server by itself. Run: `python bench/idle_memory.py` (`--clients 50` for a quick look).
"""

import argparse
import asyncio
import re
import sys
import time
import uuid
from pathlib import Path

from _serve import PRODUCT, served_app

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
WIDGET_STATE = f"{ROOT_STATE}.rxchat___states___widget____chat_widget_state"
CONNECT_TIMEOUT_SECS = 20
HYDRATE_TIMEOUT_SECS = 30


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Connect idle widget clients over Socket.IO and report the server's RSS per client."
    )
    parser.add_argument("--clients", type=int, default=300, help="idle clients to connect (default 300)")
    parser.add_argument("--batch", type=int, default=25, help="clients connecting at once (default 25)")
    parser.add_argument(
        "--settle-secs", type=float, default=5.0, help="wait after connecting before reading RSS again (default 5)"
    )
    parser.add_argument("--product", default=PRODUCT, help=f"product page the clients load (default {PRODUCT})")
    parser.add_argument("--url", help="measure this running server instead of starting one (needs --pid)")
    parser.add_argument("--pid", type=int, help="pid of the running server's top process (with --url)")
    parser.add_argument("--app-root", help="that server's app directory, to read the state schema (with --url)")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="hydrate only, no widget load: for another Reflex app, such as bench/minimal_reflex (with --url)",
    )
    return parser.parse_args(argv)


def tree_rss(pid: int) -> tuple[int, int]:
    """Bytes of RSS summed over a process and all its descendants, and how many processes."""
    import psutil

    root = psutil.Process(pid)
    total, count = 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
            count += 1
        except psutil.NoSuchProcess:
            pass
    return total, count


def state_schema(app_root: Path | None) -> str | None:
    """The state schema hash the built frontend sends; None (left out) when it cannot be read."""
    if app_root is None:
        return None
    for path in sorted((app_root / ".web" / "utils").glob("context.js*")):
        if match := re.search(r'stateSchema\s*=\s*"([0-9a-f]+)"', path.read_text()):
            return match.group(1)
    return None


class IdleClient:
    def __init__(self, http, url: str, product: str, schema: str | None, plain: bool = False):
        import socketio

        self.sio = socketio.AsyncClient(http_session=http, reconnection=False)
        self.url = url
        self.hydrated = asyncio.Event()
        self.loaded = asyncio.Event()
        self.router_data = {
            "pathname": f"/products/{product}",
            "asPath": f"/products/{product}",
            "query": {"product_id": product},
        }
        self.schema = schema
        self.plain = plain
        self.schema_mismatch = False
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("state_mismatch", self._on_mismatch, namespace=NAMESPACE)

    async def _on_mismatch(self, *_args) -> None:
        self.schema_mismatch = True

    async def _on_event(self, data) -> None:
        delta = (data or {}).get("delta", {})
        if delta.get(ROOT_STATE, {}).get("is_hydrated_rx_state_") is True:
            self.hydrated.set()
        elif self.hydrated.is_set() and WIDGET_STATE in delta:
            self.loaded.set()

    async def connect(self) -> None:
        auth = {"event": {"name": f"{ROOT_STATE}.hydrate_and_load", "payload": {}, "router_data": self.router_data}}
        if self.schema:
            auth["state_schema"] = self.schema
        await self.sio.connect(
            f"{self.url}?token={uuid.uuid4()}",
            transports=["websocket"],
            socketio_path="/_event",
            namespaces=[NAMESPACE],
            auth=auth,
            wait_timeout=CONNECT_TIMEOUT_SECS,
        )
        await asyncio.wait_for(self.hydrated.wait(), HYDRATE_TIMEOUT_SECS)
        if self.plain:
            return
        # The widget's page load, as its load marker sends it once the page is connected.
        load = {"name": f"{WIDGET_STATE}.load_widget", "payload": {"product_id": ""}, "router_data": self.router_data}
        await self.sio.emit("event", load, namespace=NAMESPACE)
        await asyncio.wait_for(self.loaded.wait(), HYDRATE_TIMEOUT_SECS)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def run(url: str, pid: int, schema: str | None, args: argparse.Namespace) -> None:
    import aiohttp

    kib = 1024
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        # Warm-up: the first page load imports and builds what every later one reuses.
        warm = IdleClient(http, url, args.product, schema, args.plain)
        await warm.connect()
        await warm.close()
        await asyncio.sleep(2)
        before, processes = tree_rss(pid)
        print(f"server process tree: {processes} processes, RSS before {before / kib / kib:.1f} MiB")

        clients: list[IdleClient] = []
        failures = 0
        started = time.perf_counter()
        try:
            for first in range(0, args.clients, args.batch):
                batch = [
                    IdleClient(http, url, args.product, schema, args.plain)
                    for _ in range(min(args.batch, args.clients - first))
                ]
                results = await asyncio.gather(*(c.connect() for c in batch), return_exceptions=True)
                for client, result in zip(batch, results, strict=True):
                    if isinstance(result, BaseException):
                        failures += 1
                        print(f"  a client failed: {type(result).__name__}: {result}", file=sys.stderr)
                    clients.append(client)
            connected = sum(1 for c in clients if c.sio.connected and c.hydrated.is_set())
            if mismatched := sum(c.schema_mismatch for c in clients):
                print(
                    f"  {mismatched} clients were told their state schema is stale (a browser would reload)",
                    file=sys.stderr,
                )
            elapsed = time.perf_counter() - started
            print(
                f"connected and hydrated {connected}/{args.clients} idle widget clients in {elapsed:.1f} s "
                f"({failures} failed)"
            )
            await asyncio.sleep(args.settle_secs)
            after, processes = tree_rss(pid)
            grown = after - before
            print(
                f"RSS with {connected} idle clients: {after / kib / kib:.1f} MiB "
                f"(+{grown / kib / kib:.1f} MiB, {processes} processes)"
            )
            if connected:
                print(f"per idle client: {grown / connected / kib:.1f} KiB")
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await asyncio.sleep(args.settle_secs)
        released, _ = tree_rss(pid)
        print(
            f"RSS {args.settle_secs:g} s after they all disconnected: {released / kib / kib:.1f} MiB "
            f"(+{(released - before) / kib / kib:.1f} MiB over the start)"
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.clients < 1 or args.batch < 1:
        print("--clients and --batch must be at least 1", file=sys.stderr)
        return 2
    if args.url:
        if not args.pid:
            print("--url needs --pid (the server's top process)", file=sys.stderr)
            return 2
        schema = state_schema(Path(args.app_root) if args.app_root else None)
        asyncio.run(run(args.url.rstrip("/") + "/", args.pid, schema, args))
        return 0
    with served_app(with_agent=False) as server:
        schema = state_schema(server.app_root)
        print(f"state schema sent: {schema or '(none: not found in the build)'}")
        asyncio.run(run(server.url + "/", server.process.pid, schema, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
