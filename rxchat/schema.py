"""rxchat's place in a database it shares with a host store: which tables are its own, its own Alembic
version table, and keeping its tables out of the host's migrations.

- rxchat's tables are `product_chat_*` (the names the original system gave them) and `rxchat_*`.
- rxchat records its migrations in `rxchat_alembic_version`, so a host's `alembic_version` (Reflex's
  `reflex db`) holds only the host's history. A database migrated before that, whose `alembic_version`
  holds rxchat's revision, has it moved over on the next `rxchat migrate` (`adopt_shared_version_table`).
- The models live on a MetaData of their own (rxchat/models.py), so a host's autogenerate never wants to
  create them. It still compares the whole database with its models and would write a `drop_table` for
  every table it does not know; `hide_from_host_autogenerate` (called by `add_chat`, so in every `reflex db`
  command, which imports the host's app) filters rxchat's tables out of any Alembic environment in the
  process but rxchat's own. A host that runs Alembic with an env.py of its own that never imports its app
  adds the same filter there (`include_name`, docs/embedding.md).
"""

from typing import Any

import sqlalchemy as sa

VERSION_TABLE = "rxchat_alembic_version"
SHARED_VERSION_TABLE = "alembic_version"  # Alembic's default: the host's, and rxchat's until 0004
TABLE_PREFIXES = ("rxchat_", "product_chat_")
SESSIONS_TABLE = "product_chat_sessions"  # in every database rxchat has migrated


def is_rxchat_table(name: str | None) -> bool:
    return name is not None and name.startswith(TABLE_PREFIXES)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For a host's Alembic `include_name`: everything but rxchat's tables (and what is in them)."""
    return type_ != "table" or not is_rxchat_table(name)


def include_only_rxchat(name: str | None, type_: str, parent_names: Any) -> bool:
    """For rxchat's own environment: only rxchat's tables, so its autogenerate leaves a host's alone."""
    return type_ != "table" or is_rxchat_table(name)


def adopt_shared_version_table(connection: sa.Connection, revisions: set[str]) -> bool:
    """Move rxchat's revision from `alembic_version` into `rxchat_alembic_version`, once.

    Only when rxchat's own version table is not there yet, rxchat's tables are, and `alembic_version` holds
    one of rxchat's `revisions`. `alembic_version` is dropped when nothing else is left in it; rows that are
    not rxchat's (a host's) stay where they are. True when something was moved.
    """
    inspector = sa.inspect(connection)
    if inspector.has_table(VERSION_TABLE) or not inspector.has_table(SHARED_VERSION_TABLE):
        return False
    if not inspector.has_table(SESSIONS_TABLE):
        return False  # rxchat never migrated this database: its alembic_version is the host's alone
    shared = sa.table(SHARED_VERSION_TABLE, sa.column("version_num"))
    held = [row[0] for row in connection.execute(sa.select(shared.c.version_num))]
    ours = [version for version in held if version in revisions]
    if not ours:
        return False
    # The table as Alembic itself creates a version table.
    version_table = sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )
    version_table.create(connection)
    connection.execute(version_table.insert(), [{"version_num": version} for version in ours])
    if len(ours) == len(held):
        connection.execute(sa.text(f"DROP TABLE {SHARED_VERSION_TABLE}"))
    else:
        connection.execute(sa.delete(shared).where(shared.c.version_num.in_(ours)))
    return True


_hidden = False


def hide_from_host_autogenerate() -> None:
    """From now on, every Alembic environment configured in this process leaves rxchat's tables out of its
    comparison (added to its own `include_name`, if it has one); rxchat's own environment, the one that
    keeps `rxchat_alembic_version`, is left as it is. Idempotent."""
    global _hidden
    if _hidden:
        return
    from alembic.runtime.environment import EnvironmentContext

    configure = EnvironmentContext.configure

    def configure_without_rxchat(self: EnvironmentContext, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("version_table") != VERSION_TABLE:
            kwargs["include_name"] = _and(kwargs.get("include_name"))
        return configure(self, *args, **kwargs)

    configure_without_rxchat.__doc__ = configure.__doc__
    EnvironmentContext.configure = configure_without_rxchat  # type: ignore[method-assign]
    _hidden = True


def _and(host_filter: Any) -> Any:
    if host_filter is None:
        return include_name

    def both(name: str | None, type_: str, parent_names: Any) -> bool:
        return include_name(name, type_, parent_names) and host_filter(name, type_, parent_names)

    return both
