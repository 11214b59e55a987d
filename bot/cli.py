"""The ``imgbot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.core.errors import ConfigError
from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir


def _fail(message: str) -> int:
    print(f"imgbot: {message}", file=sys.stderr)
    return 2


def _load_settings(**overrides: object):
    from bot.settings import load_settings

    return load_settings(**overrides)


def _validate(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else shipped_playbooks_dir()
    try:
        library = load_playbooks(directory)
    except PlaybookLoadError as exc:
        for err in exc.errors:
            print(err)
        print(f"{len(exc.errors)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"ok: {len(library)} playbook(s) in {directory}: {', '.join(library.ids)}")
    return 0


def _commands(args: argparse.Namespace) -> int:
    from bot.core.commands import build_registry
    from bot.core.docs import markdown_reference

    print(markdown_reference(build_registry()), end="")
    return 0


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _console(args: argparse.Namespace) -> int:
    from bot.core.clock import OffsetClock
    from bot.frontends.console import run_console
    from bot.runtime import build_app, instance_id, setup_logging

    overrides: dict[str, object] = {}
    if args.db:
        overrides["database_url"] = f"sqlite:///{Path(args.db).expanduser().resolve()}"
    settings = _load_settings(**overrides)
    setup_logging(settings, quiet=True)
    try:
        now = _parse_now(args.now)
    except ValueError:
        return _fail(f"--now: '{args.now}' is not an ISO date-time such as 2027-01-15T10:00")
    clock = OffsetClock(now) if now else None

    async def main() -> int:
        app = await build_app(settings, clock)
        instance = f"console-{args.user}@{instance_id(settings)}"
        return await run_console(app, args.user, settings.heartbeat_seconds, settings.dm_rate, instance=instance)

    return asyncio.run(main())


def _run(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings.discord_token is None and settings.slack_bot_token is None:
        return _fail(
            "no DISCORD_TOKEN or SLACK_BOT_TOKEN is set, so there is no chat platform to connect to; "
            "run 'imgbot console' to use the bot locally"
        )
    if settings.discord_token is None:
        return _fail("Slack is not supported in this release yet; set DISCORD_TOKEN or run 'imgbot console'")
    from bot.frontends.discord.runner import run_discord

    return run_discord(settings)


def _discord_sync(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings.discord_token is None:
        return _fail("DISCORD_TOKEN is not set")
    from bot.frontends.discord.runner import sync_commands

    return sync_commands(settings, args.guild)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgbot", description="IMG Peer Bot: networking for IMGs")
    sub = parser.add_subparsers(dest="cmd", required=True)

    con = sub.add_parser("console", help="use the bot in this terminal (no tokens needed)")
    con.add_argument("--user", default="me", help="local user name (default: me)")
    con.add_argument("--db", help="SQLite file (default: IMGBOT_DATABASE_URL or the user data dir)")
    con.add_argument("--now", help="pretend the current time is this ISO date-time (demos, testing)")
    con.set_defaults(func=_console)

    run = sub.add_parser("run", help="connect to Discord and run the scheduler")
    run.set_defaults(func=_run)

    cmds = sub.add_parser("commands", help="print the command reference")
    cmds.add_argument("--markdown", action="store_true", help="as Markdown (the README's reference)")
    cmds.set_defaults(func=_commands)

    pb = sub.add_parser("playbooks", help="work with playbook files")
    pb_sub = pb.add_subparsers(dest="pb_cmd", required=True)
    val = pb_sub.add_parser("validate", help="check every playbook file")
    val.add_argument("dir", nargs="?", help="playbook directory (default: the shipped one)")
    val.set_defaults(func=_validate)

    dc = sub.add_parser("discord", help="Discord administration")
    dc_sub = dc.add_subparsers(dest="dc_cmd", required=True)
    sync = dc_sub.add_parser("sync", help="publish slash commands (globally, or to one guild)")
    sync.add_argument("--guild", type=int, help="guild id for an instant, guild-only sync")
    sync.set_defaults(func=_discord_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        return _fail(str(exc))
    except PlaybookLoadError as exc:
        print("imgbot: the playbook directory has problems:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `imgbot console | head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
