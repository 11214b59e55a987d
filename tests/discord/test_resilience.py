"""Deadlines and retries: deferral for slow work, 429s with retry_after and 5xx responses retried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.registry import CommandSet
from bot.core.reply import Reply
from tests.discord.conftest import AMAL, AMAL_ID, PROFILE, LiveBot
from tests.discord.double import EPHEMERAL, DiscordDouble

CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"
DM_SEND = r"/channels/\d+/messages"


def _slow(app: App) -> None:
    slow = CommandSet()

    @slow.command("slow", "Takes a while", private=False)
    async def slow_cmd(ctx) -> Reply:
        await asyncio.sleep(0.4)
        return Reply(title="finally")

    app.registry.add(slow.commands[0])


async def test_slow_work_is_deferred_in_time_then_the_placeholder_is_replaced(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    live = await LiveBot(double, tmp_path / "s.db", clock, defer_after=0.1, prepare=_slow).start()
    try:
        answer = await live.say(AMAL, "slow")
        fast = await live.say(AMAL, "help")
    finally:
        await live.stop()
    assert answer.kind == 5 and answer.callback_at is not None
    assert answer.callback_at - answer.pushed_at < 1.0  # acknowledged well inside Discord's 3 s
    assert not int(answer.callback.get("data", {}).get("flags") or 0) & EPHEMERAL  # public "thinking..."
    (message,) = answer.messages
    assert message["embeds"][0]["title"] == "finally" and not int(message["flags"]) & EPHEMERAL
    assert double.count("PATCH", ORIGINAL) == 1
    assert fast.kind == 4  # quick work is answered directly, with no deferral


async def test_an_error_after_a_public_deferral_is_still_private(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    live = await LiveBot(double, tmp_path / "e.db", clock, defer_after=0.0).start()
    try:
        answer = await live.say(AMAL, "conferences", specialty="pysch")
        ok = await live.say(AMAL, "contact add", name="Dr Maya Lee")  # private: deferred privately
    finally:
        await live.stop()
    assert answer.kind == 5 and answer.original_deleted
    (error,) = answer.messages
    assert int(error["flags"]) & EPHEMERAL and "no playbook for 'pysch'" in answer.text
    assert ok.kind == 5 and ok.ephemeral and "Added #1 Dr Maya Lee" in ok.text


async def test_a_429_on_an_interaction_answer_is_retried_after_retry_after(bot: LiveBot, double: DiscordDouble) -> None:
    double.fail_next("POST", CALLBACK, 429, retry_after=0.2)
    answer = await bot.say(AMAL, "help")
    assert "IMG Peer Bot commands" in answer.text
    first, second = double.calls_to("POST", CALLBACK)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.2


async def test_a_5xx_on_an_interaction_answer_is_retried(bot: LiveBot, double: DiscordDouble) -> None:
    double.fail_next("POST", CALLBACK, 503)
    answer = await bot.say(AMAL, "help")
    assert "IMG Peer Bot commands" in answer.text
    assert [c.status for c in double.calls_to("POST", CALLBACK)] == [503, 200]


async def test_a_429_and_a_5xx_on_a_nudge_dm_are_retried(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", specialty="psych", how_met="conference", met_on="2026-11-22")
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    double.fail_next("POST", DM_SEND, 500)
    double.fail_next("POST", DM_SEND, 429, retry_after=0.1)
    assert (await bot.deliver_due()).delivered == 1
    assert [c.status for c in double.calls_to("POST", DM_SEND)] == [500, 429, 200]
    assert len(double.dms(AMAL_ID)) == 1


async def test_a_long_rate_limit_on_a_dm_is_retried_later_by_the_engine(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", specialty="psych", how_met="conference", met_on="2026-11-22")
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    double.fail_next("POST", DM_SEND, 429, retry_after=90.0)  # longer than the bot will wait in place
    outcome = await bot.deliver_due()
    assert outcome.failed == 1
    listed = await bot.say(AMAL, "nudges list")
    assert "retrying: rate limited for 90s" in listed.text
    clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))  # after the engine's backoff
    assert (await bot.deliver_due()).delivered == 1
