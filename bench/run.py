"""Every capacity scenario against rxchat and, in the same run, the plain relay (bench/baseline/).

`python bench/run.py` (make bench) or `python bench/run.py --quick` (make bench-quick, small sizes, under
5 minutes). Starts the servers itself (rxchat as in production on its own SQLite database, the relay
under uvicorn on another migrated copy of the same tables), drives them with bench/loadclient.py, prints
the figures, writes bench/results/latest.json (shape: CONTRACT.md, "Benchmarks") and the charts
bench/results/capacity_p99.png and capacity_cpu.png. Server CPU and memory are read from each server's
process tree (psutil), never the client's; the client's own CPU is printed beside it.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

import loadclient  # noqa: E402
import psutil  # noqa: E402
from _serve import AGENT, BENCH_SETTINGS, PRODUCT  # noqa: E402
from idle_memory import state_schema  # noqa: E402

from server import AppServer, base_env, free_port  # noqa: E402

RESULTS = HERE / "results"
CROWD_ARRIVALS_PER_S, CROWD_ARRIVAL_SECS = 10, 20  # crowd: new page views while the crowd stays connected
SIZES = {
    "quick": {
        "messages": 20,
        "steps": [50, 100],
        "seconds": 10,
        "idle": 100,
        "rates": [5, 10, 20],
        "rate_secs": 4,
        "browse": 2,
        "page_loads": 3,
        "crowd": 300,
        "crowd_secs": 5,
        "scaling": False,
    },
    "full": {
        "messages": 100,
        "steps": [100, 250, 500, 1000, 2000],
        "seconds": 30,
        "idle": 500,
        "rates": [5, 10, 20, 40, 80, 160],
        "rate_secs": 10,
        "browse": 3,
        "page_loads": 6,
        "crowd": 5000,
        "crowd_secs": CROWD_ARRIVAL_SECS,
        "scaling": True,
    },
}
ACTIVE_SHARE = 0.1  # shoppers in conversations
EVERY_SECS = 5.0  # each active shopper writes this often; an agent answers every message
LIVE_P99_LIMIT_MS = 1000  # page_views: the rate a worker takes before the widget's live p99 passes this
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/9"


class Source:
    """The committed tree that is measured (`--rev`, default HEAD), unpacked once: every server, the
    operator commands and the in-process history run from it, so edits not yet committed in the checkout
    never reach the figures and `commit` in the JSON names exactly what ran."""

    def __init__(self, rev: str, workdir: Path) -> None:
        self.rev = subprocess.run(
            ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        self.root = workdir / "source"
        self.root.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", self.rev], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(self.root)], input=archive.stdout, check=True)

    def env(self, **overrides: str) -> dict[str, str]:
        env = base_env(**overrides)
        env["PYTHONPATH"] = str(self.root)  # this tree's rxchat, not the checkout's editable install
        return env

    def cli(self, *args: str, env: dict[str, str], stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "rxchat", *args], cwd=self.root, env=env, capture_output=True, text=True,
            timeout=300, input=stdin,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"rxchat {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def copy(self, destination: Path) -> Path:
        shutil.copytree(self.root, destination)
        return destination

    def state_names(self) -> dict[str, str]:
        code = "import json, loadclient; print(json.dumps(loadclient.state_names()))"
        env = self.env(REFLEX_DB_URL="sqlite:///:memory:", PYTHONPATH=f"{self.root}{os.pathsep}{HERE}")
        env["PYTHONPATH"] = f"{self.root}{os.pathsep}{HERE}"
        out = subprocess.run([sys.executable, "-c", code], cwd=self.root, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"reading the state names failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


class Tree:
    """A server's process tree: CPU seconds and RSS summed over the process and its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def processes(self) -> list:
        return [self.root, *self.root.children(recursive=True)]

    def cpu(self) -> float:
        total = 0.0
        for p in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss_mib(self) -> float:
        total = 0
        for p in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 1024 / 1024


