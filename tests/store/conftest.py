# PROVISIONAL: replaced by the shared db_url fixture in tests/conftest.py
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/bot.db"
        return
    base = os.environ.get("IMGBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
    name = "t_" + uuid.uuid4().hex[:12]
    c = await asyncpg.connect(base)
    await c.execute(f"CREATE DATABASE {name}")
    await c.close()
    yield base.rsplit("/", 1)[0] + "/" + name
    c = await asyncpg.connect(base)
    await c.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await c.close()
