"""A burst of slash commands: every one acked in time, every one answered exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import ManualClock
from bot.core.models import UserRef
from bot.frontends.slack.app import ACKS_FIRST, OneAuthTest
from tests.helpers import START
from tests.slack.double import Delivery, SlackDouble
from tests.slack.live import LiveSlack

MakeDouble = Callable[..., Awaitable[SlackDouble]]
USERS = [f"UB{i:03d}" for i in range(30)]


def answers(d: Delivery) -> int:
    """How many times the user was answered: in the ack, and through response_url."""
    in_ack = isinstance(d.ack, dict) and bool(d.ack.get("blocks"))
    return int(in_ack) + len(d.posts)


async def _burst(double: SlackDouble, bot: LiveSlack) -> list[Delivery]:
    for u in USERS:
        double.add_user("T1", u, u.lower())
    batch = await asyncio.gather(
        *(double.slash("/imgbot", f'contact add "Dr Lee {u}" role:attending', user=u, channel="dm") for u in USERS)
    )
    await double.wait_for(lambda: all(d.posts or answers(d) for d in batch), 20, "every answer")
    await asyncio.sleep(0.2)  # time for any second answer to show up
    assert bot.app is not None
    for u in USERS:  # each command ran once
        uid = await bot.app.store.ensure_user(UserRef("slack", f"T1:{u}"), START)
        assert [c.name for c in await bot.app.store.all_contacts(uid)] == [f"Dr Lee {u}"]
    assert double.late_acks == [] and double.invalid == []
    assert all(d.acked and len(d.attempts) == 1 for d in batch)  # nothing re-sent by Slack
    assert all(answers(d) == 1 and f"Dr Lee {d.user}" in d.text for d in batch), [answers(d) for d in batch]
    return batch


async def test_a_burst_is_acked_at_once_and_answered_once_each(slack_double: SlackDouble, tmp_path: Path) -> None:
    bot = LiveSlack(slack_double, tmp_path / "bot.db", ManualClock(START))
    await bot.start()  # the default: every ack goes out empty, the answer through response_url
    try:
        batch = await _burst(slack_double, bot)
        assert all(d.ack is None and len(d.posts) == 1 for d in batch)
    finally:
        await bot.stop()


async def test_with_answers_in_acks_a_burst_still_acks_at_once(make_slack_double: MakeDouble, tmp_path: Path) -> None:
    """With ``defer_after`` a lone command's answer rides on its ack; past ``busy_after`` commands in
    flight the others ack empty at once and answer through response_url."""
    double = await make_slack_double()
    bot = LiveSlack(double, tmp_path / "bot.db", ManualClock(START))
    await bot.start(defer_after=2.0, busy_after=2)
    try:
        lone = await bot.say("help")
        assert lone.posts == [] and "/imgbot contact add" in lone.ack["text"] + str(lone.ack.get("blocks"))
        batch = await _burst(double, bot)
        in_ack = [d for d in batch if d.ack is not None]
        assert 1 <= len(in_ack) <= 2, len(in_ack)  # at most busy_after waited for their answer
        assert all(d.ack is None and len(d.posts) == 1 for d in batch if d not in in_ack)
    finally:
        await bot.stop()


async def test_answers_under_way_still_go_out_on_stop(slack_double: SlackDouble, tmp_path: Path) -> None:
    bot = LiveSlack(slack_double, tmp_path / "bot.db", ManualClock(START))
    await bot.start()
    batch = await asyncio.gather(
        *(slack_double.slash("/imgbot", f'contact add "Dr Kim {i}" role:attending', user="U1") for i in range(5))
    )
    await bot.stop()  # right after the acks: the commands' work is still under way
    assert all(len(d.posts) == 1 and "Added" in d.text for d in batch), [d.text for d in batch]


async def test_a_burst_right_after_start_makes_one_auth_test(slack_double: SlackDouble, tmp_path: Path) -> None:
    """Single-token mode: bolt's own authorization caches ``auth.test`` only once it has an answer, so the
    first burst after start made one call per command, each before its ack. The bot's ``authorize`` makes
    the one call at start (it checks the token there anyway) and every request after it reuses it."""
    bot = LiveSlack(slack_double, tmp_path / "bot.db", ManualClock(START))
    await bot.start()
    try:
        assert len(slack_double.api("auth.test")) == 1  # the check at start, before connecting
        for u in USERS:
            slack_double.add_user("T1", u, u.lower())
        batch = await asyncio.gather(*(slack_double.slash("/imgbot", "help", user=u, channel="dm") for u in USERS))
        await slack_double.wait_for(lambda: all(d.posts for d in batch), 20, "every answer")
        assert len(slack_double.api("auth.test")) == 1
        assert all("/imgbot contact add" in d.text for d in batch)
    finally:
        await bot.stop()


async def test_concurrent_first_requests_share_one_auth_test(slack_double: SlackDouble, tmp_path: Path) -> None:
    """Without the warm-up (a frontend used before SlackBot.start), concurrent first requests wait for one
    ``auth.test`` rather than each making their own; a refused token is not cached."""
    one = OneAuthTest(AsyncWebClient(token=slack_double.bot_token("T1"), base_url=slack_double.api_base))
    results = await asyncio.gather(*(one.authorize(None, "T1", u) for u in USERS))
    assert len(slack_double.api("auth.test")) == 1 and one.calls == 1
    assert {(r.team_id, r.bot_user_id, r.bot_token) for r in results} == {
        ("T1", slack_double.bot_user("T1"), slack_double.bot_token("T1"))
    }
    bad = OneAuthTest(AsyncWebClient(token="xoxb-nope", base_url=slack_double.api_base))
    for _ in range(2):
        try:
            await bad.authorize(None, "T1", "U1")
        except SlackApiError as exc:
            assert exc.response["error"] == "invalid_auth"
        else:
            raise AssertionError("a refused token authorized")
    assert bad.calls == 2


async def test_work_after_an_ack_waits_for_the_acks_still_owed(slack_double: SlackDouble, tmp_path: Path) -> None:
    """A listener's work after its ack waits while other requests are on their way to their ack, and
    no longer than ACKS_FIRST however long they take; with none owed it goes on at once."""
    bot = LiveSlack(slack_double, tmp_path / "bot.db", ManualClock(START))
    frontend = (await bot.start()).frontend
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await frontend._acks_first()
        assert loop.time() - start < 0.05  # nothing owed
        with frontend.acking():
            work = asyncio.ensure_future(frontend._acks_first())
            await asyncio.sleep(0.01)
            assert not work.done()  # an ack is still owed
        for _ in range(5):  # owed no more: the work goes on within a few turns of the loop, not a timeout
            await asyncio.sleep(0)
        assert work.done()
        with frontend.acking():
            start = loop.time()
            await frontend._acks_first()  # an ack that never comes holds the work up for ACKS_FIRST only
            assert ACKS_FIRST <= loop.time() - start < ACKS_FIRST + 0.5
    finally:
        await bot.stop()
