"""SQLModel tables and the public shapes built from them.

Table names `product_chat_sessions` and `product_chat_messages` are kept from
the original system so its data can be adopted by a migration; every other
table is `rxchat_*`, so it never meets a host store's own table of that name.
State and API hold the *Public shapes, never live ORM rows.

The tables live on rxchat's own MetaData (`metadata`), not on SQLModel's
default one: a host's Reflex app declares its models there, and `reflex db
makemigrations` compares exactly that MetaData with the database, so it never
sees rxchat's tables to create them (rxchat/schema.py keeps it from dropping
them). rxchat's own migrations (alembic/) read `metadata`.
"""

import dataclasses
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from rxchat.clock import utcnow


class RxchatTable(SQLModel, registry=registry()):
    """The base of rxchat's tables: a registry and MetaData of their own (abstract: no table itself)."""


metadata: sa.MetaData = RxchatTable.metadata


# The product a chat is about, as the store's catalog describes it (`rxchat.Product`, the host's callable
# returns it). `price` is display text ("$39.00"), shown as given; the other fields are optional.
@dataclasses.dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: str | None = None
    image_url: str | None = None
    url: str | None = None  # the product's page in the store: the console's "Open product page"
    description: str | None = None


# A product of the demo catalog, the default product source (services/catalog.py); a host store passes
# its own catalog to `add_chat(app, products=...)` instead.
class DemoProduct(RxchatTable, table=True):
    __tablename__ = "rxchat_products"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    price_cents: int
    currency: str = Field(default="USD", max_length=3)
    image: str = Field(default="", max_length=300)  # a path under assets/
    description: str = Field(default="", max_length=4000)


# One shopper's thread about one product. `session_id` is the shopper's bearer
# secret; `public_id` is the handle staff and live rooms use instead.
class ChatSession(RxchatTable, table=True):
    __tablename__ = "product_chat_sessions"
    __table_args__ = (
        sa.Index("ix_chat_sessions_last_activity", "last_activity"),
        sa.Index("ix_chat_sessions_product_activity", "product_id", "last_activity"),
        # Reports: the conversations started in a range of days, with their product.
        sa.Index("ix_chat_sessions_created_product", "created_at", "product_id"),
        # Only sessions that never got a message, by age: how the sweeper finds the expired ones.
        sa.Index(
            "ix_chat_sessions_empty_created",
            "created_at",
            sqlite_where=sa.text("message_count = 0"),
            postgresql_where=sa.text("message_count = 0"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=128, unique=True, index=True)
    public_id: str = Field(max_length=32, unique=True, index=True)
    product_id: str = Field(max_length=64, index=True)
    visitor_id: str | None = Field(default=None, max_length=64, index=True)
    customer_name: str | None = Field(default=None, max_length=80)
    customer_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
    last_activity: datetime = Field(default_factory=utcnow)
    is_active: bool = Field(default=True)
    status: str = Field(default="open", max_length=16)  # open | closed
    message_count: int = Field(default=0)
    last_seq: int = Field(default=0)  # seq of the newest message
    agent_read_seq: int = Field(default=0)  # shopper messages up to here were shown to staff
    shopper_seen_seq: int = Field(default=0)  # agent replies up to here were shown to the shopper


# One message of a thread. `seq` numbers the messages of a session 1, 2, 3...;
# `client_key` is the sender's idempotency key, so a retried send is stored once.
class ChatMessage(RxchatTable, table=True):
    __tablename__ = "product_chat_messages"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "seq", name="uq_chat_messages_session_seq"),
        sa.UniqueConstraint("session_id", "client_key", name="uq_chat_messages_session_client_key"),
        # Reports (services/reports.py): messages per day read a range of created_at; first response times
        # read each conversation's first shopper and first agent message without touching the bodies.
        sa.Index("ix_chat_messages_created_author", "created_at", "author"),
        sa.Index("ix_chat_messages_session_author_created", "session_id", "author", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("product_chat_sessions.id", ondelete="CASCADE"), nullable=False)
    )
    seq: int
    author: str = Field(max_length=16)  # shopper | agent
    agent_name: str | None = Field(default=None, max_length=80)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    client_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


# A message as every reader sees it (the shopper's secret is not in it).
class MessagePublic(BaseModel):
    id: int
    seq: int
    author: str
    agent_name: str | None = None
    body: str
    client_key: str | None = None
    created_at: str  # ISO 8601 UTC


# A session as its own shopper (or the API caller holding its id) sees it.
class SessionPublic(BaseModel):
    session_id: str
    product_id: str
    customer_name: str | None = None
    customer_email: str | None = None
    created_at: str
    last_activity: str
    message_count: int
    is_active: bool
    status: str


# A member of the store's staff. `email` is stored lower-case, so it is unique case-insensitively.
class Agent(RxchatTable, table=True):
    __tablename__ = "rxchat_agents"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


# A staff sign-in (console) or API token; only the SHA-256 of the secret is stored.
class AgentCredential(RxchatTable, table=True):
    __tablename__ = "rxchat_agent_credentials"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("rxchat_agents.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)  # console | api
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


# What the console and API show of a signed-in agent.
class AgentPublic(BaseModel):
    id: int
    email: str
    display_name: str


# One row of the staff inbox: a conversation by its public handle, never the shopper's secret.
class ConversationSummary(BaseModel):
    conversation: str
    product_id: str
    product_name: str
    shopper_label: str
    customer_name: str | None = None
    customer_email: str | None = None
    status: str
    last_message: str
    last_author: str
    last_activity: str
    unread: int


# A canned reply: a saved answer the whole staff shares (services/canned.py). `title_key` is the title
# case-folded, unique, so "Shipping" and "shipping" cannot both exist; the console's `/` menu matches on it.
class CannedReply(RxchatTable, table=True):
    __tablename__ = "rxchat_canned_replies"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=80)
    title_key: str = Field(max_length=80, unique=True, index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# A canned reply as the console and the API show it.
class CannedReplyPublic(BaseModel):
    id: int
    title: str
    body: str
    updated_at: str  # ISO 8601 UTC


# Email continuity (rxchat/services/email.py, docs/email.md). All three go with their conversation (ON DELETE
# CASCADE): an erase or the expiry sweep removes pending emails and links too.


# The shopper's own consent, given in the widget, to have this conversation's replies emailed to `email`.
# `emailed_seq`: agent replies up to this seq are in an email already (queued or sent).
class EmailSubscription(RxchatTable, table=True):
    __tablename__ = "rxchat_email_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product_chat_sessions.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    email: str = Field(max_length=254)
    locale: str = Field(default="en", max_length=16)  # the widget's language: the email's
    emailed_seq: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


# A link sent in an email: only the SHA-256 of its random token is stored. `kind` resume: single use, expires;
# `kind` unsubscribe: works until its conversation goes.
class EmailToken(RxchatTable, table=True):
    __tablename__ = "rxchat_email_tokens"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product_chat_sessions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)  # resume | unsubscribe
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    used_at: datetime | None = None


# One reply email to send: the replies after `from_seq` up to `to_seq`. A sender claims it (`claimed_until`,
# a lease) before sending, so across workers and instances each email is sent once.
class EmailOutbox(RxchatTable, table=True):
    __tablename__ = "rxchat_email_outbox"
    __table_args__ = (sa.Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product_chat_sessions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    email: str = Field(max_length=254)
    from_seq: int
    to_seq: int
    status: str = Field(default="pending", max_length=16)  # pending | sent | skipped | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
