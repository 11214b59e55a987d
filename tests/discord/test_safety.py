"""Safety: no pings from user text, nothing too long for Discord, unreadable payloads answered, bot keeps running."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.registry import CommandSet
from bot.core.reply import Reply
from bot.frontends.discord.render import render
from tests.discord.conftest import AMAL, AMAL_ID, PROFILE, LiveBot
from tests.discord.double import GUILD_ID, DiscordDouble, buttons, limit_problems, message_text

MESSAGE_ROUTES = (
    r"/interactions/\d+/[^/]+/callback",
    r"/webhooks/\d+/[^/]+",
    r"/webhooks/\d+/[^/]+/messages/.+",
    r"/channels/\d+/messages",
)


def _sent_messages(double: DiscordDouble) -> list[dict]:
    """Every message payload the bot sent: interaction answers, follow-ups, edits and DMs."""
    out = []
    for call in double.calls:
        if call.method in ("POST", "PATCH") and any(re.fullmatch(r, call.path) for r in MESSAGE_ROUTES):
            body = call.json or {}
            data = body.get("data", body) if "type" in body and "data" in body else body
            if data.get("embeds") is not None or data.get("content") is not None:
                out.append(data)
    return out


def _outside_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


async def test_a_contact_named_everyone_can_never_ping(bot: LiveBot, double: DiscordDouble, clock: ManualClock) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    added = await bot.say(
        AMAL,
        "contact add",
        name="@everyone",
        specialty="psych",
        how_met="conference",
        met_on="2026-11-22",
        notes="met @here with <@&1234567890123456789>",
    )
    listed = await bot.say(AMAL, "contact list")
    shown = await bot.say(AMAL, "contact show", contact="#1")
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    await bot.deliver_due()
    (dm,) = double.dms(AMAL_ID)

    for text in (added.text, listed.text, shown.text, message_text(dm)):
        visible = _outside_code(text)
        assert "@\u200beveryone" in visible
        assert not re.search(r"@(everyone|here)", visible)
    assert "<@\u200b&1234567890123456789>" in shown.text
    sent = _sent_messages(double)
    assert len(sent) >= 4
    assert all(m["allowed_mentions"] == {"parse": []} for m in sent)  # and no ping is allowed anyway


def _huge_reply() -> Reply:
    r = Reply(title="T" * 300)
    r.text("word " * 5000, heading="A very long text")
    r.fields(*[(f"field {i}", "v" * 1500) for i in range(40)])
    r.bullets([f"item {i} " + "x" * 90 for i in range(200)], heading="Many items")
    r.script("line of the template\n" * 400, heading="A long script", subject="S" * 50)
    r.footer = "f" * 3000
    return r


async def test_an_over_long_reply_is_split_and_never_fails(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    huge = CommandSet()

    @huge.command("huge", "A reply far over every Discord limit", private=False)
    async def huge_cmd(ctx) -> Reply:
        return _huge_reply()

    parts = len(render(_huge_reply(), buttons=False))
    live = await LiveBot(double, tmp_path / "h.db", clock, prepare=lambda app: _add(app, huge)).start()
    try:
        answer = await live.say(AMAL, "huge", expect=parts)
    finally:
        await live.stop()
    assert len(answer.messages) == parts > 3 and not answer.ephemeral
    for message in answer.messages:
        assert limit_problems(message) == []
    text = answer.text
    assert text.count("line of the template") == 400  # nothing lost
    assert text.count("item ") == 200
    assert all(f"field {i}" in text for i in range(40))


def _add(app: App, commands: CommandSet) -> None:
    for c in commands.commands:
        app.registry.add(c)


async def test_a_digest_for_many_contacts_fits_discord_with_its_buttons(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    for i in range(12):
        await bot.say(
            AMAL, "contact add", name=f"Dr Number {i}", specialty="psych", how_met="conference", met_on="2026-11-22"
        )
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert (await bot.deliver_due()).delivered == 12
    messages = double.dms(AMAL_ID)
    text = "\n".join(message_text(m) for m in messages)
    assert all(f"Dr Number {i}" in text for i in range(12))
    labels = [b["label"] for m in messages for b in buttons(m)]
    assert [x for x in labels if x.startswith("Done")] == [f"Done: Dr Number {i}" for i in range(3)]
    nonces = [c.json["nonce"] for c in double.calls_to("POST", r"/channels/\d+/messages")]
    assert len(set(nonces)) == len(nonces) and all(len(n) <= 25 for n in nonces)


async def test_an_unreadable_payload_is_logged_answered_and_the_bot_keeps_running(
    bot: LiveBot, double: DiscordDouble, caplog: pytest.LogCaptureFixture
) -> None:
    broken = double.slash(AMAL, "help")
    broken["type"] = 3  # says "component" but carries no custom_id
    with caplog.at_level(logging.ERROR):
        answer = await double.interact(broken)
    assert answer.ephemeral and answer.text.startswith("Discord sent me something I could not read")
    assert "could not be parsed" in caplog.text

    no_token = double.slash(AMAL, "help")
    del no_token["token"]  # cannot even be answered: logged and skipped
    await double.push("INTERACTION_CREATE", no_token, GUILD_ID)

    assert "IMG Peer Bot commands" in (await bot.say(AMAL, "help")).text


async def test_a_command_discord_knows_but_the_bot_does_not_gets_a_clear_answer(
    bot: LiveBot, double: DiscordDouble
) -> None:
    stale = double.slash(AMAL, "help")
    stale["data"]["name"] = "retired-command"
    answer = await double.interact(stale)
    assert answer.ephemeral and "that command has changed since your Discord app loaded it" in answer.text


async def test_an_attachment_over_the_size_limit_is_refused_before_download(
    bot: LiveBot, double: DiscordDouble
) -> None:
    upload = double.upload("big.csv", b"name\n" + b"x" * (6 * 1024 * 1024))
    answer = await bot.say(AMAL, "contact import", file=upload)
    assert answer.text == "big.csv is 6.0 MB; the limit is 5 MB"
    assert not [c for c in double.calls if "ephemeral-attachments" in c.path]


async def test_a_button_from_an_older_version_is_answered(bot: LiveBot, double: DiscordDouble) -> None:
    asked = await bot.say(AMAL, "contact add", name="Dr Maya Lee")
    old = {
        **asked.messages[0],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 2, "label": "Old", "custom_id": "legacy-button:42"}]}
        ],
    }
    answer = await bot.click(AMAL, old, "Old")
    assert answer.ephemeral and answer.text.startswith("that button is from an older version of the bot")


async def test_autocomplete_for_a_command_the_bot_does_not_have_gets_no_suggestions(
    bot: LiveBot, double: DiscordDouble
) -> None:
    stale = double.slash(AMAL, "script", focused="kind", kind="co")
    stale["data"]["name"] = "retired-command"
    answer = await double.interact(stale)
    assert answer.kind == 8 and answer.choices == []


async def test_a_lone_surrogate_in_a_slash_option_is_a_usage_message(bot: LiveBot, double: DiscordDouble) -> None:
    """Discord hands over JSON strings; '\\udcff' in one is valid JSON, and must not reach the store."""
    await bot.say(AMAL, "profile set", **PROFILE)
    added = await bot.say(AMAL, "contact add", name="Dr \udcff Lee", notes="fine")
    assert "option 'name'" in added.text and "not valid text" in added.text, added.text
    assert "Something went wrong" not in added.text
    edited = await bot.say(AMAL, "profile set", school="Cairo \ud800 University")
    assert "option 'school'" in edited.text and "Something went wrong" not in edited.text
    listed = await bot.say(AMAL, "contact list")
    assert "Contacts (all): 0" in listed.text
    assert "Cairo University" in (await bot.say(AMAL, "profile show")).text
