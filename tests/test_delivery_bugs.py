"""Regressions for delivery and planning bugs found in review, one test per bug."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import DeliveryError, NudgeEngine
from tests.helpers import RecordingPort, Transcript, make_app


class Crash(BaseException):
    """Stands for the process dying mid-send (SystemExit would stop the test's event loop)."""


class CrashingPort(RecordingPort):
    async def deliver(self, user, reply, nonce):  # type: ignore[no-untyped-def]
        raise Crash


async def _uid(t: Transcript, clock: ManualClock) -> int:
    return await t.app.store.ensure_user(t.front.user, clock.now())


async def test_specialty_set_after_contacts_plans_their_follow_ups(
    console: Transcript, app: App, clock: ManualClock, tmp_path: Path
) -> None:
    out = await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    assert "No follow-up reminders yet" in out
    await console.say('/contact add "Dr Earlier" how_met:conference met_on:2026-11-13')
    uid = await _uid(console, clock)
    assert await app.store.open_nudges(uid) == []
    await console.say("/profile set specialty:psych timezone:UTC")
    c = await app.store.contact_by_number(uid, 1)
    assert c is not None and c.next_followup_on == date(2026, 11, 26)  # met 23 Nov + 3 days (psychiatry)
    assert c.followup_situation == "after-meeting"
    nudges = {n.ref: n for n in await app.store.open_nudges(uid)}
    assert nudges[str(c.id)].kind == "followup" and nudges[str(c.id)].status == "pending"
    assert nudges[str(c.id)].due_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    # a follow-up that is already overdue was never nudged either: it is owed now
    earlier = await app.store.contact_by_number(uid, 2)
    assert earlier is not None and earlier.next_followup_on == date(2026, 11, 16)
    assert nudges[str(earlier.id)].deliver_at == clock.now()
    assert "Next follow-up: Thu 26 Nov 2026" in await console.say("/contact show #1")


async def test_time_zone_change_does_not_resend_a_delivered_follow_up(
    console: Transcript, app: App, clock: ManualClock
) -> None:
    await console.say("/profile set specialty:psych timezone:UTC")
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')  # due Thu 26 Nov 09:00
    port = RecordingPort()
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    await engine.run_due()
    assert len(port.sent) == 1 and "Dr Maya Lee" in port.sent[0][1].plain_text()
    clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    await console.say('/contact add "Dr Second" how_met:conference met_on:today')  # due Sun 29 Nov 09:00
    uid = await _uid(console, clock)
    second = await app.store.contact_by_number(uid, 2)
    assert second is not None

    await console.say("/profile set timezone:Europe/London")
    await engine.run_due()
    assert len(port.sent) == 1  # Dr Maya Lee's follow-up was delivered already: not again
    assert [n.ref for n in await app.store.open_nudges(uid) if n.kind == "followup"] == [str(second.id)]

    await console.say("/profile set timezone:Asia/Tokyo")  # the undelivered one moves to 09:00 in Tokyo
    (n,) = [n for n in await app.store.open_nudges(uid) if n.kind == "followup"]
    assert n.ref == str(second.id) and n.due_at == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    await engine.run_due()
    assert len(port.sent) == 1


async def test_goal_nudges_are_planned_again_after_a_final_delivery_failure(
    console: Transcript, app: App, clock: ManualClock
) -> None:
    await console.say("/profile set timezone:UTC")
    await console.say("/goal set emails 4 month")
    uid = await _uid(console, clock)

    def goal_rows(nudges: list) -> set[tuple[str, str]]:
        return {(n.kind, n.ref) for n in nudges if n.kind.startswith("goal-") and n.status == "pending"}

    assert goal_rows(await app.store.open_nudges(uid)) == {
        ("goal-kickoff", "2026-12"),
        ("goal-midmonth", "2026-12"),
        ("goal-summary", "2026-11"),
    }
    # the month-end summary fails for good (DMs closed)
    port = RecordingPort(fail_with=DeliveryError("DMs are closed", permanent=True))
    clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    await NudgeEngine(app, {"console": port}, rate=1000).run_due()
    assert (await app.store.nudge_counts()).get("failed") == 1
    assert ("goal-summary", "2026-12") in goal_rows(await app.store.open_nudges(uid))
    # the kickoff runs out of attempts
    port.fail_with = DeliveryError("user unreachable")
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await NudgeEngine(app, {"console": port}, rate=1000, max_attempts=1).run_due()
    assert (await app.store.nudge_counts()).get("failed") == 2
    assert goal_rows(await app.store.open_nudges(uid)) == {
        ("goal-kickoff", "2027-01"),
        ("goal-midmonth", "2026-12"),
        ("goal-summary", "2026-12"),
    }


async def test_imported_contacts_do_not_count_as_new_contacts(console: Transcript, tmp_path: Path) -> None:
    await console.say("/profile set specialty:psych timezone:UTC")
    await console.say("/goal set new-contacts 3 month")
    f = tmp_path / "c.csv"
    f.write_text("name,institution,last_contact\nDr Old,Mass General,2026-06-01\nDr Recent,,2026-11-20\n")
    assert "Imported 2 contact(s)" in await console.say(f"/contact import {f}")
    assert "new contacts this month: ░░░░░░░░░░ 0/3" in await console.say("/goal progress")
    await console.say('/contact add "Dr Met Today" how_met:conference met_on:today')
    assert "new contacts this month: ███░░░░░░░ 1/3" in await console.say("/goal progress")

    # the CSV round trip is unchanged: what an imported contact exports imports the same again
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    console.front.attachments_dir = tmp_path / "a"
    await console.say("/contact export")
    (first,) = (tmp_path / "a").glob("*.csv")
    other = Transcript(console.app, "someone-else")
    other.front.attachments_dir = tmp_path / "b"
    await other.say("/profile set specialty:psych timezone:UTC")
    await other.say("/goal set new-contacts 3 month")
    assert "Imported 3 contact(s)" in await other.say(f"/contact import {first}")
    assert "new contacts this month: ░░░░░░░░░░ 0/3" in await other.say("/goal progress")
    await other.say("/contact export")
    (second,) = (tmp_path / "b").glob("*.csv")
    assert second.read_bytes() == first.read_bytes()


async def test_recovered_midmonth_nudge_does_not_say_behind_pace_when_on_pace(
    console: Transcript, app: App, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    await console.say("/profile set timezone:UTC")
    await console.say("/goal set emails 2 month")
    await console.say('/contact add "Dr B" how_met:email')
    clock.set(datetime(2026, 12, 15, 12, 0, tzinfo=UTC))  # mid-month check, 0 of 2: behind pace
    with pytest.raises(Crash):  # the process dies while sending it
        await NudgeEngine(app, {"console": CrashingPort()}, rate=1000).run_due()
    assert (await app.store.nudge_counts()).get("sending") == 1
    clock.set(datetime(2026, 12, 15, 12, 30, tzinfo=UTC))
    await console.say("/contact log #1 emailed")  # 1 of 2 by the 15th: on pace now

    port = RecordingPort()  # after the restart; this platform never showed the first attempt
    await NudgeEngine(app, {"console": port}, rate=1000).recover()
    (sent,) = port.sent
    text = sent[1].plain_text()
    assert "Halfway through December 2026" in text and "emails: █████░░░░░ 1/2" in text
    assert "behind pace" not in text and "on pace" in text
    assert "closes most of the gap" not in text
    assert (await app.store.nudge_counts()).get("sent") == 1


async def test_a_failed_nudge_action_leaves_the_nudge_usable_and_two_presses_act_once(
    console: Transcript, app: App, clock: ManualClock, tmp_path: Path
) -> None:
    await console.say("/profile set specialty:psych timezone:UTC")
    await console.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')  # follow-up nudge 1
    await console.say('/contact add "Dr Gone" how_met:conference met_on:today')  # follow-up nudge 2
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    await console.engine().run_due()
    uid = await _uid(console, clock)
    maya, gone = await app.store.all_contacts(uid)
    assert (await app.store.get_nudge(2)).ref == str(gone.id)  # type: ignore[union-attr]
    await app.store.delete_contact(uid, gone.id)  # gone without its nudge being retired

    # the action fails: the nudge is not used up, pressing again gives the same error
    assert "that contact no longer exists" in await console.say("/nudges done 2")
    assert (await app.store.get_nudge(2)).status == "sent"  # type: ignore[union-attr]
    out = await console.say("/nudges snooze 2 3d")
    assert "that contact no longer exists" in out and "already handled" not in out

    # two presses at once (two bot processes on one database) act once
    other = Transcript(await make_app(tmp_path / "bot.db", clock))
    outs = await asyncio.gather(console.say("/nudges done 1"), other.say("/nudges done 1"))
    assert sum("Logged emailed with #1 Dr Maya Lee" in o for o in outs) == 1, outs
    assert sum("nudge 1 was already handled" in o for o in outs) == 1, outs
    assert [k for k, _, _ in await app.store.interactions(maya.id)] == ["met", "emailed"]
    assert "nudge 1 was already handled" in await console.say("/nudges stop 1")
