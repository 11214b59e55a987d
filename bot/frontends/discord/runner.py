"""The Discord bot that ``imgbot run`` starts (bot/run.py), and ``imgbot discord sync``."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from contextlib import suppress
from datetime import timedelta

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.core.community.engine import CircleEngine
from bot.core.context import App
from bot.frontends.discord.client import DEFER_AFTER, PLATFORM, Frontend, Tree, create_client
from bot.frontends.discord.port import DiscordChannelPort, DiscordDMPort
from bot.runtime import build_app, build_engine, instance_id, setup_logging
from bot.scheduler import NudgeScheduler
from bot.settings import Settings

log = logging.getLogger(__name__)

UNPACED = 1_000.0  # deliveries/s: the engine's pacer never binds; the port's does
API_VERSION_PATH = re.compile(r"/api/v\d+/?$")


def api_base(url: str) -> str:
    """``http://proxy:8080`` -> ``http://proxy:8080/api/v10``; a URL with /api/vN is kept."""
    url = url.rstrip("/")
    return url if API_VERSION_PATH.search(url) else f"{url}/api/v10"


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at a REST proxy and/or a gateway proxy (process-wide, as discord.py has it)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = api_base(settings.discord_api_base)
    if settings.discord_gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    return settings.discord_token.get_secret_value().strip()


async def sync_tree(tree: Tree, guild_id: int | None) -> int:
    """Publish the commands globally, or to one guild (instant; for development)."""
    if guild_id is None:
        return len(await tree.sync())
    guild = discord.Object(id=guild_id)
    tree.copy_global_to(guild=guild)
    return len(await tree.sync(guild=guild))


class DiscordBot:
    """The client, its DM port, the nudge engine and the scheduler, sharing one app."""

    def __init__(self, app: App, settings: Settings, *, defer_after: float = DEFER_AFTER) -> None:
        configure_endpoints(settings)
        self.app = app
        self.settings = settings
        self.frontend = Frontend(app, defer_after=defer_after)
        self.client = create_client(
            self.frontend,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
            on_setup=self._setup,
        )
        # The port paces each DM request at dm_rate right before it goes out (see DiscordDMPort), so
        # the engine's own pacer is set out of the way. Enough deliveries are in flight that ~150 ms
        # Discord round trips never cap throughput below dm_rate, and batches of due users are large
        # because the pipeline drains between batches.
        self.port = DiscordDMPort(self.client, app, rate=settings.dm_rate)
        self.engine = build_engine(app, settings, {PLATFORM: self.port}, rate=UNPACED, concurrency=16, batch=2000)
        # circle posts in their channels, on the same wake job
        self.channel_port = DiscordChannelPort(self.client, rate=settings.dm_rate)
        self.circles = CircleEngine(
            app,
            {PLATFORM: self.channel_port},
            instance=instance_id(settings),
            lease=timedelta(seconds=settings.lease_seconds),
        )
        self.scheduler = NudgeScheduler(self.engine, settings.heartbeat_seconds, [self.circles])
        self._scheduler_task: asyncio.Task[None] | None = None

    async def _setup(self) -> None:
        """After login, before the gateway: dev-guild command sync, then the scheduler."""
        if self.settings.discord_dev_guild_id:
            n = await sync_tree(self.client.tree, self.settings.discord_dev_guild_id)
            log.info("synced %d commands to the dev guild %s", n, self.settings.discord_dev_guild_id)
        # In the background: a backlog of due nudges must not hold up the gateway connection.
        self._scheduler_task = asyncio.create_task(self.scheduler.start(), name="imgbot-scheduler-start")

    async def run(self) -> None:
        """Log in and stay connected until closed. Raises discord.LoginFailure for a bad token."""
        await self.client.start(_token(self.settings))

    async def stop(self) -> None:
        """SIGTERM: stop claiming, let DMs in flight finish, hand back the rest, then disconnect."""
        await self.scheduler.shutdown()
        await self.client.close()

    async def close(self) -> None:
        await self.scheduler.shutdown()
        if self._scheduler_task is not None and not self._scheduler_task.done():
            self._scheduler_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._scheduler_task
        await self.client.close()


LOGIN_REFUSED = (
    "Discord rejected DISCORD_TOKEN (401 Unauthorized); copy the bot token again from "
    "the Developer Portal (Bot > Reset Token)"
)


def start_failure(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit code for an error that kept the Discord client from starting
    (``imgbot run``), or None for an error this does not know."""
    if isinstance(exc, discord.LoginFailure):
        return LOGIN_REFUSED, 2
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused a privileged gateway intent; this bot needs none, so check the proxy", 2
    if isinstance(exc, (aiohttp.ClientError, OSError, discord.GatewayNotFound)):
        return f"could not reach Discord at {discord.http.Route.BASE} ({exc})", 1
    return None


def _fail(message: str, code: int) -> int:
    print(f"imgbot: {message}", file=sys.stderr)
    return code


async def sync(settings: Settings, guild_id: int | None) -> int:
    configure_endpoints(settings)
    app = await build_app(settings)
    client = create_client(Frontend(app))
    try:
        await client.login(_token(settings))
        count = await sync_tree(client.tree, guild_id)
    except discord.LoginFailure:
        return _fail(LOGIN_REFUSED, 2)
    except discord.HTTPException as exc:
        return _fail(f"Discord refused the commands: HTTP {exc.status} {exc.text}", 1)
    except (aiohttp.ClientError, OSError) as exc:
        return _fail(f"could not reach Discord at {discord.http.Route.BASE} ({exc})", 1)
    finally:
        await client.close()
        await app.store.close()
    where = f"to guild {guild_id} (available now)" if guild_id else "globally"
    print(f"synced {count} commands {where}")
    return 0


def sync_commands(settings: Settings, guild_id: int | None) -> int:
    setup_logging(settings, quiet=True)
    return asyncio.run(sync(settings, guild_id))
