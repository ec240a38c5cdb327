"""Operator commands: `python -m rxchat <command>`.

Results go to stdout, errors to stderr as one sentence; exit 0 on success,
1 on a refused request, 2 on bad usage (argparse's own). Run in a host app's
directory, the commands work on the database its rxconfig.py names.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from rxchat import db, migrations
from rxchat.services import agents, catalog, lifecycle
from rxchat.services.errors import ChatError
from rxchat.settings import DB_URL_VARIABLES, use_app_database

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, str]]


async def _migrate(_args: argparse.Namespace) -> str:
    await asyncio.to_thread(migrations.upgrade)
    return "Database is at the newest schema."


async def _seed_demo(_args: argparse.Namespace) -> str:
    async with db.session() as s:
        added = await catalog.seed_demo(s)
    return f"Demo catalog ready ({added} new products, {len(catalog.DEMO_PRODUCTS)} in all)."


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


async def _create_agent(args: argparse.Namespace) -> str:
    password = _password_from_stdin()
    async with db.session() as s:
        agent = await agents.create_agent(s, email=args.email, name=args.name, password=password)
    return f"Created staff account {agent.email} ({agent.display_name})."


async def _reset_password(args: argparse.Namespace) -> str:
    password = _password_from_stdin()
    async with db.session() as s:
        await agents.reset_password(s, email=args.email, password=password)
    return f"Password changed for {args.email.strip().lower()}; their console sign-ins were ended."


async def _deactivate_agent(args: argparse.Namespace) -> str:
    async with db.session() as s:
        await agents.deactivate_agent(s, email=args.email)
    return f"Deactivated {args.email.strip().lower()}; their sign-ins and API tokens no longer work."


async def _create_api_token(args: argparse.Namespace) -> str:
    async with db.session() as s:
        return await agents.create_api_token(s, email=args.email)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


async def _sweep(_args: argparse.Namespace) -> str:
    try:
        async with db.session() as s:
            result = await lifecycle.sweep_once(s)
    except RedisError as error:
        failure = type(error).__name__
        raise ChatError(f"Redis, which holds the sweep lock, failed ({failure}); the sweep did not finish.") from error
    if result is None:
        raise ChatError("Another sweep is running now; nothing was removed.")
    return f"Removed {_plural(result.sessions, 'expired session')} and {_plural(result.messages, 'message')}."


COMMANDS: dict[str, tuple[str, Command]] = {
    "migrate": ("apply pending database migrations (idempotent)", _migrate),
    "seed-demo": ("load the demo catalog (idempotent)", _seed_demo),
    "create-agent": ("create a staff account; the password is one line on stdin", _create_agent),
    "reset-password": ("set a staff account's password (one line on stdin); ends its sign-ins", _reset_password),
    "deactivate-agent": ("deactivate a staff account; ends its sign-ins and API tokens at once", _deactivate_agent),
    "create-api-token": ("print a new staff API token for the HTTP API", _create_api_token),
    "sweep": ("remove expired sessions and their messages now, and print how many", _sweep),
}
ARGUMENTS = {
    "create-agent": ("email", "name", "password-stdin"),
    "reset-password": ("email", "password-stdin"),
    "deactivate-agent": ("email",),
    "create-api-token": ("email",),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rxchat", description="rxchat operator commands.", allow_abbrev=False
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (help_text, _run) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        arguments = ARGUMENTS.get(name, ())
        if "email" in arguments:
            command.add_argument("--email", required=True, help="the staff member's email")
        if "name" in arguments:
            command.add_argument("--name", required=True, help="the display name shoppers see")
        if "password-stdin" in arguments:
            command.add_argument(
                "--password-stdin",
                action="store_true",
                required=True,
                help="read the password (at least 12 characters) as one line from stdin",
            )
    return parser


async def _run(command: Command, args: argparse.Namespace) -> str:
    try:
        return await command(args)
    finally:
        await db.dispose()


def use_this_directorys_app() -> None:
    """Run in a Reflex app's directory (its rxconfig.py), a command works on the database the app's config
    names; REFLEX_DB_URL (or RXCHAT_DB_URL) still wins, and elsewhere rxchat's default is used."""
    if any(os.environ.get(name) for name in DB_URL_VARIABLES) or not Path("rxconfig.py").is_file():
        return  # (Reflex is not even imported then)
    from reflex.config import get_config

    use_app_database(get_config().db_url)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _help, command = COMMANDS[args.command]
    use_this_directorys_app()
    try:
        print(asyncio.run(_run(command, args)))
    except ChatError as error:
        print(error.message, file=sys.stderr)
        return 1
    except SQLAlchemyError as error:  # named by its class only: its text may hold the database URL
        hint = "" if args.command == "migrate" else "; a new database needs `python -m rxchat migrate` first"
        print(f"The database refused the command ({type(error).__name__}){hint}.", file=sys.stderr)
        return 1
    return 0
