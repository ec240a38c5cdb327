"""Staff accounts, sign-ins and API tokens.

Passwords are hashed with argon2. Sign-in secrets (console sessions and API
tokens) are random 256-bit tokens; only their SHA-256 is stored, so a copy of
the database signs no one in. Every check reads the database, so deactivating
an agent or signing out takes effect on the very next request.
"""

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import utcnow
from rxchat.models import Agent, AgentCredential, AgentPublic
from rxchat.services import errors, limits, profile
from rxchat.services.ids import hash_token

CONSOLE_SIGN_IN_TTL = timedelta(days=7)  # a console sign-in lasts this long
MIN_PASSWORD_CHARS = 12

_hasher = PasswordHasher()
# A fixed hash to verify against when the email is unknown, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


class InvalidCredentials(errors.ChatError):
    code = "invalid_credentials"
    status = 401
    key = "error.invalid_credentials"


class AgentExists(errors.ChatError):
    code = "agent_exists"
    status = 409
    key = "error.agent_exists"


class AgentNotFound(errors.ChatError):
    code = "agent_not_found"
    status = 404
    key = "error.agent_not_found"


def normalize_email(email: object) -> str:
    """A new account's email: valid by the one email rule, trimmed and lower-cased (InvalidInput otherwise)."""
    return profile.clean_email(email)


def lookup_email(email: object) -> str:
    """An email to find an existing account by: only trimmed and lower-cased, so an account made under an
    older, looser rule can still sign in and be managed."""
    return email.strip().lower()[:320] if isinstance(email, str) else ""


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise errors.InvalidInput(key="error.password_too_short", min=MIN_PASSWORD_CHARS)
    if len(password) > 1024:
        raise errors.InvalidInput(key="error.password_too_long")
    return password


def _to_public(agent: Agent) -> AgentPublic:
    return AgentPublic(id=agent.id or 0, email=agent.email, display_name=agent.display_name)


async def _agent_by_email(db: AsyncSession, email: str) -> Agent | None:
    return (await db.exec(select(Agent).where(Agent.email == email))).first()


async def create_agent(db: AsyncSession, *, email: str, name: str, password: str) -> AgentPublic:
    address = normalize_email(email)
    display_name = (name or "").strip()
    if not display_name or len(display_name) > 80:
        raise errors.InvalidInput(key="error.display_name", max=80)
    password_hash = await asyncio.to_thread(_hasher.hash, _check_password(password))
    if await _agent_by_email(db, address) is not None:
        raise AgentExists()
    agent = Agent(email=address, display_name=display_name, password_hash=password_hash)
    db.add(agent)
    await db.commit()
    return _to_public(agent)


async def reset_password(db: AsyncSession, *, email: str, password: str) -> None:
    agent = await _agent_by_email(db, lookup_email(email))
    if agent is None:
        raise AgentNotFound()
    agent.password_hash = await asyncio.to_thread(_hasher.hash, _check_password(password))
    db.add(agent)
    await _revoke_all(db, agent.id, kind="console")
    await db.commit()


async def deactivate_agent(db: AsyncSession, *, email: str) -> None:
    """Ends the agent's sign-ins and API tokens at once."""
    agent = await _agent_by_email(db, lookup_email(email))
    if agent is None:
        raise AgentNotFound()
    agent.is_active = False
    db.add(agent)
    await _revoke_all(db, agent.id, kind=None)
    await db.commit()


async def _revoke_all(db: AsyncSession, agent_id: int | None, *, kind: str | None) -> None:
    query = select(AgentCredential).where(
        AgentCredential.agent_id == agent_id, col(AgentCredential.revoked_at).is_(None)
    )
    if kind:
        query = query.where(AgentCredential.kind == kind)
    now = utcnow()
    for credential in (await db.exec(query)).all():
        credential.revoked_at = now
        db.add(credential)


async def sign_in(
    db: AsyncSession, *, email: str, password: str, client_address: str | None = None
) -> tuple[AgentPublic, str]:
    """Check credentials and start a console sign-in; returns the agent and the secret token.

    The attempt is counted for the client address and the email before anything is looked up or hashed
    (`limits.count_sign_in`, RateLimited past the limit), so parallel guesses are capped as serial ones.
    A success gives its attempt back and forgets the email's failures.
    """
    email_key = f"email:{str(email).strip().lower()[:254]}"
    address_key = f"address:{client_address or 'unknown'}"
    await limits.count_sign_in(address_key, email_key)
    address = lookup_email(email)
    agent = await _agent_by_email(db, address) if address else None
    try:
        await asyncio.to_thread(_hasher.verify, agent.password_hash if agent else _DUMMY_HASH, str(password))
        ok = agent is not None and agent.is_active
    except (VerificationError, InvalidHashError):
        ok = False
    if agent is None or not ok:
        raise InvalidCredentials()  # the attempt stays counted
    await limits.sign_in_succeeded(email_key=email_key, address_key=address_key)
    token = await _issue(db, agent, kind="console", ttl=CONSOLE_SIGN_IN_TTL)
    return _to_public(agent), token


