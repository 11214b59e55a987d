"""A buddy group's intro: one message to the whole group where the channel port has group DMs
(Slack), at a moment outside every member's quiet hours; else one DM each (Discord, the console,
members who cannot share one conversation). Either way once, through restarts and two instances."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.community.engine import BACKOFF, MAX_ATTEMPTS
from bot.core.community.intros import common_time, starters
from bot.core.context import App
from bot.core.models import Profile, UserRef
from bot.core.nudges import DeliveryError, NudgeEngine
from bot.runtime import build_app
from bot.settings import Settings
from tests.circles.helpers import ChannelRecorder, GroupRecorder, engine, member
from tests.helpers import OPEN_APPS, START, RecordingPort, make_app


async def _circle(app: App, names: tuple[str, ...] = ("amal", "ben")) -> None:
    assert "Circle started" in await member(app, "root", admin=True).say("/circle setup timezone:UTC")
    for n in names:
        await member(app, n).say(f"/profile set specialty:em track:non-us-img name:{n}")
        await member(app, n).say("/circle join")
    await member(app, "amal").say('/contact add "Dr Maya Lee" role:attending email:maya@example.org')


async def _pair(app: App) -> None:
    assert "Round made: 1 pair(s)" in await member(app, "root", admin=True).say("/circle pair-now")


def _intro_dms(dms: RecordingPort) -> list[tuple[str, str]]:
    return [(u.account, r.plain_text()) for u, r, _ in dms.sent if "Your buddy" in r.plain_text()]


async def test_one_group_message_once_across_two_instances_and_a_restart(db_url: str) -> None:
    clock = ManualClock(START)
    app = await build_app(Settings(database_url=db_url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(app)
    other = await build_app(Settings(database_url=db_url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(other)
    await _circle(app)
    await _pair(app)
    port = GroupRecorder()
    await asyncio.gather(engine(app, port, "a").run_due(), engine(other, port, "b").run_due())
    assert len(port.groups) == 1
    place, users, reply, _ = port.groups[0]
    assert place.channel == "accountability" and sorted(u.account for u in users) == ["amal", "ben"]
    text = reply.plain_text()
    assert "Your buddy pair this round in #accountability" in text
    assert "amal (Emergency Medicine · non-US-citizen IMG)" in text  # in words, never "em · non-us-img"
    assert "ben (Emergency Medicine · non-US-citizen IMG)" in text and "Maya" not in text and "maya@" not in text
    assert text.count("Three things to talk about") == 1
    assert "Find half an hour before Monday 7 Dec." in text, text  # a date as every reply writes it, not "07 Dec"
    assert [a.label for a in reply.actions] == ["Yes", "Not yet", "No"]
    # a restart (a new app on the same database) sends nothing again, and nobody is owed a DM of their own
    again = await build_app(Settings(database_url=db_url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(again)
    assert await engine(again, port, "c").run_due() == 0 and len(port.groups) == 1
    dms = RecordingPort()
    await NudgeEngine(again, {"console": dms}, rate=1000).run_due()
    assert _intro_dms(dms) == []
    intros = [p for p in await app.store.posts_of(1) if p.kind == "intro"]
    assert [(p.status, p.period.startswith("2026-W48:")) for p in intros] == [("sent", True)]


async def test_a_group_intro_waits_for_a_moment_when_everyone_is_awake(app: App, clock: ManualClock) -> None:
    await _circle(app)
    await member(app, "ben").say("/profile set timezone:Asia/Tokyo")  # awake 23:00-12:00 UTC
    clock.set(START.replace(hour=14))  # 23:00 in Tokyo: ben is asleep; then amal (UTC) is, from 21:00
    await _pair(app)
    port = GroupRecorder()
    circles = engine(app, port)
    assert await circles.run_due() == 0 and port.groups == []
    tuesday_8 = START.replace(day=24, hour=8)  # 08:00 UTC, 17:00 in Tokyo: both awake
    intro = next(p for p in await app.store.posts_of(1) if p.kind == "intro")
    assert intro.due_at == tuesday_8 and intro.status == "pending"
    clock.set(tuesday_8 - timedelta(minutes=1))
    await circles.run_due()  # (Monday's check-in post went out meanwhile)
    assert port.groups == []
    clock.set(tuesday_8)
    assert await circles.run_due() == 1 and len(port.groups) == 1
    intro = next(p for p in await app.store.posts_of(1) if p.kind == "intro")
    assert intro.attempts == 0  # waiting for quiet hours to end is not a failed attempt


async def test_a_paused_member_or_a_refusing_platform_gets_one_dm_each(app: App, clock: ManualClock) -> None:
    await _circle(app)
    await member(app, "ben").say("/nudges pause")  # until he resumes: no moment is good for both
    await _pair(app)
    port = GroupRecorder()
    await engine(app, port).run_due()
    assert port.groups == []
    dms = RecordingPort()
    nudges = NudgeEngine(app, {"console": dms}, rate=1000)
    await nudges.run_due()
    sent = _intro_dms(dms)
    assert [who for who, _ in sent] == ["amal"]  # ben's waits for his pause, like any nudge
    assert (
        "ben (Emergency Medicine · non-US-citizen IMG)" in sent[0][1]
        and "Say hello by DM" in sent[0][1]
        and "Maya" not in sent[0][1]
    )
    await member(app, "ben").say("/nudges resume")
    await nudges.run_due()
    assert [who for who, _ in _intro_dms(dms)] == ["amal", "ben"]
    assert await engine(app, port, "b").run_due() == 0  # the row is done: no second round of DMs
    await nudges.run_due()
    assert len(_intro_dms(dms)) == 2


async def test_a_platform_refusing_the_group_for_good_falls_back_to_dms(app: App, clock: ManualClock) -> None:
    await _circle(app)
    await _pair(app)
    port = GroupRecorder(fail_with=DeliveryError("Slack refused the channel post (missing_scope)", permanent=True))
    await engine(app, port).run_due()
    dms = RecordingPort()
    await NudgeEngine(app, {"console": dms}, rate=1000).run_due()
    assert sorted(who for who, _ in _intro_dms(dms)) == ["amal", "ben"]
    assert port.abandoned == []  # a port cleans up after its own refusal for good
    # a passing failure is retried as one group message, with backoff
    await member(app, "cy").say("/circle join")
    await member(app, "dee").say("/circle join")
    clock.advance(timedelta(weeks=1))
    port.fail_with = DeliveryError("Slack answered fatal_error")
    assert "Round made" in await member(app, "root", admin=True).say("/circle pair-now")
    await engine(app, port).run_due()
    port.fail_with = None
    clock.advance(timedelta(minutes=3))
    await engine(app, port).run_due()
    assert len(port.groups) == 2 and all(len(users) == 2 for _, users, _, _ in port.groups)


async def test_an_intro_failing_until_its_last_attempt_is_abandoned_as_one_message_and_dmd(
    app: App, clock: ManualClock
) -> None:
    await _circle(app)
    await _pair(app)
    port = GroupRecorder(fail_with=DeliveryError("Discord answered 503"))
    for _ in range(MAX_ATTEMPTS):
        await engine(app, port).run_due()
        clock.advance(BACKOFF * 2**MAX_ATTEMPTS)
    (intro,) = [p for p in await app.store.posts_of(1) if p.kind == "intro"]
    assert intro.status == "sent" and port.abandoned == [f"circle-{intro.id}"]  # told once, with its nonce
    dms = RecordingPort()
    await NudgeEngine(app, {"console": dms}, rate=1000).run_due()
    assert sorted(who for who, _ in _intro_dms(dms)) == ["amal", "ben"]


async def test_members_on_another_platform_cannot_share_a_group_dm(app: App, clock: ManualClock) -> None:
    """Members join from the program's channel, so they share its platform; a row that says
    otherwise (a store edited by hand, a future linked account) still gets everyone an intro."""
    await _circle(app, ("amal",))
    now = clock.now()
    stranger = await app.store.ensure_user(UserRef("discord", "4242", "zoe"), now)
    await app.store.join_program(1, stranger, "counts", True, now)
    await _pair(app)
    port = GroupRecorder()
    await engine(app, port).run_due()
    assert port.groups == []
    dms = RecordingPort()
    await NudgeEngine(app, {"console": dms, "discord": dms}, rate=1000).run_due()
    assert sorted((u.platform, u.account) for u, r, _ in dms.sent if "Your buddy" in r.plain_text()) == [
        ("console", "amal"),
        ("discord", "4242"),
    ]


async def test_on_a_port_without_group_dms_each_member_gets_an_intro_dm(app: App, clock: ManualClock) -> None:
    await _circle(app)
    await _pair(app)
    await engine(app, ChannelRecorder()).run_due()
    dms = RecordingPort()
    await NudgeEngine(app, {"console": dms}, rate=1000).run_due()
    sent = dict(_intro_dms(dms))
    assert sorted(sent) == ["amal", "ben"] and "amal (Emergency Medicine · non-US-citizen IMG)" in sent["ben"]


def test_common_time_is_none_when_quiet_hours_never_overlap() -> None:
    from datetime import time

    day = Profile(user_id=1, timezone="UTC", quiet_start=time(11, 0), quiet_end=time(23, 0))  # awake 23-11
    night = Profile(user_id=2, timezone="UTC", quiet_start=time(22, 0), quiet_end=time(12, 0))  # awake 12-22
    assert common_time([day, night], START) is None
    assert common_time([day], START) == START  # 10:00
    assert common_time([night, Profile(user_id=3)], START) == START.replace(hour=12)


async def test_starters_speak_to_a_trio_as_any_of_you(tmp_path: Path) -> None:
    app = await make_app(tmp_path / "db.sqlite")
    em = ("em", "non-us-img")
    pair = [s for seed in range(40) for s in starters(app, [em, em], seed) if s.startswith("Have ")]
    trio = [s for seed in range(40) for s in starters(app, [em, em, em], seed) if s.startswith("Have ")]
    assert pair and all(s.startswith("Have either of you fallen") for s in pair)
    assert trio and all(s.startswith("Have any of you fallen") for s in trio)
