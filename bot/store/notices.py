"""Messages for a user that could not be delivered, shown on their next command."""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Feature
from bot.store.driver import as_dt


class NoticeSQL(Feature):
    async def add_notice(self, user_id: int, message: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO notices (user_id, message, created_at) VALUES (?,?,?)", (user_id, message, now)
        )

    async def user_notices(self, user_id: int) -> list[tuple[datetime, str]]:
        """The user's notices not shown yet, without taking them."""
        rows = await self.db.all("SELECT created_at, message FROM notices WHERE user_id = ? ORDER BY id", (user_id,))
        return [(as_dt(r[0]), r[1]) for r in rows]  # type: ignore[misc]

    async def take_notices(self, user_id: int) -> list[str]:
        """Read and delete in one statement: two commands at once never show a notice twice."""
        if await self.db.one("SELECT 1 FROM notices WHERE user_id = ? LIMIT 1", (user_id,)) is None:
            return []  # the usual case, and no write
        rows = await self.db.all("DELETE FROM notices WHERE user_id = ? RETURNING id, message", (user_id,))
        return [r[1] for r in sorted(rows, key=lambda r: r[0])]
