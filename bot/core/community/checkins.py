"""Weekly check-ins: the counts a member's tracker logged for an ISO week, and the form that shows them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from bot.core import goals
from bot.core.community.models import Counts, week_monday
from bot.core.errors import UsageError
from bot.core.models import Profile
from bot.core.playbooks.schema import GoalMetric, count_of
from bot.core.ports import Store

COUNT_FIELDS = ("emails", "contacts", "followups", "conversations")
COUNTS_LABEL = "Emails, contacts, follow-ups, conversations"
METRICS = {
    "emails": GoalMetric.EMAILS,
    "contacts": GoalMetric.NEW_CONTACTS,
    "followups": GoalMetric.FOLLOW_UPS,
    "conversations": GoalMetric.CONVERSATIONS,
}


async def tracked_counts(store: Store, profile: Profile, week: str) -> Counts:
    """What the member's contact tracker holds for ``week`` (Monday to Sunday, their own dates),
    counted exactly as /goal progress counts it."""
    start = week_monday(week)
    end = start + timedelta(days=7)
    values = [await goals.count(store, profile, METRICS[name], start, end) for name in COUNT_FIELDS]
    return Counts(*values)


_NUMBER = re.compile(r"-?\d+")


def counts_words(c: Counts) -> str:
    """ "2 emails, 1 new contact, 0 follow-ups, 1 conversation": each count with its noun in the right number."""
    return ", ".join(
        count_of(m, n)
        for m, n in (
            (GoalMetric.EMAILS, c.emails),
            (GoalMetric.NEW_CONTACTS, c.contacts),
            (GoalMetric.FOLLOW_UPS, c.followups),
            (GoalMetric.CONVERSATIONS, c.conversations),
        )
    )


def counts_text(c: Counts) -> str:
    return f"{c.emails}, {c.contacts}, {c.followups}, {c.conversations}"


def read_counts(text: str) -> dict[str, str]:
    """The form's one counts field ("3, 1, 0, 2") as the four count options."""
    numbers = _NUMBER.findall(text or "")
    if len(numbers) != 4:
        raise UsageError(
            f"'{COUNTS_LABEL.lower()}' needs four whole numbers in that order, e.g. 3, 1, 0, 2 (found {len(numbers)})"
        )
    return dict(zip(COUNT_FIELDS, numbers, strict=True))


def read_form(values: Mapping[str, str]) -> dict[str, str]:
    out = read_counts(values.get("counts", ""))
    for name in ("win", "blocker", "goal"):
        text = (values.get(name) or "").strip()
        if text:
            out[name] = text
    return out
