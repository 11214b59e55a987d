"""/review on Discord: the draft is typed in a modal's paragraph box, as Discord offers long text."""

from __future__ import annotations

from tests.discord.conftest import AMAL, BEN, PROFILE, LiveBot
from tests.discord.double import DiscordDouble
from tests.test_review import GOOD, PLANTS


async def test_review_opens_a_form_and_checks_what_is_typed_in_it(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    opened = await bot.say(AMAL, "review", kind="cold-email")
    modal = opened.modal
    assert modal["title"] == "/review cold-email"
    (row,) = modal["components"]
    box = row["components"][0]
    assert box["style"] == 2 and box["custom_id"] == "draft" and box["max_length"] == 4000 and box["required"]
    assert double.invalid == []

    bad = PLANTS["big-ask-first"][1](GOOD["psych"])
    answer = await double.interact(double.modal_submit(AMAL, opened, {"draft": bad}))
    assert answer.ephemeral
    assert "Review of your cold-email draft: 1 thing to fix" in answer.text
    assert "“letter of recommendation”" in answer.text
    assert "/script cold-email" in answer.text
    assert double.invalid == []

    # a second form, for a good draft
    opened = await bot.say(AMAL, "review", kind="cold-email")
    answer = await double.interact(double.modal_submit(AMAL, opened, {"draft": GOOD["psych"]}))
    assert "ready to send" in answer.text and "✗" not in answer.text


async def test_a_draft_typed_in_the_option_needs_no_form(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    answer = await bot.say(
        AMAL, "review", kind="cold-email", draft="Dear Dr. Lee, would you have 15 minutes for a call?"
    )
    assert answer.kind == 4 and "Subject line" in answer.text


async def test_a_form_from_before_a_restart_is_answered_not_ignored(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(BEN, "profile set", **PROFILE)
    opened = await bot.say(BEN, "review", kind="cold-email")
    await bot.restart()
    answer = await double.interact(double.modal_submit(BEN, opened, {"draft": GOOD["psych"]}))
    assert "that form has expired" in answer.text and answer.ephemeral
