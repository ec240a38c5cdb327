"""Migrations build exactly the schema the models describe, and the operator commands apply them safely."""

import secrets
import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from alembic import command
from factories import postgres_admin, sqlite_urls
from rxchat import migrations, models, schema
from server import ROOT, base_env

KEPT_TABLES = {"product_chat_sessions", "product_chat_messages"}  # the original system's names
RXCHAT_TABLES = KEPT_TABLES | {"rxchat_products", "rxchat_agents", "rxchat_agent_credentials", "rxchat_canned_replies"}
EMAIL_TABLES = {"rxchat_email_subscriptions", "rxchat_email_tokens", "rxchat_email_outbox"}
RXCHAT_TABLES |= EMAIL_TABLES


def schema_differences(sync_url: str) -> list:
    engine = sa.create_engine(sync_url)
    try:
        with engine.connect() as connection:
            opts = {"compare_type": True, "version_table": schema.VERSION_TABLE}
            context = MigrationContext.configure(connection, opts=opts)
            return compare_metadata(context, models.metadata)
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

    assert table_names(path) == RXCHAT_TABLES | {"rxchat_alembic_version"}


def test_upgrade_twice_changes_nothing(tmp_path):
    path = tmp_path / "twice.db"
    sync_url, _ = sqlite_urls(path)
    migrations.upgrade(sync_url)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO rxchat_products (id, name, price_cents, currency, image, description) "
            "VALUES ('keep-me', 'Kept', 100, 'USD', '', '')"
        )
    before = schema_dump(path)

    migrations.upgrade(sync_url)

    assert schema_dump(path) == before
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM rxchat_products WHERE id = 'keep-me'").fetchone() == ("Kept",)


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


# --- a database shared with a host store -------------------------------------------------------------------------


def version_rows(path, table: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute(f"SELECT version_num FROM {table}")]


def head() -> str:
    return command.ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()


# The tables and indexes a database made before 0004 has under their old names (0001 and 0002 create the new
# ones since): (new table, old table, [(new index, old index, columns, unique)])
OLD_NAMES = [
    ("rxchat_products", "products", []),
    ("rxchat_agents", "agents", [("ix_rxchat_agents_email", "ix_agents_email", "email", True)]),
    ("rxchat_agent_credentials", "agent_credentials", [
        ("ix_rxchat_agent_credentials_agent_id", "ix_agent_credentials_agent_id", "agent_id", False),
        ("ix_rxchat_agent_credentials_token_hash", "ix_agent_credentials_token_hash", "token_hash", True),
    ]),
]  # fmt: skip


def migrated_before_the_own_version_table(sync_url: str, execute) -> None:
    """A database as rxchat left it before 0004: its revision in Alembic's default `alembic_version`, its
    tables and their indexes under the old names, with a product and a staff account in them."""
    command.upgrade(migrations.alembic_config(sync_url), "0003")
    execute(f"DROP TABLE {schema.VERSION_TABLE}")
    execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc "
            "PRIMARY KEY (version_num))")  # fmt: skip
    execute("INSERT INTO alembic_version VALUES ('0003')")
    for table, old_table, indexes in OLD_NAMES:
        execute(f"ALTER TABLE {table} RENAME TO {old_table}")
        for index, old_index, column, unique in indexes:
            execute(f"DROP INDEX {index}")
            execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {old_index} ON {old_table} ({column})")
    execute(
        "INSERT INTO products (id, name, price_cents, currency, image, description) "
        "VALUES ('old-lamp', 'Old Lamp', 100, 'USD', '', '')"
    )
    execute(
        "INSERT INTO agents (email, display_name, password_hash, is_active, created_at) "
        "VALUES ('ann@example.com', 'Ann', 'x', true, '2026-01-01')"
    )
    execute(
        "INSERT INTO agent_credentials (agent_id, kind, token_hash, created_at) "
        "SELECT id, 'api', 'hash', '2026-01-01' FROM agents"
    )


def test_no_table_of_rxchat_is_on_sqlmodels_own_metadata():
    """A host's models share SQLModel's MetaData (Reflex migrates exactly that): none of rxchat's are there."""
    assert not set(SQLModel.metadata.tables) & RXCHAT_TABLES
    assert set(models.metadata.tables) == RXCHAT_TABLES


