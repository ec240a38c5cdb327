"""Canned replies and the indexes reports read

`rxchat_canned_replies` holds the team's saved answers (title unique case-insensitively through
`title_key`). The reports (rxchat/services/reports.py) aggregate over ranges of days: conversations by their
`created_at` (with the product beside it), messages by `created_at`, and each conversation's first shopper
and first agent message by (session_id, author, created_at), so none of them scans the tables or the bodies.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rxchat_canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("title_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rxchat_canned_replies_title_key", "rxchat_canned_replies", ["title_key"], unique=True)
    op.create_index("ix_chat_sessions_created_product", "product_chat_sessions", ["created_at", "product_id"])
    op.create_index("ix_chat_messages_created_author", "product_chat_messages", ["created_at", "author"])
    op.create_index(
        "ix_chat_messages_session_author_created", "product_chat_messages", ["session_id", "author", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_chat_messages_session_author_created", table_name="product_chat_messages")
    op.drop_index("ix_chat_messages_created_author", table_name="product_chat_messages")
    op.drop_index("ix_chat_sessions_created_product", table_name="product_chat_sessions")
    op.drop_index("ix_rxchat_canned_replies_title_key", table_name="rxchat_canned_replies")
    op.drop_table("rxchat_canned_replies")
