"""Regressions for problems found in review: each one typed as the user who would hit it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App
from tests.helpers import RecordingPort, Transcript

PSYCH = "/profile set specialty:psych track:non-us-img timezone:UTC"


async def test_tag_filters_urls_and_quoted_colons_are_text(console: Transcript) -> None:
    await console.say('/contact add "Dr T" tags:mentor')
    await console.say('/contact add "Dr U"')
    out = await console.say("/contact list tag:mentor")
    assert "Contacts (tag:mentor): 1" in out and "Dr U" not in out
    await console.say('/contact log #1 emailed today "Dated: sent CV"')
    await console.say("/contact log #1 emailed today see https://example.org/a")
    shown = await console.say("/contact show #1")
    assert "(Dated: sent CV)" in shown and "(see https://example.org/a)" in shown
    assert "did you mean country?" in await console.say("/profile set colour:blue")


async def test_an_old_nudge_cannot_act_on_a_new_contact_after_a_delete(
    console: Transcript, app: App, clock: ManualClock
) -> None:
    await console.say(PSYCH)
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    clock.advance(timedelta(days=4))
    await console.engine().run_due()
    uid = await app.store.ensure_user(console.front.user, clock.now())
    assert await app.store.open_nudges(uid) == []  # nudge 1 was delivered
    await console.say("/contact remove #1 confirm:yes")
    await console.say('/contact add "Dr Carol New"')  # may get the deleted contact's row id
    out = await console.say("/nudges done 1")
    assert "was replaced by a newer one" in out
    assert "Logged" not in await console.say("/contact show #1")


async def test_time_zone_change_moves_follow_ups_to_the_new_mornings(console: Transcript, app: App) -> None:
    await console.say(PSYCH)
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    assert await app.store.next_delivery() == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    await console.say("/profile set timezone:Asia/Tokyo")
    assert await app.store.next_delivery() == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


async def test_editing_notes_keeps_a_snooze_and_met_on_moves_the_follow_up(
    console: Transcript, app: App, clock: ManualClock
) -> None:
    await console.say(PSYCH)
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    clock.advance(timedelta(days=3, hours=1))
    await console.engine().run_due()
    uid = await app.store.ensure_user(console.front.user, clock.now())
    nudge_id = 1
    assert "Snoozed #1 Dr Maya Lee until Thu 3 Dec 2026" in await console.say(f"/nudges snooze {nudge_id} 1w")
    out = await console.say('/contact edit #1 notes:"likes research"')
    assert "Next follow-up: Thu 3 Dec 2026" in out
    assert [n.kind for n in await app.store.open_nudges(uid)] == ["followup"]
    out = await console.say("/contact edit #1 met_on:2026-11-25")
    assert "Next follow-up: Sat 28 Nov 2026" in out  # 25 Nov + 3 days (psychiatry)


async def test_imported_history_does_not_count_toward_goals_and_overdue_imports_are_nudged(
    console: Transcript, app: App, tmp_path: Path
) -> None:
    await console.say(PSYCH)
    await console.say("/goal set emails 4 month")
    f = tmp_path / "c.csv"
    f.write_text("name,last_contact\nDr Old,2026-06-01\nDr Recent,2026-11-20\n")
    assert "Imported 2 contact(s)" in await console.say(f"/contact import {f}")
    assert "0/4" in await console.say("/goal progress")
    port = RecordingPort()
    from bot.core.nudges import NudgeEngine

    await NudgeEngine(app, {"console": port}, rate=1000).run_due()
    assert port.sent and "Dr Old" in port.sent[0][1].plain_text()


async def test_dates_far_off_and_huge_ids_are_clear_errors(console: Transcript, tmp_path: Path) -> None:
    assert "is too far from today to be right" in await console.say('/contact add "Dr Y" met_on:9999-12-30')
    assert "is in the future; use the date you met" in await console.say('/contact add "Dr Y" met_on:"in 2 weeks"')
    await console.say('/contact add "Dr Z"')
    assert "is too far from today to be right" in await console.say("/contact log #1 no-reply 0001-01-01")
    out = await console.say("/nudges done 99999999999999999999")
    assert "above the maximum" in out and "Something went wrong" not in out
    f = tmp_path / "future.csv"
    f.write_text("name,last_contact\nDr Later,2030-03-01\n")
    assert "row 2: last_contact 2030-03-01 is in the future" in await console.say(f"/contact import {f}")
    out = await console.say("/contact log #1 emailed 2027-01-01")
    assert "is in the future" in out and "quotes" not in out


async def test_state_survives_an_export_import_round_trip(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    await console.say('/contact add "Dr Stop"')
    await console.say(PSYCH)
    await console.say("/contact log #1 emailed")
    await console.say("/contact log #1 emailed")
    await console.say("/contact log #1 no-reply")
    await console.say("/contact export")
    (csv_file,) = tmp_path.glob("*.csv")
    other = Transcript(console.app, "someone-else")
    await other.say(f"/contact import {csv_file}")
    assert "moved-on" in await other.say("/contact show #1")
