"""The bot as ``imgbot run`` builds it for Slack (SlackBot: bolt's AsyncApp, Socket Mode, the DM
port, the scheduler), pointed at the local Slack double; restartable on the same database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import Outcome
from bot.frontends.slack.runner import SlackBot
from bot.runtime import build_app
from bot.settings import Settings
from tests.slack.double import APP_TOKEN, SIGNING_SECRET, Delivery, SlackDouble

PROFILE = (
    'profile set name:"Dr Amal Hassan" country:Egypt school:"Cairo University" specialty:psych '
    "track:non-us-img visa:j1 eras:2027-09 timezone:Africa/Cairo"
)


class LiveSlack:
    def __init__(self, double: SlackDouble, db: Path, clock: ManualClock, **env: Any) -> None:
        self.double = double
        self.db = db
        self.clock = clock
        self.env = env
        self.bot: SlackBot | None = None
        self.app: App | None = None

    def settings(self) -> Settings:
        env: dict[str, Any] = {
            "database_url": f"sqlite:///{self.db}",
            "slack_bot_token": self.double.bot_token("T1"),
            "slack_app_token": APP_TOKEN,
            "slack_api_base": self.double.api_base,
            "heartbeat_seconds": 3600,
            **self.env,
        }
        return Settings(**env)  # type: ignore[arg-type]

    async def start(self, **frontend: Any) -> SlackBot:
        settings = self.settings()
        self.app = await build_app(settings, self.clock)
        self.bot = SlackBot(self.app, settings, **frontend)
        await self.bot.start()
        if self.bot.mode == "socket":
            await self.double.wait_connected()
        return self.bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
            self.bot = None
        if self.app is not None:
            await self.app.store.close()
            self.app = None

    async def restart(self) -> SlackBot:
        await self.stop()
        await self.double.wait_for(lambda: not [c for c in self.double.connections if not c.closed], 5, "disconnect")
        return await self.start()

    async def say(
        self, text: str, *, user: str = "U1", channel: str = "dm", team: str = "T1", answer: bool = True, **kw: Any
    ) -> Delivery:
        """Type ``/imgbot text``; unless ``answer=False``, wait until the answer (ack or response_url posts) is in."""
        d = await self.double.slash("/imgbot", text, user=user, channel=channel, team=team, **kw)
        if answer:
            await self.double.wait_for(lambda: bool(d.text) or d.posts, 10, f"an answer to /imgbot {text}")
        return d

    async def deliver(self) -> Outcome:
        assert self.bot is not None
        return await self.bot.engine.run_due()


__all__ = ["PROFILE", "SIGNING_SECRET", "LiveSlack"]
