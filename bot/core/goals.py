"""Outreach goals: counting logged interactions against weekly and monthly targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from bot.core.dates import add_months, local_datetime, zone
from bot.core.models import GoalTarget, InteractionType, Profile
from bot.core.playbooks.schema import GoalMetric, Period
from bot.core.ports import Store

EMAIL_KINDS = (InteractionType.EMAILED, InteractionType.UPDATE_SENT, InteractionType.THANKED)
CONVERSATION_KINDS = (InteractionType.MET, InteractionType.CALL, InteractionType.MEETING)


def period_bounds(period: str, today: date) -> tuple[date, date]:
    if period == Period.WEEK:
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    start = today.replace(day=1)
    return start, add_months(start, 1)


async def count(store: Store, profile: Profile, metric: str, start: date, end: date) -> int:
    uid = profile.user_id
    if metric == GoalMetric.EMAILS:
        return await store.count_interactions(uid, EMAIL_KINDS, start, end)
    if metric == GoalMetric.CONVERSATIONS:
        return await store.count_interactions(uid, CONVERSATION_KINDS, start, end)
    if metric == GoalMetric.FOLLOW_UPS:
        return await store.count_followups(uid, start, end)
    tz = zone(profile.timezone)
    return await store.count_new_contacts(
        uid, local_datetime(start, time(0, 0), tz), local_datetime(end, time(0, 0), tz)
    )


@dataclass(frozen=True)
class Progress:
    goal: GoalTarget
    done: int
    start: date
    end: date

    @property
    def ratio(self) -> float:
        return min(1.0, self.done / self.goal.count) if self.goal.count else 1.0

    def bar(self, width: int = 10) -> str:
        filled = round(self.ratio * width)
        return "█" * filled + "░" * (width - filled)

    def expected_by(self, today: date) -> float:
        span = (self.end - self.start).days
        elapsed = (today - self.start).days + 1
        return self.goal.count * min(1.0, elapsed / span)


async def progress(store: Store, profile: Profile, today: date, period: str | None = None) -> list[Progress]:
    out = []
    for g in await store.goals(profile.user_id):
        if period and g.period != period:
            continue
        start, end = period_bounds(g.period, today)
        out.append(Progress(g, await count(store, profile, g.metric, start, end), start, end))
    return out
