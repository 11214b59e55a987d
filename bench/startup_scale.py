"""Startup at scale: time and peak memory from process start to "scheduler ready" with 1,000,000 pending nudges.

    python bench/startup_scale.py            # 1,000,000 nudges / 10,000 users; baseline 100,000 jobs
    python bench/startup_scale.py --small    # 100,000 nudges / 1,000 users; baseline 10,000 jobs
    python bench/startup_scale.py --postgres # the same on a throwaway PostgreSQL cluster (tests.pgcluster)
    python bench/startup_scale.py --db-url postgresql://user@host:port/db   # on an existing server

SQLite: the database is generated once (migrations run through ``bot.store.open_store``, then
rows are bulk inserted with sqlite3) and cached under /tmp/imgbot-bench; it is rebuilt when its
nudges are no longer all in the future. PostgreSQL: a new database is created on the server for
every run of the script (migrations through ``open_store``, rows loaded with asyncpg
``copy_records_to_table``, the nudges indexes built after the load, then VACUUM ANALYZE as
autovacuum would do on its own within minutes) and dropped at the end. Either way every nudge is
due 1 to 31 days after generation, so starting the bot must only compute the next wake-up,
never deliver.

Before timing, the bot package is byte-compiled and started once untimed (``prepare_code``;
``--from-source`` skips both). Each measurement is a fresh interpreter (so the peak RSS is the
process's own). The parent takes
a wall-clock timestamp just before spawning and passes it in argv; the child reports elapsed
wall time at each phase, so "ready" includes interpreter start, imports, settings, playbook
loading, opening the store, ``NudgeEngine`` and ``NudgeScheduler.start()`` (recover + first wake:
run_due finds nothing due, refresh asks ``store.next_delivery()`` and arms one ``wake`` job).

Baseline: the same process start, imports and ``build_app``, then one APScheduler job per nudge
(AsyncIOScheduler, MemoryJobStore, one DateTrigger each) for the 100,000 earliest pending
nudges read from the same database, then ``scheduler.start()`` until its first wake-up is armed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    CACHE_DIR,
    add_db_args,
    create_database,
    drop_database,
    machine_info,
    peak_rss_mib,
    pg_version,
    postgres_server,
    table,
    wants_postgres,
)

GENERATOR_VERSION = 1
TARGET_SECONDS = 2.0
TARGET_MIB = 150.0
# SQLite with 1,000,000 pending nudges, as recorded before the store split: must not regress
# (beyond TOLERANCE, for the noise of a shared machine)
SQLITE_REFERENCE = {"ready": 0.56, "rss": 48.0}
TOLERANCE = 0.10
TIMEZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Africa/Cairo",
    "Asia/Kolkata",
    "Asia/Karachi",
    "Africa/Lagos",
    "Asia/Manila",
    "America/Los_Angeles",
)
SPECIALTIES = ("em", "im", "psych", "peds")
_TS = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------- database


def db_path(users: int, per_user: int) -> Path:
    return CACHE_DIR / f"startup-{users * per_user}-nudges-{users}-users.db"


def db_is_usable(path: Path, users: int, per_user: int) -> bool:
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists()):
        return False
    try:
        info = json.loads(meta.read_text())
        if info.get("version") != GENERATOR_VERSION or info.get("nudges") != users * per_user:
            return False
        conn = sqlite3.connect(path)
        try:
            first = conn.execute("SELECT MIN(deliver_at) FROM nudges WHERE status = 'pending'").fetchone()[0]
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM nudges GROUP BY status").fetchall())
        finally:
            conn.close()
    except (OSError, ValueError, sqlite3.Error):
        return False
    # every nudge must still be at least 10 minutes in the future, none touched by a previous run
    soon = (datetime.now(UTC) + timedelta(minutes=10)).strftime(_TS)
    return first is not None and first > soon and counts == {"pending": users * per_user}


def build_db(path: Path, users: int, per_user: int) -> float:
    """Create the schema through the real store (migrations), then bulk insert. Returns seconds."""
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)

    _migrate(tmp)

    now = datetime.now(UTC).replace(microsecond=0)
    created = now.strftime(_TS)

    def nudge_rows():
        for uid, kind, ref, epoch in _nudges(now, users, per_user):
            at = time.strftime(_TS, time.gmtime(epoch))
            yield (uid, kind, ref, at, at)

    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    # Build the nudges indexes after the rows are in (same SQL as the migration, taken from the schema).
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'nudges' AND sql IS NOT NULL"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.executemany(
        "INSERT INTO users (id, platform, account, display_name, created_at) VALUES (?,?,?,?,?)",
        (_user(uid, created) for uid in range(1, users + 1)),
    )
    conn.executemany(
        "INSERT INTO profiles (user_id, name, specialty, track, timezone, updated_at) VALUES (?,?,?,?,?,?)",
        (_profile(uid, created) for uid in range(1, users + 1)),
    )
    conn.executemany("INSERT INTO nudges (user_id, kind, ref, due_at, deliver_at) VALUES (?,?,?,?,?)", nudge_rows())
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    path.with_suffix(".json").write_text(
        json.dumps({"version": GENERATOR_VERSION, "users": users, "nudges": users * per_user, "created": created})
    )
    return time.perf_counter() - started


def _user(uid: int, created: object) -> tuple:
    return (uid, "discord", str(900_000_000_000_000_000 + uid), f"user{uid}", created)


def _profile(uid: int, created: object) -> tuple:
    return (
        uid,
        f"User {uid}",
        SPECIALTIES[uid % 4],
        "non-us-img" if uid % 3 else "us-img",
        TIMEZONES[uid % len(TIMEZONES)],
        created,
    )


def _nudges(now: datetime, users: int, per_user: int):
    """(user_id, kind, ref, deliver epoch seconds): 3 goal nudges then follow-ups per user, due in 1-31 days."""
    rng = random.Random(20240601)
    base = int((now + timedelta(days=1)).timestamp())
    span = 30 * 24 * 3600
    month = now.strftime("%Y-%m")
    goal_kinds = ("goal-kickoff", "goal-midmonth", "goal-summary")
    for uid in range(1, users + 1):
        for j in range(per_user):
            at = base + rng.randrange(span)
            if j < len(goal_kinds):
                yield (uid, goal_kinds[j], month, at)
            else:
                yield (uid, "followup", str(uid * 1000 + j), at)


def _migrate_url(url: str) -> None:
    from bot.store import open_store

    async def go() -> None:
        store = await open_store(url)  # applies every migration
        await store.close()

    asyncio.run(go())


def _migrate(path: Path) -> None:
    _migrate_url(f"sqlite:///{path}")


def build_pg_db(url: str, users: int, per_user: int) -> float:
    """Migrations through open_store, then COPY users, profiles and nudges; nudges indexes after."""
    import asyncpg

    started = time.perf_counter()
    _migrate_url(url)
    now = datetime.now(UTC).replace(microsecond=0)

    async def load() -> None:
        conn = await asyncpg.connect(url)
        try:
            indexes = await conn.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'nudges'"
                " AND i.indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'nudges'::regclass)"
            )
            async with conn.transaction():
                for row in indexes:
                    await conn.execute(f"DROP INDEX {row['indexname']}")
                await conn.copy_records_to_table(
                    "users",
                    records=(_user(uid, now) for uid in range(1, users + 1)),
                    columns=["id", "platform", "account", "display_name", "created_at"],
                )
                await conn.copy_records_to_table(
                    "profiles",
                    records=(_profile(uid, now) for uid in range(1, users + 1)),
                    columns=["user_id", "name", "specialty", "track", "timezone", "updated_at"],
                )
                await conn.copy_records_to_table(
                    "nudges",
                    records=(
                        (uid, kind, ref, at, at)
                        for uid, kind, ref, epoch in _nudges(now, users, per_user)
                        for at in (datetime.fromtimestamp(epoch, UTC),)
                    ),
                    columns=["user_id", "kind", "ref", "due_at", "deliver_at"],
                )
                for row in indexes:
                    await conn.execute(row["indexdef"])
                await conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))")
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()

    asyncio.run(load())
    return time.perf_counter() - started


def pg_size_mib(url: str) -> float:
    import asyncpg

    async def go() -> float:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())")) / 2**20
        finally:
            await conn.close()

    return asyncio.run(go())


def ensure_db(users: int, per_user: int) -> tuple[Path, str]:
    path = db_path(users, per_user)
    if db_is_usable(path, users, per_user):
        _migrate(path)  # a migration added since the file was cached is applied here, not in a timed start
        return path, "cached"
    secs = build_db(path, users, per_user)
    return path, f"generated in {secs:.1f} s"


# --------------------------------------------------------------------------- children


class _NullPort:
    """A DeliveryPort that only counts: startup must deliver nothing."""

    def __init__(self) -> None:
        self.delivered = 0

    async def deliver(self, user, reply, nonce) -> None:
        self.delivered += 1


async def _child_ours(url: str, t0: float) -> dict:
    from bot.core.nudges import NudgeEngine
    from bot.runtime import build_app
    from bot.scheduler import NudgeScheduler
    from bot.settings import load_settings

    t_imports = time.time() - t0
    settings = load_settings(database_url=url)
    app = await build_app(settings)
    t_app = time.time() - t0
    port = _NullPort()
    engine = NudgeEngine(app, {"discord": port}, rate=settings.dm_rate)
    sched = NudgeScheduler(engine, settings.heartbeat_seconds)
    await sched.start()
    t_ready = time.time() - t0
    rss = peak_rss_mib()
    assert port.delivered == 0, "startup delivered nudges: the generated ones must all be in the future"
    assert sched.next_wake is not None and sched.next_wake > datetime.now(UTC)
    # What every later wake-up with nothing (or little) due costs: the heartbeat, and the last
    # take_over() + claim_due() round that ends each run_due() loop, then next_delivery() and
    # next_lease_expiry(). Measured after "ready", not part of it.
    idle = []
    for _ in range(5):
        t = time.perf_counter()
        await sched._wake()
        idle.append(time.perf_counter() - t)
    assert port.delivered == 0
    out = {
        "imports": t_imports,
        "app": t_app,
        "ready": t_ready,
        "rss": rss,
        "jobs": sched.job_count(),
        "next_wake": sched.next_wake.isoformat(),
        "idle_wake": statistics.median(idle),
    }
    await sched.shutdown()
    await app.store.close()
    return out


async def _deliver_one(nudge_id: int) -> None:  # the baseline's job target; never runs here
    return None


async def _child_baseline(url: str, t0: float, n: int) -> dict:
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger

    from bot.runtime import build_app
    from bot.settings import load_settings

    t_imports = time.time() - t0
    from bot.store.driver import as_dt, sqlite_path

    settings = load_settings(database_url=url)
    app = await build_app(settings)  # same fixed cost as ours: settings, playbooks, store
    t_app = time.time() - t0
    query = "SELECT id, deliver_at FROM nudges WHERE status = 'pending' ORDER BY deliver_at LIMIT ?"
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(url))
        rows = conn.execute(query, (n,)).fetchall()
        conn.close()
    else:  # PostgreSQL: through the bot's own driver (asyncpg)
        rows = await app.store.db.all(query, (n,))
    sched = AsyncIOScheduler(
        timezone=UTC,
        jobstores={"default": MemoryJobStore()},
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
    for nudge_id, deliver_at in rows:
        run_at = as_dt(deliver_at)
        sched.add_job(_deliver_one, DateTrigger(run_date=run_at), args=(nudge_id,), id=str(nudge_id))
    sched.start()  # jobs added before start go into the store without a wake-up each
    await asyncio.sleep(0)  # start() queued its first wakeup on the loop: let it arm the timer
    t_ready = time.time() - t0
    rss = peak_rss_mib()
    jobs = len(sched.get_jobs())
    sched.shutdown(wait=False)
    await asyncio.sleep(0)
    await app.store.close()
    return {"imports": t_imports, "app": t_app, "ready": t_ready, "rss": rss, "jobs": jobs}


def child_main(args: argparse.Namespace) -> int:
    if args.child == "ours":
        out = asyncio.run(_child_ours(args.url, args.t0))
    else:
        out = asyncio.run(_child_baseline(args.url, args.t0, args.n))
    print("READY " + json.dumps(out), flush=True)
    return 0


# --------------------------------------------------------------------------- parent


def spawn(mode: str, url: str, n: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--url", url, "--n", str(n)]
    t0 = time.time()
    proc = subprocess.run([*cmd, "--t0", repr(t0)], capture_output=True, text=True, timeout=600, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("READY ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child {mode} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1][6:])


def prepare_code(from_source: bool, url: str) -> str:
    """Start as an installed bot starts: ``pip install`` byte-compiles what it installs (in the
    Dockerfile too: its PYTHONDONTWRITEBYTECODE=1 only stops imports from writing), while an
    editable checkout under PYTHONDONTWRITEBYTECODE=1 compiles every module of the bot from source
    at every start, which no deployed start does. Then one
    untimed start, as the first start after an install: it keeps the validated playbooks in the
    user's cache directory (IMGBOT_PLAYBOOK_CACHE) and reads the files into the page cache."""
    if from_source:
        flag = os.environ.get("PYTHONDONTWRITEBYTECODE") or "unset"
        return f"code: as the environment has it (--from-source; PYTHONDONTWRITEBYTECODE={flag})"
    import compileall

    import bot

    package = Path(bot.__file__).resolve().parent
    compileall.compile_dir(str(package), quiet=1)
    spawn("ours", url, 0)
    return f"code: {package} byte-compiled first (compileall), then one untimed start"


