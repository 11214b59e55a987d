"""Platform accounts: one row per (platform, account); a Slack account includes its workspace."""

from __future__ import annotations

from datetime import datetime

from bot.core.models import UserRef
from bot.store.base import Feature


class UserSQL(Feature):
    async def ensure_user(self, ref: UserRef, now: datetime) -> int:
        """The user's id, creating the row if needed. Race-free: one upsert, no read-then-write."""
        row = await self.db.one("SELECT id FROM users WHERE platform = ? AND account = ?", (ref.platform, ref.account))
        if row is not None:
            return int(row[0])
        row = await self.db.one(
            "INSERT INTO users (platform, account, display_name, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, account) DO UPDATE SET display_name = users.display_name RETURNING id",
            (ref.platform, ref.account, ref.display_name, now),
        )
        assert row is not None
        return int(row[0])

    async def user_ref(self, user_id: int) -> UserRef | None:
        row = await self.db.one("SELECT platform, account, display_name FROM users WHERE id = ?", (user_id,))
        return UserRef(row[0], row[1], row[2]) if row else None

    async def delete_user_data(self, user_id: int) -> None:
        """Everything the user stored goes with the user row (ON DELETE CASCADE)."""
        await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))
