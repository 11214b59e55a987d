"""Every core command as a native slash command, driven through the Discord double like a user would."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.origin import Requirement
from bot.core.registry import CommandSet, Option, OptionType
from bot.core.reply import Reply
from bot.frontends.discord.build import MAX_INT
from bot.frontends.discord.runner import sync
from tests.discord.conftest import AMAL, BEN, PROFILE, LiveBot
from tests.discord.double import CHANNEL_ID, GUILD_ID, DiscordDouble, buttons

DISCORD_TYPE = {OptionType.INTEGER: 4, OptionType.FILE: 11}


def _registered(double: DiscordDouble) -> dict[str, dict]:
    """Registered commands by qualified name ('contact add'), as the bot synced them to the dev guild."""
    out = {}
    for c in double.commands[GUILD_ID]:
        subs = [o for o in c.get("options", []) if o["type"] == 1]
        if subs:
            out.update({f"{c['name']} {s['name']}": s for s in subs})
        else:
            out[c["name"]] = c
    return out


async def test_every_registry_command_is_a_typed_slash_command(bot: LiveBot, double: DiscordDouble) -> None:
    registry = bot.running.app.registry
    registered = _registered(double)
    assert sorted(registered) == sorted(c.qualified for c in registry.commands)
    for command in registry.commands:
        spec = registered[command.qualified]
        assert spec["description"] == command.description[:100]
        options = {o["name"]: o for o in spec.get("options", [])}
        assert list(options) == [o.name for o in command.options], command.qualified
        for opt in command.options:
            got = options[opt.name]
            assert got["type"] == DISCORD_TYPE.get(opt.type, 3), (command.qualified, opt.name)
            assert got["required"] == (opt.required and not (opt.multiline and opt.type == OptionType.TEXT))
            assert 1 <= len(got["description"]) <= 100
            if opt.autocomplete:
                assert got.get("autocomplete") is True and "choices" not in got
            elif opt.type == OptionType.CHOICE:
                assert [c["value"] for c in got["choices"]] == [c.value for c in opt.choices]
            elif opt.type == OptionType.INTEGER:
                # Discord's integer range (2**53) narrows core's own bounds, never widens them
                assert got.get("min_value") == opt.min_value
                assert got.get("max_value") == (min(opt.max_value, MAX_INT) if opt.max_value is not None else None)
            elif opt.type != OptionType.FILE:
                assert got["max_length"] == opt.max_length  # input lengths are bounded by Discord itself
    # groups carry subcommands
    contact = next(c for c in double.commands[GUILD_ID] if c["name"] == "contact")
    subcommands = {o["name"] for o in contact["options"]}
    assert {"add", "list", "show", "edit", "remove", "log", "export", "import"} <= subcommands
    # nothing is synced globally unless asked
    assert None not in double.commands


async def test_a_new_registry_command_appears_with_no_discord_code(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    extra = CommandSet()

    @extra.command(
        "ping", "Check the bot answers", Option("times", "how many pongs", OptionType.INTEGER, min_value=1, max_value=3)
    )
    async def ping(ctx, times: int | None) -> Reply:
        return Reply(title="pong" * (times or 1))

    def prepare(app: App) -> None:
        app.registry.add(extra.commands[0])

    live = await LiveBot(double, tmp_path / "p.db", clock, prepare=prepare).start()
    try:
        answer = await live.say(AMAL, "ping", times=2)
        assert answer.text == "pongpong"
    finally:
        await live.stop()


async def test_origin_reaches_core_and_manage_server_makes_an_admin(
    double: DiscordDouble, tmp_path: Path, clock: ManualClock
) -> None:
    extra = CommandSet()

    @extra.command("configure", "Admins only", requirement=Requirement.COMMUNITY_ADMIN)
    async def configure(ctx) -> Reply:
        o = ctx.origin
        return Reply(title=f"set up in {o.community}/{o.channel} ({o.channel_name})")

    def prepare(app: App) -> None:
        app.registry.add(extra.commands[0])

    live = await LiveBot(double, tmp_path / "o.db", clock, prepare=prepare).start()
    try:
        member = await live.say(AMAL, "configure")
        assert member.ephemeral and "is for community admins; it needs the Manage Server permission" in member.text
        admin = await live.say(AMAL, "configure", permissions=1 << 5)  # MANAGE_GUILD
        assert admin.text == f"set up in {GUILD_ID}/{CHANNEL_ID} (general)"
    finally:
        await live.stop()


async def test_help_lists_commands_privately(bot: LiveBot) -> None:
    answer = await bot.say(AMAL, "help")
    assert answer.ephemeral
    assert answer.messages[0]["embeds"][0]["title"] == "IMG Peer Bot commands"
    assert "/contact add" in answer.text and "/nudges" in answer.text
    detail = await bot.say(AMAL, "help", command="contact add")
    assert detail.text.startswith("/contact add <name>")


async def test_profile_set_then_show(bot: LiveBot) -> None:
    answer = await bot.say(AMAL, "profile set", **PROFILE)
    assert answer.ephemeral  # personal data
    embed = answer.messages[0]["embeds"][0]
    assert embed["title"] == "Profile updated"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Specialty"] == "Psychiatry" and fields["Track"] == "Non-US-citizen IMG"
    assert fields["ERAS submission"] == "September 2027" and fields["Visa"] == "J-1"

    shown = await bot.say(AMAL, "profile show")
    assert "Dr Amal Hassan" in shown.text and shown.ephemeral
    other = await bot.say(BEN, "profile show")
    assert "Dr Amal Hassan" not in other.text  # each Discord user has their own profile


async def test_playbook_and_reference_commands_are_public(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    for command in ("playbook", "conferences", "faq", "mistakes"):
        answer = await bot.say(AMAL, command)
        assert not answer.ephemeral, command
        assert "Psychiatry (non-US-citizen IMG)" in answer.text, command
    section = await bot.say(AMAL, "playbook", specialty="em", section="cadences", track="us-img")
    assert "Emergency Medicine" in section.text


async def test_scripts_are_private_code_blocks_ready_to_copy(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    answer = await bot.say(AMAL, "script", kind="cold-email")
    assert answer.ephemeral
    description = answer.messages[0]["embeds"][0]["description"]
    subject, body = re.findall(r"```\n(.*?)\n```", description, re.S)
    assert subject.startswith("IMG from Egypt")
    assert "Dr Amal Hassan" in body and "Cairo University" in body
    assert "\\" not in body  # the template is not markdown-escaped: it copies exactly
    listing = await bot.say(AMAL, "script")
    assert "cold-email" in listing.text.replace("\\", "")


async def test_timeline_show_and_export_as_a_calendar_file(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    shown = await bot.say(AMAL, "timeline show")
    assert "Timeline to ERAS September 2027" in shown.text
    exported = await bot.say(AMAL, "timeline export")
    (att,) = exported.messages[0]["attachments"]
    assert att["filename"].endswith(".ics")
    assert double.files[att["url"]].startswith(b"BEGIN:VCALENDAR")


async def test_contact_group_add_list_show_edit_log_and_remove_with_its_button(bot: LiveBot) -> None:
    added = await bot.say(
        AMAL,
        "contact add",
        name="Dr Maya Lee",
        role="attending",
        specialty="psych",
        how_met="conference",
        met_on="yesterday",
        institution="Mass General",
    )
    assert added.ephemeral and added.messages[0]["embeds"][0]["title"] == "Added #1 Dr Maya Lee"
    listed = await bot.say(AMAL, "contact list")
    assert "#1 Dr Maya Lee" in listed.text
    assert "Contacts (all): 0" in (await bot.say(BEN, "contact list")).text  # each user has their own
    shown = await bot.say(AMAL, "contact show", contact="#1")
    assert "Mass General" in shown.text and "History" in shown.text
    edited = await bot.say(AMAL, "contact edit", contact="#1", institution="McLean Hospital")
    assert "McLean Hospital" in edited.text
    logged = await bot.say(AMAL, "contact log", contact="Dr Maya Lee", type="emailed")
    assert logged.text.startswith("Logged emailed with #1 Dr Maya Lee")

    asked = await bot.say(AMAL, "contact remove", contact="#1")
    assert asked.ephemeral and "Delete #1 Dr Maya Lee" in asked.text
    (delete,) = buttons(asked.messages[0])
    assert delete["label"] == "Delete" and delete["style"] == 4  # danger
    done = await bot.click(AMAL, asked.messages[0], "Delete")
    assert done.text == "Deleted #1 Dr Maya Lee" and done.ephemeral
    assert "Contacts (all): 0" in (await bot.say(AMAL, "contact list")).text


async def test_contact_export_and_import_as_csv_files(bot: LiveBot, double: DiscordDouble) -> None:
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", how_met="conference")
    exported = await bot.say(AMAL, "contact export")
    (att,) = exported.messages[0]["attachments"]
    assert att["filename"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(double.files[att["url"]].decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Dr Maya Lee"]

    upload = double.upload("contacts.csv", b"name,institution\nDr Omar Said,Cleveland Clinic\nDr Maya Lee,\n")
    imported = await bot.say(BEN, "contact import", file=upload)
    assert imported.messages[0]["embeds"][0]["title"] == "Imported 2 contact(s)"
    assert "Dr Omar Said" in (await bot.say(BEN, "contact list")).text


async def test_goal_and_followups(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    answer = await bot.say(AMAL, "goal set", metric="emails", count=3, period="week")
    assert answer.text.startswith("Goal set: 3 emails per week")
    assert "emails this week" in (await bot.say(AMAL, "goal progress")).text
    await bot.say(AMAL, "contact add", name="Dr Maya Lee", specialty="psych", how_met="conference", met_on="5 days ago")
    due = await bot.say(AMAL, "followups", days=7)
    assert "Dr Maya Lee" in due.text and due.ephemeral


async def test_nudges_list_pause_resume(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    assert "Upcoming nudges" in (await bot.say(AMAL, "nudges list")).text
    paused = await bot.say(AMAL, "nudges pause", until="in 2 weeks")
    assert paused.text.startswith("Nudges paused until")
    assert (await bot.say(AMAL, "nudges resume")).text == "Nudges are back on"


async def test_after_a_global_sync_commands_work_in_a_dm_with_the_bot(
    bot: LiveBot, double: DiscordDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await sync(bot.settings(), None) == 0  # imgbot discord sync
    assert capsys.readouterr().out.strip() == f"synced {len(double.commands[None])} commands globally"
    answer = await bot.say(AMAL, "contact add", dm=True, name="Dr Maya Lee")
    assert "Added #1 Dr Maya Lee" in answer.text
    assert "Dr Maya Lee" in (await bot.say(AMAL, "contact list")).text  # same user in a server


async def test_a_usage_error_is_one_private_line(bot: LiveBot) -> None:
    await bot.say(AMAL, "profile set", **PROFILE)
    answer = await bot.say(AMAL, "conferences", specialty="pysch")  # public command, private error
    assert answer.ephemeral
    assert answer.text == "option 'specialty': no playbook for 'pysch' (em, im, peds, psych); did you mean psych?"
    assert answer.messages[0]["embeds"][0]["color"] == 0xED4245
