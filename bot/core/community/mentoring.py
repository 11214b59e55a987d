"""Peer mentors: offers with capacity, requests, and the assignment that joins them."""

from __future__ import annotations

from datetime import datetime

from bot.core.community.models import MentorMatch, Program
from bot.core.community.rounds import DmKind, dm
from bot.core.ports import Store


async def assign(store: Store, program: Program, now: datetime) -> list[MentorMatch]:
    """Match open requests to offers with room, and tell both sides (by DM)."""
    from bot.core.community.mentors import MentorOffer, MentorRequest, assign_mentors  # networkx, when used

    requests = await store.mentor_requests(program.id)
    offers = await store.mentor_offers(program.id)
    if not requests or not offers:
        return []
    members = {m.user_id: m for m in await store.members(program.id)}
    history = await store.mentor_matches(program.id, open_only=False)
    load: dict[int, int] = {}
    for m in history:
        if m.ended_at is None:
            load[m.mentor_user_id] = load.get(m.mentor_user_id, 0) + 1
    past: dict[int, set[int]] = {}
    for m in history:
        past.setdefault(m.mentee_user_id, set()).add(m.mentor_user_id)
    mentor_offers = [
        MentorOffer(o.user_id, o.capacity, load.get(o.user_id, 0), o.specialty, o.track, members[o.user_id].timezone)
        for o in offers
        if o.user_id in members
    ]
    mentor_requests = [
        MentorRequest(
            uid,
            members[uid].specialty,
            members[uid].track,
            members[uid].timezone,
            excluded=frozenset(past.get(uid, set())),
        )
        for uid in requests
        if uid in members
    ]
    made = []
    for mentee, mentor in sorted(assign_mentors(mentor_offers, mentor_requests).items()):
        match = await store.add_mentor_match(program.id, mentee, mentor, now)
        if match is None:
            continue
        await store.remove_mentor_request(program.id, mentee)
        await dm(store, mentee, DmKind.MENTOR, str(match.id), now)
        await dm(store, mentor, DmKind.MENTOR, str(match.id), now)
        made.append(match)
    return made
