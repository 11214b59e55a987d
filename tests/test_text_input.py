"""Text input as chat apps deliver it: smart quotes, apostrophes, Slack's encoding, control
characters, and asking instead of guessing when unquoted words would spread over options."""

from __future__ import annotations

import pytest

from bot.core.context import App
from bot.core.dispatch import parse_line, run_command
from bot.core.errors import UsageError
from bot.core.hints import CLOSE, OPEN
from bot.core.models import Contact, UserRef
from bot.core.textin import decode_slack, split_words, typed_value
from tests.conftest import PSYCH_PROFILE
from tests.helpers import Transcript


async def _contacts(console: Transcript) -> list[Contact]:
    uid = await console.app.store.ensure_user(console.front.user, console.app.clock.now())
    return await console.app.store.all_contacts(uid)


async def _only(console: Transcript) -> Contact:
    (c,) = await _contacts(console)
    return c


# ---------------------------------------------------------------- smart quotes and apostrophes


@pytest.mark.parametrize(
    "line",
    [
        "/contact add “Dr Maya Lee” role:attending",  # what Slack on Mac and iOS types
        "/contact add „Dr Maya Lee“ role:attending",  # German
        "/contact add «Dr Maya Lee» role:attending",  # French
        "/contact add ‘Dr Maya Lee’ role:attending",
        "/contact add name:“Dr Maya Lee” role:attending",
        '/contact add "Dr Maya Lee" role:attending',
        "/contact add 'Dr Maya Lee' role:attending",
    ],
)
async def test_smart_quotes_quote_like_straight_ones(console: Transcript, line: str) -> None:
    out = await console.say(line)
    assert out.startswith("Added #1 Dr Maya Lee"), out
    c = await _only(console)
    assert (c.name, c.role, c.specialty, c.institution) == ("Dr Maya Lee", "attending", None, None)


@pytest.mark.parametrize(
    ("line", "name", "institution"),
    [
        ("/contact add O'Brien", "O'Brien", None),  # a plain apostrophe inside a word is text
        ("/contact add O’Brien", "O’Brien", None),
        ("/contact add “Dr O’Brien” institution:“Women’s Hospital”", "Dr O’Brien", "Women’s Hospital"),
        ("/contact add 'Dr O'Brien' institution:'Women's Hospital'", "Dr O'Brien", "Women's Hospital"),
        ('/contact add "Dr O\'Brien" institution:"St Mary\'s"', "Dr O'Brien", "St Mary's"),
        ("/contact add ‘Dr O’Brien’ institution:Women's", "Dr O’Brien", "Women's"),
    ],
)
async def test_apostrophes_inside_words_are_text(
    console: Transcript, line: str, name: str, institution: str | None
) -> None:
    out = await console.say(line)
    assert out.startswith(f"Added #1 {name}"), out
    c = await _only(console)
    assert (c.name, c.institution) == (name, institution)


def test_quotes_only_open_and_close_words() -> None:
    words = split_words("/contact log #1 emailed today 'quoted note' residents’ '90s C:\\Users\\me.csv \\\"x\\\"")
    assert [w.text for w in words] == [
        "/contact",
        "log",
        "#1",
        "emailed",
        "today",
        "quoted note",
        "residents’",  # a closing quote with nothing opened is an apostrophe
        "'90s",  # an opening single quote that nothing closes is text
        "C:\\Users\\me.csv",  # a backslash before anything but a quote or a backslash is text
        '"x"',
    ]
    assert [w.quoted_start for w in words][5:7] == [True, False]
    inner = split_words('notes:"she said “hi” twice" “Dr "Max" Lee”')
    assert [w.text for w in inner] == ["notes:she said “hi” twice", 'Dr "Max" Lee']


async def test_an_unclosed_smart_quote_is_a_one_line_usage_message(console: Transcript) -> None:
    out = await console.say("/contact add “Dr Maya Lee role:attending")
    assert out == "could not read that line (the quote “ is never closed); close every quote\n"
    assert await _contacts(console) == []


# ---------------------------------------------------------------- Slack's encoding


