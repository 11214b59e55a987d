"""Conference plans: meetings a user will attend (/conference plan)."""

from __future__ import annotations

from datetime import date, datetime

from bot.core.models import ConferencePlan
from bot.store.base import Feature
from bot.store.driver import Row, as_date, as_dt

PLAN_COLS = "id, user_id, number, name, specialty, starts_on, days, created_at"


def _plan(row: Row) -> ConferencePlan:
    starts = as_date(row[5])
    assert starts is not None
    return ConferencePlan(
        id=int(row[0]),
        user_id=int(row[1]),
        number=int(row[2]),
        name=row[3],
        specialty=row[4],
        starts_on=starts,
        days=int(row[6]),
        created_at=as_dt(row[7]),
    )


class ConferenceSQL(Feature):
    async def add_conference_plan(
        self, user_id: int, name: str, specialty: str, starts_on: date, days: int, now: datetime
    ) -> ConferencePlan:
        """Store a plan under the user's next plan number (never reused, race-free)."""
        async with self.db.transaction() as tx:
            seq = await tx.one(
                "UPDATE users SET conference_seq = conference_seq + 1 WHERE id = ? RETURNING conference_seq",
                (user_id,),
            )
            if seq is None:
                raise LookupError(f"no user {user_id}")
            row = await tx.one(
                "INSERT INTO conference_plans (user_id, number, name, specialty, starts_on, days, created_at)"
                f" VALUES (?,?,?,?,?,?,?) RETURNING {PLAN_COLS}",
                (user_id, int(seq[0]), name, specialty, starts_on, days, now),
            )
        assert row is not None
        return _plan(row)

    async def conference_plans(self, user_id: int) -> list[ConferencePlan]:
        rows = await self.db.all(
            f"SELECT {PLAN_COLS} FROM conference_plans WHERE user_id = ? ORDER BY starts_on, number", (user_id,)
        )
        return [_plan(r) for r in rows]

    async def get_conference_plan(self, user_id: int, plan_id: int) -> ConferencePlan | None:
        row = await self.db.one(
            f"SELECT {PLAN_COLS} FROM conference_plans WHERE id = ? AND user_id = ?", (plan_id, user_id)
        )
        return _plan(row) if row else None

    async def delete_conference_plan(self, user_id: int, plan_id: int) -> bool:
        removed = await self.db.execute("DELETE FROM conference_plans WHERE id = ? AND user_id = ?", (plan_id, user_id))
        return removed > 0
