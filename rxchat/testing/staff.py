"""Staff accounts for tests, made with the operator command `rxchat create-agent`.

Only the standard library: the pytest plugin imports this module in every pytest run
of an environment where rxchat is installed.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CREATE_TIMEOUT_SECS = 120


@dataclass(frozen=True)
class StaffAccount:
    """A staff account that can sign in to the console at `/agent/login`."""

    email: str
    password: str
    name: str


def create_staff_account(
    env: Mapping[str, str] | None = None,
    *,
    name: str = "Test Agent",
    email: str | None = None,
    password: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> StaffAccount:
    """Create a staff account in the database the app under test uses, and return it.

    Runs `python -m rxchat create-agent --email E --name N --password-stdin` with this
    interpreter, the environment `env` (default: this process's) and the working
    directory `cwd` (default: this process's). The database is the one that
    environment names: `REFLEX_DB_URL`, else what the app's `rxconfig.py` in `cwd`
    names. `email` defaults to a fresh random address and `password` to a random
    one of 24 characters, so every call makes a new account.

    Raises `RuntimeError` with the command's own sentence when it refuses (a
    duplicate email, a password under 12 characters, a database that cannot be
    reached or has not been migrated).
    """
    account = StaffAccount(
        email=email or f"staff-{secrets.token_hex(6)}@example.com",
        password=password or secrets.token_urlsafe(18),
        name=name,
    )
    command = [sys.executable, "-m", "rxchat", "create-agent", "--email", account.email, "--name", name]
    result = subprocess.run(
        [*command, "--password-stdin"],
        input=account.password + "\n",
        env=dict(os.environ if env is None else env),
        cwd=Path(cwd) if cwd is not None else None,
        capture_output=True,
        text=True,
        timeout=CREATE_TIMEOUT_SECS,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        database = _without_password((env if env is not None else os.environ).get("REFLEX_DB_URL", "")) or (
            "the one rxconfig.py names"
        )
        raise RuntimeError(
            f"`rxchat create-agent --email {account.email}` failed (exit {result.returncode}): {reason} "
            f"[database: {database}; override the `rxchat_env` fixture to point at the app under test]"
        )
    return account


def _without_password(url: str) -> str:
    """The database URL for a message, its password (if any) masked."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
