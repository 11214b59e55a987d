"""PostgreSQL faults under a running bot: the database made read-only, and its connections cut (a
server restart or failover). Each is one line, nothing stored is lost, and the bot recovers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bot.core.clock import ManualClock
from tests.helpers import START, Transcript
from tests.test_privacy import _app

APOLOGY = "Something went wrong"


async def _admin(pg_url: str, *statements: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(pg_url.rsplit("/", 1)[0] + "/postgres")
    try:
        for sql in statements:
            await conn.execute(sql.format(db=name))
    finally:
        await conn.close()


async def _in_transaction(pg_url: str) -> bool:
    name = pg_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(pg_url.rsplit("/", 1)[0] + "/postgres")
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL"
            " AND now() - xact_start > interval '200 milliseconds'",
            name,
        )
    finally:
        await conn.close()
    return bool(n)


async def _until_ok(me: Transcript, line: str) -> str:
    """The reply once the pool has replaced its cut connections (each try before is the one line)."""
    for _ in range(12):
        out = await me.say(line)
        if "was lost" not in out:
            return out
        assert out.count("\n") == 1 and "rolled back" in out, out
    raise AssertionError("the connections never came back")


CUT = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"


async def test_cut_connections_and_a_read_only_database_are_one_line_each_and_lose_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    app = await _app(pg_url, ManualClock(START))
    me = Transcript(app)
    assert "Added #1" in await me.say('/contact add "Dr Before" how_met:conference met_on:today')

    await _admin(pg_url, CUT)  # every connection the bot holds is cut, as by a server restart
    replies = [await me.say("/contact list") for _ in range(12)]  # the pool replaces the dead ones
    for out in replies:
        assert APOLOGY not in out and "Traceback" not in out, out
    assert "Dr Before" in replies[-1]  # (asyncpg's pool notices closed connections and opens new ones)

    # cut in the middle of a long import's transaction: one line, and nothing of the import is kept
    rows = "".join(f"Dr Row {i},peer,Inst {i},conference,2026-10-01,2026-10-05\n" for i in range(1500))
    big = tmp_path / "big.csv"
    big.write_text("name,role,institution,how_met,met_on,last_contact\n" + rows, encoding="utf-8")
    task = asyncio.create_task(me.say(f"/contact import {big}"))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if await _in_transaction(pg_url):
            break
    await asyncio.sleep(0.3)
    assert not task.done(), "the import finished before the cut: make it longer"
    await _admin(pg_url, CUT)
    out = await task
    assert out == (
        f"the connection to the database at {app.store.url} was lost; anything not yet saved was rolled back: "
        "check, then try again\n"
    ), out
    assert "Contacts (all): 1" in await _until_ok(me, "/contact list")

    await _admin(pg_url, "ALTER DATABASE {db} SET default_transaction_read_only = on", CUT)
    outs = [await me.say('/contact add "Dr During"') for _ in range(12)]
    assert all(APOLOGY not in o for o in outs), outs
    assert any(
        o == f"the database at {app.store.url} is read-only, nothing was changed; make it writable for imgbot\n"
        for o in outs
    ), outs
    assert not any("Added" in o for o in outs)
    assert "Dr Before" in await me.say("/contact list")  # reading still works

    await _admin(pg_url, "ALTER DATABASE {db} RESET default_transaction_read_only", CUT)
    for _ in range(12):
        out = await me.say('/contact add "Dr After"')
        if "Added" in out:
            break
    assert "Added #2 Dr After" in out, out
    listed = await me.say("/contact list")
    assert "Dr Before" in listed and "Dr After" in listed and "Dr During" not in listed