class Meter:
    """Server and client CPU over a stretch of wall time."""

    def __init__(self, tree: Tree) -> None:
        self.tree, self.me = tree, psutil.Process()

    def __enter__(self):
        self.wall, self.server, self.client = time.perf_counter(), self.tree.cpu(), sum(self.me.cpu_times()[:2])
        return self

    def __exit__(self, *_):
        self.wall = time.perf_counter() - self.wall
        self.server = self.tree.cpu() - self.server
        self.client = sum(self.me.cpu_times()[:2]) - self.client

    def pct(self, cpu: float) -> float:
        return round(100 * cpu / self.wall, 1) if self.wall else 0.0


# --- profiler --------------------------------------------------------------------------------------------------------

BUCKETS = (  # where a sampled leaf frame's file lives -> what it is spent on
    ("database", ("sqlalchemy", "aiosqlite", "asyncpg", "sqlite3", "sqlmodel", "psycopg")),
    ("reflex", ("/reflex/", "/reflex_base/")),
    ("rxchat", ("/rxchat/",)),
    ("socket transport", ("socketio", "engineio", "granian", "uvicorn", "websockets", "starlette", "fastapi")),
    ("serialization", ("/json/", "orjson", "pickle", "/copy.py", "pydantic")),
    ("asyncio", ("/asyncio/",)),
)


# Leaf frames of a thread that waits: the event loop in select, a database or executor thread for work.
IDLE = ("selectors.py", "aiosqlite/core.py:59)", "threading.py", "concurrent/futures/thread.py", "queue.py")
# Samples whose stack passes through these, wherever the leaf is (shares overlap).
INCLUSIVE = {
    "rxchat code": ("/rxchat/",),
    "reflex state and events": ("/reflex/state.py", "/reflex/app.py", "/reflex_base/", "/reflex/istate/"),
    "database (sqlalchemy, driver)": ("sqlalchemy", "aiosqlite", "asyncpg"),
    "socket.io emit/receive": ("socketio", "engineio"),
}


class Profile:
    """py-spy sampling the server's process tree while a step runs; self time per package of the leaf frame."""

    def __init__(self, pid: int, seconds: float, path: Path) -> None:
        self.path = path
        py_spy = Path(sys.executable).parent / "py-spy"
        self.process = subprocess.Popen(
            # Non-blocking: the server is never paused. Idle waits are left out below (IDLE), not by py-spy.
            [str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--full-filenames",
             "--duration",
             str(int(seconds)), "--rate", "100", "--format", "raw", "--output", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def summary(self) -> dict:
        try:
            _, err = self.process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return {"error": "py-spy did not finish"}
        if not self.path.exists():
            return {"error": (err or "no output")[-500:]}
        buckets: dict[str, int] = {}
        functions: dict[str, int] = {}
        inclusive = dict.fromkeys(INCLUSIVE, 0)
        callers: dict[str, int] = {}  # rxchat and Reflex functions on the stack (each once per sample)
        total = 0
        for line in self.path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            leaf = stack.rsplit(";", 1)[-1]
            if "(" not in leaf or any(mark in leaf for mark in IDLE):  # waiting, not working
                continue
            n = int(count)
            total += n
            for name, marks in INCLUSIVE.items():
                if any(m in stack for m in marks):
                    inclusive[name] += n
            on_stack = set()
            for frame in stack.split(";"):
                function, _, where = frame.partition(" (")
                for mark in ("/rxchat/", "/reflex/", "/reflex_base/"):
                    if mark in where:
                        on_stack.add(f"{function} ({mark.strip('/')}/{where.split(mark, 1)[1].split(':')[0]})")
            for key in on_stack:
                callers[key] = callers.get(key, 0) + n
            bucket = next((name for name, marks in BUCKETS if any(m in leaf for m in marks)), "other")
            buckets[bucket] = buckets.get(bucket, 0) + n
            name = leaf.split(" (")[0] + " (" + leaf.rsplit("/", 1)[-1]
            functions[name] = functions.get(name, 0) + n
        top = sorted(functions.items(), key=lambda kv: -kv[1])[:15]
        return {
            "samples": total,
            "self_share_by_package": {
                k: round(v / max(1, total), 3) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])
            },
            "inclusive_share": {k: round(v / max(1, total), 3) for k, v in inclusive.items()},
            "top_inclusive": [
                {"function": k, "share": round(v / max(1, total), 3)}
                for k, v in sorted(callers.items(), key=lambda kv: -kv[1])[:25]
            ],
            "top_self": [{"function": k, "share": round(v / max(1, total), 3)} for k, v in top],
        }


