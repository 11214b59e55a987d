"""Delivering what is owed: one digest per user, claimed under a lease, through a front-end port.

Several instances may share one database. Each claims due rows with a status-guarded
statement that gives them an owner, a lease expiry and a digest id; the digest id is
passed to the platform as the message nonce. A claim is renewed while its sends are in
flight, and a dead instance's claims are taken over by a peer once their lease expires and
sent again with the same digest id, so a platform that deduplicates nonces shows them once.
Quiet hours and pauses are applied again at the moment of sending, for fresh work, retries
and taken-over work alike.

A lease must outlast the send and the sent mark. The engine knows until when its claims are
surely its own (the lease it wrote, moved on by each renewal that finished in time); a digest
is handed to the port only with at least ``lease_margin`` of that left, after renewing at once
if need be. Once a renewal is late (it finished after the lease it renewed had run out) a peer
may already have taken some digests over, so nothing more of that round is sent: fresh digests
are handed back, taken-over ones left to run out. Sent marks waiting in a batch are written at
once when the lease nears its end, and every step after a claim is guarded by the owner, so a
sender that lost its rows changes nothing and counts the marks that found their rows gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core import conferences, planner
from bot.core import goals as goals_mod
from bot.core.community.dms import compose as compose_circle
from bot.core.context import App
from bot.core.dates import add_months, fmt_date, zone
from bot.core.errors import StorageError
from bot.core.hints import hint
from bot.core.models import Contact, ContactState, Nudge, NudgeKind, Profile, UserRef
from bot.core.playbooks.schema import count_of, metric_words, situation_words
from bot.core.ports import DeliveryError, DeliveryPort, RecoveringPort
from bot.core.registry import month_to_date
from bot.core.reply import ActionStyle, Reply, Tone
from bot.core.scripts import render_script, script_values
from bot.core.timeline import KeyKind, nudged_key_date, nudged_phase
from bot.core.tracker import cadence_view
from bot.core.wording import shorten

__all__ = ["DeliveryError", "DeliveryPort", "NudgeEngine", "Outcome", "Pacer"]

log = logging.getLogger(__name__)

CLAIM_RETRIES = 5
CIRCLE_PREFIX = "circle-"  # circle DMs (bot.core.community.rounds.DmKind), composed by bot.core.community.dms
GOAL_KINDS = (NudgeKind.GOAL_KICKOFF, NudgeKind.GOAL_SUMMARY, NudgeKind.GOAL_MIDMONTH)


class Pacer:
    """Spaces sends to at most ``rate`` per second across all users."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = _time.monotonic()
            slot = max(now, self._next)
            while slot > now:
                await asyncio.sleep(slot - now)
                now = _time.monotonic()
                slot = max(slot, self._next)  # a hold() while asleep moves the slot out
            self._next = slot + self.interval

    def hold(self, seconds: float) -> None:
        """Start nothing for ``seconds`` (the platform asked: a 429's Retry-After)."""
        self._next = max(self._next, _time.monotonic() + seconds)


@dataclass(frozen=True)
class Outcome:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # claimed, then handed back: quiet hours, a pause, or shutting down

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.deferred + other.deferred,
        )


# Digests whose user, profile and contacts are read together, ahead of their sends, and whose
# "sent" marks are written together: a few statements per window instead of several per digest.
WINDOW = 64


