"""Issue 11, part 2: the cycle's key dates, counted from the ERAS month, and the tasks tied to them."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.core.clock import ManualClock
from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir
from bot.core.playbooks.schema import MILESTONE_LABEL, parse_when
from bot.core.timeline import KeyKind, cycle_year, key_dates, milestone_dates
from tests.helpers import RecordingPort, Transcript, make_app

SPECIALTIES = ("em", "im", "peds", "psych")
TRACKS = ("us-img", "non-us-img")


def _view(spec: str = "peds", track: str = "non-us-img"):  # type: ignore[no-untyped-def]
    return load_playbooks(shipped_playbooks_dir()).get(spec).view(track)


# ERAS month -> (ERAS opens, programs receive, rank-list deadline, Match Day)
CYCLES = {
    "2027-06": (date(2027, 6, 5), date(2027, 9, 25), date(2028, 3, 1), date(2028, 3, 17)),
    "2027-09": (date(2027, 6, 5), date(2027, 9, 25), date(2028, 3, 1), date(2028, 3, 17)),
    "2027-12": (date(2027, 6, 5), date(2027, 9, 25), date(2028, 3, 1), date(2028, 3, 17)),
    # across a year end: a January submission is a late entry in the cycle that opened the June before
    "2028-01": (date(2027, 6, 5), date(2027, 9, 25), date(2028, 3, 1), date(2028, 3, 17)),
    "2028-06": (date(2028, 6, 5), date(2028, 9, 25), date(2029, 3, 1), date(2029, 3, 17)),
}


@pytest.mark.parametrize("spec", SPECIALTIES)
@pytest.mark.parametrize("eras", sorted(CYCLES))
def test_milestones_are_dated_from_the_eras_month(spec: str, eras: str) -> None:
    for track in TRACKS:
        dates = milestone_dates(_view(spec, track), eras)
        opens, receive, rank, match = CYCLES[eras]
        assert dates == {
            "eras-opens": opens,
            "applications-open": receive,
            "rank-list-deadline": rank,
            "match-day": match,
        }


def test_december_and_the_january_after_share_a_cycle_but_may_and_june_do_not() -> None:
    view = _view()
    assert cycle_year(view, "2027-12") == cycle_year(view, "2028-01") == 2027
    assert cycle_year(view, "2028-05") == 2027 and cycle_year(view, "2028-06") == 2028


@pytest.mark.parametrize("eras", ["2027-06", "2027-09", "2027-12", "2028-01"])
def test_tasks_move_with_their_milestone(eras: str) -> None:
    keys = {k.id: k for k in key_dates(_view(), eras, date(2026, 1, 1))}
    opens, _receive, rank, match = CYCLES[eras]
    before_opening = keys["update-before-eras-opens"].on
    assert before_opening == date(opens.year, 5, 22)  # late May, two weeks before ERAS opens
    assert 15 <= before_opening.day <= 31 and before_opening.month == 5
    assert keys["update-before-rank-list"].on < rank
    assert keys["thanks-after-match"].on > match
    assert keys["eras-submission"].kind == KeyKind.SUBMISSION


def test_parse_when_offsets() -> None:
    assert parse_when("2w before eras-opens") == (-14, "eras-opens")
    assert parse_when("3d after match-day") == (3, "match-day")
    assert parse_when("before rank-list-deadline") == (-7, "rank-list-deadline")
    assert parse_when("after match-day") == (1, "match-day")
    assert parse_when("on match-day") == (0, "match-day")
    for bad in ("2 weeks before eras-opens", "2w on match-day", "soon"):
        with pytest.raises(ValueError):
            parse_when(bad)


@pytest.mark.parametrize("spec", SPECIALTIES)
@pytest.mark.parametrize("track", TRACKS)
async def test_timeline_shows_opening_submission_rank_list_and_match_day(
    console: Transcript, spec: str, track: str
) -> None:
    await console.say(f"/profile set specialty:{spec} track:{track} eras:2027-09")
    out = await console.say("/timeline")
    assert "Key dates of your application cycle" in out
    assert re.search(r"Sat 5 Jun 2027: ERAS opens to applicants \(early June, typical; check this year's", out)
    assert "September 2027: Your ERAS submission" in out
    assert re.search(r"Wed 1 Mar 2028: Rank-list deadline \(late February or early March, typical;", out)
    assert re.search(r"Fri 17 Mar 2028: Match Day \(mid-March, typical; check this year's official calendar\)", out)
    assert out.count(MILESTONE_LABEL) == 4
    assert "Sat 22 May 2027: to do: Send close mentors a short update" in out
    assert "/script progress-update" in out


@pytest.mark.parametrize("spec", SPECIALTIES)
def test_no_phase_still_carries_a_step_that_belongs_to_a_key_date(spec: str) -> None:
    """A step written as "before ERAS opens" inside a phase is nudged on the phase's first day."""
    for track in TRACKS:
        for phase in _view(spec, track).timeline:
            for line in phase.checklist_for(track):
                low = line.lower()
                assert "before eras opens" not in low, (phase.id, line)
                assert "after the match" not in low and "just before rank lists" not in low, (phase.id, line)
        assert not any(p.title == "After the Match" for p in _view(spec, track).timeline)


