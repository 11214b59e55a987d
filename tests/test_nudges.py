"""Nudges: owed rows in the database, delivered by digest, safe across restarts and crashes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.dates import after_quiet_hours, zone
from bot.core.nudges import DeliveryError, NudgeEngine
from tests.helpers import START, RecordingPort, Transcript, make_app

CAIRO = '/profile set specialty:psych track:non-us-img timezone:Africa/Cairo name:"Dr Amal Hassan"'


class Crash(BaseException):
    """Stands for the process dying between sending and recording."""


class CrashingPort(RecordingPort):
    async def deliver(self, user, reply, nonce):
        await super().deliver(user, reply, nonce)
        raise Crash


async def _setup(tmp_path: Path, clock: ManualClock) -> Transcript:
    app = await make_app(tmp_path / "n.db", clock)
    t = Transcript(app)
    await t.say(CAIRO)
    await t.say('/contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:2026-11-22')
    return t


def _engine(t: Transcript, port: RecordingPort, **kw: object) -> NudgeEngine:
    return NudgeEngine(t.app, {"console": port}, rate=1000, **kw)  # type: ignore[arg-type]


async def test_nudge_waits_for_its_time_then_arrives_once_with_the_script(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    port = RecordingPort()
    engine = _engine(t, port)
    await engine.run_due()
    assert port.sent == []
    # due 25 Nov at 09:00 Cairo = 07:00 UTC
    assert await t.app.store.next_delivery() == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    await engine.run_due()
    await engine.run_due()
    (sent,) = port.sent
    text = sent[1].plain_text()
    assert sent[1].title == "🔔 Your networking nudges"
    assert "#1 Dr Maya Lee: follow-up due Wed 25 Nov 2026 (after meeting them)" in text
    assert "Dear Dr. Lee," in text.split("```")[1]  # title and last name, as the seeds write it
    assert {a.id.split(":")[1] for a in sent[1].actions} == {"done", "snooze-1d", "snooze-3d", "snooze-1w", "stop"}
    await t.app.store.close()


async def test_a_nudge_due_in_the_second_the_bot_started_is_not_called_late(tmp_path: Path) -> None:
    """SQLite keeps due times in whole seconds: a nudge owed at 07:00:00 and sent by a bot started at
    07:00:00.4 (a scripted console session owes and sends within one second) did not fall due while
    the bot was offline."""
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    clock.set(datetime(2026, 11, 25, 7, 0, 0, 400_000, tzinfo=UTC))  # due 07:00 UTC, to the second
    port = RecordingPort()
    engine = _engine(t, port)
    await engine.run_due()
    (sent,) = port.sent
    assert sent[1].title == "🔔 Your networking nudges"
    await t.app.store.close()


async def test_restart_after_downtime_delivers_exactly_one_late_digest(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    await t.say('/contact add "Dr Second" specialty:psych how_met:conference met_on:2026-11-21')
    await t.app.store.close()

    # the process was down for a week; it starts again with the clock past both windows
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    app = await make_app(tmp_path / "n.db", clock)
    port = RecordingPort()
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    await engine.recover()
    await engine.run_due()
    await engine.run_due()
    assert len(port.sent) == 1
    digest = port.sent[0][1]
    assert digest.title.startswith("🔔 Late nudges")
    assert "Dr Maya Lee" in digest.plain_text() and "Dr Second" in digest.plain_text()
    await app.store.close()

    app = await make_app(tmp_path / "n.db", clock)  # and a second restart sends nothing again
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    await engine.recover()
    await engine.run_due()
    assert len(port.sent) == 1
    await app.store.close()


async def test_crash_between_send_and_record_does_not_duplicate(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    platform = CrashingPort()
    with pytest.raises(Crash):
        await _engine(t, platform).run_due()
    assert len(platform.sent) == 1
    assert (await t.app.store.nudge_counts()).get("sending") == 1
    await t.app.store.close()

    app = await make_app(tmp_path / "n.db", clock)
    after = RecordingPort(sent=platform.sent)  # the platform remembers nonces it has seen
    engine = NudgeEngine(app, {"console": after}, rate=1000)
    await engine.recover()
    await engine.run_due()
    assert len(after.sent) == 1  # same nonce: the platform shows it once
    assert (await app.store.nudge_counts()).get("sent") == 1
    assert "sending" not in await app.store.nudge_counts()
    await app.store.close()


def test_quiet_hours_are_dst_safe() -> None:
    ny = zone("America/New_York")
    quiet = (time(21, 0), time(8, 0))
    # 14 Mar 2027, clocks spring forward at 02:00: 01:00 EST is quiet; release is 08:00 EDT = 12:00 UTC
    assert after_quiet_hours(datetime(2027, 3, 14, 6, 0, tzinfo=UTC), ny, *quiet) == datetime(
        2027, 3, 14, 12, 0, tzinfo=UTC
    )
    # 1 Nov 2026, clocks fall back: 01:30 EDT is quiet; release is 08:00 EST = 13:00 UTC
    assert after_quiet_hours(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), ny, *quiet) == datetime(
        2026, 11, 1, 13, 0, tzinfo=UTC
    )
    # 22:00 the evening before the change waits until the next morning, in the new offset
    assert after_quiet_hours(datetime(2027, 3, 14, 3, 0, tzinfo=UTC), ny, *quiet) == datetime(
        2027, 3, 14, 12, 0, tzinfo=UTC
    )
    # outside quiet hours nothing moves
    noon = datetime(2027, 3, 14, 16, 0, tzinfo=UTC)
    assert after_quiet_hours(noon, ny, *quiet) == noon


async def test_a_nudge_due_in_quiet_hours_waits_for_them_to_end(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2027, 3, 13, 20, 0, tzinfo=UTC))
    app = await make_app(tmp_path / "q.db", clock)
    t = Transcript(app)
    await t.say("/profile set specialty:im track:us-img timezone:America/New_York quiet_hours:06:00-10:00")
    await t.say('/contact add "Dr Quiet" how_met:conference met_on:today')  # IM: due next day 09:00 local
    # 09:00 on 14 Mar is inside 06:00-10:00; 10:00 EDT (after the DST change) is 14:00 UTC
    assert await app.store.next_delivery() == datetime(2027, 3, 14, 14, 0, tzinfo=UTC)
    await app.store.close()


async def test_pause_and_resume(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    port = RecordingPort()
    engine = _engine(t, port)
    out = await t.say("/nudges pause until:2026-12-10")
    assert "Nudges paused until Thu 10 Dec 2026" in out
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    await engine.run_due()
    assert port.sent == []
    assert "paused until" in await t.say("/nudges list")
    clock.set(datetime(2026, 12, 10, 7, 0, tzinfo=UTC))  # 09:00 Cairo
    await engine.run_due()
    assert len(port.sent) == 1

    await t.say('/contact add "Dr Later" specialty:psych how_met:conference met_on:today')
    await t.say("/nudges pause")
    clock.advance(timedelta(days=30))
    await engine.run_due()
    assert len(port.sent) == 1
    assert "Nudges are back on" in await t.say("/nudges resume")
    await engine.run_due()
    assert len(port.sent) == 2 and "Dr Later" in port.sent[1][1].plain_text()
    await t.app.store.close()


async def test_failed_delivery_retries_with_backoff_then_tells_the_user(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    port = RecordingPort(fail_with=DeliveryError("user unreachable"))
    engine = _engine(t, port, max_attempts=3, backoff=timedelta(minutes=10))
    await engine.run_due()
    (n,) = await t.app.store.open_nudges(1)
    assert n.attempts == 1 and n.last_error == "user unreachable"
    assert n.deliver_at == clock.now() + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))
    await engine.run_due()
    (n,) = await t.app.store.open_nudges(1)
    assert n.attempts == 2 and n.deliver_at == clock.now() + timedelta(minutes=20)
    clock.advance(timedelta(minutes=20))
    await engine.run_due()
    assert await t.app.store.open_nudges(1) == []
    assert (await t.app.store.nudge_counts()).get("failed") == 1
    out = await t.say("/profile show")
    assert out.startswith("Your profile\n## Heads-up\nI could not send you 1 nudge(s) (user unreachable).")
    assert "Heads-up" not in await t.say("/profile show")  # shown once
    await t.app.store.close()


async def test_permanent_failure_is_shown_at_once_with_the_fix(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    port = RecordingPort(
        fail_with=DeliveryError(
            "DMs are closed", permanent=True, user_hint="Allow direct messages from server members."
        )
    )
    await _engine(t, port).run_due()
    out = await t.say("/followups")
    assert "(DMs are closed). Allow direct messages from server members." in out
    await t.app.store.close()


async def test_nudge_buttons_work_as_commands_and_refuse_strangers(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    port = RecordingPort()
    await _engine(t, port).run_due()
    actions = {a.id.split(":")[1]: a.command for a in port.sent[0][1].actions}
    stranger = Transcript(t.app, "mallory")
    assert "is not one of yours" in await stranger.say(actions["snooze-3d"])
    assert "Snoozed #1 Dr Maya Lee until Sun 29 Nov 2026" in await t.say(actions["snooze-3d"])
    (n,) = [x for x in await t.app.store.open_nudges(1) if x.kind == "followup"]
    assert n.due_at == datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    # a nudge is handled once: its other buttons now say so instead of logging twice
    assert "nudge 1 was already handled" in await t.say(actions["done"])
    assert "Logged emailed" not in await t.say("/contact show #1")
    await t.app.store.close()


async def test_monthly_goal_kickoff_midmonth_and_summary(tmp_path: Path) -> None:
    clock = ManualClock(START)
    t = await _setup(tmp_path, clock)
    port = RecordingPort()
    engine = _engine(t, port)
    out = await t.say("/goal set")
    assert "/goal set emails 5 week" in out  # psychiatry: a 20-30 person list over 4-6 weeks
    await t.say("/goal set emails 4 month")
    await t.say("/contact log #1 emailed")
    # 1 of 4 is 2.5 of 10 cells: drawn as whole cells (2 filled, 8 empty), never a half cell
    assert "emails this month: ██░░░░░░░░ 1/4\n" in await t.say("/goal progress")

    clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 18:00 Cairo: month-end summary
    await engine.run_due()
    assert any("Month-end summary" in r.plain_text() for _, r, _ in port.sent)
    clock.set(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))  # kickoff on the 1st with last month's result
    await engine.run_due()
    kickoff = port.sent[-1][1].plain_text()
    assert "New month, new targets. Last month:" in kickoff and "emails: 1/4" in kickoff
    sent_before = len(port.sent)
    clock.set(datetime(2026, 12, 15, 10, 0, tzinfo=UTC))  # mid-month, 0 of 4: behind pace
    await engine.run_due()
    assert "behind pace" in port.sent[-1][1].plain_text() and len(port.sent) == sent_before + 1
    await t.app.store.close()


async def test_midmonth_nudge_is_skipped_when_on_pace(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    t = await _setup(tmp_path, clock)
    port = RecordingPort()
    await t.say("/goal set emails 2 month")
    await t.say("/contact log #1 emailed")
    await t.say('/contact add "Dr B" how_met:email')
    await t.say("/contact log #2 emailed")
    clock.set(datetime(2026, 12, 15, 10, 0, tzinfo=UTC))
    await _engine(t, port).run_due()
    assert not any("behind pace" in r.plain_text() for _, r, _ in port.sent)
    await t.app.store.close()


async def test_timeline_phase_start_is_nudged_with_its_checklist(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "p.db", clock)
    t = Transcript(app)
    await t.say("/profile set specialty:em track:non-us-img eras:2027-09 timezone:UTC")
    nxt = await app.store.next_delivery()
    assert nxt is not None and nxt.day == 1 and nxt.hour == 9
    clock.set(nxt)
    port = RecordingPort()
    await NudgeEngine(app, {"console": port}, rate=1000).run_due()
    text = port.sent[0][1].plain_text()
    assert "New phase:" in text
    await app.store.close()
