"""The weekly digest of one large circle, as the engine makes it when the window closes.

    python bench/circle_digest.py            # 5,000 members, 12 weeks of check-ins, 10 timed runs
    python bench/circle_digest.py --small    # 500 members, 3 timed runs
    python bench/circle_digest.py --postgres # the same on a throwaway PostgreSQL cluster (or --db-url URL)

The database is made by the real migrations (``open_store``); users, profiles, members, goals,
contacts and check-ins are then bulk inserted through the store's driver. The program is set up
with ``/circle setup`` through the registry. Each member checks in with probability 0.8 per week
(so streaks vary); 60% share counts, 30% counts and wins, 10% nothing; every member has two or
three goals; each member who shares wins wrote one naming one of their three contacts (the digest
takes the name out).

Each run is ``make_digest(store, program, week)``: the store reads (members joined with profiles,
12 weeks of check-ins, every member's goals, the contacts of members whose win is shown), the pure
digest, and the chart rendered with Pillow in a worker thread (``asyncio.to_thread``). Wall clock
per run; the target is on the slowest run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    add_db_args,
    create_database,
    drop_database,
    machine_info,
    percentile,
    postgres_server,
    table,
    wants_postgres,
)

from bot.core.clock import ManualClock
from bot.core.community.digest import make_digest
from bot.core.community.models import shift_week
from bot.core.dispatch import run_line
from bot.core.models import UserRef
from bot.frontends.console import console_origin
from bot.runtime import build_app
from bot.settings import Settings

TARGET_S = 1.0
NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # Friday: week 48 closes
WEEK = "2026-W48"
WEEKS = 12


async def populate(app, members: int, seed: int = 7) -> int:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    admin = UserRef("console", "admin", "admin")
    origin = console_origin("Big", "accountability", True)
    reply = await run_line(app, admin, "/circle setup timezone:UTC", origin=origin)
    assert "Circle started" in reply.title, reply.title
    db = app.store.db  # type: ignore[attr-defined]
    first = int((await db.one("SELECT COALESCE(MAX(id), 0) FROM users"))[0]) + 1
    ids = list(range(first, first + members))
    specialties = ["em", "im", "psych", "peds"]
    await db.many(
        "INSERT INTO users (id, platform, account, display_name, created_at) VALUES (?,?,?,?,?)",
        [(u, "console", f"m{u}", f"Member {u}", NOW) for u in ids],
    )
    await db.many(
        "INSERT INTO profiles (user_id, specialty, track, timezone, updated_at) VALUES (?,?,?,?,?)",
        [(u, rng.choice(specialties), rng.choice(["us-img", "non-us-img"]), "UTC", NOW) for u in ids],
    )
    vis = {u: rng.choices(["counts", "wins", "none"], [6, 3, 1])[0] for u in ids}
    await db.many(
        "INSERT INTO circle_members (program_id, user_id, visibility, joined_at) VALUES (1,?,?,?)",
        [(u, vis[u], NOW) for u in ids],
    )
    goals = []
    for u in ids:
        for metric in rng.sample(["emails", "new-contacts", "conversations", "follow-ups"], rng.choice([2, 3])):
            goals.append((u, metric, rng.choice(["week", "month"]), rng.randint(1, 8)))
    await db.many("INSERT INTO goals (user_id, metric, period, count) VALUES (?,?,?,?)", goals)
    contacts = []
    for u in ids:
        for n in range(1, 4):
            name = f"Dr Contact {u}-{n}"
            contacts.append((u, n, name, name.lower(), "attending", "email", NOW))
    await db.many(
        "INSERT INTO contacts (user_id, number, name, name_key, role, how_met, created_at) VALUES (?,?,?,?,?,?,?)",
        contacts,
    )
    rows = []
    for w in range(WEEKS):
        week = shift_week(WEEK, -w)
        for u in ids:
            if rng.random() < 0.8:
                win = f"Dr Contact {u}-1 replied" if vis[u] == "wins" else None
                counts = [rng.randint(0, 6) for _ in range(4)]
                rows.append((u, week, *counts, win, NOW))
    await db.many(
        "INSERT INTO circle_checkins (program_id, user_id, week, emails, contacts, followups, conversations, win,"
        " created_at) VALUES (1,?,?,?,?,?,?,?,?)",
        rows,
    )
    return len(rows)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true")
    add_db_args(parser)
    parser.add_argument("--members", type=int)
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    members = args.members or (500 if args.small else 5000)
    runs = args.runs or (3 if args.small else 10)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        cleanup = None
        if wants_postgres(args):
            base, _where = stack.enter_context(postgres_server(args.pg_url))
            url = create_database(base, "circle_digest")
            cleanup = lambda: drop_database(base, url)  # noqa: E731
        else:
            url = f"sqlite:///{Path(tmp) / 'digest.db'}"
        app = await build_app(Settings(database_url=url), ManualClock(NOW))  # type: ignore[call-arg]
        try:
            t0 = time.perf_counter()
            checkins = await populate(app, members)
            setup_s = time.perf_counter() - t0
            program = await app.store.get_program(1)
            assert program is not None
            times, cpu = [], []
            reply = None
            for _ in range(runs + 1):  # the first run warms caches and imports; not counted
                start, start_cpu = time.perf_counter(), time.process_time()
                reply = await make_digest(app.store, program, WEEK)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)  # every thread of this process
            times, cpu = times[1:], cpu[1:]
        finally:
            await app.store.close()
            if cleanup is not None:
                cleanup()
    assert reply is not None
    text = reply.plain_text()
    assert "Dr Contact" not in text, "a contact name reached the digest"
    print(machine_info())
    print(
        f"database: {'PostgreSQL' if wants_postgres(args) else 'SQLite'}; {members:,} members, "
        f"{checkins:,} check-ins over {WEEKS} weeks (populated in {setup_s:.1f} s)"
    )
    print(f"digest: {reply.title!r}, {len(text):,} characters, chart {len(reply.attachments[0].content):,} bytes")
    worst = max(times)
    print(
        table(
            ["runs", "median s", "p95 s", "max s", "CPU median s", "target s", "result"],
            [
                [
                    runs,
                    f"{statistics.median(times):.3f}",
                    f"{percentile(times, 95):.3f}",
                    f"{worst:.3f}",
                    f"{statistics.median(cpu):.3f}",
                    f"{TARGET_S:.1f}",
                    "PASS" if worst <= TARGET_S else "FAIL",
                ]
            ],
        )
    )
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
