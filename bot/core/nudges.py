"""Delivering what is owed: one digest per user per wake-up, through a front-end port.

Crash safety: a digest is marked ``sending`` with a stable id before it goes
out, and that id is passed to the platform as the message nonce. If the
process dies between sending and recording, :meth:`NudgeEngine.recover` sends
the same digest again with the same nonce, so a platform that deduplicates on
nonces shows it once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.core import goals as goals_mod
from bot.core import planner
from bot.core.context import App
from bot.core.dates import add_months, fmt_date, zone
from bot.core.models import Contact, ContactState, Nudge, NudgeKind, Profile, UserRef
from bot.core.registry import month_to_date
from bot.core.reply import ActionStyle, Reply, Tone
from bot.core.scripts import render_script, script_values
from bot.core.timeline import dated_phases
from bot.core.tracker import cadence_view

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A DM could not be delivered. ``permanent`` skips the retries (e.g. DMs closed)."""

    def __init__(self, reason: str, *, permanent: bool = False, user_hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.user_hint = user_hint


class DeliveryPort(Protocol):
    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        """Send ``reply`` to ``user`` privately; raise DeliveryError on failure."""
        ...


class Pacer:
    """Spaces sends to at most ``rate`` per second across all users."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = _time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = max(now, self._next) + self.interval


def digest_id(nudges: Sequence[Nudge]) -> str:
    key = ",".join(str(n.id) for n in sorted(nudges, key=lambda n: n.id))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Outcome:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0


SNOOZES = (("1d", 1), ("3d", 3), ("1w", 7))
FULL_FOLLOWUPS = 3  # follow-ups per digest shown with their script and buttons


class NudgeEngine:
    def __init__(
        self,
        app: App,
        ports: dict[str, DeliveryPort],
        *,
        rate: float = 20.0,
        concurrency: int = 8,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(minutes=2),
        batch: int = 500,
    ) -> None:
        self.app = app
        self.ports = ports
        self.pacer = Pacer(rate)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.batch = batch
        self.started_at = app.clock.now()
        self._running = asyncio.Lock()

    # ------------------------------------------------------------------ public
    async def recover(self) -> Outcome:
        """Resend digests that were marked sending when the process stopped."""
        store = self.app.store
        total = Outcome()
        for digest, nudges in (await store.in_flight()).items():
            res = await self._send(nudges[0].user_id, nudges, digest or digest_id(nudges))
            total = _add(total, res)
        return total

    async def run_due(self) -> Outcome:
        """Deliver everything due now, one digest per user."""
        async with self._running:
            total = Outcome()
            while True:
                now = self.app.clock.now()
                async with self.app.lock:
                    users = await self.app.store.due_users(now, self.batch)
                if not users:
                    return total
                sem = asyncio.Semaphore(self.concurrency)
                results = await asyncio.gather(*(self._limited(sem, u, now) for u in users))
                progress = Outcome()
                for res in results:
                    progress = _add(progress, res)
                total = _add(total, progress)
                if progress == Outcome():  # nothing moved: never spin on rows that stay due
                    log.error("nudge rows for users %s stay due but nothing was delivered", users[:5])
                    return total

    async def _limited(self, sem: asyncio.Semaphore, user_id: int, now: datetime) -> Outcome:
        async with sem:
            return await self._deliver_user(user_id, now)

    # ------------------------------------------------------------------ internals
    async def _deliver_user(self, user_id: int, now: datetime) -> Outcome:
        store = self.app.store
        async with self.app.lock:
            nudges = await store.due_for_user(user_id, now)
            if not nudges:
                return Outcome()
            profile = await store.get_profile(user_id)
            reply, keep, skip = await self._compose(profile, nudges, now)
            if skip:
                await store.mark_skipped([n.id for n in skip], now)
            if not keep:
                await planner.plan_goals(store, profile, now)
                return Outcome(skipped=len(skip))
            digest = digest_id(keep)
            await store.mark_sending([n.id for n in keep], digest)
        res = await self._send(user_id, keep, digest, reply)
        return Outcome(res.delivered, res.failed, len(skip))

    async def _send(self, user_id: int, nudges: list[Nudge], digest: str, reply: Reply | None = None) -> Outcome:
        store = self.app.store
        async with self.app.lock:
            user = await store.user_ref(user_id)
            profile = await store.get_profile(user_id)
            if reply is None:
                reply, _, _ = await self._compose(profile, nudges, self.app.clock.now(), recovering=True)
        if user is None:
            return Outcome()
        port = self.ports.get(user.platform)
        ids = [n.id for n in nudges]
        try:
            if port is None:
                raise DeliveryError(f"no front end for platform '{user.platform}' is running")
            await self.pacer.wait()
            try:
                await port.deliver(user, reply, digest)
            except DeliveryError:
                raise
            except Exception as exc:  # a front-end bug must not leave rows stuck in 'sending'
                log.exception("delivery port raised unexpectedly for user %s", user_id)
                raise DeliveryError(f"unexpected error: {type(exc).__name__}") from exc
        except DeliveryError as exc:
            await self._failed(user_id, nudges, digest, exc, reply)
            return Outcome(failed=len(ids))
        async with self.app.lock:
            now = self.app.clock.now()
            await store.mark_sent(ids, now, digest)
            if any(n.kind in (NudgeKind.GOAL_KICKOFF, NudgeKind.GOAL_SUMMARY, NudgeKind.GOAL_MIDMONTH) for n in nudges):
                await planner.plan_goals(store, profile, now)
        return Outcome(delivered=len(ids))

    async def _failed(self, user_id: int, nudges: list[Nudge], digest: str, exc: DeliveryError, reply: Reply) -> None:
        store = self.app.store
        attempts = max(n.attempts for n in nudges) + 1
        now = self.app.clock.now()
        give_up = exc.permanent or attempts >= self.max_attempts
        log.warning("nudge delivery to user %s failed (attempt %s): %s", user_id, attempts, exc.reason)
        async with self.app.lock:
            ids = [n.id for n in nudges]
            if give_up:
                await store.mark_retry(ids, digest, exc.reason, None)
                lines = [f"I could not send you {len(nudges)} nudge(s) ({exc.reason})."]
                if exc.user_hint:
                    lines.append(exc.user_hint)
                lines.append("What I had for you: " + reply.title + ". Run /followups and /goal progress.")
                await store.add_notice(user_id, " ".join(lines), now)
                goal_kinds = (NudgeKind.GOAL_KICKOFF, NudgeKind.GOAL_SUMMARY, NudgeKind.GOAL_MIDMONTH)
                if any(n.kind in goal_kinds for n in nudges):
                    # as after a delivery: plan the next period's goal nudges, or none would ever come again
                    await planner.plan_goals(store, await store.get_profile(user_id), now)
            else:
                retry_at = now + self.backoff * (2 ** (attempts - 1))
                await store.mark_retry(ids, digest, exc.reason, retry_at)

    async def _compose(
        self, profile: Profile, nudges: list[Nudge], now: datetime, recovering: bool = False
    ) -> tuple[Reply, list[Nudge], list[Nudge]]:
        """Build one digest; returns (reply, nudges it covers, nudges to skip silently)."""
        late = [n for n in nudges if n.deliver_at < self.started_at]
        keep: list[Nudge] = []
        skip: list[Nudge] = []
        sections: list[Reply] = []
        tz = zone(profile.timezone)
        today = now.astimezone(tz).date()
        full = 0
        for n in nudges:
            part: Reply | None
            if n.kind == NudgeKind.FOLLOWUP:
                part = await self._followup_part(profile, n, today, compact=full >= FULL_FOLLOWUPS)
                full += part is not None
            elif n.kind == NudgeKind.PHASE:
                part = self._phase_part(profile, n, today)
            else:
                part = await self._goal_part(profile, n, today, force=recovering)
            if part is None:
                skip.append(n)
            else:
                keep.append(n)
                sections.append(part)
        title = "🔔 Your networking nudges"
        if late:
            title = "🔔 Late nudges: these fell due while the bot was offline"
        reply = Reply(title=title, tone=Tone.NUDGE)
        for part in sections:
            reply.blocks.extend(part.blocks)
            reply.actions.extend(part.actions)
        reply.footer = "Pause nudges with /nudges pause · see them all with /nudges list"
        return reply, keep, skip

    async def _followup_part(self, profile: Profile, n: Nudge, today: date, compact: bool) -> Reply | None:
        contact: Contact | None = await self.app.store.get_contact(profile.user_id, int(n.ref))
        if contact is None or contact.state != ContactState.ACTIVE:
            return None
        view = cadence_view(self.app.playbooks, profile, contact)
        r = Reply(title="")
        what = (contact.followup_situation or "follow-up").replace("-", " ")
        due = f"due {fmt_date(contact.next_followup_on)}" if contact.next_followup_on else "due"
        head = f"{contact.ref} {contact.name}: {what} {due}"
        if compact:
            # a long digest carries full scripts for the first few only
            cmd = f"/script {contact.followup_script} contact:{contact.ref} · " if contact.followup_script else ""
            r.text(f"{cmd}/nudges done {n.id} · /nudges snooze {n.id} 3d", heading=head)
            return r
        if contact.followup_situation == "second-no-reply":
            r.text(
                "Two messages have gone unanswered. The playbook says stop here and spend the time "
                "on someone new. Press Done to close it.",
                heading=head,
            )
        else:
            script = view.script(contact.followup_script) if view and contact.followup_script else None
            if script is not None and view is not None:
                rendered = render_script(script, script_values(profile, view.playbook, contact))
                r.script(rendered.body, heading=f"{head} · {script.title}", subject=rendered.subject)
            else:
                r.text(f"Time to get back in touch with {contact.name}.", heading=head)
        r.action(f"nudge:done:{n.id}", f"Done: {contact.name[:40]}", f"/nudges done {n.id}", ActionStyle.PRIMARY)
        for label, _days in SNOOZES:
            r.action(f"nudge:snooze-{label}:{n.id}", f"Snooze {label}", f"/nudges snooze {n.id} {label}")
        r.action(f"nudge:stop:{n.id}", "Stop for this contact", f"/nudges stop {n.id}", ActionStyle.DANGER)
        return r

    def _phase_part(self, profile: Profile, n: Nudge, today: date) -> Reply | None:
        pid, track, phase_id, eras = n.ref.split(":", 3)
        lib = self.app.playbooks
        if pid not in lib.ids:
            return None
        view = lib.get(pid).view(track)
        for dp in dated_phases(view, eras, today):
            if dp.phase.id == phase_id:
                r = Reply(title="")
                r.bullets(
                    list(dp.phase.checklist),
                    heading=f"New phase: {dp.phase.title} ({fmt_date(dp.start)} → {fmt_date(dp.end)})",
                )
                return r
        return None

    async def _goal_part(self, profile: Profile, n: Nudge, today: date, force: bool) -> Reply | None:
        """Goal nudges speak about the month in their ref, even when delivered later."""
        store = self.app.store
        month = month_to_date(n.ref)
        r = Reply(title="")
        if n.kind == NudgeKind.GOAL_KICKOFF:
            prev = await goals_mod.progress(store, profile, add_months(month, -1), "month")
            lines = [f"{p.goal.metric}: {p.done}/{p.goal.count}" for p in prev if p.goal.count]
            r.bullets(lines or ["no monthly goals last month"], heading="New month, new targets. Last month:")
            cur = [p for p in await goals_mod.progress(store, profile, month, "month") if p.goal.count]
            r.text("This month: " + ", ".join(f"{p.goal.count} {p.goal.metric}" for p in cur))
            return r
        rows = [p for p in await goals_mod.progress(store, profile, month, "month") if p.goal.count]
        if not rows:
            return None
        label = month.strftime("%B %Y")
        if n.kind == NudgeKind.GOAL_MIDMONTH:
            if today >= add_months(month, 1):
                return None  # the month is over; its summary says how it went
            as_of = max(today, month.replace(day=15))
            behind = [p for p in rows if p.done < p.expected_by(as_of)]
            if not behind and not force:
                return None
            # forced (a recovered digest) with nothing behind: say so rather than "behind pace"
            pace = "behind pace on:" if behind else "on pace:"
            r.bullets(
                [f"{p.goal.metric}: {p.bar()} {p.done}/{p.goal.count}" for p in behind or rows],
                heading=f"Halfway through {label}, and {pace}",
            )
            if behind:
                r.text("Two short emails today closes most of the gap. /script cold-email has one ready.")
            return r
        r.bullets(
            [f"{p.goal.metric}: {p.bar()} {p.done}/{p.goal.count}" for p in rows],
            heading=f"Month-end summary for {label}",
        )
        return r


def _add(a: Outcome, b: Outcome) -> Outcome:
    return Outcome(a.delivered + b.delivered, a.failed + b.failed, a.skipped + b.skipped)
