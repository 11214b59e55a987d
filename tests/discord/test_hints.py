"""Command hints and typed text through the real discord.py client and the Discord double."""

from __future__ import annotations

from bot.core.hints import CLOSE, OPEN
from tests.discord.conftest import AMAL, PROFILE, LiveBot
from tests.discord.double import DiscordDouble


async def test_hints_render_as_slash_commands_in_embeds_and_errors(bot: LiveBot, double: DiscordDouble) -> None:
    error = await bot.say(AMAL, "contact show", contact="Nobody")
    assert error.text == "no contact matches 'Nobody'; see /contact list or add one with /contact add"
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference")
    card = await bot.say(AMAL, "contact show", contact="#1")
    assert "/script conference-followup contact:#1" in card.text
    public = await bot.say(AMAL, "playbook", section="arenas")
    assert "/conferences" in public.text
    for answer in (error, card, public):
        assert OPEN not in str(answer.messages) and CLOSE not in str(answer.messages)


async def test_autocomplete_labels_carry_no_markers(bot: LiveBot, double: DiscordDouble) -> None:
    payload = double.slash(AMAL, "help", focused="command", command="contact")
    answer = await double.interact(payload)
    names = [c["name"] for c in answer.choices]
    assert "/contact add" in names and all(OPEN not in n and CLOSE not in n for n in names)


async def test_a_typed_value_in_smart_quotes_is_stored_without_them(bot: LiveBot) -> None:
    answer = await bot.say(AMAL, "contact add", name="“Dr Maya Lee”", institution="Women’s Hospital")
    assert answer.text.startswith("Added #1 Dr Maya Lee")
    assert "Institution: Women’s Hospital" in answer.text
    refused = await bot.say(AMAL, "contact add", name="Dr\x00 Lee")
    assert refused.text.startswith("option 'name' contains a control character (U+0000)")