# --- servers ---------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def rxchat_server(source: Source, workdir: Path, **settings: str):
    env = source.env(REFLEX_DB_URL=settings.pop("db_url", f"sqlite:///{workdir / 'rxchat.db'}"), **BENCH_SETTINGS)
    env.update(settings)
    source.cli("migrate", env=env)
    source.cli("seed-demo", env=env)
    source.cli(
        "create-agent", "--email", AGENT["email"], "--name", AGENT["name"], "--password-stdin",
        env=env, stdin=AGENT["password"] + "\n",
    )  # fmt: skip
    print(f"building and starting rxchat (prod) in {workdir} …", flush=True)
    server = AppServer(workdir, env, app_root=source.copy(workdir / "app")).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def relay_server(source: Source, workdir: Path):
    db_path = workdir / "relay.db"
    env = source.env(REFLEX_DB_URL=f"sqlite:///{db_path}")
    source.cli("migrate", env=env)
    source.cli("seed-demo", env=env)
    port, token = free_port(), secrets.token_urlsafe(16)
    env.update(RELAY_DB=str(db_path), RELAY_AGENT_TOKEN=token)
    log = open(workdir / "relay.log", "a")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE / "baseline"), "relay:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(100):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{url}/bench/baseline/relay.html", timeout=1)
            break
        time.sleep(0.2)
    try:
        yield url, token, process.pid
    finally:
        process.terminate()
        process.wait(10)


# --- scenarios -------------------------------------------------------------------------------------------------------


def agents_for(active: int) -> int:
    return max(1, min(8, math.ceil(active / 25)))


async def capacity(
    make_target,
    tree: Tree,
    steps: list[int],
    seconds: float,
    stop_p99_ms: float = 2000,
    every: float = EVERY_SECS,
    profile_dir: Path | None = None,
) -> dict:
    target = make_target()
    crowd = loadclient.Crowd(target, PRODUCT)
    await crowd.add_agents(agents_for(int(max(steps) * ACTIVE_SHARE)))
    results = []
    try:
        for shoppers in steps:
            active = int(shoppers * ACTIVE_SHARE)
            live = await crowd.grow(shoppers, active)
            rss_connected = tree.rss_mib()
            profile = None
            if profile_dir is not None:  # sample the server while this step converses
                profile = Profile(tree.root.pid, seconds, profile_dir / f"{target.name}-{shoppers}.txt")
            with Meter(tree) as meter:
                report = await crowd.converse(seconds, every)
            page = report["shopper_page"]
            step = {
                "shoppers": len(crowd.shoppers),
                "active": len(crowd.active),
                "agents": len(crowd.agents),
                "p50_ms": page["p50_ms"],
                "p90_ms": page["p90_ms"],
                "p99_ms": page["p99_ms"],
                "max_ms": page["max_ms"],
                "messages": report["messages"],
                "undelivered": report["undelivered"],
                "throughput_msgs_per_s": round(report["messages"] / seconds, 1),
                "server_cpu_pct": meter.pct(meter.server),
                "server_cpu_ms_per_message": round(1000 * meter.server / max(1, report["messages"]), 2),
                "client_cpu_pct": meter.pct(meter.client),
                "rss_mib": round(tree.rss_mib(), 1),
                "rss_connected_mib": round(rss_connected, 1),
                "connect_failures": crowd.failures,
                "widget_live": loadclient.percentiles(live),
                "echo": report["echo"],
                "agent_to_shopper": report["agent_to_shopper"],
                "shopper_to_agent": report["shopper_to_agent"],
            }
            if profile is not None:
                step["profile"] = await asyncio.to_thread(profile.summary)
            results.append(step)
            print(
                f"  {target.name:8} {step['shoppers']:5} shoppers {step['active']:4} active: p50 {step['p50_ms']} "
                f"p90 {step['p90_ms']} p99 {step['p99_ms']} max {step['max_ms']} ms, {step['messages']} msgs "
                f"({step['undelivered']} undelivered), {step['throughput_msgs_per_s']}/s, server CPU "
                f"{step['server_cpu_pct']}% ({step['server_cpu_ms_per_message']} ms/msg), client CPU "
                f"{step['client_cpu_pct']}%, RSS {step['rss_mib']} MiB; to agent p99 "
                f"{report['shopper_to_agent']['p99_ms']} ms",
                flush=True,
            )
            broken = step["p99_ms"] is None or step["p99_ms"] > stop_p99_ms
            if broken or step["undelivered"] > 0.1 * max(1, step["messages"]) or crowd.failures > 0.1 * shoppers:
                print(f"  {target.name}: stopping at {shoppers} (it no longer holds)", flush=True)
                break
    finally:
        await crowd.close()
        await target.aclose()
    holds = [s["shoppers"] for s in results if s["p99_ms"] is not None and s["p99_ms"] < 100 and not s["undelivered"]]
    return {"steps": results, "max_shoppers_p99_under_100ms": max(holds) if holds else 0}


