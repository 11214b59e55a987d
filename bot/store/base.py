"""What every feature store shares: the driver it runs on and small value helpers."""

from __future__ import annotations

from bot.core.models import name_key
from bot.store.driver import Driver

__all__ = ["Feature", "like_escape", "name_key"]


class Feature:
    """A mixin over one driver. The feature stores are combined into one ``SQLStore``."""

    db: Driver

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def in_list(self, values: list[object] | tuple[object, ...]) -> tuple[str, list[object]]:
        """``(?, ?, ?)`` for SQLite and ``= ANY(?)`` for PostgreSQL, with the matching arguments."""
        if self.db.dialect == "postgres":
            return "= ANY(?)", [list(values)]
        return "IN (" + ",".join("?" for _ in values) + ")", list(values)


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