@pytest.mark.parametrize(
    ("slack", "typed"),
    [
        ("R&amp;D &lt;b&gt;", "R&D <b>"),
        ("&amp;lt;", "&lt;"),  # decoded once: what the user typed was &lt;
        ("<mailto:a@b.org|a@b.org>", "a@b.org"),
        ("<mailto:a@b.org>", "a@b.org"),
        ("<https://x.org/p|label>", "https://x.org/p"),
        ("<https://x.org/p>", "https://x.org/p"),
        ("<http://example.org|example.org>", "example.org"),  # Slack linked a bare domain: keep it as typed
        ("<@U123>", "@U123"),
        ("<@U123|maya>", "@maya"),
        ("<@U123|everyone>", "＠everyone"),
        ("<#C123|general>", "#general"),
        ("<#C123>", "#C123"),
        ("<!channel>", "＠channel"),
        ("<!here>", "＠here"),
        ("<!everyone>", "＠everyone"),
        ("<!subteam^S1|@docs>", "＠docs"),
        ("<!date^1392734382^{date}|Feb 18th, 2014>", "Feb 18th, 2014"),
        ("a < b and c > d", "a < b and c > d"),  # not markup
    ],
)
def test_slack_markup_and_entities_decode_to_what_was_typed(slack: str, typed: str) -> None:
    assert decode_slack(slack) == typed


async def test_slack_encoded_values_are_stored_as_typed_and_can_never_ping(console: Transcript) -> None:
    line = (
        "/contact add “Dr Maya Lee” email:<mailto:maya@mgh.org|maya@mgh.org> institution:“Brigham &amp; Women’s” "
        "notes:“poster <https://x.org/p|here>, ask <@U0123|raj> and tell <!channel> &lt;soon&gt;”"
    )
    out = await console.say(line)
    assert out.startswith("Added #1 Dr Maya Lee"), out
    c = await _only(console)
    assert c.email == "maya@mgh.org"
    assert c.institution == "Brigham & Women’s"
    assert c.notes == "poster https://x.org/p, ask @raj and tell ＠channel <soon>"
    for stored in (c.name, c.email, c.institution, c.notes):
        assert "<@" not in stored and "<!" not in stored and "@channel" not in stored


async def test_typed_hint_markers_are_removed(console: Transcript) -> None:
    await console.say(f'/contact add "{OPEN}Dr Lee{CLOSE}"')
    assert (await _only(console)).name == "Dr Lee"


# ---------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ('/contact add "Dr \x00 Lee"', "name"),
        ('/contact add "Dr Lee" institution:"MGH\x07"', "institution"),
        ('/contact add "Dr Lee" notes:"a\x1b[31m red"', "notes"),
        ('/profile set timezone:"Africa/Cairo\x00"', "timezone"),
        ('/contact add "Dr Lee" role:"attending\x00"', "role"),
        ('/contact add "Dr Lee" notes:"bad \x9b csi"', "notes"),  # C1 too
    ],
)
async def test_control_characters_are_refused_naming_the_option(console: Transcript, line: str, option: str) -> None:
    out = await console.say(line)
    assert out.startswith(f"option '{option}' contains a control character (U+"), out
    assert out.count("\n") == 1 and "\x00" not in out and "\x1b" not in out
    assert await _contacts(console) == []


async def test_tab_and_line_break_only_where_an_option_takes_several_lines(console: Transcript) -> None:
    out = await console.say('/contact add "Dr\tLee"')
    assert out == "option 'name' must be one line: remove the line break or tab\n"
    out = await console.say('/contact add "Dr\nLee"')
    assert out == "option 'name' must be one line: remove the line break or tab\n"
    out = await console.say('/contact add "Dr Lee" notes:"met at APA\r\n\tasked about research"')
    assert out.startswith("Added #1 Dr Lee"), out
    assert (await _only(console)).notes == "met at APA\n\tasked about research"


# ---------------------------------------------------------------- typed values (Discord options)