class RoundData:
    """What the digests of one claim need from the store, read a window at a time.

    A window is read when the sends reach it, and the next one is read in the background once
    they are half-way through it, so sends seldom wait for a read and the profile that decides
    quiet hours and pauses is at most about a window old when its digest is sent."""

    def __init__(self, app: App, groups: Sequence[list[Nudge]], window: int = WINDOW, owner: str | None = None) -> None:
        self.store = app.store
        self.groups = groups
        self.window = window
        self.owner = owner  # sent marks apply only to rows this instance still holds
        self.marks_lost = 0  # delivered digests whose rows were gone when their mark was written
        self.users: dict[int, UserRef] = {}
        self.profiles: dict[int, Profile] = {}
        self.contacts: dict[int, Contact] = {}
        self._reads: dict[int, asyncio.Task[None]] = {}
        self._sent: list[tuple[str, datetime]] = []
        self._writes: list[asyncio.Task[None]] = []

    async def load(self, index: int) -> None:
        """Make sure group ``index`` has been read (its window, and maybe the next, in the background)."""
        w = index // self.window
        if index % self.window >= self.window // 2 and (w + 1) * self.window < len(self.groups):
            self._read(w + 1)
        # shielded: a read is shared by every send of its window, so one send cancelled must not cancel it
        await asyncio.shield(self._read(w))

    def _read(self, w: int) -> asyncio.Task[None]:
        task = self._reads.get(w)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(w))
            self._reads[w] = task
        return task

    async def _fetch(self, w: int) -> None:
        window = self.groups[w * self.window : (w + 1) * self.window]
        users = sorted({ns[0].user_id for ns in window})
        contact_ids = sorted(
            {int(n.ref) for ns in window for n in ns if n.kind == NudgeKind.FOLLOWUP and n.ref.isdigit()}
        )
        refs, profiles, contacts = await asyncio.gather(
            self.store.user_refs(users), self.store.get_profiles(users), self.store.contacts_by_ids(contact_ids)
        )
        self.users.update(refs)
        self.profiles.update(profiles)
        self.contacts.update(contacts)

    async def close(self) -> None:
        """End reads nobody waits for any more (a round cut short)."""
        for task in self._reads.values():
            task.cancel()
        for task in self._reads.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def sent(self, digest: str, at: datetime, *, now: bool = False) -> None:
        """Record a delivered digest: once a window's worth waits (or at once with ``now``: the
        lease nears its end), they are written together in the background (in order, one
        statement each time), so no send waits for the write."""
        self._sent.append((digest, at))
        if now or len(self._sent) >= self.window:
            self._write()

    def _write(self) -> None:
        batch, self._sent = self._sent, []
        before = self._writes[-1] if self._writes else None

        async def write() -> None:
            if before is not None:
                await asyncio.wait([before])  # in order; its own failure is reported by flush()
            marked = await self.store.mark_sent_many(batch, owner=self.owner)
            gone = len({d for d, _ in batch} - marked)
            if gone:
                self.marks_lost += gone
                log.warning(
                    "%d delivered digest(s) found their rows gone when marked sent (re-planned meanwhile, or taken"
                    " over by a peer after this instance's lease ran out: the peer sends them under the same nonce)",
                    gone,
                )

        self._writes.append(asyncio.get_running_loop().create_task(write()))

    async def flush(self) -> None:
        """Write what is still waiting and wait for every write; raises the first that failed
        (its digests stay claimed, and go again under the same nonce once their lease runs out)."""
        if self._sent:
            self._write()
        writes, self._writes = self._writes, []
        results = await asyncio.gather(*writes, return_exceptions=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res


SNOOZES = (("1d", 1), ("3d", 3), ("1w", 7))
FULL_FOLLOWUPS = 3  # follow-ups per digest shown with their script and buttons


def by_digest(nudges: Sequence[Nudge]) -> list[tuple[str, list[Nudge]]]:
    groups: dict[str, list[Nudge]] = {}
    for n in nudges:
        groups.setdefault(n.digest or f"orphan-{n.id}", []).append(n)
    return list(groups.items())


class NudgeEngine:
    def __init__(
        self,
        app: App,
        ports: dict[str, DeliveryPort],
        *,
        instance: str = "local",
        lease: timedelta = timedelta(seconds=60),
        rate: float = 20.0,
        concurrency: int = 8,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(minutes=2),
        batch: int = 500,
        account: str | None = None,
        lease_margin: timedelta | None = None,
    ) -> None:
        self.app = app
        self.ports = ports
        # Serve only this account (on the ports' platforms): a console session delivers to its own
        # user, never to another person sharing the database.
        self.account = account
        self.owner = instance
        self.lease = lease
        # a digest goes to the port only with this much of its lease left (the send and its mark)
        self.lease_margin = lease / 3 if lease_margin is None else lease_margin
        self._held_until: datetime | None = None  # this round's claims are surely ours until then
        self._lapsed = False  # a renewal came too late: this round's claims may be a peer's now
        self._renewing = asyncio.Lock()
        self.held_back = 0  # digests not sent because their lease might not outlast the send
        self.marks_lost = 0  # delivered digests whose rows a peer had taken when they were marked sent
        self.pacer = Pacer(rate)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.batch = batch
        # whole seconds, as SQLite keeps due times: a nudge owed in the second the bot started (a
        # console session's first command, say) did not fall due while the bot was offline
        self.started_at = app.clock.now().replace(microsecond=0)
        self.last_run: datetime | None = None
        self._running = asyncio.Lock()
        self._stopping = False

    @property
    def platforms(self) -> list[str]:
        return sorted(self.ports)

    # ------------------------------------------------------------------ public
    async def recover(self) -> Outcome:
        """At start: send again what this instance had claimed before it stopped, and any
        expired claim of a peer, each with its original digest id."""
        async with self._running:
            return await self._round(own=True, fresh=False) or Outcome()

    async def run_due(self) -> Outcome:
        """Deliver everything due now (and any expired claim), one digest per user."""
        async with self._running:
            total = Outcome()
            misses = 0
            while not self._stopping:
                progress = await self._round(own=False, fresh=True)
                self.last_run = self.app.clock.now()
                if progress is not None:
                    total += progress
                    misses = 0
                    continue
                # Nothing claimed. With peers claiming at the same moment, a claim can come back
                # empty while work is still due (the users it picked were just taken): look again
                # a few times with a fresh snapshot before leaving the rest to the next wake-up.
                due = await self.app.store.next_delivery(self.platforms, self.account)
                if due is None or due > self.app.clock.now() or misses >= CLAIM_RETRIES:
                    return total
                misses += 1
                await asyncio.sleep(0.02 * misses)
            return total

    async def drain(self) -> int:
        """Stop claiming, let sends in flight finish, hand back what was not sent. Returns
        the number of rows handed back."""
        self._stopping = True
        async with self._running:
            return await self.app.store.release_owner(self.owner)

    # ------------------------------------------------------------------ internals
    async def _round(self, *, own: bool, fresh: bool) -> Outcome | None:
        store = self.app.store
        now = self.app.clock.now()
        until = now + self.lease
        # Cheap indexed reads first: most rounds find nothing, and a claim is a write.
        taken: list[Nudge] = []
        expiry = None if own else await store.next_lease_expiry(self.platforms, self.account)
        if own or (expiry is not None and expiry < now):
            taken = await store.take_over(
                self.owner, now, until, self.batch, self.platforms, own=own, account=self.account
            )
        if taken:
            self.app.telemetry.lease_takeover(len(taken))
            log.info("took over %d claimed nudge(s) whose lease had run out", len(taken))
        claimed: list[Nudge] = []
        due = await store.next_delivery(self.platforms, self.account) if fresh else None
        if due is not None and due <= now:
            token = secrets.token_hex(6)
            claimed = await store.claim_due(self.owner, token, now, until, self.batch, self.platforms, self.account)
        groups = [(d, ns, True) for d, ns in by_digest(taken)] + [(d, ns, False) for d, ns in by_digest(claimed)]
        if not groups:
            return None
        self._held_until, self._lapsed = until, False
        data = RoundData(self.app, [ns for _, ns, _ in groups], owner=self.owner)
        sem = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        renewer = loop.create_task(self._renew())
        round_over = asyncio.Event()
        watcher = loop.create_task(self._watch_peers(round_over)) if fresh else None
        total = Outcome()
        try:
            results = await asyncio.gather(
                *(self._limited(sem, d, ns, rec, data, k) for k, (d, ns, rec) in enumerate(groups))
            )
        finally:
            round_over.set()
            try:
                if watcher is not None:
                    total += await watcher  # a take-over it started is sent, and recorded, first
                await data.close()
                await data.flush()  # what was delivered is recorded, even if a send raised
            finally:
                renewer.cancel()
                self._marks_lost(data.marks_lost)
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        for res in results:
            total += res
        return total

    async def _watch_peers(self, round_over: asyncio.Event) -> Outcome:
        """While a round sends, take over a peer's claims as soon as their lease runs out (a peer
        that died meanwhile), rather than at the next round, seconds later: a cheap indexed read
        every ``lease / 20`` (0.25 s to 1 s), a take-over only when a lease has run out."""
        poll = max(0.25, min(1.0, self.lease.total_seconds() / 20))
        total = Outcome()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(round_over.wait(), poll)
            if round_over.is_set() or self._stopping:
                return total
            try:
                expiry = await self.app.store.next_lease_expiry(self.platforms, self.account)
                if expiry is not None and expiry < self.app.clock.now():
                    total += await self._take_over_now()
            except StorageError as exc:  # the next look, or the next round, tries again
                log.warning("could not take over expired claims during a round: %s", exc.message)

    async def _take_over_now(self) -> Outcome:
        """Take over expired claims and send them, beside the round under way (its own sends
        in flight; the pacer still spaces every send)."""
        now = self.app.clock.now()
        taken = await self.app.store.take_over(
            self.owner, now, now + self.lease, self.batch, self.platforms, account=self.account
        )
        if not taken:
            return Outcome()
        self.app.telemetry.lease_takeover(len(taken))
        log.info("took over %d claimed nudge(s) whose lease had run out, during a round", len(taken))
        groups = by_digest(taken)
        data = RoundData(self.app, [ns for _, ns in groups], owner=self.owner)
        sem = asyncio.Semaphore(self.concurrency)
        try:
            results = await asyncio.gather(
                *(self._limited(sem, d, ns, True, data, k) for k, (d, ns) in enumerate(groups))
            )
        finally:
            try:
                await data.close()
                await data.flush()
            finally:
                self._marks_lost(data.marks_lost)
        total = Outcome()
        for res in results:
            total += res
        return total

    def _marks_lost(self, count: int) -> None:
        self.marks_lost += count
        self.app.telemetry.lease_guard("mark_lost", count)

    async def _renew(self) -> None:
        """Keep this instance's claims alive while their sends are in flight."""
        every = max(1.0, self.lease.total_seconds() / 3)
        pause = every
        while True:
            await asyncio.sleep(pause)
            try:
                async with self._renewing:
                    await self._renew_once()
                pause = every
            except Exception:  # sends stop before the lease runs out (_lease_holds); try again soon
                log.warning("could not renew delivery leases", exc_info=True)
                pause = max(0.25, every / 4)

    async def _renew_once(self) -> None:
        """Renew every claim of this instance (call with ``_renewing`` held)."""
        start = self.app.clock.now()
        before = self._held_until
        await self.app.store.renew_leases(self.owner, start + self.lease)
        if before is not None and self.app.clock.now() >= before:
            # it finished after the lease it renewed had run out: a peer may have taken rows meanwhile
            if not self._lapsed:
                log.warning("a lease renewal came after the lease had run out; this round sends nothing more")
            self._lapsed = True
        elif not self._lapsed:
            self._held_until = start + self.lease

    async def _lease_holds(self) -> bool:
        """Whether a digest may go to the port now: its lease must outlast the send and its mark
        by ``lease_margin``, renewed at once if need be. False once it may have lapsed."""
        held = self._held_until
        if held is None or (not self._lapsed and held - self.app.clock.now() >= self.lease_margin):
            return True
        async with self._renewing:
            now = self.app.clock.now()
            if self._lapsed or self._held_until is None or self._held_until <= now:
                self._lapsed = True
                return False
            if self._held_until - now < self.lease_margin:
                try:
                    await self._renew_once()
                except StorageError as exc:
                    log.warning("could not renew delivery leases before a send: %s", exc.message)
                    return False
            return not self._lapsed and self._held_until > self.app.clock.now()

    async def _limited(
        self, sem: asyncio.Semaphore, digest: str, nudges: list[Nudge], recovering: bool, data: RoundData, index: int
    ) -> Outcome:
        async with sem:
            if not self._stopping:
                await data.load(index)
            return await self._deliver(digest, nudges, recovering, data)

    async def _deliver(
        self, digest: str, nudges: list[Nudge], recovering: bool, data: RoundData | None = None
    ) -> Outcome:
        """Send one digest. With ``data`` (a round's batched reads and marks) the user, profile and
        contacts come from it and the "sent" mark is written with others; without, one by one."""
        store = self.app.store
        user_id = nudges[0].user_id
        now = self.app.clock.now()
        if self._stopping:  # shutting down: not started, so hand it back untouched
            await store.release(digest, now, owner=self.owner)
            return Outcome(deferred=len(nudges))
        user = data.users.get(user_id) if data is not None else await store.user_ref(user_id)
        if user is None:  # the user deleted their data meanwhile; the rows went with it
            return Outcome()
        profile = data.profiles[user_id] if data is not None else await store.get_profile(user_id)
        # Quiet hours and pauses, as they are now: a late, retried or taken-over digest waits too.
        when = planner.deliver_time(profile, now, now)
        if when > now:
            await store.release(digest, when, owner=self.owner)
            self.app.telemetry.delivered("deferred", len(nudges))
            return Outcome(deferred=len(nudges))
        contacts = data.contacts if data is not None else None
        reply, keep, skip = await self._compose(profile, nudges, now, recovering=recovering, contacts=contacts)
        if skip:
            await store.mark_skipped(digest, [n.id for n in skip], now, owner=self.owner)
            self.app.telemetry.delivered("skipped", len(skip))
        if not keep:
            await planner.plan_goals(store, profile, now)
            return Outcome(skipped=len(skip))
        port = self.ports.get(user.platform)
        try:
            if port is None:
                raise DeliveryError(f"no front end for platform '{user.platform}' is running")
            await self.pacer.wait()
            if not await self._lease_holds():
                # not sent: it might not be ours by the time it is marked. Fresh work goes back to
                # be claimed again; a taken-over digest (maybe sent by a dead peer) keeps its nonce
                # and is taken over again once its lease runs out
                self.held_back += 1
                self.app.telemetry.lease_guard("held_back", 1)
                if not recovering:
                    await store.release(digest, self.app.clock.now(), owner=self.owner)
                self.app.telemetry.delivered("deferred", len(keep))
                return Outcome(deferred=len(keep), skipped=len(skip))
            try:
                # a taken-over digest may have gone out just before its sender died
                if not (recovering and isinstance(port, RecoveringPort) and await port.sent_before(user, digest)):
                    await port.deliver(user, reply, digest)
            except DeliveryError:
                raise
            except Exception as exc:  # a front-end bug must not leave rows stuck in 'sending'
                log.exception("delivery port raised unexpectedly for user %s", user_id)
                raise DeliveryError(f"unexpected error: {type(exc).__name__}") from exc
        except DeliveryError as exc:
            await self._failed(profile, keep, digest, exc, reply)
            return Outcome(failed=len(keep), skipped=len(skip))
        sent_at = self.app.clock.now()
        goals = any(n.kind in GOAL_KINDS for n in keep)
        if data is None or goals:
            # goal nudges: marked before the next ones are planned
            await store.mark_sent(digest, sent_at, owner=self.owner)
        else:
            near_end = self._held_until is not None and self._held_until - sent_at < self.lease_margin
            data.sent(digest, sent_at, now=near_end or self._lapsed)
        self.app.telemetry.delivered("sent", len(keep))
        self.app.telemetry.delivery_lag(max(0.0, (sent_at - min(n.deliver_at for n in keep)).total_seconds()))
        if goals:
            await planner.plan_goals(store, profile, sent_at)
        return Outcome(delivered=len(keep), skipped=len(skip))

    async def _failed(
        self, profile: Profile, nudges: list[Nudge], digest: str, exc: DeliveryError, reply: Reply
    ) -> None:
        store = self.app.store
        attempts = max(n.attempts for n in nudges) + 1
        now = self.app.clock.now()
        give_up = exc.permanent or attempts >= self.max_attempts
        log.warning("nudge delivery to user %s failed (attempt %s): %s", profile.user_id, attempts, exc.reason)
        if give_up:
            async with store.transaction():
                await store.mark_retry(digest, exc.reason, None, owner=self.owner)
                lines = [f"I could not send you {len(nudges)} nudge(s) ({exc.reason})."]
                if exc.user_hint:
                    lines.append(exc.user_hint)
                lines.append(f"What I had for you: {reply.title}. Run {hint('followups')} and {hint('goal progress')}.")
                await store.add_notice(profile.user_id, " ".join(lines), now)
                if any(n.kind in GOAL_KINDS for n in nudges):
                    # as after a delivery: plan the next period's goal nudges, or none would ever come again
                    await planner.plan_goals(store, profile, now)
            self.app.telemetry.delivered("failed", len(nudges))
        else:
            # the retry, too, waits out quiet hours and pauses
            retry_at = planner.deliver_time(profile, now + self.backoff * (2 ** (attempts - 1)), now)
            await store.mark_retry(digest, exc.reason, retry_at, owner=self.owner)
            self.app.telemetry.delivered("retry", len(nudges))

    async def _compose(
        self,
        profile: Profile,
        nudges: list[Nudge],
        now: datetime,
        recovering: bool = False,
        contacts: dict[int, Contact] | None = None,
    ) -> tuple[Reply, list[Nudge], list[Nudge]]:
        """Build one digest; returns (reply, nudges it covers, nudges to skip silently).

        ``contacts``, when given, holds the follow-ups' contacts already read (by id)."""
        late = [n for n in nudges if n.due_at < self.started_at]  # fell due while the bot was offline
        keep: list[Nudge] = []
        skip: list[Nudge] = []
        sections: list[Reply] = []
        tz = zone(profile.timezone)
        today = now.astimezone(tz).date()
        full = 0
        for n in nudges:
            part: Reply | None
            if n.kind == NudgeKind.FOLLOWUP:
                part = await self._followup_part(profile, n, today, compact=full >= FULL_FOLLOWUPS, contacts=contacts)
                full += part is not None
            elif n.kind == NudgeKind.PHASE:
                part = self._phase_part(profile, n, today)
            elif n.kind == NudgeKind.MILESTONE:
                part = self._milestone_part(n, today)
            elif n.kind == NudgeKind.CONFERENCE:
                part = await self._conference_part(profile, n)
            elif n.kind.startswith(CIRCLE_PREFIX):
                part = await compose_circle(self.app, profile, n, now)
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
        reply.footer = f"Pause nudges with {hint('nudges pause')} · see them all with {hint('nudges list')}"
        return reply, keep, skip

    async def _followup_part(
        self, profile: Profile, n: Nudge, today: date, compact: bool, contacts: dict[int, Contact] | None = None
    ) -> Reply | None:
        contact: Contact | None
        if contacts is None:
            contact = await self.app.store.get_contact(profile.user_id, int(n.ref))
        else:
            contact = contacts.get(int(n.ref)) if n.ref.isdigit() else None
        if contact is None or contact.user_id != profile.user_id or contact.state != ContactState.ACTIVE:
            return None
        view = cadence_view(self.app.playbooks, profile, contact)
        r = Reply(title="")
        why = f" ({situation_words(contact.followup_situation)})" if contact.followup_situation else ""
        due = f" {fmt_date(contact.next_followup_on)}" if contact.next_followup_on else ""
        head = f"{contact.ref} {contact.name}: follow-up due{due}{why}"
        if compact:
            # a long digest carries full scripts for the first few only
            cmd = (
                hint(f"script {contact.followup_script} contact:{contact.ref}") + " · "
                if contact.followup_script
                else ""
            )
            r.text(f"{cmd}{hint(f'nudges done {n.id}')} · {hint(f'nudges snooze {n.id} 3d')}", heading=head)
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
        r.action(
            f"nudge:done:{n.id}", f"Done: {shorten(contact.name, 40)}", f"/nudges done {n.id}", ActionStyle.PRIMARY
        )
        for label, _days in SNOOZES:
            r.action(f"nudge:snooze-{label}:{n.id}", f"Snooze {label}", f"/nudges snooze {n.id} {label}")
        r.action(f"nudge:stop:{n.id}", "Stop for this contact", f"/nudges stop {n.id}", ActionStyle.DANGER)
        return r

    def _phase_part(self, profile: Profile, n: Nudge, today: date) -> Reply | None:
        dp = nudged_phase(self.app.playbooks, n.ref, today)
        if dp is None:
            return None
        r = Reply(title="")
        r.bullets(
            [self.app.registry.mark_commands(item) for item in dp.checklist],
            heading=f"New phase: {dp.phase.title} ({fmt_date(dp.start)} → {fmt_date(dp.end)})",
        )
        return r

    async def _conference_part(self, profile: Profile, n: Nudge) -> Reply | None:
        plan_id, _, _step = n.ref.partition(":")
        if not plan_id.isdigit():
            return None
        plan = await self.app.store.get_conference_plan(profile.user_id, int(plan_id))
        if plan is None:  # cancelled meanwhile
            return None
        rules = conferences.rules_for(self.app.playbooks, plan)
        step = conferences.step_for(plan, rules, n.ref) if rules else None
        if step is None:
            return None
        met = await conferences.met_there(self.app.store, plan) if step.what == conferences.AFTER else []
        return conferences.step_reply(self.app.playbooks, profile, plan, step, met)

    def _milestone_part(self, n: Nudge, today: date) -> Reply | None:
        """A key date or a task dated from one, looked up again so a playbook edit shows."""
        k = nudged_key_date(self.app.playbooks, n.ref, today)
        if k is None:
            return None
        r = Reply(title="")
        if k.kind == KeyKind.TASK:
            r.text(self.app.registry.mark_commands(k.text), heading=f"To do now: {k.when}")
        else:
            r.text(f"{fmt_date(k.on)}: {k.text} ({k.when}).", heading="Key date of your application cycle")
        return r

    async def _goal_part(self, profile: Profile, n: Nudge, today: date, force: bool) -> Reply | None:
        """Goal nudges speak about the month in their ref, even when delivered later."""
        store = self.app.store
        month = month_to_date(n.ref)
        r = Reply(title="")
        if n.kind == NudgeKind.GOAL_KICKOFF:
            prev = await goals_mod.progress(store, profile, add_months(month, -1), "month")
            lines = [f"{metric_words(p.goal.metric)}: {p.done}/{p.goal.count}" for p in prev if p.goal.count]
            r.bullets(lines or ["no monthly goals last month"], heading="New month, new targets. Last month:")
            cur = [p for p in await goals_mod.progress(store, profile, month, "month") if p.goal.count]
            r.text("This month: " + ", ".join(count_of(p.goal.metric, p.goal.count) for p in cur))
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
                [f"{metric_words(p.goal.metric)}: {p.bar()} {p.done}/{p.goal.count}" for p in behind or rows],
                heading=f"Halfway through {label}, and {pace}",
            )
            if behind:
                r.text(f"Two short emails today closes most of the gap. {hint('script cold-email')} has one ready.")
            return r
        r.bullets(
            [f"{metric_words(p.goal.metric)}: {p.bar()} {p.done}/{p.goal.count}" for p in rows],
            heading=f"Month-end summary for {label}",
        )
        return r
