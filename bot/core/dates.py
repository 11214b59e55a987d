"""Dates users type, local times and quiet hours. Everything here is timezone-aware."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.errors import UsageError

_REL = re.compile(r"^(?:(in)\s+)?(\d{1,3})\s+(day|week|month)s?(?:\s+(ago))?$")


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + (d.month - 1) + months, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def parse_date(text: str, today: date, option: str = "date") -> date:
    """ISO dates and simple relative forms: today, yesterday, tomorrow, 3 days ago, in 2 weeks.

    Dates before 1950 or more than five years ahead are refused as typos.
    """
    day = _parse_date(text, today, option)
    if not date(1950, 1, 1) <= day <= add_months(today, 60):
        raise UsageError(f"option '{option}': {day.isoformat()} is too far from today to be right")
    return day


def _parse_date(text: str, today: date, option: str) -> date:
    s = " ".join(text.strip().lower().split())
    if s in ("today", "now"):
        return today
    if s == "yesterday":
        return today - timedelta(days=1)
    if s == "tomorrow":
        return today + timedelta(days=1)
    m = _REL.match(s)
    if m and bool(m.group(1)) != bool(m.group(4)):
        n = int(m.group(2)) * (-1 if m.group(4) else 1)
        unit = m.group(3)
        if unit == "month":
            return add_months(today, n)
        return today + timedelta(days=n * (7 if unit == "week" else 1))
    try:
        return date.fromisoformat(s)
    except ValueError:
        pass
    raise UsageError(
        f"option '{option}': '{text}' is not a date; use YYYY-MM-DD, today, yesterday, '3 days ago' or 'in 2 weeks'"
    )


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


# The longest IANA name is about 32 characters; a name is letters, digits, _ + - and slashes.
MAX_ZONE_NAME = 64
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")


def zone(name: str) -> ZoneInfo:
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as Europe, a long name
        import difflib

        close = difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.5) if len(name) <= MAX_ZONE_NAME else []
        hint = f"; did you mean {close[0]}?" if close else "; use an IANA name such as Africa/Cairo"
        raise UsageError(f"option 'timezone': '{_shown(name)}' is not a time zone{hint}") from None


def _shown(name: str) -> str:
    """The name as it can be echoed: cut short, with control characters and broken text as '?'."""
    short = name if len(name) <= MAX_ZONE_NAME else name[:MAX_ZONE_NAME] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in short)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if len(name) > MAX_ZONE_NAME or not _ZONE_NAME.fullmatch(name):
        raise ValueError("not a time zone name")
    return ZoneInfo(name)


def timezone_names(prefix: str = "", limit: int = 25) -> list[str]:
    p = prefix.lower()
    return [z for z in _zone_names() if p in z.lower()][:limit]


def parse_hhmm(text: str, option: str = "quiet_hours") -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError(f"option '{option}': '{text}' is not a time; use HH:MM, e.g. 21:00")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``21:00-08:00`` (or ``off``, which returns equal start and end)."""
    s = text.strip().lower().replace("–", "-")
    if s in ("off", "none"):
        return time(0, 0), time(0, 0)
    parts = s.split("-")
    if len(parts) != 2:
        raise UsageError("option 'quiet_hours': use START-END in 24-hour time, e.g. 21:00-08:00, or off")
    return parse_hhmm(parts[0]), parse_hhmm(parts[1])


def local_datetime(d: date, t: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``t`` on ``d`` in ``tz``.

    A wall time that does not exist (spring forward) moves forward by the gap;
    an ambiguous one (fall back) takes the first occurrence.
    """
    naive_local = datetime.combine(d, t)
    aware = naive_local.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(when: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """``when`` itself, or the end of the quiet hours it falls in (UTC, DST-safe)."""
    local = when.astimezone(tz)
    if not in_quiet_hours(local.timetz().replace(tzinfo=None), start, end):
        return when
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)  # the quiet period ends tomorrow morning
    release = local_datetime(day, end, tz)
    return max(release, when)


@lru_cache(maxsize=4096)
def fmt_date(d: date) -> str:
    # cached: every digest shows several dates, and strftime is slow (a datetime is a date too,
    # and hashes apart from its date, so it is cached as itself and formats the same)
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b %Y')}"


@lru_cache(maxsize=1024)
def fmt_month(month: str) -> str:
    y, m = (int(x) for x in month.split("-"))
    return date(y, m, 1).strftime("%B %Y")
