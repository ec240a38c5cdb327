"""Serving the app as in production for browser tests: `reflex run --env prod` in a subprocess."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_SECS = 600  # a cold npm cache can take minutes on the first build


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        REFLEX_USE_NPM="1",
        REFLEX_CHECK_LATEST_VERSION="false",
        REFLEX_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "rxchat", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rxchat {' '.join(args)} failed: {result.stderr}")
    return result.stdout


class AppServer:
    """One production server: `start()`, `stop()`, `restart()` keep the same port and database."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        port: int | None = None,
        app_root: Path = ROOT,
        venv_bin: Path = VENV_BIN,
    ):
        self.workdir = workdir
        self.venv_bin = venv_bin  # whose `reflex` serves the app: this venv's, or another one's (an installed wheel)
        self.env = env
        self.port = port or free_port()
        self.app_root = app_root
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> "AppServer":
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [
                str(self.venv_bin / "reflex"),
                "run",
                "--env",
                "prod",
                "--backend-port",
                str(self.port),
            ],
            cwd=self.app_root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                    if response.status == 200:
                        # The page itself is served once the build is done.
                        with urllib.request.urlopen(f"{self.url}/", timeout=5) as page:
                            if page.status == 200:
                                return self
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"server did not start in {START_TIMEOUT_SECS}s:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def copy_app(destination: Path) -> Path:
    """A private copy of the app, so two servers never rebuild the same .web/."""
    ignore = shutil.ignore_patterns(".venv", ".web", ".states", "*.db*", "__pycache__", ".git", ".pytest_cache")
    shutil.copytree(ROOT, destination, ignore=ignore)
    return destination


def serve_fresh_app(workdir: Path, env: dict[str, str], *, agent: tuple[str, str, str] | None = None) -> AppServer:
    """Migrate, load the demo catalog, create a staff account (email, name, password) if given, serve a copy."""
    run_cli("migrate", env=env)
    run_cli("seed-demo", env=env)
    if agent is not None:
        email, name, password = agent
        run_cli("create-agent", "--email", email, "--name", name, "--password-stdin", env=env, stdin=password + "\n")
    return AppServer(workdir, env, app_root=copy_app(workdir / "app")).start()
