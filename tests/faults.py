"""Processes of a test's own that it can break on purpose: a Redis, an nginx, a TCP proxy it can cut.

Fault injection never touches the machine's PostgreSQL or Redis: a test stops its own Redis, cuts its
own proxy in front of PostgreSQL, or kills its own app servers.
"""

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from server import ROOT

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX_NAMES = ("nginx", "/usr/sbin/nginx")


def _wait_for_port(port: int, *, up: bool, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            listening = s.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not {'open' if up else 'close'} in {timeout}s")


class RedisServer:
    """A Redis of the test's own on `port`, keeping nothing on disk; `stop()` and `start()` again."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir = port, workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: the fault tests run a Redis of their own")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, up=True)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def nginx_binary() -> str:
    found = next((path for name in NGINX_NAMES if (path := shutil.which(name))), None)
    if found is None:
        raise RuntimeError("nginx is not installed (`make setup-test` installs it): the failover test needs it")
    return found


def nginx_config(
    listen: int, upstreams: list[int], options: str = "max_fails=1 fail_timeout=10s", keepalive: bool = True
) -> str:
    """deploy/nginx.conf as shipped, with its listen port and upstream servers (and their options) replaced;
    without `keepalive`, nginx keeps no idle connections to the instances (a test that decides where a new
    connection lands needs each request to open one)."""
    text = NGINX_CONF.read_text()
    text, listens = re.subn(r"listen \d+;", f"listen 127.0.0.1:{listen};", text)
    servers = "\n".join(f"        server 127.0.0.1:{port} {options};" for port in upstreams)
    text, blocks = re.subn(r"(?m)^        server 127\.0\.0\.1:\d+ .*;\n(?:        server 127\.0\.0\.1:\d+ .*;\n)*",
                           servers + "\n", text)  # fmt: skip
    assert listens == 1 and blocks == 1, "deploy/nginx.conf no longer has the listen and upstream lines expected"
    if not keepalive:
        text, removed = re.subn(r"(?m)^\s*keepalive \d+;\n", "", text)
        assert removed == 1, "deploy/nginx.conf no longer has the keepalive line expected"
    return text


class Nginx:
    """nginx run with deploy/nginx.conf under a prefix of the test's own, on `port`, before `upstreams`."""

    def __init__(self, prefix: Path, port: int, upstreams: list[int], **options: Any):
        self.prefix, self.port = prefix, port
        for folder in ("logs", "tmp"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(nginx_config(port, upstreams, **options))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Nginx":
        command = [nginx_binary(), "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused deploy/nginx.conf: {checked.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, up=True)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class TcpProxy:
    """A TCP relay from 127.0.0.1:`port` to `target`, in threads. `cut()` drops every relayed connection
    and refuses new ones (the port closes, as a stopped server's does); `restore()` listens again."""

    def __init__(self, port: int, target: tuple[str, int]):
        self.port, self.target = port, target
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> "TcpProxy":
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    restore = start

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            doomed, self._open = self._open, set()
        for conn in doomed:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        _wait_for_port(self.port, up=False)

    stop = cut

    def refuse_new(self) -> None:
        """New connections are refused; those relayed now go on (`restore()` accepts again)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        _wait_for_port(self.port, up=False)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
