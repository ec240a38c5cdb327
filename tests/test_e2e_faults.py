"""Bad days, really caused: an instance dies under a shopper, the database goes away, an instance is stopped,
a backup is restored, Redis is missing at start.

Two production instances share a PostgreSQL database of this module's own (on the machine's server, reached
through a TCP proxy the test can cut) and a Redis of the module's own, behind nginx started with
deploy/nginx.conf. Each instance sits behind a relay of its own too, so the test decides where a tab's socket
lands (it refuses new connections on one instance while a tab connects). Fails, not skips, when PostgreSQL,
redis-server or nginx is missing.
"""

import io
import os
import pickle
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from factories import postgres_admin
from faults import Nginx, RedisServer, TcpProxy
from rxchat.testing import ChatWidget, StaffConsole
from server import AppServer, base_env, copy_app, free_port, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.services]

PRODUCT = "summit-backpack"
AGENT = ("faults@example.com", "Fay", "faults-password-123")
STOP_BOUND_SECS = 15  # SIGTERM to exit, in-flight events included
PG = "postgresql://postgres@127.0.0.1:5432"
MAX_CHARS = 500  # RXCHAT_MAX_MESSAGE_CHARS here: a longer message is refused


class Cluster:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="rxchat-faults-"))
        self.database = f"rxchat_faults_{secrets.token_hex(4)}"
        self.pg_proxy = TcpProxy(free_port(), ("127.0.0.1", 5432))
        self.redis = RedisServer(free_port(), self.workdir)
        self.redis_relay = TcpProxy(free_port(), ("127.0.0.1", self.redis.port))  # cut to make Redis unreachable
        self.nginx_port = free_port()
        self.origin = f"http://127.0.0.1:{self.nginx_port}"
        self.env = base_env(
            REFLEX_DB_URL=f"postgresql://postgres@127.0.0.1:{self.pg_proxy.port}/{self.database}",
            REFLEX_REDIS_URL=f"redis://127.0.0.1:{self.redis_relay.port}/0",
            GRANIAN_WORKERS="1",
            # Behind one origin the pages talk to that origin (baked in at build time).
            REFLEX_API_URL=self.origin,
            REFLEX_DEPLOY_URL=self.origin,
            REFLEX_TRUSTED_PROXY_HOPS="1",  # nginx: client addresses from X-Forwarded-For
            RXCHAT_MESSAGES_PER_MINUTE="1000",
            RXCHAT_SESSIONS_PER_HOUR="1000",
            RXCHAT_SWEEP_INTERVAL_SECONDS="86400",
            RXCHAT_MAX_MESSAGE_CHARS=str(MAX_CHARS),
        )
        self.servers: list[AppServer] = []
        self.relays: list[TcpProxy] = []
        self.nginx: Nginx | None = None

    def start(self) -> "Cluster":
        postgres_admin(f'CREATE DATABASE "{self.database}"')
        self.pg_proxy.start()
        self.redis.start()
        self.redis_relay.start()
        run_cli("migrate", env=self.env)
        run_cli("seed-demo", env=self.env)
        email, name, password = AGENT
        run_cli("create-agent", "--email", email, "--name", name, "--password-stdin", env=self.env, stdin=password)
        for index in range(2):
            server = AppServer(self.workdir, self.env, app_root=copy_app(self.workdir / f"app{index}"))
            self.servers.append(server)
            self.relays.append(TcpProxy(free_port(), ("127.0.0.1", server.port)).start())
        errors: list[BaseException] = []

        def start(server: AppServer) -> None:
            try:
                server.start()
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(server,)) for server in self.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        # The test decides where a tab lands by refusing new connections on one relay: so no passive marking
        # of instances and no idle connections kept to them. Past that, deploy/nginx.conf as shipped.
        relay_ports = [relay.port for relay in self.relays]
        self.nginx = Nginx(
            self.workdir / "nginx", self.nginx_port, relay_ports, options="max_fails=0", keepalive=False
        ).start()
        return self

    def only(self, index: int):
        """While the block runs, new connections reach instance `index` only."""
        cluster = self

        class _Only:
            def __enter__(self):
                cluster.relays[1 - index].refuse_new()

            def __exit__(self, *exc):
                cluster.relays[1 - index].restore()

        return _Only()

    def kill(self, index: int) -> None:
        server = self.servers[index]
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        server.process = None

    def query(self, sql: str, database: str | None = None) -> list[tuple]:
        with psycopg.connect(f"{PG}/{database or self.database}") as connection:
            return connection.execute(sql).fetchall()

    def stop(self) -> None:
        """Every step runs even if one before it fails, so no process of the test's own is left behind."""
        steps = [self.nginx.stop] if self.nginx is not None else []
        steps += [server.stop for server in self.servers] + [relay.cut for relay in self.relays]
        steps += [self.redis_relay.cut, self.redis.stop, self.pg_proxy.cut]
        steps.append(lambda: postgres_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        failures = []
        for step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001  (reported below, after the other steps ran)
                failures.append(error)
        if failures:
            raise failures[0]


@pytest.fixture(scope="module")
def cluster(request):
    started = Cluster()
    try:
        yield started.start()
    finally:
        started.stop()
    if request.session.testsfailed:
        print(f"\nfault tests' servers and logs kept for the failures: {started.workdir}")
    else:
        shutil.rmtree(started.workdir, ignore_errors=True)


class _SocketRecord:
    """Stands in for Reflex's SocketRecord (instance_id, sid) when reading its pickled record."""


class _RecordUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) == ("reflex.utils.token_manager", "SocketRecord"):
            return _SocketRecord
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a socket record")


