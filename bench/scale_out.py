"""Scale-out: nudge delivery throughput with 1, 2 and 4 bot instances on one PostgreSQL, and a takeover.

    python bench/scale_out.py            # 20,000 users x 5 due follow-ups = 100,000 nudges; 1, 2, 4 instances
    python bench/scale_out.py --small    # 2,000 users x 5 = 10,000 nudges, 1 run each (a smoke run)
    python bench/scale_out.py --pg-url postgresql://user@host:port/db   # an existing server, not a throwaway one

Database. One PostgreSQL server: a throwaway cluster started through ``tests.pgcluster`` unless
``--pg-url``/``--db-url`` names one. A seed database gets the schema from the real migrations
(``bot.store.open_store``), then users, profiles (time zone UTC, quiet hours off), contacts (active,
follow-up due, psychiatry playbook, script ``conference-followup``) and their pending follow-up
nudges, all due within the hour before seeding, are bulk loaded with asyncpg
``copy_records_to_table``; then VACUUM ANALYZE. Every run gets a fresh copy of it
(``CREATE DATABASE ... TEMPLATE``), so runs are independent.

Instances. Each is a separate OS process: ``build_app`` (settings, playbooks, store pool) then
``NudgeEngine(instance="iK", lease=..., concurrency=..., batch=..., rate=...)`` under the real
``NudgeScheduler`` (``start()``: LISTEN, ``recover()``, then ``run_due()``, and its wake-ups:
at lease expiries, after a claim that found nothing, on the heartbeat). The processes are
started and connected first; the parent then gives them one common start instant.

Per-instance pacing (``--rate``, default 50 sends/s). Each instance's engine paces its sends
with its own ``Pacer``, as every front end does: a real instance can send no faster than its
platform lets one bot token (Discord: 50 requests/s per token; a Slack app's limits are per
workspace), so scaling out pays when the instances carry different tokens' traffic (many
servers and workspaces, the case issue 8 is about). 8 sends in flight at 20 ms each keep the
pacer the only bound. Until 2026-12-03 the rate was 1e6 (pacer never binding, so the bound was
8 / 20 ms = 400 digests/s = 2,000 nudges/s per instance): 4 such instances need about 4.6 cores
for the instances and PostgreSQL together (0.58 ms of CPU per nudge), so on this 2-core machine
that setup measured the machine, not how well the instances share the work.
``--rate 1e6`` still runs it, and the README quotes both.

Delivery port. ``deliver()`` costs ``await asyncio.sleep(0.02)`` and then appends one JSON line
(nonce, user, the nudge ids found in the reply's buttons and commands, time, instance) to a
per-process file with an unbuffered ``os.write``, so what a process delivered survives
``kill -9``.

Measured. Throughput = nudges (and digests: one per user) per second of wall time, from the
common start instant to the last ``sent_at`` in the database. Lost = rows not 'sent' at the end,
or ids due but never delivered. Duplicates = a nudge id delivered under two nonces, or a nonce
delivered twice. CPU: user+sys seconds of the instance processes (from the start instant to the
end), of the PostgreSQL backends, and the machine's busy share over the run (from /proc/stat, so
other jobs on the machine count too).

Takeover. 4 instances; once about a third of the digests are delivered, one instance gets
SIGKILL. The rows it had claimed ('sending', owned by it) are read 0.5 s later (nothing else
can touch them before their lease runs out); the benchmark then reports the time from the kill to
the first of them being taken over by a peer and to the last of them being sent, against the
lease. Its lease left is the latest ``lease_until`` of those rows as last seen before the first
take-over: a renewal the killed process had already sent can still land at the server after the
kill (it was waiting for a row lock) and move the lease on, so the lease can end up to one lease
after the kill. A re-send of a digest the killed process had handed to the port but not yet
marked sent carries the same nonce (a platform that deduplicates nonces shows it once); it is
counted, and is not a duplicate in the sense above. With pacing on (the default), the peers send
the taken-over digests inside their own pacing, beside their own work, so the last of them goes
out well after the lease: ``--rate 1e6`` measures the take-over itself.

Diagnostics: ``IMGBOT_BENCH_KEEP_LOGS=1`` keeps each instance's log (INFO lines of the engine)
and deliveries in the cache folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import CACHE_DIR, machine_info, peak_rss_mib, pg_version, postgres_server, table

SEND_COST = 0.02
INTERRUPTED = asyncio.Event()  # SIGINT/SIGTERM: stop the instances, drop the databases, stop the cluster
TARGETS = {2: 1.8, 4: 3.2}
PLATFORM = "bench"
IDS_IN_ACTION = re.compile(r"^nudge:done:(\d+)$")
IDS_IN_TEXT = re.compile(r"/nudges done (\d+)")
SCRIPT = str(Path(__file__).resolve())


# --------------------------------------------------------------------------- child: one instance


class RecordingPort:
    """20 ms per send, then one line per delivery appended to a file (unbuffered, survives kill -9)."""

    def __init__(self, path: str, instance: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.instance = instance
        self.count = 0

    async def deliver(self, user, reply, nonce: str) -> None:
        await asyncio.sleep(SEND_COST)
        reply = reply.with_hints("/")  # as every front end writes command hints before rendering
        ids: set[int] = set()
        for a in reply.actions:
            m = IDS_IN_ACTION.match(a.id)
            if m:
                ids.add(int(m.group(1)))
        for b in reply.blocks:
            ids.update(int(x) for x in IDS_IN_TEXT.findall(getattr(b, "text", "") or ""))
        line = json.dumps({"n": nonce, "u": user.account, "ids": sorted(ids), "t": time.time(), "i": self.instance})
        os.write(self.fd, (line + "\n").encode())
        self.count += 1

    def close(self) -> None:
        os.close(self.fd)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def child(args: argparse.Namespace) -> int:
    from bot.core.nudges import NudgeEngine
    from bot.runtime import build_app
    from bot.scheduler import NudgeScheduler
    from bot.settings import load_settings

    if os.environ.get("IMGBOT_BENCH_KEEP_LOGS"):  # a diagnostic: the engine's own lines in the kept logs
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings(database_url=args.url, instance_id=args.instance, lease_seconds=args.lease)
    app = await build_app(settings)
    port = RecordingPort(args.out, args.instance)
    engine = NudgeEngine(
        app,
        {PLATFORM: port},
        instance=args.instance,
        lease=timedelta(seconds=args.lease),
        concurrency=args.concurrency,
        batch=args.batch,
        rate=args.rate,
    )
    sched = NudgeScheduler(engine, settings.heartbeat_seconds)

    # Count claims (bench-side wrapper around the store method; the engine calls it as before).
    claims = {"calls": 0, "empty": 0, "rows": 0, "seconds": 0.0}
    store = app.store
    real_claim = store.claim_due

    async def counting_claim(*a, **kw):
        t = time.perf_counter()
        rows = await real_claim(*a, **kw)
        claims["seconds"] += time.perf_counter() - t
        claims["calls"] += 1
        claims["rows"] += len(rows)
        claims["empty"] += not rows
        return rows

    store.claim_due = counting_claim  # type: ignore[method-assign]

    loop = asyncio.get_running_loop()
    print("READY", flush=True)
    go = await loop.run_in_executor(None, sys.stdin.readline)
    t0 = float(go.split()[1])
    await asyncio.sleep(max(0.0, t0 - time.time()))
    cpu0 = _cpu()
    starting = loop.create_task(sched.start())
    await loop.run_in_executor(None, sys.stdin.readline)  # STOP (or EOF)
    cpu1 = _cpu()
    await starting
    await sched.shutdown()
    await app.store.close()
    port.close()
    out = {
        "delivered": port.count,
        "cpu": cpu1 - cpu0,
        "rss": peak_rss_mib(),
        "held_back": engine.held_back,
        "marks_lost": engine.marks_lost,
        "retried": app.store.db.conflicts_retried,
        **claims,
    }
    print("DONE " + json.dumps(out), flush=True)
    return 0


# --------------------------------------------------------------------------- seeding


async def seed(url: str, users: int, per_user: int) -> int:
    """Schema through open_store; users, profiles, contacts and due follow-up nudges by COPY."""
    import asyncpg

    from bot.core.models import name_key
    from bot.store import open_store

    store = await open_store(url)
    await store.close()
    rng = random.Random(4242)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "users",
                records=[(u, PLATFORM, f"u{u}", f"User {u}", now, per_user) for u in range(1, users + 1)],
                columns=["id", "platform", "account", "display_name", "created_at", "contact_seq"],
            )
            await conn.copy_records_to_table(
                "profiles",
                records=[
                    (
                        u,
                        f"Dr User {u}",
                        "Egypt",
                        "Cairo University",
                        "psych",
                        "non-us-img",
                        "2027-09",
                        "UTC",
                        "00:00",
                        "00:00",
                        now,
                    )
                    for u in range(1, users + 1)
                ],
                columns=[
                    "user_id",
                    "name",
                    "country",
                    "school",
                    "specialty",
                    "track",
                    "eras",
                    "timezone",
                    "quiet_start",
                    "quiet_end",
                    "updated_at",
                ],
            )
            contacts, nudges = [], []
            cid = 0
            for u in range(1, users + 1):
                for k in range(1, per_user + 1):
                    cid += 1
                    name = f"Dr Contact {u}-{k}"
                    met = today - timedelta(days=3 + k)
                    contacts.append(
                        (
                            cid,
                            u,
                            k,
                            name,
                            name_key(name),
                            "attending",
                            "psych",
                            "Mass General",
                            "conference",
                            met,
                            "",
                            "active",
                            met,
                            today,
                            "after-meeting",
                            "conference-followup",
                            now,
                        )
                    )
                    due = now - timedelta(seconds=rng.randrange(60, 3600))
                    nudges.append((cid, u, "followup", str(cid), due, due))
            await conn.copy_records_to_table(
                "contacts",
                records=contacts,
                columns=[
                    "id",
                    "user_id",
                    "number",
                    "name",
                    "name_key",
                    "role",
                    "specialty",
                    "institution",
                    "how_met",
                    "met_on",
                    "tags",
                    "state",
                    "last_contact_on",
                    "next_followup_on",
                    "followup_situation",
                    "followup_script",
                    "created_at",
                ],
            )
            await conn.copy_records_to_table(
                "nudges", records=nudges, columns=["id", "user_id", "kind", "ref", "due_at", "deliver_at"]
            )
            for table_name in ("users", "contacts", "nudges"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), (SELECT MAX(id) FROM {table_name}))"
                )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return len(nudges)


async def clone(base: str, template_url: str, name: str) -> str:
    import asyncpg

    from tests.pgcluster import with_database

    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        template = template_url.rsplit("/", 1)[-1]
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await conn.close()
    return with_database(base, name)


async def drop(base: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- CPU accounting


def _ticks(pid: int) -> int:
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return 0


class PgCpu:
    """CPU seconds used by the PostgreSQL server's processes (children of the postmaster), when local."""

    def __init__(self, data_dir: str | None) -> None:
        self.postmaster: int | None = None
        self.hz = os.sysconf("SC_CLK_TCK")
        try:
            if data_dir:
                self.postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.postmaster = None
        self.base: dict[int, int] = {}

    def _children(self) -> dict[int, int]:
        if self.postmaster is None:
            return {}
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.postmaster:
                out[int(d)] = _ticks(int(d))
        return out

    def start(self) -> None:
        self.base = self._children()

    def used(self) -> float | None:
        if self.postmaster is None:
            return None
        now = self._children()
        return sum(t - self.base.get(pid, 0) for pid, t in now.items()) / self.hz


