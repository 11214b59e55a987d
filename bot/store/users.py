"""Platform accounts: one row per (platform, account); a Slack account includes its workspace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.models import Profile, UserRef
from bot.store.base import Feature
from bot.store.driver import as_dt
from bot.store.profiles import PROFILE_COLS, profile_from_row

_PROFILE_COLS_P = ", ".join(f"p.{c.strip()}" for c in PROFILE_COLS.split(","))

# Every table holding a user's rows, by the word /privacy uses for them; children before parents.
# A new table with a user_id column belongs here (a test walks the schema to make sure).
USER_TABLES = (
    ("circle_meetings", "circle_group_members"),
    ("circle_checkins", "circle_checkins"),
    ("circle_blocks", "circle_blocks"),
    ("mentor_matches", "mentor_matches"),
    ("mentor_requests", "mentor_requests"),
    ("mentor_offers", "mentor_offers"),
    ("circle_memberships", "circle_members"),
    ("interactions", "interactions"),
    ("nudges", "nudges"),
    ("notices", "notices"),
    ("goals", "goals"),
    ("conference_plans", "conference_plans"),
    ("contacts", "contacts"),
    ("profile", "profiles"),
    ("dm_channel", "dm_channels"),
)
# Tables that name the user in a second column too: a block of them, a match where they mentor.
ALSO_NAMED = {"circle_blocks": "blocked_user_id", "mentor_matches": "mentor_user_id"}


def _where(table: str) -> tuple[str, int]:
    other = ALSO_NAMED.get(table)
    return ("user_id = ?", 1) if other is None else (f"(user_id = ? OR {other} = ?)", 2)


# Columns outside those tables whose names suggest a person, and why they hold no one's personal
# data (tests/test_privacy_schema.py fails on any such column that is in neither place).
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("slack_installations", "bot_user_id"): "the bot's own Slack user, not a person",
    ("circle_posts", "lease_owner"): "which bot instance holds the claim on a channel post",
    ("circle_programs", "community_name"): "the community's name: a community setting, not a person's",
    ("circle_programs", "channel_name"): "the channel's name: a community setting, not a person's",
    ("slack_installations", "installer_user_id"): (
        "who installed the app in the workspace: part of the workspace's installation record that"
        " slack_sdk keeps, holding no data of theirs, and removed when the workspace uninstalls"
    ),
}


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

    async def user_context(self, ref: UserRef, now: datetime) -> tuple[int, Profile, bool]:
        """The user's id and profile, as ``ensure_user`` then ``get_profile`` give them, and
        whether notices wait for them: one query for a user seen before (every command starts here)."""
        row = await self.db.one(
            f"SELECT u.id, EXISTS (SELECT 1 FROM notices n WHERE n.user_id = u.id), {_PROFILE_COLS_P}"
            " FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.platform = ? AND u.account = ?",
            (ref.platform, ref.account),
        )
        if row is None:  # a new user (or one another command is creating at this moment)
            user_id = await self.ensure_user(ref, now)
            return user_id, await self.get_profile(user_id), True  # type: ignore[attr-defined]
        user_id = int(row[0])
        profile = profile_from_row(row[2:]) if row[2] is not None else Profile(user_id=user_id)
        return user_id, profile, bool(row[1])

    async def user_ref(self, user_id: int) -> UserRef | None:
        row = await self.db.one("SELECT platform, account, display_name FROM users WHERE id = ?", (user_id,))
        return UserRef(row[0], row[1], row[2]) if row else None

    async def user_refs(self, user_ids: Sequence[int]) -> dict[int, UserRef]:
        """Several users' platform accounts in one query; a deleted user is absent."""
        if not user_ids:
            return {}
        cond, args = self.in_list(tuple(user_ids))
        rows = await self.db.all(f"SELECT id, platform, account, display_name FROM users WHERE id {cond}", args)
        return {int(r[0]): UserRef(r[1], r[2], r[3]) for r in rows}

    async def user_created_at(self, user_id: int) -> datetime | None:
        row = await self.db.one("SELECT created_at FROM users WHERE id = ?", (user_id,))
        return as_dt(row[0]) if row else None

    async def user_data_counts(self, user_id: int) -> dict[str, int]:
        """How many rows of each kind the user has (what /privacy delete would remove)."""
        counts: dict[str, int] = {}
        for kind, table in USER_TABLES:
            where, n = _where(table)
            row = await self.db.one(f"SELECT COUNT(*) FROM {table} WHERE {where}", (user_id,) * n)
            counts[kind] = int(row[0]) if row else 0
        return counts

    async def delete_user_data(self, user_id: int) -> dict[str, int]:
        """Delete every row of the user, in one transaction; returns the rows removed per kind.

        Each table is emptied of the user's rows explicitly, children first, then the user row:
        nothing depends on ON DELETE CASCADE being enforced on the connection."""
        removed: dict[str, int] = {}
        async with self.db.transaction() as tx:
            for kind, table in USER_TABLES:
                where, n = _where(table)
                removed[kind] = await tx.execute(f"DELETE FROM {table} WHERE {where}", (user_id,) * n)
            removed["account"] = await tx.execute("DELETE FROM users WHERE id = ?", (user_id,))
        return removed
