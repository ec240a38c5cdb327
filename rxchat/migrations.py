"""Applying Alembic migrations from code (the CLI and the tests use this)."""

from alembic.config import Config

from alembic import command
from rxchat.resources import shipped_dir


def alembic_config(db_url: str | None = None) -> Config:
    # No alembic.ini: a wheel has none, and its logging section is skipped anyway (alembic/env.py).
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("alembic")))
    config.attributes["skip_logging_config"] = True
    if db_url:
        config.attributes["db_url"] = db_url
    return config


def upgrade(db_url: str | None = None) -> None:
    """Bring the database to the newest schema; does nothing when it is there already."""
    command.upgrade(alembic_config(db_url), "head")
