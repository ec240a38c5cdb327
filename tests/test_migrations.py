"""Migrations build exactly the schema the models describe, and the operator commands apply them safely."""

import sqlite3
import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from factories import sqlite_urls
from rxchat import migrations, models  # noqa: F401  (models registers the tables on SQLModel.metadata)
from server import ROOT, base_env

KEPT_TABLES = {"product_chat_sessions", "product_chat_messages", "products"}


def schema_differences(sync_url: str) -> list:
    engine = sa.create_engine(sync_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def table_names(path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def schema_dump(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_upgrade_empty_database_matches_models(tmp_path):
    path = tmp_path / "schema.db"
    sync_url, _ = sqlite_urls(path)

    migrations.upgrade(sync_url)

    assert schema_differences(sync_url) == []


def test_upgrade_creates_original_table_names(tmp_path):
    path = tmp_path / "names.db"

    migrations.upgrade(sqlite_urls(path)[0])

    assert KEPT_TABLES <= table_names(path)
    assert "alembic_version" in table_names(path)


def test_upgrade_twice_changes_nothing(tmp_path):
    path = tmp_path / "twice.db"
    sync_url, _ = sqlite_urls(path)
    migrations.upgrade(sync_url)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO products (id, name, price_cents, currency, image, description) "
            "VALUES ('keep-me', 'Kept', 100, 'USD', '', '')"
        )
    before = schema_dump(path)

    migrations.upgrade(sync_url)

    assert schema_dump(path) == before
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM products WHERE id = 'keep-me'").fetchone() == ("Kept",)


def test_model_session_id_unique_in_database(tmp_path):
    """Two sessions can never share a secret id, whatever the code above the database does."""
    path = tmp_path / "unique.db"
    migrations.upgrade(sqlite_urls(path)[0])
    insert = (
        "INSERT INTO product_chat_sessions (session_id, public_id, product_id, created_at, last_activity, is_active, "
        "status, message_count, last_seq, agent_read_seq, shopper_seen_seq) "
        "VALUES (?, ?, 'aurora-lamp', '2026-01-01', '2026-01-01', 1, 'open', 0, 0, 0, 0)"
    )
    with sqlite3.connect(path) as connection:
        connection.execute(insert, ("cs_" + "1" * 48, "a" * 16))
        try:
            connection.execute(insert, ("cs_" + "1" * 48, "b" * 16))
        except sqlite3.IntegrityError:
            return
    raise AssertionError("a duplicate session_id was accepted")


# --- operator commands --------------------------------------------------------------------------------------------


def rxchat_cli(*args: str, db_path) -> subprocess.CompletedProcess:
    env = base_env(REFLEX_DB_URL=f"sqlite:///{db_path}")
    return subprocess.run(
        [sys.executable, "-m", "rxchat", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_migrate_twice_succeeds(tmp_path):
    db_path = tmp_path / "cli.db"

    first = rxchat_cli("migrate", db_path=db_path)
    second = rxchat_cli("migrate", db_path=db_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert KEPT_TABLES <= table_names(db_path)
    assert schema_differences(sqlite_urls(db_path)[0]) == []


def test_cli_seed_demo_twice_loads_catalog_once(tmp_path):
    db_path = tmp_path / "seed.db"
    assert rxchat_cli("migrate", db_path=db_path).returncode == 0

    first = rxchat_cli("seed-demo", db_path=db_path)
    second = rxchat_cli("seed-demo", db_path=db_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db_path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM products ORDER BY id")]
    assert len(ids) == len(set(ids)) >= 6
    assert {"aurora-lamp", "sku-4417"} <= set(ids)
    assert "6 new" in first.stdout and "0 new" in second.stdout


def test_cli_help_lists_commands(tmp_path):
    result = rxchat_cli("--help", db_path=tmp_path / "unused.db")

    assert result.returncode == 0
    assert "migrate" in result.stdout
    assert "seed-demo" in result.stdout


def test_cli_bad_usage_exits_2(tmp_path):
    no_command = rxchat_cli(db_path=tmp_path / "unused.db")
    unknown = rxchat_cli("no-such-command", db_path=tmp_path / "unused.db")

    assert no_command.returncode == 2
    assert unknown.returncode == 2
    assert unknown.stderr.strip(), "bad usage explains itself on stderr"
    assert not (tmp_path / "unused.db").exists(), "bad usage touches no database"
