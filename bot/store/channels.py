"""The channel a platform needs to DM a user (a Discord DM channel id is stable per user)."""

from __future__ import annotations

from datetime import datetime

from bot.core.models import UserRef
from bot.store.users import UserSQL


class ChannelSQL(UserSQL):
    async def dm_channel(self, ref: UserRef) -> str | None:
        row = await self.db.one(
            "SELECT d.channel FROM dm_channels d JOIN users u ON u.id = d.user_id"
            " WHERE u.platform = ? AND u.account = ?",
            (ref.platform, ref.account),
        )
        return str(row[0]) if row else None

    async def set_dm_channel(self, ref: UserRef, channel: str, now: datetime) -> None:
        user_id = await self.ensure_user(ref, now)
        await self.db.execute(
            "INSERT INTO dm_channels (user_id, channel) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET channel = excluded.channel",
            (user_id, channel),
        )

    async def forget_dm_channel(self, ref: UserRef) -> None:
        await self.db.execute(
            "DELETE FROM dm_channels WHERE user_id IN (SELECT id FROM users WHERE platform = ? AND account = ?)",
            (ref.platform, ref.account),
        )
