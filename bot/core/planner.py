"""Decide what the bot owes a user and when: the rows of the nudges table.

The database holds every owed nudge with its due time and its delivery time
(due time moved out of quiet hours and past any pause). The scheduler only
asks the store for the earliest delivery time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.core.dates import add_months, after_quiet_hours, local_datetime, zone
from bot.core.models import Contact, ContactState, NudgeKind, Profile
from bot.core.playbooks.loader import PlaybookLibrary
from bot.core.ports import Store
from bot.core.timeline import KeyKind, PhaseState, dated_phases, key_dates

NUDGE_HOUR = time(9, 0)  # local wall time at which a day's nudges fall due
SUMMARY_HOUR = time(18, 0)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=zone("UTC"))


def deliver_time(profile: Profile, due_at: datetime, now: datetime) -> datetime:
    """When a nudge due at ``due_at`` may actually be sent."""
    tz = zone(profile.timezone)
    when = max(due_at, now)
    paused = profile.nudges_paused_until
    if paused is not None and paused > when:
        if paused >= FAR_FUTURE:
            return FAR_FUTURE
        when = paused
    return after_quiet_hours(when, tz, profile.quiet_start, profile.quiet_end)


def due_on(profile: Profile, day: date, at: time = NUDGE_HOUR) -> datetime:
    return local_datetime(day, at, zone(profile.timezone))


async def put(store: Store, profile: Profile, kind: str, ref: str, due_at: datetime, now: datetime) -> None:
    await store.put_nudge(profile.user_id, kind, ref, due_at, deliver_time(profile, due_at, now))


async def plan_followup(
    store: Store, profile: Profile, contact: Contact, now: datetime, *, keep_overdue: bool = False
) -> None:
    """Create or move the contact's follow-up nudge. ``keep_overdue`` still nudges one that is
    already due (re-planning, imports); otherwise the user's own command has just shown it."""
    ref = str(contact.id)
    if contact.state != ContactState.ACTIVE or contact.next_followup_on is None:
        await store.cancel_nudges(profile.user_id, NudgeKind.FOLLOWUP, ref)
        return
    due = due_on(profile, contact.next_followup_on)
    if due <= now and not keep_overdue:
        # Recomputed by the user's own command and already due: the command's reply
        # (and /followups) shows it, so a DM a second later would only repeat it.
        await store.cancel_nudges(profile.user_id, NudgeKind.FOLLOWUP, ref)
        return
    await put(store, profile, NudgeKind.FOLLOWUP, ref, due, now)


async def plan_phases(store: Store, library: PlaybookLibrary, profile: Profile, now: datetime) -> None:
    """A nudge at the start of each upcoming phase, and on each upcoming key date or task."""
    await store.cancel_nudges(profile.user_id, NudgeKind.PHASE)
    await store.cancel_nudges(profile.user_id, NudgeKind.MILESTONE)
    if not (profile.eras and profile.specialty and profile.track):
        return
    if profile.specialty not in library.ids:
        return
    view = library.get(profile.specialty).view(profile.track)
    today = now.astimezone(zone(profile.timezone)).date()
    for dp in dated_phases(view, profile.eras, today):
        if dp.state == PhaseState.UPCOMING:
            ref = f"{view.playbook.id}:{view.track}:{dp.phase.id}:{profile.eras}"
            await put(store, profile, NudgeKind.PHASE, ref, due_on(profile, dp.start), now)
    for k in key_dates(view, profile.eras, today):
        if k.kind == KeyKind.SUBMISSION:
            continue
        due = due_on(profile, k.on)
        if due > now:
            ref = f"{view.playbook.id}:{view.track}:{k.kind}:{k.id}:{profile.eras}"
            await put(store, profile, NudgeKind.MILESTONE, ref, due, now)


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


async def plan_goals(store: Store, profile: Profile, now: datetime) -> None:
    """Kickoff on the 1st, a mid-month check on the 15th, a summary on the last day."""
    uid = profile.user_id
    goals = await store.goals(uid)
    if not any(g.period == "month" and g.count > 0 for g in goals):
        for kind in (NudgeKind.GOAL_KICKOFF, NudgeKind.GOAL_MIDMONTH, NudgeKind.GOAL_SUMMARY):
            await store.cancel_nudges(uid, kind)
        return
    today = now.astimezone(zone(profile.timezone)).date()
    first = today.replace(day=1)
    nxt = add_months(first, 1)
    plan = [
        (NudgeKind.GOAL_KICKOFF, nxt, nxt, NUDGE_HOUR),
        (NudgeKind.GOAL_MIDMONTH, first, first.replace(day=15), time(12, 0)),
        (NudgeKind.GOAL_SUMMARY, first, nxt - timedelta(days=1), SUMMARY_HOUR),
    ]
    for kind, month, day, at in plan:
        due = due_on(profile, day, at)
        if due <= now:  # this month's is past: plan next month's
            month = add_months(month, 1)
            day = {
                NudgeKind.GOAL_MIDMONTH: month.replace(day=15),
                NudgeKind.GOAL_SUMMARY: add_months(month, 1) - timedelta(days=1),
            }.get(kind, month)
            due = due_on(profile, day, at)
        await store.cancel_nudges(uid, kind)
        await put(store, profile, kind, month_key(month), due, now)


async def retime(store: Store, profile: Profile, now: datetime) -> None:
    """Recompute delivery times after a change of time zone, quiet hours or pause."""
    pending = [n for n in await store.open_nudges(profile.user_id) if n.status == "pending"]
    await store.reschedule_user(profile.user_id, [(n.id, deliver_time(profile, n.due_at, now)) for n in pending])
