"""Small helpers shared by the benchmark scripts (machine info, percentiles, tables, PostgreSQL).

Imported as ``_common`` because ``python bench/<name>.py`` puts ``bench/`` first on sys.path.
Importing it also puts the repository root on sys.path, so ``tests.pgcluster`` can be imported.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

CACHE_DIR = Path(os.environ.get("IMGBOT_BENCH_CACHE", "/tmp/imgbot-bench"))
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    py = sys.version.split()[0]
    return (
        f"machine: {cpu_model()} · {cores} cores · Python {py} ({platform.python_implementation()})"
        f" · SQLite {sqlite3.sqlite_version} · {platform.system()} {platform.release()}"
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of 500 samples is the 250th smallest, p99 the 495th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100)
    return ordered[int(rank) - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), sep, *(fmt(r) for r in cells[1:])])


def peak_rss_mib() -> float:
    """Peak resident set size of this process (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- PostgreSQL


def add_db_args(ap: argparse.ArgumentParser, *, postgres_only: bool = False) -> None:
    """``--postgres`` (a throwaway cluster) and ``--db-url``/``--pg-url`` (an existing server)."""
    if not postgres_only:
        ap.add_argument(
            "--postgres",
            action="store_true",
            help="run on PostgreSQL: a throwaway cluster started through tests.pgcluster (unless --db-url)",
        )
    ap.add_argument(
        "--db-url",
        "--pg-url",
        dest="pg_url",
        metavar="URL",
        help="PostgreSQL server to run on (postgresql://user@host:port/db); the benchmark creates its own"
        " databases there and drops them at the end. Default: a throwaway cluster",
    )


def wants_postgres(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "postgres", True) or args.pg_url)


@contextmanager
def postgres_server(url: str | None) -> Iterator[tuple[str, str]]:
    """Yields (base URL, description). With no URL, starts a throwaway cluster and stops it afterwards."""
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit(f"--db-url must be a PostgreSQL URL, not {url.split(':', 1)[0]}:...")
        yield url, "given server"
        return
    from tests.pgcluster import PgCluster

    cluster = PgCluster()
    t = time.perf_counter()
    cluster.start()
    try:
        yield (
            cluster.url,
            f"throwaway cluster in {cluster.root} (fsync off; started in {time.perf_counter() - t:.1f} s)",
        )
    finally:
        cluster.stop()


def create_database(base_url: str, prefix: str) -> str:
    from tests.pgcluster import create_database as create

    return create(base_url, prefix)


def drop_database(base_url: str, db_url: str) -> None:
    from tests.pgcluster import drop_database as drop

    drop(base_url, db_url)


def pg_version(url: str) -> str:
    """The server's version (runs its own event loop in a thread, so it may be called from async code)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    async def go() -> str:
        conn = await asyncpg.connect(url)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


async def seed_due_followup(store: Any, ref: Any, i: int, now: datetime) -> int:
    """User ``i`` for the DM benchmarks: a psychiatry profile with no quiet hours, one contact met at
    a conference three days ago, and its follow-up nudge due ``now``. Returns the user id."""
    from bot.core.models import Contact, NudgeKind

    uid = int(await store.ensure_user(ref, now))
    profile = (await store.get_profile(uid)).with_(
        name=f"Dr User {i}",
        country="Egypt",
        school="Cairo University",
        specialty="psych",
        track="non-us-img",
        eras="2027-09",
        quiet_start=dtime(0, 0),
        quiet_end=dtime(0, 0),
    )
    await store.save_profile(profile, now)
    contact = await store.add_contact(
        Contact(
            id=0,
            user_id=uid,
            number=0,
            name=f"Dr Contact {i}",
            role="attending",
            specialty="psych",
            how_met="conference",
            met_on=now.date() - timedelta(days=3),
        ),
        now,
    )
    await store.update_contact(
        replace(
            contact,
            next_followup_on=now.date(),
            followup_situation="after-meeting",
            followup_script="conference-followup",
        )
    )
    await store.put_nudge(uid, NudgeKind.FOLLOWUP, str(contact.id), now, now)
    return uid


# --------------------------------------------------------------------------- the DM benchmarks' shared parts


def dm_arg_parser(doc: str, *, small: int, rate_help: str) -> argparse.ArgumentParser:
    """The options both DM benchmarks take (``--nudges``, ``--rate``, ``--small``); each adds its own,
    then reads them with :func:`parse_dm_args`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--nudges", type=int, default=10_000, help="due nudges, one per user (default 10000)")
    parser.add_argument("--rate", type=float, help=rate_help)
    parser.add_argument("--small", action="store_true", help=f"a smoke run: {small} nudges")
    parser.set_defaults(small_nudges=small)
    return parser


def parse_dm_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if args.small:
        args.nudges = args.small_nudges
    return args


def dm_pace(times: Sequence[float]) -> tuple[float, float, str]:
    """From the times of the delivered DMs: first to last (s), DMs per second over that span, and
    the "gap between DMs p50 / p99 / max (ms)" cell."""
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    per_s = (len(times) - 1) / span if len(times) > 1 else float("nan")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    cell = " / ".join(f"{1000 * v:.1f}" for v in (percentile(gaps, 50), percentile(gaps, 99), max(gaps, default=0)))
    return span, per_s, cell


def sent_failed_pending(counts: dict[str, int]) -> str:
    return (
        f"{counts.get('sent', 0)} / {counts.get('failed', 0)} / {counts.get('pending', 0) + counts.get('sending', 0)}"
    )


def print_dm_results(title: str, rows: list[tuple[str, object]], seed_s: float) -> None:
    """The results table of a DM benchmark, after the machine line, with seeding time and peak RSS."""
    rows = [*rows, ("seeding the database (s)", f"{seed_s:.1f}"), ("peak RSS (MiB)", f"{peak_rss_mib():.0f}")]
    print(machine_info())
    print(table([title, "value"], rows))