async def one_conversation(make_target, tree: Tree, messages: int) -> dict:
    target = make_target()
    try:
        meter = Meter(tree)  # entered for the conversation itself, after the tabs are open and signed in
        report = await loadclient.one_conversation(target, PRODUCT, messages, meter)
    finally:
        await target.aclose()
    both = report["agent_to_shopper"], report["shopper_to_agent"]
    delivered = [v for v in both if v["p50_ms"] is not None]
    result = {
        "p50_ms": max(v["p50_ms"] for v in delivered) if delivered else None,
        "p99_ms": max(v["p99_ms"] for v in delivered) if delivered else None,
        "server_cpu_ms_per_message": round(1000 * meter.server / max(1, report["messages"]), 2),
        "messages": report["messages"],
        "undelivered": report["undelivered"],
        "agent_to_shopper": report["agent_to_shopper"],
        "shopper_to_agent": report["shopper_to_agent"],
        "echo": report["echo"],
    }
    print(
        f"  {target.name:8} one conversation: {report['messages']} msgs, to shopper p50/p99 "
        f"{report['agent_to_shopper']['p50_ms']}/{report['agent_to_shopper']['p99_ms']} ms, to agent p50/p99 "
        f"{report['shopper_to_agent']['p50_ms']}/{report['shopper_to_agent']['p99_ms']} ms, server CPU "
        f"{result['server_cpu_ms_per_message']} ms/msg",
        flush=True,
    )
    return result


async def idle_memory(make_target, tree: Tree, count: int) -> dict:
    target = make_target()
    warm = [target.shopper(PRODUCT) for _ in range(5)]
    await loadclient.open_all(warm)
    await asyncio.gather(*(t.close() for t in warm))
    await asyncio.sleep(2)
    before = tree.rss_mib()
    tabs = [target.shopper(PRODUCT) for _ in range(count)]
    _, failures = await loadclient.open_all(tabs)
    await asyncio.sleep(3)
    after = tree.rss_mib()
    await asyncio.gather(*(t.close() for t in tabs))
    await target.aclose()
    connected = count - failures
    result = {
        "shoppers": connected,
        "rss_before_mib": round(before, 1),
        "rss_after_mib": round(after, 1),
        "kib_per_shopper": round((after - before) * 1024 / max(1, connected), 1),
    }
    print(f"  {target.name:8} idle memory: {connected} shoppers, {result['kib_per_shopper']} KiB each", flush=True)
    return result


