"""What a new user reads in a first session on Discord, end to end against the double: text in
the places Discord shows as it is (footers), hints and labels as people read them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.clock import ManualClock
from tests.discord.conftest import AMAL, AMAL_ID, PROFILE, LiveBot
from tests.discord.double import DiscordDouble, buttons


def _footers(message: dict) -> list[str]:
    return [(e.get("footer") or {}).get("text") or "" for e in message.get("embeds") or []]


async def test_footers_are_plain_text_so_nothing_in_them_is_backslash_escaped(
    bot: LiveBot, double: DiscordDouble
) -> None:
    # Discord renders no markdown in an embed footer: an escape there shows as a backslash
    await bot.say(AMAL, "profile set", **PROFILE)
    goals = await bot.say(AMAL, "goal set")
    (footer,) = [f for m in goals.messages for f in _footers(m) if f]
    assert "/goal set <metric> <count> <week|month>" in footer, footer
    plan = await bot.say(AMAL, "conference plan", conference="APA Annual Meeting", date="2027-05-15")
    (footer,) = [f for m in plan.messages for f in _footers(m) if f]
    assert "how_met:conference" in footer and "\\" not in footer, footer


async def test_a_long_name_on_a_nudge_button_is_cut_at_a_word_with_an_ellipsis(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    long = "Dr Bartholomew Alexander Montgomery-Fitzwilliam the Third"
    await bot.say(AMAL, "contact add", name=long, specialty="psych", how_met="conference", met_on="2026-11-22")
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # 09:00 in Cairo: the follow-up is due
    assert (await bot.deliver_due()).delivered == 1
    (dm,) = double.dms(AMAL_ID)
    assert buttons(dm)[0]["label"] == "Done: Dr Bartholomew Alexander…", buttons(dm)[0]


async def test_help_tells_discord_users_how_options_work_on_discord(bot: LiveBot) -> None:
    overview = (await bot.say(AMAL, "help")).text
    assert "fill in its options in the boxes Discord shows" in overview and "key:value" not in overview, overview
    review = (await bot.say(AMAL, "help", command="review")).text
    assert "<<" not in review and "console" not in review, review


async def test_followups_have_buttons_to_log_the_follow_up_and_get_its_script(
    bot: LiveBot, double: DiscordDouble
) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference", met_on="2026-11-01")
    listed = await bot.say(AMAL, "followups")
    (message,) = listed.messages
    assert [(b["label"], b["custom_id"]) for b in buttons(message)] == [
        ("Emailed · #1", "imgbot:contact log #1 emailed"),
        ("Script · #1", "imgbot:script conference-followup contact:#1"),
    ]
    logged = await bot.click(AMAL, message, "Emailed · #1")
    assert "Logged emailed with #1 Dr Maya Lee" in logged.text, logged.text
    script = await bot.click(AMAL, message, "Script · #1")
    assert "Dear Dr. Lee," in script.text


async def test_the_review_form_labels_its_box_in_words(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    opened = await bot.say(AMAL, "review", kind="cold-email")
    (row,) = opened.modal["components"]
    assert row["components"][0]["label"] == "Draft", row
