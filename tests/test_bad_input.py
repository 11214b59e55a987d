"""Malformed input gets a clear usage message naming what is wrong, never an apology with a reference."""

from __future__ import annotations

import pytest

from tests.conftest import PSYCH_PROFILE
from tests.helpers import Transcript

APOLOGY = "Something went wrong"

SURROGATE_LINES = [
    ('/contact add "Dr \udcff Lee"', "name"),
    ('/contact add "Dr Lee" specialty:"psy\ud800ch"', "specialty"),
    ('/contact add "Dr Lee" notes:"met at \udcff APA"', "notes"),
    ('/contact add "Dr Lee" institution:"\ud800"', "institution"),
    ('/contact edit #1 name:"Dr \udcff"', "name"),
    ('/contact log #1 emailed today "sent \ud800 my CV"', "note"),
    ('/contact show "Dr \udcff"', "contact"),
    ('/profile set name:"Dr \udcff Hassan"', "name"),
    ('/profile set country:"Egy\ud800pt"', "country"),
    ('/profile set interests:"\udcff"', "interests"),
    ("/contact list tag:\udcff", "filter"),
]


@pytest.mark.parametrize(("line", "option"), SURROGATE_LINES)
async def test_lone_surrogates_are_a_usage_message_naming_the_option(
    console: Transcript, line: str, option: str
) -> None:
    await console.say(PSYCH_PROFILE)
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    before = await console.say("/contact show #1") + await console.say("/profile show")
    out = await console.say(line)
    assert APOLOGY not in out, out
    assert f"option '{option}'" in out and "not valid text" in out, out
    assert "\udcff" not in out and "\ud800" not in out
    assert await console.say("/contact show #1") + await console.say("/profile show") == before


@pytest.mark.parametrize("line", ["/nope\udcff", "/contact add\ud800 x", '/contact add "x" na\udcffme:y'])
async def test_a_surrogate_outside_an_option_value_is_never_echoed(console: Transcript, line: str) -> None:
    out = await console.say(line)
    assert APOLOGY not in out, out
    assert "\udcff" not in out and "\ud800" not in out
    out.encode("utf-8")  # printable on a strict UTF-8 terminal


@pytest.mark.parametrize(
    "name",
    ["Europe", "Etc", "America/Argentina", "A" * 300, "Europe/" + "x" * 5000, "Africa/Cairo\x00", "UTC/../UTC", "."],
)
async def test_a_name_that_is_no_time_zone_is_a_usage_message(console: Transcript, name: str) -> None:
    await console.say("/profile set timezone:Africa/Cairo")
    out = await console.say(f'/profile set timezone:"{name}"')
    assert APOLOGY not in out, out
    assert "is not a time zone" in out and out.count("\n") == 1, out
    assert len(out) < 400  # an over-long name is not echoed in full
    assert "Time zone: Africa/Cairo" in await console.say("/profile show")


def test_zone_refuses_directories_and_over_long_names() -> None:
    from bot.core.dates import zone
    from bot.core.errors import UsageError

    for name in ("Europe", "Etc", "x" * 256, "Europe/Paris\x00", "Europe/Paris/"):
        with pytest.raises(UsageError, match="is not a time zone"):
            zone(name)
    assert zone("Europe/Paris").key == "Europe/Paris"