async def _issue(db: AsyncSession, agent: Agent, *, kind: str, ttl: timedelta | None) -> str:
    assert agent.id is not None  # a stored agent
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        AgentCredential(
            agent_id=agent.id,
            kind=kind,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl if ttl else None,
        )
    )
    await db.commit()
    return token


async def create_api_token(db: AsyncSession, *, email: str) -> str:
    agent = await _agent_by_email(db, lookup_email(email))
    if agent is None or not agent.is_active:
        raise AgentNotFound(key="error.agent_not_active")
    return await _issue(db, agent, kind="api", ttl=None)


_CREDENTIALS, _AGENTS = AgentCredential.__table__, Agent.__table__  # type: ignore[attr-defined]  # (SQLModel's typing)
# The one rule a sign-in token passes, in SQL, so a write can check it in its own statement: its
# credential of that kind, neither revoked nor expired, for an active agent.
_SIGNS_IN = sa.and_(
    _CREDENTIALS.c.token_hash == sa.bindparam("token_hash"),
    _CREDENTIALS.c.kind == sa.bindparam("kind"),
    _CREDENTIALS.c.revoked_at.is_(None),
    sa.or_(_CREDENTIALS.c.expires_at.is_(None), _CREDENTIALS.c.expires_at >= sa.bindparam("signed_in_at")),
    _AGENTS.c.id == _CREDENTIALS.c.agent_id,
    _AGENTS.c.is_active.is_(True),
)
# Built once, and Core columns rather than ORM rows: every staff action runs this check, and building the
# query or loading two entities cost more than running it.
_AGENT_SIGNED_IN = sa.select(_AGENTS.c.id, _AGENTS.c.email, _AGENTS.c.display_name).where(_SIGNS_IN)
# For a write's WHERE: that token still signs in that agent (`signed_in_params`).
STILL_SIGNED_IN = sa.exists().where(_SIGNS_IN, _AGENTS.c.id == sa.bindparam("signed_in_agent"))


def _sign_in_params(token: str, kind: str) -> dict[str, Any]:
    return {"token_hash": hash_token(token), "kind": kind, "signed_in_at": utcnow()}


def signed_in_params(token: str, *, agent_id: int, kind: str = "console") -> dict[str, Any]:
    """The parameters of STILL_SIGNED_IN."""
    return {**_sign_in_params(token, kind), "signed_in_agent": agent_id}


async def agent_for_token(db: AsyncSession, *, token: str, kind: str = "console") -> AgentPublic | None:
    """The active agent a secret token belongs to, or None (unknown, revoked, expired, deactivated)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    connection = await db.connection()
    row = (await connection.execute(_AGENT_SIGNED_IN, _sign_in_params(token, kind))).first()
    return AgentPublic(id=row.id, email=row.email, display_name=row.display_name) if row is not None else None


async def sign_out(db: AsyncSession, *, token: str) -> None:
    credential = (await db.exec(select(AgentCredential).where(AgentCredential.token_hash == hash_token(token)))).first()
    if credential is not None and credential.revoked_at is None:
        credential.revoked_at = utcnow()
        db.add(credential)
        await db.commit()


async def still_signed_in(db: AsyncSession, *, tokens: list[str], kind: str = "console") -> set[str]:
    """Which of these sign-in tokens still sign someone in, in one query (the live hub asks this
    of every open console, so a sign-out, reset or deactivation ends their live feed at once)."""
    by_hash = {hash_token(token): token for token in tokens if isinstance(token, str) and 20 <= len(token) <= 100}
    if not by_hash:
        return set()
    query = sa.select(_CREDENTIALS.c.token_hash).where(
        _CREDENTIALS.c.token_hash.in_(list(by_hash)),
        _CREDENTIALS.c.kind == kind,
        _CREDENTIALS.c.revoked_at.is_(None),
        sa.or_(_CREDENTIALS.c.expires_at.is_(None), _CREDENTIALS.c.expires_at >= utcnow()),
        _AGENTS.c.id == _CREDENTIALS.c.agent_id,
        _AGENTS.c.is_active.is_(True),
    )
    connection = await db.connection()
    return {by_hash[row.token_hash] for row in await connection.execute(query)}
