"""Fixtures: a Discord double on 127.0.0.1 and the real bot (client, app, SQLite file) connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import Outcome
from bot.frontends.discord.runner import DiscordBot
from bot.runtime import build_app
from bot.settings import Settings
from tests.discord.double import GUILD_ID, TOKEN, DiscordDouble, Interaction, user
from tests.helpers import START

AMAL = user(500_000_000_000_000_001, "amal")
BEN = user(500_000_000_000_000_002, "ben")
AMAL_ID = int(AMAL["id"])
PROFILE = {
    "name": "Dr Amal Hassan",
    "country": "Egypt",
    "school": "Cairo University",
    "specialty": "psych",
    "track": "non-us-img",
    "visa": "j1",
    "eras": "2027-09",
    "timezone": "Africa/Cairo",
    "interests": "consult-liaison psychiatry",
    "role": "research fellow at Kasr Al Ainy",
}


class LiveBot:
    """The bot as ``imgbot run`` builds it, pointed at the double; restartable on the same database."""

    def __init__(
        self,
        double: DiscordDouble,
        db: Path,
        clock: ManualClock,
        defer_after: float = 2.0,
        prepare: Callable[[App], None] | None = None,
        **env: Any,
    ) -> None:
        self.double = double
        self.db = db
        self.clock = clock
        self.defer_after = defer_after
        self.env = env
        self.prepare = prepare
        self.bot: DiscordBot | None = None
        self._task: asyncio.Task[None] | None = None

    def settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            database_url=f"sqlite:///{self.db}",
            DISCORD_TOKEN=TOKEN,
            DISCORD_API_BASE=self.double.api_base,
            DISCORD_GATEWAY_URL=self.double.gateway_url,
            DISCORD_DEV_GUILD_ID=GUILD_ID,
            heartbeat_seconds=3600,
            **self.env,
        )

    async def start(self) -> LiveBot:
        settings = self.settings()
        app = await build_app(settings, self.clock)
        if self.prepare is not None:
            self.prepare(app)
        self.bot = DiscordBot(app, settings, defer_after=self.defer_after)
        before = self.double.identified
        self._task = asyncio.create_task(self.bot.run())
        shards = len(settings.discord_shard_ids or ()) or settings.discord_shard_count or 1
        await self.double.wait_for(
            lambda: self.double.identified >= before + shards or self._task.done(),  # type: ignore[union-attr]
            what="the bot to connect",
        )
        if self._task.done():
            self._task.result()  # raises what stopped it
        return self

    async def stop(self) -> None:
        if self.bot is None:
            return
        await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.bot.app.store.close()
        self.bot = None

    async def restart(self) -> LiveBot:
        await self.stop()
        return await self.start()

    @property
    def running(self) -> DiscordBot:
        assert self.bot is not None
        return self.bot

    # ------------------------------------------------------------ a user's side
    async def say(
        self,
        who: dict[str, Any],
        command: str,
        /,
        *,
        dm: bool = False,
        expect: int = 1,
        permissions: int = 0,
        **values: Any,
    ) -> Interaction:
        """``who`` runs ``/command`` with these options (holding these channel ``permissions`` bits);
        waits for at least ``expect`` messages back."""
        payload = self.double.slash(who, command, guild_id=None if dm else GUILD_ID, permissions=permissions, **values)
        return await self.double.interact(payload, expect=expect)

    async def click(self, who: dict[str, Any], message: dict[str, Any], label: str) -> Interaction:
        return await self.double.interact(self.double.component(who, message, label))

    async def suggest(self, who: dict[str, Any], command: str, option: str, typed: str, /, **values: Any) -> list[str]:
        payload = self.double.slash(who, command, focused=option, **{option: typed, **values})
        answer = await self.double.interact(payload)
        return [c["value"] for c in answer.choices]

    async def deliver_due(self) -> Outcome:
        """What the scheduler does when it wakes: deliver everything due now."""
        return await self.running.engine.run_due()


@pytest.fixture(autouse=True)
def _restore_endpoints() -> Iterator[None]:
    base, gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
async def double() -> AsyncIterator[DiscordDouble]:
    d = DiscordDouble()
    await d.start()
    yield d
    await d.close()
    # Every test also checks that nothing the bot sent breaks Discord's limits or hits an unknown route.
    assert d.invalid == [], d.invalid
    assert d.unknown == [], d.unknown


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def bot(double: DiscordDouble, tmp_path: Path, clock: ManualClock) -> AsyncIterator[LiveBot]:
    live = LiveBot(double, tmp_path / "bot.db", clock)
    await live.start()
    yield live
    await live.stop()
