"""What a new user reads in a first session on Slack, end to end against the double: hints in
Slack's syntax everywhere (App Home too), buttons that run the step the bot recommends."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.slack.double import SlackDouble, text_of
from tests.slack.live import PROFILE, LiveSlack


async def _home(live: LiveSlack, slack_double: SlackDouble) -> Any:
    await slack_double.open_home("U1")
    await slack_double.wait_for(lambda: slack_double.home("U1") is not None, 5, "the Home tab")
    home = slack_double.home("U1")
    assert home is not None
    return home


async def test_the_home_tabs_timeline_writes_command_hints_as_slack_commands(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    await live.say(PROFILE)
    text = text_of((await _home(live, slack_double)).as_slack())
    # psychiatry's current phase points at a script: on Slack that is typed /imgbot script ...
    assert "/imgbot script observership-request" in text, text
    assert "(/script" not in text, text


async def test_the_home_tabs_script_button_gets_the_script_the_follow_up_needs(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    await live.say(PROFILE)
    await live.say('contact add "Dr Maya Lee" how_met:conference met_on:2026-11-01')
    await live.say("contact log #1 emailed date:2026-11-09")  # no reply since: a no-reply follow-up is due
    listed = await live.say("followups")
    assert "/imgbot script no-reply-followup contact:#1" in listed.text, listed.text
    home = await _home(live, slack_double)
    lines = [
        json.loads(e["value"])["line"]
        for b in home.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"].startswith("Script ·")
    ]
    assert lines == ["script no-reply-followup contact:#1"], lines


async def test_the_review_modal_gives_no_console_instructions(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say(PROFILE)
    await live.say("review cold-email", answer=False)  # no draft: the modal asks for it
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    draft = next(b for b in modal.blocks if b["block_id"] == "draft")
    assert draft["hint"]["text"] == "the draft, Subject: line first", draft
    assert "console" not in text_of(modal.as_slack()) and "<<" not in text_of(modal.as_slack())


async def test_circle_status_says_what_is_owed_next_in_words(live: LiveSlack, slack_double: SlackDouble) -> None:
    slack_double.add_user("T1", "U3", "root", admin=True)
    await live.say("circle setup day:monday time:18:00 timezone:UTC pairing:every-2-weeks", user="U3", channel="C1")
    status = await live.say("circle status", user="U3", channel="C1")
    assert "Mon 23 Nov 2026 18:00: check-in post, week 48" in status.text, status.text
    assert "Fri 27 Nov 2026 18:00: digest, week 48" in status.text
    assert '"did you meet?" halfway through the round, week 48' in status.text
    for raw in ("checkin (", "meet-mid", "2026-W48"):
        assert raw not in status.text, status.text


async def test_a_nudge_dm_shows_one_bell(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say(PROFILE.replace("Africa/Cairo", "UTC"))
    await live.say('contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:today')
    live.clock.advance(timedelta(days=3, hours=1))  # psychiatry: 3-7 days after a conference
    assert (await live.deliver()).delivered >= 1
    (dm,) = [m for m in slack_double.dms("U1") if "Dr Maya Lee" in text_of(m)]
    head = dm["blocks"][0]["text"]["text"]
    assert head == "*🔔 Your networking nudges*", head  # the title's own bell, not ':bell: *🔔 ...'


async def test_followups_say_why_each_is_owed_in_words(live: LiveSlack) -> None:
    await live.say(PROFILE)
    await live.say('contact add "Dr Maya Lee" how_met:conference met_on:2026-11-01')
    logged = await live.say("contact log #1 emailed")
    assert "Next follow-up Thu 3 Dec 2026 (if still no reply)." in logged.text, logged.text
    listed = await live.say("followups days:30")
    assert "(if still no reply) → /imgbot script no-reply-followup contact:#1" in listed.text, listed.text
    assert "(no-reply)" not in logged.text + listed.text


async def test_a_checkin_counts_one_of_a_thing_in_the_singular(live: LiveSlack, slack_double: SlackDouble) -> None:
    slack_double.add_user("T1", "U3", "root", admin=True)
    await live.say("circle setup timezone:UTC", user="U3", channel="C1")
    await live.say("circle join", channel="C1")
    done = await live.say("circle checkin emails:2 contacts:1 followups:0 conversations:1", channel="C1")
    assert "2 emails, 1 new contact, 0 follow-ups, 1 conversation." in done.text, done.text


async def test_help_shows_no_console_syntax_on_slack(live: LiveSlack) -> None:
    shown = (await live.say("help review")).text
    # the console's "<<" text block does not exist here: without a draft, Slack opens a form
    assert "/imgbot review cold-email" in shown and "&lt;&lt;" not in shown and "console" not in shown, shown
    assert "draft: the draft, Subject: line first; required" in shown
    assert "fill it in a form" in (await live.say("help")).text


async def test_an_overdue_follow_up_says_overdue_and_why_in_one_parenthesis(live: LiveSlack) -> None:
    await live.say(PROFILE)
    await live.say('contact add "Dr Maya Lee" how_met:conference met_on:2026-11-01')
    listed = await live.say("followups")
    assert "next: Wed 4 Nov 2026 (overdue, after meeting them) → /imgbot script" in listed.text, listed.text


async def test_joining_a_circle_in_another_zone_gives_its_times_in_yours(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    slack_double.add_user("T1", "U3", "root", admin=True)
    await live.say("circle setup day:monday time:18:00 timezone:UTC", user="U3", channel="C1")
    await live.say(PROFILE)  # amal is in Africa/Cairo
    joined = await live.say("circle join", channel="C1")
    assert "Check-in Monday 18:00, digest Friday 18:00 (UTC)." in joined.text, joined.text
    assert "In your time (Africa/Cairo): check-in Monday 20:00, digest Friday 20:00." in joined.text
    same = await live.say("circle join", user="U3", channel="C1")  # root has no zone but the default, UTC
    assert "In your time" not in same.text


async def test_modal_fields_are_labelled_in_words(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say("contact add role:attending", answer=False)  # no name: the modal asks for it
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    labels = {b["block_id"]: b["label"]["text"] for b in modal.blocks}
    assert labels["name"] == "Name" and labels["met_on"] == "Met on" and labels["how_met"] == "How met", labels