async def test_key_date_nudges_are_planned_and_delivered_on_the_day(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2027, 5, 1, 10, 0, tzinfo=UTC))
    app = await make_app(tmp_path / "db.sqlite", clock)
    t = Transcript(app)
    await t.say("/profile set specialty:psych track:non-us-img visa:j1 eras:2027-09 timezone:UTC")
    uid = await app.store.ensure_user(t.front.user, clock.now())
    due = {n.ref.split(":")[3]: n.due_at for n in await app.store.open_nudges(uid) if n.kind == "milestone"}
    assert due["update-before-eras-opens"] == datetime(2027, 5, 22, 9, 0, tzinfo=UTC)
    assert due["eras-opens"] == datetime(2027, 6, 5, 9, 0, tzinfo=UTC)
    assert due["match-day"] == datetime(2028, 3, 17, 9, 0, tzinfo=UTC)
    assert due["thanks-after-match"] == datetime(2028, 3, 18, 9, 0, tzinfo=UTC)
    listed = await t.say("/nudges list")
    # what each is about, as the timeline words it: never its id (update-before-eras-opens)
    assert "Sat 22 May 2027 09:00: to do: Send close mentors a short update" in listed, listed
    assert "(/script progress-update)" in listed  # a command in the task, as a hint
    assert "Sat 5 Jun 2027 09:00: key date: ERAS opens to applicants" in listed
    assert "Wed 1 Sep 2027 09:00: new timeline phase: Interviews, rank list and match" in listed
    assert "eras-opens" not in listed and "psych-interviews" not in listed

    port = RecordingPort()
    engine = t.engine()
    engine.ports = {"console": port}  # type: ignore[dict-item]
    clock.set(datetime(2027, 5, 22, 9, 0, tzinfo=UTC))
    await engine.run_due()
    (sent,) = port.sent
    text = sent[1].plain_text()
    assert "To do now: 2 weeks before: ERAS opens to applicants" in text
    assert "Send close mentors a short update" in text
    clock.set(datetime(2027, 6, 5, 9, 0, tzinfo=UTC))
    await engine.run_due()
    assert "ERAS opens to applicants (early June, typical; check this year's official calendar)" in (
        port.sent[1][1].plain_text()
    )

    # a later ERAS month moves every key-date nudge with it
    await t.say("/profile set eras:2028-09")
    due = {n.ref.split(":")[3]: n.due_at for n in await app.store.open_nudges(uid) if n.kind == "milestone"}
    assert due["update-before-eras-opens"] == datetime(2028, 5, 22, 9, 0, tzinfo=UTC)
    assert due["match-day"] == datetime(2029, 3, 17, 9, 0, tzinfo=UTC)


async def test_timeline_export_has_the_key_dates_as_all_day_events(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    await console.say("/profile set specialty:im track:us-img eras:2027-12")
    out = await console.say("/timeline export")
    assert "key dates and tasks" in out
    (ics,) = tmp_path.glob("*.ics")
    events = {str(e["SUMMARY"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    match = events["Internal Medicine: Match Day"]
    assert match.decoded("DTSTART") == date(2028, 3, 17)
    assert MILESTONE_LABEL in str(match["DESCRIPTION"])
    opening = events["Internal Medicine: ERAS opens to applicants"]
    assert opening.decoded("DTSTART") == date(2027, 6, 5)
    todo = [e for s, e in events.items() if s.startswith("To do: Matched or not")]
    assert todo and todo[0].decoded("DTSTART") == date(2028, 3, 18)


def test_a_task_dated_from_an_unknown_milestone_is_a_load_error(tmp_path: Path) -> None:
    d = tmp_path / "pb"
    shutil.copytree(shipped_playbooks_dir(), d)
    f = d / "_base.yaml"
    f.write_text(f.read_text().replace("when: after match-day", "when: after match-night", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    assert any("'match-night', not a milestone" in e.message for e in err.value.errors)
    f.write_text(f.read_text().replace("when: after match-night", "when: soon after the match", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    e = err.value.errors[0]
    assert e.file == "_base.yaml" and e.path.startswith("tasks[") and e.line
    assert "is not a milestone offset" in e.message
