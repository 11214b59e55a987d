"""Buddy pairing rounds: who is paired, with whom, and what each member is told (by DM)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core import planner
from bot.core.community.models import Member, PostKind, Program, Round
from bot.core.community.pairing import Affinity as PairAffinity
from bot.core.community.pairing import Candidate, PairingPolicy, pair_members
from bot.core.community.schedule import round_bounds
from bot.core.context import App
from bot.core.ports import Store

MISSES_BEFORE_PAUSE = 3


class DmKind:
    """The nudge kinds circles send as DMs (quiet hours and pauses apply when sent)."""

    REMINDER = "circle-reminder"  # ref: program:week
    PAIRING = "circle-pairing"  # ref: program:week
    INTRO = "circle-intro"  # ref: group
    UNPAIRED = "circle-unpaired"  # ref: program:week
    MEET = "circle-meet"  # ref: group:mid|end
    PAUSED = "circle-paused"  # ref: program:week
    MENTOR = "circle-mentor"  # ref: match
    MENTOR_DIGEST = "circle-mentor-digest"  # ref: match:week

    ALL = (REMINDER, PAIRING, INTRO, UNPAIRED, MEET, PAUSED, MENTOR, MENTOR_DIGEST)


async def dm(store: Store, user_id: int, kind: str, ref: str, now: datetime) -> None:
    """Owe ``user_id`` a circle DM now: it waits out their quiet hours and any pause."""
    profile = await store.get_profile(user_id)
    await planner.put(store, profile, kind, ref, now, now)


def eligible(members: list[Member], week: str) -> list[Member]:
    return [m for m in members if not m.paused and m.skip_period != week]


async def count_misses(app: App, program: Program, last: Round | None, week: str, now: datetime) -> None:
    """Members of the last round who never answered "did you meet?" missed it; three in a row
    pauses them (and tells them how to come back). Anyone who answered starts again from zero."""
    if last is None:
        return
    store = app.store
    for group in last.groups:
        for uid in group.user_ids:
            member = await store.get_member(program.id, uid)
            if member is None or member.paused:
                continue
            if group.answers.get(uid) is not None:
                await store.update_member(member.with_(missed_rounds=0))
                continue
            missed = member.missed_rounds + 1
            await store.update_member(member.with_(missed_rounds=missed, paused=missed >= MISSES_BEFORE_PAUSE))
            if missed >= MISSES_BEFORE_PAUSE:
                await dm(store, uid, DmKind.PAUSED, f"{program.id}:{week}", now)


async def run_round(app: App, program: Program, week: str, now: datetime) -> Round | None:
    """Pair the program's members for the round starting in ``week``; None if it already has one."""
    store = app.store
    if await store.round_for(program.id, week) is not None:
        return None
    policy = PairingPolicy(affinity=PairAffinity(program.affinity))
    recent = await store.recent_rounds(program.id, max(policy.recency_rounds, 1) + 3)
    await count_misses(app, program, recent[0] if recent else None, week, now)
    members = eligible(await store.members(program.id), week)
    candidates = [Candidate(m.user_id, m.specialty, m.track, m.timezone) for m in members]
    history = [[frozenset(g.user_ids) for g in r.groups] for r in recent]
    blocked = {frozenset(b) for b in await store.blocks(program.id)}
    result = pair_members(candidates, history=history, blocked=blocked, policy=policy, when=now)
    start, end = round_bounds(program, week)
    start = max(start, now)  # a round run by hand, or late, starts when it is made
    made = await store.create_round(program.id, week, start, end, [list(g) for g in result.groups], now)
    if made is None:
        return None
    # "did you meet?" halfway and at the end (already owed for a scheduled round; a round run
    # by hand owes them here)
    await store.add_post(program.id, PostKind.MEET_MID, week, start + (end - start) / 2, end)
    await store.add_post(program.id, PostKind.MEET_END, week, end - timedelta(hours=1), end + timedelta(days=3))
    for group in made.groups:
        for uid in group.user_ids:
            await dm(store, uid, DmKind.INTRO, str(group.id), now)
    for uid in result.unpaired:
        await dm(store, uid, DmKind.UNPAIRED, f"{program.id}:{week}", now)
    return made
