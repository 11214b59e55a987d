"""Nudges as Discord DMs: buttons that survive a restart, refusal for strangers, closed DMs, nonces."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from tests.discord.conftest import AMAL, AMAL_ID, BEN, PROFILE, LiveBot
from tests.discord.double import DiscordDouble, buttons, message_text

DUE = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 09:00 in Cairo, two days after meeting at a conference
DM_SEND = r"/channels/\d+/messages"
OPEN_DM = r"/users/@me/channels"


def _nudge_id(dm: dict) -> int:
    return int(buttons(dm)[0]["custom_id"].rsplit(" ", 1)[1])


async def _met_maya(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", specialty="psych", how_met="conference", met_on="2026-11-22")


async def test_a_due_followup_arrives_as_a_dm_with_done_snooze_stop_buttons(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    assert (await bot.deliver_due()).delivered == 0  # not due yet
    assert double.dms(AMAL_ID) == []

    clock.set(DUE)
    outcome = await bot.deliver_due()
    assert outcome.delivered == 1
    (dm,) = double.dms(AMAL_ID)
    embed = dm["embeds"][0]
    assert embed["title"] == "🔔 Your networking nudges"
    assert "#1 Dr Maya Lee: follow-up due Wed 25 Nov 2026 (after meeting them)" in embed["description"]
    assert re.search(r"```\n.*Dear Dr\. Lee,.*\n```", embed["description"], re.S)  # the script, ready to copy
    n = _nudge_id(dm)
    assert [(b["label"], b["custom_id"]) for b in buttons(dm)] == [
        ("Done: Dr Maya Lee", f"imgbot:nudges done {n}"),
        ("Snooze 1d", f"imgbot:nudges snooze {n} 1d"),
        ("Snooze 3d", f"imgbot:nudges snooze {n} 3d"),
        ("Snooze 1w", f"imgbot:nudges snooze {n} 1w"),
        ("Stop for this contact", f"imgbot:nudges stop {n}"),
    ]
    assert [len(row["components"]) for row in dm["components"]] == [5]  # one row per contact
    (send,) = double.calls_to("POST", DM_SEND)
    assert send.json["allowed_mentions"] == {"parse": []}
    assert send.json["enforce_nonce"] is True and re.fullmatch(r"[0-9a-f]{12}-\d+", send.json["nonce"])
    assert double.count("POST", OPEN_DM) == 1
    assert (await bot.deliver_due()).delivered == 0  # delivered once


async def test_buttons_still_work_after_a_restart_and_refuse_a_stranger(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    clock.set(DUE)
    await bot.deliver_due()
    (dm,) = double.dms(AMAL_ID)

    await bot.restart()  # a new client and scheduler on the same SQLite file

    stranger = await bot.click(BEN, dm, "Done: Dr Maya Lee")
    assert stranger.ephemeral and stranger.text == f"nudge {_nudge_id(dm)} is not one of yours"

    done = await bot.click(AMAL, dm, "Done: Dr Maya Lee")
    assert done.ephemeral
    assert done.text.startswith("Logged emailed with #1 Dr Maya Lee on Wed 25 Nov 2026")
    shown = await bot.say(AMAL, "contact show", contact="#1")
    assert "emailed (from a nudge)" in shown.text


async def test_snooze_and_stop_buttons(bot: LiveBot, double: DiscordDouble, clock: ManualClock) -> None:
    await _met_maya(bot)
    clock.set(DUE)
    await bot.deliver_due()
    (dm,) = double.dms(AMAL_ID)
    snoozed = await bot.click(AMAL, dm, "Snooze 3d")
    assert snoozed.text == "Snoozed #1 Dr Maya Lee until Sat 28 Nov 2026"
    clock.advance(timedelta(days=3))
    await bot.deliver_due()
    second = double.dms(AMAL_ID)[-1]
    assert len(double.dms(AMAL_ID)) == 2 and "Dr Maya Lee" in message_text(second)
    stopped = await bot.click(AMAL, second, "Stop for this contact")
    assert stopped.text == "No more nudges about #1 Dr Maya Lee"


async def test_the_scheduler_delivers_a_late_nudge_when_the_bot_starts(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    live = await LiveBot(double, tmp_path / "late.db", clock).start()
    try:
        await _met_maya(live)
        await live.stop()
        clock.set(DUE + timedelta(days=2))  # the bot was down when it fell due
        await live.start()
        await double.wait_for(lambda: len(double.dms(AMAL_ID)) == 1, what="the scheduler's DM")
        (dm,) = double.dms(AMAL_ID)
        assert dm["embeds"][0]["title"].startswith("🔔 Late nudges")
        assert (await live.click(AMAL, dm, "Done: Dr Maya Lee")).text.startswith("Logged emailed")
    finally:
        await live.stop()


async def test_closed_dms_are_recorded_and_explained_privately_at_the_next_command(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    double.closed_dms.add(AMAL_ID)
    clock.set(DUE)
    outcome = await bot.deliver_due()
    assert outcome.failed == 1 and outcome.delivered == 0
    (refused,) = double.calls_to("POST", DM_SEND)
    assert refused.status == 403
    assert (await bot.deliver_due()).failed == 0  # permanent: not retried every wake-up

    # A public command that fails keeps the notice for later...
    failed = await bot.say(AMAL, "conferences", specialty="pysch")
    assert "Privacy Settings" not in failed.text and len(failed.messages) == 1
    # ...and one that works stays public, with the hint sent separately and privately.
    answer = await bot.say(AMAL, "conferences", expect=2)
    public, notice = answer.messages
    assert not int(public["flags"]) & 64 and "Privacy Settings" not in message_text(public)
    assert int(notice["flags"]) & 64
    assert "I could not send you 1 nudge(s) (your DMs are closed to the bot)" in message_text(notice)
    assert "Server menu > Privacy Settings > allow direct messages from server members" in message_text(notice)
    # told once
    assert "Privacy Settings" not in (await bot.say(AMAL, "conferences")).text


async def test_closed_dms_notice_inside_a_private_reply(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    double.closed_dms.add(AMAL_ID)
    clock.set(DUE)
    await bot.deliver_due()
    answer = await bot.say(AMAL, "contact list")
    assert answer.ephemeral and len(answer.messages) == 1
    assert "Heads-up" in answer.text and "Privacy Settings" in answer.text


async def test_the_dm_channel_is_remembered_across_restarts(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    clock.set(DUE)
    await bot.deliver_due()
    (dm,) = double.dms(AMAL_ID)
    await bot.click(AMAL, dm, "Snooze 1d")
    await bot.restart()
    clock.advance(timedelta(days=1))
    assert (await bot.deliver_due()).delivered == 1
    assert len(double.dms(AMAL_ID)) == 2
    assert double.count("POST", OPEN_DM) == 1  # one DM channel opened, ever


async def test_a_lost_response_is_retried_with_the_same_nonce_and_shown_once(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _met_maya(bot)
    clock.set(DUE)
    # Discord stores the message, then the response is lost in a 502: discord.py retries.
    double.fail_next("POST", DM_SEND, 502, after_effect=True)
    assert (await bot.deliver_due()).delivered == 1
    first, retry = double.calls_to("POST", DM_SEND)
    assert (first.status, retry.status) == (502, 200)
    assert first.json["nonce"] == retry.json["nonce"]
    assert len(double.dms(AMAL_ID)) == 1
