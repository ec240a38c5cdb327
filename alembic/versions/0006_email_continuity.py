"""Email continuity: resume tokens and the outbox of reply emails

`rxchat_email_subscriptions` (the shopper's own consent, per conversation), `rxchat_email_tokens` (resume and
unsubscribe links, SHA-256 of the token only) and `rxchat_email_outbox` (one row per email, claimed by one
sender). Each goes with its conversation (ON DELETE CASCADE). docs/email.md.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SESSIONS_ID = "product_chat_sessions.id"


def upgrade() -> None:
    op.create_table(
        "rxchat_email_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("emailed_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], [SESSIONS_ID], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id"),
    )
    op.create_table(
        "rxchat_email_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], [SESSIONS_ID], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rxchat_email_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rxchat_email_tokens_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rxchat_email_tokens_token_hash"), ["token_hash"], unique=True)
    op.create_table(
        "rxchat_email_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("from_seq", sa.Integer(), nullable=False),
        sa.Column("to_seq", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], [SESSIONS_ID], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rxchat_email_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rxchat_email_outbox_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index("ix_email_outbox_status_next", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("rxchat_email_outbox")
    op.drop_table("rxchat_email_tokens")
    op.drop_table("rxchat_email_subscriptions")
