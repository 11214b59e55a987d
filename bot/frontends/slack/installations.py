"""slack_sdk's async InstallationStore and OAuthStateStore over our own store, so OAuth
installs live in our database and migrations (SQL in ``bot.store.installations``)."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation as SlackInstallation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.core.clock import Clock
from bot.core.models import Installation
from bot.core.ports import Store

log = logging.getLogger(__name__)

STATE_LIFE = timedelta(minutes=10)


def _scopes(value: str | list[str] | Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(s for s in value.split(",") if s)
    return tuple(str(s) for s in value or ())


class StoreInstallations(AsyncInstallationStore):
    """Bot installations per workspace (or Grid org). User tokens are not kept: the app asks
    for bot scopes only."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: SlackInstallation) -> None:
        if not installation.bot_token:
            log.warning("an install without a bot token was ignored (team %s)", installation.team_id)
            return
        await self.store.save_installation(_installation(installation, installer=installation.user_id))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.store.save_installation(_installation(bot))

    async def _find(self, enterprise_id: str | None, team_id: str | None, org: bool | None) -> Installation | None:
        return await self.store.find_installation(enterprise_id, team_id, is_enterprise_install=bool(org))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        inst = await self._find(enterprise_id, team_id, is_enterprise_install)
        if inst is None:
            return None
        return Bot(**_fields(inst), bot_id=inst.bot_id or "", bot_user_id=inst.bot_user_id or "")

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        inst = await self._find(enterprise_id, team_id, is_enterprise_install)
        if inst is None:
            return None
        return SlackInstallation(
            **_fields(inst), bot_id=inst.bot_id, bot_user_id=inst.bot_user_id, user_id=inst.installer_user_id or ""
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        removed = await self.store.delete_installation(enterprise_id, team_id)
        if not removed and enterprise_id:
            await self.store.delete_installation(enterprise_id, team_id, is_enterprise_install=True)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # the whole workspace (app_uninstalled); a user's own token is never kept
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class StoreOAuthStates(AsyncOAuthStateStore):
    """OAuth ``state`` values in our database: any instance can finish an install."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        await self.store.issue_oauth_state(state, self.clock.now() + STATE_LIFE)
        return state

    async def async_consume(self, state: str) -> bool:
        return await self.store.consume_oauth_state(state, self.clock.now())


def _fields(inst: Installation) -> dict[str, Any]:
    """What slack_sdk's bot and installation records both take from our row."""
    return {
        "app_id": inst.app_id,
        "enterprise_id": inst.enterprise_id,
        "team_id": inst.team_id,
        "bot_token": inst.bot_token,
        "bot_scopes": list(inst.bot_scopes),
        "is_enterprise_install": inst.is_enterprise_install,
        "installed_at": inst.installed_at.timestamp(),
    }


def _installation(src: SlackInstallation | Bot, *, installer: str | None = None) -> Installation:
    """Our row for slack_sdk's installation or bot record (the two share these fields)."""
    return Installation(
        enterprise_id=src.enterprise_id,
        team_id=src.team_id,
        bot_token=src.bot_token or "",
        installed_at=datetime.fromtimestamp(src.installed_at, UTC),
        is_enterprise_install=bool(src.is_enterprise_install),
        app_id=src.app_id,
        bot_id=src.bot_id,
        bot_user_id=src.bot_user_id,
        bot_scopes=_scopes(src.bot_scopes),
        installer_user_id=installer,
    )
