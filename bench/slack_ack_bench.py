"""Acknowledgement latency of /imgbot under 50 concurrent slash commands, against the Slack double.

    python bench/slack_ack_bench.py [--commands 50] [--rounds 5] [--http]

The real Slack bot (``imgbot run``'s SlackBot: bolt's AsyncApp, Socket Mode by default, or
HTTP mode with ``--http``) runs against the double on 127.0.0.1. Each round, N users type a
command at the same moment (a mix of ``contact add``, ``script cold-email``, ``followups``,
``help`` and ``profile show``, each user's profile already set). The double times every ack
from the moment it sent the envelope (or request) to the moment the ack arrived. Target: p99
at most 100 ms; Slack's limit is 3 s. Reported: ack latency p50/p95/p99/max, late acks, and
how many answers rode on the ack itself rather than following through response_url.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine_info, peak_rss_mib, percentile, table  # noqa: E402

from bot.core.clock import ManualClock  # noqa: E402
from bot.frontends.slack.runner import SlackBot  # noqa: E402
from bot.ops import OpsServer  # noqa: E402
from bot.runtime import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.slack.double import APP_TOKEN, SIGNING_SECRET, Delivery, SlackDouble  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PROFILE = (
    'profile set name:"Dr User" country:Egypt school:"Cairo University" specialty:psych '
    "track:non-us-img eras:2027-09 timezone:UTC"
)
MIX = ['contact add "Dr Maya Lee {i}" role:attending how_met:conference', "script cold-email", "followups", "help",
       "profile show"]  # fmt: skip


async def run(n: int, rounds: int, http: bool) -> None:
    double = SlackDouble(channel_rate=1000.0, channel_burst=1000)
    await double.start()
    users = [f"UA{i:04d}" for i in range(n)]
    for u in users:
        double.add_user("T1", u, u.lower())
    with tempfile.TemporaryDirectory() as tmp:
        env: dict[str, object] = {
            "slack_bot_token": double.bot_token("T1"),
            "slack_api_base": double.api_base,
            "heartbeat_seconds": 3600,
        }
        if http:
            env.update(slack_signing_secret=SIGNING_SECRET, http_port=0)
        else:
            env["slack_app_token"] = APP_TOKEN
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", **env)  # type: ignore[arg-type]
        app = await build_app(settings, ManualClock(NOW))
        bot = SlackBot(app, settings)
        ops = None
        if http:
            ops = OpsServer("bench")
            bot.mount(ops)
            await ops.start("127.0.0.1", 0)
            double.http_url = f"http://127.0.0.1:{ops.port}/slack/events"
        await bot.start()
        if not http:
            await double.wait_connected()
        await asyncio.gather(*(double.slash("/imgbot", PROFILE, user=u, channel="dm") for u in users))
        measured: list[Delivery] = []
        for r in range(rounds):
            lines = [MIX[(i + r) % len(MIX)].format(i=f"{r}-{i}") for i in range(n)]
            batch = await asyncio.gather(
                *(double.slash("/imgbot", line, user=u, channel="dm") for u, line in zip(users, lines, strict=True))
            )
            measured += batch
            await double.wait_for(lambda b=batch: all(d.text for d in b), 30, "every answer")  # type: ignore[misc]
        await bot.stop()
        if ops is not None:
            await ops.stop()
        await app.store.close()
    await double.close()

    lat = [1000 * (d.ack_latency or 0.0) for d in measured]
    in_ack = sum(1 for d in measured if isinstance(d.ack, dict) and d.ack.get("blocks"))
    rows = [
        ("transport", "HTTP (signed requests)" if http else "Socket Mode"),
        ("concurrent slash commands per round", n),
        ("rounds", rounds),
        ("acks measured", len(lat)),
        (
            "ack p50 / p95 / p99 / max (ms)",
            " / ".join(f"{percentile(lat, p):.1f}" for p in (50, 95, 99)) + f" / {max(lat):.1f}",
        ),
        ("acks later than 3 s", len(double.late_acks)),
        ("answered in the ack / through response_url", f"{in_ack} / {len(measured) - in_ack}"),
        ("every command answered", all(d.text for d in measured)),
        ("peak RSS (MiB)", f"{peak_rss_mib():.0f}"),
    ]
    print(machine_info())
    print(table(["Slack ack benchmark", "value"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=50, help="concurrent slash commands per round (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--http", action="store_true", help="HTTP mode instead of Socket Mode")
    args = parser.parse_args()
    asyncio.run(run(args.commands, args.rounds, args.http))


if __name__ == "__main__":
    main()
