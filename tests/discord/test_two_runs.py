"""Two ``imgbot run`` processes on one SQLite file, against the local Discord double: they share the
owed nudges through the leases, and no DM is sent twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

from tests.discord.double import DiscordDouble
from tests.discord.test_runner import _imgbot
from tests.test_crash_loop import seed

USERS = 60
PER_USER = 3
FIRST = 1_200_000_000_000_000_000  # Discord user ids of the seeded users


def _statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        return Counter(str(r[0]) for r in conn.execute("SELECT status FROM nudges"))


async def test_two_run_processes_on_one_sqlite_file_send_each_digest_once(
    double: DiscordDouble, tmp_path: Path
) -> None:
    db = tmp_path / "run.db"  # the file _imgbot points IMGBOT_DATABASE_URL at
    await seed(f"sqlite:///{db}", USERS, PER_USER, platform="discord", first_account=FIRST)
    procs = [
        await _imgbot(double, tmp_path, "run", IMGBOT_INSTANCE_ID=name, IMGBOT_LEASE_SECONDS="10")
        for name in ("run-a", "run-b")
    ]
    started = time.monotonic()
    try:
        for _ in range(600):
            if _statuses(db) == Counter(sent=USERS * PER_USER):
                break
            await asyncio.sleep(0.1)
        print(f"all sent after {time.monotonic() - started:.1f} s")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        results = [await asyncio.wait_for(p.communicate(), 30) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0 and "Traceback" not in err.decode(), err.decode()
    assert _statuses(db) == Counter(sent=USERS * PER_USER)

    posts = double.calls_to("POST", r"/channels/\d+/messages")
    per_user = Counter(double.dm_users[int(c.path.split("/")[-2])] for c in posts)
    assert set(per_user) == {FIRST + u for u in range(USERS)}
    assert max(per_user.values()) == 1, [u for u, n in per_user.items() if n > 1]  # one digest each, sent once
    assert len({c.json["nonce"] for c in posts}) == USERS
