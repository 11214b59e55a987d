"""``imgbot run``: every platform whose token is set, in one event loop (Discord alone, Slack
alone, or both).

Slack starts when SLACK_BOT_TOKEN (or SLACK_CLIENT_ID/SECRET for OAuth installs) is set,
Discord when DISCORD_TOKEN is. They share one app, one nudge engine with a port per platform,
one scheduler (one wake job per instance) and one ops HTTP server.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import suppress

import aiohttp

from bot.core.context import App
from bot.core.errors import ConfigError
from bot.runtime import build_app, build_ops, instance_id, setup_logging
from bot.settings import Settings
from bot.telemetry import PrometheusTelemetry

log = logging.getLogger(__name__)


def slack_enabled(settings: Settings) -> bool:
    return settings.slack_bot_token is not None or (
        settings.slack_client_id is not None and settings.slack_client_secret is not None
    )


def _fail(message: str, code: int) -> int:
    print(f"imgbot: {message}", file=sys.stderr)
    return code


async def serve(settings: Settings, app: App | None = None) -> int:
    """Run every platform whose token is set (Discord, Slack, or both in one event loop) until
    SIGTERM or Ctrl-C; the exit code for ``imgbot run``."""
    from bot.frontends.discord.runner import DiscordBot, start_failure
    from bot.frontends.slack.app import PLATFORM as SLACK
    from bot.frontends.slack.runner import SlackBot

    telemetry = PrometheusTelemetry(instance_id(settings))
    app = app or await build_app(settings, telemetry=telemetry)
    app.telemetry = telemetry
    with_slack = slack_enabled(settings)
    try:
        if with_slack and (problem := await app.store.sealed_token_problem()) is not None:
            raise ConfigError(problem)
        discord_bot = DiscordBot(app, settings) if settings.discord_token is not None else None
        slack = (
            SlackBot(
                app,
                settings,
                engine=discord_bot.engine if discord_bot else None,
                circles=discord_bot.circles if discord_bot else None,
            )
            if with_slack
            else None
        )
    except ConfigError:
        await app.store.close()
        raise
    bots: list[DiscordBot | SlackBot] = [b for b in (slack, discord_bot) if b is not None]
    platforms = {}
    if slack is not None:
        platforms[SLACK] = slack.is_connected
    if discord_bot is not None:
        platforms["discord"] = discord_bot.client.is_ready
    ops = None
    if settings.http_port is not None:
        ops = build_ops(settings, app, bots[0].engine, telemetry, platforms)
        if slack is not None and slack.mode == "http":
            slack.mount(ops)
        await ops.start(settings.http_host, settings.http_port)
        log.info("health and metrics on port %s", ops.port)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    async def stop() -> None:
        for b in bots:
            await b.stop()

    with suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, lambda: stopping.append(loop.create_task(stop())))
    runs = {asyncio.ensure_future(b.run()): b for b in bots}
    code = 0
    try:
        done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            exc = task.exception()
            if exc is None:
                continue
            if isinstance(exc, ConfigError):
                code = _fail(str(exc), 2)
            elif runs[task] is discord_bot and (known := start_failure(exc)) is not None:
                code = _fail(*known)
            elif isinstance(exc, (aiohttp.ClientError, OSError)):
                code = _fail(f"could not reach Slack ({type(exc).__name__})", 1)
            else:
                raise exc
            break
    finally:
        with suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
        for task in stopping:
            await task
        await stop()
        for task in runs:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
        if discord_bot is not None:
            await discord_bot.close()
        if ops is not None:
            await ops.stop()
        await app.store.close()
    return code


def run(settings: Settings) -> int:
    if slack_enabled(settings):
        from bot.frontends.slack.runner import check_settings

        check_settings(settings)  # a missing app token or signing secret: one line, before any connection
    setup_logging(settings)
    try:
        return asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 130
