"""The APScheduler clock: two jobs whatever the number of pending nudges, rebuilt from the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import NudgeEngine
from bot.scheduler import NudgeScheduler
from tests.helpers import RecordingPort, Transcript


class SignallingPort(RecordingPort):
    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    async def deliver(self, user, reply, nonce):
        await super().deliver(user, reply, nonce)
        self.arrived.set()


async def test_many_pending_nudges_still_two_jobs_and_delivery_on_time(app: App, clock: ManualClock) -> None:
    t = Transcript(app)
    await t.say("/profile set specialty:psych track:non-us-img eras:2027-09 timezone:UTC")
    for i in range(30):
        await t.say(f'/contact add "Dr Number {i}" how_met:conference met_on:today')
    assert (await app.store.nudge_counts())["pending"] >= 30

    port = SignallingPort()
    sched = NudgeScheduler(NudgeEngine(app, {"console": port}, rate=1000), heartbeat_seconds=300)
    await sched.start()
    try:
        jobs = {j.id for j in sched.scheduler.get_jobs()}
        assert jobs == {"wake", "heartbeat"}
        stores = sched.scheduler._jobstores
        assert all(isinstance(s, MemoryJobStore) for s in stores.values())
        assert sched.scheduler._job_defaults["misfire_grace_time"] is None
        assert sched.scheduler._job_defaults["coalesce"] is True
        assert sched.next_wake == await app.store.next_delivery()
        assert port.sent == []

        # time passes past the first due follow-ups (26 Nov, 09:00 UTC)
        clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
        await sched.refresh()
        await asyncio.wait_for(port.arrived.wait(), timeout=5)
        assert len(port.sent) == 1  # thirty follow-ups, one digest
        digest = port.sent[0][1]
        assert digest.plain_text().count("(after meeting them)") == 30
        assert len(digest.actions) == 3 * 5  # scripts and buttons for the first three only
        assert "/nudges done" in digest.plain_text().split("Dr Number 29")[1]
        await asyncio.sleep(0)
        assert {j.id for j in sched.scheduler.get_jobs()} <= {"wake", "heartbeat"}
    finally:
        await sched.shutdown()


async def test_a_command_that_adds_work_re_arms_the_wake_job_through_the_store(app: App) -> None:
    """No App hook: the store's own work-changed signal (NOTIFY on PostgreSQL) moves the wake job."""
    assert not hasattr(app, "on_nudges_changed")
    t = Transcript(app)
    await t.say("/profile set specialty:psych track:non-us-img eras:2027-09 timezone:UTC")
    sched = NudgeScheduler(NudgeEngine(app, {"console": RecordingPort()}, rate=1000), heartbeat_seconds=300)
    await sched.start()
    try:
        before = sched.next_wake  # the next timeline phase, months away
        await t.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
        due = await app.store.next_delivery()
        assert due is not None and before is not None and due < before  # the follow-up, in days
        for _ in range(200):
            if sched.next_wake == due:
                break
            await asyncio.sleep(0.01)
        assert sched.next_wake == due
        assert sched.scheduler.get_job("wake") is not None
    finally:
        await sched.shutdown()


class _SlowDuty:
    """A duty whose next due time takes until ``gate`` opens, once ``block`` is set."""

    def __init__(self) -> None:
        self.block = False
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.finished = 0

    async def next_due(self) -> datetime | None:
        if self.block:
            self.entered.set()
            await self.gate.wait()
            self.finished += 1
        return None

    async def run_due(self) -> int:
        return 0

    async def drain(self) -> int:
        return 0


async def test_shutdown_lets_a_running_wake_up_finish_rather_than_cancel_it(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The heartbeat's wake-up is in the middle of a query when the process is told to stop:
    shutdown waits for it (APScheduler's own shutdown cancelled it, and logged an error)."""
    duty = _SlowDuty()
    sched = NudgeScheduler(NudgeEngine(app, {"console": RecordingPort()}, rate=1000), 3600, duties=[duty])
    await sched.start()
    duty.block = True
    sched.scheduler.modify_job("heartbeat", next_run_time=datetime.now(UTC))
    await asyncio.wait_for(duty.entered.wait(), 5)
    stopping = asyncio.create_task(sched.shutdown())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waiting for the wake-up
    duty.gate.set()
    await asyncio.wait_for(stopping, 5)
    assert duty.finished == 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