async def page_views(
    make_target, tree: Tree, rates: list[int], seconds: float, browse: float, profile_dir: Path | None = None
) -> dict:
    target = make_target()
    steps = []
    try:
        for rate in rates:
            profile = None
            if profile_dir is not None:
                profile = Profile(tree.root.pid, seconds, profile_dir / f"{target.name}-views-{rate}.txt")
            with Meter(tree) as meter:
                step = await loadclient.page_views(target, PRODUCT, rate, seconds, browse)
            if profile is not None:
                step["profile"] = await asyncio.to_thread(profile.summary)
            step["server_cpu_pct"] = meter.pct(meter.server)
            step["client_cpu_pct"] = meter.pct(meter.client)
            steps.append(step)
            print(
                f"  {target.name:8} {rate:4}/s page views: widget live p50 {step['p50_ms']} p99 {step['p99_ms']} ms, "
                f"{step['failed']} failed, server CPU {step['server_cpu_pct']}%, client CPU {step['client_cpu_pct']}%",
                flush=True,
            )
            if step["p99_ms"] is None or step["p99_ms"] > LIVE_P99_LIMIT_MS or step["failed"] > 0.05 * step["views"]:
                break
            await asyncio.sleep(browse + 1)
    finally:
        await target.aclose()
    held = [
        s["rate"] for s in steps if s["p99_ms"] is not None and s["p99_ms"] <= LIVE_P99_LIMIT_MS and not s["failed"]
    ]
    return {"steps": steps, "max_views_per_s_live_p99_under_1s": max(held) if held else 0}


async def crowd(
    make_target, tree: Tree, count: int, arrival_secs: float = CROWD_ARRIVAL_SECS, browse: float = 3.0
) -> dict:
    """`count` shoppers connect (product page hydrated, widget closed) and stay; meanwhile new shoppers arrive
    at CROWD_ARRIVALS_PER_S: how fast their widget is live, and the worker's memory with all of them."""
    target = make_target()
    tabs = [target.shopper(PRODUCT) for _ in range(count)]
    try:
        before = tree.rss_mib()
        _, failures = await loadclient.open_all(tabs)
        await asyncio.sleep(3)
        connected_rss = tree.rss_mib()
        with Meter(tree) as meter:
            arrivals = await loadclient.page_views(target, PRODUCT, CROWD_ARRIVALS_PER_S, arrival_secs, browse)
        result = {
            "shoppers": count - failures,
            "connect_failures": failures,
            "rss_before_mib": round(before, 1),
            "rss_mib": round(max(connected_rss, tree.rss_mib()), 1),
            "arrivals_per_s": CROWD_ARRIVALS_PER_S,
            "widget_live_p50_ms": arrivals["p50_ms"],
            "widget_live_p99_ms": arrivals["p99_ms"],
            "arrivals_failed": arrivals["failed"],
            "server_cpu_pct": meter.pct(meter.server),
        }
    finally:
        await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)
        await target.aclose()
    print(
        f"  {target.name:8} crowd: {result['shoppers']} connected ({failures} failed), RSS {result['rss_mib']} MiB; "
        f"new pages at {CROWD_ARRIVALS_PER_S}/s: widget live p50 {result['widget_live_p50_ms']} p99 "
        f"{result['widget_live_p99_ms']} ms ({result['arrivals_failed']} failed), "
        f"server CPU {result['server_cpu_pct']}%",
        flush=True,
    )
    return result


