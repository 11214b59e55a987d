"""Delivery under leases: several instances on one database, kills, drains, quiet hours at send time."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.models import Contact, ContactState, NudgeKind, UserRef
from bot.core.nudges import DeliveryError, NudgeEngine, Outcome
from bot.core.reply import Reply
from bot.runtime import build_app
from bot.scheduler import NudgeScheduler
from bot.settings import Settings
from bot.telemetry import PrometheusTelemetry
from tests.helpers import OPEN_APPS, START, RecordingPort, Transcript, make_app

CAIRO = '/profile set specialty:psych track:non-us-img timezone:Africa/Cairo name:"Dr Amal Hassan"'
LEASE = timedelta(seconds=60)
NUDGE_ID = re.compile(r"/nudges done (\d+)")


async def _app(url: str, clock: ManualClock) -> App:
    app = await build_app(Settings(database_url=url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(app)
    return app


# ------------------------------------------------------------------ quiet hours and pauses at send time


async def test_a_late_digest_after_a_restart_at_3am_waits_for_quiet_hours_to_end(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "q.db", clock)
    t = Transcript(app)
    await t.say(CAIRO)
    await t.say('/contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:2026-11-22')
    await app.store.close()

    clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # back up at 03:00 in Cairo, quiet until 08:00
    app = await make_app(tmp_path / "q.db", clock)
    port = RecordingPort()
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    await engine.recover()
    outcome = await engine.run_due()
    assert port.sent == [] and outcome.deferred == 1
    assert await app.store.next_delivery() == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 08:00 Cairo

    clock.set(datetime(2026, 11, 26, 6, 0, tzinfo=UTC))
    await engine.run_due()
    (sent,) = port.sent
    assert sent[1].title.startswith("🔔 Late nudges") and "Dr Maya Lee" in sent[1].plain_text()


async def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 25, 18, 59, tzinfo=UTC))  # 20:59 Cairo, quiet from 21:00
    app = await make_app(tmp_path / "r.db", clock)
    t = Transcript(app)
    await t.say(CAIRO)
    await t.say('/contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:today')
    (n,) = await app.store.open_nudges(1)
    await app.store.put_nudge(1, n.kind, n.ref, n.due_at, clock.now())  # due right now
    port = RecordingPort(fail_with=DeliveryError("HTTP 503"))
    await NudgeEngine(app, {"console": port}, rate=1000).run_due()
    (retry,) = await app.store.open_nudges(1)
    assert (retry.status, retry.attempts) == ("pending", 1)
    assert retry.deliver_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # not 21:01 Cairo


async def test_a_pause_set_after_planning_holds_back_the_digest(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "p.db", clock)
    t = Transcript(app)
    await t.say(CAIRO)
    await t.say('/contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:2026-11-22')
    uid = await app.store.ensure_user(t.front.user, START)
    # the pause is written straight to the profile, as a peer instance's command would leave it
    profile = await app.store.get_profile(uid)
    await app.store.save_profile(profile.with_(nudges_paused_until=datetime(2026, 12, 1, 8, tzinfo=UTC)), START)
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    port = RecordingPort()
    outcome = await NudgeEngine(app, {"console": port}, rate=1000).run_due()
    assert port.sent == [] and outcome.deferred == 1
    assert await app.store.next_delivery() == datetime(2026, 12, 1, 8, tzinfo=UTC)


# ------------------------------------------------------------------ several instances


@dataclass
class Platform:
    """One chat platform shared by every instance: it records what arrives and drops repeated nonces."""

    delay: float = 0.002
    arrivals: list[tuple[str, str, tuple[int, ...], datetime]] = field(default_factory=list)
    clock: ManualClock | None = None

    def port(self, name: str = "", stall_after: int | None = None) -> Port:
        return Port(self, name, stall_after=stall_after)


@dataclass
class Port:
    platform: Platform
    name: str = ""
    sent: int = 0
    stall_after: int | None = None  # after this many sends, every send hangs (until the instance is killed)

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        text = reply.plain_text() + " ".join(a.command for a in reply.actions)
        ids = tuple(sorted({int(i) for i in NUDGE_ID.findall(text)}))
        assert self.platform.clock is not None
        self.platform.arrivals.append((nonce, user.account, ids, self.platform.clock.now()))
        self.sent += 1
        if self.stall_after is not None and self.sent > self.stall_after:
            await asyncio.Event().wait()  # a hung connection: sent, but never recorded as sent
        await asyncio.sleep(self.platform.delay)  # a kill here: sent, but never recorded as sent


async def _seed(app: App, users: int, per_user: int) -> int:
    now = app.clock.now()
    store = app.store
    for u in range(users):
        uid = await store.ensure_user(UserRef("test", f"user-{u}"), now)
        async with store.transaction():
            for k in range(per_user):
                c = await store.add_contact(Contact(id=0, user_id=uid, number=0, name=f"Dr {u}-{k}"), now)
                await store.put_nudge(uid, NudgeKind.FOLLOWUP, str(c.id), now, now)
    return users * per_user


async def test_three_instances_deliver_5000_nudges_once_each_when_one_is_killed(pg_url: str) -> None:
    clock = ManualClock(START)
    apps = [await _app(pg_url, clock) for _ in range(3)]
    total = await _seed(apps[0], users=1000, per_user=5)
    platform = Platform(clock=clock)
    # the victim hangs after 20 sends, so it still holds claims when it is killed
    ports = [platform.port("i0"), platform.port("i1"), platform.port("i2", stall_after=20)]
    engines = [
        NudgeEngine(app, {"test": port}, instance=port.name, lease=LEASE, rate=100_000, batch=40)
        for app, port in zip(apps, ports, strict=True)
    ]
    victim = asyncio.create_task(engines[2].run_due())
    for _ in range(2000):  # the victim has claims and is delivering them (bounded: at most ~10 s)
        if ports[2].sent > 20 or victim.done():
            break
        await asyncio.sleep(0.005)
    # only then do its peers start: on a loaded machine they could otherwise claim everything first
    survivors = asyncio.gather(engines[0].run_due(), engines[1].run_due())
    for _ in range(2000):
        if ports[0].sent + ports[1].sent >= 20 or victim.done():
            break
        await asyncio.sleep(0.005)
    assert not victim.done() and ports[2].sent > 20
    victim.cancel()  # kill -9: no drain, no release; its claims stay leased to i2
    await asyncio.gather(victim, return_exceptions=True)
    killed_at = clock.now()
    await survivors

    stranded = await apps[0].store.db.all("SELECT digest FROM nudges WHERE status = 'sending'")
    assert stranded, "the kill should leave claims in flight"
    leased = await apps[0].store.db.all("SELECT DISTINCT lease_owner FROM nudges WHERE status = 'sending'")
    assert leased == [("i2",)]  # nobody touched a live lease
    assert (await engines[0].run_due()).delivered == 0  # still within the lease

    clock.advance(LEASE + timedelta(seconds=1))
    taken = await engines[0].run_due()
    assert taken.delivered == len(stranded)

    counts = await apps[0].store.nudge_counts()
    assert counts == {"sent": total}
    by_nonce = Counter(a[0] for a in platform.arrivals)
    nudge_nonces: dict[int, set[str]] = {}
    for nonce, _user, ids, _at in platform.arrivals:
        for i in ids:
            nudge_nonces.setdefault(i, set()).add(nonce)
    assert len(nudge_nonces) == total  # every nudge arrived
    assert all(len(n) == 1 for n in nudge_nonces.values())  # never in two different digests
    stranded_digests = {d for (d,) in stranded}
    for nonce, count in by_nonce.items():
        if count > 1:  # sent by the killed instance, then again by the peer that took it over
            assert count == 2 and nonce in stranded_digests
            times = [a[3] for a in platform.arrivals if a[0] == nonce]
            assert times[0] <= killed_at and times[1] >= killed_at + LEASE


async def test_draining_finishes_sends_in_flight_and_hands_back_the_rest(tmp_path: Path) -> None:
    clock = ManualClock(START)
    app = await make_app(tmp_path / "d.db", clock)
    await _seed(app, users=40, per_user=1)
    platform = Platform(delay=0.05, clock=clock)
    engine = NudgeEngine(app, {"test": platform.port()}, instance="a", rate=100_000, concurrency=4, batch=40)
    run = asyncio.create_task(engine.run_due())
    while len(platform.arrivals) < 4:
        await asyncio.sleep(0.005)
    handed_back = await engine.drain()
    outcome = await run
    counts = await app.store.nudge_counts()
    assert "sending" not in counts
    assert counts["sent"] == outcome.delivered == len(platform.arrivals)  # everything started was finished
    assert counts["pending"] == 40 - outcome.delivered and outcome.deferred + handed_back == counts["pending"]
    other = NudgeEngine(app, {"test": platform.port()}, instance="b", rate=100_000)
    await other.run_due()
    assert (await app.store.nudge_counts()) == {"sent": 40}
    assert len({a[0] for a in platform.arrivals}) == len(platform.arrivals) == 40


async def test_an_instance_hears_of_a_peers_new_work_long_before_its_heartbeat(pg_url: str) -> None:
    clock = ManualClock(START)
    writer, listener = await _app(pg_url, clock), await _app(pg_url, clock)
    platform = Platform(clock=clock)
    sched = NudgeScheduler(NudgeEngine(listener, {"test": platform.port()}, instance="b"), heartbeat_seconds=3600)
    await sched.start()
    try:
        await _seed(writer, users=1, per_user=1)  # a peer's command: due now, committed there
        for _ in range(100):
            if platform.arrivals:
                break
            await asyncio.sleep(0.05)
        assert len(platform.arrivals) == 1, "the LISTEN/NOTIFY wake-up did not come within 5 s"
    finally:
        await sched.shutdown()


# ------------------------------------------------------------------ batched reads and marks


@dataclass
class PickyPort:
    """Refuses one account (a closed DM), delivers the rest."""

    refuse: str
    sent: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        if user.account == self.refuse:
            raise DeliveryError("HTTP 503")
        text = reply.plain_text() + " ".join(a.command for a in reply.actions)
        self.sent.append((nonce, user.account, tuple(sorted({int(i) for i in NUDGE_ID.findall(text)}))))
        await asyncio.sleep(0)


async def test_a_claim_spanning_several_read_windows_is_delivered_and_recorded_digest_by_digest(db_url: str) -> None:
    """150 users' digests in one claim (over two read windows of 64): each user gets their own
    digest with their own contacts, a paused user's is held back, a stopped contact is skipped,
    a failed send is retried, and every other row ends 'sent' once the run returns."""
    clock = ManualClock(START)
    app = await _app(db_url, clock)
    store = app.store
    await _seed(app, users=150, per_user=2)
    uids = {u: await store.ensure_user(UserRef("test", f"user-{u}"), START) for u in range(150)}
    paused = await store.get_profile(uids[70])
    await store.save_profile(replace(paused, nudges_paused_until=START + timedelta(days=7)), START)
    (stopped, kept) = await store.all_contacts(uids[100])
    await store.update_contact(replace(stopped, state=ContactState.STOPPED))
    port = PickyPort(refuse="user-5")
    outcome = await NudgeEngine(app, {"test": port}, instance="a", rate=100_000, batch=500).run_due()

    assert outcome.delivered == 2 * 147 + 1 and outcome.skipped == 1
    assert outcome.deferred == 2 and outcome.failed == 2
    assert len(port.sent) == len({n for n, _, _ in port.sent}) == 148  # one digest per user served
    for _nonce, account, ids in port.sent:
        uid = uids[int(account.split("-")[1])]
        theirs = {n.id for n in await store.user_nudges(uid) if n.status == "sent"}
        assert set(ids) == theirs  # their own nudges, and all recorded as sent
    assert {a for _, a, _ in port.sent} == {f"user-{u}" for u in range(150)} - {"user-5", "user-70"}
    by_status: Counter[str] = Counter()
    for uid in uids.values():
        by_status.update(n.status for n in await store.user_nudges(uid))
    assert by_status == {"sent": 2 * 147 + 1, "skipped": 1, "pending": 4}
    (retry_a, retry_b) = await store.open_nudges(uids[5])
    assert retry_a.attempts == retry_b.attempts == 1 and retry_a.deliver_at > START
    assert {n.ref for n in await store.user_nudges(uids[100]) if n.status == "sent"} == {str(kept.id)}


# ------------------------------------------------------------------ a lease must outlast the send and its mark


@dataclass
class SlowPort:
    """A port whose every send takes ``cost`` on the injected clock, and which can let a peer run
    (``during``: its run_due) while send number ``at`` is in flight."""

    platform: Platform
    cost: timedelta
    during: NudgeEngine | None = None
    at: int = 0
    sent: int = 0
    peer_outcomes: list[Outcome] = field(default_factory=list)

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        assert self.platform.clock is not None
        self.sent += 1
        await self.platform.port("a").deliver(user, reply, nonce)
        self.platform.clock.advance(self.cost)
        if self.during is not None and self.sent == self.at:
            self.peer_outcomes.append(await self.during.run_due())


async def test_a_send_near_the_end_of_its_lease_renews_it_first_so_no_peer_takes_the_digest_over(db_url: str) -> None:
    """Sends of 25 s each against a 60 s lease, no background renewal (it waits on the real
    clock): the third send would finish past the lease, so the engine renews before it. A peer
    running during that send finds nothing to take over, not even the digests already sent
    whose marks still wait in the batch; each digest arrives once."""
    clock = ManualClock(START)
    a_app, b_app = await _app(db_url, clock), await _app(db_url, clock)
    await _seed(a_app, users=4, per_user=1)
    platform = Platform(clock=clock)
    peer = NudgeEngine(b_app, {"test": platform.port("b")}, instance="b", lease=LEASE, rate=100_000)
    port = SlowPort(platform, cost=timedelta(seconds=25), during=peer, at=3)
    engine = NudgeEngine(a_app, {"test": port}, instance="a", lease=LEASE, rate=100_000, concurrency=1)
    assert engine.lease_margin == timedelta(seconds=20)

    outcome = await engine.run_due()

    assert outcome.delivered == 4 and engine.held_back == 0 and engine.marks_lost == 0
    assert [o.delivered for o in port.peer_outcomes] == [0]
    nonces = Counter(a[0] for a in platform.arrivals)
    assert len(nonces) == 4 and set(nonces.values()) == {1}
    assert await a_app.store.nudge_counts() == {"sent": 4}


async def test_after_a_lapsed_lease_the_sender_stops_and_the_peer_sends_the_rest_once(db_url: str) -> None:
    """The first send takes longer than the whole lease, and a peer takes every digest over
    meanwhile. The first instance then sends nothing more (the peer has them), its sent mark
    finds the row gone and counts it, and every nudge ends sent under its own nonce; only the
    digest that was in flight at the lapse arrives twice, under one nonce."""
    clock = ManualClock(START)
    a_app, b_app = await _app(db_url, clock), await _app(db_url, clock)
    await _seed(a_app, users=4, per_user=1)
    platform = Platform(clock=clock)
    peer = NudgeEngine(b_app, {"test": platform.port("b")}, instance="b", lease=LEASE, rate=100_000)
    port = SlowPort(platform, cost=LEASE + timedelta(seconds=1), during=peer, at=1)
    engine = NudgeEngine(a_app, {"test": port}, instance="a", lease=LEASE, rate=100_000, concurrency=1)
    a_app.telemetry = metrics = PrometheusTelemetry("a")

    outcome = await engine.run_due()

    assert port.sent == 1 and outcome.delivered == 1 and outcome.deferred == 3
    assert engine.held_back == 3 and engine.marks_lost == 1
    scraped = metrics.render().decode()  # what /metrics shows
    assert 'imgbot_lease_guard_total{event="held_back"} 3.0' in scraped
    assert 'imgbot_lease_guard_total{event="mark_lost"} 1.0' in scraped
    assert [o.delivered for o in port.peer_outcomes] == [4]
    nonces = Counter(a[0] for a in platform.arrivals)
    assert len(nonces) == 4 and sorted(nonces.values()) == [1, 1, 1, 2]
    ids_by_nonce: dict[str, set[tuple[int, ...]]] = {}
    for nonce, _user, ids, _at in platform.arrivals:
        ids_by_nonce.setdefault(nonce, set()).add(ids)
    assert all(len(v) == 1 for v in ids_by_nonce.values())  # a re-send carries the same nudges
    assert await a_app.store.nudge_counts() == {"sent": 4}
    leased = await a_app.store.db.all("SELECT lease_owner, digest FROM nudges WHERE status <> 'sent'")
    assert leased == []


@dataclass
class TickingPort:
    """Each send moves the injected clock on by ``tick`` and takes ``pause`` of real time."""

    platform: Platform
    tick: timedelta
    pause: float

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        assert self.platform.clock is not None
        await self.platform.port("a").deliver(user, reply, nonce)
        self.platform.clock.advance(self.tick)
        await asyncio.sleep(self.pause)


async def test_a_peer_that_dies_mid_round_is_taken_over_during_the_round_not_after_it(db_url: str) -> None:
    """b claims three digests and dies; a is in the middle of a round of its own when b's lease
    runs out. a takes b's digests over then, beside its round (not at its next round), so they
    arrive before a's own last digest; every digest arrives once."""
    lease = timedelta(seconds=5)  # a look for expired claims every 0.25 s of real time
    clock = ManualClock(START)
    a_app, b_app = await _app(db_url, clock), await _app(db_url, clock)
    await _seed(a_app, users=23, per_user=1)
    dead = await b_app.store.claim_due("b", "tokB", START, START + lease, 3, ["test"])
    assert len({n.digest for n in dead}) == 3
    platform = Platform(clock=clock)
    port = TickingPort(platform, tick=timedelta(seconds=1), pause=0.06)
    engine = NudgeEngine(a_app, {"test": port}, instance="a", lease=lease, rate=100_000, concurrency=1)

    outcome = await engine.run_due()

    assert outcome.delivered == 23
    order = [a[0] for a in platform.arrivals]
    assert len(order) == len(set(order)) == 23
    positions = [order.index(n.digest or "") for n in dead]
    assert max(positions) < len(order) - 1, f"b's digests came only after a's round: {positions}"
    assert await a_app.store.nudge_counts() == {"sent": 23}
