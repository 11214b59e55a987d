from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from tests.helpers import START, Transcript, make_app


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[App]:
    a = await make_app(tmp_path / "bot.db", clock)
    yield a
    await a.store.close()


@pytest.fixture
def console(app: App) -> Transcript:
    return Transcript(app)


PSYCH_PROFILE = (
    '/profile set name:"Dr Amal Hassan" country:Egypt school:"Cairo University" specialty:psych '
    'track:non-us-img visa:j1 eras:2027-09 timezone:Africa/Cairo interests:"consult-liaison psychiatry" '
    'role:"research fellow at Kasr Al Ainy"'
)
