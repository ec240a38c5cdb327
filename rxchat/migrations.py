"""Applying Alembic migrations from code (the CLI and the tests use this)."""

from pathlib import Path

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(db_url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["skip_logging_config"] = True
    if db_url:
        config.attributes["db_url"] = db_url
    return config


def upgrade(db_url: str | None = None) -> None:
    """Bring the database to the newest schema; does nothing when it is there already."""
    command.upgrade(alembic_config(db_url), "head")
