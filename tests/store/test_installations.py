"""Slack installations and the re-sent request log, on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.models import Installation
from bot.store import open_store
from bot.store.migrate import migrations

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _inst(team: str | None = "T1", enterprise: str | None = None, token: str = "xoxb-1", **kw: object) -> Installation:
    return Installation(
        enterprise_id=enterprise,
        team_id=team,
        bot_token=token,
        installed_at=NOW,
        bot_user_id="UBOT",
        bot_scopes=("commands", "chat:write"),
        **kw,  # type: ignore[arg-type]
    )


async def test_an_installation_is_saved_found_replaced_and_deleted(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        assert await store.find_installation(None, "T1") is None
        await store.save_installation(_inst(installer_user_id="U1"))
        found = await store.find_installation(None, "T1")
        assert found == _inst(installer_user_id="U1")
        await store.save_installation(_inst(token="xoxb-2"))  # re-install: a fresh token, one row
        again = await store.find_installation(None, "T1")
        assert again is not None and again.bot_token == "xoxb-2"
        assert await store.installation_count() == 1
        assert await store.delete_installation(None, "T1") == 1
        assert await store.find_installation(None, "T1") is None
        assert await store.delete_installation(None, "T1") == 0
    finally:
        await store.close()


async def test_an_org_wide_install_serves_every_workspace_of_the_org(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        await store.save_installation(_inst(team=None, enterprise="E1", is_enterprise_install=True))
        org = await store.find_installation("E1", None, is_enterprise_install=True)
        assert org is not None and org.is_enterprise_install and org.team_id is None
        # a workspace of that org with no install of its own uses the org's
        inside = await store.find_installation("E1", "T9")
        assert inside is not None and inside.enterprise_id == "E1"
        # another org's workspace does not
        assert await store.find_installation("E2", "T9") is None
    finally:
        await store.close()


async def test_a_grid_orgs_members_are_reached_through_its_org_install_or_newest_workspace(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        assert await store.find_enterprise_installation("E1") is None
        await store.save_installation(_inst(team="T2", enterprise="E1", token="xoxb-t2"))
        later = NOW + timedelta(days=1)
        await store.save_installation(
            Installation(enterprise_id="E1", team_id="T3", bot_token="xoxb-t3", installed_at=later)
        )
        await store.save_installation(_inst(team="T9", enterprise="E2", token="xoxb-other-org"))
        newest = await store.find_enterprise_installation("E1")
        assert newest is not None and newest.bot_token == "xoxb-t3"  # the workspace installed last
        await store.save_installation(_inst(team=None, enterprise="E1", token="xoxb-org", is_enterprise_install=True))
        org = await store.find_enterprise_installation("E1")
        assert org is not None and org.bot_token == "xoxb-org"  # an org-wide install comes first
    finally:
        await store.close()


async def test_a_resent_request_is_recognised_by_every_instance(db_url: str) -> None:
    first, second = await open_store(db_url), await open_store(db_url)
    try:
        results = await asyncio.gather(*(s.first_request("trigger:123", NOW) for s in (first, second, first)))
        assert sorted(results) == [False, False, True]
        # a day later the key is forgotten (pruned), so the table does not grow for ever
        assert await second.first_request("trigger:other", NOW + timedelta(days=2))
        assert await first.first_request("trigger:123", NOW + timedelta(days=2))
    finally:
        await first.close()
        await second.close()


async def test_a_migration_merged_below_the_newest_still_runs(tmp_path: Path) -> None:
    """Numbers are assigned per feature: a database at 0010 that lacks 0007 gets 0007."""
    path = tmp_path / "gap.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    skipped = next(m for m in migrations("sqlite") if m.name == "profile_status")
    for m in migrations("sqlite"):
        if m.number != skipped.number:
            conn.executescript(m.sql)
            conn.execute("INSERT INTO schema_version VALUES (?)", (m.number,))
    conn.commit()
    conn.close()
    store = await open_store(f"sqlite:///{path}", migrate=False)
    try:
        assert await store.migrate() == [skipped.number]
        assert await store.migrate() == []
        row = await store.db.one("SELECT COUNT(*) FROM pragma_table_info('profiles') WHERE name = 'status'")
        assert row is not None and row[0] == 1
    finally:
        await store.close()


async def test_an_oauth_state_is_used_once_and_expires(db_url: str) -> None:
    first, second = await open_store(db_url), await open_store(db_url)
    try:
        await first.issue_oauth_state("s1", NOW + timedelta(minutes=10))
        await first.issue_oauth_state("s2", NOW + timedelta(minutes=10))
        assert await second.consume_oauth_state("s1", NOW)  # another instance finishes the install
        assert not await first.consume_oauth_state("s1", NOW)  # used once
        assert not await first.consume_oauth_state("s2", NOW + timedelta(minutes=11))  # expired
        assert not await first.consume_oauth_state("never-issued", NOW)
    finally:
        await first.close()
        await second.close()
