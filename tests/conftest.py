"""Shared fixtures: a real database per test for unit tests, one production server for browser tests."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import browser
import rxchat.testing.plugin  # standard library and pytest only: it imports no rxchat settings
from console_errors import watch_console_errors
from server import START_TIMEOUT_SECS, AppServer, base_env, copy_app, free_port, run_cli
from smtp_sink import SmtpSink

pytest_plugins = ["unit_fixtures"]  # db, app, client: the unit tests' shared fixtures

# Test settings, set before rxchat is imported anywhere in this process.
TEST_SETTINGS = {
    "RXCHAT_MESSAGES_PER_MINUTE": "1000",
    "RXCHAT_SESSIONS_PER_HOUR": "1000",
    # The served app's sweeper never fires during a run; tests sweep on demand.
    "RXCHAT_SWEEP_INTERVAL_SECONDS": "86400",
}
os.environ.update(TEST_SETTINGS)


EMAIL_AFTER_SECS = 2  # the served app emails a reply its shopper has not seen after this


@pytest.fixture(scope="session")
def smtp_sink() -> SmtpSink:
    """A real SMTP server (aiosmtpd) the served app sends its reply emails to; `messages` holds them."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def served_app(request, smtp_sink) -> AppServer:
    """The app served as in production on its own SQLite database, shared by the browser tests.

    Its directory is not under pytest's basetemp: a concurrent pytest run rotates those away,
    database and server log included, while this server still uses them. It sends reply emails to
    `smtp_sink`, with links to itself.
    """
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-served-"))
    clock = workdir / "clock-offset"
    clock.write_text("0")
    port = free_port()
    env = base_env(
        REFLEX_DB_URL=f"sqlite:///{workdir / 'rxchat.db'}",
        RXCHAT_CLOCK_OFFSET_FILE=str(clock),
        RXCHAT_SMTP_URL=smtp_sink.url,
        RXCHAT_PUBLIC_URL=f"http://localhost:{port}",
        RXCHAT_EMAIL_AFTER_SECONDS=str(EMAIL_AFTER_SECS),
        **TEST_SETTINGS,
    )
    run_cli("migrate", env=env)
    run_cli("seed-demo", env=env)
    # A private copy: building .web/ in the checkout would break a server someone else runs from it.
    server = AppServer(workdir, env, port=port, app_root=copy_app(workdir / "app")).start()
    yield server
    server.stop()
    if request.session.testsfailed:
        print(f"\nserver log kept for the failures: {server.log_path}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def rxchat_env(served_app) -> dict[str, str]:
    """rxchat.testing's fixtures (`rxchat_staff`, ...) make accounts in the served app's database.

    A module with a server of its own overrides this with that server's environment."""
    return served_app.env


@pytest.fixture
def rxchat_base_url(served_app) -> str:
    """`rxchat_console` opens the served app's console."""
    return served_app.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": browser.executable_path(), "args": browser.LAUNCH_ARGS}


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught exceptions of the page; the `no_console_errors` check reads them."""
    return watch_console_errors(page)


@pytest.fixture(autouse=True)
def no_console_errors(request):
    """Fails a browser test whose page logged an error."""
    if "page" not in request.fixturenames:
        yield
        return
    errors = request.getfixturevalue("console_errors")
    yield
    assert not errors, f"console errors: {errors}"


def pytest_configure(config):
    """rxchat.testing's pytest plugin: registered by its entry point once rxchat is installed, else here."""
    if not config.pluginmanager.is_registered(rxchat.testing.plugin):
        config.pluginmanager.register(rxchat.testing.plugin, "rxchat.testing.plugin")


SERVER_FIXTURES = ("served_app", "scaled_app", "cluster")  # fixtures that build and start a production server


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API leaves an event loop running that async tests trip on.

    The first test using a server fixture also waits for the server's build and start, which has a deadline
    of its own (a cold npm cache takes minutes): it gets that on top of pytest.ini's per-test timeout.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
    for fixture in SERVER_FIXTURES:
        first = next((item for item in items if fixture in getattr(item, "fixturenames", ())), None)
        if first is not None and first.get_closest_marker("timeout") is None:
            first.add_marker(pytest.mark.timeout(START_TIMEOUT_SECS + 300))
