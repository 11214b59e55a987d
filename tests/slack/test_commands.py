"""Every registry command through ``/imgbot`` on the real AsyncApp, against the Slack double."""

from __future__ import annotations

import json
import re

import pytest

from bot.core.commands import build_registry
from bot.core.models import UserRef
from tests.slack.double import SlackDouble, pings, text_of
from tests.slack.live import PROFILE, LiveSlack
from tests.test_every_command import CASES, CIRCLE_CASES, CIRCLE_SETUP

SETUP = [
    PROFILE,
    'contact add "Dr Maya Lee" role:attending how_met:conference met_on:today',
    "goal set emails 4 month",
]
# What differs on Slack: files go to the DM (the reply says so), and a file comes through a modal.
SLACK_OK = {
    "timeline export": "Timeline calendar",
    "contact export": "contacts exported",
    "privacy export": "Everything the bot holds about you",
    "privacy delete": "• 1 contact",  # Block Kit bullets
}
FILES = {"timeline export": ".ics", "contact export": ".csv", "privacy export": ".json"}
SKIP = {"contact import"}
# Their bad line leaves out a required option: on Slack that opens a modal built from the registry.
MODAL = {"contact add", "conference cancel", "review"}


def slackify(text: str) -> str:
    """A console command hint as Slack shows it: /script -> /imgbot script."""
    return re.sub(r"(?<![\w/])/(?=[a-z])", "/imgbot ", text)  # needs a file: covered by the modal test


async def test_help_answers_bare_imgbot_and_imgbot_help(live: LiveSlack) -> None:
    for text in ("", "help"):
        d = await live.say(text)
        assert "/imgbot contact add" in d.text and "/imgbot script" in d.text, d.text
        assert d.ack_latency is not None and d.ack_latency < 3


@pytest.mark.parametrize("name", sorted(set(CASES) - SKIP))
async def test_every_registry_command_works_as_imgbot(name: str, live: LiveSlack, slack_double: SlackDouble) -> None:
    for line in SETUP:
        await live.say(line)
    assert live.app is not None
    store = live.app.store
    uid = await store.ensure_user(UserRef("slack", "T1:U1"), live.clock.now())
    followup = [n for n in await store.open_nudges(uid) if n.kind == "followup"]
    values = {"nudge": str(followup[0].id) if followup else "0", "csv": "x.csv"}
    ok_line, ok_text, bad_line, bad_text = CASES[name]
    ok = await live.say(ok_line.format(**values).lstrip("/"))
    wanted = slackify(SLACK_OK.get(name, ok_text))
    assert wanted in ok.text or any(wanted in text_of(m) for m in slack_double.dms("U1")), ok.text
    if name in FILES:  # an ephemeral message cannot carry a file: it is in the user's DM
        await slack_double.wait_for(lambda: slack_double.files("U1"), 5, "the file in the DM")
        assert [f.name for f in slack_double.files("U1")][-1].endswith(FILES[name])
    bad = await live.say(bad_line.format(**values).lstrip("/"), answer=name not in MODAL)
    if name in MODAL:  # a missing required option opens a modal instead
        await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
        if name == "review":  # the draft is long text: a multi-line input
            assert '"multiline": true' in json.dumps(slack_double.open_modals("U1")[-1].view)
    else:
        assert slackify(bad_text) in bad.text, bad.text
        assert "Traceback" not in bad.text and "Something went wrong" not in bad.text
    assert slack_double.invalid == [] and slack_double.late_acks == []
    assert all(not pings(p.body) for p in slack_double.response_posts)


def test_the_table_covers_every_registry_command() -> None:
    assert set(CASES) | set(CIRCLE_CASES) == {c.qualified for c in build_registry().commands}


# What differs on Slack for circles: the channel is #general, and the export's file goes to the DM.
CIRCLE_OK = {"mentor list": "Mentoring in #general", "circle export": "Check-in counts of #general"}


@pytest.mark.parametrize("name", sorted(CIRCLE_CASES))
async def test_every_circle_command_works_in_a_slack_channel(
    name: str, live: LiveSlack, slack_double: SlackDouble
) -> None:
    # as in the console table: amal and root are both workspace admins in #general
    slack_double.add_user("T1", "U1", "amal", admin=True)
    slack_double.add_user("T1", "U3", "root", admin=True)
    for line in CIRCLE_SETUP:
        await live.say(line.lstrip("/"), user="U3", channel="C1")
    await live.say("circle join", user="U1", channel="C1")
    if name == "circle met":
        await live.say("circle pair-now", user="U3", channel="C1")
    ok_line, ok_text, bad_line, bad_text = CIRCLE_CASES[name]
    ok = await live.say(ok_line.lstrip("/"), user="U1", channel="C1")
    wanted = slackify(CIRCLE_OK.get(name, ok_text))
    assert wanted in ok.text or any(wanted in text_of(m) for m in slack_double.dms("U1")), ok.text
    if name == "circle export":  # the CSV goes to the DM
        await slack_double.wait_for(lambda: slack_double.files("U1"), 5, "the file in the DM")
        assert slack_double.files("U1")[-1].name.endswith(".csv")
    bad = await live.say(bad_line.lstrip("/"), user="U1", channel="C1")
    assert slackify(bad_text) in bad.text, bad.text
    assert "Traceback" not in bad.text and "Something went wrong" not in bad.text
    assert slack_double.invalid == [] and slack_double.late_acks == []
    assert all(not pings(p.body) for p in slack_double.response_posts)
