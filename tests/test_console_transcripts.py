"""Transcript tests: lines a user types in the console, and what comes back."""

from __future__ import annotations

from tests.conftest import PSYCH_PROFILE
from tests.helpers import Transcript


async def test_profile_then_cold_email_is_personalised(console: Transcript) -> None:
    out = await console.say(PSYCH_PROFILE)
    assert out.startswith("Profile updated")
    assert "Psychiatry" in out and "September 2027" in out

    out = await console.say("/script cold-email")
    assert "Psychiatry (non-US-citizen IMG)" in out
    assert "Egypt" in out and "Cairo University" in out and "Dr Amal Hassan" in out
    assert "{" not in out  # no raw placeholder left


async def test_empty_profile_shows_hints_and_says_what_to_set(console: Transcript) -> None:
    out = await console.say("/script cold-email")
    assert (
        out.strip() == "which specialty? Pass specialty:<em|im|peds|psych> or set it once with "
        "/profile set specialty:<name>"
    )
    await console.say("/profile set specialty:peds")
    out = await console.say("/script cold-email")
    assert out.startswith("which track?")
    await console.say("/profile set track:non-us-img")
    out = await console.say("/script cold-email")
    assert "[your name]" in out and "Fill the [brackets] once: /profile set name:..." in out


async def test_script_without_kind_lists_kinds(console: Transcript) -> None:
    await console.say("/profile set specialty:em track:us-img")
    out = await console.say("/script")
    assert "cold-email" in out and "elevator-pitch" in out
    assert "visa-line" not in out


async def test_visa_line_is_refused_for_us_track(console: Transcript) -> None:
    await console.say("/profile set specialty:im track:us-img")
    out = await console.say("/script visa-line")
    assert "visa-line is for the non-US-IMG track" in out


async def test_specialty_aliases_and_typos(console: Transcript) -> None:
    out = await console.say("/profile set specialty:Paediatrics track:intl")
    assert "Pediatrics" in out and "Non-US-citizen IMG" in out
    out = await console.say("/conferences specialty:pysch")
    assert out.strip() == "option 'specialty': no playbook for 'pysch' (em, im, peds, psych); did you mean psych?"


async def test_errors_are_one_line_with_closest_choice(console: Transcript) -> None:
    cases = {
        "/scrpit cold-email": "unknown command /scrpit; did you mean /script?",
        "/script cold-emial specialty:em": "option 'kind': 'cold-emial' is not a choice",
        "/profile set eras:2027-13": "option 'eras': '2027-13' is not a month; use YYYY-MM, e.g. 2027-09",
        "/profile set timezone:Africa/Kairo": "did you mean Africa/Cairo?",
        "/profile set colour:blue": "/profile set has no option 'colour'",
        '/contact add "Dr X" met_on:someday': "option 'met_on': 'someday' is not a date",
        '/script "unclosed': "could not read that line",
        "/contact lst": "/contact has no subcommand 'lst'; did you mean /contact list?",
    }
    for line, expected in cases.items():
        out = await console.say(line)
        assert expected in out, (line, out)
        assert out.count("\n") == 1, (line, out)  # exactly one line
        assert "Traceback" not in out


async def test_help_lists_every_command_and_describes_one(console: Transcript) -> None:
    out = await console.say("/help")
    for name in ("/script", "/timeline", "/contact", "/goal", "/nudges", "/followups", "/faq"):
        assert name in out
    out = await console.say("/help contact add")
    assert out.startswith("/contact add <name>")
    assert "how_met" in out


async def test_timeline_marks_current_phase_with_dates(console: Transcript) -> None:
    await console.say("/profile set specialty:em track:non-us-img eras:2027-09")
    out = await console.say("/timeline")
    # 2026-11-23 is 10 months before September 2027
    assert "▶ NOW" in out
    assert "Timeline to ERAS September 2027" in out
    assert "✓ done" in out  # earlier phases stay visible


async def test_playbook_faq_mistakes_conferences_for_every_specialty(console: Transcript) -> None:
    for spec in ("em", "im", "psych", "peds"):
        for track in ("us-img", "non-us-img"):
            await console.say(f"/profile set specialty:{spec} track:{track}")
            for cmd in (
                "/playbook",
                "/playbook section:stakeholders",
                "/faq",
                "/mistakes",
                "/conferences",
                "/playbook section:cadences",
                "/playbook section:goals",
            ):
                out = await console.say(cmd)
                assert "Sources:" in out, (spec, track, cmd, out)


async def test_conferences_are_specialty_specific(console: Transcript) -> None:
    expected = {"em": "ACEP", "im": "ACP", "psych": "APA", "peds": "AAP"}
    await console.say("/profile set track:us-img")
    for spec, name in expected.items():
        out = await console.say(f"/conferences specialty:{spec}")
        assert name in out, spec


async def test_unquoted_text_gets_a_hint_about_quotes(console: Transcript) -> None:
    out = await console.say("/contact add Dr Maya Lee")
    assert out.strip().endswith('(text with spaces needs quotes, e.g. "Dr Maya Lee")')
    assert "Contacts (all): 0" in await console.say("/contact list")
    out = await console.say("/script cold email")  # a single bad first value gets no quote hint
    assert "did you mean cold-email?" in out and "quotes" not in out


async def test_without_a_specialty_the_tracker_says_where_reminders_come_from(console: Transcript) -> None:
    out = await console.say('/contact add "Dr X"')
    assert "No follow-up reminders yet: they come from a specialty playbook" in out
    await console.say("/profile set specialty:im track:us-img")
    out = await console.say("/contact edit #1 role:fellow")
    # setting the specialty planned it: met 23 Nov, dormant cadence of 90 days
    assert "Next follow-up: Sun 21 Feb 2027\n" in out and "No follow-up reminders yet" not in out
