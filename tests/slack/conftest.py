"""Fixtures: the local Slack double (tests/slack/double.py) on 127.0.0.1, started and stopped per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.slack.double import SlackDouble


@pytest.fixture
async def slack_double() -> AsyncIterator[SlackDouble]:
    """A double with Slack's own timings (3 s acks and triggers, about one message per second per channel)."""
    async with SlackDouble() as double:
        yield double


@pytest.fixture
async def make_slack_double() -> AsyncIterator[Callable[..., Awaitable[SlackDouble]]]:
    """``await make_slack_double(ack_timeout=0.2, trigger_ttl=0.2, ...)``: a double with other settings."""
    started: list[SlackDouble] = []

    async def make(**options: Any) -> SlackDouble:
        double = await SlackDouble(**options).start()
        started.append(double)
        return double

    yield make
    for double in started:
        await double.close()


@pytest.fixture
async def live(slack_double: SlackDouble, tmp_path) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    """The real Slack bot connected to the double over Socket Mode (tests/slack/live.py)."""
    from bot.core.clock import ManualClock
    from tests.helpers import START
    from tests.slack.live import LiveSlack

    bot = LiveSlack(slack_double, tmp_path / "bot.db", ManualClock(START))
    await bot.start()
    yield bot
    await bot.stop()
