"""The contact tracker, driven through the console like a user would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App, Limits
from tests.helpers import Transcript, make_app

PSYCH = '/profile set specialty:psych track:non-us-img timezone:Africa/Cairo name:"Dr Amal Hassan"'


async def test_conference_contact_follow_up_cycle_follows_the_psychiatry_playbook(
    console: Transcript, clock: ManualClock
) -> None:
    await console.say(PSYCH)
    out = await console.say(
        '/contact add "Dr Maya Lee" role:attending specialty:psych how_met:conference '
        'met_on:yesterday institution:"Mass General"'
    )
    assert "Added #1 Dr Maya Lee" in out
    assert "Next follow-up: Wed 25 Nov 2026" in out  # met 22 Nov + 3 days (003: within 3-7 days)
    assert "/script conference-followup contact:#1" in out

    assert "Follow-ups due: 0" in await console.say("/followups")
    clock.advance(timedelta(days=2))
    out = await console.say("/followups")
    assert "Follow-ups due: 1" in out and "/script conference-followup contact:#1" in out

    out = await console.say("/script conference-followup contact:#1")
    assert "Dear Dr. Lee," in out and "{" not in out

    out = await console.say("/contact log #1 emailed")
    assert "Next follow-up Sat 5 Dec 2026 (if still no reply)" in out  # 003: once after 10-14 days

    clock.advance(timedelta(days=11))
    out = await console.say("/contact log #1 no-reply")
    assert "Next follow-up Sun 6 Dec 2026 (if still no reply)" in out
    assert "/script no-reply-followup contact:#1" in out

    out = await console.say('/contact log #1 emailed today "one polite nudge"')
    assert "(no reply to two messages)" in out

    clock.advance(timedelta(days=15))
    out = await console.say("/contact log #1 no-reply")
    assert "Time to move on" in out
    assert "moved-on" in await console.say("/contact show #1")
    assert "#1 Dr Maya Lee · attending · Mass General (moved on)" in await console.say("/contact list")
    assert "Follow-ups due: 0" in await console.say("/followups")


async def test_a_reply_stops_no_reply_reminders(console: Transcript, app: App) -> None:
    await console.say(PSYCH)
    await console.say('/contact add "Dr Omar Said" how_met:email')
    await console.say("/contact log #1 emailed")
    out = await console.say("/contact log #1 replied")
    assert "(to thank them for their help)" in out
    uid = await app.store.ensure_user(console.front.user, app.clock.now())
    open_followups = [n for n in await app.store.open_nudges(uid) if n.kind == "followup"]
    assert len(open_followups) == 1  # the no-reply reminder was replaced, not added to


async def test_mentor_gets_periodic_updates_and_others_go_dormant(console: Transcript) -> None:
    await console.say("/profile set specialty:im track:us-img")
    await console.say('/contact add "Dr Rivera" tags:mentor how_met:rotation met_on:today')
    await console.say('/contact add "Dr Chen" how_met:rotation met_on:today')
    await console.say("/contact log #1 thanked")
    out = await console.say("/contact log #2 thanked")
    assert "(to keep in touch)" in out
    out = await console.say("/contact show #1")
    assert "Next follow-up: Sun 21 Feb 2027" in out  # IM: every 3-4 months -> 90 days
    assert "mentor" in await console.say("/contact list mentor")
    assert "Dr Chen" not in await console.say("/contact list mentor")


async def test_ambiguous_reference_asks_which_one(console: Transcript) -> None:
    await console.say('/contact add "Dr Maya Lee" institution:"Mass General"')
    await console.say('/contact add "Dr Maya Leeds" institution:"Johns Hopkins"')
    await console.say('/contact add "Dr Maya Lee" institution:"UCSF"')
    out = await console.say('/contact show "maya"')
    assert out.startswith("'maya' matches 3 contacts, which one?")
    assert "#1 Dr Maya Lee (Mass General)" in out and "Use the #id" in out
    # an exact full name still matches two, so it asks too
    assert "matches 2 contacts" in await console.say('/contact show "Dr Maya Lee"')
    assert "#2 Dr Maya Leeds" in await console.say('/contact show "Leeds"')


async def test_contact_cap(tmp_path: Path) -> None:
    app = await make_app(tmp_path / "cap.db")
    app.limits = Limits(max_contacts=2)
    t = Transcript(app)
    await t.say('/contact add "A One"')
    await t.say('/contact add "B Two"')
    out = await t.say('/contact add "C Three"')
    assert out.strip() == "you have reached the limit of 2 contacts; remove some with /contact remove"
    assert "Contacts (all): 2" in await t.say("/contact list")
    await app.store.close()


async def test_field_limits_and_bad_values_change_nothing(console: Transcript) -> None:
    long_name = "x" * 81
    assert "option 'name' is 81 characters; the limit is 80" in await console.say(f"/contact add {long_name}")
    assert "is not an email address" in await console.say('/contact add "Dr A" email:not-an-email')
    assert "option 'role': 'surgeon' is not a choice" in await console.say('/contact add "Dr A" role:surgeon')
    assert "Contacts (all): 0" in await console.say("/contact list")


async def test_remove_asks_first(console: Transcript) -> None:
    await console.say('/contact add "Dr Gone"')
    out = await console.say("/contact remove #1")
    assert "Delete #1 Dr Gone and all their history?" in out
    assert "/contact remove #1 confirm:yes" in out
    assert "Dr Gone" in await console.say("/contact list")
    assert "Deleted #1 Dr Gone" in await console.say("/contact remove #1 confirm:yes")
    assert "Contacts (all): 0" in await console.say("/contact list")


async def test_edit_recomputes_with_the_new_specialty(console: Transcript) -> None:
    await console.say("/profile set specialty:psych track:non-us-img")
    await console.say('/contact add "Dr Park" how_met:conference met_on:today')
    assert "Next follow-up: Thu 26 Nov 2026" in await console.say("/contact show #1")  # psych: +3
    out = await console.say("/contact edit #1 specialty:im")
    assert "Next follow-up: Tue 24 Nov 2026" in out  # IM: next day


async def test_mentions_in_names_are_kept_as_text(console: Transcript) -> None:
    out = await console.say('/contact add "@everyone" notes:"<@&123> hi"')
    assert "@everyone" in out  # the console shows text; chat front ends neutralise it


async def test_relative_dates(console: Transcript) -> None:
    await console.say('/contact add "Dr Date" how_met:webinar met_on:"3 days ago"')
    assert "Met on: Fri 20 Nov 2026" in await console.say("/contact show #1")
    assert "is in the future" in await console.say('/contact log #1 emailed "in 2 weeks"')


async def test_adding_a_name_already_tracked_keeps_both_and_says_so(console: Transcript) -> None:
    await console.say(PSYCH)
    first = await console.say('/contact add "Dr Maya Lee" role:attending')
    assert "already track" not in first
    again = await console.say('/contact add "dr maya  LEE" role:resident')  # the same name, typed loosely
    assert "Added #2 dr maya  LEE" in again  # stored as typed
    assert "You already track #1 Dr Maya Lee" in again and "/contact remove #2" in again
    assert "already track" not in await console.say('/contact add "Dr Maya Leeds"')  # a longer name is not one
    assert "Contacts (all): 3" in await console.say("/contact list")  # nothing typed was thrown away


async def test_a_contacts_specialty_reads_as_its_name(console: Transcript) -> None:
    out = await console.say('/contact add "Dr Ray" specialty:EM')
    assert "Specialty: Emergency Medicine" in out
    assert "Specialty: tropical medicine" in await console.say('/contact add "Dr Lo" specialty:"tropical medicine"')
