"""One delivery instance in a process of its own, for tests that SIGKILL it (tests/test_crash_loop.py).

``python -m tests.delivery_child DB_URL INSTANCE OUT [SEND_SECONDS]``: the real app (``build_app``),
``NudgeEngine`` and ``NudgeScheduler``, as ``imgbot run`` assembles them, with a delivery port that
takes SEND_SECONDS per message and then appends one JSON line (nonce, account, nudge ids) to OUT
with an unbuffered ``os.write``, so what was delivered survives ``kill -9``. Prints ``READY <pid>``
once started; SIGTERM drains, prints ``EXIT <pid> <status>`` and exits.

``python -m tests.delivery_child --zygote DB_URL OUT [SEND_SECONDS]`` imports all that once, then
forks one such instance per ``FORK <instance>`` line on stdin (answering ``FORKED <pid>``): a test
that kills and restarts an instance twenty times pays Python's start-up once, not twenty times.
Each fork is a process of its own; ``kill -9`` ends it like any other.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from datetime import timedelta

from bot.core.models import UserRef
from bot.core.nudges import NudgeEngine
from bot.core.reply import Reply
from bot.runtime import build_app
from bot.scheduler import NudgeScheduler
from bot.settings import load_settings

PLATFORM = "crashtest"
LEASE = timedelta(seconds=10)
IDS = re.compile(r"(?:nudge:done:|/nudges done )(\d+)")


class FilePort:
    def __init__(self, path: str, send_seconds: float) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.send_seconds = send_seconds

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        await asyncio.sleep(self.send_seconds)
        seen = [a.id for a in reply.actions] + [str(getattr(b, "text", "")) for b in reply.blocks]
        ids = sorted({int(m) for text in seen for m in IDS.findall(text)})
        os.write(self.fd, (json.dumps({"nonce": nonce, "account": user.account, "ids": ids}) + "\n").encode())


async def main(url: str, instance: str, out: str, send_seconds: float) -> int:
    settings = load_settings(database_url=url, instance_id=instance, lease_seconds=int(LEASE.total_seconds()))
    app = await build_app(settings)
    engine = NudgeEngine(
        app, {PLATFORM: FilePort(out, send_seconds)}, instance=instance, lease=LEASE, concurrency=2, rate=1e6
    )
    sched = NudgeScheduler(engine, heartbeat_seconds=5)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"READY {os.getpid()}", flush=True)
    await sched.start()
    await stop.wait()
    await sched.shutdown()
    await app.store.close()
    return 0


def run(url: str, instance: str, out: str, send_seconds: float) -> int:
    status = 1
    try:
        status = asyncio.run(main(url, instance, out, send_seconds))
    finally:
        print(f"EXIT {os.getpid()} {status}", flush=True)
    return status


def zygote(url: str, out: str, send_seconds: float) -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped as they end
    print("ZYGOTE", flush=True)
    for line in sys.stdin:
        command, _, instance = line.strip().partition(" ")
        if command != "FORK":
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(0)
            os._exit(run(url, instance, out, send_seconds))
        print(f"FORKED {pid}", flush=True)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "--zygote":
        sys.exit(zygote(args[1], args[2], float(args[3]) if len(args) > 3 else 0.05))
    sys.exit(run(args[0], args[1], args[2], float(args[3]) if len(args) > 3 else 0.05))
