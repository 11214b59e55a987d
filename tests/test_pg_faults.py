"""PostgreSQL faults under a running bot: the database made read-only, and its connections cut (a
server restart or failover). Each is one line, nothing stored is lost, and the bot recovers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bot.core.clock import ManualClock
from bot.core.models import NudgeKind, UserRef
from bot.store import open_store
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


async def test_a_statement_chosen_as_a_deadlocks_victim_is_run_again_by_the_driver_and_wins(pg_url: str) -> None:
    """A real deadlock: another session holds a digest's second row and then asks for its first,
    while the store's batched sent mark holds the first (rows are locked in id order) and waits
    for the second. PostgreSQL aborts the mark (the other session waits 10 s before it looks for
    deadlocks, the store's 1 s); the driver runs it again once the other session commits, and
    the mark is written."""
    store = await open_store(pg_url)
    other = await asyncpg.connect(pg_url)
    try:
        uid = await store.ensure_user(UserRef("test", "amal"), START)
        await store.put_nudge(uid, NudgeKind.FOLLOWUP, "1", START, START)
        await store.put_nudge(uid, NudgeKind.FOLLOWUP, "2", START, START)
        claimed = await store.claim_due("a", "tok", START, START + timedelta(minutes=1), 10, ["test"])
        first, second = sorted(n.id for n in claimed)
        digest = claimed[0].digest or ""
        assert await other.fetchval("SHOW deadlock_timeout") != "10s"
        await other.execute("SET deadlock_timeout = '10s'")  # so the store's side is the victim
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE nudges SET attempts = attempts + 1 WHERE id = $1", second)
        mark = asyncio.create_task(store.mark_sent_many([(digest, START)], owner="a"))
        for _ in range(200):  # until the mark waits for the second row's lock
            if await other.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the sent mark never waited for the row lock")
        # the opposite order: a deadlock, which PostgreSQL breaks by aborting the mark
        await other.execute("UPDATE nudges SET attempts = attempts + 1 WHERE id = $1", first)
        assert not mark.done() or mark.exception() is None
        await tx.commit()
        assert await asyncio.wait_for(mark, 10) == {digest}
        assert store.db.conflicts_retried == 1
        rows = await other.fetch("SELECT status, attempts FROM nudges ORDER BY id")
        assert [tuple(r) for r in rows] == [("sent", 1), ("sent", 1)]  # both sides' changes kept
    finally:
        await other.close()
        await store.close()