def socket_instance(cluster: Cluster, page: Page, other_than: str | None = None) -> str:
    """The id of the instance holding the tab's socket, from the record Reflex keeps in Redis (waits for one,
    and with `other_than`, until the tab is on another instance)."""
    store = redis.Redis.from_url(cluster.redis.url)  # the Redis itself, not its relay
    deadline = time.monotonic() + 20
    while True:
        token = page.evaluate("() => window.sessionStorage.getItem('token')")
        raw = store.get(f"token_manager_socket_record_{token}") if token else None
        if raw is not None:
            instance = _RecordUnpickler(io.BytesIO(raw)).load().instance_id
            if instance != other_than:
                return instance
        assert time.monotonic() < deadline, "the tab's socket did not settle on an instance"
        time.sleep(0.1)


def once(page: Page, text: str, author: str, timeout_ms: float = 15_000) -> None:
    """`text` is shown exactly once, by `author`."""
    bubbles = page.locator(f'[data-testid="chat-message"][data-author="{author}"]').filter(has_text=text)
    expect(bubbles).to_have_count(1, timeout=timeout_ms)


def conversation(browser: Browser, cluster: Cluster, first: str) -> tuple[StaffConsole, ChatWidget]:
    """A signed-in agent's console and a shopper's widget, each in a browser context of its own, in one
    conversation the shopper started with `first`."""
    console = StaffConsole(browser.new_context().new_page(), cluster.origin, timeout_ms=15_000)
    shopper = ChatWidget(browser.new_context().new_page(), timeout_ms=15_000)
    console.login(AGENT[0], AGENT[2])
    shopper.goto(f"{cluster.origin}/products/{PRODUCT}")
    shopper.open()
    shopper.send(first)
    console.open_conversation(first, product_id=PRODUCT)
    return console, shopper


