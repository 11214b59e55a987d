"""Slack installations (one per workspace, or per Enterprise Grid org for an org-wide install)
and the log of Slack requests already taken, so a re-sent request changes nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.models import Installation
from bot.store.base import Feature
from bot.store.driver import Row, as_dt
from bot.store.secrets import SealedTokenError, TokenCipher

REQUEST_MEMORY = timedelta(days=1)

_COLUMNS = (
    "enterprise_id, team_id, is_enterprise_install, app_id, bot_token, bot_id, bot_user_id,"
    " bot_scopes, installer_user_id, installed_at"
)


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> tuple[str, str]:
    """An org-wide install is found by its enterprise alone; a workspace by both ids."""
    return (enterprise_id or "", "" if is_enterprise_install else (team_id or ""))


class InstallationSQL(Feature):
    """Bot tokens are sealed with ``cipher`` when IMGBOT_SECRET_KEY is set (``bot.store.secrets``)."""

    cipher: TokenCipher

    async def save_installation(self, inst: Installation) -> None:
        """Insert or replace the installation of its workspace (re-installing refreshes the token)."""
        enterprise, team = _key(inst.enterprise_id, inst.team_id, inst.is_enterprise_install)
        await self.db.execute(
            f"INSERT INTO slack_installations ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (enterprise_id, team_id) DO UPDATE SET"
            " is_enterprise_install = excluded.is_enterprise_install, app_id = excluded.app_id,"
            " bot_token = excluded.bot_token, bot_id = excluded.bot_id, bot_user_id = excluded.bot_user_id,"
            " bot_scopes = excluded.bot_scopes, installer_user_id = excluded.installer_user_id,"
            " installed_at = excluded.installed_at",
            (
                enterprise,
                team,
                inst.is_enterprise_install,
                inst.app_id,
                self.cipher.seal(inst.bot_token),
                inst.bot_id,
                inst.bot_user_id,
                ",".join(inst.bot_scopes),
                inst.installer_user_id,
                inst.installed_at,
            ),
        )

    async def find_installation(
        self, enterprise_id: str | None, team_id: str | None, *, is_enterprise_install: bool = False
    ) -> Installation | None:
        enterprise, team = _key(enterprise_id, team_id, is_enterprise_install)
        row = await self.db.one(
            f"SELECT {_COLUMNS} FROM slack_installations WHERE enterprise_id = ? AND team_id = ?",
            (enterprise, team),
        )
        if row is None and enterprise and team:
            # a workspace of an org that installed the app org-wide
            row = await self.db.one(
                f"SELECT {_COLUMNS} FROM slack_installations"
                " WHERE enterprise_id = ? AND team_id = '' AND is_enterprise_install = 1",
                (enterprise,),
            )
        return self._installation(row)

    async def find_enterprise_installation(self, enterprise_id: str) -> Installation | None:
        """The token that reaches a Grid org's members: its org-wide install, else the workspace of the
        org installed most recently (accounts on Grid name the org, not the workspace)."""
        row = await self.db.one(
            f"SELECT {_COLUMNS} FROM slack_installations WHERE enterprise_id = ?"
            " ORDER BY is_enterprise_install DESC, installed_at DESC LIMIT 1",
            (enterprise_id,),
        )
        return self._installation(row)

    def _installation(self, row: Row | None) -> Installation | None:
        if row is None:
            return None
        installed_at = as_dt(row[9])
        assert installed_at is not None
        return Installation(
            enterprise_id=row[0] or None,
            team_id=row[1] or None,
            is_enterprise_install=bool(row[2]),
            app_id=row[3],
            bot_token=self.cipher.open(row[4]),
            bot_id=row[5],
            bot_user_id=row[6],
            bot_scopes=tuple(s for s in str(row[7]).split(",") if s),
            installer_user_id=row[8],
            installed_at=installed_at,
        )

    async def delete_installation(
        self, enterprise_id: str | None, team_id: str | None, *, is_enterprise_install: bool = False
    ) -> int:
        """Forget a workspace's token (app_uninstalled, tokens_revoked). Users' data is kept."""
        enterprise, team = _key(enterprise_id, team_id, is_enterprise_install)
        return await self.db.execute(
            "DELETE FROM slack_installations WHERE enterprise_id = ? AND team_id = ?", (enterprise, team)
        )

    async def installation_count(self) -> int:
        row = await self.db.one("SELECT COUNT(*) FROM slack_installations")
        return int(row[0]) if row else 0

    async def sealed_token_problem(self) -> str | None:
        """Why a stored token cannot be opened with this instance's keys, or None when all can."""
        rows = await self.db.all("SELECT bot_token FROM slack_installations")
        for (token,) in rows:
            try:
                self.cipher.open(token)
            except SealedTokenError as exc:
                return str(exc)
        return None

    async def seal_tokens(self) -> tuple[int, int]:
        """Seal every stored token with the first key (plain ones and ones sealed with an older key).
        Returns (tokens resealed, tokens in all); SealedTokenError if one cannot be opened."""
        if not self.cipher.sealing:
            raise SealedTokenError("set IMGBOT_SECRET_KEY to seal the stored Slack tokens")
        changed = 0
        async with self.db.transaction() as conn:
            rows = await conn.all("SELECT enterprise_id, team_id, bot_token FROM slack_installations")
            for enterprise, team, token in rows:
                sealed = self.cipher.reseal(token)
                if sealed != token:
                    await conn.execute(
                        "UPDATE slack_installations SET bot_token = ? WHERE enterprise_id = ? AND team_id = ?"
                        " AND bot_token = ?",
                        (sealed, enterprise, team, token),
                    )
                    changed += 1
        return changed, len(rows)

    async def first_request(self, key: str, now: datetime) -> bool:
        """True the first time any instance sees request ``key``; False for a re-sent one."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM slack_requests WHERE seen_at < ?", (now - REQUEST_MEMORY,))
            added = await conn.execute(
                "INSERT INTO slack_requests (request_key, seen_at) VALUES (?, ?) ON CONFLICT (request_key) DO NOTHING",
                (key, now),
            )
        return added == 1

    async def issue_oauth_state(self, state: str, expires_at: datetime) -> None:
        await self.db.execute("INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", (state, expires_at))

    async def consume_oauth_state(self, state: str, now: datetime) -> bool:
        """True once for a state that was issued and has not expired; it cannot be used again."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM slack_oauth_states WHERE expires_at < ?", (now,))
            return await conn.execute("DELETE FROM slack_oauth_states WHERE state = ?", (state,)) == 1