def summarize(label: str, n: int, runs: list[dict]) -> dict:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return {
        "label": label,
        "n": n,
        "runs": len(runs),
        "jobs": runs[0]["jobs"],
        "imports": med("imports"),
        "app": med("app"),
        "ready": med("ready"),
        "ready_max": max(r["ready"] for r in runs),
        "rss": med("rss"),
        "rss_max": max(r["rss"] for r in runs),
        "sched": statistics.median(r["ready"] - r["app"] for r in runs),
        "idle_wake": statistics.median(r["idle_wake"] for r in runs) if "idle_wake" in runs[0] else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="100,000 nudges / 1,000 users, 10,000-job baseline")
    ap.add_argument("--runs", type=int, default=None, help="fresh processes per case (default 5, --small 3)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-job-per-nudge baseline (it is slow)")
    ap.add_argument(
        "--from-source",
        action="store_true",
        help="do not byte-compile the bot first: with PYTHONDONTWRITEBYTECODE=1 every start then compiles it",
    )
    ap.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--t0", type=float, default=0.0, help=argparse.SUPPRESS)
    add_db_args(ap)
    args = ap.parse_args()
    if args.child:
        return child_main(args)
    if wants_postgres(args):
        with postgres_server(args.pg_url) as (base, where):
            dbs: list[str] = []
            try:
                return run(args, base, where, dbs)
            finally:
                for url in dbs:
                    drop_database(base, url)
    return run(args, None, "", [])