async def test_typed_option_values_get_the_same_treatment(app: App) -> None:
    """Discord hands over each option on its own: no splitting, but quotes around the whole value,
    hint markers and control characters are handled exactly as in a line."""
    user = UserRef("discord", "42", "amal")
    command, _ = parse_line(app, "/contact add x")
    reply = await run_command(app, user, command, {"name": "“Dr Maya Lee”", "institution": f"{OPEN}MGH{CLOSE}"})
    assert reply.title == "Added #1 Dr Maya Lee"
    with pytest.raises(UsageError, match="option 'notes' contains a control character"):
        await run_command(app, user, command, {"name": "Dr X", "notes": "a\x00b"})
    assert typed_value('"A" and "B"') == '"A" and "B"'  # two quoted parts are not one
    assert typed_value("‘Dr O’Brien’") == "Dr O’Brien"
    assert typed_value("O'Brien") == "O'Brien"


# ---------------------------------------------------------------- ask instead of guessing


async def test_unquoted_words_spread_over_text_options_are_asked_about(console: Transcript) -> None:
    out = await console.say("/contact add Dr Maya Lee role:attending")
    assert out == (
        'did you mean /contact add "Dr Maya Lee" role:attending? Put quotes around text with spaces '
        "(or, to give each value its own option, name them: name:Dr specialty:Maya institution:Lee)\n"
    )
    assert await _contacts(console) == []  # nothing was guessed into the store
    out = await console.say("/contact add “Dr Maya Lee” role:attending")
    assert out.startswith("Added #1 Dr Maya Lee")
    out = await console.say("/contact edit Maya Lee institution:UCSF")
    assert out.startswith('did you mean /contact edit "Maya Lee" institution:UCSF?'), out
    out = await console.say("/profile set Amal Hassan")
    assert out.startswith('did you mean /profile set "Amal Hassan"?'), out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/contact log #1 emailed today sent my CV", "Logged emailed with #1 Dr Maya Lee"),  # rest of the line
        ("/contact log Dr Maya Lee", "(text with spaces needs quotes"),  # lands in a choice: the old hint
        ("/contact edit #1 UCSF", "Updated #1 UCSF"),  # a #id is a whole value
        ('/contact add "Dr New" role:fellow psych MGH', "Added #2 Dr New"),  # the user quotes: words are meant
        ("/contact add Dr role:attending specialty:psych institution:MGH", "Added #2 Dr"),
        ("/contact show Dr Maya Lee", "#1 Dr Maya Lee"),  # one text option takes the whole line
        ("/help contact add", "/contact add <name>"),
        ("/script cold-email psych", "Psychiatry"),
    ],
)
async def test_lines_that_are_not_a_spread_still_work(console: Transcript, line: str, expected: str) -> None:
    await console.say(PSYCH_PROFILE)
    await console.say('/contact add "Dr Maya Lee" role:attending how_met:conference')
    out = await console.say(line)
    assert expected in out, out
    assert "did you mean" not in out


# ---------------------------------------------------------------- subcommands written as words


def test_a_hyphenated_subcommand_can_be_typed_as_two_words(app: App) -> None:
    """``/circle pair now`` as people write it (and the issue does) runs ``/circle pair-now``; the
    words after it stay its options."""
    for spoken, name in (("/circle pair now", "pair-now"), ("/circle Digest Now", "digest-now")):
        command, raw = parse_line(app, spoken)
        assert (command.group, command.name, raw) == ("circle", name, {})
    command, raw = parse_line(app, "/circle pair-now")
    assert command.name == "pair-now"
    with pytest.raises(UsageError, match="needs a subcommand"):
        parse_line(app, "/circle pair later")  # no pair-later: still refused, with the list


def test_an_unknown_key_where_a_choice_goes_is_named_as_an_unknown_option(app: App) -> None:
    with pytest.raises(UsageError, match=r"mentor offer.* has no option 'role'; it takes: stage, capacity"):
        parse_line(app, "/mentor offer capacity:2 role:resident")
    # where free text goes, key:value is text: a note may say "tag:mentor", a link has a colon
    _, raw = parse_line(app, "/contact log #1 emailed 2026-11-20 asked about tag:mentor https://example.org/x")
    assert raw["note"] == "asked about tag:mentor https://example.org/x"
