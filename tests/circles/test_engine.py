"""What programs owe, run by the engine: once per program and period, through restarts, several
instances and downtime; DMs as nudges (quiet hours apply); pairing rounds and "did you meet?"."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.nudges import NudgeEngine
from bot.runtime import build_app
from bot.settings import Settings
from tests.circles.helpers import ChannelRecorder, engine, member
from tests.helpers import OPEN_APPS, START, RecordingPort

MONDAY_POST = START.replace(hour=18, minute=0)  # Mon 23 Nov 2026 18:00 UTC
FRIDAY_CLOSE = START.replace(day=27, hour=18, minute=0)


async def _app(url: str, clock: ManualClock) -> App:
    app = await build_app(Settings(database_url=url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(app)
    return app


async def _setup(app: App, members: int = 3, pairing: str = "off") -> None:
    out = await member(app, "root", admin=True).say(f"/circle setup timezone:UTC pairing:{pairing}")
    assert "Circle started" in out, out
    for i in range(members):
        await member(app, f"m{i}").say("/circle join")


def _pairs(keys: tuple[int, ...]) -> list[tuple[int, int]]:
    return [(x, y) for i, x in enumerate(keys) for y in keys[i + 1 :]]


def kinds(port: ChannelRecorder) -> list[str]:
    return [r.title for _, r, _ in port.posts]


async def test_each_post_runs_once_across_restarts_and_instances(db_url: str) -> None:
    clock = ManualClock(START)
    app = await _app(db_url, clock)
    await _setup(app)
    port = ChannelRecorder()
    first = engine(app, port, "a")
    assert await first.run_due() == 0  # nothing due on Monday morning
    assert await first.next_due() == MONDAY_POST

    clock.set(MONDAY_POST)
    # two instances on one database, at the same moment (and a second app: another process)
    other = await _app(db_url, clock)
    results = await asyncio.gather(first.run_due(), engine(other, port, "b").run_due())
    assert sum(results) == 1
    assert kinds(port) == ["Week 48 check-in"]
    # a restart: a new engine (same database) posts nothing again
    assert await engine(await _app(db_url, clock), port, "a").run_due() == 0
    assert len(port.posts) == 1
    assert port.posts[0][0].channel == "accountability"
    assert [a.label for a in port.posts[0][1].actions] == ["Log my week"]


async def test_a_dead_instances_claim_is_taken_over_after_its_lease(db_url: str) -> None:
    clock = ManualClock(MONDAY_POST)
    app = await _app(db_url, clock)
    await _setup(app)
    await engine(app, ChannelRecorder()).plan()
    # instance "dead" claims the post and dies before posting it
    claimed = await app.store.claim_posts("dead", clock.now(), clock.now() + timedelta(seconds=60), 10, ["console"])
    assert [p.kind for p in claimed] == ["checkin"]
    port = ChannelRecorder()
    alive = engine(app, port, "alive")
    assert await alive.run_due() == 0  # its lease still runs
    clock.advance(timedelta(seconds=61))
    assert await alive.run_due() == 1
    assert kinds(port) == ["Week 48 check-in"]
    assert not await app.store.finish_post(claimed[0].id, "dead", "sent", clock.now(), late=False)


async def test_after_downtime_a_closed_window_is_skipped_and_the_digest_goes_out_late(db_url: str) -> None:
    clock = ManualClock(START)
    app = await _app(db_url, clock)
    await _setup(app)
    await member(app, "m0").say("/circle checkin emails:2")
    await engine(app, ChannelRecorder()).plan()  # the bot owed the week, then went down over it
    clock.set(FRIDAY_CLOSE + timedelta(hours=20))  # back on Saturday afternoon
    port = ChannelRecorder()
    restarted = engine(await _app(db_url, clock), port)
    await restarted.run_due()
    assert kinds(port) == ["(late: the bot was offline) Week 48 digest: 1 of 3 checked in"]
    posts = {p.kind: p for p in await app.store.posts_of(1) if p.period == "2026-W48"}
    assert posts["checkin"].status == "skipped" and posts["reminder"].status == "skipped"
    assert posts["digest"].status == "sent" and posts["digest"].late
    assert await restarted.run_due() == 0 and len(port.posts) == 1


async def test_reminders_are_dms_to_who_has_not_checked_in_and_wait_for_quiet_hours(
    app: App, clock: ManualClock
) -> None:
    await _setup(app, members=0)
    m0, m1, m2 = member(app, "m0"), member(app, "m1"), member(app, "m2")
    await m0.say("/profile set timezone:Asia/Tokyo quiet_hours:21:00-08:00")  # 18:00 UTC Thu = 03:00 Fri there
    for m in (m0, m1, m2):
        await m.say("/circle join")
    await m1.say("/circle checkin")
    await m2.say("/circle reminders off")
    circles = engine(app, ChannelRecorder())
    clock.set(FRIDAY_CLOSE - timedelta(days=1))
    await circles.run_due()
    dms = RecordingPort()
    nudges = NudgeEngine(app, {"console": dms}, rate=1000)
    await nudges.run_due()
    assert dms.sent == []  # m0 is asleep in Tokyo; m1 checked in; m2 said no
    clock.set(FRIDAY_CLOSE - timedelta(hours=10))  # 08:00 Friday in Tokyo
    await nudges.run_due()
    assert [u.account for u, _, _ in dms.sent] == ["m0"]
    text = dms.sent[0][1].plain_text()
    assert "Check-in reminder" in text and "closes Friday 18:00 (UTC)" in text
    assert "[Log my week] /circle checkin program:1" in text
    # once the window closes an undelivered reminder is dropped, not sent late
    await m2.say("/circle reminders on")
    await m2.say("/nudges pause")
    clock.set(FRIDAY_CLOSE + timedelta(minutes=1))
    await nudges.run_due()
    assert len(dms.sent) == 1


async def test_a_pairing_round_intros_did_you_meet_and_three_ignored_rounds_pause(app: App, clock: ManualClock) -> None:
    await _setup(app, members=0, pairing="every-week")
    names = [f"p{i}" for i in range(5)]
    for n in names:
        await member(app, n).say(f"/profile set specialty:em track:non-us-img timezone:UTC name:{n}")
        await member(app, n).say("/circle join")
    circles = engine(app, ChannelRecorder())
    dms = RecordingPort()
    nudges = NudgeEngine(app, {"console": dms}, rate=1000)
    clock.set(MONDAY_POST)  # week 48: the first round, five members: a pair and a trio
    await circles.run_due()
    first = await app.store.round_for(1, "2026-W48")
    assert first is not None and sorted(len(g.user_ids) for g in first.groups) == [2, 3]
    await nudges.run_due()
    assert sorted(u.account for u, _, _ in dms.sent) == names
    intro = dms.sent[0][1].plain_text()
    assert "Three things to talk about" in intro and "[Yes] /circle met" in intro
    assert "[Not yet]" in intro and "[No]" in intro

    clock.set(MONDAY_POST + timedelta(days=6))  # Sunday: the next round is a day away
    await circles.run_due()
    await nudges.run_due()
    reminders = [(u.account, r.plain_text()) for u, r, _ in dms.sent[5:]]
    assert sorted(a for a, _ in reminders) == names
    assert all("[Skip this round] /circle skip program:1" in t for _, t in reminders)
    await member(app, "p4").say("/circle skip")

    clock.set(MONDAY_POST + timedelta(weeks=1))
    await circles.run_due()
    made = await app.store.round_for(1, "2026-W49")
    assert made is not None and made.groups
    met_before = {frozenset(p) for g in first.groups for p in _pairs(g.user_ids)}
    assert not any(frozenset(p) in met_before for g in made.groups for p in _pairs(g.user_ids))  # no repeats
    skipper = await app.store.ensure_user(member(app, "p4").front.user, clock.now())
    paired = {u for g in made.groups for u in g.user_ids}
    assert skipper not in paired
    sent_before = len(dms.sent)
    await nudges.run_due()
    unpaired = [u.account for u, r, _ in dms.sent[sent_before:] if "No buddy this round" in r.plain_text()]
    assert len(unpaired) == 4 - len(paired)  # everyone left out is told

    # Yes logs a meeting in both trackers where the buddy is already a contact, and offers to add them
    g = made.groups[0]
    a, b = [await app.store.user_ref(u) for u in g.user_ids]
    assert a is not None and b is not None
    await member(app, b.account).say(f'/contact add "{a.display_name}" role:peer')
    out = await member(app, a.account).say(f"/circle met {g.id} yes")
    assert f"you met {b.display_name}" in out and f"[Add {b.display_name} as a contact] /contact add" in out
    b_uid = await app.store.ensure_user(b, clock.now())
    assert [i.kind for i in await app.store.user_interactions(b_uid)] == ["meeting"]

    # rounds nobody answers: after three, the silent are paused and told how to come back
    for week in (2, 3):
        clock.set(MONDAY_POST + timedelta(weeks=week))
        await circles.run_due()
        await nudges.run_due()
    members = {m.account: m for m in await app.store.members(1)}
    paused = sorted(n for n, m in members.items() if m.paused)
    assert paused and a.account not in paused, {n: m.missed_rounds for n, m in members.items()}
    told = [r.plain_text() for u, r, _ in dms.sent if u.account == paused[0]]
    assert any("buddy pairing is paused for you" in t and "/circle join" in t for t in told)


async def test_mentors_are_matched_and_get_a_digest_on_the_playbooks_mentor_update_cadence(
    app: App, clock: ManualClock
) -> None:
    await _setup(app, members=0)
    mentor, mentee, quiet = member(app, "maya"), member(app, "amal"), member(app, "zed")
    await mentee.say("/profile set specialty:psych track:non-us-img")
    for m in (mentor, mentee, quiet):
        await m.say("/circle join show:wins" if m is mentee else "/circle join")
    assert "you offer to mentor up to 1" in await mentor.say("/mentor offer senior capacity:1")
    assert "Matched: your mentor is maya" in await mentee.say("/mentor request")
    assert "Asked" in await quiet.say("/mentor request")  # no room left: waits
    assert "Your mentee: amal" in await mentor.say("/mentor list")
    circles, dms = engine(app, ChannelRecorder()), RecordingPort()
    nudges = NudgeEngine(app, {"console": dms}, rate=1000)
    await nudges.run_due()
    assert {u.account for u, _, _ in dms.sent} == {"maya", "amal"}  # both told of the match
    # the shipped psychiatry playbook updates mentors every 90 days: the 13th week's digest brings it
    for week in range(14):
        clock.set(FRIDAY_CLOSE + timedelta(weeks=week, minutes=1))
        if week in (0, 12):
            await mentee.say('/circle checkin emails:4 win:"poster accepted" blocker:"visa wait"')
        await circles.run_due()
        await nudges.run_due()
    digests = [(u.account, r.plain_text()) for u, r, _ in dms.sent if "check-ins since" in r.plain_text()]
    assert [who for who, _ in digests] == ["maya"]  # one digest, to the mentor, in 14 weeks
    text = digests[0][1]
    assert "amal's check-ins since" in text and "4 emails" in text and "Win: poster accepted" in text
    assert "visa wait" not in text  # blockers are never shared
    # the mentee ends it and may ask again; the same mentor is not offered twice
    assert "Match ended" in await mentee.say("/mentor end")
    assert "Matched: your mentor is maya" not in await mentee.say("/mentor request")


async def test_status_says_what_is_owed_next_in_words(app: App, clock: ManualClock) -> None:
    await _setup(app, pairing="every-2-weeks")
    out = await member(app, "root", admin=True).say("/circle status")
    nxt = out.split("Next", 1)[1]
    assert "Mon 23 Nov 2026 18:00: check-in post, week 48" in nxt and "digest, week 48" in nxt
    assert "(2026-W" not in nxt and "meet-" not in nxt and "pair-reminder" not in nxt  # no kinds or ISO codes
