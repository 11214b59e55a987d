"""Running what programs owe: channel posts, DM fan-outs and pairing rounds, under leases.

The scheduler's one ``wake`` job asks :meth:`CircleEngine.next_due` next to the nudges' next
due time and calls :meth:`CircleEngine.run_due`. Each owed row is claimed with a lease
(status-guarded), so two instances or a restart never run it twice; a dead instance's claim is
taken over once its lease runs out. A row still useful after downtime runs once, marked late;
one whose moment has passed (a closed check-in window) is skipped. DMs are not sent from here:
they become nudges, which wait out each member's quiet hours and pauses when they are sent. The
one exception is a buddy group's intro on a platform with group DMs (:mod:`bot.core.community.intros`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.core.commands.circle import checkin_post
from bot.core.community import intros, schedule
from bot.core.community.digest import make_digest
from bot.core.community.dms import mentor_cadence_weeks
from bot.core.community.mentoring import assign
from bot.core.community.models import MeetAnswer, Post, PostKind, Program, week_monday
from bot.core.community.rounds import DmKind, dm, eligible, run_round
from bot.core.context import App
from bot.core.ports import ChannelPort, DeliveryError, GroupPort
from bot.core.reply import Reply

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=10)  # a post this far past due, after downtime, says it is late
MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=2)


class CircleEngine:
    def __init__(
        self,
        app: App,
        channels: Mapping[str, ChannelPort],
        *,
        instance: str = "local",
        lease: timedelta = timedelta(seconds=60),
        community: str | None = None,
        batch: int = 50,
    ) -> None:
        self.app = app
        self.channels = dict(channels)
        self.owner = instance
        self.lease = lease
        # Serve one community only (a console session simulating it); None: every community.
        self.community = community
        self.batch = batch
        self.started_at = app.clock.now()
        self._running = asyncio.Lock()
        self._stopping = False

    @property
    def platforms(self) -> list[str]:
        return sorted(self.channels)

    async def next_due(self) -> datetime | None:
        store = self.app.store
        times = [
            await store.next_post_due(self.platforms, self.community),
            await store.next_post_lease(self.platforms, self.community),
        ]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    async def plan(self) -> int:
        now = self.app.clock.now()
        added = 0
        for program in await self.app.store.active_programs(self.platforms, self.community):
            added += await schedule.plan(self.app.store, program, now)
        return added

    async def run_due(self) -> int:
        """Plan ahead, then run every owed row that is due (and any whose lease ran out)."""
        async with self._running:
            await self.plan()
            done = 0
            while not self._stopping:
                now = self.app.clock.now()
                posts = await self.app.store.claim_posts(
                    self.owner, now, now + self.lease, self.batch, self.platforms, self.community
                )
                if not posts:
                    break
                for post in posts:
                    done += await self._run(post)
            return done

    async def drain(self) -> int:
        self._stopping = True
        async with self._running:
            return await self.app.store.release_posts(self.owner)

    async def _run(self, post: Post) -> int:
        store = self.app.store
        now = self.app.clock.now()
        program = await store.get_program(post.program_id)
        if program is None or program.paused or now >= post.expires_at:
            await store.finish_post(post.id, self.owner, "skipped", now, late=False)
            return 0
        late = post.due_at < self.started_at and now - post.due_at > LATE_AFTER
        try:
            if post.kind == PostKind.INTRO:
                status = await self._intro(program, post, late, now)
                if status is None:  # recorded already (with the DMs it owed), or handed back for later
                    return 0
                await store.finish_post(post.id, self.owner, status, self.app.clock.now(), late=late)
                return int(status == "sent")
            await self._do(program, post, late, now)
        except DeliveryError as exc:
            retry = None if exc.permanent or post.attempts + 1 >= MAX_ATTEMPTS else now + BACKOFF * 2**post.attempts
            log.warning("circle post %s (%s) failed: %s", post.id, post.kind, exc.reason)
            await store.retry_post(
                post.id, self.owner, exc.reason, retry if retry and retry < post.expires_at else None
            )
            return 0
        await store.finish_post(post.id, self.owner, "sent", self.app.clock.now(), late=late)
        return 1

    async def _intro(self, program: Program, post: Post, late: bool, now: datetime) -> str | None:
        """A buddy group's intro: one message in one group conversation where the channel port
        opens them (and every member is awake and not paused, within a day), else one DM each.
        Returns the post's status to record, or None when this already recorded it or handed it back."""
        store = self.app.store
        group = await store.get_group(intros.group_of(post.period))
        if group is None or len(group.user_ids) < 2:
            return "skipped"  # the round or a buddy is gone (data deleted): nobody to introduce
        port = self.channels.get(program.place.platform)
        refs = await store.user_refs(group.user_ids)
        together = isinstance(port, GroupPort) and all(
            refs.get(u) is not None and refs[u].platform == program.place.platform for u in group.user_ids
        )
        if together and isinstance(port, GroupPort):
            profiles = await store.get_profiles(group.user_ids)
            when = intros.common_time([profiles[u] for u in group.user_ids], now)
            if when is not None and when > now:
                await store.defer_post(post.id, self.owner, when)  # someone's quiet hours: not an attempt
                return None
            if when is not None:
                reply = intros.group_reply(self.app, program, group, refs, profiles, now)
                users, nonce = [refs[u] for u in group.user_ids], f"circle-{post.id}"
                try:
                    await port.post_group(program.place, users, reply, nonce)
                    return "sent"
                except DeliveryError as exc:
                    if not exc.permanent and post.attempts + 1 < MAX_ATTEMPTS:
                        raise  # retried with backoff, still as one group message
                    if not exc.permanent:  # a port cleans up after its own permanent refusals
                        await port.abandon_group(program.place, users, nonce)
                    log.warning("group intro %s cannot go out as one message (%s): one DM each", post.id, exc.reason)
        # one DM each, owed in the same transaction that records the post, so a restart or a
        # second instance never owes them twice
        async with store.transaction():
            if await store.finish_post(post.id, self.owner, "sent", self.app.clock.now(), late=late):
                for uid in group.user_ids:
                    await dm(store, uid, DmKind.INTRO, str(group.id), now)
        return None

    async def _channel(self, program: Program, post: Post, reply: Reply) -> None:
        port = self.channels.get(program.place.platform)
        if port is None:
            raise DeliveryError(f"no front end for platform '{program.place.platform}' is running")
        # the row id is the nonce: a post re-sent after a crash (same row) shows once where nonces count
        await port.post(program.place, reply, f"circle-{post.id}")

    async def _do(self, program: Program, post: Post, late: bool, now: datetime) -> None:
        store = self.app.store
        week = post.period
        if post.kind == PostKind.CHECKIN:
            await self._channel(program, post, checkin_post(program, week, late=late))
        elif post.kind == PostKind.DIGEST:
            await self._channel(program, post, await make_digest(store, program, week, late=late))
            await self._mentor_digests(program, week, now)
        elif post.kind == PostKind.REMINDER:
            done = {c.user_id for c in await store.checkins_for(program.id, [week])}
            for m in await store.members(program.id):
                if m.reminders and m.user_id not in done:
                    await dm(store, m.user_id, DmKind.REMINDER, f"{program.id}:{week}", now)
        elif post.kind == PostKind.PAIR_REMINDER:
            for m in eligible(await store.members(program.id), week):
                await dm(store, m.user_id, DmKind.PAIRING, f"{program.id}:{week}", now)
        elif post.kind == PostKind.ROUND:
            await run_round(self.app, program, week, now)
            await assign(store, program, now)
        elif post.kind in (PostKind.MEET_MID, PostKind.MEET_END):
            made = await store.round_for(program.id, week)
            stage = "mid" if post.kind == PostKind.MEET_MID else "end"
            for group in made.groups if made else ():
                for uid in group.user_ids:
                    if group.answers.get(uid) not in (MeetAnswer.YES, MeetAnswer.NO):
                        await dm(store, uid, DmKind.MEET, f"{group.id}:{stage}", now)

    async def _mentor_digests(self, program: Program, week: str, now: datetime) -> None:
        """Each mentor hears about each mentee on the mentee's playbook's mentor-update rhythm."""
        store = self.app.store
        members = {m.user_id: m for m in await store.members(program.id)}
        for match in await store.mentor_matches(program.id):
            mentee = members.get(match.mentee_user_id)
            if mentee is None:
                continue
            started = week_monday(program.local_week(match.started_at))
            weeks = (week_monday(week) - started).days // 7
            every = mentor_cadence_weeks(self.app, mentee.specialty, mentee.track)
            if weeks > 0 and weeks % every == 0:
                await dm(store, match.mentor_user_id, DmKind.MENTOR_DIGEST, f"{match.id}:{week}", now)