def machine_busy() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# --------------------------------------------------------------------------- one run


@dataclass
class RunResult:
    instances: int
    nudges: int
    digests: int
    wall: float
    sent: int
    not_sent: dict[str, int]
    never_delivered: int
    not_shown: int
    ids_two_nonces: int
    nonce_twice: int
    nonce_twice_same_ids: int
    children: list[dict] = field(default_factory=list)
    pg_cpu: float | None = None
    busy: float = 0.0
    background: float = 0.0
    takeover: dict | None = None
    failed_wakes: int = 0
    first_error: str = ""
    stuck: list[str] = field(default_factory=list)
    logs_kept: str = ""

    @property
    def lost(self) -> int:
        """Rows not 'sent', plus ids no message carried, plus ids only in a message a platform that
        deduplicates nonces drops (a second message under a nonce already used)."""
        return sum(self.not_sent.values()) + max(self.never_delivered, self.not_shown)

    @property
    def nudges_per_s(self) -> float:
        return self.nudges / self.wall

    @property
    def digests_per_s(self) -> float:
        return self.digests / self.wall


async def _read_line(proc: asyncio.subprocess.Process, prefix: str, within: float) -> str:
    assert proc.stdout is not None
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), within)
        if not raw:
            raise RuntimeError(f"instance exited (code {await proc.wait()}) before printing {prefix}")
        line = raw.decode().rstrip("\n")
        if line.startswith(prefix):
            return line