def test_typed_while_offline_shows_at_once_and_is_sent_once_in_order(browser: Browser, cluster: Cluster):
    """The connection goes (nginx stops): what the shopper and the agent send shows at once as `sending` and
    their boxes empty; once it is back, each is stored once, in order, and a refused one returns to its box."""
    tag = secrets.token_hex(3)
    console, shopper = conversation(browser, cluster, f"Hello {tag}")

    assert cluster.nginx is not None
    cluster.nginx.stop()
    expect(shopper.connection_status).to_be_visible(timeout=15_000)
    too_long = "x" * (MAX_CHARS + 1)
    for text in (f"Offline one {tag}", f"Offline two {tag}", too_long):
        shopper.input.fill(text)
        shopper.input.press("Enter")
        expect(shopper.message_items(text[:40])).to_have_attribute("data-status", "sending")
        expect(shopper.input).to_have_value("")
    console.reply_input.fill(f"Offline reply {tag}")
    console.reply_input.press("Enter")
    expect(console.message_items(f"Offline reply {tag}")).to_have_attribute("data-status", "sending")
    expect(console.reply_input).to_have_value("")

    cluster.nginx.start()
    for page in (shopper.page, console.page):
        once(page, f"Offline one {tag}", "shopper")
        once(page, f"Offline two {tag}", "shopper")
        once(page, f"Offline reply {tag}", "agent")
        expect(page.locator('[data-status="sending"]')).to_have_count(0)
    expect(shopper.error).to_be_visible()  # the too-long one is refused with a sentence...
    expect(shopper.input).to_have_value(too_long)  # ...and is back in the box, nothing lost
    stored = cluster.query(f"SELECT author, body FROM product_chat_messages WHERE body LIKE '%{tag}' ORDER BY id")
    # Each side's own in the order sent (the two sides reconnect independently, so they may interleave).
    assert [body for author, body in stored if author == "shopper"] == [
        f"Hello {tag}",
        f"Offline one {tag}",
        f"Offline two {tag}",
    ]
    assert [body for author, body in stored if author == "agent"] == [f"Offline reply {tag}"]
    console.page.context.close()
    shopper.page.context.close()


