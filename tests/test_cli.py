"""The staff account commands as an operator runs them: `python -m rxchat ...` in a subprocess on an SQLite file.

Results go to stdout; a refused request exits 1 with one sentence on stderr and nothing on stdout; bad usage
exits 2 with argparse's usage text and touches no database. What a command did is checked through the
services, on the same file.
"""

import sqlite3
import subprocess
import sys

import pytest

from factories import migrated_database, sqlite_urls
from rxchat import migrations
from rxchat.services import agents, limits
from server import ROOT, base_env

PASSWORD = "a long password here"
NEW_PASSWORD = "another long password"


@pytest.fixture
def db_path(tmp_path):
    """A migrated SQLite file with no staff accounts."""
    path = tmp_path / "cli.db"
    migrations.upgrade(sqlite_urls(path)[0])
    return path


@pytest.fixture(autouse=True)
async def fresh_limits():
    """The sign-ins these tests try in process are counted there: none before a test, none after."""
    await limits.reset()
    yield
    await limits.reset()


def rxchat(*args: str, db_path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rxchat", *args],
        cwd=ROOT,
        env=base_env(REFLEX_DB_URL=f"sqlite:///{db_path}"),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def create_agent(db_path, email="ann@example.com", name="Ann", password=PASSWORD) -> subprocess.CompletedProcess:
    return rxchat("create-agent", "--email", email, "--name", name, "--password-stdin", db_path=db_path, stdin=password)


def assert_ok(result: subprocess.CompletedProcess) -> str:
    """Exit 0, nothing on stderr; returns stdout's one line."""
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    return result.stdout.strip()


def assert_refused(result: subprocess.CompletedProcess) -> str:
    """Exit 1, nothing on stdout, one sentence on stderr (no traceback); returns it."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    sentence = result.stderr.strip()
    assert "\n" not in sentence and "Traceback" not in result.stderr, result.stderr
    assert sentence[:1].isupper() and sentence.endswith("."), sentence
    return sentence


def assert_bad_usage(result: subprocess.CompletedProcess, complaint: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("usage: ") and complaint in result.stderr, result.stderr


async def sign_in(db_path, email="ann@example.com", password=PASSWORD):
    """A console sign-in through the service (what the sign-in page calls); returns its token."""
    async with migrated_database(db_path, seed=False) as db:
        _agent, token = await agents.sign_in(db, email=email, password=password, client_address="10.0.0.1")
    return token


async def signed_in_agent(db_path, token: str, kind: str = "console"):
    async with migrated_database(db_path, seed=False) as db:
        return await agents.agent_for_token(db, token=token, kind=kind)


# --- create-agent -------------------------------------------------------------------------------------------------


async def test_create_agent_reads_the_password_from_stdin_and_the_account_signs_in(db_path):
    result = create_agent(db_path, email="Ann@Example.COM", password=PASSWORD + "\n")

    assert assert_ok(result) == "Created staff account ann@example.com (Ann)."
    assert PASSWORD not in result.stdout
    token = await sign_in(db_path, email="ann@example.com", password=PASSWORD)  # the newline is not part of it
    assert (await signed_in_agent(db_path, token)).display_name == "Ann"


async def test_create_agent_takes_one_line_and_strips_a_windows_line_end(db_path):
    assert_ok(create_agent(db_path, password=PASSWORD + "\r\nignored second line\n"))

    await sign_in(db_path, password=PASSWORD)
    with pytest.raises(agents.InvalidCredentials):
        await sign_in(db_path, password=PASSWORD + "\r\nignored second line")


def test_create_agent_refuses_a_duplicate_in_any_case(db_path):
    assert_ok(create_agent(db_path))

    refused = create_agent(db_path, email="ANN@example.com", name="Ann again")

    assert assert_refused(refused) == agents.AgentExists.message


@pytest.mark.parametrize(
    ("email", "name", "password", "sentence"),
    [
        ("ann@example.com", "Ann", "too short", f"A password needs at least {agents.MIN_PASSWORD_CHARS} characters."),
        ("ann@example.com", "Ann", "", f"A password needs at least {agents.MIN_PASSWORD_CHARS} characters."),
        ("not-an-email", "Ann", PASSWORD, None),
        ("ann@example.com", "   ", PASSWORD, "A display name is 1 to 80 characters."),
    ],
    ids=["short-password", "empty-stdin", "malformed-email", "blank-name"],
)
def test_create_agent_refuses_malformed_input_and_stores_nothing(db_path, email, name, password, sentence):
    refused = assert_refused(create_agent(db_path, email=email, name=name, password=password))

    if sentence is not None:
        assert refused == sentence, "the service's own sentence, as it is"
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM rxchat_agents").fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["create-agent", "--email", "a@example.com", "--name", "A"], "arguments are required: --password-stdin"),
        (["create-agent", "--name", "A", "--password-stdin"], "arguments are required: --email"),
        # Not read as an abbreviation of --password-stdin (argparse's default), so no password is taken from
        # the command line.
        (["reset-password", "--email", "a@example.com", "--password", PASSWORD], "required: --password-stdin"),
    ],
    ids=["no-password-stdin", "no-email", "password-as-argument"],
)
def test_bad_usage_exits_2_with_usage_and_opens_no_database(tmp_path, args, complaint):
    unused = tmp_path / "unused.db"

    assert_bad_usage(rxchat(*args, db_path=unused, stdin=PASSWORD), complaint)

    assert not unused.exists(), "bad usage opened the database"


def test_a_database_that_was_never_migrated_is_one_sentence_naming_migrate(tmp_path):
    refused = assert_refused(create_agent(tmp_path / "new.db"))

    assert "rxchat migrate" in refused
    assert str(tmp_path) not in refused, "the database's location stays out of the message"


# --- reset-password -----------------------------------------------------------------------------------------------


async def test_reset_password_sets_the_new_one_and_ends_sign_ins(db_path):
    assert_ok(create_agent(db_path))
    console = await sign_in(db_path)

    result = rxchat(
        "reset-password", "--email", "ANN@example.com", "--password-stdin", db_path=db_path, stdin=NEW_PASSWORD + "\n"
    )

    assert "ann@example.com" in assert_ok(result)
    assert await signed_in_agent(db_path, console) is None, "the sign-in from before the reset still works"
    with pytest.raises(agents.InvalidCredentials):
        await sign_in(db_path, password=PASSWORD)
    await sign_in(db_path, password=NEW_PASSWORD)


async def test_reset_password_refuses_a_short_one_and_keeps_the_old(db_path):
    assert_ok(create_agent(db_path))

    refused = rxchat("reset-password", "--email", "ann@example.com", "--password-stdin", db_path=db_path, stdin="short")

    assert "12" in assert_refused(refused)
    await sign_in(db_path, password=PASSWORD)


def test_reset_password_of_an_unknown_email_is_refused(db_path):
    refused = rxchat(
        "reset-password", "--email", "bob@example.com", "--password-stdin", db_path=db_path, stdin=PASSWORD
    )

    assert assert_refused(refused) == agents.AgentNotFound.message


# --- deactivate-agent and create-api-token ------------------------------------------------------------------------


async def test_create_api_token_prints_a_token_the_api_accepts(db_path):
    assert_ok(create_agent(db_path))

    first = assert_ok(rxchat("create-api-token", "--email", "ann@example.com", db_path=db_path))
    second = assert_ok(rxchat("create-api-token", "--email", "ann@example.com", db_path=db_path))

    assert first != second and " " not in first
    for token in (first, second):
        assert (await signed_in_agent(db_path, token, kind="api")).email == "ann@example.com"
    assert await signed_in_agent(db_path, first) is None, "an API token is no console sign-in"


async def test_deactivate_agent_ends_sign_ins_and_api_tokens_at_once(db_path):
    assert_ok(create_agent(db_path))
    console = await sign_in(db_path)
    api_token = assert_ok(rxchat("create-api-token", "--email", "ann@example.com", db_path=db_path))

    result = rxchat("deactivate-agent", "--email", "Ann@example.com", db_path=db_path)

    assert "ann@example.com" in assert_ok(result)
    assert await signed_in_agent(db_path, console) is None
    assert await signed_in_agent(db_path, api_token, kind="api") is None
    with pytest.raises(agents.InvalidCredentials):
        await sign_in(db_path)
    assert_refused(rxchat("create-api-token", "--email", "ann@example.com", db_path=db_path))


@pytest.mark.parametrize("command", ["deactivate-agent", "create-api-token"])
def test_commands_on_an_unknown_email_are_refused(db_path, command):
    refused = rxchat(command, "--email", "bob@example.com", db_path=db_path)

    assert_refused(refused)
