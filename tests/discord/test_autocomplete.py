"""Autocomplete (interaction type 4): contact names, script kinds, specialties, time zones, commands."""

from __future__ import annotations

from tests.discord.conftest import AMAL, BEN, PROFILE, LiveBot
from tests.discord.double import DiscordDouble


async def test_contact_names_autocomplete_from_the_users_own_tracker(bot: LiveBot, double: DiscordDouble) -> None:
    for name in ("Dr Maya Lee", "Dr Omar Said", "Prof Mayank Rao"):
        await bot.say(AMAL, "contact add", name=name)
    assert await bot.suggest(AMAL, "contact show", "contact", "may") == ["#1", "#3"]
    answer = await double.interact(double.slash(AMAL, "contact log", focused="contact", contact="om"))
    assert answer.kind == 8 and answer.choices == [{"name": "#2 Dr Omar Said", "value": "#2"}]
    assert await bot.suggest(BEN, "contact show", "contact", "may") == []  # nobody else's contacts
    # the value picked from the list works as the option
    shown = await bot.say(AMAL, "contact show", contact="#3")
    assert "Prof Mayank Rao" in shown.text


async def test_script_kinds_autocomplete_while_typing(bot: LiveBot) -> None:
    assert await bot.suggest(AMAL, "script", "kind", "follow") == ["conference-followup", "no-reply-followup"]
    everything = await bot.suggest(AMAL, "script", "kind", "")
    assert "cold-email" in everything and len(everything) <= 25
    await bot.say(AMAL, "profile set", **PROFILE)
    picked = await bot.say(AMAL, "script", kind=everything[0])
    assert picked.ephemeral and "```" in picked.text


async def test_specialty_timezone_and_help_autocomplete(bot: LiveBot) -> None:
    assert await bot.suggest(AMAL, "profile set", "specialty", "psy") == ["psych"]
    assert "Africa/Cairo" in await bot.suggest(AMAL, "profile set", "timezone", "cairo")
    assert "contact add" in await bot.suggest(AMAL, "help", "command", "contact")
