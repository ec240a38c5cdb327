"""Operator commands: `python -m rxchat <command>`.

Results go to stdout, errors to stderr as one sentence; exit 0 on success,
1 on a refused request, 2 on bad usage (argparse's own).
"""

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from rxchat import db, migrations
from rxchat.services import catalog
from rxchat.services.errors import ChatError

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, str]]


async def _migrate(_args: argparse.Namespace) -> str:
    await asyncio.to_thread(migrations.upgrade)
    return "Database is at the newest schema."


async def _seed_demo(_args: argparse.Namespace) -> str:
    async with db.session() as s:
        added = await catalog.seed_demo(s)
    return f"Demo catalog ready ({added} new products, {len(catalog.DEMO_PRODUCTS)} in all)."


COMMANDS: dict[str, tuple[str, Command]] = {
    "migrate": ("apply pending database migrations (idempotent)", _migrate),
    "seed-demo": ("load the demo catalog (idempotent)", _seed_demo),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rxchat", description="rxchat operator commands.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (help_text, _run) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


async def _run(command: Command, args: argparse.Namespace) -> str:
    try:
        return await command(args)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _help, command = COMMANDS[args.command]
    try:
        print(asyncio.run(_run(command, args)))
    except ChatError as error:
        print(error.message, file=sys.stderr)
        return 1
    return 0
