"""Profiles: the details that fill scripts and date timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from bot.core.models import Profile
from bot.store.base import Feature
from bot.store.driver import Row, as_dt


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


PROFILE_COLS = (
    "user_id, name, country, school, specialty, track, visa, eras, timezone, interests, role,"
    " quiet_start, quiet_end, nudges_paused_until, status"
)


def profile_from_row(row: Row) -> Profile:
    return Profile(
        user_id=int(row[0]),
        name=row[1],
        country=row[2],
        school=row[3],
        specialty=row[4],
        track=row[5],
        visa=row[6],
        eras=row[7],
        timezone=row[8],
        interests=row[9],
        role=row[10],
        quiet_start=_time(row[11]),
        quiet_end=_time(row[12]),
        nudges_paused_until=as_dt(row[13]),
        status=row[14],
    )


class ProfileSQL(Feature):
    async def get_profile(self, user_id: int) -> Profile:
        row = await self.db.one(f"SELECT {PROFILE_COLS} FROM profiles WHERE user_id = ?", (user_id,))
        return profile_from_row(row) if row is not None else Profile(user_id=user_id)

    async def get_profiles(self, user_ids: Sequence[int]) -> dict[int, Profile]:
        """The profiles of several users in one query (a user with none gets the default profile)."""
        if not user_ids:
            return {}
        cond, args = self.in_list(tuple(user_ids))
        rows = await self.db.all(f"SELECT {PROFILE_COLS} FROM profiles WHERE user_id {cond}", args)
        found = {p.user_id: p for p in map(profile_from_row, rows)}
        return {uid: found.get(uid) or Profile(user_id=uid) for uid in user_ids}

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