def test_failover_database_outage_stop_and_restore(browser: Browser, cluster: Cluster):
    tag = secrets.token_hex(3)
    # A killed instance's Redis locks hold the states it was changing until they expire (Reflex's
    # redis_lock_expiration, 10 s): steps right after the kill may wait that long.
    console = StaffConsole(browser.new_context().new_page(), cluster.origin, timeout_ms=30_000)
    shopper = ChatWidget(browser.new_context().new_page(), timeout_ms=30_000)
    with cluster.only(1):  # the agent's socket on instance 1
        console.login(AGENT[0], AGENT[2])
    with cluster.only(0):  # the shopper's page and socket on instance 0
        shopper.goto(f"{cluster.origin}/products/{PRODUCT}")
        shopper.open()
        shopper.send(f"Before {tag}")
    console.open_conversation(f"Before {tag}", product_id=PRODUCT)
    console.reply(f"Reply before {tag}")
    shopper.wait_for_reply(f"Reply before {tag}")

    # Instance 0 dies under the shopper: the widget reconnects through nginx to instance 1 (at once, or after
    # showing chat-connection-status) and catches up. The agent replies once the tab is over: states the dead
    # instance was changing stay locked until Reflex's Redis locks expire (10 s), so a reply in that moment
    # can wait that long (seen to take longer on a loaded machine).
    shopper_instance = socket_instance(cluster, shopper.page)
    assert shopper_instance != socket_instance(cluster, console.page)
    cluster.kill(0)
    assert socket_instance(cluster, shopper.page, other_than=shopper_instance) == socket_instance(
        cluster, console.page
    ), "the shopper's tab is not on the surviving instance"
    console.reply(f"Reply while reconnecting {tag}")
    shopper.wait_for_reply(f"Reply while reconnecting {tag}", timeout_ms=30_000)
    expect(shopper.page.get_by_test_id("chat-connection-status")).to_be_hidden(timeout=20_000)
    shopper.send(f"After failover {tag}")
    console.wait_for_message(f"After failover {tag}")
    console.reply(f"Reply after {tag}")
    shopper.wait_for_reply(f"Reply after {tag}", timeout_ms=30_000)
    for page in (shopper.page, console.page):
        once(page, f"Before {tag}", "shopper")
        once(page, f"After failover {tag}", "shopper")
        for reply in ("Reply before", "Reply while reconnecting", "Reply after"):
            once(page, f"{reply} {tag}", "agent")

    # The database goes away: the shopper's message is `failed` with a retry, the agent's reply is refused
    # with a sentence and stays in the box; nothing is stored twice once it is back.
    cluster.pg_proxy.cut()
    shopper.submit(f"During outage {tag}")
    failed = shopper.message_items(f"During outage {tag}")
    expect(failed).to_have_attribute("data-status", "failed", timeout=15_000)
    console.reply_input.fill(f"Reply during outage {tag}")
    console.reply_input.press("Enter")
    expect(console.page.get_by_test_id("chat-error")).to_be_visible(timeout=15_000)
    expect(console.reply_input).to_have_value(f"Reply during outage {tag}")
    reopened = console.page.context.new_page()  # the same agent opens the console once more: it cannot load
    reopened.goto(f"{cluster.origin}/agent")
    expect(StaffConsole(reopened, cluster.origin).load_error).to_be_visible(timeout=15_000)
    reopened.close()
    cluster.pg_proxy.restore()
    failed.get_by_test_id("chat-retry").click()
    once(shopper.page, f"During outage {tag}", "shopper")
    expect(shopper.message_items(f"During outage {tag}")).to_have_attribute("data-status", "read", timeout=15_000)
    console.reply_input.press("Enter")
    console.wait_for_message(f"Reply during outage {tag}")
    shopper.wait_for_reply(f"Reply during outage {tag}")
    expect(console.page.get_by_test_id("chat-error")).to_be_hidden()
    stored = cluster.query(f"SELECT body FROM product_chat_messages WHERE body LIKE '%{tag}' ORDER BY id")
    bodies = [body for (body,) in stored]
    assert bodies == [
        f"Before {tag}",
        f"Reply before {tag}",
        f"Reply while reconnecting {tag}",
        f"After failover {tag}",
        f"Reply after {tag}",
        f"During outage {tag}",
        f"Reply during outage {tag}",
    ]

    # A rolling restart: the dead instance comes back (a build of its own, as a new version's would be), then
    # the survivor is stopped with SIGTERM while the shopper keeps sending. It stops within a bound; the tab
    # moves to the restarted instance, and so does the agent's console; every message is stored and shown once,
    # in order, on both sides.
    cluster.servers[0].start()
    survivor, stopped_in = cluster.servers[1], []

    def stop_survivor() -> None:
        started = time.monotonic()
        survivor.stop()  # SIGTERM, then waits for the exit
        stopped_in.append(time.monotonic() - started)

    rolling = [f"Rolling {n} {tag}" for n in range(6)]
    for text in rolling[:2]:
        shopper.send(text)
    on_survivor = socket_instance(cluster, shopper.page)
    # As docs/deploy.md says: the instance is taken out of the proxy first (new connections refused, as an
    # nginx upstream marked `down` does), then stopped, so a reconnecting tab cannot land on it while it goes.
    with cluster.only(0):
        stopper = threading.Thread(target=stop_survivor)
        stopper.start()
        # The tab moves to the restarted instance while the survivor is still stopping; the shopper goes on.
        socket_instance(cluster, shopper.page, other_than=on_survivor)
        for text in rolling[2:]:
            shopper.input.fill(text)
            shopper.input.press("Enter")
        stopper.join()
    assert stopped_in[0] < STOP_BOUND_SECS, f"instance took {stopped_in[0]:.1f}s to stop after SIGTERM"
    rolling_rows = f"SELECT body FROM product_chat_messages WHERE body LIKE 'Rolling %{tag}' ORDER BY id"
    deadline = time.monotonic() + 40  # a send caught by the stop waits for the tab's reconnect (back-off)
    while len(cluster.query(rolling_rows)) < len(rolling) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [body for (body,) in cluster.query(rolling_rows)] == rolling  # each stored once, in order
    expect(shopper.page.locator('[data-status="sending"], [data-status="failed"]')).to_have_count(0)
    # Shown once each, live on both sides (the console rejoining the room on the new instance meanwhile drops
    # none of them), and to the shopper again after a reload.
    for text in rolling:
        once(shopper.page, text, "shopper")
        once(console.page, text, "shopper")
    shopper.goto(f"{cluster.origin}/products/{PRODUCT}")
    shopper.open()
    for text in rolling:
        once(shopper.page, text, "shopper")

    # Backup and restore: pg_dump's custom format restored into a fresh database holds the conversation.
    dump = cluster.workdir / "rxchat.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), f"{PG}/{cluster.database}"], check=True, timeout=60)
    restored = f"{cluster.database}_restored"
    postgres_admin(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{PG}/{restored}", str(dump)], check=True, timeout=60)
        assert [body for (body,) in cluster.query("SELECT body FROM product_chat_messages ORDER BY id", restored)] == [
            body for (body,) in cluster.query("SELECT body FROM product_chat_messages ORDER BY id")
        ]
        assert cluster.query("SELECT count(*) FROM product_chat_sessions", restored) == cluster.query(
            "SELECT count(*) FROM product_chat_sessions"
        )
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    console.page.context.close()
    shopper.page.context.close()


def test_redis_lost_while_running_keeps_the_text_and_recovers_by_itself(browser: Browser, cluster: Cluster):
    """Redis unreachable for a while (its data kept, as a restart of a persistent Redis keeps it): a send
    meanwhile fails with `chat-error` and the text still in the box, in the widget and the console; once Redis
    answers again, sending it stores it once and it reaches the other side. The instance logs the outage of
    its live watches once. Runs last, on the instance the rolling restart left (instance 0): after a Redis
    outage, a later failover was seen to leave a shopper's tab without updates (not fixed yet, so not run
    before the failover test)."""
    tag = secrets.token_hex(3)
    console, shopper = conversation(browser, cluster, f"Before Redis went {tag}")

    cluster.redis_relay.cut()
    time.sleep(2)  # the live watches notice
    shopper.input.fill(f"While Redis is gone {tag}")
    shopper.input.press("Enter")
    # A sentence of rxchat's, not silence and not Reflex's generic notice; nothing typed is lost.
    expect(shopper.page.get_by_test_id("chat-error")).to_contain_text("cannot reach its server", timeout=15_000)
    expect(shopper.page.get_by_text("An error occurred.")).to_have_count(0)
    expect(shopper.input).to_have_value(f"While Redis is gone {tag}")
    console.reply_input.fill(f"Reply while Redis is gone {tag}")
    console.reply_input.press("Enter")
    expect(console.page.get_by_test_id("chat-error")).to_contain_text("state store", timeout=15_000)
    expect(console.reply_input).to_have_value(f"Reply while Redis is gone {tag}")
    cluster.redis_relay.restore()
    time.sleep(2)
    shopper.input.press("Enter")  # the shopper sends it again
    once(shopper.page, f"While Redis is gone {tag}", "shopper")
    expect(shopper.input).to_have_value("")
    expect(shopper.page.get_by_test_id("chat-error")).to_have_count(0)
    console.reply_input.press("Enter")
    shopper.wait_for_reply(f"Reply while Redis is gone {tag}")
    expect(console.page.get_by_test_id("chat-error")).to_have_count(0)
    console.wait_for_message(f"While Redis is gone {tag}")
    console.reply(f"Got it {tag}")
    shopper.wait_for_reply(f"Got it {tag}")
    once(console.page, f"While Redis is gone {tag}", "shopper")
    # presence is watched through Redis: its outage is logged once
    assert cluster.servers[0].log().count("the live watch of presence fails") == 1, "an outage logged not once"
    console.page.context.close()
    shopper.page.context.close()


def test_redis_unreachable_at_start_is_one_sentence(cluster: Cluster):
    """An instance pointed at a Redis nobody answers says so in one sentence and exits non-zero."""
    app_root = cluster.servers[0].app_root  # built already: --backend-only starts without a build
    env = {**cluster.env, "REFLEX_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = subprocess.run(
        [str(cluster.servers[0].venv_bin / "reflex"), "run", "--env", "prod", "--backend-only", "--backend-port",
         str(free_port())],
        cwd=app_root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Unable to connect to Redis" in output
    assert "Traceback" not in output
