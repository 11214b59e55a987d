"""Numbered migrations per dialect, applied at start in one transaction.

``migrations/sqlite/NNNN_name.sql`` and ``migrations/postgres/NNNN_name.sql`` are numbered
independently. Numbers may have gaps (numbers are handed out to features built in parallel):
every migration whose number is not yet recorded in ``schema_version`` is applied, in sorted
order, so a lower number merged after a higher one was applied still runs.
On PostgreSQL the run holds an advisory lock, so instances starting together
take turns: the first applies the migrations, the others then find nothing to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from bot.core.errors import ConfigError
from bot.store.driver import Driver

# pg_advisory_xact_lock key: any constant that no other application on the database uses
MIGRATION_LOCK = 0x1A6B07


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    out = []
    for entry in files("bot.store").joinpath("migrations", dialect).iterdir():
        m = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out, key=lambda m: m.number)


def latest(dialect: str) -> int:
    known = migrations(dialect)
    return known[-1].number if known else 0


def pending(known: list[Migration], done: set[int]) -> list[Migration]:
    """Every known migration not yet applied, in number order. Numbers are assigned per feature and
    may land out of order (0011 before 0008): a lower number that arrives later still runs."""
    return [m for m in known if m.number not in done]


async def schema_version(db: Driver) -> int:
    row = await db.one("SELECT MAX(version) FROM schema_version")
    return int(row[0] or 0) if row else 0


async def migrate(db: Driver, known: list[Migration] | None = None) -> list[int]:
    """Apply every migration not yet applied, in number order (gaps allowed), all in one transaction.

    Refuses, with one line, a database whose schema is newer than this release knows.
    ``known`` replaces this release's migrations (tests: a release that lacked one)."""
    applied: list[int] = []
    known = migrations(db.dialect) if known is None else sorted(known, key=lambda m: m.number)
    async with db.transaction() as conn:
        if db.dialect == "postgres":
            await conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        done = {int(r[0]) for r in await conn.all("SELECT version FROM schema_version")}
        current = max(done, default=0)
        newest = known[-1].number if known else 0
        if current > newest:
            raise ConfigError(
                f"the database schema is version {current}, newer than this release knows ({newest}); "
                "upgrade imgbot before starting it on this database"
            )
        unknown = sorted(done - {m.number for m in known})
        if unknown:
            raise ConfigError(
                f"the database has migration {unknown[0]}, which this release does not know; "
                "upgrade imgbot before starting it on this database"
            )
        # Numbers may have gaps (features land in any order): every known migration not yet
        # applied runs, in number order, even one numbered below the newest applied.
        for m in pending(known, done):
            await conn.script(m.sql)
            await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (m.number,))
            applied.append(m.number)
    return applied
