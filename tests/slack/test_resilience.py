"""HTTP mode (signatures, OAuth install and uninstall), a 429 storm, 5xx answers, re-sent slash
commands and a takeover's history check, end to end against the Slack double."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.core.clock import ManualClock
from bot.core.models import UserRef
from bot.ops import OpsServer
from tests.helpers import START
from tests.slack.double import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, SlackDouble, text_of
from tests.slack.live import PROFILE, LiveSlack

MakeDouble = Callable[..., Awaitable[SlackDouble]]


class HttpSlack(LiveSlack):
    """The bot in HTTP mode: /slack/events (and the OAuth routes) on its ops server."""

    ops: OpsServer | None = None

    async def start(self, **frontend: Any) -> Any:
        bot = await super().start(**frontend)
        self.ops = OpsServer("test")
        bot.mount(self.ops)
        await self.ops.start("127.0.0.1", 0)
        self.double.http_url = f"{self.base}/slack/events"
        return bot

    @property
    def base(self) -> str:
        assert self.ops is not None
        return f"http://127.0.0.1:{self.ops.port}"

    async def stop(self) -> None:
        if self.ops is not None:
            await self.ops.stop()
            self.ops = None
        await super().stop()


@pytest.fixture
async def http_bot(slack_double: SlackDouble, tmp_path: Path) -> AsyncIterator[HttpSlack]:
    bot = HttpSlack(
        slack_double,
        tmp_path / "bot.db",
        ManualClock(START),
        slack_app_token=None,
        slack_signing_secret=SIGNING_SECRET,
        http_port=0,
    )
    await bot.start()
    yield bot
    await bot.stop()


async def test_http_mode_answers_signed_requests_and_refuses_bad_or_old_ones(
    http_bot: HttpSlack, slack_double: SlackDouble
) -> None:
    d = await http_bot.say("help")
    assert d.transport == "http" and "/imgbot contact add" in d.text
    body = urllib.parse.urlencode({"command": "/imgbot", "text": "help", "team_id": "T1", "user_id": "U1"})
    url = f"{http_bot.base}/slack/events"
    status = (await slack_double.post_signed(url, body, secret="not-the-secret")).status
    assert status == 401
    old = int(time.time()) - 6 * 60  # outside the 5 minutes
    status = (await slack_double.post_signed(url, body, timestamp=old)).status
    assert status == 401
    status, text = await slack_double.verify_url(url)
    assert status == 200 and text  # the url_verification challenge


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
async def test_oauth_install_then_uninstall(slack_double: SlackDouble, tmp_path: Path, sealed: bool) -> None:
    key = {"secret_key": Fernet.generate_key().decode()} if sealed else {}
    bot = HttpSlack(
        slack_double,
        tmp_path / "bot.db",
        ManualClock(START),
        slack_bot_token=None,
        slack_app_token=None,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        http_port=0,
        **key,
    )
    await bot.start()
    try:
        async with aiohttp.ClientSession() as browser:
            async with browser.get(f"{bot.base}/slack/install", allow_redirects=False) as res:
                page = await res.text()
                cookie = res.headers.get("Set-Cookie", "").split(";")[0]
            state = re.search(r"state=([A-Za-z0-9_\-]+)", page)
            assert state, page
            code = slack_double.authorize("T1", "U4")
            callback = f"{bot.base}/slack/oauth_redirect?code={code}&state={state.group(1)}"
            async with browser.get(callback, headers={"Cookie": cookie}) as res:
                assert res.status == 200, await res.text()
        assert bot.app is not None
        inst = await bot.app.store.find_installation(None, "T1")
        assert inst is not None and inst.bot_token.startswith("xoxb-T1-") and inst.installer_user_id == "U4"
        (stored,) = await bot.app.store.db.all("SELECT bot_token FROM slack_installations")  # type: ignore[attr-defined]
        assert (stored[0] == inst.bot_token) is not sealed  # sealed at rest only with IMGBOT_SECRET_KEY
        d = await bot.say(PROFILE)  # the installed token answers
        assert "Profile updated" in d.text
        checks = len(slack_double.api("auth.test"))
        for _ in range(3):  # bolt's authorize checked the token once; later commands do not call auth.test
            assert "Your profile" in (await bot.say("profile show")).text
        assert len(slack_double.api("auth.test")) == checks
        await slack_double.uninstall("T1")
        for _ in range(100):  # the events are acked at once; the listener finishes just after
            if await bot.app.store.installation_count() == 0:
                break
            await asyncio.sleep(0.05)
        assert await bot.app.store.installation_count() == 0
        uid = await bot.app.store.ensure_user(UserRef("slack", "T1:U1"), START)
        assert (await bot.app.store.get_profile(uid)).specialty == "psych"  # users' data stays
    finally:
        await bot.stop()


async def _one_due_nudge(live: LiveSlack) -> None:
    await live.say(PROFILE.replace("Africa/Cairo", "UTC"))
    await live.say('contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:today')
    live.clock.advance(timedelta(days=3, hours=1))


async def test_a_429_storm_is_waited_out_and_nothing_is_lost(live: LiveSlack, slack_double: SlackDouble) -> None:
    await _one_due_nudge(live)
    slack_double.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    started = time.monotonic()
    outcome = await live.deliver()
    assert outcome.delivered == 1, outcome
    posts = slack_double.api("chat.postMessage")
    limited = [c for c in posts if c.status == 429]
    assert len(limited) == 3 and posts[-1].status == 200
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert all(g >= 0.95 for g in gaps), gaps  # every Retry-After honoured
    assert time.monotonic() - started >= 2.9
    assert len([m for m in slack_double.dms("U1") if "Dr Maya Lee" in text_of(m)]) == 1


async def test_a_5xx_is_retried_by_the_client(live: LiveSlack, slack_double: SlackDouble) -> None:
    await _one_due_nudge(live)
    slack_double.fail_next("chat.postMessage", status=503, times=2)
    outcome = await live.deliver()
    assert outcome.delivered == 1, outcome
    assert [c.status for c in slack_double.api("chat.postMessage")] == [503, 503, 200]


async def test_a_slash_command_slack_sends_again_adds_the_contact_once(
    make_slack_double: MakeDouble, tmp_path: Path
) -> None:
    # every ack is late (a timeout of 0: the bot now acks within 1 ms, so 0.001 no longer made it so)
    double = await make_slack_double(ack_timeout=0.0, max_retries=3)
    bot = LiveSlack(double, tmp_path / "bot.db", ManualClock(START))
    await bot.start(defer_after=0.0)  # ack at once, answer through response_url
    try:
        d = await bot.say('contact add "Dr Maya Lee" role:attending')
        await double.wait_for(lambda: len(d.attempts) >= 2, 5, "Slack's retry")
        await double.wait_for(lambda: all(a.acked_at for a in d.attempts), 5, "every attempt acked")
        assert bot.app is not None
        uid = await bot.app.store.ensure_user(UserRef("slack", "T1:U1"), START)
        assert [c.name for c in await bot.app.store.all_contacts(uid)] == ["Dr Maya Lee"]
        assert len(d.posts) == 1 and "Added #1 Dr Maya Lee" in d.text  # answered once
    finally:
        await bot.stop()


async def test_a_takeover_reads_the_dm_history_before_sending_again(live: LiveSlack, slack_double: SlackDouble) -> None:
    await _one_due_nudge(live)
    assert live.app is not None and live.bot is not None
    store = live.app.store
    now = live.clock.now()
    # an instance claims the digest, posts it, and dies before recording it as sent
    (claimed,) = await store.claim_due("dead", "tok", now, now + timedelta(seconds=60), 10, ["slack"])
    port = live.bot.port
    reply, _, _ = await live.bot.engine._compose(
        await store.get_profile(claimed.user_id), [claimed], now, recovering=True
    )
    await port.deliver(UserRef("slack", "T1:U1"), reply, claimed.digest or "")
    assert len(slack_double.dms("U1")) == 1
    live.clock.advance(timedelta(minutes=5))  # its lease lapses; this instance takes over
    await live.bot.engine.recover()
    await live.deliver()
    assert len(slack_double.dms("U1")) == 1  # not sent twice
    assert slack_double.api("conversations.history")
    after = await store.get_nudge(claimed.id)
    assert after is not None and after.status == "sent"
