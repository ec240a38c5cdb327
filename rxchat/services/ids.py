"""Session ids: how they are minted and the one function that validates them; and how any bearer token
(an agent's sign-in, an email link's) is kept in the database: only its SHA-256.

A session id is a bearer secret: `cs_` followed by 48 lowercase hex digits,
192 bits from the operating system's CSPRNG. Ids of the original system
(`session_{timestamp}_{random}_{fingerprint}`) are recognised only so adopted
conversations can be rotated to a strong id.
"""

import hashlib
import re
import secrets

SESSION_ID_PREFIX = "cs_"
SESSION_ID_BYTES = 24  # 192 random bits
SESSION_ID_RE = re.compile(r"^cs_[0-9a-f]{48}$")
LEGACY_SESSION_ID_RE = re.compile(r"^session_[0-9]{10,16}_[A-Za-z0-9]{1,32}_[A-Za-z0-9]{1,64}$")
PUBLIC_ID_RE = re.compile(r"^[0-9a-f]{16}$")
VISITOR_ID_RE = re.compile(r"^v[0-9a-f]{32}$")
PRODUCT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def mint_session_id() -> str:
    return SESSION_ID_PREFIX + secrets.token_hex(SESSION_ID_BYTES)


def mint_public_id() -> str:
    """A non-secret handle for a conversation (console, live rooms); no '_' so it can key a room."""
    return secrets.token_hex(8)


def mint_visitor_id() -> str:
    """The shopper's global id: groups their threads, grants nothing."""
    return "v" + secrets.token_hex(16)


def is_valid_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(SESSION_ID_RE.match(value))


def is_legacy_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(LEGACY_SESSION_ID_RE.match(value))


def is_valid_public_id(value: object) -> bool:
    return isinstance(value, str) and bool(PUBLIC_ID_RE.match(value))


def is_valid_visitor_id(value: object) -> bool:
    return isinstance(value, str) and bool(VISITOR_ID_RE.match(value))


def is_valid_product_id(value: object) -> bool:
    return isinstance(value, str) and bool(PRODUCT_ID_RE.match(value))


def hash_token(token: str) -> str:
    """What the database keeps of a bearer token: a leaked table gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