def test_a_host_model_named_products_imports_beside_rxchat():
    probe = (
        "import rxchat.models\n"
        "from sqlmodel import Field, SQLModel\n"
        "class Product(SQLModel, table=True):\n"
        "    __tablename__ = 'products'\n"
        "    id: int = Field(primary_key=True)\n"
        "print(sorted(SQLModel.metadata.tables))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['products']"


def test_the_revision_moves_from_a_shared_alembic_version_to_rxchats_own(tmp_path):
    path = tmp_path / "shared.db"
    sync_url = sqlite_urls(path)[0]
    with sqlite3.connect(path) as connection:
        migrated_before_the_own_version_table(sync_url, connection.execute)
    assert version_rows(path, "alembic_version") == ["0003"]

    migrations.upgrade(sync_url)

    assert "alembic_version" not in table_names(path)  # it held rxchat's revision alone
    assert version_rows(path, schema.VERSION_TABLE) == [head()]
    assert table_names(path) == RXCHAT_TABLES | {schema.VERSION_TABLE}
    assert schema_differences(sync_url) == []
    with sqlite3.connect(path) as connection:  # the rows came along with their renamed tables
        assert connection.execute("SELECT name FROM rxchat_products").fetchall() == [("Old Lamp",)]
        credentials = "SELECT a.email FROM rxchat_agent_credentials c JOIN rxchat_agents a ON a.id = c.agent_id"
        assert connection.execute(credentials).fetchall() == [("ann@example.com",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_hosts_alembic_version_is_left_alone(tmp_path):
    path = tmp_path / "host.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0003')")  # the host's own revision of that name
        connection.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT)")
        connection.execute("INSERT INTO products VALUES (1, 'the host''s own')")

    migrations.upgrade(sqlite_urls(path)[0])

    assert version_rows(path, "alembic_version") == ["0003"]  # rxchat never migrated this database: not its row
    assert version_rows(path, schema.VERSION_TABLE) == [head()]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT title FROM products").fetchall() == [("the host's own",)]


def test_only_rxchats_revision_leaves_a_shared_alembic_version(tmp_path):
    path = tmp_path / "both.db"
    sync_url = sqlite_urls(path)[0]
    with sqlite3.connect(path) as connection:
        migrated_before_the_own_version_table(sync_url, connection.execute)
        connection.execute("INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6')")  # a host's head beside it

    migrations.upgrade(sync_url)

    assert version_rows(path, "alembic_version") == ["a1b2c3d4e5f6"]
    assert version_rows(path, schema.VERSION_TABLE) == [head()]


def test_the_migrations_go_back_and_forth(tmp_path):
    path = tmp_path / "both-ways.db"
    sync_url = sqlite_urls(path)[0]
    migrations.upgrade(sync_url)

    command.downgrade(migrations.alembic_config(sync_url), "base")
    assert table_names(path) == {schema.VERSION_TABLE}
    migrations.upgrade(sync_url)

    assert schema_differences(sync_url) == []


@pytest.mark.services
def test_the_move_and_the_renames_on_postgresql():
    name = f"rxchat_migrate_{secrets.token_hex(4)}"
    sync_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            migrated_before_the_own_version_table(sync_url, lambda sql: connection.execute(sa.text(sql)))

        migrations.upgrade(sync_url)

        assert schema_differences(sync_url) == []
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            assert tables == RXCHAT_TABLES | {schema.VERSION_TABLE}
            assert connection.execute(sa.text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).all() == [(head(),)]
            joined = "SELECT a.email FROM rxchat_agent_credentials c JOIN rxchat_agents a ON a.id = c.agent_id"
            assert connection.execute(sa.text(joined)).all() == [("ann@example.com",)]
    finally:
        engine.dispose()
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    assert RXCHAT_TABLES <= table_names(db_path)
    assert schema_differences(sqlite_urls(db_path)[0]) == []


def test_cli_seed_demo_twice_loads_catalog_once(tmp_path):
    db_path = tmp_path / "seed.db"
    assert rxchat_cli("migrate", db_path=db_path).returncode == 0

    first = rxchat_cli("seed-demo", db_path=db_path)
    second = rxchat_cli("seed-demo", db_path=db_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db_path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM rxchat_products ORDER BY id")]
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
