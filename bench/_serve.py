"""Serving the app as in production for the benchmarks (shared by latency.py and idle_memory.py).

Reuses tests/server.py: a private copy of the app in a temp directory, its own
SQLite database, migrated and seeded with the operator commands, then
`reflex run --env prod` in a subprocess on a free loopback port.
"""

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

from server import AppServer, base_env, copy_app, run_cli  # tests/server.py: `make setup` puts tests/ on the path

# Benchmarks send many messages quickly from one session: lift the per-session and per-address limits.
BENCH_SETTINGS = {
    "RXCHAT_MESSAGES_PER_MINUTE": "100000",
    "RXCHAT_SESSIONS_PER_HOUR": "100000",
}
AGENT = {"email": "bench-agent@example.com", "name": "Bench Agent", "password": "bench password 1234"}
PRODUCT = "summit-backpack"


@contextlib.contextmanager
def served_app(*, keep: bool = False, with_agent: bool = True):
    """Yield a started AppServer on a fresh database; stop it and remove its directory afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-bench-"))
    env = base_env(REFLEX_DB_URL=f"sqlite:///{workdir / 'rxchat.db'}", **BENCH_SETTINGS)
    server = None
    try:
        run_cli("migrate", env=env)
        run_cli("seed-demo", env=env)
        if with_agent:
            run_cli(
                "create-agent",
                "--email",
                AGENT["email"],
                "--name",
                AGENT["name"],
                "--password-stdin",
                env=env,
                stdin=AGENT["password"] + "\n",
            )
        print(f"building and starting the app (prod) in {workdir} …", file=sys.stderr, flush=True)
        server = AppServer(workdir, env, app_root=copy_app(workdir / "app")).start()
        yield server
    finally:
        if server is not None:
            server.stop()
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]
