"""Buddy pairing rounds: who is paired, with whom, and what each member is told (by DM)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core import planner
from bot.core.community import intros
from bot.core.community.models import Member, PostKind, Program, Round
from bot.core.community.schedule import round_bounds
from bot.core.context import App
from bot.core.ports import Store

MISSES_BEFORE_PAUSE = 3


class DmKind:
    """The nudge kinds circles send as DMs (quiet hours and pauses apply when sent)."""

    REMINDER = "circle-reminder"  # ref: program:week
    PAIRING = "circle-pairing"  # ref: program:week
    INTRO = "circle-intro"  # ref: group (one DM each, where the group cannot share one conversation)
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


def misses(last: Round | None, members: dict[int, Member]) -> dict[int, int]:
    """Members of the last round who never answered "did you meet?" missed it (their new count);
    anyone who answered starts again from zero."""
    out: dict[int, int] = {}
    for group in last.groups if last else ():
        for uid in group.user_ids:
            m = members.get(uid)
            if m is None or m.paused:
                continue
            out[uid] = 0 if group.answers.get(uid) is not None else m.missed_rounds + 1
    return out


async def record_misses(store: Store, program: Program, counts: dict[int, int], week: str, now: datetime) -> None:
    """Store the new counts; three misses in a row pauses a member, who is told how to come back."""
    for uid, missed in counts.items():
        member = await store.get_member(program.id, uid)
        if member is None:
            continue
        paused = missed >= MISSES_BEFORE_PAUSE
        await store.update_member(member.with_(missed_rounds=missed, paused=paused or member.paused))
        if paused and not member.paused:
            await dm(store, uid, DmKind.PAUSED, f"{program.id}:{week}", now)


async def run_round(app: App, program: Program, week: str, now: datetime) -> Round | None:
    """Pair the program's members for the round starting in ``week``; None if it already has one."""
    # networkx is imported when a circle first pairs, not at every start-up
    from bot.core.community.pairing import Affinity as PairAffinity
    from bot.core.community.pairing import Candidate, PairingPolicy, pair_members

    store = app.store
    if await store.round_for(program.id, week) is not None:
        return None
    policy = PairingPolicy(affinity=PairAffinity(program.affinity))
    recent = await store.recent_rounds(program.id, max(policy.recency_rounds, 1) + 3)
    everyone = await store.members(program.id)
    counts = misses(recent[0] if recent else None, {m.user_id: m for m in everyone})
    # a third missed round pauses a member from this round on
    members = [m for m in eligible(everyone, week) if counts.get(m.user_id, 0) < MISSES_BEFORE_PAUSE]
    candidates = [Candidate(m.user_id, m.specialty, m.track, m.timezone) for m in members]
    history = [[frozenset(g.user_ids) for g in r.groups] for r in recent]
    blocked = {frozenset(b) for b in await store.blocks(program.id)}
    result = pair_members(candidates, history=history, blocked=blocked, policy=policy, when=now)
    start, end = round_bounds(program, week)
    start = max(start, now)  # a round run by hand, or late, starts when it is made
    # the round and what it owes are written together: a crash in between cannot lose an intro
    async with store.transaction():
        made = await store.create_round(program.id, week, start, end, [list(g) for g in result.groups], now)
        if made is None:
            return None  # another instance (or an admin's pair-now) made it first; misses are theirs to count
        # each group's intro: one private conversation (a Slack group DM, a Discord thread), else a DM
        # each (bot.core.community.intros)
        for group in made.groups:
            await store.add_post(program.id, PostKind.INTRO, intros.period(week, group.id), now, end)
        # "did you meet?" halfway and at the end (already owed for a scheduled round; a round run
        # by hand owes them here)
        await store.add_post(program.id, PostKind.MEET_MID, week, start + (end - start) / 2, end)
        await store.add_post(program.id, PostKind.MEET_END, week, end - timedelta(hours=1), end + timedelta(days=3))
    await record_misses(store, program, counts, week, now)
    for uid in result.unpaired:
        await dm(store, uid, DmKind.UNPAIRED, f"{program.id}:{week}", now)
    return made
