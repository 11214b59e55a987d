"""Circles on Slack, end to end: the real AsyncApp over Socket Mode against the local Slack double.

An admin (users.info is_admin) sets up a circle in #general, two members join, the check-in post
appears in the channel pinging nobody, its Log my week button opens a modal pre-filled from the
clicker's tracker, the submission (after a restart) is recorded, and the digest posts its chart."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.helpers import START
from tests.slack.double import SlackDouble, pings, text_of
from tests.slack.live import LiveSlack

MONDAY_POST = START.replace(hour=18, minute=0)
ADMIN, AMAL, BEN = "U3", "U1", "U2"


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for el in block.get("elements") or []:
            if el.get("type") == "button" and el["text"]["text"] == label:
                return dict(el)
    raise AssertionError(f"no {label} button in {text_of(message)}")


def channel_posts(double: SlackDouble) -> list[dict[str, Any]]:
    return [m for m in double.messages("C1") if (m.get("metadata") or {}).get("event_type") == "imgbot_post"]


async def test_setup_join_post_modal_submission_and_digest(live: LiveSlack, slack_double: SlackDouble) -> None:
    refused = await live.say("circle setup day:monday time:18:00 timezone:UTC", user=AMAL, channel="C1")
    assert "admin" in refused.text.lower(), refused.text
    setup = await live.say(
        "circle setup day:monday time:18:00 timezone:UTC pairing:every-2-weeks", user=ADMIN, channel="C1"
    )
    assert "Circle started" in setup.text, setup.text
    for who in (AMAL, BEN):
        joined = await live.say("circle join", user=who, channel="C1")
        assert "Welcome to the circle" in joined.text, joined.text
    await live.say('contact add "Dr Maya Lee" how_met:conference', user=AMAL)
    await live.say("contact log contact:#1 type:emailed", user=AMAL)

    assert live.bot is not None
    live.clock.set(MONDAY_POST)
    assert await live.bot.circles.run_due() >= 1
    posts = channel_posts(slack_double)
    assert len(posts) == 1
    post = posts[0]
    assert "Week 48 check-in" in text_of(post) and not pings(post), text_of(post)
    assert await live.bot.circles.run_due() == 0 and len(channel_posts(slack_double)) == 1  # once

    # anyone in the channel may press it: the modal is the clicker's own, pre-filled from their tracker
    await slack_double.click(post, button(post, "Log my week")["action_id"], user=AMAL)
    await slack_double.wait_for(lambda: slack_double.open_modals(AMAL), 5, "the check-in modal")
    modal = slack_double.open_modals(AMAL)[-1]
    fields = {b["block_id"]: b for b in modal.blocks}
    assert set(fields) == {"counts", "win", "blocker", "goal"}
    assert fields["counts"]["element"]["initial_value"] == "1, 1, 1, 1"
    assert json.loads(modal.as_slack()["private_metadata"])["fixed"] == {"program": "1"}

    # the submission, after a restart (nothing in memory helps), is recorded
    await live.restart()
    assert live.bot is not None and live.app is not None
    done = await slack_double.submit(modal, {"counts": "3, 1, 1, 2", "win": "a reply! <!channel>"})
    assert done.acked
    logged = lambda: [p for p in slack_double.response_posts if "Week 48 logged" in text_of(p.body)]  # noqa: E731
    await slack_double.wait_for(logged, 5, "the submission's answer")
    assert logged()[0].body.get("response_type") == "ephemeral"
    stored = await live.app.store.checkins_for(1, ["2026-W48"])
    assert [(c.counts.emails, c.counts.conversations) for c in stored] == [(3, 2)]
    # a bad count is shown on its field, inside Slack's 3 s, and the modal stays open
    posted = channel_posts(slack_double)[0]
    await slack_double.click(posted, button(posted, "Log my week")["action_id"], user=BEN)
    await slack_double.wait_for(lambda: slack_double.open_modals(BEN), 5, "Ben's modal")
    bad = await slack_double.submit(slack_double.open_modals(BEN)[-1], {"counts": "lots"})
    assert bad.ack["response_action"] == "errors", bad.ack
    assert "four whole numbers" in bad.ack["errors"]["counts"], bad.ack
    assert slack_double.invalid == [] and slack_double.late_acks == []

    # the digest names the members, no contact, pings nobody, and uploads its chart with alt text
    live.clock.set(MONDAY_POST + timedelta(days=4))
    await live.bot.circles.run_due()
    digest = channel_posts(slack_double)[-1]
    text = text_of(digest)
    assert "Week 48 digest: 1 of 2 checked in" in text and "Maya" not in text, text
    assert not pings(digest)
    uploads = [f for f in slack_double.uploads.values() if "C1" in f.channels]
    assert [f.name for f in uploads] == ["circle-2026-W48.png"]
    asked = slack_double.api("files.getUploadURLExternal")[-1]
    assert "check-ins per week" in str(asked.args.get("alt_txt")), asked.args


async def test_a_non_admin_cannot_set_up_and_a_dm_is_no_circle(live: LiveSlack) -> None:
    refused = await live.say("circle setup day:monday time:18:00 timezone:UTC", user=BEN, channel="C1")
    assert "Circle started" not in refused.text and "admin" in refused.text.lower(), refused.text
    owner = await live.say("circle setup day:monday time:18:00 timezone:UTC", user="U4", channel="C1")
    assert "Circle started" in owner.text, owner.text


async def test_circles_are_a_duty_on_the_one_wake_job_alone_or_beside_discord(live: LiveSlack) -> None:
    from bot.core.community.engine import CircleEngine
    from bot.frontends.slack.port import SlackChannelPort
    from bot.frontends.slack.runner import SlackBot
    from tests.circles.helpers import ChannelRecorder

    assert live.bot is not None and live.app is not None
    alone = live.bot
    assert alone.scheduler is not None and alone.scheduler.duties == [alone.circles]
    assert alone.circles.platforms == ["slack"] and isinstance(alone.circles.channels["slack"], SlackChannelPort)
    # under imgbot run with Discord too: Slack's ports join Discord's engines and its one scheduler
    discord_circles = CircleEngine(live.app, {"discord": ChannelRecorder()})
    beside = SlackBot(live.app, live.settings(), engine=alone.engine, circles=discord_circles)
    assert beside.scheduler is None and beside.circles is discord_circles
    assert discord_circles.platforms == ["discord", "slack"]


def group_dms(double: SlackDouble) -> dict[str, list[dict[str, Any]]]:
    """Every group DM (mpim) the bot opened, with what it posted there."""
    return {cid: ch.messages for cid, ch in double.channels.items() if ch.kind == "mpim"}


async def _paired(live: LiveSlack) -> None:
    await live.say("circle setup day:monday time:18:00 timezone:UTC pairing:every-2-weeks", user=ADMIN, channel="C1")
    for who in (AMAL, BEN):
        await live.say("circle join", user=who, channel="C1")
    await live.say("profile set specialty:psych track:non-us-img timezone:Africa/Cairo", user=AMAL)
    await live.say('contact add "Dr Maya Lee" how_met:conference email:maya@example.org', user=AMAL)
    made = await live.say("circle pair-now", user=ADMIN, channel="C1")
    assert "Round made: 1 pair(s)" in made.text, made.text


async def test_a_pairs_intro_is_one_group_dm_sent_once_and_its_buttons_work_after_a_restart(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    await _paired(live)
    assert live.bot is not None
    # the first post of the intro is answered {"ok": false} after Slack took it (a lost answer)
    slack_double.fail_next("chat.postMessage", error="fatal_error", after_effect=True)
    await live.bot.circles.run_due()
    opened = [c for c in slack_double.api("conversations.open") if "," in str(c.args.get("users"))]
    assert [sorted(str(c.args["users"]).split(",")) for c in opened] == [[AMAL, BEN]]
    groups = group_dms(slack_double)
    assert len(groups) == 1
    ((gid, messages),) = groups.items()
    assert gid[0] in "GC" and slack_double.channels[gid].members == {AMAL, BEN, "UBT1"}
    assert len(messages) == 1  # Slack has it, though the bot heard a failure
    # the retry, after its backoff, opens the same conversation, reads it back and posts nothing new
    live.clock.advance(timedelta(minutes=3))
    await live.bot.circles.run_due()
    assert len(slack_double.api("conversations.history")) == 1
    assert group_dms(slack_double) == {gid: messages} and len(messages) == 1
    intro = messages[0]
    text = text_of(intro)
    assert "Your buddy pair this round in #general" in text, text
    assert "Three things to talk about" in text and "Africa/Cairo" in text and "Psychiatry" in text
    starters = next(b for b in intro["blocks"] if "Three things" in json.dumps(b))
    assert starters["text"]["text"].count("•") == 3, starters
    assert "Maya" not in text and "maya@" not in text  # no contact of anyone's is named
    assert not pings(intro)
    assert intro["metadata"]["event_type"] == "imgbot_post"
    # nobody gets an intro DM of their own as well, now or after a restart
    await live.deliver()
    await live.restart()
    assert live.bot is not None
    await live.bot.circles.run_due()
    await live.deliver()
    assert not [m for who in (AMAL, BEN) for m in slack_double.dms(who) if "Your buddy" in text_of(m)]
    assert len(group_dms(slack_double)[gid]) == 1

    # each member's press answers for themself, after the restart
    d = await slack_double.click(intro, button(intro, "Yes")["action_id"], user=BEN)
    await slack_double.wait_for(lambda: d.posts, 5, "the click's answer")
    assert "Great: you met amal" in text_of(d.posts[-1].body), text_of(d.posts[-1].body)
    assert d.posts[-1].body.get("response_type") == "ephemeral"
    d = await slack_double.click(intro, button(intro, "Not yet")["action_id"], user=AMAL)
    await slack_double.wait_for(lambda: d.posts, 5, "the click's answer")
    assert "Noted: not yet" in text_of(d.posts[-1].body)
    # someone outside the group cannot answer for it (a forged click: they cannot see the group DM)
    d = await slack_double.click(intro, button(intro, "No")["action_id"], user="U4", forged=True)
    await slack_double.wait_for(lambda: d.posts, 5, "the click's answer")
    assert "not one of your buddy rounds" in text_of(d.posts[-1].body)

    # halfway, "did you meet?" comes by DM to who has not said yes, and its buttons work after a restart
    live.clock.advance(timedelta(days=8))
    await live.bot.circles.run_due()
    await live.deliver()
    asked = [m for m in slack_double.dms(AMAL) if "Did you meet" in text_of(m)]
    assert asked and not [m for m in slack_double.dms(BEN) if "Did you meet" in text_of(m)]
    await live.restart()
    d = await slack_double.click(asked[-1], button(asked[-1], "Yes")["action_id"], user=AMAL)
    await slack_double.wait_for(lambda: d.posts, 5, "the click's answer")
    assert "Great: you met ben" in text_of(d.posts[-1].body), text_of(d.posts[-1].body)


async def test_without_mpim_write_each_member_gets_their_own_intro_dm_once(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    from bot.frontends.slack.app import SCOPES

    slack_double.teams["T1"].scopes = set(SCOPES) - {"mpim:write"}  # installed before the scope was asked for
    await _paired(live)
    assert live.bot is not None
    await live.bot.circles.run_due()
    refused = [c for c in slack_double.api("conversations.open") if c.error == "missing_scope"]
    assert len(refused) == 1 and group_dms(slack_double) == {}
    await live.deliver()
    await live.restart()
    assert live.bot is not None
    await live.bot.circles.run_due()
    await live.deliver()
    for who, buddy in ((AMAL, "ben"), (BEN, "amal")):
        intros = [m for m in slack_double.dms(who) if "Your buddy" in text_of(m)]
        assert len(intros) == 1, [text_of(m) for m in slack_double.dms(who)]
        assert buddy in text_of(intros[0]) and "Three things to talk about" in text_of(intros[0])
        assert "Maya" not in text_of(intros[0]) and not pings(intros[0])
        # its buttons, too, work after the restart
        d = await slack_double.click(intros[0], button(intros[0], "Yes")["action_id"], user=who)
        await slack_double.wait_for(lambda d=d: d.posts, 5, "the click's answer")
        assert f"Great: you met {buddy}" in text_of(d.posts[-1].body), text_of(d.posts[-1].body)


async def test_an_intro_a_dead_instance_sent_is_not_posted_again_when_taken_over(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    from bot.core.reply import Reply

    await _paired(live)
    assert live.bot is not None and live.app is not None
    store, now = live.app.store, live.clock.now()
    # another instance claims the intro, posts it through the same port, and dies before recording it
    (intro,) = [p for p in await store.claim_posts("dead", now, now + timedelta(seconds=60), 10, ["slack"])]
    assert intro.kind == "intro"
    program = await store.get_program(intro.program_id)
    group = await store.get_group(int(intro.period.rsplit(":", 1)[1]))
    assert program is not None and group is not None
    refs = await store.user_refs(group.user_ids)
    port = live.bot.circles.channels["slack"]
    await port.post_group(  # type: ignore[attr-defined]
        program.place, [refs[u] for u in group.user_ids], Reply(title="sent by the dead one"), f"circle-{intro.id}"
    )
    assert await live.bot.circles.run_due() == 0  # its lease still runs
    live.clock.advance(timedelta(seconds=61))
    await live.bot.circles.run_due()
    (messages,) = group_dms(slack_double).values()
    assert len(messages) == 1 and "sent by the dead one" in text_of(messages[0])  # read back, not posted again
    assert [p.status for p in await store.posts_of(intro.program_id) if p.kind == "intro"] == ["sent"]
