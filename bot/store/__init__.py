"""The SQL store: feature stores (users, profiles, contacts, goals, nudges, notices, DM
channels, communities, conference plans, Slack installations, circles) combined over one driver, implementing
core's ``Store`` protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.core.errors import ConfigError
from bot.store import migrate as _migrate
from bot.store.channels import ChannelSQL
from bot.store.circles import CircleSQL
from bot.store.communities import CommunitySQL
from bot.store.conferences import ConferenceSQL
from bot.store.contacts import ContactSQL
from bot.store.driver import Driver, open_driver, redact_url
from bot.store.goals import GoalSQL
from bot.store.installations import InstallationSQL
from bot.store.notices import NoticeSQL
from bot.store.nudges import NudgeSQL
from bot.store.profiles import ProfileSQL
from bot.store.secrets import TokenCipher

if TYPE_CHECKING:
    from bot.core.ports import Store


# ChannelSQL builds on UserSQL (it makes sure a user exists before remembering its channel).
class SQLStore(
    ChannelSQL,
    ProfileSQL,
    ContactSQL,
    GoalSQL,
    NudgeSQL,
    NoticeSQL,
    CommunitySQL,
    ConferenceSQL,
    InstallationSQL,
    CircleSQL,
):
    def __init__(self, db: Driver, cipher: TokenCipher | None = None) -> None:
        self.db = db
        self.cipher = cipher or TokenCipher()

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.db.url_for_humans

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self.db.transaction():
            yield

    async def migrate(self) -> list[int]:
        return await _migrate.migrate(self.db)

    async def schema_version(self) -> int:
        return await _migrate.schema_version(self.db)

    def schema_expected(self) -> int:
        return _migrate.latest(self.db.dialect)

    async def ping(self) -> None:
        await self.db.one("SELECT 1")

    def on_work_changed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when owed work may have moved earlier, here or (PostgreSQL) on a peer."""
        self.db.on_work_changed(callback)

    async def listen(self) -> None:
        await self.db.listen()

    async def close(self) -> None:
        await self.db.close()


async def open_store(
    url: str, *, pool_size: int = 10, migrate: bool = True, secret_keys: Sequence[str] = ()
) -> SQLStore:
    """Open the database at ``url`` and bring its schema up to date; ConfigError in one line.
    ``secret_keys`` (IMGBOT_SECRET_KEY) seal the Slack tokens it stores."""
    cipher = TokenCipher(secret_keys)
    db = await open_driver(url, pool_size)
    store = SQLStore(db, cipher)
    if migrate:
        try:
            await store.migrate()
        except ConfigError:
            await db.close()
            raise
        except db.errors as exc:
            await db.close()
            reason = redact_url(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise ConfigError(f"IMGBOT_DATABASE_URL: cannot use the database at {store.url}: {reason}") from None
        except BaseException:
            await db.close()
            raise
    return store


def _check(store: SQLStore) -> Store:  # mypy proves SQLStore implements core's protocol
    return store
