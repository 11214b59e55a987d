"""The one store module: every SQL statement the bot runs is behind it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.core.errors import ConfigError
from bot.store.sqlite import SQLiteStore

Store = SQLiteStore


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``sqlite:///:memory:``."""
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"IMGBOT_DATABASE_URL: unsupported URL {url!r}")
    rest = url[len("sqlite:///") :]
    return rest if rest == ":memory:" else str(Path(rest).expanduser())


async def open_store(url: str) -> Store:
    if url.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "IMGBOT_DATABASE_URL: PostgreSQL is not supported in this release; use sqlite:///path/to/imgbot.db"
        )
    path = sqlite_path(url)
    try:
        return await SQLiteStore.open(path)
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"IMGBOT_DATABASE_URL: cannot open the database at {path}: {reason}") from None