def history(source: Source, workdir: Path) -> dict:
    env = source.env(REFLEX_DB_URL=f"sqlite:///{workdir / 'history.db'}")
    source.cli("migrate", env=env)
    out = subprocess.run(
        [sys.executable, str(HERE / "history.py")], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    for side in ("rxchat", "baseline"):
        r = result[side]
        print(f"  {side:8} history: first page {r['first_page_ms']} ms, {r['pages']} pages back in "
              f"{r['paging_back_total_ms']} ms; plan: {result['query_plan']}", flush=True)  # fmt: skip
    return result


async def page(url: str, usable_selector: str, loads: int) -> dict:
    """Compressed bytes of the page and its scripts, and ms from navigation until the widget takes a click."""
    import gzip

    from playwright.async_api import async_playwright

    import browser  # tests/browser.py: the machine's Chromium for Playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=browser.executable_path(), args=browser.LAUNCH_ARGS)
        sizes: dict[str, int] = {}
        encodings: set[str] = set()
        times = []
        for n in range(loads + 1):  # the first load warms the server; each load has a fresh browser cache
            context = await chromium.new_context()
            tab = await context.new_page()
            responses = []
            tab.on("response", lambda response, into=responses: into.append(response))
            started = time.perf_counter()
            await tab.goto(url)
            await tab.wait_for_selector(f"{usable_selector}:not([disabled])", timeout=30000)
            elapsed = (time.perf_counter() - started) * 1000
            if n:
                times.append(elapsed)
            if n == loads:
                for response in responses:
                    kind = response.request.resource_type
                    if kind in ("document", "script", "stylesheet"):
                        with contextlib.suppress(Exception):
                            body = await response.body()
                            sizes[kind] = sizes.get(kind, 0) + len(gzip.compress(body, 6))
                            encodings.add(response.headers.get("content-encoding", "identity"))
            await context.close()
        await chromium.close()
    times.sort()
    return {
        "widget_usable_ms": round(times[len(times) // 2], 1),
        "widget_usable_max_ms": round(times[-1], 1),
        "compressed_kib": round((sizes.get("document", 0) + sizes.get("script", 0)) / 1024, 1),
        "stylesheet_compressed_kib": round(sizes.get("stylesheet", 0) / 1024, 1),
        "served_encodings": sorted(encodings),
    }


def chromium_check(url: str) -> dict:
    """The load client's one-conversation figures beside real pages: bench/latency.py on the same server."""
    out = subprocess.run(
        [sys.executable, str(HERE / "latency.py"), "--url", url, "--messages", "40", "--warmup", "3"],
        capture_output=True, text=True, timeout=600, env=base_env(),
    )  # fmt: skip
    lines = [line.rstrip() for line in out.stdout.splitlines() if line.strip()]
    for line in lines:
        print(f"  {line}", flush=True)
    return {"returncode": out.returncode, "output": lines, "stderr_tail": out.stderr[-1000:] if out.returncode else ""}


def ratio(rx: dict, base: dict) -> dict:
    out = {}
    for key, value in rx.items():
        other = base.get(key)
        if isinstance(value, int | float) and isinstance(other, int | float) and other and key != "shoppers":
            out[key] = round(value / other, 2)
    return out


def capacity_ratio(rx: dict, base: dict) -> dict:
    by_size = {s["shoppers"]: s for s in base["steps"]}
    steps = [
        {"shoppers": s["shoppers"], **ratio(s, by_size[s["shoppers"]])} for s in rx["steps"] if s["shoppers"] in by_size
    ]
    return {"steps": steps}


def charts(capacity_result: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    for key, label, name in (
        ("p99_ms", "delivery p99 (ms, log)", "capacity_p99.png"),
        ("server_cpu_pct", "server CPU (% of one core)", "capacity_cpu.png"),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for side, style in (("rxchat", "o-"), ("baseline", "s--")):
            steps = [s for s in capacity_result[side]["steps"] if s.get(key) is not None]
            ax.plot([s["shoppers"] for s in steps], [s[key] for s in steps], style, label=side)
        if key == "p99_ms":
            ax.set_yscale("log")
            ax.axhline(100, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("connected shoppers (10% in conversations, one message per 5 s, answered)")
        ax.set_ylabel(label)
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        made.append(str((out / name).relative_to(ROOT)) if (out / name).is_relative_to(ROOT) else str(out / name))
    return made


def machine() -> dict:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_at_start": [round(x, 2) for x in load],
    }


async def against_both(rx_target, rx_tree, relay_target, relay_tree, scenario, *args) -> dict:
    rx = await scenario(rx_target, rx_tree, *args)
    base = await scenario(relay_target, relay_tree, *args)
    if "steps" in rx and scenario is capacity:
        result = {"rxchat": rx, "baseline": base, "ratio": capacity_ratio(rx, base)}
        for step in result["ratio"]["steps"]:
            p99, cpu, rss = step.get("p99_ms"), step.get("server_cpu_pct"), step.get("rss_mib")
            print(f"  rxchat/baseline at {step['shoppers']}: p99 ×{p99}, CPU ×{cpu}, RSS ×{rss}", flush=True)
        return result
    result = {"rxchat": rx, "baseline": base, "ratio": ratio(rx, base)}
    shown = {k: v for k, v in result["ratio"].items() if k.endswith(("_ms", "_kib", "per_shopper", "per_message"))}
    print(f"  rxchat/baseline: {shown}", flush=True)
    return result


def run(
    mode: str, out: Path, only: set[str] | None, rev: str, steps: list[int] | None, profile: bool, rates=None
) -> dict:
    size = dict(SIZES[mode], **({"steps": steps} if steps else {}), **({"rates": rates} if rates else {}))
    loadclient.raise_open_files()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-bench-"))
    source = Source(rev, workdir)
    names = source.state_names()
    result: dict = {"commit": source.rev, "mode": mode, "machine": machine(), "started": started, "scenarios": {}}
    scenarios = result["scenarios"]

    def wanted(name: str) -> bool:
        return only is None or name in only

    try:
        if wanted("history"):
            h = history(source, workdir)
            scenarios["history"] = {"rxchat": h["rxchat"], "baseline": h["baseline"], "query_plan": h["query_plan"],
                                    "messages": h["messages"], "ratio": ratio(h["rxchat"], h["baseline"])}  # fmt: skip
        (workdir / "rx").mkdir()
        (workdir / "relay").mkdir()
        with (
            rxchat_server(source, workdir / "rx") as server,
            relay_server(source, workdir / "relay") as (relay_url, token, relay_pid),
        ):
            rx_url = server.url.replace("localhost", "127.0.0.1")
            schema = state_schema(server.app_root)
            logins = [(AGENT["email"], AGENT["password"])]

            def rx_target():
                return loadclient.RxTarget(rx_url, schema, logins, names)

            def relay_target():
                return loadclient.RelayTarget(relay_url, token)

            assert server.process is not None
            rx_tree, relay_tree = Tree(server.process.pid), Tree(relay_pid)
            both = (rx_target, rx_tree, relay_target, relay_tree)

            async def all_scenarios():
                if wanted("one_conversation"):
                    print("one_conversation", flush=True)
                    scenarios["one_conversation"] = await against_both(*both, one_conversation, size["messages"])
                if wanted("chromium_check") and size["scaling"]:
                    print("chromium_check (bench/latency.py: two headless Chromium pages, same server)", flush=True)
                    scenarios["chromium_check"] = await asyncio.to_thread(chromium_check, rx_url)
                if wanted("idle_memory"):
                    print("idle_memory", flush=True)
                    scenarios["idle_memory"] = await against_both(*both, idle_memory, size["idle"])
                if wanted("capacity"):
                    print("capacity", flush=True)
                    profile_dir = out / "profiles" if profile else None
                    if profile_dir is not None:
                        profile_dir.mkdir(exist_ok=True)
                    scenarios["capacity"] = await against_both(
                        *both, capacity, size["steps"], size["seconds"], 2000, EVERY_SECS, profile_dir
                    )
                if wanted("page_views"):
                    print("page_views", flush=True)
                    profile_dir = out / "profiles" if profile else None
                    if profile_dir is not None:
                        profile_dir.mkdir(exist_ok=True)
                    scenarios["page_views"] = await against_both(
                        *both, page_views, size["rates"], size["rate_secs"], size["browse"], profile_dir
                    )
                if wanted("crowd"):  # after the others: thousands of tabs leave a worker changed for a while
                    print(f"crowd ({size['crowd']} shoppers connected, new pages arriving)", flush=True)
                    scenarios["crowd"] = await against_both(*both, crowd, size["crowd"], size["crowd_secs"])
                if wanted("page"):
                    print("page", flush=True)
                    rx = await page(f"{rx_url}/products/{PRODUCT}", '[data-testid="chat-launcher"]', size["page_loads"])
                    base = await page(f"{relay_url}/bench/baseline/relay.html", "#launcher", size["page_loads"])
                    for side, r in (("rxchat", rx), ("baseline", base)):
                        print(f"  {side:8} page: {r['compressed_kib']} KiB compressed, usable after "
                              f"{r['widget_usable_ms']} ms (median of {size['page_loads']})", flush=True)  # fmt: skip
                    scenarios["page"] = {"rxchat": rx, "baseline": base, "ratio": ratio(rx, base)}

            asyncio.run(all_scenarios())
        if size["scaling"] and wanted("scaling"):
            print("scaling (PostgreSQL + Redis, capacity step 500)", flush=True)
            scenarios["scaling"] = scaling(source, names, workdir, size["seconds"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if "capacity" in scenarios:
        result["charts"] = charts(scenarios["capacity"], out)
    return result


def scaling(source: Source, names: dict[str, str], workdir: Path, seconds: float) -> dict:
    import redis

    sys.path.insert(0, str(ROOT / "tests"))
    from factories import postgres_admin

    out: dict = {"rxchat": {}, "baseline": None, "ratio": {}}
    for workers in (1, 2):
        database = f"rxchat_bench_{secrets.token_hex(4)}"
        postgres_admin(f'CREATE DATABASE "{database}"')
        redis.Redis.from_url(REDIS).flushdb()
        (workdir / f"pg{workers}").mkdir()
        try:
            with rxchat_server(
                source, workdir / f"pg{workers}", db_url=f"{POSTGRES}/{database}", REFLEX_REDIS_URL=REDIS,
                GRANIAN_WORKERS=str(workers),
            ) as server:  # fmt: skip
                assert server.process is not None
                url, schema = server.url.replace("localhost", "127.0.0.1"), state_schema(server.app_root)
                tree = Tree(server.process.pid)
                r = asyncio.run(
                    capacity(
                        lambda url=url, schema=schema: loadclient.RxTarget(
                            url, schema, [(AGENT["email"], AGENT["password"])], names
                        ),
                        tree,
                        [500],
                        seconds,
                    )  # fmt: skip
                )
                out["rxchat"][f"workers_{workers}"] = r["steps"][0] if r["steps"] else None
        finally:
            redis.Redis.from_url(REDIS).flushdb()
            postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    one, two = out["rxchat"].get("workers_1"), out["rxchat"].get("workers_2")
    if one and two:
        out["ratio"] = {"two_workers_over_one": ratio(two, one)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 5 minutes")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    parser.add_argument("--out", default=str(RESULTS), help="where latest.json and the charts go")
    parser.add_argument("--json", help="write the JSON here instead of OUT/latest.json")
    parser.add_argument("--rev", default="HEAD", help="the committed tree to measure (default HEAD)")
    parser.add_argument("--steps", help="capacity steps instead of the mode's, e.g. 1000 or 500,2000")
    parser.add_argument("--rates", help="page_views arrival rates instead of the mode's, e.g. 80,160")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample each capacity step's server with py-spy (adds load: not for the figures)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    started = time.perf_counter()
    steps = [int(n) for n in args.steps.split(",")] if args.steps else None
    rates = [int(n) for n in args.rates.split(",")] if args.rates else None
    result = run("quick" if args.quick else "full", out, only, args.rev, steps, args.profile, rates)
    result["seconds"] = round(time.perf_counter() - started, 1)
    path = Path(args.json) if args.json else out / "latest.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"wrote {path} in {result['seconds']} s; load average at the start {result['machine']['load_average_at_start']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
