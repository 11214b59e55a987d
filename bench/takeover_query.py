"""Taking over a dead instance's claims on PostgreSQL: what ``store.take_over`` costs, and does it keep digests whole?

    python bench/takeover_query.py            # 20,000 users x 5; a dead instance held 2,000 digests (10,000 rows)
    python bench/takeover_query.py --small    # 2,000 users x 5; it held 100 digests
    python bench/takeover_query.py --pg-url postgresql://user@host:port/db

Set-up (the seed of scale_out.py: users, profiles, contacts, due follow-up nudges, by COPY, then
VACUUM ANALYZE), then one UPDATE makes all rows of the first ``--held`` users 'sending', owned
by a dead instance, each user's rows one digest, with a lease that ran out 5 s ago: the state a
peer finds after ``kill -9``.

1. **Cost of one call.** ``store.take_over(...)`` as a peer's ``_round`` calls it (batch 500
   digests), timed, in a transaction that is rolled back, twice: with the planner statistics of
   the seed (taken when no row was 'sending', as they are whenever autovacuum last analyzed the
   table between claims), and after ``ANALYZE nudges``. The plan of each is printed. Statements
   are cut at the driver's 60 s command timeout, which is what an instance sees.
2. **Whole digests.** A second connection locks user 1 (as a peer's take_over in progress does:
   it locks users, like a claim), then ``take_over`` runs on the store: it should take the whole
   digest of user 1 or none of it.
3. **The whole claim.** Two peers call ``take_over`` at once, call after call, until nothing is
   left: rows and digests per call, time per call and in all, rows taken twice, digests split.

Targets: one take_over call takes <= 1 s (a tenth of a 10 s lease) and at most one batch, with
either statistics and while draining; a digest is never split between two peers; the whole
claim is taken over exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from _common import create_database, drop_database, machine_info, pg_version, postgres_server, table

TARGET_S = 1.0
BATCH = 500  # NudgeEngine's default batch: digests per take_over call
TIMEOUT_S = 60.0


class Rollback(Exception):
    pass


async def timed_take_over(store, now: datetime) -> tuple[float, int | str]:
    t = time.perf_counter()
    try:
        async with store.db.transaction():
            rows = await store.take_over("peer", now, now + timedelta(seconds=10), BATCH, ["bench"])
            raise Rollback(len(rows))
    except Rollback as r:
        return time.perf_counter() - t, int(r.args[0])
    except TimeoutError:
        return time.perf_counter() - t, "timeout"


async def plan(store, conn, now: datetime) -> str:
    from bot.store.driver import pg_sql

    # the statement take_over sends, with its arguments in place
    sql, args = store.take_over_statement("peer", now, now + timedelta(seconds=10), BATCH, ["bench"])
    rows = await conn.fetch("EXPLAIN " + pg_sql(sql), *args)
    return "\n".join("    " + r[0] for r in rows)


async def drain(stores, now: datetime) -> dict:
    """Peers taking over at once, call after call, until nothing is left: per call, rows, digests, time."""
    seen: dict[int, str] = {}
    digest_owner: dict[str, str] = {}
    calls: list[tuple[float, int, int]] = []
    twice = split = 0
    t0 = time.perf_counter()

    async def one(k: int, store) -> None:
        nonlocal twice, split
        while True:
            t = time.perf_counter()
            rows = await store.take_over(f"peer{k}", now, now + timedelta(seconds=600), BATCH, ["bench"])
            if not rows:
                return
            digests = {n.digest for n in rows}
            calls.append((time.perf_counter() - t, len(rows), len(digests)))
            for n in rows:
                twice += n.id in seen
                seen[n.id] = f"peer{k}"
                if digest_owner.setdefault(n.digest, f"peer{k}") != f"peer{k}":
                    split += 1

    await asyncio.gather(*(one(k, s) for k, s in enumerate(stores)))
    return {"seconds": time.perf_counter() - t0, "calls": calls, "rows": len(seen), "twice": twice, "split": split}


async def run(base: str, users: int, held: int) -> int:
    import asyncpg
    import scale_out

    from bot.store import open_store

    url = create_database(base, "imgbot_takeover")
    try:
        t = time.perf_counter()
        nudges = await scale_out.seed(url, users, 5)
        print(f"seed: {users:,} users x 5 due follow-up nudges = {nudges:,}; {time.perf_counter() - t:.1f} s")
        conn = await asyncpg.connect(url)
        now = datetime.now(UTC)
        changed = await conn.execute(
            "UPDATE nudges SET status = 'sending', lease_owner = 'dead', lease_until = $1,"
            " digest = 'dead0token-' || user_id WHERE user_id <= $2",
            now - timedelta(seconds=5),
            held,
        )
        held_rows = int(changed.split()[-1])
        print(f"dead instance: {held} digests, {held_rows} rows 'sending', lease ran out 5 s ago; batch {BATCH}\n")
        store = await open_store(url)
        rows = []
        plans = []
        for label in ("statistics from the seed (nothing was 'sending')", "after ANALYZE nudges"):
            if label.startswith("after"):
                await conn.execute("ANALYZE nudges")
            plans.append((label, await plan(store, conn, now)))
            secs, got = await timed_take_over(store, now)
            bounded = got != "timeout" and int(got) <= BATCH * 5
            rows.append([label, f"{secs:.2f}", got, "PASS" if secs <= TARGET_S and bounded else "FAIL"])
        print(table(["one take_over call (batch of digests)", "seconds", "rows taken", "<= 1 s, <= 1 batch"], rows))
        for label, text in plans:
            print(f"\nplan, {label}:\n{text}")

        # whole digests: a peer's take_over in progress holds user 1 (it locks users, as a claim does)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM nudges WHERE user_id = 1 ORDER BY id")]
        other = await asyncpg.connect(url)
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT id FROM users WHERE id = 1 FOR UPDATE")
        try:
            async with store.db.transaction():
                taken = await store.take_over("peer", now, now + timedelta(seconds=10), BATCH, ["bench"])
                raise Rollback([n.id for n in taken if n.digest == "dead0token-1"])
        except Rollback as r:
            mine = r.args[0]
        await tx.rollback()
        await other.close()
        split = 0 < len(mine) < len(ids)
        print(
            f"\nwhole digests: digest dead0token-1 has rows {ids}; another peer is taking over user 1;"
            f" take_over took {mine or 'none of it'}: {'SPLIT' if split else 'whole or none'}"
        )

        # the whole claim, by two peers at once, call after call
        peers = [store, await open_store(url)]
        d = await drain(peers, now)
        await peers[1].close()
        per_call = [c[0] for c in d["calls"]]
        print(
            f"\nall of it, two peers at once: {d['rows']:,} of {held_rows:,} rows in {len(d['calls'])} calls,"
            f" {d['seconds']:.2f} s; per call at most {max(c[1] for c in d['calls']):,} rows /"
            f" {max(c[2] for c in d['calls'])} digests, {max(per_call):.2f} s"
            f" (median {statistics.median(per_call):.2f} s);"
            f" rows taken twice {d['twice']}, digests split {d['split']}"
        )
        await store.close()
        await conn.close()
    finally:
        drop_database(base, url)
    drained = d["rows"] == held_rows and not d["twice"] and not d["split"]
    ok = all(r[3] == "PASS" for r in rows) and not split and drained and max(per_call) <= TARGET_S
    print(
        f"\ntarget one take_over call <= {TARGET_S:.0f} s and <= one batch with either statistics: "
        f"{'PASS' if all(r[3] == 'PASS' for r in rows) and max(per_call) <= TARGET_S else 'FAIL'}"
    )
    print(f"target a digest is never split between peers: {'FAIL' if split or d['split'] else 'PASS'}")
    print(f"target the whole claim taken over once: {'PASS' if drained else 'FAIL'}")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="2,000 users; the dead instance held 100 digests")
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--held", type=int, default=None, help="digests the dead instance held (default 2,000)")
    ap.add_argument("--db-url", "--pg-url", dest="pg_url", metavar="URL", help="PostgreSQL server")
    args = ap.parse_args()
    users = args.users or (2_000 if args.small else 20_000)
    held = args.held or (100 if args.small else 2_000)
    with postgres_server(args.pg_url) as (base, where):
        print(f"{machine_info()} · PostgreSQL {pg_version(base)} ({where})")
        return asyncio.run(run(base, users, held))


if __name__ == "__main__":
    sys.exit(main())
