"""The clock that wakes nudge delivery: APScheduler holding at most two jobs.

The database is the source of truth for what is owed. At start, and after any
change, this asks the store for the earliest delivery time and sets a single
``wake`` job for it; a heartbeat job re-reads the database now and then in case
another process added work. No job store is persistent and nothing is pickled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.nudges import NudgeEngine
from bot.core.planner import FAR_FUTURE

log = logging.getLogger(__name__)


class NudgeScheduler:
    def __init__(self, engine: NudgeEngine, heartbeat_seconds: int = 300) -> None:
        self.engine = engine
        self.heartbeat = heartbeat_seconds
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                # A wake-up that fires late still runs (the database says what is owed),
                # and piled-up runs collapse into one.
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.next_wake: datetime | None = None

    async def start(self) -> None:
        await self.engine.recover()
        self.scheduler.start()
        self.scheduler.add_job(
            self._wake, IntervalTrigger(seconds=self.heartbeat), id="heartbeat", replace_existing=True
        )
        await self._wake()

    async def refresh(self) -> None:
        await self._arm()

    async def _arm(self, *, waking: bool = False) -> bool:
        """Point the ``wake`` job at the earliest delivery time.

        From a running wake-up (``waking``) with that time already come, return True instead of
        arming: a ``wake`` due while one is still running is skipped by APScheduler
        (max_instances=1) and, its date trigger spent, dropped, leaving the nudge to the heartbeat.
        """
        nxt = await self.engine.app.store.next_delivery()
        if nxt is None or nxt >= FAR_FUTURE:
            self.next_wake = None
            if self.scheduler.get_job("wake"):
                self.scheduler.remove_job("wake")
            return False
        # The app clock may be shifted (tests, demos); APScheduler runs on real time.
        delay = max(timedelta(0), nxt - self.engine.app.clock.now())
        self.next_wake = nxt
        if waking and delay == timedelta(0):
            return True
        run_at = datetime.now(UTC) + delay
        self.scheduler.add_job(self._wake, DateTrigger(run_date=run_at), id="wake", replace_existing=True)
        return False

    def poke(self) -> None:
        """Re-read the earliest due time soon (after a command changed what is owed)."""
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wake(self) -> None:
        while True:
            try:
                await self.engine.run_due()
            except Exception:
                log.exception("nudge delivery run failed; will retry at the next wake-up")
                await self.refresh()
                return
            # Something fell due since run_due's last look: go round again rather than arm a job.
            if not await self._arm(waking=True):
                return

    def job_count(self) -> int:
        return len(self.scheduler.get_jobs())

    async def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for t in list(self._tasks):
            t.cancel()
