"""Reply -> Discord messages, as pure functions: limits, splitting, escaping, buttons."""

from __future__ import annotations

import discord
import pytest

from bot.core.context import App
from bot.core.registry import Choice, Command, CommandSet, Option, OptionType
from bot.core.reply import ActionStyle, Reply, Tone
from bot.frontends.discord.build import AutocompleteTransformer, OptionTransformer, make_command, transformer
from bot.frontends.discord.render import ZWSP, render, split_code, split_text
from tests.discord.double import limit_problems


def _payload(message) -> dict:
    return {
        "content": message.content,
        "embeds": [e.to_dict() for e in message.embeds],
        "components": [
            {"components": [{"custom_id": b.custom_id, "label": b.label} for b in row]} for row in message.rows
        ],
    }


def _all_text(messages) -> str:
    return "\n".join(
        (e.title or "") + (e.description or "") + "".join(f.value or "" for f in e.fields)
        for m in messages
        for e in m.embeds
    )


def test_a_small_reply_is_one_embed_coloured_by_tone() -> None:
    (m,) = render(Reply(title="Goal set", tone=Tone.SUCCESS).text("Check it with /goal progress."))
    (e,) = m.embeds
    assert e.title == "Goal set" and e.colour == discord.Colour(0x57F287)
    assert e.description == "Check it with /goal progress."
    assert m.rows == [] and m.files == []


@pytest.mark.parametrize("size", [1, 10, 100, 1000])
def test_any_size_stays_within_every_discord_limit(size: int) -> None:
    r = Reply(title="x" * (size % 400), footer="f" * size * 3)
    r.text("para " * size * 10, heading="h")
    r.fields(*[(f"n{i}", "v" * (size * 2)) for i in range(size % 60)])
    r.bullets([f"item {i}" for i in range(size)])
    r.script("line\n" * size, heading="script", subject="subject")
    for i in range(size % 70):
        r.action(f"nudge:done:{i}", f"Done {i}", f"/nudges done {i}")
    r.attach("a.csv", b"x", "text/csv")
    messages = render(r)
    for m in messages:
        assert limit_problems(_payload(m)) == []
    assert sum(len(m.files) for m in messages) == 1
    assert sum(len(row) for m in messages for row in m.rows) == size % 70
    assert _all_text(messages).count("item ") == size


def test_splitting_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_text("aaaa\n\nbbbb", 6) == ["aaaa", "bbbb"]
    assert split_text("aaaa\nbbbb", 6) == ["aaaa", "bbbb"]
    assert split_text("aaaa bbbb", 6) == ["aaaa", "bbbb"]
    assert split_text("a" * 10, 4) == ["aaaa", "aaaa", "aa"]
    assert split_text("ab\\_cd", 3) == ["ab", "\\_c", "d"]  # an escape never loses its character


def test_code_is_split_between_lines_and_each_part_is_fenced() -> None:
    parts = split_code("\n".join(f"line {i}" for i in range(100)), 100)
    assert all(p.startswith("```\n") and p.endswith("\n```") and len(p) <= 100 for p in parts)
    assert "".join(p[4:-4] + "\n" for p in parts).count("line ") == 100


def test_user_text_is_escaped_and_cannot_ping_but_scripts_copy_exactly() -> None:
    r = Reply(title="Added #1 @everyone")
    r.text("met @here and <@&123456789012345678> at *the* booth")
    r.script("Dear @everyone,\n*exactly* as typed ```", subject="Hello_there")
    (m,) = render(r)
    e = m.embeds[0]
    assert e.title == f"Added #1 @{ZWSP}everyone"
    assert f"@{ZWSP}here" in e.description and f"<@{ZWSP}&123456789012345678>" in e.description
    assert "\\*the\\* booth" in e.description
    assert "```\nDear @everyone,\n*exactly* as typed `" + ZWSP + "``\n```" in e.description
    assert "```\nHello_there\n```" in e.description


def test_fields_become_embed_fields_and_long_values_continue() -> None:
    r = Reply(title="card").fields(("Name", "Dr Maya Lee"), ("Notes", "n" * 1500))
    (m,) = render(r)
    names = [f.name for f in m.embeds[0].fields]
    assert names == ["Name", "Notes", "Notes (cont.)"]


def test_buttons_group_by_subject_and_encode_the_command_line() -> None:
    r = Reply(title="nudges")
    for n in (7, 8):
        r.action(f"nudge:done:{n}", "Done", f"/nudges done {n}", ActionStyle.PRIMARY)
        r.action(f"nudge:stop:{n}", "Stop", f"/nudges stop {n}", ActionStyle.DANGER)
    (m,) = render(r)
    assert [[b.custom_id for b in row] for row in m.rows] == [
        ["imgbot:nudges done 7", "imgbot:nudges stop 7"],
        ["imgbot:nudges done 8", "imgbot:nudges stop 8"],
    ]
    assert m.rows[0][0].style == discord.ButtonStyle.primary and m.rows[0][1].style == discord.ButtonStyle.danger


def test_public_replies_show_actions_as_commands_not_buttons() -> None:
    r = Reply(title="t").action("contact:remove:7", "Delete", "/contact remove #7 confirm:yes")
    (m,) = render(r, buttons=False)
    assert m.rows == [] and "Delete: `/contact remove #7 confirm:yes`" in m.embeds[0].description


def test_a_command_too_long_for_a_custom_id_is_shown_as_text() -> None:
    long = "/contact remove " + "x" * 100
    (m,) = render(Reply(title="t").action("contact:remove:1", "Delete", long))
    assert m.rows == [] and long in m.embeds[0].description


def _command(*options: Option) -> Command:
    s = CommandSet()

    @s.command("probe", "probe", *options)
    async def probe(ctx, **kw) -> Reply:
        return Reply(title="")

    return s.commands[0]


class _Handler:
    async def invoke(self, interaction, command, raw) -> None:
        return None

    async def suggest(self, interaction, source, current):
        return []


def test_option_shapes(app: App) -> None:
    many = tuple(Choice(f"c{i}", f"Choice {i}") for i in range(30))
    t = transformer(app, Option("pick", "d", OptionType.CHOICE, choices=many), _Handler())
    assert isinstance(t, AutocompleteTransformer)  # over 25 choices: autocomplete instead
    t = transformer(app, Option("n", "d", OptionType.INTEGER, min_value=1, max_value=9), _Handler())
    assert (t.type, t.min_value, t.max_value) == (discord.AppCommandOptionType.integer, 1, 9)
    t = transformer(app, Option("f", "d", OptionType.FILE), _Handler())
    assert t.type == discord.AppCommandOptionType.attachment and isinstance(t, OptionTransformer)
    t = transformer(app, Option("d", "d", OptionType.DATE, max_length=30), _Handler())
    assert (t.type, t.max_value) == (discord.AppCommandOptionType.string, 30)


def test_option_names_that_are_not_python_identifiers_are_kept(app: App) -> None:
    cmd = make_command(
        app, _command(Option("class", "a keyword", required=True), Option("for-you", "dash")), _Handler()
    )
    assert [p.display_name for p in cmd.parameters] == ["class", "for-you"]
    assert [p.required for p in cmd.parameters] == [True, False]
