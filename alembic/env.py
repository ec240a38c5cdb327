"""Alembic environment: migrates the database named by rxchat's settings (or the URL the caller gives).

rxchat keeps its own version table (`rxchat_alembic_version`) and looks only at its own tables, so it
shares a database with a host store whose Alembic (`reflex db`) keeps `alembic_version` (rxchat/schema.py).
"""

from logging.config import fileConfig

import sqlalchemy as sa

from alembic import context
from rxchat import models, schema
from rxchat.settings import settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = models.metadata


def run_migrations() -> None:
    url = config.attributes.get("db_url") or settings.sync_db_url
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    revisions = {script.revision for script in context.script.walk_revisions()}
    with engine.connect() as connection:
        # A database migrated before rxchat had a version table of its own: its revision moves over first.
        with connection.begin():
            schema.adopt_shared_version_table(connection, revisions)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=schema.VERSION_TABLE,
            include_name=schema.include_only_rxchat,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `python -m rxchat migrate`.")
run_migrations()
