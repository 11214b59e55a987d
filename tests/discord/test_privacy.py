"""/privacy export and /privacy delete as Discord slash commands and buttons."""

from __future__ import annotations

import json

from bot.core.models import UserRef
from tests.discord.conftest import AMAL, AMAL_ID, BEN, PROFILE, LiveBot
from tests.discord.double import DiscordDouble


async def test_export_is_a_private_json_file_of_the_users_own_data(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference", met_on="2026-11-22")
    await bot.say(BEN, "contact add", name="Dr Ben Secret")
    exported = await bot.say(AMAL, "privacy export")
    assert exported.ephemeral
    (att,) = exported.messages[0]["attachments"]
    assert att["filename"].endswith(".json")
    data = json.loads(double.files[att["url"]].decode("utf-8"))
    assert data["account"]["platform"] == "discord" and data["account"]["account"] == str(AMAL_ID)
    assert data["profile"]["name"] == "Dr Amal Hassan"
    assert [c["name"] for c in data["contacts"]] == ["Dr Maya Lee"]
    assert "Dr Ben Secret" not in json.dumps(data)


async def test_delete_asks_with_a_button_then_removes_everything(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference", met_on="2026-11-22")
    await bot.say(BEN, "contact add", name="Dr Ben Keeps")
    store = bot.running.app.store
    uid = await store.ensure_user(UserRef("discord", str(AMAL_ID)), bot.clock.now())
    await store.set_dm_channel(UserRef("discord", str(AMAL_ID)), "123456789012345678", bot.clock.now())

    asked = await bot.say(AMAL, "privacy delete")
    assert asked.ephemeral and "Delete everything the bot holds about you?" in asked.text
    assert "[Delete everything]" in asked.text
    assert len(await store.all_contacts(uid)) == 1  # nothing deleted before the click

    done = await bot.click(AMAL, asked.messages[0], "Delete everything")
    assert done.ephemeral and "Deleted everything the bot held about you" in done.text, done.text
    assert "1 contact" in done.text and "1 remembered DM channel" in done.text
    assert await store.user_ref(uid) is None
    assert await store.dm_channel(UserRef("discord", str(AMAL_ID))) is None
    assert "Dr Ben Keeps" in (await bot.say(BEN, "contact list")).text
