"""Nudge DM throughput against the Slack double while it enforces a per-workspace message rate.

    python bench/slack_dm_bench.py [--nudges 10000] [--team-rate 50] [--rate R] [--small]

N users of one workspace each have one follow-up nudge due now (a digest with a filled-in
script and its Done/Snooze/Stop buttons). The real Slack bot (``imgbot run``'s SlackBot:
bolt's AsyncApp over Socket Mode, the DM port, the nudge engine, the scheduler) starts in this
process against the double, which runs in a process of its own on 127.0.0.1
(``bench/_slack_double.py``), as Slack runs on its own machines; its scheduler delivers the
backlog. Every user is new to the bot, so each digest costs ``conversations.open`` and then
``chat.postMessage``. The double answers a message beyond ``--team-rate`` per second in the
workspace (or beyond Slack's 1/s in one channel) with HTTP 429 and ``Retry-After``, and records
any retry that comes before that time. Reported: nudges lost, 429s and early retries, sustained
messages/s (first to last) against what the double allows, and the CPU time of the bot and of
the double per DM.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    dm_arg_parser,
    dm_pace,
    parse_dm_args,
    print_dm_results,
    seed_due_followup,
    sent_failed_pending,
)
from _slack_double import slack_user  # noqa: E402

from bot.core.clock import ManualClock  # noqa: E402
from bot.core.context import App  # noqa: E402
from bot.core.models import UserRef  # noqa: E402
from bot.frontends.slack.runner import SlackBot  # noqa: E402
from bot.runtime import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.slack.double import APP_TOKEN  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def seed(app: App, n: int) -> None:
    """N users, each with a psychiatry profile, one contact met at a conference and its follow-up due now."""
    store = app.store
    async with store.transaction():
        for i in range(n):
            await seed_due_followup(store, UserRef("slack", f"T1:{slack_user(i)}", f"user{i}"), i, NOW)


async def start_double(n: int, team_rate: float) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "_slack_double.py"), "--users", str(n), "--team-rate", str(team_rate),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if not line:
        raise RuntimeError("the Slack double did not start")
    return proc, json.loads(line)


async def double_report(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    out, _ = await asyncio.wait_for(proc.communicate(b"report\n"), 120)  # the rest of its output, to EOF
    report: dict[str, Any] = json.loads(out)
    return report


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def run(n: int, team_rate: float, rate: float | None) -> None:
    proc, double = await start_double(n, team_rate)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "slack_bot_token": double["bot_token"],
            "slack_app_token": APP_TOKEN,
            "slack_api_base": double["api_base"],
            "heartbeat_seconds": 3600,
            "slack_dm_rate": rate if rate is not None else team_rate,
        }
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", **env)  # type: ignore[arg-type]
        app = await build_app(settings, ManualClock(NOW))
        t0 = time.perf_counter()
        await seed(app, n)
        seed_s = time.perf_counter() - t0

        bot = SlackBot(app, settings)
        started = time.monotonic()
        cpu0 = cpu_seconds()
        await bot.start()  # Socket Mode connects; the scheduler starts and finds the backlog
        last_report = time.monotonic()
        while True:
            counts = await app.store.nudge_counts()
            nxt = await app.store.next_delivery()
            if counts.get("sending", 0) == 0 and (nxt is None or nxt > NOW):
                break
            if time.monotonic() - last_report > 30:
                print(f"  ... {counts.get('sent', 0)} sent after {time.monotonic() - started:.0f} s", flush=True)
                last_report = time.monotonic()
            await asyncio.sleep(1.0)
        bot_cpu = cpu_seconds() - cpu0
        counts = await app.store.nudge_counts()
        await bot.stop()
        await app.store.close()
    report = await double_report(proc)

    posts = [(at, status) for at, status in report["posts"]]
    delivered = [at for at, status in posts if status == 200]
    limited = [at for at, status in posts if status == 429]
    span, per_s, gap_cell = dm_pace(delivered)
    sent = counts.get("sent", 0)
    rows = [
        ("nudges due (one per user, one workspace)", n),
        ("double's workspace message rate (/s)", f"{team_rate:g}"),
        ("bot's pacing IMGBOT_SLACK_DM_RATE (/s)", f"{settings.slack_dm_rate:g}"),
        ("users with their DM", report["users_with_dm"]),
        ("nudges lost (not sent)", n - sent),
        ("nudges sent / failed / pending", sent_failed_pending(counts)),
        ("HTTP 429s", len(limited)),
        ("retries before Retry-After (early)", report["early_retries"]),
        ("first to last DM (s)", f"{span:.1f}"),
        ("sustained DMs/s", f"{per_s:.1f}"),
        ("DMs/s as % of what the double allows", f"{100 * per_s / team_rate:.1f}%"),
        ("conversations.open requests", report["conversations_open"]),
        ("gap between DMs p50 / p99 / max (ms)", gap_cell),
        ("bot CPU per DM (ms; its process, while delivering)", f"{1000 * bot_cpu / max(1, sent):.2f}"),
        ("double CPU per DM (ms; its own process)", f"{1000 * report['cpu_s'] / max(1, sent):.2f}"),
    ]
    print_dm_results("Slack DM benchmark", rows, seed_s)


def main() -> None:
    parser = dm_arg_parser(__doc__, small=300, rate_help="IMGBOT_SLACK_DM_RATE (default: the double's rate)")
    parser.add_argument("--team-rate", type=float, default=50.0, help="the double's messages/s per workspace")
    args = parse_dm_args(parser)
    asyncio.run(run(args.nudges, args.team_rate, args.rate))


if __name__ == "__main__":
    main()
