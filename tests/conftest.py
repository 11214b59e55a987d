from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
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
