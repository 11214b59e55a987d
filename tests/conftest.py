from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from tests import pgcluster
from tests.helpers import OPEN_APPS, START, Transcript, make_app


@pytest.fixture(autouse=True)
async def _close_apps() -> AsyncIterator[None]:
    """An aiosqlite connection left open keeps the process alive: close every app a test made."""
    yield
    while OPEN_APPS:
        app = OPEN_APPS.pop()
        with contextlib.suppress(ValueError, RuntimeError):
            await app.store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[App]:
    yield await make_app(tmp_path / "bot.db", clock)


@pytest.fixture
def console(app: App) -> Transcript:
    return Transcript(app)


PSYCH_PROFILE = (
    '/profile set name:"Dr Amal Hassan" country:Egypt school:"Cairo University" specialty:psych '
    'track:non-us-img visa:j1 eras:2027-09 timezone:Africa/Cairo interests:"consult-liaison psychiatry" '
    'role:"research fellow at Kasr Al Ainy"'
)


# --- databases: SQLite and PostgreSQL -------------------------------------------------------------


def _postgres_required() -> bool:
    return os.environ.get("IMGBOT_REQUIRE_POSTGRES") == "1"


def _no_postgres(reason: str) -> None:
    """Skip, or fail loudly when CI says PostgreSQL must be there (IMGBOT_REQUIRE_POSTGRES=1)."""
    if _postgres_required():
        pytest.fail(f"IMGBOT_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server for the session: IMGBOT_TEST_POSTGRES_URL if set, else a
    throwaway cluster started from the local binaries (stopped at session end), else skip."""
    try:
        import asyncpg  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        _no_postgres("asyncpg is not installed")
    url = os.environ.get("IMGBOT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if pgcluster.find_bindir() is None:
        _no_postgres("PostgreSQL binaries not found")
    cluster = pgcluster.PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """URL of a brand-new empty database on pg_server, dropped WITH (FORCE) after the test."""
    url = pgcluster.create_database(pg_server)
    try:
        yield url
    finally:
        pgcluster.drop_database(pg_server, url)


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind: a SQLite file, then a new PostgreSQL database (pg_url)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.db"
    return str(request.getfixturevalue("pg_url"))
