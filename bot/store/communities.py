"""Community settings, keyed by platform and server or workspace."""

from __future__ import annotations

from bot.store.base import Feature


class CommunitySQL(Feature):
    async def set_accountability_channel(self, platform: str, community: str, channel: str | None) -> None:
        await self.db.execute(
            "INSERT INTO communities (platform, community_id, accountability_channel) VALUES (?,?,?)"
            " ON CONFLICT(platform, community_id) DO UPDATE SET"
            " accountability_channel = excluded.accountability_channel",
            (platform, community, channel),
        )

    async def accountability_channel(self, platform: str, community: str) -> str | None:
        row = await self.db.one(
            "SELECT accountability_channel FROM communities WHERE platform = ? AND community_id = ?",
            (platform, community),
        )
        return row[0] if row else None
