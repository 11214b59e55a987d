"""Migrations, WAL, and per-account isolation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.core.models import UserRef
from bot.store import open_store
from bot.store.migrate import migrations
from tests.helpers import START, Transcript, make_app


def _schema(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)


async def test_migrations_from_empty_and_rerun_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = await open_store(f"sqlite:///{db}")
    assert await store.schema_version() >= 1
    await store.close()
    before = _schema(db)
    store = await open_store(f"sqlite:///{db}")
    assert await store.migrate() == []
    await store.close()
    assert _schema(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(migrations("sqlite"))


async def test_same_account_name_on_two_platforms_or_workspaces_is_two_people(tmp_path: Path) -> None:
    app = await make_app(tmp_path / "i.db")
    a = Transcript(app, "u1")
    await a.say('/contact add "Dr Private Person"')
    store = app.store
    ids = {
        await store.ensure_user(UserRef("console", "u1"), START),
        await store.ensure_user(UserRef("discord", "u1"), START),
        await store.ensure_user(UserRef("slack", "T1:u1"), START),
        await store.ensure_user(UserRef("slack", "T2:u1"), START),
    }
    assert len(ids) == 4
    b = Transcript(app, "u2")
    assert "Dr Private Person" not in await b.say("/contact list")
    assert "no contact matches" in await b.say('/contact show "Dr Private Person"')
    assert "you have no contact #1" in await b.say("/contact show #1")
    await app.store.close()


async def test_deleting_a_users_data_removes_everything_they_stored(tmp_path: Path) -> None:
    app = await make_app(tmp_path / "d.db")
    t = Transcript(app, "leaving")
    await t.say('/contact add "Dr Maya Lee" how_met:conference met_on:today')
    await t.say("/goal set emails 3 month")
    uid = await app.store.ensure_user(t.front.user, START)
    await app.store.delete_user_data(uid)
    with sqlite3.connect(tmp_path / "d.db") as db:
        for table in ("users", "profiles", "contacts", "interactions", "goals", "nudges"):
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
