"""What a program owes and when: one row per (program, kind, period), planned a week ahead.

The check-in window of an ISO week opens at the program's post day and time and closes at its
digest day, same time, in the program's time zone. A reminder goes out a day before the close.
Pairing rounds start on the check-in post of every Nth week counted from the program's first
week; a pairing reminder goes out 24 hours before, and "did you meet?" halfway and at the end.
Each row also says until when it is still worth sending: a closed window is skipped, not posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.community.models import PostKind, Program, shift_week, week_monday
from bot.core.ports import Store

REMIND_BEFORE = timedelta(days=1)
PAIR_NOTICE = timedelta(hours=24)
DIGEST_USEFUL = timedelta(days=2)  # a digest that fell due while the bot was down still goes out, late
ROUND_USEFUL = timedelta(days=2)


@dataclass(frozen=True)
class Owed:
    kind: str
    period: str
    due_at: datetime
    expires_at: datetime


def round_week(program: Program, week: str) -> bool:
    """Whether a pairing round starts in ``week``."""
    if not program.pairing_weeks:
        return False
    first = program.local_week(program.created_at) if program.created_at else week
    weeks = (week_monday(week) - week_monday(first)).days // 7
    return weeks >= 0 and weeks % program.pairing_weeks == 0


ONE_OFF_WEEKS = 2  # the length of a round run by hand in a program without a pairing schedule


def round_bounds(program: Program, week: str) -> tuple[datetime, datetime]:
    start = program.opens_at(week)
    return start, program.opens_at(shift_week(week, program.pairing_weeks or ONE_OFF_WEEKS))


def owed_in(program: Program, week: str) -> list[Owed]:
    opens, closes = program.opens_at(week), program.closes_at(week)
    out = [
        Owed(PostKind.CHECKIN, week, opens, closes),
        Owed(PostKind.REMINDER, week, max(opens, closes - REMIND_BEFORE), closes),
        Owed(PostKind.DIGEST, week, closes, closes + DIGEST_USEFUL),
    ]
    if round_week(program, week):
        start, end = round_bounds(program, week)
        out += [
            Owed(PostKind.PAIR_REMINDER, week, start - PAIR_NOTICE, start),
            Owed(PostKind.ROUND, week, start, start + ROUND_USEFUL),
            Owed(PostKind.MEET_MID, week, start + (end - start) / 2, end),
            Owed(PostKind.MEET_END, week, end - timedelta(hours=1), end + timedelta(days=3)),
        ]
    return out


async def plan(store: Store, program: Program, now: datetime) -> int:
    """Owe this week's and next week's posts (each once). Returns how many rows are new.

    A post whose moment has passed but is still useful (setting up on a Tuesday) is owed now;
    one no longer useful (the window already closed) is not owed at all."""
    if program.paused:
        return 0
    this = program.local_week(now)
    added = 0
    for week in (shift_week(this, -1), this, shift_week(this, 1)):
        for owed in owed_in(program, week):
            if owed.expires_at <= now:
                continue
            if program.created_at is not None and owed.due_at < program.created_at and owed.kind != PostKind.CHECKIN:
                continue  # only the open check-in of the week a program starts is owed from before it existed
            added += await store.add_post(program.id, owed.kind, owed.period, max(owed.due_at, now), owed.expires_at)
    return added
