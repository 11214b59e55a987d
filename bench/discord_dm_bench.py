"""Nudge DM throughput against the Discord double while it enforces a global limit of 50 requests/s.

    python bench/discord_dm_bench.py [--nudges 10000] [--rate R] [--limit 50] [--cold]

N users each have one follow-up nudge due now (a digest with a filled-in script and
five buttons). The real bot (``imgbot run``'s DiscordBot: client, DM port, nudge
engine, scheduler) starts against the double on 127.0.0.1; its scheduler delivers
the backlog. The double answers any request beyond ``--limit`` per rolling second
with a real-looking global 429. Reported: sustained DMs/s (first to last DM), the
429s, the busiest one-second window, and what every nudge ended as.

By default each user has been DMed before, so the bot knows the DM channel (it
remembers it in the database): one request per DM, the steady state. ``--cold``
starts with no known channels, so every user first costs a "create DM" request.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections import deque
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
from bot.frontends.discord.runner import DiscordBot  # noqa: E402
from bot.runtime import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.discord.double import TOKEN, DiscordDouble  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FIRST_USER = 600_000_000_000_000_000
DM_SEND = r"/channels/\d+/messages"


async def seed(app: App, double: DiscordDouble, n: int, cold: bool) -> None:
    """N users, each with a psychiatry profile, one contact met at a conference and its follow-up due now."""
    store = app.store
    async with store.transaction():
        for i in range(n):
            ref = UserRef("discord", str(FIRST_USER + i), f"user{i}")
            await seed_due_followup(store, ref, i, NOW)
            if not cold:  # DMed before: the bot remembers the channel
                await store.set_dm_channel(ref, str(double.dm_channel_for(FIRST_USER + i)), NOW)


def busiest_second(times: list[float]) -> int:
    window: deque[float] = deque()
    best = 0
    for t in times:
        window.append(t)
        while t - window[0] >= 1.0:
            window.popleft()
        best = max(best, len(window))
    return best


async def run(n: int, rate: float | None, limit: int, cold: bool) -> None:
    double = DiscordDouble(global_limit=limit)
    await double.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": double.api_base,
            "DISCORD_GATEWAY_URL": double.gateway_url,
            "heartbeat_seconds": 3600,
        }
        if rate is not None:
            env["dm_rate"] = rate
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", **env)  # type: ignore[arg-type]
        app = await build_app(settings, ManualClock(NOW))
        t0 = time.perf_counter()
        await seed(app, double, n, cold)
        seed_s = time.perf_counter() - t0

        bot = DiscordBot(app, settings)
        started = time.monotonic()
        task = asyncio.create_task(bot.run())  # the scheduler starts with it and finds the backlog
        await double.wait_for(
            lambda: sum(len(double.dms(FIRST_USER + i)) for i in range(0, n, max(1, n // 50))) > 0 or task.done(),
            within=60,
            what="the first DM",
        )
        last_report = time.monotonic()
        while True:
            counts = await app.store.nudge_counts()
            nxt = await app.store.next_delivery()
            # done when nothing is in flight and nothing more is due now (a failed DM waits for its retry)
            if counts.get("sending", 0) == 0 and (nxt is None or nxt > NOW):
                break
            if task.done():
                task.result()
            if time.monotonic() - last_report > 30:
                sent = sum(
                    1
                    for c in double.calls
                    if c.method == "POST" and c.status == 200 and c.path.startswith("/channels/")
                )
                print(f"  ... {sent} DMs after {time.monotonic() - started:.0f} s", flush=True)
                last_report = time.monotonic()
            await asyncio.sleep(2.0)
        counts = await app.store.nudge_counts()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app.store.close()
    await double.close()

    api = [c for c in double.calls if not c.path.startswith(("/interactions/", "/webhooks/"))]
    sends = [c for c in api if c.method == "POST" and c.path.startswith("/channels/")]
    delivered = [c for c in sends if c.status == 200]
    dm_window = [c for c in api if delivered and delivered[0].at <= c.at <= delivered[-1].at]
    span, dms_per_s, gap_cell = dm_pace([c.at for c in delivered])
    too_many = sum(1 for c in double.calls if c.status == 429)
    rows = [
        ("nudges due", n),
        ("DM channels known at start", "no (cold)" if cold else "yes (DMed before)"),
        ("pacing (dm_rate, requests/s)", f"{settings.dm_rate:g}"),
        ("double's global limit (requests/s)", limit),
        ("DMs delivered", len(delivered)),
        ("nudges sent / failed / pending", sent_failed_pending(counts)),
        ("first to last DM (s)", f"{span:.1f}"),
        ("sustained DMs/s", f"{dms_per_s:.1f}"),
        ("sustained requests/s", f"{(len(dm_window) - 1) / span:.1f}" if len(delivered) > 1 else "nan"),
        ("DMs/s as % of the global limit", f"{100 * dms_per_s / limit:.1f}%"),
        ("HTTP 429s", too_many),
        (
            "busiest 1 s window: all requests / DMs",
            f"{busiest_second([c.at for c in api])} / {busiest_second([c.at for c in sends])}",
        ),
        ("create-DM requests", double.count("POST", r"/users/@me/channels")),
        ("gap between DMs p50 / p99 / max (ms)", gap_cell),
    ]
    print_dm_results("Discord DM benchmark", rows, seed_s)


def main() -> None:
    parser = dm_arg_parser(__doc__, small=200, rate_help="IMGBOT_DM_RATE for the run (default: the setting's default)")
    parser.add_argument("--limit", type=int, default=50, help="the double's global requests/s (default 50)")
    parser.add_argument("--cold", action="store_true", help="no DM channel known in advance")
    args = parse_dm_args(parser)
    asyncio.run(run(args.nudges, args.rate, args.limit, args.cold))


if __name__ == "__main__":
    main()
