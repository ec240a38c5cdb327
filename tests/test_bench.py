"""The capacity benchmark cannot rot silently: its smallest shape, against the served app and the relay.

bench/run.py's own scenario functions run the load client (raw Socket.IO shoppers and a signed-in agent
console against the session's served app; plain websockets against the baseline relay in bench/baseline/)
for a short conversation and a tiny capacity step. The test checks that every message reached both sides
and that the figures have the shape bench/results/latest.json promises (CONTRACT.md, "Benchmarks"). No
timing floor is asserted here: floors are benchmark figures, not timed tests.
"""

import importlib.util
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rawsocket import run_async
from rxchat.testing import create_staff_account
from server import ROOT, base_env, free_port, run_cli

pytestmark = pytest.mark.e2e


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def relay():
    """The baseline relay under uvicorn on its own migrated SQLite file, as bench/run.py starts it."""
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-relay-"))
    env = base_env(REFLEX_DB_URL=f"sqlite:///{workdir / 'relay.db'}")
    run_cli("migrate", env=env)
    run_cli("seed-demo", env=env)
    port, token = free_port(), secrets.token_urlsafe(16)
    env.update(RELAY_DB=str(workdir / "relay.db"), RELAY_AGENT_TOKEN=token)
    app_dir = str(ROOT / "bench" / "baseline")
    command = [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "relay:app", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/bench/baseline/relay.html", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url, token, process.pid
    process.terminate()
    process.wait(10)


def test_the_smallest_load_shape_delivers_every_message_to_both_systems(served_app, relay):
    bench = load_bench()
    staff = create_staff_account(served_app.env, name="Bench Agent")
    relay_url, token, relay_pid = relay
    rx_url = served_app.url.replace("localhost", "127.0.0.1")
    schema = bench.state_schema(served_app.app_root)
    assert served_app.process is not None

    def rx_target():
        return bench.loadclient.RxTarget(rx_url, schema, [(staff.email, staff.password)])

    def relay_target():
        return bench.loadclient.RelayTarget(relay_url, token)

    both = (rx_target, bench.Tree(served_app.process.pid), relay_target, bench.Tree(relay_pid))

    async def scenarios():
        one = await bench.against_both(*both, bench.one_conversation, 3)
        capacity = await bench.against_both(*both, bench.capacity, [10], 2.5, 2000, 1.0)
        crowd = await bench.against_both(*both, bench.crowd, 20, 1.0, 0.5)
        return {"one_conversation": one, "capacity": capacity, "crowd": crowd}

    started = time.perf_counter()
    result = run_async(scenarios())
    took = time.perf_counter() - started

    for side in ("rxchat", "baseline"):
        one = result["one_conversation"][side]
        assert one["messages"] == 6 and one["undelivered"] == 0, (
            f"{side}: a message of the conversation was lost: {one}"
        )
        assert {"p50_ms", "p99_ms", "server_cpu_ms_per_message"} <= one.keys()
        # (CPU is read in clock ticks: a few messages on the relay can read 0)
        assert one["p50_ms"] > 0 and one["server_cpu_ms_per_message"] >= 0, f"{side}: nothing was measured: {one}"
        capacity = result["capacity"][side]
        assert "max_shoppers_p99_under_100ms" in capacity
        (step,) = capacity["steps"]
        assert {"shoppers", "active", "p50_ms", "p99_ms", "server_cpu_pct", "rss_mib"} <= step.keys()
        assert step["shoppers"] == 10 and step["active"] == 1, f"{side}: the crowd was not connected: {step}"
        assert step["messages"] >= 2 and step["undelivered"] == 0, f"{side}: messages were lost under load: {step}"
        assert step["agent_to_shopper"]["count"] >= 1, f"{side}: no agent answer reached the shopper: {step}"
        assert step["rss_mib"] > 0
        crowd = result["crowd"][side]
        assert crowd["shoppers"] == 20 and crowd["connect_failures"] == 0, f"{side}: the crowd did not connect: {crowd}"
        # 10 new pages a second for 1 s, each live (a widget that never went live counts as failed)
        assert crowd["arrivals_failed"] == 0 and crowd["widget_live_p99_ms"] is not None, f"{side}: {crowd}"
        assert crowd["rss_mib"] > 0
    assert result["capacity"]["ratio"]["steps"][0]["shoppers"] == 10
    assert took < 60, f"the smallest shape took {took:.0f} s"
