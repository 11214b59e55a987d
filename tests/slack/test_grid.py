"""Enterprise Grid: a workspace of an org installs the app on its own (not org-wide); its members'
accounts are keyed by the org (``E…:W…``), and their nudges still reach them as DMs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.models import Installation
from tests.helpers import START
from tests.slack.double import CLIENT_ID, CLIENT_SECRET, SlackDouble, text_of
from tests.slack.live import PROFILE, LiveSlack


async def test_a_grid_workspace_install_answers_and_delivers_nudges(slack_double: SlackDouble, tmp_path: Path) -> None:
    team = slack_double.add_team("T2", name="IMG Psych (Grid)", enterprise_id="E1")
    slack_double.add_user("T2", "W5", "amal")
    bot = LiveSlack(
        slack_double,
        tmp_path / "bot.db",
        ManualClock(START),
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
    )
    await bot.start()
    try:
        assert bot.app is not None
        await bot.app.store.save_installation(  # what the OAuth flow saves for a workspace of a Grid org
            Installation(
                enterprise_id="E1",
                team_id="T2",
                bot_token=team.bot_token,
                installed_at=datetime(2026, 11, 1, tzinfo=UTC),
                bot_user_id=team.bot_user,
                bot_id=team.bot_id,
            )
        )
        d = await bot.say(PROFILE.replace("Africa/Cairo", "UTC"), user="W5", team="T2")
        assert "Profile updated" in d.text, d.text
        await bot.say('contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:today', user="W5", team="T2")
        bot.clock.advance(timedelta(days=3, hours=1))
        outcome = await bot.deliver()
        assert outcome.delivered == 1, outcome
        dms = slack_double.dms("W5", team="T2")
        assert len(dms) == 1 and "Dr Maya Lee" in text_of(dms[0])
    finally:
        await bot.stop()
