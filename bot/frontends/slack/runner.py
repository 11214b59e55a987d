"""Slack's part of ``imgbot run``: the front end, its DM port and (alone) the nudge scheduler.

Socket Mode (``SLACK_APP_TOKEN``) is the default: no public URL. HTTP mode
(``SLACK_SIGNING_SECRET`` without an app token) mounts ``/slack/events`` (and, with
``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``, ``/slack/install`` and ``/slack/oauth_redirect``)
on the ops HTTP server; bolt verifies each request's signature and its 5-minute window.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.core.community.engine import CircleEngine
from bot.core.context import App
from bot.core.errors import ConfigError
from bot.core.nudges import NudgeEngine
from bot.frontends.slack.app import BUSY_AFTER, DEFER_AFTER, PLATFORM, SlackFrontend
from bot.frontends.slack.clients import Connections
from bot.frontends.slack.port import SlackChannelPort, SlackDMPort, Workspaces
from bot.ops import OpsServer
from bot.runtime import build_engine, instance_id
from bot.scheduler import NudgeScheduler
from bot.settings import Settings

log = logging.getLogger(__name__)

UNPACED = 1_000.0  # deliveries/s: the engine's pacer never binds; the port's per-workspace one does
EVENTS_PATH = "/slack/events"
DRAIN_SECONDS = 10.0  # on stop, how long answers in flight may take to go out


def _secret(value: object) -> str | None:
    from pydantic import SecretStr

    return value.get_secret_value().strip() if isinstance(value, SecretStr) else None


def check_settings(settings: Settings) -> str:
    """``socket`` or ``http``, or ConfigError naming what is missing."""
    if settings.slack_app_token is not None:
        token = _secret(settings.slack_app_token) or ""
        if not token.startswith("xapp-"):
            raise ConfigError("invalid setting SLACK_APP_TOKEN: an app-level token starts with xapp-")
        return "socket"
    if settings.slack_signing_secret is None:
        raise ConfigError(
            "Slack needs SLACK_APP_TOKEN (Socket Mode, no public URL) or SLACK_SIGNING_SECRET (HTTP mode)"
        )
    if settings.http_port is None:
        raise ConfigError("Slack HTTP mode serves /slack/events on IMGBOT_HTTP_PORT; set it (e.g. 8080)")
    return "http"


class SlackBot:
    """The Slack front end, its DM port and its channel port (circle posts); with ``engine`` and
    ``circles`` given (Discord runs too) the ports join those engines and their one scheduler, else
    this bot runs its own, with circles as a duty on its one wake job."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        *,
        engine: NudgeEngine | None = None,
        circles: CircleEngine | None = None,
        defer_after: float = DEFER_AFTER,
        busy_after: int = BUSY_AFTER,
    ) -> None:
        self.app = app
        self.settings = settings
        self.mode = check_settings(settings)
        self.connections = Connections()  # one HTTP session for all of Slack's Web API and response_urls
        self.frontend = SlackFrontend(
            app, settings, defer_after=defer_after, busy_after=busy_after, connections=self.connections
        )
        self.workspaces = Workspaces(app, settings, _secret(settings.slack_bot_token), self.connections)
        self.port = SlackDMPort(app, self.workspaces, rate=settings.slack_dm_rate)
        self.channel_port = SlackChannelPort(self.port)
        self.scheduler: NudgeScheduler | None = None
        if circles is None:
            circles = CircleEngine(
                app,
                {PLATFORM: self.channel_port},
                instance=instance_id(settings),
                lease=timedelta(seconds=settings.lease_seconds),
            )
        else:
            circles.channels[PLATFORM] = self.channel_port
        self.circles = circles
        if engine is None:
            engine = build_engine(app, settings, {PLATFORM: self.port}, rate=UNPACED, concurrency=32, batch=2000)
            self.scheduler = NudgeScheduler(engine, settings.heartbeat_seconds, [circles])
        else:
            engine.ports[PLATFORM] = self.port
        self.engine = engine
        self.socket: AsyncSocketModeHandler | None = None
        self._stopped = asyncio.Event()

    # ------------------------------------------------------------ HTTP mode
    def mount(self, ops: OpsServer) -> None:
        """HTTP mode: Slack's requests on the ops server (call before ``ops.start()``)."""
        routes = [web.post(EVENTS_PATH, self._events)]
        flow = self.frontend.bolt.oauth_flow
        if flow is not None:
            routes += [web.get(flow.install_path, self._install), web.get(flow.redirect_uri_path, self._callback)]
        ops.add_routes(routes)

    async def _events(self, request: web.Request) -> web.Response:
        with self.frontend.acking():  # from arrival: the work of commands already acked waits for this ack
            return await to_aiohttp_response(await self.frontend.bolt.async_dispatch(await to_bolt_request(request)))

    async def _install(self, request: web.Request) -> web.Response:
        flow = self.frontend.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def _callback(self, request: web.Request) -> web.Response:
        flow = self.frontend.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    # ------------------------------------------------------------ life cycle
    def is_connected(self) -> bool:
        if self.mode == "http":
            return not self._stopped.is_set()
        client = self.socket.client if self.socket is not None else None
        return bool(client is not None and client.current_session is not None and not client.closed)

    async def start(self) -> None:
        """Check the bot token, connect (Socket Mode) and start the scheduler if this bot owns it."""
        self.frontend.start()
        authorizer = self.frontend.authorizer
        if authorizer is not None or self.workspaces.static_token:
            try:  # checks the token and, in single-token mode, fills bolt's authorize before any request
                await (authorizer.warm() if authorizer is not None else self.frontend.client.auth_test())
            except SlackApiError as exc:
                raise ConfigError(
                    f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}); copy the Bot User OAuth Token "
                    "again from the app's OAuth & Permissions page"
                ) from None
        if self.mode == "socket":
            self.socket = AsyncSocketModeHandler(
                self.frontend.bolt, _secret(self.settings.slack_app_token), web_client=self.frontend.client
            )
            await self.socket.connect_async()
        if self.scheduler is not None:
            await self.scheduler.start()

    async def run(self) -> None:
        """Start, then stay up until :meth:`stop`."""
        await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        """SIGTERM: stop claiming, let DMs in flight finish, hand back the rest, then disconnect."""
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        if self.socket is not None:
            await self.socket.close_async()
            self.socket = None
        await self.frontend.drain(DRAIN_SECONDS)  # answers already under way still go out
        await self.connections.close()
        self._stopped.set()

    close = stop
