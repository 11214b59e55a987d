"""Three days down, then back: each user gets exactly one late digest, and a user whose local time is
inside quiet hours at the restart gets it when their quiet hours end, not at once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.clock import ManualClock
from bot.core.nudges import NudgeEngine
from tests.helpers import START, RecordingPort, Transcript, make_app

ZONES = [
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Africa/Cairo",
    "Europe/London",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
]
QUIET = (time(21, 0), time(8, 0))  # the default quiet hours
STOPPED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
BACK = STOPPED + timedelta(days=3)


def quiet(local: datetime) -> bool:
    return local.time() >= QUIET[0] or local.time() < QUIET[1]


async def test_after_three_days_down_each_user_gets_one_late_digest_outside_quiet_hours(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "down.db", clock)
    for i, zone in enumerate(ZONES):
        t = Transcript(app, f"user{i}")
        await t.say(f"/profile set specialty:psych track:non-us-img timezone:{zone}")
        for k in range(2):
            assert "Added" in await t.say(f'/contact add "Dr Met {i}-{k}" how_met:conference met_on:today')
    clock.set(STOPPED)  # the bot ran until now (nothing was due yet), then went down for three days
    port = RecordingPort()
    assert (await NudgeEngine(app, {"console": port}, rate=1000).run_due()).delivered == 0
    await app.store.close()

    clock.set(BACK)
    app = await make_app(tmp_path / "down.db", clock)
    port = RecordingPort()
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    sent_at: dict[str, list[datetime]] = {}
    await engine.recover()
    while True:  # follow the schedule the way the wake job does, for one day
        before = len(port.sent)
        await engine.run_due()
        for user, _reply, _nonce in port.sent[before:]:
            sent_at.setdefault(user.account, []).append(clock.now())
        nxt = await app.store.next_delivery()
        if nxt is None or nxt > BACK + timedelta(days=1):
            break
        clock.set(max(nxt, clock.now()))

    assert sorted(sent_at) == sorted(f"user{i}" for i in range(len(ZONES)))
    for _user, reply, _nonce in port.sent:  # one digest for both contacts, marked late
        assert "Late nudges" in reply.title and reply.plain_text().count("Dr Met") >= 2, reply.title
    quiet_at_restart = 0
    for i, zone in enumerate(ZONES):
        (when,) = sent_at[f"user{i}"]  # exactly one digest each
        tz = ZoneInfo(zone)
        assert not quiet(when.astimezone(tz)), (zone, when.astimezone(tz))
        if quiet(BACK.astimezone(tz)):
            quiet_at_restart += 1
            end = datetime.combine(BACK.astimezone(tz).date(), QUIET[1], tz)
            end = end if end > BACK.astimezone(tz) else end + timedelta(days=1)
            assert when == end.astimezone(UTC), (zone, when.astimezone(tz))  # as quiet hours end
        else:
            assert when == BACK, zone  # at once
    assert quiet_at_restart >= 4  # the case under test did occur (Kolkata, Cairo, London, Sao Paulo, New York)
