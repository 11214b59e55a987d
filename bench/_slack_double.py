"""The Slack double (tests/slack/double.py) in a process of its own, for the benchmarks.

    python bench/_slack_double.py --users N [--team-rate R]

It starts the double on 127.0.0.1, adds N users to workspace T1 (``UB000000`` ...), prints one
JSON line (``api_base``, ``bot_token``), then waits. A line on stdin asks for the report: one
JSON line with every chat.postMessage (its monotonic time and status), the retries that came
before ``Retry-After``, the conversations.open count, how many users got a DM, and the double's
own CPU seconds; then it exits. Run this way the double's work (HTTP parsing, Block Kit checks,
rate buckets) is not counted against the bot, as Slack's own servers would not be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.slack.double import SlackDouble  # noqa: E402


def slack_user(i: int) -> str:
    return f"UB{i:06d}"


async def serve(users: int, team_rate: float | None) -> None:
    double = SlackDouble(team_rate=team_rate)
    await double.start()
    for i in range(users):
        double.add_user("T1", slack_user(i), f"user{i}")
    print(json.dumps({"api_base": double.api_base, "bot_token": double.bot_token("T1")}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    posts = [(c.at, c.status) for c in double.api("chat.postMessage")]
    times = os.times()
    report = {
        "posts": posts,
        "early_retries": len(double.early_retries),
        "conversations_open": len(double.api("conversations.open")),
        "users_with_dm": sum(1 for i in range(users) if double.dms(slack_user(i))),
        "cpu_s": times.user + times.system,
    }
    print(json.dumps(report), flush=True)
    await double.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--team-rate", type=float)
    args = parser.parse_args()
    asyncio.run(serve(args.users, args.team_rate))


if __name__ == "__main__":
    main()
