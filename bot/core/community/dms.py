"""What each circle DM says, composed when it is sent (so it is current, or skipped if moot)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.community.checkins import counts_words
from bot.core.community.digest import scrub
from bot.core.community.intros import buddy_line, meet_buttons, meet_by, starters
from bot.core.community.models import DAYS, MeetAnswer, Program, Visibility, shift_week, week_monday, week_number
from bot.core.community.rounds import DmKind
from bot.core.context import App
from bot.core.dates import fmt_date, zone
from bot.core.hints import hint
from bot.core.models import Nudge, Profile
from bot.core.playbooks.schema import Situation
from bot.core.reply import ActionStyle, Reply

MENTOR_CADENCE_DAYS = 90  # when no playbook says otherwise


def _split(ref: str) -> tuple[int, str]:
    head, _, tail = ref.partition(":")
    return int(head), tail


async def _name(app: App, user_id: int) -> str:
    ref = await app.store.user_ref(user_id)
    return (ref.display_name or ref.account) if ref else "a former member"


async def compose(app: App, profile: Profile, n: Nudge, now: datetime) -> Reply | None:
    """One part of a DM digest for a circle nudge, or None when it no longer applies."""
    store = app.store
    uid = profile.user_id
    r = Reply(title="")
    if n.kind in (DmKind.REMINDER, DmKind.PAIRING, DmKind.UNPAIRED, DmKind.PAUSED):
        pid, week = _split(n.ref)
        program = await store.get_program(pid)
        member = await store.get_member(pid, uid) if program else None
        if program is None or member is None:
            return None
        return await _program_part(app, program, member.reminders, member.paused, n.kind, week, uid, now, r)
    if n.kind in (DmKind.INTRO, DmKind.MEET):
        gid = int(n.ref.split(":")[0])
        group = await store.get_group(gid)
        if group is None or uid not in group.user_ids:
            return None
        program = await store.get_program(group.program_id)
        if program is None:
            return None
        others = [u for u in group.user_ids if u != uid]
        names = [await _name(app, u) for u in others]
        if n.kind == DmKind.MEET:
            if group.answers.get(uid) in (MeetAnswer.YES, MeetAnswer.NO) or now > group.ends_at + timedelta(days=3):
                return None
            r.text(f"Did you meet {' and '.join(names)} this round?", heading=f"Buddy round in {program.channel_label}")
            meet_buttons(r, gid)
            return r
        if not others:
            return None  # the buddy left (deleted their data) before the intro went out
        buddies = await store.get_profiles(others)
        lines = [buddy_line(app, name, buddies[u], now) for u, name in zip(others, names, strict=True)]
        r.bullets(lines, heading=f"Your buddy {'trio' if len(others) > 1 else 'this round'} in {program.channel_label}")
        profiles = [(profile.specialty, profile.track)] + [(buddies[u].specialty, buddies[u].track) for u in others]
        r.bullets(starters(app, profiles, gid), heading="Three things to talk about")
        r.text(f"Find half an hour before {meet_by(program, group)}. Say hello by DM.")
        meet_buttons(r, gid)
        return r
    if n.kind in (DmKind.MENTOR, DmKind.MENTOR_DIGEST):
        return await _mentor_part(app, profile, n, r)
    return None


async def _program_part(
    app: App,
    program: Program,
    reminders: bool,
    paused: bool,
    kind: str,
    week: str,
    uid: int,
    now: datetime,
    r: Reply,
) -> Reply | None:
    store = app.store
    where = program.channel_label
    if kind == DmKind.REMINDER:
        closes = program.closes_at(week)
        done = await store.checkins_for(program.id, [week])
        if program.paused or not reminders or now >= closes or any(c.user_id == uid for c in done):
            return None
        local = closes.astimezone(zone(program.timezone))
        r.text(
            f"Your week in {where} closes {DAYS[local.weekday()].title()} {local:%H:%M} ({program.timezone}). "
            "Your tracker's counts are ready to confirm.",
            heading="Check-in reminder",
        )
        r.action(
            f"circle:checkin:{program.id}",
            "Log my week",
            f"/circle checkin program:{program.id}",
            ActionStyle.PRIMARY,
            form=True,
        )
        r.text(f"No more of these: {hint(f'circle reminders off program:{program.id}')}")
        return r
    if kind == DmKind.PAIRING:
        if program.paused or paused:
            return None
        r.text(f"A buddy round starts in {where} in about a day.", heading="Buddy round tomorrow")
        r.action(f"circle:skip:{program.id}", "Skip this round", f"/circle skip program:{program.id}")
        return r
    if kind == DmKind.UNPAIRED:
        r.text(
            "Nobody was left to pair you with this round (an odd number, or everyone's recent buddies). "
            "You are in the next one.",
            heading=f"No buddy this round in {where}",
        )
        return r
    r.text(
        f'You did not answer "did you meet?" for three rounds, so buddy pairing is paused for you in {where}. '
        f"Come back any time with {hint('circle join')} in that channel.",
        heading="Buddy pairing paused",
    )
    return r


async def _mentor_part(app: App, profile: Profile, n: Nudge, r: Reply) -> Reply | None:
    store = app.store
    uid = profile.user_id
    match_id = int(n.ref.split(":")[0])
    data = await store.user_circle_data(uid)
    match = next((m for m in data.mentor_matches if m.id == match_id), None)
    if match is None or match.ended_at is not None:
        return None
    program = await store.get_program(match.program_id)
    if program is None:
        return None
    if n.kind == DmKind.MENTOR:
        if match.mentee_user_id == uid:
            r.text(
                f"Your mentor in {program.channel_label} is {await _name(app, match.mentor_user_id)}. "
                "Say hello by DM and agree how often to talk.",
                heading="You have a mentor",
            )
        else:
            r.text(
                f"{await _name(app, match.mentee_user_id)} in {program.channel_label} is your new mentee. "
                "Say hello by DM.",
                heading="You have a new mentee",
            )
        r.text(f"Either of you can end it with {hint('mentor end')}.")
        return r
    # the mentor's digest: what the mentee chose to share, since the last one
    if match.mentor_user_id != uid:
        return None
    mentee = await store.get_member(program.id, match.mentee_user_id)
    if mentee is None or mentee.visibility == Visibility.NONE:
        return None
    week = n.ref.split(":")[1]
    weeks = [shift_week(week, -i) for i in range(13)]
    rows = [c for c in await store.checkins_for(program.id, weeks) if c.user_id == mentee.user_id]
    name = await _name(app, mentee.user_id)
    # a win as the channel shows it: the mentee's contacts' names and emails become "a contact"
    secrets = (await store.contact_secrets([mentee.user_id])).get(mentee.user_id, [])
    lines = [
        f"Week {week_number(c.week)}: {counts_words(c.counts)}"
        + (f". Win: {scrub(c.win, secrets)}" if c.win and mentee.visibility == Visibility.WINS else "")
        for c in rows
    ]
    r.bullets(lines or ["no check-ins lately"], heading=f"{name}'s check-ins since {fmt_date(week_monday(weeks[-1]))}")
    r.text(f"A good moment to check in with {name}.")
    return r


def mentor_cadence_weeks(app: App, specialty: str | None, track: str | None) -> int:
    days = MENTOR_CADENCE_DAYS
    if specialty and specialty in app.playbooks.ids:
        cadence = app.playbooks.get(specialty).view(track or "non-us-img").cadence(Situation.MENTOR_UPDATE)
        if cadence is not None:
            days = cadence.after_days
    return max(1, round(days / 7))
