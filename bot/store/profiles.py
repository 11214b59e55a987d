"""Profiles: the details that fill scripts and date timelines."""

from __future__ import annotations

from datetime import datetime, time

from bot.core.models import Profile
from bot.store.base import Feature
from bot.store.driver import as_dt


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


class ProfileSQL(Feature):
    async def get_profile(self, user_id: int) -> Profile:
        row = await self.db.one(
            "SELECT name, country, school, specialty, track, visa, eras, timezone, interests, role,"
            " quiet_start, quiet_end, nudges_paused_until, status FROM profiles WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return Profile(user_id=user_id)
        return Profile(
            user_id=user_id,
            name=row[0],
            country=row[1],
            school=row[2],
            specialty=row[3],
            track=row[4],
            visa=row[5],
            eras=row[6],
            timezone=row[7],
            interests=row[8],
            role=row[9],
            quiet_start=_time(row[10]),
            quiet_end=_time(row[11]),
            nudges_paused_until=as_dt(row[12]),
            status=row[13],
        )

    async def save_profile(self, p: Profile, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO profiles (user_id, name, country, school, specialty, track, visa, eras,"
            " timezone, interests, role, quiet_start, quiet_end, nudges_paused_until, status, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(user_id) DO UPDATE SET name=excluded.name, country=excluded.country,"
            " school=excluded.school, specialty=excluded.specialty, track=excluded.track,"
            " visa=excluded.visa, eras=excluded.eras, timezone=excluded.timezone,"
            " interests=excluded.interests, role=excluded.role, quiet_start=excluded.quiet_start,"
            " quiet_end=excluded.quiet_end, nudges_paused_until=excluded.nudges_paused_until,"
            " status=excluded.status, updated_at=excluded.updated_at",
            (
                p.user_id,
                p.name,
                p.country,
                p.school,
                p.specialty,
                p.track,
                p.visa,
                p.eras,
                p.timezone,
                p.interests,
                p.role,
                _hhmm(p.quiet_start),
                _hhmm(p.quiet_end),
                p.nudges_paused_until,
                p.status,
                now,
            ),
        )
