"""Circles on Discord, end to end: the real discord.py client against the local Discord double.

The check-in post appears in the program's channel (allowed mentions none), its Log my week button
opens a modal pre-filled from the clicker's tracker, the submission is recorded, and a buddy pair's
"did you meet?" buttons in its private thread work after a restart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.clock import ManualClock
from tests.discord.conftest import AMAL, BEN, LiveBot
from tests.discord.double import CHANNEL_ID, GUILD_ID, DiscordDouble, buttons, message_text, user
from tests.helpers import START

MANAGE_GUILD = 1 << 5
MONDAY_POST = START.replace(hour=18, minute=0)


def channel_posts(double: DiscordDouble) -> list[dict[str, Any]]:
    return double.channels.get(CHANNEL_ID, [])


async def test_post_button_modal_submission_and_did_you_meet_after_a_restart(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    setup = await bot.say(AMAL, "circle setup", permissions=MANAGE_GUILD, timezone="UTC", pairing="every-2-weeks")
    assert "Circle started" in setup.text and setup.ephemeral
    refused = await bot.say(BEN, "circle setup")
    assert "needs the Manage Server permission" in refused.text
    for who in (AMAL, BEN):
        assert "Welcome to the circle" in (await bot.say(who, "circle join")).text
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference")
    await bot.say(AMAL, "contact log", contact="#1", type="emailed")

    clock.set(MONDAY_POST)
    assert await bot.running.circles.run_due() >= 1
    posts = channel_posts(double)
    assert len(posts) == 1
    post = posts[0]
    assert "Week 48 check-in" in message_text(post) and "[Log my week]" in message_text(post)
    assert post["allowed_mentions"] == {"parse": []}
    assert buttons(post)[0]["custom_id"] == "imgbot-form:circle checkin program:1"
    assert await bot.running.circles.run_due() == 0 and len(channel_posts(double)) == 1  # once

    # the button opens a modal pre-filled from the clicker's own tracker
    opened = await double.interact(double.component(AMAL, post, "Log my week"), expect=0)
    modal = opened.modal
    assert modal["custom_id"] == "imgbot-form:circle checkin program:1" and modal["title"] == "Week 48 check-in"
    fields = {row["components"][0]["custom_id"]: row["components"][0] for row in modal["components"]}
    assert fields["counts"]["value"] == "1, 1, 1, 1" and fields["counts"]["label"].startswith("Emails")
    assert set(fields) == {"counts", "win", "blocker", "goal"}

    # the submission (after a restart, so nothing in memory helps) is recorded
    await bot.restart()
    done = await double.interact(double.modal_submit(AMAL, opened, {"counts": "3, 1, 1, 2", "win": "a reply!"}))
    assert "Week 48 logged" in done.text and done.ephemeral
    stored = await bot.running.app.store.checkins_for(1, ["2026-W48"])
    assert [(c.counts.emails, c.counts.conversations, c.win) for c in stored] == [(3, 2, "a reply!")]
    bad = await double.interact(double.modal_submit(BEN, opened, {"counts": "lots"}))
    assert "needs four whole numbers" in bad.text and bad.ephemeral

    # the pairing round ran on schedule with the post; a second one this week is refused
    again = await bot.say(AMAL, "circle pair-now", permissions=MANAGE_GUILD)
    assert "already has a round this week" in again.text
    made = await bot.running.app.store.round_for(1, "2026-W48")
    assert made is not None and [len(g.user_ids) for g in made.groups] == [2]
    # the pair's intro is in a private thread of the channel, its did-you-meet buttons work after a restart
    await bot.deliver_due()
    assert not [m for who in (AMAL, BEN) for m in double.dms(int(who["id"])) if "Your buddy" in message_text(m)]
    ((thread_id, thread),) = double.threads.items()
    assert thread["type"] == 12 and int(thread["parent_id"]) == CHANNEL_ID
    (intro,) = double.thread_messages(thread_id)
    assert "Your buddy" in message_text(intro) and "Amal, UTC" in message_text(intro)
    assert [b["label"] for b in buttons(intro)][-3:] == ["Yes", "Not yet", "No"]
    await bot.restart()
    yes = await bot.click(BEN, intro, "Yes")
    assert "Great: you met Amal" in yes.text and yes.ephemeral
    assert "[Add Amal as a contact]" in yes.text

    # the Friday digest in the channel names both (they opted in to counts) and no contact
    clock.set(MONDAY_POST + timedelta(days=4))
    await bot.running.circles.run_due()
    digest = channel_posts(double)[-1]
    text = message_text(digest)
    assert "Week 48 digest: 1 of 2 checked in" in text and "Maya" not in text
    assert digest["attachments"][0]["filename"] == "circle-2026-W48.png"
    assert digest["allowed_mentions"] == {"parse": []}
    assert int(digest["channel_id"]) == CHANNEL_ID and GUILD_ID


async def test_did_you_meet_dms_halfway_and_at_the_end_work_after_restarts(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await bot.say(AMAL, "circle setup", permissions=MANAGE_GUILD, timezone="UTC", pairing="every-2-weeks")
    for who in (AMAL, BEN):
        await bot.say(who, "circle join")
    clock.set(MONDAY_POST)
    await bot.running.circles.run_due()  # the check-in post and the round
    await bot.deliver_due()
    made = await bot.running.app.store.round_for(1, "2026-W48")
    assert made is not None and len(made.groups) == 1
    group = made.groups[0]

    def asked(who: dict[str, Any]) -> list[dict[str, Any]]:
        return [m for m in double.dms(int(who["id"])) if "Did you meet" in message_text(m)]

    # halfway (Monday 30 Nov 18:00): both are asked; the bot restarts before either answers
    clock.set(MONDAY_POST + timedelta(days=7, minutes=1))
    await bot.running.circles.run_due()
    await bot.deliver_due()
    assert len(asked(AMAL)) == 1 and len(asked(BEN)) == 1
    assert "Did you meet Ben this round?" in message_text(asked(AMAL)[0])
    assert [b["custom_id"] for b in buttons(asked(AMAL)[0])] == [
        f"imgbot:circle met {group.id} yes",
        f"imgbot:circle met {group.id} not-yet",
        f"imgbot:circle met {group.id} no",
    ]
    await bot.restart()
    not_yet = await bot.click(AMAL, asked(AMAL)[0], "Not yet")
    assert "Noted: not yet" in not_yet.text and not_yet.ephemeral
    no = await bot.click(BEN, asked(BEN)[0], "No")
    assert "you did not meet this round" in no.text
    # a click runs as the clicker: someone outside the pair cannot answer for it
    stranger = user(500_000_000_000_000_009, "zed")
    refused = await double.interact(double.component(stranger, asked(AMAL)[0], "Yes"))
    assert f"group {group.id} is not one of your buddy rounds" in refused.text and refused.ephemeral

    # at the end only who said "not yet" is asked again; after another restart Yes logs the meeting
    clock.set(MONDAY_POST + timedelta(days=14) - timedelta(minutes=59))
    await bot.running.circles.run_due()
    await bot.deliver_due()
    assert len(asked(AMAL)) == 2 and len(asked(BEN)) == 1
    await bot.restart()
    yes = await bot.click(AMAL, asked(AMAL)[-1], "Yes")
    assert "Great: you met Ben" in yes.text and "[Add Ben as a contact]" in yes.text
    answers = (await bot.running.app.store.get_group(group.id)).answers  # type: ignore[union-attr]
    assert sorted(answers.values(), key=str) == ["no", "yes"]
