"""Every command in the registry has a happy path and an error path, typed as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar

from bot.core.commands import build_registry
from tests.conftest import PSYCH_PROFILE
from tests.helpers import Transcript

SETUP = [
    PSYCH_PROFILE,
    '/contact add "Dr Maya Lee" role:attending how_met:conference met_on:today',
    "/goal set emails 4 month",
]

# command -> (a line that works and a fragment of its reply, a line that fails and a fragment of its error)
CASES: dict[str, tuple[str, str, str, str]] = {
    "help": ("/help script", "/script [kind]", "/help nothing", "no command /nothing"),
    "profile show": ("/profile show", "Dr Amal Hassan", "/profile show extra", "too many values"),
    "profile set": (
        "/profile set role:resident",
        "Profile updated",
        "/profile set visa:green",
        "option 'visa': 'green' is not a choice",
    ),
    "playbook": (
        "/playbook section:arenas",
        "Where to meet them",
        "/playbook section:intro",
        "option 'section': 'intro' is not a choice",
    ),
    "script": ("/script elevator-pitch", "Dr Amal Hassan", "/script pitch", "option 'kind': 'pitch' is not a choice"),
    "timeline show": ("/timeline", "▶ NOW", "/timeline eras:2027", "is not a month"),
    "timeline export": ("/timeline export", "saved:", "/timeline export specialty:derm", "no playbook for 'derm'"),
    "conferences": ("/conferences", "APA", "/conferences track:resident", "option 'track'"),
    "conference plan": (
        '/conference plan "APA Annual Meeting" 2027-05-15 4',
        "Planned #1: APA Annual Meeting",
        "/conference plan APA 2020-05-15",
        "plan one that is still ahead",
    ),
    "conference list": ("/conference list", "Conference plans: 0", "/conference list all", "too many values"),
    "conference cancel": ("/conference cancel #1", "no conference plan #1", "/conference cancel", "needs plan"),
    "review": (
        '/review cold-email "Dear Dr. Lee, would you have 15 minutes for a call?"',
        "Review of your cold-email draft",
        "/review cold-email",
        "needs draft",
    ),
    "faq": ("/faq", "FAQ", "/faq specialty:cardio", "no playbook for 'cardio'"),
    "mistakes": ("/mistakes", "Fix:", "/mistakes specialty:xyz", "no playbook for 'xyz'"),
    "contact add": ('/contact add "Dr New" role:fellow', "Added #2 Dr New", "/contact add", "/contact add needs name"),
    "contact list": ("/contact list", "Dr Maya Lee", "/contact list soon", "'soon' is not a filter"),
    "contact show": ("/contact show #1", "Dr Maya Lee", "/contact show #99", "you have no contact #99"),
    "contact edit": ("/contact edit #1 institution:UCSF", "UCSF", "/contact edit #1", "needs at least one field"),
    "contact remove": (
        "/contact remove #1",
        "Delete #1 Dr Maya Lee",
        "/contact remove Nobody",
        "no contact matches 'Nobody'",
    ),
    "contact log": (
        "/contact log #1 emailed",
        "Logged emailed",
        "/contact log #1 waved",
        "option 'type': 'waved' is not a choice",
    ),
    "contact export": ("/contact export", "contacts exported", "/contact export all", "too many values"),
    "contact import": (
        "/contact import {csv}",
        "Imported 1 contact(s)",
        "/contact import /no/such.csv",
        "cannot read /no/such.csv",
    ),
    "followups": ("/followups days:7", "Follow-ups due: 1", "/followups days:90", "above the maximum of 60"),
    "goal set": (
        "/goal set conversations 2 week",
        "Goal set: 2 conversations per week",
        "/goal set emails many week",
        "'many' is not a whole number",
    ),
    "goal progress": ("/goal progress", "emails this month", "/goal progress now", "too many values"),
    "nudges list": ("/nudges list", "Upcoming nudges", "/nudges list x", "too many values"),
    "nudges pause": (
        "/nudges pause until:2027-01-10",
        "Nudges paused until",
        "/nudges pause until:2020-01-01",
        "is not in the future",
    ),
    "nudges resume": ("/nudges resume", "Nudges are back on", "/nudges resume x", "too many values"),
    "nudges done": ("/nudges done {nudge}", "Logged emailed", "/nudges done 999", "nudge 999 is not one of yours"),
    "nudges snooze": (
        "/nudges snooze {nudge} 3d",
        "Snoozed #1",
        "/nudges snooze {nudge} 2y",
        "option 'duration': '2y' is not a choice",
    ),
    "nudges stop": ("/nudges stop {nudge}", "No more nudges about #1", "/nudges stop x", "is not a whole number"),
    "privacy about": ("/privacy", "Only you", "/privacy about now", "too many values"),
    "privacy export": ("/privacy export", "saved:", "/privacy export all", "too many values"),
    "privacy delete": (
        "/privacy delete confirm:yes",
        "- 1 contact",
        "/privacy delete confirm:no",
        "option 'confirm': 'no' is not a choice",
    ),
}


# Circle commands, typed in a community channel of the console (as an admin where they need one).
CIRCLE_SETUP = ["/circle setup pairing:every-2-weeks", "/circle join show:wins"]
CIRCLE_CASES: dict[str, tuple[str, str, str, str]] = {
    "circle setup": ("/circle setup day:tuesday", "Circle updated", "/circle setup time:25:00", "is not a time"),
    "circle status": ("/circle status", "Schedule", "/circle status now", "too many values"),
    "circle pause": ("/circle pause", "paused", "/circle pause x", "too many values"),
    "circle resume": ("/circle resume", "resumed", "/circle resume x", "too many values"),
    "circle pair-now": ("/circle pair-now", "Round made", "/circle pair-now x", "too many values"),
    "circle digest-now": ("/circle digest-now", "digest: 0 of 2 checked in", "/circle digest-now x", "too many"),
    "circle export": ("/circle export", "saved:", "/circle export all", "too many values"),
    "circle remove": ("/circle remove amal", "Removed amal", "/circle remove zed", "nobody called 'zed'"),
    "circle join": ("/circle join show:none", "settings are saved", "/circle join show:all-of-it", "not a choice"),
    "circle leave": ("/circle leave", "You left", "/circle leave x", "too many values"),
    "circle checkin": ("/circle checkin emails:2", "Week 48 logged", "/circle checkin emails:-1", "below the minimum"),
    "circle reminders": ("/circle reminders off", "are off", "/circle reminders maybe", "not a choice"),
    "circle skip": ("/circle skip", "sit out the buddy round", "/circle skip program:99", "does not exist"),
    "circle block": ("/circle block root", "you will not be paired", "/circle block amal", "cannot block yourself"),
    "circle met": (
        "/circle met 1 not-yet",
        "not yet",
        "/circle met 99 yes",
        "group 99 is not one of your buddy rounds",
    ),
    "mentor offer": ("/mentor offer resident", "you offer to mentor", "/mentor offer chief", "not a choice"),
    "mentor request": ("/mentor request", "Asked", "/mentor request x", "too many values"),
    "mentor end": ("/mentor end", "no open mentor match", "/mentor end zed", "nobody called 'zed'"),
    "mentor list": ("/mentor list", "Mentoring in #accountability", "/mentor list x", "too many values"),
}


def test_the_table_covers_every_registry_command() -> None:
    assert set(CASES) | set(CIRCLE_CASES) == {c.qualified for c in build_registry().commands}
    assert not set(CASES) & set(CIRCLE_CASES)


@pytest.mark.parametrize("name", sorted(CIRCLE_CASES))
async def test_circle_happy_and_error_path(name: str, console: Transcript, tmp_path: Path) -> None:
    from bot.frontends.console import console_origin

    root = Transcript(console.app, "root", origin=console_origin("IMG EM", "accountability", True))
    amal = Transcript(console.app, "amal", origin=console_origin("IMG EM", "accountability", True))
    root.front.attachments_dir = amal.front.attachments_dir = tmp_path
    for line in CIRCLE_SETUP:
        await root.say(line)
    await amal.say("/circle join")
    if name == "circle met":
        await root.say("/circle pair-now")
    ok_line, ok_text, bad_line, bad_text = CIRCLE_CASES[name]
    out = await amal.say(ok_line)
    assert ok_text in out, out
    out = await amal.say(bad_line)
    assert bad_text in out, out
    assert "Traceback" not in out and "Something went wrong" not in out


@pytest.mark.parametrize("name", sorted(CASES))
async def test_happy_and_error_path(name: str, console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    for line in SETUP:
        await console.say(line)
    csv = tmp_path / "in.csv"
    csv.write_text("name,role\nDr Imported,peer\n")
    uid = await console.app.store.ensure_user(console.front.user, console.app.clock.now())
    followup = [n for n in await console.app.store.open_nudges(uid) if n.kind == "followup"]
    values = {"csv": str(csv), "nudge": str(followup[0].id) if followup else "0"}
    ok_line, ok_text, bad_line, bad_text = CASES[name]
    out = await console.say(ok_line.format(**values))
    assert ok_text in out, out
    out = await console.say(bad_line.format(**values))
    assert bad_text in out, out
    assert "Traceback" not in out and "Something went wrong" not in out


async def test_timeline_export_is_a_valid_calendar(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    await console.say("/profile set specialty:peds track:non-us-img eras:2027-09")
    await console.say("/timeline export")
    (ics,) = tmp_path.glob("*.ics")
    cal = Calendar.from_ical(ics.read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    assert len(events) >= 4
    starts = [e.decoded("DTSTART") for e in events]
    assert starts == sorted(starts)
    for e in events:
        assert e["UID"].endswith("@imgbot") and e.get("DTSTAMP") is not None
        assert e.decoded("DTEND") > e.decoded("DTSTART")
        assert "- " in str(e["DESCRIPTION"])  # the checklist travels with the event
