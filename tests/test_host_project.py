"""rxchat in a host store's own Reflex project: one database, two migration histories that leave each other
alone, and the operator commands working on the database the host's rxconfig.py names.

The host is a throwaway project made here: rxconfig.py with a db_url of its own, an app with a model of its
own named `products` (the name rxchat's demo catalog had) and `rxchat.add_chat(app, products=...)`. Reflex's
own `reflex db init / makemigrations / migrate` and `rxchat migrate` run in it as subprocesses, as a host's
operator runs them.
"""

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rxchat import schema
from server import ROOT, VENV_BIN, base_env

RXCHAT_TABLES = {"product_chat_sessions", "product_chat_messages", "rxchat_products", "rxchat_agents",
                 "rxchat_agent_credentials", schema.VERSION_TABLE}  # fmt: skip
RXCHAT_TABLES |= {"rxchat_canned_replies"}  # staff tools
RXCHAT_TABLES |= {"rxchat_email_subscriptions", "rxchat_email_tokens", "rxchat_email_outbox"}  # email continuity
RXCONFIG = """
import reflex as rx

config = rx.Config(
    app_name="hoststore",
    db_url="sqlite:///store.db",
    telemetry_enabled=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
)
"""
APP = """
import reflex as rx
import sqlmodel

import rxchat


class Product(sqlmodel.SQLModel, table=True):  # the store's own catalog, named as stores name it
    __tablename__ = "products"

    id: int | None = sqlmodel.Field(default=None, primary_key=True)
    title: str
{extra_column}

CATALOG = {{"sku-100": rxchat.Product(id="sku-100", name="Harbor Kettle", price="$39.00", url="/item/sku-100")}}


def item() -> rx.Component:
    return rx.box(rx.heading("Our kettle"), rxchat.chat_widget())


app = rx.App()
app.add_page(item, route="/item/[product_id]")
rxchat.add_chat(app, products=CATALOG.get)
"""


def write_app(project: Path, extra_column: str = "") -> None:
    (project / "hoststore" / "hoststore.py").write_text(APP.format(extra_column=extra_column))


@pytest.fixture
def host(tmp_path) -> Path:
    project = tmp_path / "store"
    (project / "hoststore").mkdir(parents=True)
    (project / "rxconfig.py").write_text(RXCONFIG)
    (project / "hoststore" / "__init__.py").write_text("")
    write_app(project)
    return project


def host_env(**overrides: str) -> dict[str, str]:
    env = base_env(PYTHONPATH=str(ROOT), **overrides)  # rxchat importable as an installed package would be
    for name in ("REFLEX_DB_URL", "RXCHAT_DB_URL"):
        if name not in overrides:
            env.pop(name, None)
    return env


def run(project: Path, *command: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(
        command, cwd=project, env=env or host_env(), input=stdin, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def rxchat_cli(project: Path, *args: str, **kwargs) -> str:
    return run(project, sys.executable, "-m", "rxchat", *args, **kwargs)


def reflex_db(project: Path, *args: str) -> str:
    return run(project, str(VENV_BIN / "reflex"), "db", *args)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def column_names(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def version(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute(f"SELECT version_num FROM {table}")]


def scripts(project: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((project / "alembic" / "versions").glob("*.py"))}


def revision_of(script: str) -> str:
    return next(line.split("'")[1] for line in script.splitlines() if line.startswith("revision"))


def test_reflex_and_rxchat_keep_their_own_migrations_in_one_database(host):
    store = host / "store.db"
    rxchat_cli(host, "migrate")
    rxchat_head = version(store, schema.VERSION_TABLE)

    # Reflex's own first migration: the host's tables alone, though rxchat's are in the database already.
    reflex_db(host, "init")
    (first,) = scripts(host).values()
    assert "create_table('products'" in first
    # Neither created (rxchat's models are not on the host's MetaData) nor dropped (filtered out).
    assert "rxchat_" not in first and "product_chat" not in first

    # A change to the host's model: its migration holds that change and nothing of rxchat's.
    write_app(host, extra_column="    price_cents: int = 0")
    reflex_db(host, "makemigrations", "--message", "price")
    second = next(text for name, text in scripts(host).items() if name.endswith("_price.py"))
    assert "add_column(sa.Column('price_cents'" in second
    assert (
        "rxchat_" not in second
        and "product_chat" not in second
        and "drop_table" not in second.split("def downgrade")[0]
    )
    migrated = reflex_db(host, "migrate")
    assert "Detected database schema changes" not in migrated  # Reflex's check after migrating sees nothing of ours

    # Nothing is left for Reflex to migrate, and rxchat's migrate still finds its own history at its head.
    reflex_db(host, "makemigrations")
    assert len(scripts(host)) == 2
    rxchat_cli(host, "migrate")

    assert version(store, "alembic_version") == [revision_of(second)]
    assert version(store, schema.VERSION_TABLE) == rxchat_head
    assert tables(store) == RXCHAT_TABLES | {"products", "alembic_version"}
    assert column_names(store, "products") == ["id", "title", "price_cents"]


def test_rxchat_migrates_a_database_that_reflex_migrated_first(host):
    store = host / "store.db"
    reflex_db(host, "init")

    rxchat_cli(host, "migrate")
    reflex_db(host, "makemigrations")

    assert len(scripts(host)) == 1  # rxchat's tables came in between: Reflex wants neither to make nor to drop them
    assert tables(store) == RXCHAT_TABLES | {"products", "alembic_version"}
    assert version(store, "alembic_version") == [revision_of(next(iter(scripts(host).values())))]


def test_the_commands_use_the_database_the_hosts_rxconfig_names(host, tmp_path):
    store = host / "store.db"

    rxchat_cli(host, "migrate")
    rxchat_cli(host, "seed-demo")
    rxchat_cli(host, "create-agent", "--email", "ann@example.com", "--name", "Ann", "--password-stdin",
               stdin="a long password here\n")  # fmt: skip
    token = rxchat_cli(host, "create-api-token", "--email", "ann@example.com").strip()

    assert RXCHAT_TABLES <= tables(store)
    assert not (host / "rxchat.db").exists()  # not rxchat's default database
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT email FROM rxchat_agents").fetchall() == [("ann@example.com",)]
        assert connection.execute("SELECT count(*) FROM rxchat_products").fetchone() == (6,)
    assert token

    # REFLEX_DB_URL still names the database for the process.
    elsewhere = tmp_path / "elsewhere.db"
    rxchat_cli(host, "migrate", env=host_env(REFLEX_DB_URL=f"sqlite:///{elsewhere}"))
    assert RXCHAT_TABLES <= tables(elsewhere)
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM rxchat_agents").fetchone() == (1,)


def test_the_hosts_app_gives_the_served_chat_the_same_database(host):
    """`add_chat` reads the app's config: the running app's chat uses the database its rxconfig.py names."""
    probe = textwrap.dedent(
        """
        from reflex.utils import prerequisites
        prerequisites.get_app()
        from rxchat.settings import settings
        print(settings.db_url)
        """
    )
    out = run(host, sys.executable, "-c", probe)
    assert out.strip().splitlines()[-1] == "sqlite:///store.db"
