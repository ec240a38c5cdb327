"""rxchat_ prefix for the tables whose names a store uses too

`products`, `agents` and `agent_credentials` become `rxchat_products`, `rxchat_agents` and
`rxchat_agent_credentials`, so a host store's own table of such a name can live in the same database.
Since this revision, 0001 and 0002 create them under the new names; this renames them in a database made
before, where the old name is rxchat's (its new name not there yet). Rows, keys and the foreign key from
credentials to agents are kept; the indexes take the new tables' names (SQLite has no ALTER INDEX ...
RENAME, so each is made again). The two tables named by the original system, `product_chat_sessions` and
`product_chat_messages`, keep their names.

Downgrading leaves the new names: they are the names 0001 and 0002 create, which their own downgrades drop.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RENAMED = {"products": "rxchat_products", "agents": "rxchat_agents", "agent_credentials": "rxchat_agent_credentials"}
# The indexes of a renamed table: (old name, new name, columns, unique)
INDEXES = {
    "rxchat_agents": [("ix_agents_email", "ix_rxchat_agents_email", ["email"], True)],
    "rxchat_agent_credentials": [
        ("ix_agent_credentials_agent_id", "ix_rxchat_agent_credentials_agent_id", ["agent_id"], False),
        ("ix_agent_credentials_token_hash", "ix_rxchat_agent_credentials_token_hash", ["token_hash"], True),
    ],
}


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    for old, new in RENAMED.items():
        if old not in tables or new in tables:
            continue  # created under its new name (0001, 0002): an `old` table here is not rxchat's
        op.rename_table(old, new)
        for old_index, new_index, columns, unique in INDEXES.get(new, []):
            op.drop_index(old_index, table_name=new)
            op.create_index(new_index, new, columns, unique=unique)


def downgrade() -> None:
    pass
