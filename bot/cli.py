"""The ``imgbot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.errors import ConfigError, StorageError
from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir

if TYPE_CHECKING:
    from bot.settings import Settings


def _fail(message: str) -> int:
    print(f"imgbot: {message}", file=sys.stderr)
    return 2


def _load_settings(**overrides: object) -> Settings:
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


# --now outside these years is a typo; far out, dates overflow (9999) or are written in a form
# the store cannot read back (years before 1000), and the next normal start would fail on them.
NOW_YEARS = (2000, 2100)


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _now_in_range(when: datetime) -> bool:
    try:
        year = when.astimezone(UTC).year
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the year 1 in UTC
        return False
    return NOW_YEARS[0] <= year <= NOW_YEARS[1]


def _console(args: argparse.Namespace) -> int:
    from bot.core.clock import OffsetClock
    from bot.frontends.console import console_origin, run_console
    from bot.runtime import build_app, instance_id, setup_logging

    overrides: dict[str, object] = {}
    if args.db:
        overrides["database_url"] = f"sqlite:///{Path(args.db).expanduser().resolve()}"
    settings = _load_settings(**overrides)
    setup_logging(settings, quiet=True)
    if (args.channel or args.admin) and not args.community:
        return _fail("--channel and --admin need --community NAME")
    try:
        now = _parse_now(args.now)
    except (ValueError, OverflowError):
        return _fail(f"--now: '{args.now}' is not an ISO date-time such as 2027-01-15T10:00")
    if now is not None and not _now_in_range(now):
        low, high = NOW_YEARS
        return _fail(f"--now: {args.now} is outside the years {low}-{high}; use a date-time such as 2027-01-15T10:00")
    clock = OffsetClock(now) if now else None

    async def main() -> int:
        app = await build_app(settings, clock)
        instance = f"console-{args.user}@{instance_id(settings)}"
        origin = console_origin(args.community, args.channel, args.admin)
        return await run_console(
            app, args.user, settings.heartbeat_seconds, settings.dm_rate, instance=instance, origin=origin
        )

    return asyncio.run(main())


def _run(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings.discord_token is None and settings.slack_bot_token is None and settings.slack_client_id is None:
        return _fail(
            "no DISCORD_TOKEN or SLACK_BOT_TOKEN is set, so there is no chat platform to connect to; "
            "run 'imgbot console' to use the bot locally"
        )
    from bot.run import run

    return run(settings)  # Discord, Slack, or both


def _discord_sync(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if settings.discord_token is None:
        return _fail("DISCORD_TOKEN is not set")
    from bot.frontends.discord.runner import sync_commands

    return sync_commands(settings, args.guild)


def _slack_manifest(args: argparse.Namespace) -> int:
    from bot.core.commands import build_registry
    from bot.frontends.slack.manifest import dump, manifest

    if args.url and not args.url.startswith(("https://", "http://")):
        return _fail(f"--url: '{args.url}' is not a URL; use the public https:// address of this bot")
    print(dump(manifest(build_registry(), url=args.url), args.format), end="")
    return 0


def _db_migrate(args: argparse.Namespace) -> int:
    from bot.store import open_store
    from bot.store.driver import redact_url

    overrides: dict[str, object] = {"database_url": args.url} if args.url else {}
    url = _load_settings(**overrides).database_url

    async def migrate() -> tuple[list[int], int]:
        store = await open_store(url, pool_size=1, migrate=False)
        try:
            applied = await store.migrate()
            return applied, await store.schema_version()
        except ConfigError:
            raise
        except Exception as exc:  # sqlite3 / asyncpg refusals (read-only file, no privilege): one line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot migrate the database at {store.url}: {redact_url(reason)}") from None
        finally:
            await store.close()

    applied, version = asyncio.run(migrate())
    if not applied:
        print(f"schema is current ({version}) at {redact_url(url)}")
    else:
        span = f"migration {applied[0]}" if len(applied) == 1 else f"migrations {applied[0]}-{applied[-1]}"
        print(f"applied {span} to {redact_url(url)} (schema {version})")
    return 0


def _db_copy(args: argparse.Namespace) -> int:
    from bot.store.copy import CountMismatch, copy_database, format_counts
    from bot.store.driver import redact_url

    print(f"copying {redact_url(args.source)} -> {redact_url(args.target)}")
    try:
        counts = asyncio.run(copy_database(args.source, args.target, force=args.force, batch=args.batch))
    except CountMismatch as exc:
        print("\n".join(format_counts(exc.counts)))
        print(f"MISMATCH: {exc}")
        return 1
    print("\n".join(format_counts(counts)))
    print(f"copied {sum(c.target for c in counts)} rows in {len(counts)} tables; all counts match")
    return 0


def _db_new_key(args: argparse.Namespace) -> int:
    from bot.store.secrets import new_key

    print(new_key())
    return 0


def _db_seal_tokens(args: argparse.Namespace) -> int:
    from bot.store import open_store
    from bot.store.secrets import SealedTokenError

    settings = _load_settings()
    if not settings.secret_keys:
        return _fail("IMGBOT_SECRET_KEY is not set: make a key with 'imgbot db new-key' and set it first")

    async def seal() -> tuple[int, int]:
        store = await open_store(settings.database_url, pool_size=1, secret_keys=settings.secret_keys)
        try:
            return await store.seal_tokens()
        finally:
            await store.close()

    try:
        changed, total = asyncio.run(seal())
    except SealedTokenError as exc:
        return _fail(f"{exc}; nothing was changed")
    print(f"sealed {changed} of {total} Slack tokens with the first IMGBOT_SECRET_KEY key")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgbot", description="IMG Peer Bot: networking for IMGs")
    sub = parser.add_subparsers(dest="cmd", required=True)

    con = sub.add_parser("console", help="use the bot in this terminal (no tokens needed)")
    con.add_argument("--user", default="me", help="local user name (default: me)")
    con.add_argument("--db", help="SQLite file (default: IMGBOT_DATABASE_URL or the user data dir)")
    con.add_argument("--now", help="pretend the current time is this ISO date-time (demos, testing)")
    con.add_argument("--community", help="simulate typing in this community (a server or workspace) by name")
    con.add_argument("--channel", help="the community channel to type in (default: general; needs --community)")
    con.add_argument("--admin", action="store_true", help="act as an admin of --community")
    con.set_defaults(func=_console)

    run = sub.add_parser("run", help="connect to Slack and/or Discord and run the scheduler")
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

    sl = sub.add_parser("slack", help="Slack administration")
    sl_sub = sl.add_subparsers(dest="sl_cmd", required=True)
    man = sl_sub.add_parser("manifest", help="print the Slack app manifest (paste it when creating the app)")
    man.add_argument("--format", choices=("yaml", "json"), default="yaml", help="YAML (default) or JSON")
    man.add_argument(
        "--url", help="HTTP mode: the bot's public base URL (Slack then posts to URL/slack/events); default Socket Mode"
    )
    man.set_defaults(func=_slack_manifest)

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_cmd", required=True)
    mig = db_sub.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--url", help="database URL (default: IMGBOT_DATABASE_URL)")
    mig.set_defaults(func=_db_migrate)
    cp = db_sub.add_parser(
        "copy",
        help="copy every row from one database into another (e.g. SQLite to PostgreSQL)",
        description="Copy every row from one database into another, ids and all, in one target transaction; "
        "both are migrated first. Stop the bot on the source while this runs.",
    )
    cp.add_argument("--from", dest="source", required=True, metavar="URL", help="the database to copy from")
    cp.add_argument("--to", dest="target", required=True, metavar="URL", help="the database to copy into")
    cp.add_argument(
        "--force",
        action="store_true",
        help="the target has data: delete it all, in the same transaction as the copy (default: refuse)",
    )
    cp.add_argument("--batch", type=int, default=5000, help="rows read and written at a time (default: 5000)")
    cp.set_defaults(func=_db_copy)
    nk = db_sub.add_parser("new-key", help="print a new key for IMGBOT_SECRET_KEY (seals stored Slack tokens)")
    nk.set_defaults(func=_db_new_key)
    st = db_sub.add_parser(
        "seal-tokens",
        help="seal every stored Slack token with the first IMGBOT_SECRET_KEY key (after setting or rotating it)",
    )
    st.set_defaults(func=_db_seal_tokens)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        return _fail(str(exc))
    except StorageError as exc:  # the database failed outside any command (start-up, shutdown)
        return _fail(exc.message)
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
