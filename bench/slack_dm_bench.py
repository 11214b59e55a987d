"""Nudge DM throughput against the Slack double while it enforces a per-workspace message rate.

    python bench/slack_dm_bench.py [--nudges 10000] [--team-rate 50] [--rate R] [--small]

N users of one workspace each have one follow-up nudge due now (a digest with a filled-in
script and its Done/Snooze/Stop buttons). The real Slack bot (``imgbot run``'s SlackBot:
bolt's AsyncApp over Socket Mode, the DM port, the nudge engine, the scheduler) starts
against the double on 127.0.0.1; its scheduler delivers the backlog. Every user is new to
the bot, so each digest costs ``conversations.open`` and then ``chat.postMessage``. The double
answers a message beyond ``--team-rate`` per second in the workspace (or beyond Slack's
1/s in one channel) with HTTP 429 and ``Retry-After``, and records any retry that comes
before that time. Reported: nudges lost, 429s and early retries, sustained messages/s
(first to last) against what the double allows.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

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

from bot.core.clock import ManualClock  # noqa: E402
from bot.core.context import App  # noqa: E402
from bot.core.models import UserRef  # noqa: E402
from bot.frontends.slack.runner import SlackBot  # noqa: E402
from bot.runtime import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.slack.double import APP_TOKEN, SlackDouble  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def slack_user(i: int) -> str:
    return f"UB{i:06d}"


async def seed(app: App, double: SlackDouble, n: int) -> None:
    """N users, each with a psychiatry profile, one contact met at a conference and its follow-up due now."""
    store = app.store
    async with store.transaction():
        for i in range(n):
            double.add_user("T1", slack_user(i), f"user{i}")
            await seed_due_followup(store, UserRef("slack", f"T1:{slack_user(i)}", f"user{i}"), i, NOW)


async def run(n: int, team_rate: float, rate: float | None) -> None:
    double = SlackDouble(team_rate=team_rate)
    await double.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "slack_bot_token": double.bot_token("T1"),
            "slack_app_token": APP_TOKEN,
            "slack_api_base": double.api_base,
            "heartbeat_seconds": 3600,
            "slack_dm_rate": rate if rate is not None else team_rate,
        }
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", **env)  # type: ignore[arg-type]
        app = await build_app(settings, ManualClock(NOW))
        t0 = time.perf_counter()
        await seed(app, double, n)
        seed_s = time.perf_counter() - t0

        bot = SlackBot(app, settings)
        started = time.monotonic()
        await bot.start()  # Socket Mode connects; the scheduler starts and finds the backlog
        last_report = time.monotonic()
        while True:
            counts = await app.store.nudge_counts()
            nxt = await app.store.next_delivery()
            if counts.get("sending", 0) == 0 and (nxt is None or nxt > NOW):
                break
            if time.monotonic() - last_report > 30:
                print(f"  ... {len(double.posted_at)} DMs after {time.monotonic() - started:.0f} s", flush=True)
                last_report = time.monotonic()
            await asyncio.sleep(1.0)
        counts = await app.store.nudge_counts()
        await bot.stop()
        await app.store.close()
    await double.close()

    posts = [c for c in double.api("chat.postMessage")]
    delivered = [c for c in posts if c.status == 200]
    limited = [c for c in posts if c.status == 429]
    span, per_s, gap_cell = dm_pace([c.at for c in delivered])
    users_with_dm = sum(1 for i in range(n) if double.dms(slack_user(i)))
    rows = [
        ("nudges due (one per user, one workspace)", n),
        ("double's workspace message rate (/s)", f"{team_rate:g}"),
        ("bot's pacing IMGBOT_SLACK_DM_RATE (/s)", f"{settings.slack_dm_rate:g}"),
        ("users with their DM", users_with_dm),
        ("nudges lost (not sent)", n - counts.get("sent", 0)),
        ("nudges sent / failed / pending", sent_failed_pending(counts)),
        ("HTTP 429s", len(limited)),
        ("retries before Retry-After (early)", len(double.early_retries)),
        ("first to last DM (s)", f"{span:.1f}"),
        ("sustained DMs/s", f"{per_s:.1f}"),
        ("DMs/s as % of what the double allows", f"{100 * per_s / team_rate:.1f}%"),
        ("conversations.open requests", len(double.api("conversations.open"))),
        ("gap between DMs p50 / p99 / max (ms)", gap_cell),
    ]
    print_dm_results("Slack DM benchmark", rows, seed_s)


def main() -> None:
    parser = dm_arg_parser(__doc__, small=300, rate_help="IMGBOT_SLACK_DM_RATE (default: the double's rate)")
    parser.add_argument("--team-rate", type=float, default=50.0, help="the double's messages/s per workspace")
    args = parse_dm_args(parser)
    asyncio.run(run(args.nudges, args.team_rate, args.rate))


if __name__ == "__main__":
    main()