def run(args: argparse.Namespace, pg_base: str | None, pg_where: str, dbs: list[str]) -> int:
    runs = args.runs or (3 if args.small else 5)
    if pg_base is None:
        print(machine_info())
    else:
        print(f"{machine_info()} · PostgreSQL {pg_version(pg_base)} ({pg_where})")
    if args.small:
        big = (1_000, 100)
        baseline_n = 10_000
    else:
        big = (10_000, 100)
        baseline_n = 100_000
    same = (baseline_n // 100, 100)  # a database the size of the baseline, for a same-size comparison

    def prepare(users: int, per_user: int) -> tuple[str, str]:
        if pg_base is None:
            path, note = ensure_db(users, per_user)
            return f"sqlite:///{path}", f"{path} ({users * per_user:,} pending nudges, {users:,} users; {note};" + (
                f" {path.stat().st_size / 2**20:.0f} MiB)"
            )
        url = create_database(pg_base, f"imgbot_startup_{users * per_user}")
        dbs.append(url)
        secs = build_pg_db(url, users, per_user)
        return url, (
            f"PostgreSQL database {url.rsplit('/', 1)[-1]} ({users * per_user:,} pending nudges, {users:,} users;"
            f" generated in {secs:.1f} s; {pg_size_mib(url):.0f} MiB)"
        )

    big_db, big_note = prepare(*big)
    print(f"database: {big_note}")
    same_db = big_db
    if same != big:
        same_db, same_note = prepare(*same)
        print(f"database: {same_note}")
    print(prepare_code(args.from_source, big_db))
    print(f"runs per case: {runs} fresh processes; times are wall clock from just before spawn; medians\n")

    results = []
    cases: list[tuple[str, str, str, int]] = [("ours (2 jobs)", "ours", big_db, big[0] * big[1])]
    if same != big:
        cases.append(("ours (2 jobs)", "ours", same_db, same[0] * same[1]))
    if not args.no_baseline:
        cases.append(("baseline: 1 job per nudge", "baseline", big_db, baseline_n))
    for label, mode, db, n in cases:
        results.append(summarize(label, n, [spawn(mode, db, n) for _ in range(runs)]))

    rows = [
        [
            r["label"],
            f"{r['n']:,}",
            f"{r['jobs']:,}",
            f"{r['imports']:.2f}",
            f"{r['app']:.2f}",
            f"{r['sched']:.3f}",
            f"{r['ready']:.2f}",
            f"{r['ready_max']:.2f}",
            f"{r['rss']:.1f}",
            f"{r['rss_max']:.1f}",
            "n/a" if r["idle_wake"] is None else f"{r['idle_wake'] * 1000:.1f}",
        ]
        for r in results
    ]
    print(
        table(
            [
                "case",
                "nudges",
                "jobs",
                "imports s",
                "app built s",
                "sched part s",
                "ready s (p50)",
                "ready s (max)",
                "peak RSS MiB (p50)",
                "(max)",
                "idle wake ms",
            ],
            rows,
        )
    )
    print(
        "\nimports/app built/ready: elapsed since spawn; sched part: ready - app built"
        " (ours: recover + first wake + next_delivery; baseline: read rows + add_job each + start);"
        "\nidle wake: one NudgeScheduler._wake() with nothing due, after ready (what each heartbeat and the"
        " end of every delivery run cost)"
    )

    ours, base = results[0], results[-1]
    print()
    if args.no_baseline:
        print("(baseline not run: --no-baseline)")
    else:
        print(
            table(
                ["ratio baseline / ours", "time to ready", "sched part", "peak RSS"],
                [
                    [
                        f"baseline {base['n']:,} vs ours {r['n']:,}",
                        f"{base['ready'] / r['ready']:.2f}x",
                        f"{base['sched'] / r['sched']:.0f}x",
                        f"{base['rss'] / r['rss']:.2f}x",
                    ]
                    for r in results[:-1]
                ],
            )
        )
    ok_time = ours["ready_max"] <= TARGET_SECONDS
    ok_mem = ours["rss_max"] <= TARGET_MIB
    print(
        f"\ntarget ready <= {TARGET_SECONDS:.0f} s with {ours['n']:,} nudges: "
        f"{'PASS' if ok_time else 'FAIL'} (worst {ours['ready_max']:.2f} s)"
    )
    print(
        f"target peak RSS <= {TARGET_MIB:.0f} MiB with {ours['n']:,} nudges: "
        f"{'PASS' if ok_mem else 'FAIL'} (worst {ours['rss_max']:.1f} MiB)"
    )
    ok_ref = True
    if pg_base is None:
        if ours["n"] == 1_000_000:
            ref_t, ref_m = SQLITE_REFERENCE["ready"], SQLITE_REFERENCE["rss"]
            ok_ref = ours["ready"] <= ref_t * (1 + TOLERANCE) and ours["rss"] <= ref_m * (1 + TOLERANCE)
            print(
                f"target SQLite no regression vs {ref_t} s / {ref_m:.0f} MiB (medians, +{TOLERANCE:.0%} allowed):"
                f" {'PASS' if ok_ref else 'FAIL'} (ready p50 {ours['ready']:.2f} s, peak RSS p50 {ours['rss']:.1f} MiB;"
                f" sched part {ours['sched']:.3f} s, idle wake {ours['idle_wake'] * 1000:.1f} ms)"
            )
        else:
            print(
                "target SQLite no regression: not checked (the reference is for 1,000,000 nudges; run without --small)"
            )
    return 0 if ok_time and ok_mem and ok_ref else 1


if __name__ == "__main__":
    sys.exit(main())
