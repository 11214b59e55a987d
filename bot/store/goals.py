"""Outreach targets per user, metric and period."""

from __future__ import annotations

from bot.core.models import GoalTarget
from bot.store.base import Feature


class GoalSQL(Feature):
    async def set_goal(self, user_id: int, goal: GoalTarget) -> None:
        await self.db.execute(
            "INSERT INTO goals (user_id, metric, period, count) VALUES (?,?,?,?)"
            " ON CONFLICT(user_id, metric, period) DO UPDATE SET count = excluded.count",
            (user_id, goal.metric, goal.period, goal.count),
        )

    async def goals(self, user_id: int) -> list[GoalTarget]:
        rows = await self.db.all(
            "SELECT metric, period, count FROM goals WHERE user_id = ? ORDER BY period, metric", (user_id,)
        )
        return [GoalTarget(r[0], r[1], r[2]) for r in rows]
