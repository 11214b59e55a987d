"""The PostgreSQL test fixtures really give a working, fresh, private database per test."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests import pgcluster

REPO = Path(__file__).resolve().parent.parent
SEEN_DATABASES: list[str] = []


async def _user_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    return [r["t"] for r in rows]


async def test_pg_url_round_trip(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        await conn.executemany("INSERT INTO notes (body) VALUES ($1)", [("first",), ("second",)])
        rows = await conn.fetch("SELECT id, body FROM notes ORDER BY id")
    finally:
        await conn.close()
    assert [(r["id"], r["body"]) for r in rows] == [(1, "first"), (2, "second")]


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_gets_its_own_empty_database(pg_url: str, run: int) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        assert name == pg_url.rsplit("/", 1)[1]
        assert name not in SEEN_DATABASES
        assert name.startswith("imgbot_t_")
        assert await _user_tables(conn) == []  # the table made by run 1 is not here in run 2
        await conn.execute("CREATE TABLE leftover (x int)")
        await conn.execute("INSERT INTO leftover VALUES (1)")
    finally:
        await conn.close()
    SEEN_DATABASES.append(name)


async def test_databases_are_dropped_after_their_test(pg_server: str) -> None:
    url = pgcluster.create_database(pg_server)
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(url)  # an open connection must not stop the drop (WITH (FORCE))
    pgcluster.drop_database(pg_server, url)
    admin = await asyncpg.connect(pg_server)
    try:
        names = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
    finally:
        await admin.close()
        conn.terminate()
    assert name not in names
    assert not names & set(SEEN_DATABASES)  # pg_url dropped the ones the tests above used


def test_pg_url_works_from_a_sync_test(pg_url: str) -> None:
    import asyncio

    async def one() -> int:
        conn = await asyncpg.connect(pg_url)
        try:
            return int(await conn.fetchval("SELECT 41 + 1"))
        finally:
            await conn.close()

    assert asyncio.run(one()) == 42


async def test_db_url_kinds(db_url: str, request: pytest.FixtureRequest) -> None:
    kind = request.node.callspec.id
    if kind == "sqlite":
        assert db_url.startswith("sqlite:///")
        path = Path(db_url.removeprefix("sqlite:///"))
        assert not path.exists()  # fresh
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x int)")
            db.execute("INSERT INTO t VALUES (7)")
            assert db.execute("SELECT x FROM t").fetchall() == [(7,)]
    else:
        assert kind == "postgres"
        assert db_url.startswith("postgresql://")
        conn = await asyncpg.connect(db_url)
        try:
            assert await _user_tables(conn) == []
            await conn.execute("CREATE TABLE t (x int)")
            await conn.execute("INSERT INTO t VALUES (7)")
            assert await conn.fetchval("SELECT x FROM t") == 7
        finally:
            await conn.close()


def test_db_url_is_parametrized_over_both_kinds() -> None:
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-o",
            "addopts=",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_db_url_kinds",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    ids = [line.rsplit("::", 1)[1] for line in collected.stdout.splitlines() if "::" in line]
    assert ids == ["test_db_url_kinds[sqlite]", "test_db_url_kinds[postgres]"], collected.stdout + collected.stderr


def test_cli_starts_and_stops_a_tuned_local_only_cluster() -> None:
    if pgcluster.find_bindir() is None:
        if os.environ.get("IMGBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail("IMGBOT_REQUIRE_POSTGRES=1 but PostgreSQL binaries not found", pytrace=False)
        pytest.skip("PostgreSQL binaries not found")
    root = pgcluster.make_tempdir()  # short (the socket lives here) and empty
    cli = [sys.executable, "-m", "tests.pgcluster"]
    started = subprocess.run([*cli, "start", "--dir", str(root)], cwd=REPO, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("postgresql://postgres@127.0.0.1:") and url.endswith("/postgres")
        assert (root / "url").read_text().strip() == url

        async def settings() -> dict[str, str]:
            conn = await asyncpg.connect(url)
            try:
                names = ["listen_addresses", "fsync", "synchronous_commit", "full_page_writes", "max_connections"]
                out = {n: await conn.fetchval(f"SHOW {n}") for n in names}
                out["socket"] = await conn.fetchval("SHOW unix_socket_directories")
                return out
            finally:
                await conn.close()

        got = pgcluster._run_in_thread(settings)
        assert got == {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "socket": str(root),
        }
        hba = (root / "data" / "pg_hba.conf").read_text().split("\n")
        rules = [line.split() for line in hba if line.strip() and not line.startswith("#")]
        assert rules == [["local", "all", "all", "trust"], ["host", "all", "all", "127.0.0.1/32", "trust"]]
    finally:
        stopped = subprocess.run([*cli, "stop", "--dir", str(root)], cwd=REPO, capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not root.exists()

    async def refused() -> None:
        await asyncpg.connect(url, timeout=5)

    with pytest.raises((OSError, asyncpg.PostgresError)):
        pgcluster._run_in_thread(refused)
