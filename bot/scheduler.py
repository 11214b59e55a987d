"""The clock that wakes nudge delivery: APScheduler holding at most two jobs.

The database is the source of truth for what is owed. At start, and after any
change, this asks the store for the earliest delivery time (or the earliest lease
expiry, when a peer may die holding work) and sets a single ``wake`` job for it.
Changes come from this process's commands and, on PostgreSQL, from peers through
LISTEN/NOTIFY; a heartbeat job re-reads the database now and then in case a notice
was missed. No job store is persistent and nothing is pickled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.nudges import NudgeEngine, Outcome
from bot.core.planner import FAR_FUTURE

log = logging.getLogger(__name__)

# When due rows exist but none could be claimed (a peer holds them at this instant), look
# again after this long instead of at once.
RETRY_CLAIM = timedelta(seconds=1)
# At shutdown, how long a wake-up already running may take to finish before APScheduler stops.
WAKE_GRACE_SECONDS = 5.0


class Duty(Protocol):
    """Other owed work served by the same ``wake`` job (circle posts): its earliest due time or
    lease expiry, a run of what is due (returning how much was done), and a drain at shutdown."""

    async def next_due(self) -> datetime | None: ...
    async def run_due(self) -> int: ...
    async def drain(self) -> int: ...


class NudgeScheduler:
    def __init__(self, engine: NudgeEngine, heartbeat_seconds: int = 300, duties: Sequence[Duty] = ()) -> None:
        self.engine = engine
        self.duties = list(duties)
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
        self._waking: set[asyncio.Task[object]] = set()  # wake-ups running now
        self.next_wake: datetime | None = None
        self._progress = False

    async def start(self) -> None:
        store = self.engine.app.store
        store.on_work_changed(self.poke)
        try:
            await store.listen()
        except Exception:  # delivery still works, on the heartbeat
            log.warning("could not listen for peers' notices; relying on the heartbeat", exc_info=True)
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
        store = self.engine.app.store
        due = await store.next_delivery(self.engine.platforms, self.engine.account)
        expiry = await store.next_lease_expiry(self.engine.platforms, self.engine.account)
        others = [await d.next_due() for d in self.duties]
        candidates = [t for t in (due, expiry, *others) if t is not None and t < FAR_FUTURE]
        nxt = min(candidates) if candidates else None
        if nxt is None:
            self.next_wake = None
            if self.scheduler.get_job("wake"):
                self.scheduler.remove_job("wake")
            return False
        # The app clock may be shifted (tests, demos); APScheduler runs on real time.
        delay = max(timedelta(0), nxt - self.engine.app.clock.now())
        self.next_wake = nxt
        if waking and delay == timedelta(0):
            if self._progress:
                return True
            delay = RETRY_CLAIM  # nothing could be claimed: a peer has it, or its lease is being renewed
        run_at = datetime.now(UTC) + delay
        self.scheduler.add_job(self._wake, DateTrigger(run_date=run_at), id="wake", replace_existing=True)
        return False

    def poke(self) -> None:
        """Re-read the earliest due time soon (after a command changed what is owed)."""
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wake(self) -> None:
        me = asyncio.current_task()
        if me is not None:
            self._waking.add(me)
        try:
            await self._wake_loop()
        finally:
            if me is not None:
                self._waking.discard(me)

    async def _wake_loop(self) -> None:
        while True:
            try:
                # duties first: a circle post may owe DMs, which the nudge engine then sends at once
                done = sum([await d.run_due() for d in self.duties])
                outcome = await self.engine.run_due()
                self._progress = outcome != Outcome() or done > 0
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
        """Drain, then stop waking: sends in flight finish and are recorded, unsent claims are
        handed back. (Stopping APScheduler first would cancel a running wake-up mid-round.)"""
        for d in self.duties:
            await d.drain()
        released = await self.engine.drain()
        if self.scheduler.running:
            # no new wake-ups; one already running (the heartbeat's, say) finishes first: APScheduler's
            # shutdown would cancel it in the middle of a query, and log that as an error
            self.scheduler.pause()
            running = [t for t in self._waking if t is not asyncio.current_task()]
            if running:
                await asyncio.wait(running, timeout=WAKE_GRACE_SECONDS)
            self.scheduler.shutdown(wait=False)
        for t in list(self._tasks):
            t.cancel()
        if released:
            log.info("handed back %d claimed nudge(s) at shutdown", released)
