"""Issue 11, part 3: /conference plan, list and cancel, on SQLite and PostgreSQL.

A plan's steps are ordinary planned nudges, delivered by the nudge engine; contacts met there
are followed up in the specialty's window counted from the meeting's last day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from icalendar import Calendar

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import NudgeEngine
from bot.runtime import build_app
from bot.settings import Settings
from tests.helpers import OPEN_APPS, RecordingPort, Transcript

# 1 April 2027, six weeks before a psychiatry meeting on 15-18 May
NOW = datetime(2027, 4, 1, 10, 0, tzinfo=UTC)
PSYCH = "/profile set specialty:psych track:non-us-img visa:j1 eras:2027-09 timezone:UTC"


async def _app(url: str, clock: ManualClock) -> App:
    app = await build_app(Settings(database_url=url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(app)
    return app


async def _user(app: App, line: str = PSYCH, who: str = "amal") -> tuple[Transcript, int]:
    t = Transcript(app, who)
    await t.say(line)
    return t, await app.store.ensure_user(t.front.user, app.clock.now())


async def _conference_nudges(app: App, uid: int) -> dict[str, datetime]:
    return {n.ref.split(":", 1)[1]: n.due_at for n in await app.store.open_nudges(uid) if n.kind == "conference"}


def _engine(app: App, port: RecordingPort) -> NudgeEngine:
    return NudgeEngine(app, {"console": port}, rate=1000)  # type: ignore[dict-item]


async def test_plan_creates_dated_nudges_that_the_engine_delivers(db_url: str) -> None:
    clock = ManualClock(NOW)
    app = await _app(db_url, clock)
    t, uid = await _user(app)
    out = await t.say('/conference plan "APA Annual Meeting" 2027-05-15 4')
    assert "Planned #1: APA Annual Meeting, Sat 15 May 2027 → Tue 18 May 2027" in out
    assert "Sat 24 Apr 2027: prepare: study the programme and email 3-5 faculty (/script cold-email)" in out
    assert "Sat 15 May 2027: day 1: aim for 3-5 real conversations" in out
    due = await _conference_nudges(app, uid)
    assert due == {
        "prep": datetime(2027, 4, 24, 9, 0, tzinfo=UTC),  # three weeks before
        "day1": datetime(2027, 5, 15, 8, 0, tzinfo=UTC),
        "day2": datetime(2027, 5, 16, 8, 0, tzinfo=UTC),
        "day3": datetime(2027, 5, 17, 8, 0, tzinfo=UTC),
        "day4": datetime(2027, 5, 18, 8, 0, tzinfo=UTC),
        "after": datetime(2027, 5, 19, 9, 0, tzinfo=UTC),
    }
    # /nudges list names each step as the plan does, not by its id (prep, day2, after)
    listed = await t.say("/nudges list")
    assert "conference #1 APA Annual Meeting (preparation)" in listed, listed
    assert "conference #1 APA Annual Meeting (day 2)" in listed
    assert "conference #1 APA Annual Meeting (round-up)" in listed
    assert "(prep)" not in listed and "(day2)" not in listed and "(after)" not in listed

    port = RecordingPort()
    engine = _engine(app, port)
    clock.set(datetime(2027, 4, 24, 9, 0, tzinfo=UTC))
    await engine.run_due()
    (sent,) = port.sent
    text = sent[1].with_hints("/").plain_text()
    assert "APA Annual Meeting starts Sat 15 May 2027: about three weeks to prepare" in text
    assert "Email 3-5 of those faculty now" in text and "/script cold-email" in text

    clock.set(datetime(2027, 5, 16, 8, 0, tzinfo=UTC))
    await engine.run_due()
    # day 1 was due at 08:00 on the 15th and day 2 now: both arrive, each once, in one digest
    text = port.sent[1][1].with_hints("/").plain_text()
    assert "APA Annual Meeting, day 1 of 4" in text and "APA Annual Meeting, day 2 of 4" in text
    assert "Aim for 3-5 real conversations today" in text and "/script conference-approach" in text

    # met two people there, one not at the conference
    await t.say('/contact add "Dr Maya Lee" role:attending how_met:conference met_on:2027-05-16')
    await t.say('/contact add "Dr Sam Roe" role:resident how_met:email met_on:2027-05-16')
    listed = await t.say("/conference list")
    assert "#1 APA Annual Meeting: Sat 15 May 2027 → Tue 18 May 2027 (4 days)" in listed
    assert "1 contact(s) logged as met there" in listed
    maya = await app.store.contact_by_number(uid, 1)
    assert maya is not None
    # psychiatry: 3-7 days after the meeting's last day (18 May), not after the 16th
    assert maya.next_followup_on == date(2027, 5, 21)

    clock.set(datetime(2027, 5, 19, 9, 0, tzinfo=UTC))
    await engine.run_due()
    text = port.sent[2][1].with_hints("/").plain_text()
    assert "APA Annual Meeting is over: follow up with everyone you met there" in text
    assert "(Psychiatry: between Fri 21 May 2027 and Tue 25 May 2027)" in text
    assert "#1 Dr Maya Lee: due Fri 21 May 2027 · /script conference-followup contact:#1" in text
    assert "Dr Sam Roe" not in text
    assert await _conference_nudges(app, uid) == {}


async def test_a_plan_made_late_says_to_prepare_now_and_skips_past_steps(db_url: str) -> None:
    app = await _app(db_url, ManualClock(datetime(2027, 5, 10, 10, 0, tzinfo=UTC)))
    t, uid = await _user(app, "/profile set specialty:peds track:us-img eras:2027-09 timezone:UTC")
    out = await t.say("/conference plan PAS 2027-05-14 2")
    assert "The three-week mark has passed, so do this now" in out
    assert "Email 3-5 of those faculty now" in out
    assert "day 1: aim for 5 real conversations" in out  # pediatrics' own target
    assert set(await _conference_nudges(app, uid)) == {"day1", "day2", "after"}


async def test_cancel_removes_the_plan_and_its_nudges_and_moves_follow_ups_back(db_url: str) -> None:
    app = await _app(db_url, ManualClock(datetime(2027, 5, 16, 20, 0, tzinfo=UTC)))
    t, uid = await _user(app)
    await t.say('/conference plan "APA Annual Meeting" 2027-05-15 4')
    await t.say('/contact add "Dr Maya Lee" role:attending how_met:conference met_on:today')
    maya = await app.store.contact_by_number(uid, 1)
    assert maya is not None and maya.next_followup_on == date(2027, 5, 21)
    out = await t.say("/conference cancel #1")
    assert "Cancelled #1 APA Annual Meeting" in out
    assert await app.store.conference_plans(uid) == []
    assert await _conference_nudges(app, uid) == {}
    maya = await app.store.contact_by_number(uid, 1)
    assert maya is not None and maya.next_followup_on == date(2027, 5, 19)  # 3 days after meeting her
    assert "Nothing planned" in await t.say("/conference list")
    # numbers are never reused
    assert "Planned #2" in await t.say('/conference plan "APA Annual Meeting" 2027-05-15 4')


async def test_a_plan_made_after_meeting_people_moves_their_follow_ups(db_url: str) -> None:
    app = await _app(db_url, ManualClock(datetime(2027, 5, 15, 20, 0, tzinfo=UTC)))
    t, uid = await _user(app)
    await t.say('/contact add "Dr Maya Lee" role:attending how_met:conference met_on:today')
    out = await t.say('/conference plan "APA Annual Meeting" 2027-05-15 4')
    assert "The follow-ups of 1 contact(s) you met there now count from the meeting's last day" in out
    maya = await app.store.contact_by_number(uid, 1)
    assert maya is not None and maya.next_followup_on == date(2027, 5, 21)


async def test_bad_input_is_refused_in_one_line_and_stores_nothing(db_url: str) -> None:
    app = await _app(db_url, ManualClock(NOW))
    t, uid = await _user(app)
    cases = {
        "/conference plan ACEP 2027-03-01": "option 'date': a 3-day meeting from 2027-03-01 ended on 2027-03-03",
        "/conference plan ACEP 2027-05-01 30": "days",
        "/conference plan ACEP soon": "option 'date': 'soon' is not a date",
        "/conference cancel #4": "you have no conference plan #4",
        "/conference cancel Nowhere": "no conference plan matches 'Nowhere'",
    }
    for line, message in cases.items():
        out = await t.say(line)
        assert message in out, (line, out)
        assert "Traceback" not in out
    assert await app.store.conference_plans(uid) == []
    await t.say("/conference plan ACEP 2027-05-01")
    assert "already planned as #1" in await t.say("/conference plan acep 2027-05-01")
    other, _ = await _user(app, "/profile set track:us-img", "ben")
    assert "which specialty?" in await other.say("/conference plan ACEP 2027-05-01")


async def test_playbook_conferences_get_their_full_name(tmp_path: Path) -> None:
    app = await _app(f"sqlite:///{tmp_path / 'db.sqlite'}", ManualClock(NOW))
    t, _ = await _user(app, "/profile set specialty:em track:us-img eras:2027-09 timezone:UTC")
    out = await t.say("/conference plan saem 2027-05-12 4")
    assert "Planned #1: SAEM Annual Meeting (Society for Academic Emergency Medicine), Wed 12 May 2027" in out
    assert "aim for 3 real conversations" in out
    t2, _ = await _user(app, "/profile set specialty:im track:us-img eras:2027-09 timezone:UTC", "ben")
    out = await t2.say("/conference plan acp 2027-04-15 3")
    assert "Planned #1: American College of Physicians (ACP) national meeting, Thu 15 Apr 2027" in out


async def test_plans_appear_in_timeline_export_and_privacy_export_and_delete(db_url: str, tmp_path: Path) -> None:
    app = await _app(db_url, ManualClock(NOW))
    t, uid = await _user(app)
    t.front.attachments_dir = tmp_path
    await t.say('/conference plan "APA Annual Meeting" 2027-05-15 4')
    assert "1 conference plan" in await t.say("/timeline export")
    (ics,) = tmp_path.glob("*.ics")
    events = {str(e["SUMMARY"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    meeting = events["APA Annual Meeting"]
    assert meeting.decoded("DTSTART") == date(2027, 5, 15) and meeting.decoded("DTEND") == date(2027, 5, 19)
    assert events["Prepare for APA Annual Meeting"].decoded("DTSTART") == date(2027, 4, 24)
    window = events["Follow up after APA Annual Meeting"]
    assert window.decoded("DTSTART") == date(2027, 5, 21) and window.decoded("DTEND") == date(2027, 5, 26)

    out = await t.say("/privacy export")
    assert "1 conference plan(s)" in out
    (js,) = tmp_path.glob("*.json")
    data = json.loads(js.read_text())
    assert data["conference_plans"] == [
        {
            "id": "#1",
            "name": "APA Annual Meeting",
            "specialty": "psych",
            "starts_on": "2027-05-15",
            "days": 4,
            "created_at": NOW.isoformat(),
        }
    ]
    assert "1 conference plan" in await t.say("/privacy delete")
    out = await t.say("/privacy delete confirm:yes")
    assert "1 conference plan" in out
    assert await app.store.conference_plans(uid) == []
