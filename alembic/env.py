"""Alembic environment: migrates the database named by rxchat's settings."""

from logging.config import fileConfig

import sqlalchemy as sa
from sqlmodel import SQLModel

from alembic import context
from rxchat import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from rxchat.settings import settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.attributes.get("db_url") or settings.sync_db_url
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `python -m rxchat migrate`.")
run_migrations()