def _load_records(paths: list[Path]) -> list[dict]:
    out = []
    for p in paths:
        if not p.exists():
            continue
        for line in p.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line cut by kill -9 (one write each; not seen in practice)
                out.append(json.loads(line))
    return out


class Progress:
    """Lines appended to the instances' files so far (read incrementally: the parent must stay cheap)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.offsets = [0] * len(paths)
        self.lines = 0

    def __call__(self) -> int:
        for k, p in enumerate(self.paths):
            try:
                with p.open("rb") as f:
                    f.seek(self.offsets[k])
                    chunk = f.read()
            except OSError:
                continue
            self.offsets[k] += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


def cmd_tail(url: str, k: int, out: Path, args: argparse.Namespace) -> list[str]:
    return [SCRIPT, "--child", "--url", url, "--instance", f"i{k}", "--out", str(out), "--lease", str(args.lease),
            "--concurrency", str(args.concurrency), "--batch", str(args.batch), "--rate", str(args.rate)]  # fmt: skip


def summarize_profile(path: Path, top: int = 30) -> str:
    """py-spy raw (collapsed) stacks: the functions with the most samples, inclusive and self."""
    incl: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [re.sub(r" \((?:/[^)]*/)?([^/)]+)\)$", r" (\1)", f) for f in stack.split(";")]
        for f in set(frames):
            incl[f] += count
        if frames:
            own[frames[-1]] += count
    if not total:
        return f"{path.name}: no samples"
    lines = [f"{path.name}: {total} samples (200/s of CPU-active time)", "  inclusive:"]
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top)]
    lines.append("  self:")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


def count_failures(paths: list[Path]) -> tuple[int, str]:
    """'nudge delivery run failed' in the instances' stderr, and the first such error's last line."""
    count, first = 0, ""
    for p in paths:
        text = p.read_text(errors="replace")
        count += text.count("nudge delivery run failed")
        if not first and "Traceback" in text:
            tail = text[text.index("Traceback") :].splitlines()
            first = next((ln for ln in tail[1:] if ln and not ln.startswith(" ")), "")
    return count, first


def print_profiles(folder: Path) -> None:
    for prof in sorted(folder.glob("*.txt")):
        print()
        print(summarize_profile(prof))


async def one_run(
    base: str,
    template: str,
    workdir: Path,
    n_inst: int,
    args: argparse.Namespace,
    data_dir: str | None,
    kill: bool = False,
) -> RunResult:
    import asyncpg

    name = f"imgbot_scale_{n_inst}_{'kill' if kill else 'run'}_{os.getpid()}"
    url = await clone(base, template, name)
    outs = [workdir / f"{name}-i{k}.jsonl" for k in range(n_inst)]
    logs = [(workdir / f"{name}-i{k}.log").open("wb") for k in range(n_inst)]
    for p in outs:
        p.unlink(missing_ok=True)
    conn = await asyncpg.connect(url)
    procs: list[asyncio.subprocess.Process] = []
    try:
        due = await conn.fetch("SELECT id, user_id FROM nudges WHERE status = 'pending'")
        all_ids = {r["id"] for r in due}
        digests = len({r["user_id"] for r in due})
        for k in range(n_inst):
            if args.profile and not kill:
                prof = Path(args.profile) / f"{n_inst}inst-i{k}-{os.getpid()}-{time.time_ns()}.txt"
                cmd = [
                    shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--nonblocking",
                    "-o",
                    str(prof),
                    "--",
                ]
                cmd += [sys.executable, *cmd_tail(url, k, outs[k], args)]
            else:
                cmd = [sys.executable, *cmd_tail(url, k, outs[k], args)]
            procs.append(
                await asyncio.create_subprocess_exec(
                    *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=logs[k]
                )
            )
        for p in procs:
            await _read_line(p, "READY", 120)
        before = machine_busy()
        await asyncio.sleep(1.0)  # what the rest of the machine is doing just before the run
        busy0 = machine_busy()
        background = (busy0[0] - before[0]) / max(1, busy0[1] - before[1])
        pg_cpu = PgCpu(data_dir)
        pg_cpu.start()
        t0 = time.time() + 0.3
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"GO {t0!r}\n".encode())
            await p.stdin.drain()

        takeover: dict | None = None
        victim = procs[-1] if kill else None
        victim_rows: list[int] = []
        t_kill = 0.0
        first_taken: float | None = None
        last_activity = 0.0
        stuck: list[str] = []
        longest_takeover = 0.0
        delivered = Progress(outs)
        # generous: a shared machine may be far slower than the 20 ms x concurrency bound
        deadline = time.time() + max(600.0, 20 * digests * SEND_COST / args.concurrency / n_inst + 10 * args.lease)
        while True:
            await asyncio.sleep(0.1)
            if INTERRUPTED.is_set():
                raise SystemExit("interrupted")
            now = time.time()
            if victim is not None and not t_kill and delivered() >= digests // 3:
                t_kill = time.time()
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                await asyncio.sleep(0.5)  # its connections close; nothing else may touch its rows yet
                rows = await conn.fetch(
                    "SELECT id, lease_until FROM nudges WHERE status = 'sending' AND lease_owner = $1",
                    f"i{n_inst - 1}",
                )
                victim_rows = [r["id"] for r in rows]
                if args.fresh_stats:
                    await conn.execute("ANALYZE nudges")
                expiry = max((r["lease_until"].timestamp() for r in rows), default=t_kill)
                takeover = {"rows": len(victim_rows), "lease_left": expiry - t_kill}
                continue
            if victim_rows and now - last_activity >= 1.0:
                last_activity = now
                slow = await conn.fetchval(
                    "SELECT EXTRACT(EPOCH FROM max(now() - query_start)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND state = 'active'"
                    " AND query LIKE 'UPDATE nudges SET lease_owner%'"
                )
                if slow is not None:
                    longest_takeover = max(longest_takeover, float(slow))
            if victim_rows and first_taken is None:
                # a peer holds one, or sent one after the kill (a mark the killed process had
                # already sent to the server can still land after the kill: that is not a take-over)
                moved = await conn.fetchval(
                    "SELECT count(*) FROM nudges WHERE id = ANY($1) AND ((lease_owner IS NOT NULL AND"
                    " lease_owner <> $2) OR (status = 'sent' AND sent_at > $3))",
                    victim_rows,
                    f"i{n_inst - 1}",
                    datetime.fromtimestamp(t_kill, UTC),
                )
                if moved:
                    first_taken = now
                else:
                    # the killed process's statements already at the server still run: a lease
                    # renewal waiting for a row lock can land after the kill and move its lease on
                    held = await conn.fetchval(
                        "SELECT max(lease_until) FROM nudges WHERE id = ANY($1) AND lease_owner = $2",
                        victim_rows,
                        f"i{n_inst - 1}",
                    )
                    if held is not None and takeover is not None:
                        takeover["lease_left"] = max(takeover["lease_left"], held.timestamp() - t_kill)
            if delivered() < digests and now < deadline:
                continue
            left = await conn.fetchval("SELECT count(*) FROM nudges WHERE status IN ('pending', 'sending')")
            if left == 0:
                break
            if now > deadline:
                stuck.append(f"deadline: {left} rows still pending or sending {now - t0:.0f} s after the start")
                break
        busy1 = machine_busy()
        pg_used = pg_cpu.used()
        children = []
        for p in procs:
            if p is victim:
                continue
            assert p.stdin is not None
            p.stdin.write(b"STOP\n")
            await p.stdin.drain()
            t_stop = time.time()
            try:
                done = json.loads((await _read_line(p, "DONE ", 300))[5:])
            except (TimeoutError, RuntimeError) as exc:
                stuck.append(f"an instance did not stop within {time.time() - t_stop:.0f} s of STOP ({exc!r})")
                p.kill()
            else:
                done["stop_s"] = time.time() - t_stop
                children.append(done)
            await p.wait()
        counts = dict(await conn.fetch("SELECT status, count(*) FROM nudges GROUP BY status"))
        last_sent = await conn.fetchval("SELECT max(sent_at) FROM nudges")
        if takeover is not None:
            vs = await conn.fetchval("SELECT max(sent_at) FROM nudges WHERE id = ANY($1)", victim_rows)
            takeover["first_taken"] = (first_taken - t_kill) if first_taken else float("nan")
            takeover["last_sent"] = (vs.timestamp() - t_kill) if vs else float("nan")
            takeover["killed_after"] = t_kill - t0
            takeover["longest_takeover"] = longest_takeover
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await conn.close()
        await drop(base, name)
        for f in logs:
            f.close()

    records = _load_records(outs)
    by_id: dict[int, set[str]] = defaultdict(set)
    nonce_n = Counter(r["n"] for r in records)
    nonce_ids: dict[str, set[tuple[int, ...]]] = defaultdict(set)
    for r in records:
        nonce_ids[r["n"]].add(tuple(r["ids"]))
        for i in r["ids"]:
            by_id[i].add(r["n"])
    twice = [n for n, c in nonce_n.items() if c > 1]
    # a platform that deduplicates nonces (Discord) shows only the first message per nonce
    first: dict[str, dict] = {}
    for r in sorted(records, key=lambda r: r["t"]):
        first.setdefault(r["n"], r)
    shown = {i for r in first.values() for i in r["ids"]}
    failed_runs, first_error = count_failures([Path(f.name) for f in logs])
    kept = ""
    if failed_runs or stuck or os.environ.get("IMGBOT_BENCH_KEEP_LOGS"):
        keep = CACHE_DIR / "scale-logs"
        keep.mkdir(parents=True, exist_ok=True)
        for f in logs:
            shutil.copy(f.name, keep / Path(f.name).name)
        kept = str(keep)
        if os.environ.get("IMGBOT_BENCH_KEEP_LOGS"):
            for p in outs:
                shutil.copy(p, keep / p.name)
    for p in outs:
        p.unlink(missing_ok=True)
    wall = (last_sent.timestamp() if last_sent else time.time()) - t0
    busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    return RunResult(
        instances=n_inst,
        nudges=len(all_ids),
        digests=digests,
        wall=wall,
        sent=counts.get("sent", 0),
        not_sent={k: v for k, v in counts.items() if k != "sent"},
        never_delivered=len(all_ids - set(by_id)),
        not_shown=len(all_ids - shown),
        ids_two_nonces=sum(1 for nonces in by_id.values() if len(nonces) > 1),
        nonce_twice=len(twice),
        nonce_twice_same_ids=sum(1 for n in twice if len(nonce_ids[n]) == 1),
        children=children,
        pg_cpu=pg_used,
        busy=busy,
        background=background,
        takeover=takeover,
        failed_wakes=failed_runs,
        first_error=first_error,
        stuck=stuck,
        logs_kept=kept,
    )


# --------------------------------------------------------------------------- parent


def run_row(r: RunResult, rate1: float | None) -> list[object]:
    cpu = sum(c["cpu"] for c in r.children)
    claims = sum(c["calls"] for c in r.children)
    empty = sum(c["empty"] for c in r.children)
    claim_s = sum(c["seconds"] for c in r.children)
    return [
        r.instances,
        f"{r.wall:.2f}",
        f"{r.nudges_per_s:,.0f}",
        f"{r.digests_per_s:,.0f}",
        f"{r.nudges_per_s / rate1:.2f}x" if rate1 else "1.00x",
        f"{r.sent:,}",
        r.lost,
        r.ids_two_nonces,
        r.nonce_twice,
        f"{cpu:.1f}",
        "n/a" if r.pg_cpu is None else f"{r.pg_cpu:.1f}",
        f"{100 * r.background:.0f}% / {100 * r.busy:.0f}%",
        f"{claims} / {empty}",
        f"{claim_s:.1f}",
        f"{max((c['rss'] for c in r.children), default=0):.0f}",
        r.failed_wakes,
        " / ".join(str(sum(c.get(k, 0) for c in r.children)) for k in ("held_back", "marks_lost", "retried")),
    ]


HEAD = [
    "instances",
    "wall s",
    "nudges/s",
    "digests/s",
    "vs 1",
    "sent",
    "lost",
    "ids 2 nonces",
    "nonce twice",
    "inst CPU s",
    "PG CPU s",
    "machine busy before / during",
    "claims / empty",
    "claim s",
    "RSS MiB",
    "failed wake-ups",
    "held back / marks lost / retried",
]


async def parent(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, INTERRUPTED.set)
    counts = [int(x) for x in args.instances.split(",")]
    users = args.users or (2_000 if args.small else 20_000)
    runs = args.runs or (1 if args.small else 3)
    ok = True
    with postgres_server(args.pg_url) as (base, where):
        print(f"{machine_info()} · PostgreSQL {pg_version(base)} ({where})")
        import asyncpg

        conn = await asyncpg.connect(base)
        try:
            data_dir = await conn.fetchval("SHOW data_directory")
        except Exception:  # not allowed for this role: no PostgreSQL CPU column
            data_dir = None
        finally:
            await conn.close()
        from _common import create_database, drop_database

        template = create_database(base, "imgbot_scale_seed")
        workdir = Path(tempfile.mkdtemp(prefix="imgbot-scale-"))
        try:
            t = time.perf_counter()
            nudges = await seed(template, users, args.per_user)
            print(
                f"seed: {users:,} users x {args.per_user} due follow-up nudges = {nudges:,} nudges"
                f" ({users:,} digests); bulk loaded in {time.perf_counter() - t:.1f} s; each run on a fresh copy"
            )
            print(
                f"per instance: NudgeEngine concurrency {args.concurrency}, batch {args.batch} users per claim,"
                f" lease {args.lease} s, pacer {args.rate:g} sends/s; port: {SEND_COST * 1000:.0f} ms per send"
                f" -> bound {min(args.rate, args.concurrency / SEND_COST):.0f} digests/s per instance\n"
                f"runs: {runs} per instance count, in turn (1, 2, 4, 1, 2, 4, ...); figures per run, then medians\n",
                flush=True,
            )
            results: dict[int, list[RunResult]] = {n: [] for n in counts}
            if not args.takeover_only:
                for r in range(runs):
                    for n in counts:
                        res = await one_run(base, template, workdir, n, args, data_dir)
                        results[n].append(res)
                        print(
                            f"  run {r + 1}, {n} instance(s): {res.wall:.2f} s, {res.nudges_per_s:,.0f} nudges/s,"
                            f" lost {res.lost}, ids under 2 nonces {res.ids_two_nonces},"
                            f" nonces twice {res.nonce_twice}; failed wake-ups {res.failed_wakes}"
                            + (f" ({res.first_error})" if res.first_error else "")
                            + "".join(f"; {x}" for x in res.stuck)
                            + (f"; instance logs kept in {res.logs_kept}" if res.logs_kept else ""),
                            flush=True,
                        )
            takeovers: list[RunResult] = []
            if not args.no_takeover:
                for r in range(args.takeover_runs or runs):
                    res = await one_run(base, template, workdir, 4, args, data_dir, kill=True)
                    takeovers.append(res)
                    tk = res.takeover or {}
                    print(
                        f"  takeover run {r + 1}: killed i3 at {tk.get('killed_after', 0):.1f} s holding"
                        f" {tk.get('rows', 0)} rows; first taken over after {tk.get('first_taken', 0):.1f} s,"
                        f" last sent after {tk.get('last_sent', 0):.1f} s; lost {res.lost}; failed wake-ups"
                        f" {res.failed_wakes}"
                        + (f" ({res.first_error})" if res.first_error else "")
                        + "".join(f"; {x}" for x in res.stuck)
                        + (f"; instance logs kept in {res.logs_kept}" if res.logs_kept else ""),
                        flush=True,
                    )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            drop_database(base, template)

    if args.profile:
        print_profiles(Path(args.profile))
    print()
    if results and any(results.values()):
        rows = []
        for n in counts:
            rate1 = statistics.median(x.nudges_per_s for x in results[counts[0]]) if n != counts[0] else None
            for res in results[n]:
                rows.append(run_row(res, rate1))
        print(table(HEAD, rows))
        print(
            "\nwall: common start instant to the last sent_at; nudges/s = nudges / wall (digests: one per user);"
            " vs 1: against the median of the 1-instance runs;\nlost: rows not 'sent' at the end plus due ids"
            " that no message showed (on a platform keeping the first message per nonce);"
            "\nids 2 nonces: a nudge id delivered under two nonces; nonce twice: a nonce"
            " delivered more than once;\ninst CPU s: user+sys of the instance processes over the run; PG CPU s:"
            " the server's processes;\nmachine busy: share of all CPUs used by every process on the machine,"
            " in the 1 s before the run and during it;\nclaims / empty:"
            " claim_due calls, and those that claimed nothing; claim s: time spent in claim_due, summed;"
            "\nheld back: digests not sent because their lease might run out first; marks lost: sent digests whose"
            " rows a peer had taken over when marked;\nretried: transactions the driver ran again after a deadlock"
            " or serialisation failure"
        )
        med = {n: statistics.median(x.nudges_per_s for x in results[n]) for n in counts}
        summary = [
            [
                n,
                f"{min(x.nudges_per_s for x in results[n]):,.0f}",
                f"{med[n]:,.0f}",
                f"{max(x.nudges_per_s for x in results[n]):,.0f}",
                f"{med[n] / 5 if args.per_user == 5 else med[n]:,.0f}",
                f"{med[n] / med[counts[0]]:.2f}x",
                f"{min(x.nudges_per_s for x in results[n]) / max(x.nudges_per_s for x in results[counts[0]]):.2f}x",
            ]
            for n in counts
        ]
        print()
        print(
            table(
                [
                    "instances",
                    "nudges/s min",
                    "median",
                    "max",
                    "digests/s (median)",
                    "speed-up (medians)",
                    "worst case (min / max of 1)",
                ],
                summary,
            )
        )
        print()
        for n, target in TARGETS.items():
            if n not in med or counts[0] != 1:
                continue
            speedup = med[n] / med[1]
            good = speedup >= target
            ok &= good
            print(
                f"target throughput at {n} instances >= {target}x of 1: {'PASS' if good else 'FAIL'}"
                f" ({speedup:.2f}x, medians of {runs} runs)"
            )
        stuck = sum(len(x.stuck) for v in results.values() for x in v)
        if stuck:
            ok = False
            print(
                f"FAIL: {stuck} run problem(s): a deadline reached or an instance that did not stop (run lines above)"
            )
        lost = sum(x.lost for v in results.values() for x in v)
        dup = sum(x.ids_two_nonces + x.nonce_twice for v in results.values() for x in v)
        ok &= lost == 0 and dup == 0
        print(f"target 0 lost: {'PASS' if lost == 0 else 'FAIL'} ({lost} over all runs)")
        print(
            f"target 0 duplicates: {'PASS' if dup == 0 else 'FAIL'} ({dup} over all runs: ids under two nonces"
            " + nonces delivered twice)"
        )
    if takeovers:
        print()
        rows = []
        for res in takeovers:
            tk = res.takeover or {}
            rows.append(
                [
                    f"{tk.get('killed_after', float('nan')):.1f}",
                    tk.get("rows", 0),
                    f"{tk.get('lease_left', float('nan')):.1f}",
                    f"{tk.get('first_taken', float('nan')):.1f}",
                    f"{tk.get('last_sent', float('nan')):.1f}",
                    args.lease,
                    f"{tk.get('longest_takeover', 0.0):.1f}",
                    res.failed_wakes,
                    f"{res.wall:.2f}",
                    f"{res.sent:,}",
                    res.lost,
                    res.ids_two_nonces,
                    f"{res.nonce_twice} ({res.nonce_twice_same_ids})",
                    res.not_shown,
                ]
            )
        print(
            table(
                [
                    "takeover: killed at s",
                    "rows it held",
                    "its lease left s",
                    "first taken over s",
                    "last of them sent s",
                    "lease s",
                    "slowest take_over s",
                    "failed wake-ups",
                    "wall s",
                    "sent",
                    "lost",
                    "ids 2 nonces",
                    "nonce twice (same ids)",
                    "ids not shown (dedup)",
                ],
                rows,
            )
        )
        print(
            "\n4 instances, i3 gets SIGKILL once a third of the digests are delivered; times after the kill;"
            "\nits lease left: the latest lease_until of its rows minus the kill (as last seen before a take-over);"
            " nonce twice (same ids): a digest"
            " re-sent by a peer with its original nonce (one message on a platform that deduplicates nonces);"
            "\nslowest take_over: the longest-running take_over UPDATE seen in pg_stat_activity (sampled each second);"
            "\nids not shown (dedup): due ids in no message a platform keeping the first message per nonce shows"
            "\nfailed wake-ups: 'nudge delivery run failed' logged by the instances"
            + (
                "\nANALYZE nudges was run right after the kill (--fresh-stats: a diagnostic)"
                if args.fresh_stats
                else ""
            )
        )
        for res in takeovers:
            if res.first_error:
                print(f"first error logged by an instance: {res.first_error}")
                break
        worst = max(x.takeover["last_sent"] if x.takeover else float("inf") for x in takeovers)
        good = worst <= args.lease
        lost = sum(x.lost for x in takeovers)
        dup = sum(x.ids_two_nonces + (x.nonce_twice - x.nonce_twice_same_ids) for x in takeovers)
        stuck = sum(len(x.stuck) for x in takeovers)
        ok &= good and lost == 0 and dup == 0 and stuck == 0
        if stuck:
            print(f"\nFAIL: {stuck} run problem(s) in the takeover runs (run lines above)")
        print(
            f"\ntarget killed instance's claimed rows all sent within one lease ({args.lease} s) of the kill:"
            f" {'PASS' if good else 'FAIL'} (worst {worst:.1f} s)"
        )
        print(f"target 0 lost after the kill: {'PASS' if lost == 0 else 'FAIL'} ({lost})")
        print(
            f"target 0 duplicates after the kill: {'PASS' if dup == 0 else 'FAIL'} ({dup}: ids under two nonces"
            " + nonces sent twice with different nudges; a re-send of the same digest under its nonce is allowed)"
        )
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="2,000 users (10,000 nudges), 1 run each")
    ap.add_argument("--users", type=int, default=None, help="users with due nudges (default 20,000; --small 2,000)")
    ap.add_argument("--per-user", type=int, default=5, help="due follow-up nudges per user (default 5)")
    ap.add_argument("--instances", default="1,2,4", help="instance counts, the first being the reference (1,2,4)")
    ap.add_argument("--runs", type=int, default=None, help="runs per instance count (default 3, --small 1)")
    ap.add_argument("--concurrency", type=int, default=8, help="NudgeEngine concurrency per instance (default 8)")
    ap.add_argument("--batch", type=int, default=500, help="NudgeEngine batch: users per claim (default 500)")
    ap.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="each instance's pacer, sends/s (default 50: one Discord token's limit; 1e6: never binds, the old setup)",
    )
    ap.add_argument("--lease", type=int, default=10, help="lease seconds (default 10)")
    ap.add_argument("--no-takeover", action="store_true", help="skip the kill -9 takeover runs")
    ap.add_argument("--takeover-only", action="store_true", help="only the takeover runs")
    ap.add_argument("--takeover-runs", type=int, default=None, help="takeover runs (default: --runs)")
    ap.add_argument(
        "--fresh-stats",
        action="store_true",
        help="diagnostic, not the target run: ANALYZE nudges right after the kill, so the planner knows how"
        " many rows are 'sending' (autovacuum would only get to it later)",
    )
    ap.add_argument(
        "--db-url",
        "--pg-url",
        dest="pg_url",
        metavar="URL",
        help="PostgreSQL server (default: a throwaway cluster through tests.pgcluster)",
    )
    ap.add_argument("--profile", metavar="DIR", help="run each instance under py-spy record; summaries at the end")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--instance", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return asyncio.run(child(args))
    return asyncio.run(parent(args))


if __name__ == "__main__":
    sys.exit(main())
